package meta

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/simcore"
)

// A run stopped while its request is at Meta (the SIGTERM of a Cloud Run
// task at its timeout) lets the request finish within the stop grace: the
// events are accepted, not left unknown for the next run to send again.
func TestStoppedRunLetsTheRequestUnderWayFinish(t *testing.T) {
	s, _ := newSim(t)
	ctx, stop := context.WithCancel(context.Background())
	srv := httptest.NewServer(simcore.StopMidRequest(stop, s.Handler()))
	t.Cleanup(srv.Close)
	d, _ := newDest(t, srv.URL, nil)
	for _, o := range d.Send(ctx, evs(2, activation.StageLead)) {
		if o.Status != activation.StatusAccepted {
			t.Errorf("outcome %+v, want accepted", o)
		}
	}
	if st := s.Stats(); st.Requests != 1 {
		t.Errorf("stats %+v, want one request", st)
	}
}
