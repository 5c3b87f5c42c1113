package googleads

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/tests/googleadssim"
)

// now is every clock in these tests: SAM's and the simulator's.
var now = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

const customer = "1234567890"

var actions = map[string]string{"lead": "101", "mql": "102", "sql": "103", "opportunity": "104", "won": "105"}

func newSim(t testing.TB) (*googleadssim.Server, *httptest.Server) {
	t.Helper()
	s, err := googleadssim.New("")
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return now })
	// A fixed clock never refills the ceiling's bucket; the benchmark
	// runs with the ceiling on a real clock.
	s.SetLimit(googleadssim.Limit{})
	s.AllowToken("test-token")
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, srv
}

func testOptions(srv *httptest.Server) Options {
	acts := map[string]string{}
	for k, v := range actions {
		acts[k] = v
	}
	return Options{
		CustomerID:        customer,
		ConversionActions: acts,
		AccessToken:       "test-token",
		Endpoint:          srv.URL + "/",
		HTTPClient:        srv.Client(),
		RequestTimeout:    2 * time.Second,
		StatusWait:        2 * time.Second,
		StatusPoll:        5 * time.Millisecond,
		Retry:             retry.Policy{Attempts: 4, Base: time.Millisecond, Cap: 3 * time.Second},
		Now:               func() time.Time { return now },
	}
}

func newDest(t testing.TB, srv *httptest.Server, mod func(*Options)) *Destination {
	t.Helper()
	o := testOptions(srv)
	if mod != nil {
		mod(&o)
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ev is a sendable event of stage: a gclid, Google's email hash, consent,
// a predicted value, a day old.
func ev(i int, stage string) activation.Event {
	kind := activation.ValuePredicted
	if stage == activation.StageWon {
		kind = activation.ValueActual
	}
	return activation.Event{
		Key: fmt.Sprintf("%032x", 0xabc000+i), LeadID: fmt.Sprintf("L%d", i), Stage: stage,
		EventAt: now.Add(-24 * time.Hour), LeadAt: now.Add(-72 * time.Hour),
		Value: 100 + float64(i), Currency: "USD", ValueKind: kind,
		Gclid: fmt.Sprintf("Cj0KCQjw%016dBwE", i), ClickAt: now.Add(-96 * time.Hour),
		EmailSHA256Google: identity.SHA256Hex(fmt.Sprintf("lead%d@example.com", i)),
		AdUserData:        activation.ConsentGranted, AdPersonalization: activation.ConsentDenied,
	}
}

func simKey(e activation.Event) string { return customer + "/" + actions[e.Stage] + "/" + e.Key }

func statuses(out []activation.Outcome) []activation.Status {
	var s []activation.Status
	for _, o := range out {
		s = append(s, o.Status)
	}
	return s
}

func wantAll(t *testing.T, out []activation.Outcome, want activation.Status) {
	t.Helper()
	for i, o := range out {
		if o.Status != want {
			t.Errorf("event %d: %s (%s), want %s", i, o.Status, o.Detail, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if (Options{}).Configured() {
		t.Error("zero options are configured")
	}
	half := Options{CustomerID: customer}
	err := half.Validate()
	if !half.Configured() || err == nil {
		t.Fatalf("half-configured: configured=%v err=%v", half.Configured(), err)
	}
	for _, field := range []string{"ConversionActions", "CredentialsFile"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
	_, srv := newSim(t)
	cases := map[string]func(*Options){
		"customer with hyphens": func(o *Options) { o.CustomerID = "123-456-7890" },
		"lost has no action":    func(o *Options) { o.ConversionActions["lost"] = "9" },
		"action not numeric":    func(o *Options) { o.ConversionActions["sql"] = "stage_sql" },
		"two credentials":       func(o *Options) { o.CredentialsFile = "/k.json" },
		"no credentials":        func(o *Options) { o.AccessToken = "" },
		"endpoint":              func(o *Options) { o.Endpoint = "localhost:9" },
		"over the quota":        func(o *Options) { o.RequestsPerMinute = 301 },
		"batch over the limit":  func(o *Options) { o.MaxBatch = MaxEvents + 1 },
		"window over 90 days":   func(o *Options) { o.ClickThroughWindow = 91 * 24 * time.Hour },
		"login customer":        func(o *Options) { o.LoginCustomerID = "12" },
	}
	for name, mod := range cases {
		o := testOptions(srv)
		mod(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if err := testOptions(srv).Validate(); err != nil {
		t.Errorf("full options: %v", err)
	}
}

func TestStageMapping(t *testing.T) {
	sim, srv := newSim(t)
	d := newDest(t, srv, nil)
	if d.Name() != "google_ads" || d.MaxBatch() != 2000 || d.DedupWindow() != 90*24*time.Hour {
		t.Errorf("name %s, max batch %d, dedup %s", d.Name(), d.MaxBatch(), d.DedupWindow())
	}
	for _, s := range []string{activation.StageLost, activation.StageDisqualified, "spam"} {
		if d.Takes(s) {
			t.Errorf("takes %s", s)
		}
	}
	var batch []activation.Event
	for i, s := range Stages {
		if !d.Takes(s) {
			t.Errorf("does not take %s", s)
		}
		e := ev(i, s)
		if dec := d.Check(e, now); !dec.Send() {
			t.Fatalf("%s: %+v", s, dec)
		}
		batch = append(batch, e)
	}
	out := d.Send(context.Background(), batch)
	wantAll(t, out, activation.StatusAccepted)
	for _, e := range batch {
		if k := sim.Key(simKey(e)); k != (googleadssim.KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("%s went to %v, want conversion action %s once", e.Stage, sim.Keys(), actions[e.Stage])
		}
	}
	// The won event carries the real value in its currency.
	var got map[string]any
	for _, r := range sim.Records() {
		if strings.Contains(r.Key, "/105/") {
			if err := jsonUnmarshal(r.Event, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got["conversionValue"] != 104.0 || got["currency"] != "USD" || got["transactionId"] != batch[4].Key {
		t.Errorf("won payload = %v", got)
	}
	if c, _ := got["consent"].(map[string]any); c["adUserData"] != "CONSENT_GRANTED" || c["adPersonalization"] != "CONSENT_DENIED" {
		t.Errorf("consent = %v", got["consent"])
	}

	// A stage without a conversion action is disabled, with its name.
	d2 := newDest(t, srv, func(o *Options) { delete(o.ConversionActions, "mql") })
	dec := d2.Check(ev(9, activation.StageMQL), now)
	if dec.Status != activation.StatusDisabled || dec.Reason != "no conversion action configured for stage mql" {
		t.Errorf("mql without action = %+v", dec)
	}
}

func TestWindows(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name   string
		mod    func(*activation.Event)
		reason string
	}{
		{"click 31 days before the conversion", func(e *activation.Event) { e.ClickAt = e.EventAt.Add(-31 * day) }, "click-through window: conversion more than 30 days after the click"},
		{"conversion 91 days old", func(e *activation.Event) { e.EventAt = now.Add(-91 * day); e.ClickAt = e.EventAt.Add(-day) }, "import window: conversion more than 90 days old"},
		{"email only, 91 days old", func(e *activation.Event) {
			e.Gclid, e.ClickAt, e.EventAt = "", time.Time{}, now.Add(-91*day)
		}, "import window: conversion more than 90 days old"},
		{"click 29 days before", func(e *activation.Event) { e.ClickAt = e.EventAt.Add(-29 * day) }, ""},
		{"conversion 89 days old", func(e *activation.Event) { e.EventAt = now.Add(-89 * day); e.ClickAt = e.EventAt.Add(-day) }, ""},
	}
	sim, srv := newSim(t)
	d := newDest(t, srv, func(o *Options) { o.ClickThroughWindow = 30 * 24 * time.Hour })
	var evs activation.SliceEvents
	want := map[string]string{}
	for i, c := range cases {
		e := ev(i, activation.StageSQL)
		c.mod(&e)
		evs = append(evs, e)
		want[e.Key] = c.reason
		dec := d.Check(e, now)
		if c.reason == "" && !dec.Send() || c.reason != "" && (dec.Status != activation.StatusExpiredWindow || dec.Reason != c.reason) {
			t.Errorf("%s: %+v, want reason %q", c.name, dec, c.reason)
		}
	}
	// Through the runner: expired events are recorded with their reason and
	// never reach the simulator.
	led := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: led, Events: evs, Destinations: []activation.Destination{d}, Now: func() time.Time { return now }}
	rep, err := r.Run(context.Background(), "windows")
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Destinations[0].Counts; c[activation.StatusExpiredWindow] != 3 || c[activation.StatusAccepted] != 2 {
		t.Errorf("counts = %v", c)
	}
	for _, en := range led.Entries() {
		if en.Status == activation.StatusExpiredWindow && en.Detail != want[en.Key] {
			t.Errorf("%s recorded %q, want %q", en.Key, en.Detail, want[en.Key])
		}
	}
	for _, e := range evs {
		got := sim.Key(simKey(e)).Received
		if (want[e.Key] == "") != (got == 1) {
			t.Errorf("%s (window %q) received %d times", e.Key, want[e.Key], got)
		}
	}
}

func TestIdentifiersAndConsent(t *testing.T) {
	sim, srv := newSim(t)
	d := newDest(t, srv, nil)
	cases := []struct {
		name   string
		mod    func(*activation.Event)
		status activation.Status
		reason string
	}{
		{"nothing to match on", func(e *activation.Event) { e.Gclid, e.EmailSHA256Google = "", "" }, activation.StatusNoIdentifier, "no gclid, gbraid, wbraid or Google-normalised email hash"},
		{"only the generic email hash", func(e *activation.Event) {
			e.Gclid, e.EmailSHA256, e.EmailSHA256Google = "", e.EmailSHA256Google, ""
		}, activation.StatusNoIdentifier, "no gclid, gbraid, wbraid or Google-normalised email hash"},
		{"consent denied", func(e *activation.Event) { e.AdUserData = activation.ConsentDenied }, activation.StatusNoConsent, "ad_user_data consent denied"},
		{"consent not recorded", func(e *activation.Event) { e.AdUserData = activation.ConsentUnspecified }, activation.StatusNoConsent, "ad_user_data consent not recorded"},
		{"gbraid only", func(e *activation.Event) { e.Gclid, e.EmailSHA256Google, e.Gbraid = "", "", "0AAAAAoZ8q1Qx9fFvS6hJ3bC" }, "", ""},
		{"wbraid only", func(e *activation.Event) { e.Gclid, e.EmailSHA256Google, e.Wbraid = "", "", "CjkKCQjw9Kq1BhDdARIlAFz" }, "", ""},
		{"email only", func(e *activation.Event) { e.Gclid, e.ClickAt = "", time.Time{} }, "", ""},
	}
	var send []activation.Event
	for i, c := range cases {
		e := ev(i, activation.StageLead)
		c.mod(&e)
		dec := d.Check(e, now)
		if dec.Status != c.status || dec.Reason != c.reason {
			t.Errorf("%s: %+v, want %s %q", c.name, dec, c.status, c.reason)
		}
		if dec.Send() {
			send = append(send, e)
		}
	}
	wantAll(t, d.Send(context.Background(), send), activation.StatusAccepted)
	for _, r := range sim.Records() {
		var got map[string]any
		if err := jsonUnmarshal(r.Event, &got); err != nil {
			t.Fatal(err)
		}
		if got["userData"] != nil && got["adIdentifiers"] != nil {
			t.Errorf("record has both identifiers: %s", r.Event)
		}
	}
	if n := len(sim.Records()); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

func TestGuard(t *testing.T) {
	_, srv := newSim(t)
	d := newDest(t, srv, nil)
	cases := map[string]func(*activation.Event){
		"key is free text":           func(e *activation.Event) { e.Key = "lead 42 sql" },
		"clear email in hash field":  func(e *activation.Event) { e.EmailSHA256Google = "jane.doe@example.com" },
		"upper-case hash":            func(e *activation.Event) { e.EmailSHA256Google = strings.ToUpper(e.EmailSHA256Google) },
		"value without currency":     func(e *activation.Event) { e.Currency = "" },
		"lower-case currency":        func(e *activation.Event) { e.Currency = "usd" },
		"negative value":             func(e *activation.Event) { e.Value = -1 },
		"NaN value":                  func(e *activation.Event) { e.Value = math.NaN() },
		"event in the future":        func(e *activation.Event) { e.EventAt = now.Add(time.Minute) },
		"conversion before click":    func(e *activation.Event) { e.ClickAt = e.EventAt.Add(time.Minute) },
		"click id with a space":      func(e *activation.Event) { e.Gclid = "Jane Doe called back twice" },
		"consent outside vocabulary": func(e *activation.Event) { e.AdPersonalization = "yes" },
		"no event time":              func(e *activation.Event) { e.EventAt = time.Time{} },
	}
	for name, mod := range cases {
		e := ev(1, activation.StageSQL)
		mod(&e)
		dec := d.Check(e, now)
		if dec.Status != activation.StatusRejected || !strings.HasPrefix(dec.Reason, "guard: ") {
			t.Errorf("%s: %+v", name, dec)
		}
	}
	// A zero value needs no currency, and sends none.
	e := ev(2, activation.StageLead)
	e.Value, e.Currency = 0, ""
	if dec := d.Check(e, now); !dec.Send() {
		t.Errorf("zero value: %+v", dec)
	}
}

func TestValidateOnlyRecordsNothing(t *testing.T) {
	sim, srv := newSim(t)
	d := newDest(t, srv, func(o *Options) { o.ValidateOnly = true })
	out := d.Send(context.Background(), []activation.Event{ev(1, activation.StageSQL), ev(2, activation.StageWon)})
	wantAll(t, out, activation.StatusFailed)
	if !strings.HasPrefix(out[0].Detail, "validate only") {
		t.Errorf("detail = %q", out[0].Detail)
	}
	if st := sim.Stats(); st.Requests != 1 || st.Events != 0 || st.Effects != 0 {
		t.Errorf("stats = %+v: validate mode took effect", st)
	}
}

// The simulator wants a bearer token; the destination sends the one it was
// given and nothing else identifies it.
func TestSendsBearerToken(t *testing.T) {
	sim, srv := newSim(t)
	var auth []string
	rec := recorder(srv.Client().Transport, func(r *http.Request, _ []byte) { auth = append(auth, r.Header.Get("Authorization")) })
	d := newDest(t, srv, func(o *Options) { o.HTTPClient = &http.Client{Transport: rec} })
	wantAll(t, d.Send(context.Background(), []activation.Event{ev(1, activation.StageLead)}), activation.StatusAccepted)
	if len(auth) < 2 || auth[0] != "Bearer test-token" {
		t.Errorf("authorization headers %q", auth)
	}
	if sim.Stats().Effects != 1 {
		t.Errorf("stats %+v", sim.Stats())
	}
}

// On Cloud Run the job's service account gets its tokens from the metadata
// server: no key file to mount or rotate, and an access token set by hand
// would end within the hour. The fake metadata server answers as the real
// one does (cloud.google.com/go/compute/metadata: the Metadata-Flavor
// header both ways, GCE_METADATA_HOST to find it).
func TestDefaultCredentialsTakeTokensFromTheMetadataServer(t *testing.T) {
	var scopes []string
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			scopes = append(scopes, r.URL.Query().Get("scopes"))
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"ya29.metadata","expires_in":3599,"token_type":"Bearer"}`)
		case "/computeMetadata/v1/universe/universe-domain":
			fmt.Fprint(w, "googleapis.com")
		case "/computeMetadata/v1/project/project-id":
			fmt.Fprint(w, "sam-test")
		default:
			http.NotFound(w, r)
		}
	}))
	defer meta.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(meta.URL, "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir()) // no gcloud user credentials
	t.Setenv("HOME", t.TempDir())

	sim, srv := newSim(t)
	sim.AllowToken("ya29.metadata") // the token the metadata server hands out
	var auth []string
	seen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		sim.Handler().ServeHTTP(w, r)
	}))
	defer seen.Close()
	d := newDest(t, srv, func(o *Options) {
		o.AccessToken, o.DefaultCredentials, o.Endpoint, o.HTTPClient = "", true, seen.URL+"/", nil
	})
	wantAll(t, d.Send(context.Background(), []activation.Event{ev(1, activation.StageLead)}), activation.StatusAccepted)
	if len(auth) == 0 || auth[0] != "Bearer ya29.metadata" {
		t.Errorf("authorization headers %q, want the metadata server's token", auth)
	}
	if len(scopes) == 0 || !strings.Contains(scopes[0], "https://www.googleapis.com/auth/datamanager") {
		t.Errorf("token requests asked for scopes %q, want the datamanager scope", scopes)
	}
	if sim.Stats().Effects != 1 {
		t.Errorf("stats %+v", sim.Stats())
	}
}
