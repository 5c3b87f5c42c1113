package ga4

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/ga4sink"
)

func testDest(t *testing.T, clock time.Time) (*Destination, *ga4sink.Sink) {
	t.Helper()
	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink.Handler())
	t.Cleanup(srv.Close)
	d, err := New(Options{MeasurementID: "G-TEST000001", APISecret: "s", Endpoint: srv.URL, RatePerSecond: 1000,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return d, sink
}

// GA4 passes Measurement Protocol events on to Google Ads only within 63
// days of the user's last session: later events are still sent (GA4's
// reports take them) and their outcome says they will not reach Ads.
func TestAdsExportWindowWithAFixedClock(t *testing.T) {
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d, sink := testDest(t, clock)
	mk := func(key string, lastSession time.Duration) activation.Event {
		return activation.Event{Key: key, LeadID: "L1", Stage: activation.StageWon, EventAt: clock.Add(-time.Hour),
			ClientKey: "123.456", LastSessionAt: clock.Add(-lastSession), Value: 100, Currency: "USD"}
	}
	inside := mk("00000000000000000000000000000001", 63*24*time.Hour-time.Minute)
	outside := mk("00000000000000000000000000000002", 63*24*time.Hour+time.Minute)
	for _, e := range []activation.Event{inside, outside} {
		if dec := d.Check(e, clock); !dec.Send() {
			t.Fatalf("%s: %+v, want it sent: GA4 takes events whatever their age", e.Key, dec)
		}
	}
	out := d.Send(context.Background(), []activation.Event{inside, outside})
	if out[0].Status != activation.StatusSent || out[0].Detail != "" {
		t.Errorf("inside the window: %+v", out[0])
	}
	if out[1].Status != activation.StatusSent || out[1].Detail != OutsideAdsWindow {
		t.Errorf("outside the window: %+v, want sent with %q", out[1], OutsideAdsWindow)
	}
	if sink.Count(inside.Key) != 1 || sink.Count(outside.Key) != 1 {
		t.Errorf("sink counts %d and %d, want 1 each", sink.Count(inside.Key), sink.Count(outside.Key))
	}
}

func TestCheckNeedsAClientIDAndPassesTheGuard(t *testing.T) {
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d, _ := testDest(t, clock)
	e := activation.Event{Key: "00000000000000000000000000000003", LeadID: "L1", Stage: activation.StageSQL, EventAt: clock}
	if dec := d.Check(e, clock); dec.Status != activation.StatusNoIdentifier {
		t.Errorf("no client id: %+v", dec)
	}
	if d.Takes(activation.StageLead) {
		t.Error("GA4 takes the lead stage, which the site's tag already sent as generate_lead")
	}
}

// Consent travels with every request: the batch key keeps requests of one
// consent state, and the payload carries it.
func TestConsentTravelsWithTheRequest(t *testing.T) {
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	d, _ := testDest(t, clock)
	e := activation.Event{Key: "00000000000000000000000000000004", LeadID: "L1", Stage: activation.StageSQL, EventAt: clock,
		ClientKey: "123.456", AdUserData: activation.ConsentGranted, AdPersonalization: activation.ConsentDenied}
	body, err := d.Payload([]activation.Event{e}, clock)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"consent":{"ad_user_data":"GRANTED","ad_personalization":"DENIED"}`; !strings.Contains(string(body), want) {
		t.Errorf("payload %s lacks %s", body, want)
	}
	other := e
	other.AdPersonalization = activation.ConsentGranted
	if d.BatchKey(e) == d.BatchKey(other) {
		t.Error("events of different consent share a request")
	}
}

// Validate mode posts to the validation server with
// validation_behavior ENFORCE_RECOMMENDATIONS; a clean payload is accepted
// and nothing is recorded as received.
func TestValidateModeUsesTheDebugEndpoint(t *testing.T) {
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink.Handler())
	t.Cleanup(srv.Close)
	d, err := New(Options{MeasurementID: "G-TEST000001", APISecret: "s", Endpoint: srv.URL, RatePerSecond: 1000, ValidateOnly: true,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	e := activation.Event{Key: "00000000000000000000000000000005", LeadID: "L1", Stage: activation.StageSQL, EventAt: clock,
		ClientKey: "123.456", AdUserData: activation.ConsentGranted, AdPersonalization: activation.ConsentGranted}
	body, _ := d.Payload([]activation.Event{e}, clock)
	if !strings.Contains(string(body), `"validation_behavior":"ENFORCE_RECOMMENDATIONS"`) {
		t.Errorf("payload %s", body)
	}
	out := d.Send(context.Background(), []activation.Event{e})
	if out[0].Status != activation.StatusAccepted {
		t.Errorf("validate: %+v", out[0])
	}
	if sink.Count(e.Key) != 0 {
		t.Error("the validation server recorded the event")
	}
}

// A delivery leaves no connection to GA4 open. Go's HTTP client may dial a
// spare connection while its others are busy and then never use it; a
// local server's graceful shutdown (the writeback stage's sink) waits up to
// 5 s for such a connection (net/http treats a connection that never sent
// a request as busy for that long), which stalled one writeback stage in
// three by 3.7 s.
func TestRunLeavesNoConnectionOpen(t *testing.T) {
	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	srv := httptest.NewUnstartedServer(sink.Handler())
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		default:
			open[c] = true
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	d := destAt(t, srv.URL)
	events := oneEventPerClient(64)
	r := &activation.Runner{Ledger: &activation.MemoryLedger{}, Events: events, Destinations: []activation.Destination{d}, Concurrency: 8}
	rep, err := r.Run(context.Background(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Destinations[0].Counts[activation.StatusSent]; got != len(events) {
		t.Fatalf("sent %d events, want %d", got, len(events))
	}
	// The server sees a closed connection shortly after the client closes
	// it; the wait only guards against waiting for ever.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(open)
		mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to GA4 still open after the run", n)
		}
	}
}

// A run stopped while its requests are at GA4 (the SIGTERM of a Cloud Run
// task that reached its timeout) lets them finish: the events GA4 received
// are recorded as sent, the others stay queued, and nothing waits in the
// crash window for an operator.
func TestRunStoppedMidRequestLeavesNoCrashWindow(t *testing.T) {
	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	received := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received++
		if received == 3 {
			stop()
		}
		mu.Unlock()
		<-ctx.Done()
		sink.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d := destAt(t, srv.URL)
	r := &activation.Runner{Ledger: &activation.MemoryLedger{}, Events: oneEventPerClient(16), Destinations: []activation.Destination{d}, Concurrency: 4}
	rep, _ := r.Run(ctx, "run1")
	if len(rep.Destinations) != 1 {
		t.Fatalf("report %+v", rep)
	}
	dr := rep.Destinations[0]
	mu.Lock()
	defer mu.Unlock()
	if got := dr.Counts[activation.StatusSent]; got != received || received < 3 {
		t.Errorf("%d events recorded as sent, %d received by GA4", got, received)
	}
	if len(dr.Unknown) != 0 || len(dr.CrashWindow) != 0 {
		t.Errorf("unknown %v, crash window %v: want none", dr.Unknown, dr.CrashWindow)
	}
}

// destAt is a destination sending to url on the real clock.
func destAt(t *testing.T, url string) *Destination {
	t.Helper()
	d, err := New(Options{MeasurementID: "G-TEST000001", APISecret: "s", Endpoint: url, RatePerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// oneEventPerClient is n sql events of an hour ago, each of its own client,
// so each is a request of its own.
func oneEventPerClient(n int) activation.SliceEvents {
	now := time.Now()
	var events activation.SliceEvents
	for i := range n {
		events = append(events, activation.Event{Key: fmt.Sprintf("%032x", i), LeadID: fmt.Sprintf("L%d", i),
			Stage: activation.StageSQL, EventAt: now.Add(-time.Hour), ClientKey: fmt.Sprintf("%d.1700000000", 500000+i)})
	}
	return events
}
