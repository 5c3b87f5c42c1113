package googleads

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/simcore"
)

// A run stopped while its ingest request is at Google (the SIGTERM of a
// Cloud Run task at its timeout) lets the request finish within the stop
// grace: the conversions are known to be ingested, not left unknown for the
// next run to send again. The stopped run reads no request status.
func TestStoppedRunLetsTheRequestUnderWayFinish(t *testing.T) {
	s, _ := newSim(t)
	ctx, stop := context.WithCancel(context.Background())
	srv := httptest.NewServer(simcore.StopMidRequest(stop, s.Handler()))
	t.Cleanup(srv.Close)
	d := newDest(t, srv, nil)
	for _, o := range d.Send(ctx, []activation.Event{ev(1, activation.StageSQL), ev(2, activation.StageSQL)}) {
		if o.Status != activation.StatusSent {
			t.Errorf("outcome %+v, want sent", o)
		}
	}
}

// A run stopped before its request is sent sends nothing, and says so:
// the conversions are failed (sent next run), not unknown.
func TestStoppedRunSendsNothingAndSaysSo(t *testing.T) {
	s, srv := newSim(t)
	d := newDest(t, srv, nil)
	ctx, stop := context.WithCancel(context.Background())
	stop()
	for _, o := range d.Send(ctx, []activation.Event{ev(1, activation.StageSQL)}) {
		if o.Status != activation.StatusFailed {
			t.Errorf("outcome %+v, want failed", o)
		}
	}
	if st := s.Stats(); st.Requests != 0 {
		t.Errorf("stats %+v, want no request", st)
	}
}
