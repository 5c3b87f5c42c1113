package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestMain trades memory for time: the in-memory warehouse holds every
// loaded row.
func TestMain(m *testing.M) {
	debug.SetGCPercent(400)
	os.Exit(m.Run())
}

const (
	testPerWindow = 20
	testWindow    = 50 * time.Millisecond
)

type harness struct {
	sim     *salesforcesim.Server
	src     *salesforce.Source
	wh      *memwh.WH
	cursors *memwh.Cursors
}

func newHarness(t testing.TB, leads, opps, badEvery int, cfg salesforcesim.Config, timeout time.Duration) *harness {
	t.Helper()
	return newHarnessWith(t, leads, opps, badEvery, cfg, timeout, nil)
}

// newHarnessWith is newHarness with the source's options changed by set.
func newHarnessWith(t testing.TB, leads, opps, badEvery int, cfg salesforcesim.Config, timeout time.Duration, set func(*salesforce.Options)) *harness {
	t.Helper()
	cfg.RequestsPerWindow, cfg.Window, cfg.Seed = testPerWindow, testWindow, 1
	sim := salesforcesim.New(cfg)
	t.Cleanup(sim.Close)
	sim.Seed(leads, opps, badEvery)
	sc := salesforce.Options{InstanceURL: sim.URL, AccessToken: option.Secret(sim.Token()), APIVersion: "v59.0",
		ClientIDField: "GA_Client_ID__c", GclidField: "GCLID__c", RequestsPerWindow: testPerWindow,
		Overlap: 10 * time.Minute, BatchSize: 2000,
		HTTPClient: &http.Client{Timeout: timeout}, Window: testWindow, CurrencyField: "CurrencyIsoCode",
		Backoff:   retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20},
		SlowDelay: time.Millisecond,
		// The loader's clock runs a second ahead of the server's, as clocks
		// do; the overlap window covers it, and it lets a sync started in
		// the same second as the last change see that change.
		Now: func() time.Time { return time.Now().Add(time.Second) },
	}
	if set != nil {
		set(&sc)
	}
	src, err := salesforce.NewSource(sc)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{sim: sim, src: src, wh: memwh.New(), cursors: memwh.NewCursors()}
}

func (h *harness) sync(ctx context.Context) (loaders.Counts, error) {
	return crm.Sync(ctx, h.wh, h.src, crm.Options{RunID: "test", Cursors: h.cursors})
}

func (h *harness) syncStreams(t *testing.T, streams ...string) error {
	_, err := crm.Sync(t.Context(), h.wh, h.src, crm.Options{RunID: "test", Cursors: h.cursors, Streams: streams})
	return err
}

// verify checks the latest loaded version of every record of every object
// against the server's final state.
func (h *harness) verify(t *testing.T) {
	t.Helper()
	if n := h.sim.Exceeded(); n != 0 {
		t.Errorf("simulator saw the rate limit exceeded %d times", n)
	}
	rejected := map[string]bool{}
	if rt := h.wh.Table(loaders.RejectsTable); rt != nil {
		for _, r := range rt.Rows {
			var o struct{ Id string }
			if err := json.Unmarshal([]byte(r[4].(string)), &o); err != nil {
				t.Fatalf("reject raw is not the record's JSON: %v", err)
			}
			rejected[o.Id] = true
		}
	}
	objects := []struct{ object, table, idCol, marker string }{
		{"Lead", record.LeadsTable, "lead_id", "company"},
		{"Contact", record.LeadsTable, "lead_id", "last_name"},
		{"Opportunity", record.DealsTable, "deal_id", "amount"},
		{"OpportunityContactRole", record.DealContactsTable, "association_id", "role"},
		{"OpportunityHistory", record.StageHistoryTable, "history_id", "stage_raw"},
		{"CampaignMember", record.TouchesTable, "touch_id", "status"},
		{"Account", record.AccountsTable, "account_id", "name"},
	}
	seen := map[string]int{}
	for _, o := range objects {
		got := h.wh.Latest(o.table, o.idCol)
		want := h.sim.Finals(o.object)
		var missing, stale int
		for id, f := range want {
			g, ok := got[id]
			if f.Bad {
				if ok || !rejected[id] {
					t.Errorf("%s %s has bad data: loaded=%v rejected=%v", o.object, id, ok, rejected[id])
				}
				continue
			}
			seen[o.table]++
			if !ok {
				if missing++; missing <= 3 {
					t.Errorf("%s %s missing", o.object, id)
				}
				continue
			}
			// A deletion read from the delete log is a version with no
			// fields: its marker is whatever the last version said, or none.
			marker := g.Get(o.marker) == f.Marker || (f.Deleted && g.Get(o.marker) == nil)
			if !sameStamp(g.Get("modified_at").(time.Time), f) || g.Get("is_deleted") != f.Deleted || !marker {
				if stale++; stale <= 3 {
					t.Errorf("%s %s: got (%v, deleted=%v, %v), want (%v, deleted=%v, %v)", o.object, id,
						g.Get("modified_at"), g.Get("is_deleted"), g.Get(o.marker), f.Modified, f.Deleted, f.Marker)
				}
			}
		}
		if missing+stale > 0 {
			t.Errorf("%s: %d missing, %d stale of %d", o.object, missing, stale, len(want))
		}
	}
	for _, o := range objects {
		if n := len(h.wh.Latest(o.table, o.idCol)); n != seen[o.table] {
			t.Errorf("%s holds %d ids, the server %d", o.table, n, seen[o.table])
		}
	}
	h.verifyAccountLinks(t)
}

// sameStamp reports whether a loaded version's modified_at is the record's
// final one: a deletion read from the delete log is stamped a microsecond
// before it.
func sameStamp(got time.Time, f salesforcesim.Final) bool {
	return got.Equal(f.Modified) || (f.Deleted && got.Equal(f.Modified.Add(-time.Microsecond)))
}

// verifyAccountLinks checks that every loaded Contact and Opportunity has
// one account link whose latest version names its final AccountId, and
// that no other link landed.
func (h *harness) verifyAccountLinks(t *testing.T) {
	t.Helper()
	links := h.wh.Latest(record.AccountLinksTable, "link_id")
	var want, wrong int
	for _, o := range []struct{ object, kind string }{{"Contact", record.LinkLead}, {"Opportunity", record.LinkDeal}} {
		for id, f := range h.sim.Finals(o.object) {
			g, ok := links[o.kind+":"+id]
			if f.Bad {
				if ok {
					t.Errorf("rejected %s %s has an account link", o.object, id)
				}
				continue
			}
			want++
			var acc any
			if f.AccountID != "" {
				acc = f.AccountID
			}
			// A deletion from the delete log names no account.
			account := g.Get("account_id") == acc || (f.Deleted && g.Get("account_id") == nil)
			if !ok || !account || g.Get("is_deleted") != f.Deleted || !sameStamp(g.Get("modified_at").(time.Time), f) ||
				g.Get("object_type") != o.kind || g.Get("record_id") != id || g.Get("is_snapshot") != false {
				if wrong++; wrong <= 3 {
					t.Errorf("%s %s: link %v (loaded %v), want account %v, deleted=%v, modified %v", o.object, id, g, ok, acc, f.Deleted, f.Modified)
				}
			}
		}
	}
	if wrong > 0 {
		t.Errorf("account links: %d of %d wrong or missing", wrong, want)
	}
	if len(links) != want {
		t.Errorf("%s holds %d links, want %d", record.AccountLinksTable, len(links), want)
	}
}

func TestFullSync50k(t *testing.T) {
	// 30k Leads of which 20k converted: 50k people (Leads and Contacts) and
	// 20k Opportunities, with their contact roles and stage history.
	leads, opps := 30000, 20000
	if testing.Short() {
		leads, opps = 5000, 2000
	}
	h := newHarness(t, leads, opps, 499, salesforcesim.Config{}, 5*time.Second)
	start := time.Now()
	c, err := h.sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full sync: %d records in %s, %d requests", c.Read, time.Since(start), h.sim.Requests())
	if c.Read != c.Loaded+c.Rejected {
		t.Errorf("read %d != loaded %d + rejected %d", c.Read, c.Loaded, c.Rejected)
	}
	if want := int64(leads/499 + opps/499); c.Rejected != want {
		t.Errorf("rejected %d, want %d", c.Rejected, want)
	}
	h.verify(t)
	// Each good record exactly once: leads + contacts, less bad leads.
	if n, want := h.wh.Table(record.LeadsTable).Count, int64(leads+opps-leads/499); n != want {
		t.Errorf("raw_crm__leads has %d rows, want %d", n, want)
	}
}

func TestFaultModes(t *testing.T) {
	cases := []struct {
		name    string
		cfg     salesforcesim.Config
		mutates bool
	}{
		{"REQUEST_LIMIT_EXCEEDED storm", salesforcesim.Config{RetryAfter: 5 * time.Millisecond, Faults: salesforcesim.Faults{StormFrom: 2, StormLen: 10}}, false},
		{"5xx", salesforcesim.Config{Faults: salesforcesim.Faults{Every5xx: 3}}, false},
		{"slow", salesforcesim.Config{Faults: salesforcesim.Faults{EverySlow: 2, SlowDelay: 20 * time.Millisecond}}, false},
		{"timeouts", salesforcesim.Config{PageSize: 1000, Faults: salesforcesim.Faults{EveryHang: 6, HangDelay: time.Minute}}, false},
		{"truncated JSON", salesforcesim.Config{Faults: salesforcesim.Faults{EveryTruncate: 3}}, false},
		{"duplicates across pages", salesforcesim.Config{PageSize: 500, Faults: salesforcesim.Faults{EveryDuplicate: 2}}, false},
		{"QUERY_TIMEOUT", salesforcesim.Config{TimeoutAbove: 400}, false},
		{"changes mid-sync", salesforcesim.Config{PageSize: 500, Faults: salesforcesim.Faults{EveryMutate: 2, MutateCount: 10}}, true},
		{"deletions mid-sync", salesforcesim.Config{PageSize: 500, Faults: salesforcesim.Faults{EveryDelete: 2, DeleteCount: 5}}, true},
		{"daily usage high", salesforcesim.Config{UsageOffset: 14000}, false},
		{"mixed", salesforcesim.Config{PageSize: 400, TimeoutAbove: 1500, RetryAfter: 5 * time.Millisecond, Faults: salesforcesim.Faults{
			StormFrom: 5, StormLen: 6, Every5xx: 7, EverySlow: 5, SlowDelay: 10 * time.Millisecond, EveryHang: 17, HangDelay: time.Minute,
			EveryTruncate: 6, EveryDuplicate: 3, EveryMutate: 4, MutateCount: 5, EveryDelete: 9, DeleteCount: 2}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A hung request costs the client its whole timeout, so hangs
			// are rare and the timeout well above an honest response's time.
			timeout := 5 * time.Second
			if tc.cfg.Faults.EveryHang > 0 {
				timeout = time.Second
			}
			leads, opps := 2500, 1000
			if os.Getenv("SAM_CRM_FULL_SCALE") == "1" {
				// The scale: 30k Leads, 20k of them converted, gives
				// 50k people and 20k Opportunities (make bench sets it).
				leads, opps = 30000, 20000
			}
			h := newHarness(t, leads, opps, 0, tc.cfg, timeout)
			c, err := h.sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.Read != c.Loaded+c.Rejected {
				t.Errorf("read %d != loaded %d + rejected %d", c.Read, c.Loaded, c.Rejected)
			}
			if tc.mutates {
				h.sim.SetFaults(salesforcesim.Faults{})
				h.sim.SetTimeoutAbove(0)
				if _, err := h.sync(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			h.verify(t)
			if tc.cfg.TimeoutAbove > 0 && h.sim.Timeouts() == 0 {
				t.Error("no query timed out; the mode tested nothing")
			}
			if tc.cfg.UsageOffset > 0 {
				if used, allowance := h.src.Client().APIUsage(); used < tc.cfg.UsageOffset || allowance != 15000 {
					t.Errorf("API usage reading = %d/%d", used, allowance)
				}
			}
		})
	}
}

func TestQueryTimeoutTooNarrow(t *testing.T) {
	h := newHarness(t, 200, 0, 0, salesforcesim.Config{TimeoutAbove: 1}, time.Second)
	h.sim.Modify("00Q000000000001", "00Q000000000002") // two rows with stamps in the same second
	_, err := h.sync(t.Context())
	if !errors.Is(err, salesforce.ErrQueryTimeout) {
		t.Fatalf("err = %v, want QUERY_TIMEOUT once the window cannot narrow further", err)
	}
}

func TestCrashResume(t *testing.T) {
	h := newHarness(t, 5000, 2000, 0, salesforcesim.Config{PageSize: 500}, 5*time.Second)
	h.wh.FailAfter = 4
	if _, err := h.sync(t.Context()); !errors.Is(err, memwh.ErrCrash) {
		t.Fatalf("sync error = %v, want the simulated crash", err)
	}
	h.wh.SetFailAfter(0)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.verify(t)

	h2 := newHarness(t, 5000, 2000, 0, salesforcesim.Config{PageSize: 500}, 5*time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	h2.wh.OnLoad = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	if _, err := h2.sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("sync error = %v, want context.Canceled", err)
	}
	h2.wh.OnLoad = nil
	if _, err := h2.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	h2.verify(t)
}

func TestBadTokenNotLogged(t *testing.T) {
	sim := salesforcesim.New(salesforcesim.Config{})
	defer sim.Close()
	cl := salesforce.NewClient(sim.URL, "v59.0", "s3cr3t-token", salesforce.ClientOptions{})
	_, err := cl.QueryAll(t.Context(), "SELECT Id FROM Lead WHERE SystemModstamp >= 2024-01-01T00:00:00Z AND SystemModstamp < 2024-01-02T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_SESSION_ID" {
		t.Fatalf("err = %v, want INVALID_SESSION_ID", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the token", err)
	}
}

// clientCredentials makes a harness log in with the client credentials
// flow instead of a ready access token.
func clientCredentials(key, secret string) func(*salesforce.Options) {
	return func(o *salesforce.Options) {
		o.AccessToken, o.ConsumerKey, o.ConsumerSecret = "", key, option.Secret(secret)
	}
}

// An access token lasts the session timeout (2 hours by default), so a
// daily job with a fixed token stopped on its second day. With a consumer
// key and secret the source logs in itself, and logs in again when the
// session ends mid-sync.
func TestClientCredentialsLogInAgainWhenTheSessionEnds(t *testing.T) {
	h := newHarnessWith(t, 3000, 1000, 0,
		salesforcesim.Config{ConsumerKey: "sam-key", ConsumerSecret: "sam-secret", SessionRequests: 7, PageSize: 500},
		5*time.Second, clientCredentials("sam-key", "sam-secret"))
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.verify(t)
	if n := h.sim.TokensIssued(); n < 2 {
		t.Fatalf("tokens issued %d: want a new session after the first one ended", n)
	}
}

// A wrong consumer secret stops the sync before any API request, with the
// OAuth error and without the secret.
func TestClientCredentialsRefusedSaysWhy(t *testing.T) {
	h := newHarnessWith(t, 10, 0, 0, salesforcesim.Config{ConsumerKey: "sam-key", ConsumerSecret: "sam-secret"},
		5*time.Second, clientCredentials("sam-key", "wr0ng-s3cret"))
	_, err := h.sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	if strings.Contains(err.Error(), "wr0ng-s3cret") {
		t.Errorf("error %q shows the secret", err)
	}
	if n := h.sim.Requests(); n != 0 {
		t.Errorf("%d API requests after the login failed", n)
	}
}

// A session refused on its first request is not renewed in a loop: the
// app cannot use the REST API, and a new session will not change that.
func TestClientCredentialsSessionTheAPIRefusesStops(t *testing.T) {
	h := newHarnessWith(t, 10, 0, 0, salesforcesim.Config{ConsumerKey: "k", ConsumerSecret: "s", RESTRefused: true},
		5*time.Second, clientCredentials("k", "s"))
	_, err := h.sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "not valid for use with the REST API") {
		t.Fatalf("err = %v, want the REST API's refusal", err)
	}
	if n := h.sim.TokensIssued(); n != 1 {
		t.Errorf("tokens issued %d, want 1", n)
	}
}

// TestMapping checks how each object's fields land in the raw tables.
func TestMapping(t *testing.T) {
	h := newHarness(t, 6, 2, 0, salesforcesim.Config{}, 5*time.Second)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	type check struct {
		table, idCol, id string
		want             map[string]any
	}
	for _, c := range []check{
		{record.LeadsTable, "lead_id", "00Q000000000001", map[string]any{"record_type": "lead", "lifecycle_stage": "opportunity",
			"converted_contact_id": "003000000000001", "converted_deal_id": "006000000000001", "ga_client_id": "GA1.1.500001.1700000001",
			"source_system": "salesforce", "analytics_source": "Web"}},
		{record.LeadsTable, "lead_id", "00Q000000000005", map[string]any{"lifecycle_stage": "lead", "gclid": "gclid-sf-5", "converted_contact_id": nil}},
		{record.LeadsTable, "lead_id", "003000000000002", map[string]any{"record_type": "contact", "last_name": "L2 v1"}},
		{record.DealsTable, "deal_id", "006000000000001", map[string]any{"stage": "Closed Won", "amount": "2001.5", "currency": "EUR",
			"is_won": true, "is_lost": false, "is_deleted": false}},
		{record.DealsTable, "deal_id", "006000000000002", map[string]any{"stage": "Closed Lost", "is_won": false, "is_lost": true}},
		{record.DealContactsTable, "association_id", "00K000000000001", map[string]any{"deal_id": "006000000000001",
			"lead_id": "003000000000001", "is_primary": true, "is_snapshot": false}},
		{record.StageHistoryTable, "history_id", "008000000000002", map[string]any{"object_type": "deal", "record_id": "006000000000001",
			"stage": "opportunity", "stage_raw": "Prospecting"}},
		{record.StageHistoryTable, "history_id", "008000000000003", map[string]any{"stage": "won", "stage_raw": "Closed Won"}},
	} {
		row, ok := h.wh.Latest(c.table, c.idCol)[c.id]
		if !ok {
			t.Errorf("%s %s not loaded", c.table, c.id)
			continue
		}
		for col, want := range c.want {
			if got := row.Get(col); got != want {
				t.Errorf("%s %s: %s = %v, want %v", c.table, c.id, col, got, want)
			}
		}
	}
	// A converted lead's SQL stage is its conversion; its opportunity
	// stage is the converted opportunity's creation, which the deal row
	// carries (stg_crm__deals links it by converted_deal_id).
	converted := h.wh.Latest(record.LeadsTable, "lead_id")["00Q000000000001"]
	if converted.Get("sql_at") == nil || converted.Get("opportunity_at") != nil || converted.Get("converted_deal_id") == nil {
		t.Errorf("converted lead: sql_at %v, opportunity_at %v, converted_deal_id %v; want the conversion, none, and the deal",
			converted.Get("sql_at"), converted.Get("opportunity_at"), converted.Get("converted_deal_id"))
	}
}

// A login that meets a 5xx is tried again within the request's own
// retries, once each: a session is issued on the next attempt.
func TestClientCredentialsLoginRetriesAServerError(t *testing.T) {
	var posts atomic.Int32
	h := newHarnessWith(t, 50, 0, 0, salesforcesim.Config{ConsumerKey: "k", ConsumerSecret: "s"}, 5*time.Second,
		func(o *salesforce.Options) {
			clientCredentials("k", "s")(o)
			next := o.HTTPClient.Transport
			if next == nil {
				next = http.DefaultTransport
			}
			o.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPost && posts.Add(1) == 1 {
					return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
				}
				return next.RoundTrip(r)
			})
		})
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("%d token requests, want 2 (one refused by a 503, one answered)", n)
	}
	if n := h.sim.TokensIssued(); n != 1 {
		t.Errorf("%d sessions issued, want 1", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// convertedLead syncs one converted Lead answered by a stub and returns its
// loaded row.
func convertedLead(t *testing.T, created, modified, convertedDate string) map[string]any {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(r.URL.RawQuery, "FROM+Lead") {
			io.WriteString(w, `{"totalSize":0,"done":true,"records":[]}`)
			return
		}
		fmt.Fprintf(w, `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Lead"},
 "Id":"00Q000000000001AAA","CreatedDate":%q,"SystemModstamp":%q,"LastModifiedDate":%q,"IsDeleted":false,
 "Status":"Closed - Converted","IsConverted":true,"ConvertedDate":%q,"ConvertedContactId":"003000000000001AAA",
 "ConvertedOpportunityId":"006000000000001AAA"}]}`, created, modified, modified, convertedDate)
	}))
	defer srv.Close()
	src, err := salesforce.NewSource(salesforce.Options{InstanceURL: srv.URL, AccessToken: option.Secret("t"),
		APIVersion: "v59.0", RequestsPerWindow: 100, DefaultCurrency: "USD",
		Now: func() time.Time { return time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	wh := memwh.New()
	if _, err := crm.Sync(t.Context(), wh, src, crm.Options{Cursors: memwh.NewCursors(), Streams: []string{"Lead"}}); err != nil {
		t.Fatal(err)
	}
	row := wh.Latest(record.LeadsTable, "lead_id")["00Q000000000001AAA"]
	return map[string]any{"created_at": row.Get("created_at"), "sql_at": row.Get("sql_at"), "opportunity_at": row.Get("opportunity_at")}
}

// ConvertedDate is a date without a time ("ConvertedDate doesn't include
// the time", Change Data Capture developer guide, lead conversion). Before,
// a Lead created at 22:30 UTC and converted that day was SQL and
// opportunity at midnight, 22.5 hours before it existed. A converted Lead
// is locked, so its last modification on the conversion day is the
// conversion; the opportunity's own creation time is the opportunity stage
// (the deals and their history give it).
func TestConvertedLeadStagesNeverPrecedeItsCreation(t *testing.T) {
	got := convertedLead(t, "2024-05-01T22:30:00.000+0000", "2024-05-01T23:05:00.000+0000", "2024-05-01")
	if want := time.Date(2024, 5, 1, 23, 5, 0, 0, time.UTC); !want.Equal(got["sql_at"].(time.Time)) {
		t.Errorf("sql_at %v, want the conversion's modification %v", got["sql_at"], want)
	}
	if got["opportunity_at"] != nil {
		t.Errorf("opportunity_at %v from a date, want it left to the opportunity", got["opportunity_at"])
	}
	// Modified long after the conversion (a system update): the day, but
	// never before the Lead was created.
	got = convertedLead(t, "2024-05-01T22:30:00.000+0000", "2024-05-08T10:00:00.000+0000", "2024-05-01")
	if want := time.Date(2024, 5, 1, 22, 30, 0, 0, time.UTC); !want.Equal(got["sql_at"].(time.Time)) {
		t.Errorf("sql_at %v, want the creation %v: the conversion day began before it", got["sql_at"], want)
	}
}

// TestPurgedDeletionsAreLoaded: a Lead and an Opportunity deleted and
// emptied from the Recycle Bin between two syncs never come back from
// queryAll, so they stayed live in SAM, the Opportunity's revenue counted.
// The delete log, read through sObject Get Deleted, still lists them.
func TestPurgedDeletionsAreLoaded(t *testing.T) {
	// Get Deleted ignores seconds, so a deletion is read once its minute
	// has passed: the loader's clock runs two minutes ahead.
	h := newHarnessWith(t, 30, 10, 0, salesforcesim.Config{}, 5*time.Second, func(o *salesforce.Options) {
		o.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	})
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	lead, opp := "00Q000000000020", "006000000000003"
	h.sim.Purge(lead, opp)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.wh.Latest(record.LeadsTable, "lead_id")[lead].Get("is_deleted"); got != true {
		t.Errorf("purged Lead %s: is_deleted %v, want true", lead, got)
	}
	if got := h.wh.Latest(record.DealsTable, "deal_id")[opp].Get("is_deleted"); got != true {
		t.Errorf("purged Opportunity %s: is_deleted %v, want true", opp, got)
	}
	h.verify(t)
}

// TestDeletionsNarrowTheWindowPastTheIDLimit: Get Deleted fails a window
// holding more ids than it returns (EXCEEDED_ID_LIMIT); the stream halves
// the window until each part fits, and reads every deletion.
func TestDeletionsNarrowTheWindowPastTheIDLimit(t *testing.T) {
	h := newHarness(t, 30, 10, 0, salesforcesim.Config{MaxDeletedIDs: 2}, 5*time.Second)
	if err := h.syncStreams(t, "Lead"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var purged []string
	for i, ago := range []time.Duration{13 * 24 * time.Hour, 9 * 24 * time.Hour, 5 * 24 * time.Hour, 2 * time.Hour, 30 * time.Minute} {
		id := fmt.Sprintf("00Q%012d", i+1)
		h.sim.PurgeAt(now.Add(-ago), id)
		purged = append(purged, id)
	}
	if err := h.syncStreams(t, "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	leads := h.wh.Latest(record.LeadsTable, "lead_id")
	for _, id := range purged {
		if got := leads[id].Get("is_deleted"); got != true {
			t.Errorf("Lead %s deleted and purged: is_deleted %v, want true", id, got)
		}
	}
}

// TestDeletionsTheLogNoLongerHoldsAreReported: when Salesforce has purged
// its delete log past the window (INVALID_REPLICATION_DATE), the lost
// deletions cannot be read; the sync says so at ERROR and goes on, and
// later deletions are still read.
func TestDeletionsTheLogNoLongerHoldsAreReported(t *testing.T) {
	var logs strings.Builder
	h := newHarnessWith(t, 30, 10, 0, salesforcesim.Config{}, 5*time.Second, func(o *salesforce.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
		o.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	})
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	h.sim.TrimDeleteLog(time.Now().Add(-time.Minute))
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatalf("a delete log purged past the window stopped the sync: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "delete log no longer covers") {
		t.Errorf("the lost window was not reported at ERROR; log:\n%s", logs.String())
	}
	h.sim.Purge("00Q000000000004")
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	if got := h.wh.Latest(record.LeadsTable, "lead_id")["00Q000000000004"].Get("is_deleted"); got != true {
		t.Errorf("a Lead purged after the log's purge: is_deleted %v, want true", got)
	}
}

// TestDeletionsPastTheLogsReachAreReported: a sync 20 days after the last
// cannot read the first days' deletions (the log reaches back 15); it says
// so at ERROR and reads the rest.
func TestDeletionsPastTheLogsReachAreReported(t *testing.T) {
	var logs strings.Builder
	h := newHarnessWith(t, 30, 10, 0, salesforcesim.Config{}, 5*time.Second, func(o *salesforce.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	last := time.Now().UTC().Add(-20 * 24 * time.Hour).Format(time.RFC3339)
	if err := h.cursors.Save(t.Context(), "salesforce", "Lead_deleted", `{"since":"`+last+`"}`); err != nil {
		t.Fatal(err)
	}
	h.sim.PurgeAt(time.Now().Add(-3*24*time.Hour), "00Q000000000007")
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "older than the delete log's 15 days") {
		t.Errorf("the unreadable days were not reported at ERROR; log:\n%s", logs.String())
	}
	if got := h.wh.Latest(record.LeadsTable, "lead_id")["00Q000000000007"].Get("is_deleted"); got != true {
		t.Errorf("a Lead purged 3 days ago: is_deleted %v, want true", got)
	}
}

// deletedHarness is a harness whose clock runs two minutes ahead (Get
// Deleted ignores seconds), logging at ERROR into logs.
func deletedHarness(t *testing.T, logs *strings.Builder, set func(*salesforce.Options)) *harness {
	t.Helper()
	return newHarnessWith(t, 30, 10, 0, salesforcesim.Config{}, 5*time.Second, func(o *salesforce.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
		o.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		if set != nil {
			set(o)
		}
	})
}

func (h *harness) leadDeleted(id string) any {
	return h.wh.Latest(record.LeadsTable, "lead_id")[id].Get("is_deleted")
}

// TestDeletionsResumeAtLatestDateCovered: Get Deleted leaves out the
// deletions still under way at the window's end and says so with
// latestDateCovered, where the next window must start (GetDeletedResult,
// SOAP API Developer Guide); it can lag for hours. The cursor moved to the
// window's end, and such a deletion was never read.
func TestDeletionsResumeAtLatestDateCovered(t *testing.T) {
	var logs strings.Builder
	h := deletedHarness(t, &logs, nil)
	h.sim.SetDeleteLog(salesforcesim.DeleteLog{CoverLag: 3 * time.Hour})
	h.sim.PurgeAt(time.Now().Add(-time.Hour), "00Q000000000006")
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	h.sim.SetDeleteLog(salesforcesim.DeleteLog{})
	if err := h.syncStreams(t, "Lead", "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	if got := h.leadDeleted("00Q000000000006"); got != true {
		t.Errorf("a Lead deleted after latestDateCovered: is_deleted %v, want true", got)
	}
}

// TestDeletionsRefusedWholeAreReadLater: a refusal of even the window's
// last minutes is no purge of the log (the purge takes entries over two
// hours old); the window is read again on the next run, not skipped.
func TestDeletionsRefusedWholeAreReadLater(t *testing.T) {
	var logs strings.Builder
	start, ahead := time.Now(), 2*time.Minute // the loader's clock, moved by the test
	h := deletedHarness(t, &logs, func(o *salesforce.Options) {
		o.Now = func() time.Time { return time.Now().Add(ahead) }
	})
	if err := h.syncStreams(t, "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	// An hour on, a Lead deleted 20 minutes after the last read, further
	// back than the 10-minute overlap reaches from the next one.
	ahead = time.Hour + 2*time.Minute
	h.sim.PurgeAt(start.Add(20*time.Minute), "00Q000000000006")
	h.sim.SetDeleteLog(salesforcesim.DeleteLog{Refuse: true})
	if err := h.syncStreams(t, "Lead_deleted"); err != nil {
		t.Fatalf("a refused window stopped the sync: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the refusal was not reported at ERROR; log:\n%s", logs.String())
	}
	ahead = time.Hour + 5*time.Minute
	h.sim.SetDeleteLog(salesforcesim.DeleteLog{})
	if err := h.syncStreams(t, "Lead_deleted"); err != nil {
		t.Fatal(err)
	}
	if got := h.leadDeleted("00Q000000000006"); got != true {
		t.Errorf("a Lead deleted in the refused window: is_deleted %v, want true", got)
	}
}

// TestDeletionsWithALongOverlapReportNothingLost: an overlap longer than
// the log's reach loses nothing when the last read was recent; it logged
// an ERROR on every run.
func TestDeletionsWithALongOverlapReportNothingLost(t *testing.T) {
	var logs strings.Builder
	h := deletedHarness(t, &logs, func(o *salesforce.Options) { o.Overlap = 20 * 24 * time.Hour })
	for range 2 {
		if err := h.syncStreams(t, "Lead_deleted"); err != nil {
			t.Fatal(err)
		}
	}
	if logs.Len() > 0 {
		t.Errorf("a recent read with a 20-day overlap logged:\n%s", logs.String())
	}
}

// TestDeletionsPastTheIDLimitInOneMinuteAreReported: more deletions in one
// minute than Get Deleted returns cannot be narrowed further; the sync
// reports the minute it cannot read at ERROR and goes on, instead of
// failing the stream on every run.
func TestDeletionsPastTheIDLimitInOneMinuteAreReported(t *testing.T) {
	var logs strings.Builder
	h := newHarnessWith(t, 30, 10, 0, salesforcesim.Config{MaxDeletedIDs: 1}, 5*time.Second, func(o *salesforce.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Minute).Add(10 * time.Second)
	h.sim.PurgeAt(at, "00Q000000000006", "00Q000000000007")
	h.sim.PurgeAt(time.Now().Add(-time.Hour), "00Q000000000008")
	if err := h.syncStreams(t, "Lead_deleted"); err != nil {
		t.Fatalf("an id limit it cannot narrow stopped the sync: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "EXCEEDED_ID_LIMIT") {
		t.Errorf("the unreadable minute was not reported at ERROR; log:\n%s", logs.String())
	}
	if got := h.leadDeleted("00Q000000000008"); got != true {
		t.Errorf("a Lead deleted outside the crowded minute: is_deleted %v, want true", got)
	}
}
