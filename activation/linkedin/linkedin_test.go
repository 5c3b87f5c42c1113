package linkedin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/tests/linkedinsim"
)

var (
	testNow   = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	emailHash = identity.SHA256Hex("jane.doe@example.com")
)

const (
	token  = "AQX-secret-token-value"
	fatID  = "1f0e3dad-9990-4b2b-8a9c-2f1e3d4c5b6a"
	urnSQL = "urn:lla:llaPartnerConversion:103"
)

func conversions() map[string]string {
	return map[string]string{"lead": "101", "mql": "102", "sql": "103", "opportunity": "104", "won": "urn:lla:llaPartnerConversion:105"}
}

// recorder is an http.RoundTripper that keeps every request body and
// header it passes on.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string // headers and body, as sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var b bytes.Buffer
	for k, vs := range req.Header {
		b.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		b.Write(body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, b.String())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

type harness struct {
	sim   *linkedinsim.Server
	srv   *httptest.Server
	d     *Destination
	rec   *recorder
	mu    sync.Mutex
	waits []time.Duration
}

// newHarness starts the simulator on a fixed clock without a rate ceiling
// and a destination pointed at it; mod adjusts the options.
func newHarness(t testing.TB, mod func(*Options)) *harness {
	t.Helper()
	return newSimHarness(t, func(_ *harness, o *Options) {
		if mod != nil {
			mod(o)
		}
	})
}

// newSimHarness is newHarness for options that need the simulator.
func newSimHarness(t testing.TB, mod func(*harness, *Options)) *harness {
	t.Helper()
	sim, err := linkedinsim.New("")
	if err != nil {
		t.Fatal(err)
	}
	sim.SetClock(func() time.Time { return testNow })
	sim.SetLimit(linkedinsim.Limit{})
	sim.AllowToken(token)
	h := &harness{sim: sim, srv: httptest.NewServer(sim.Handler())}
	t.Cleanup(h.srv.Close)
	h.rec = &recorder{next: h.srv.Client().Transport}
	opts := Options{
		AccessToken:       token,
		Conversions:       conversions(),
		BaseURL:           h.srv.URL + "/rest",
		RequestsPerSecond: 1000,
		Timeout:           5 * time.Second,
		HTTPClient:        &http.Client{Transport: h.rec},
		Now:               func() time.Time { return testNow },
		Retry: retry.Policy{Attempts: 4, Base: time.Millisecond, Cap: time.Minute, Rand: retry.NewSource(1),
			// Waits are recorded, not slept: tests check them.
			Sleep: func(ctx context.Context, d time.Duration) error {
				h.mu.Lock()
				h.waits = append(h.waits, d)
				h.mu.Unlock()
				return ctx.Err()
			}},
	}
	mod(h, &opts)
	h.d, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) send(batch ...activation.Event) []activation.Outcome {
	return h.d.Send(context.Background(), batch)
}

// key is the simulator's dedup key of an event.
func key(urn, eventKey string) string { return urn + "/" + EventID(eventKey) }

// elements returns the elements the simulator judged, decoded.
func (h *harness) elements(t *testing.T) []element {
	t.Helper()
	var out []element
	for _, r := range h.sim.Records() {
		var e element
		if err := json.Unmarshal(r.Event, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// noDoubleEffect fails when any key took effect twice: the only allowed
// repetition is the same key, deduplicated.
func (h *harness) noDoubleEffect(t *testing.T) {
	t.Helper()
	if st := h.sim.Stats(); len(st.DoubleEffects) > 0 || st.Keyless > 0 {
		t.Errorf("double effects %v, keyless %d", st.DoubleEffects, st.Keyless)
	}
}

func ev(k, stage string) activation.Event {
	return activation.Event{Key: k, LeadID: "L-" + k, Stage: stage, EventAt: testNow.Add(-24 * time.Hour),
		LeadAt: testNow.Add(-48 * time.Hour), Value: 1200, Currency: "EUR", ValueKind: activation.ValuePredicted,
		EmailSHA256: emailHash, AdUserData: activation.ConsentGranted, AdPersonalization: activation.ConsentGranted}
}

func TestOptionsValidate(t *testing.T) {
	if (Options{}).Configured() {
		t.Error("zero options count as configured")
	}
	cases := []struct {
		name  string
		opts  Options
		wants []string
	}{
		{"zero", Options{}, []string{"AccessToken is required", "Conversions needs"}},
		{"token only", Options{AccessToken: token}, []string{"Conversions needs"}},
		{"rules only", Options{Conversions: conversions()}, []string{"AccessToken is required"}},
		{"negative stage", Options{AccessToken: token, Conversions: map[string]string{"lost": "1"}}, []string{`Conversions["lost"]`}},
		{"bad id", Options{AccessToken: token, Conversions: map[string]string{"sql": "abc"}}, []string{`Conversions["sql"] must be`}},
		{"bad url", Options{AccessToken: token, Conversions: conversions(), BaseURL: "api/rest"}, []string{"BaseURL"}},
		{"bad version", Options{AccessToken: token, Conversions: conversions(), Version: "2026-01"}, []string{"Version"}},
		{"batch too big", Options{AccessToken: token, Conversions: conversions(), MaxBatch: 5001}, []string{"MaxBatch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "zero" && !c.opts.Configured() {
				t.Error("half-configured options count as not configured")
			}
			err := c.opts.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), token) {
				t.Error("the error shows the token")
			}
			if _, err := New(c.opts); err == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
	if err := (Options{AccessToken: token, Conversions: map[string]string{"won": "urn:lla:llaPartnerConversion:9"}}).Validate(); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}

func TestStageMapping(t *testing.T) {
	h := newHarness(t, nil)
	if h.d.Name() != "linkedin" || h.d.MaxBatch() != MaxBatchLimit || h.d.DedupWindow() != 48*time.Hour {
		t.Errorf("name %q, max batch %d, dedup %v", h.d.Name(), h.d.MaxBatch(), h.d.DedupWindow())
	}
	for _, s := range []string{activation.StageLost, activation.StageDisqualified, "spam"} {
		if h.d.Takes(s) {
			t.Errorf("takes %s", s)
		}
	}
	want := map[string]string{"lead": "101", "mql": "102", "sql": "103", "opportunity": "104", "won": "105"}
	var batch []activation.Event
	for _, s := range Stages() {
		if !h.d.Takes(s) {
			t.Errorf("does not take %s", s)
		}
		e := ev("k-"+s, s)
		if s == activation.StageWon {
			e.Value, e.ValueKind = 48000.5, activation.ValueActual
		}
		if dec := h.d.Check(e, testNow); !dec.Send() {
			t.Fatalf("%s: %+v", s, dec)
		}
		batch = append(batch, e)
	}
	zero := ev("k-zero", activation.StageMQL)
	zero.Value, zero.Currency = 0, ""
	batch = append(batch, zero)
	for i, o := range h.send(batch...) {
		if o.Status != activation.StatusAccepted {
			t.Errorf("%s: %+v", batch[i].Stage, o)
		}
	}
	els := h.elements(t)
	if len(els) != len(batch) {
		t.Fatalf("%d elements reached the simulator, want %d", len(els), len(batch))
	}
	for i, el := range els {
		e := batch[i]
		if el.Conversion != urnPrefix+want[e.Stage] || el.EventID != EventID(e.Key) || el.ConversionHappenedAt != e.EventAt.UnixMilli() {
			t.Errorf("%s: element %+v", e.Stage, el)
		}
	}
	if v := els[4].ConversionValue; v == nil || v.Amount != "48000.5" || v.CurrencyCode != "EUR" {
		t.Errorf("won value = %+v", v)
	}
	if v := els[0].ConversionValue; v == nil || v.Amount != "1200" {
		t.Errorf("predicted lead value = %+v", v)
	}
	if els[5].ConversionValue != nil {
		t.Errorf("a zero value was sent: %+v", els[5].ConversionValue)
	}

	// A stage without a rule is disabled, with a reason naming it.
	partial := newHarness(t, func(o *Options) { o.Conversions = map[string]string{"won": "105"} })
	dec := partial.d.Check(ev("k", activation.StageSQL), testNow)
	if dec.Status != activation.StatusDisabled || dec.Reason != "no conversion configured for stage sql" {
		t.Errorf("sql without a rule: %+v", dec)
	}
}

func TestWindow(t *testing.T) {
	h := newHarness(t, nil)
	day := 24 * time.Hour
	cases := []struct {
		age    time.Duration
		status activation.Status
	}{
		{0, ""},
		{89 * day, ""},
		{90*day - 2*time.Hour, ""},
		{90*day - 30*time.Minute, activation.StatusExpiredWindow}, // inside the margin
		{90 * day, activation.StatusExpiredWindow},
		{91 * day, activation.StatusExpiredWindow},
		{400 * day, activation.StatusExpiredWindow},
		{-time.Minute, activation.StatusRejected}, // in the future
	}
	var events activation.SliceEvents
	for i, c := range cases {
		e := ev("w"+string(rune('a'+i)), activation.StageWon)
		e.EventAt = testNow.Add(-c.age)
		dec := h.d.Check(e, testNow)
		if dec.Status != c.status {
			t.Errorf("age %v: %+v, want %q", c.age, dec, c.status)
		}
		if c.status == activation.StatusExpiredWindow && dec.Reason != "older than LinkedIn's 90-day conversion window" {
			t.Errorf("age %v: reason %q", c.age, dec.Reason)
		}
		events = append(events, e)
	}
	// Through the runner: out-of-window events are counted, never sent.
	l := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: l, Events: events, Destinations: []activation.Destination{h.d}, Now: func() time.Time { return testNow }}
	rep, err := r.Run(context.Background(), "run")
	if err != nil {
		t.Fatal(err)
	}
	counts := rep.Destinations[0].Counts
	if counts[activation.StatusAccepted] != 3 || counts[activation.StatusExpiredWindow] != 4 || counts[activation.StatusRejected] != 1 {
		t.Errorf("counts %v", counts)
	}
	if st := h.sim.Stats(); st.Events != 3 || st.Effects != 3 {
		t.Errorf("simulator saw %d events, %d effects; want 3", st.Events, st.Effects)
	}
	for _, en := range l.Entries() {
		if en.Status == activation.StatusExpiredWindow && en.Detail != "older than LinkedIn's 90-day conversion window" {
			t.Errorf("ledger reason %q", en.Detail)
		}
	}

	// An event that expires between Check and Send is not sent either.
	old := ev("late", activation.StageWon)
	old.EventAt = testNow.Add(-95 * day)
	if o := h.send(old)[0]; o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "90-day") {
		t.Errorf("expired event handed to Send: %+v", o)
	}
	if st := h.sim.Stats(); st.Events != 3 {
		t.Errorf("an expired event reached the simulator")
	}
}

func TestIdentifiersAndConsent(t *testing.T) {
	h := newHarness(t, nil)
	strict := newHarness(t, func(o *Options) { o.RequireConsent = true })
	type mod func(*activation.Event)
	cases := []struct {
		name   string
		d      *Destination
		mod    mod
		status activation.Status
		ids    []string // idTypes sent
	}{
		{"email", h.d, func(e *activation.Event) {}, "", []string{"SHA256_EMAIL"}},
		{"li_fat_id only", h.d, func(e *activation.Event) { e.EmailSHA256, e.LiFatID = "", fatID }, "", []string{"LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"}},
		{"both", h.d, func(e *activation.Event) { e.LiFatID = strings.ToUpper(fatID) }, "", []string{"SHA256_EMAIL", "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"}},
		{"none", h.d, func(e *activation.Event) { e.EmailSHA256 = "" }, activation.StatusNoIdentifier, nil},
		{"li_fat_id not a UUID", h.d, func(e *activation.Event) { e.EmailSHA256, e.LiFatID = "", "555-123-4567" }, activation.StatusNoIdentifier, nil},
		{"Google-only hash", h.d, func(e *activation.Event) { e.EmailSHA256, e.EmailSHA256Google = "", emailHash }, activation.StatusNoIdentifier, nil},
		{"ad_user_data denied", h.d, func(e *activation.Event) { e.AdUserData = activation.ConsentDenied }, activation.StatusNoConsent, nil},
		{"ad_personalization denied", h.d, func(e *activation.Event) { e.AdPersonalization = activation.ConsentDenied }, activation.StatusNoConsent, nil},
		{"unspecified", h.d, func(e *activation.Event) { e.AdUserData, e.AdPersonalization = "", "" }, "", []string{"SHA256_EMAIL"}},
		{"unspecified, consent required", strict.d, func(e *activation.Event) { e.AdUserData = "" }, activation.StatusNoConsent, nil},
		{"granted, consent required", strict.d, func(e *activation.Event) {}, "", []string{"SHA256_EMAIL"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ev("id"+string(rune('a'+i)), activation.StageSQL)
			c.mod(&e)
			dec := c.d.Check(e, testNow)
			if dec.Status != c.status {
				t.Fatalf("%+v, want %q", dec, c.status)
			}
			if c.status != "" {
				return
			}
			el, _ := c.d.build(e, testNow)
			var got []string
			for _, id := range el.User.UserIDs {
				got = append(got, id.IDType)
			}
			if strings.Join(got, ",") != strings.Join(c.ids, ",") {
				t.Errorf("idTypes %v, want %v", got, c.ids)
			}
			if o := c.d.Send(context.Background(), []activation.Event{e})[0]; o.Status != activation.StatusAccepted {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	h := newHarness(t, nil)
	cases := map[string]func(*activation.Event){
		"free-text reason":    func(e *activation.Event) { e.Reason = "spoke to Jane Doe" },
		"clear email":         func(e *activation.Event) { e.EmailSHA256 = "jane.doe@example.com" },
		"upper-case hash":     func(e *activation.Event) { e.EmailSHA256 = strings.ToUpper(emailHash) },
		"short hash":          func(e *activation.Event) { e.EmailSHA256 = emailHash[:40] },
		"value, no currency":  func(e *activation.Event) { e.Currency = "" },
		"lower-case currency": func(e *activation.Event) { e.Currency = "eur" },
		"negative value":      func(e *activation.Event) { e.Value = -1 },
		"no key":              func(e *activation.Event) { e.Key = "" },
		"no time":             func(e *activation.Event) { e.EventAt = time.Time{} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			e := ev("g-"+name, activation.StageWon)
			mod(&e)
			dec := h.d.Check(e, testNow)
			if dec.Status != activation.StatusRejected || !strings.HasPrefix(dec.Reason, "guard: ") {
				t.Fatalf("%+v", dec)
			}
			if o := h.send(e)[0]; o.Status != activation.StatusRejected {
				t.Errorf("Send: %+v", o)
			}
		})
	}
	if n := len(h.rec.requests()); n != 0 {
		t.Errorf("%d requests went out for guarded events", n)
	}
	if ok := h.d.Check(ev("fine", activation.StageWon), testNow); !ok.Send() {
		t.Errorf("a clean event: %+v", ok)
	}
}

func TestHeadersAndBody(t *testing.T) {
	h := newHarness(t, nil)
	h.send(ev("k", activation.StageSQL))
	reqs := h.rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, want := range []string{"Authorization: Bearer " + token, "Linkedin-Version: " + DefaultVersion, "X-Restli-Protocol-Version: 2.0.0", "X-Restli-Method: BATCH_CREATE", `"eventId":"` + EventID("k") + `"`} {
		if !strings.Contains(reqs[0], want) {
			t.Errorf("request lacks %q:\n%s", want, reqs[0])
		}
	}
	if strings.Contains(reqs[0], "userInfo") {
		t.Error("userInfo sent")
	}
}

func TestValidateOnlySendsNothing(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ValidateOnly = true })
	bad := ev("bad", activation.StageSQL)
	bad.EmailSHA256 = "jane@example.com"
	out := h.send(ev("a", activation.StageSQL), ev("b", activation.StageWon), bad)
	for _, o := range out[:2] {
		if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "validate mode") {
			t.Errorf("%+v", o)
		}
	}
	if out[2].Status != activation.StatusRejected {
		t.Errorf("invalid payload in validate mode: %+v", out[2])
	}
	if st := h.sim.Stats(); st.Requests != 0 || len(h.rec.requests()) != 0 {
		t.Errorf("validate mode sent %d requests", st.Requests)
	}
}

func TestLimiterKeepsUnderTheCeiling(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RequestsPerSecond, o.Now = 50, time.Now })
	h.sim.SetClock(time.Now)
	h.sim.SetLimit(linkedinsim.Limit{Rate: 50, Burst: 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []activation.Outcome
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				e := ev(string(rune('a'+g))+string(rune('a'+i)), activation.StageSQL)
				e.EventAt = time.Now().Add(-time.Hour)
				if o := h.send(e)[0]; o.Status != activation.StatusAccepted {
					mu.Lock()
					bad = append(bad, o)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if st := h.sim.Stats(); st.Throttled != 0 || len(bad) > 0 {
		t.Errorf("throttled %d, outcomes %v", st.Throttled, bad)
	}
}
