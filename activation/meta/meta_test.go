package meta

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/metasim"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestValidate(t *testing.T) {
	if err := (Options{}).Validate(); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("zero options: %v, want ErrNotConfigured", err)
	}
	if _, err := New(Options{}); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("New(zero): %v", err)
	}
	if err := testOptions("http://127.0.0.1:1").Validate(); err != nil {
		t.Fatalf("complete options: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Options)
		want []string
	}{
		{"token only", func(o *Options) { *o = Options{AccessToken: testToken} }, []string{"DatasetID is empty", "LeadEventSource is empty", "EventNames maps no stage"}},
		{"dataset only", func(o *Options) { *o = Options{DatasetID: testDataset} }, []string{"AccessToken is empty", "LeadEventSource is empty", "EventNames maps no stage"}},
		{"test code only", func(o *Options) { *o = Options{TestEventCode: "TEST1"} }, []string{"AccessToken is empty", "DatasetID is empty"}},
		{"dataset not numeric", func(o *Options) { o.DatasetID = "pixel-1" }, []string{"DatasetID"}},
		{"token with space", func(o *Options) { o.AccessToken = "EAAB " + testToken }, []string{"AccessToken contains whitespace"}},
		{"lost stage", func(o *Options) { o.EventNames = map[string]string{activation.StageLost: "Lost"} }, []string{`stage "lost" is not one Meta takes`}},
		{"empty name", func(o *Options) { o.EventNames = map[string]string{activation.StageWon: " "} }, []string{"stage won has an empty event name"}},
		{"shared name", func(o *Options) {
			o.EventNames = map[string]string{activation.StageSQL: "Qualified", activation.StageMQL: "Qualified"}
		}, []string{"share the event name"}},
		{"bad url", func(o *Options) { o.BaseURL = "https://user:pw@graph.example/" }, []string{"BaseURL"}},
		{"bad version", func(o *Options) { o.APIVersion = "25" }, []string{"APIVersion"}},
		{"bad test code", func(o *Options) { o.TestEventCode = "TEST 1" }, []string{"TestEventCode"}},
		{"batch too large", func(o *Options) { o.MaxBatch = 1001 }, []string{"MaxBatch"}},
		{"negatives", func(o *Options) { o.RequestsPerSecond, o.Burst, o.Timeout = -1, -1, -1 }, []string{"RequestsPerSecond", "Burst", "Timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions("http://127.0.0.1:1")
			c.mod(&o)
			err := o.Validate()
			if err == nil || errors.Is(err, ErrNotConfigured) {
				t.Fatalf("Validate = %v, want an error naming %v", err, c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "pw@") {
				t.Errorf("error quotes the token: %q", err)
			}
		})
	}
}

// Every positive stage goes out as its configured event name; negative
// stages are not taken; a taken stage without a name is disabled.
func TestStageMapping(t *testing.T) {
	s, srv := newSim(t)
	d, _ := newDest(t, srv.URL, nil)
	for _, st := range []string{activation.StageLost, activation.StageDisqualified, "spam"} {
		if d.Takes(st) {
			t.Errorf("Takes(%s) = true", st)
		}
	}
	for stage, name := range DefaultEventNames() {
		if !d.Takes(stage) {
			t.Errorf("Takes(%s) = false", stage)
		}
		e := ev("key-"+stage, stage)
		if dec := d.Check(e, testNow); !dec.Send() {
			t.Fatalf("%s: Check = %+v", stage, dec)
		}
		out := d.Send(context.Background(), []activation.Event{e})
		if out[0].Status != activation.StatusAccepted {
			t.Fatalf("%s: outcome %+v", stage, out[0])
		}
		if k := s.Key(testDataset + "/" + name + "/" + eventID(e.Key)); k != (metasim.KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("%s: sim key %q = %+v", stage, name, k)
		}
	}

	d2, _ := newDest(t, srv.URL, func(o *Options) { o.EventNames = map[string]string{activation.StageWon: "Converted"} })
	dec := d2.Check(ev("k", activation.StageMQL), testNow)
	if dec.Status != activation.StatusDisabled || dec.Reason != "no conversion configured for stage mql" {
		t.Errorf("unconfigured stage: %+v", dec)
	}
	if d2.Name() != "meta" || d2.MaxBatch() != MaxBatch || d2.DedupWindow() != 47*time.Hour || d2.BatchKey(ev("a", "won")) != d2.BatchKey(ev("b", "lead")) {
		t.Errorf("name %q, max batch %d, dedup %v", d2.Name(), d2.MaxBatch(), d2.DedupWindow())
	}
}

// The payload follows the Conversion Leads specification and carries
// nothing else of the event.
func TestPayload(t *testing.T) {
	_, srv := newSim(t)
	rec := &recorder{next: srv.Client().Transport}
	d, _ := newDest(t, srv.URL, func(o *Options) { o.HTTPClient = &http.Client{Transport: rec} })
	e := ev("lead-42/sql/2026-11-20", activation.StageSQL)
	e.Gclid, e.ClientKey = "gclid-value", "123.456"
	out := d.Send(context.Background(), []activation.Event{e})
	if out[0].Status != activation.StatusAccepted {
		t.Fatalf("outcome %+v", out[0])
	}
	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.url != srv.URL+"/v25.0/"+testDataset+"/events" || r.header.Get("Authorization") != "Bearer "+testToken || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", r.url, r.header)
	}
	if strings.Contains(string(r.body), testToken) || strings.Contains(r.url, testToken) {
		t.Error("the token is in the URL or body")
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"data": []any{map[string]any{
		"event_name":    "Sales Qualified Lead",
		"event_time":    json.Number(strconv.FormatInt(e.EventAt.Unix(), 10)),
		"event_id":      eventID(e.Key),
		"action_source": "system_generated",
		"user_data":     map[string]any{"lead_id": json.Number(testLeadID), "em": []any{testEmailHash}},
		"custom_data":   map[string]any{"event_source": "crm", "lead_event_source": "SAM Test CRM", "value": json.Number("120.5"), "currency": "EUR"},
	}}}
	if a, b := mustJSON(got), mustJSON(want); a != b {
		t.Errorf("payload\n got %s\nwant %s", a, b)
	}
	first, again := eventID(e.Key), eventID(e.Key)
	if len(first) != 32 || first != again || first == eventID(e.Key+"x") {
		t.Error("event_id is not a stable 32-digit digest of the key")
	}
}

// Windows, with fixed clocks: an event outside one is never sent and is
// skipped as expired_window with its fixed reason.
func TestWindows(t *testing.T) {
	day := 24 * time.Hour
	stage28 := "stage reached more than 28 days after the lead: outside Meta's Conversion Leads window"
	cases := []struct {
		name        string
		eventAge    time.Duration // now - EventAt
		leadToStage time.Duration // EventAt - LeadAt
		maxStageAge time.Duration
		status      activation.Status
		reason      string
	}{
		{"fresh", time.Hour, day, 0, "", ""},
		{"inside the margin", 7*day - time.Hour, 0, 0, "", ""},
		{"in the last hour of the 7 days", 7*day - 59*time.Minute, 0, 0, activation.StatusExpiredWindow, ReasonBackfill},
		{"older than 7 days", 8 * day, 0, 0, activation.StatusExpiredWindow, ReasonBackfill},
		{"future", -time.Minute, 0, 0, activation.StatusRejected, "guard: event time is in the future"},
		{"stage on day 28", time.Hour, 28 * day, 0, "", ""},
		{"stage after day 28", time.Hour, 28*day + time.Second, 0, activation.StatusExpiredWindow, stage28},
		{"stage age configured", time.Hour, 15 * day, 14 * day, activation.StatusExpiredWindow, "stage reached more than 14 days after the lead: outside Meta's Conversion Leads window"},
		{"stage age off", time.Hour, 200 * day, -1, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv := newSim(t)
			d, _ := newDest(t, srv.URL, func(o *Options) { o.MaxStageAge = c.maxStageAge })
			e := ev("k", activation.StageWon)
			e.EventAt = testNow.Add(-c.eventAge)
			e.LeadAt = e.EventAt.Add(-c.leadToStage)
			dec := d.Check(e, testNow)
			if dec.Status != c.status || dec.Reason != c.reason {
				t.Fatalf("Check = %+v, want %s %q", dec, c.status, c.reason)
			}
			// Through the runner: skipped events never reach the simulator
			// and are recorded with their reason.
			l := &activation.MemoryLedger{}
			r := &activation.Runner{Ledger: l, Events: activation.SliceEvents{e}, Destinations: []activation.Destination{d}, Now: func() time.Time { return testNow }}
			rep, err := r.Run(context.Background(), "run1")
			if err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if c.status == "" {
				if st.Effects != 1 || rep.Destinations[0].Counts[activation.StatusAccepted] != 1 {
					t.Errorf("sent event: stats %+v, counts %v", st, rep.Destinations[0].Counts)
				}
				return
			}
			if st.Requests != 0 {
				t.Errorf("a skipped event reached the simulator: %+v", st)
			}
			ents := l.Entries()
			if len(ents) != 1 || ents[0].Status != c.status || ents[0].Detail != c.reason {
				t.Errorf("ledger = %+v", ents)
			}
		})
	}
}

// An event that crosses Meta's 7 days between Check and Send is not sent
// (it would sink its batch) and fails, so the next run records it expired.
func TestSendDropsEventsPastTheBackfillLimit(t *testing.T) {
	s, srv := newSim(t)
	d, _ := newDest(t, srv.URL, nil)
	batch := evs(3, activation.StageLead)
	batch[1].EventAt = testNow.Add(-7*24*time.Hour - time.Second)
	out := d.Send(context.Background(), batch)
	if got := statuses(out); got[0] != activation.StatusAccepted || got[1] != activation.StatusFailed || got[2] != activation.StatusAccepted {
		t.Fatalf("outcomes %v", out)
	}
	if st := s.Stats(); st.Events != 2 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestIdentifiersConsentAndGuard(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*activation.Event)
		opt    func(*Options)
		status activation.Status
		reason string
	}{
		{"lead id and email", func(e *activation.Event) {}, nil, "", ""},
		{"lead id only", func(e *activation.Event) { e.EmailSHA256 = "" }, nil, "", ""},
		{"email only", func(e *activation.Event) { e.MetaLeadID = "" }, nil, "", ""},
		{"google hash and gclid are not Meta identifiers", func(e *activation.Event) {
			e.MetaLeadID, e.EmailSHA256, e.EmailSHA256Google, e.Gclid = "", "", testEmailHash, "gclid"
		}, nil, activation.StatusNoIdentifier, "no Meta lead id or hashed email"},
		{"15-digit lead id", func(e *activation.Event) { e.MetaLeadID = "123456789012345" }, nil, "", ""},
		{"short lead id", func(e *activation.Event) { e.MetaLeadID = "12345" }, nil, activation.StatusRejected, "guard: Meta lead id is not 15 or 16 digits"},
		{"hashed lead id", func(e *activation.Event) { e.MetaLeadID = testEmailHash }, nil, activation.StatusRejected, "guard: Meta lead id is not 15 or 16 digits"},
		{"clear email", func(e *activation.Event) { e.EmailSHA256 = "jane.doe@example.com" }, nil, activation.StatusRejected, "guard: hashed email is not SHA-256 hex"},
		{"upper-case hash", func(e *activation.Event) { e.EmailSHA256 = strings.ToUpper(testEmailHash) }, nil, activation.StatusRejected, "guard: hashed email is not SHA-256 hex"},
		{"value without currency", func(e *activation.Event) { e.Currency = "" }, nil, activation.StatusRejected, "guard: value without a currency"},
		{"zero value without currency", func(e *activation.Event) { e.Currency, e.Value = "", 0 }, nil, "", ""},
		{"currency not ISO", func(e *activation.Event) { e.Currency = "euro" }, nil, activation.StatusRejected, "guard: currency is not an upper-case ISO 4217 code"},
		{"NaN value", func(e *activation.Event) { e.Value = math.NaN() }, nil, activation.StatusRejected, "guard: value is not a non-negative number"},
		{"negative value", func(e *activation.Event) { e.Value = -1 }, nil, activation.StatusRejected, "guard: value is not a non-negative number"},
		{"free-text reason", func(e *activation.Event) { e.Reason = "Spoke to Jane Doe" }, nil, activation.StatusRejected, "guard: reason is not in the fixed vocabulary"},
		{"no key", func(e *activation.Event) { e.Key = "" }, nil, activation.StatusRejected, "guard: no event key to deduplicate on"},
		{"ad_user_data denied", func(e *activation.Event) { e.AdUserData = activation.ConsentDenied }, nil, activation.StatusNoConsent, "ad_user_data consent denied"},
		{"ad_personalization denied", func(e *activation.Event) { e.AdPersonalization = activation.ConsentDenied }, nil, activation.StatusNoConsent, "ad_personalization consent denied"},
		{"consent garbage", func(e *activation.Event) { e.AdUserData = "yes please" }, nil, activation.StatusNoConsent, "ad_user_data consent is not a known value"},
		{"consent unspecified", func(e *activation.Event) { e.AdUserData, e.AdPersonalization = "", "" }, nil, "", ""},
		{"consent unspecified, required", func(e *activation.Event) { e.AdUserData = "" }, func(o *Options) { o.RequireConsent = true }, activation.StatusNoConsent, "ad_user_data consent not recorded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv := newSim(t)
			d, _ := newDest(t, srv.URL, c.opt)
			e := ev("k", activation.StageOpportunity)
			c.mod(&e)
			dec := d.Check(e, testNow)
			if dec.Status != c.status || dec.Reason != c.reason {
				t.Fatalf("Check = %+v, want %s %q", dec, c.status, c.reason)
			}
			if dec.Send() {
				// The simulator, which judges by Meta's contract on its own,
				// takes whatever Check lets through.
				if out := d.Send(context.Background(), []activation.Event{e}); out[0].Status != activation.StatusAccepted || s.Stats().Effects != 1 {
					t.Errorf("outcome %+v, stats %+v", out[0], s.Stats())
				}
			}
		})
	}
}
