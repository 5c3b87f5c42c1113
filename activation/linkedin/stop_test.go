package linkedin

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/linkedinsim"
	"github.com/sam-attribution/sam/tests/simcore"
)

// A run stopped while its request is at LinkedIn (the SIGTERM of a Cloud
// Run task at its timeout) lets the request finish within the stop grace:
// the events are accepted, not left unknown for the next run to send again.
func TestStoppedRunLetsTheRequestUnderWayFinish(t *testing.T) {
	sim, err := linkedinsim.New("")
	if err != nil {
		t.Fatal(err)
	}
	sim.SetClock(func() time.Time { return testNow })
	sim.SetLimit(linkedinsim.Limit{})
	sim.AllowToken(token)
	ctx, stop := context.WithCancel(context.Background())
	srv := httptest.NewServer(simcore.StopMidRequest(stop, sim.Handler()))
	t.Cleanup(srv.Close)
	h := newHarness(t, func(o *Options) { o.BaseURL, o.HTTPClient = srv.URL+"/rest", nil })
	for _, o := range h.d.Send(ctx, threeEvents("s")) {
		if o.Status != activation.StatusAccepted {
			t.Errorf("outcome %+v, want accepted", o)
		}
	}
	if st := sim.Stats(); st.Requests != 1 || st.Effects != 3 {
		t.Errorf("stats %+v, want one request and three effects", st)
	}
}
