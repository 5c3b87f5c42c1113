package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// Short windows keep the tests fast; the limits are the same shape as
// production's (a general rolling window and a tighter search one).
const (
	testPerWindow    = 40
	testWindow       = 100 * time.Millisecond
	testSearchPer    = 10
	testSearchWindow = 25 * time.Millisecond
	testPage         = 200
)

// TestMain trades memory for time: the in-memory warehouse holds every
// loaded row, which makes a default-tuned GC rescan a large heap.
func TestMain(m *testing.M) {
	debug.SetGCPercent(400)
	os.Exit(m.Run())
}

func newSim(t testing.TB, f hubspotsim.Faults) *hubspotsim.Server {
	t.Helper()
	s := hubspotsim.New(hubspotsim.Config{
		RequestsPerWindow: testPerWindow, Window: testWindow,
		SearchPerWindow: testSearchPer, SearchWindow: testSearchWindow,
		MaxPageSize: testPage, RetryAfter: 5 * time.Millisecond, Faults: f, Seed: 1,
	})
	t.Cleanup(s.Close)
	return s
}

// newSource returns a source reading sim at the test limits; mod, when
// given, sets further options (the properties a test reads).
func newSource(t testing.TB, sim *hubspotsim.Server, timeout time.Duration, mod ...func(*hubspot.Options)) *hubspot.Source {
	t.Helper()
	cfg := hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL, ClientIDProperty: "ga_client_id",
		GclidProperty: "gclid", RequestsPerWindow: testPerWindow, SearchPerWindow: testSearchPer,
		Overlap: 10 * time.Minute, BatchSize: 2000,
		HTTPClient: &http.Client{Timeout: timeout}, Window: testWindow, SearchWindow: testSearchWindow, PageSize: testPage,
		Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20},
	}
	for _, m := range mod {
		m(&cfg)
	}
	src, err := hubspot.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

type harness struct {
	sim     *hubspotsim.Server
	src     *hubspot.Source
	wh      *memwh.WH
	cursors *memwh.Cursors
}

func newHarness(t testing.TB, contacts, deals, badEvery int, f hubspotsim.Faults, timeout time.Duration) *harness {
	sim := newSim(t, f)
	sim.Seed(contacts, deals, badEvery)
	return &harness{sim: sim, src: newSource(t, sim, timeout), wh: memwh.New(), cursors: memwh.NewCursors()}
}

func (h *harness) sync(ctx context.Context) (loaders.Counts, error) {
	return crm.Sync(ctx, h.wh, h.src, crm.Options{RunID: "test", Cursors: h.cursors, Links: memwh.Links{W: h.wh}})
}

// verify checks that the latest version of every loaded record is the
// server's final state: same ids, versions, deletions and associations.
func (h *harness) verify(t *testing.T) {
	t.Helper()
	if n := h.sim.Exceeded(); n != 0 {
		t.Errorf("simulator saw the rate limit exceeded %d times", n)
	}
	rejected := map[string]bool{}
	if rt := h.wh.Table(loaders.RejectsTable); rt != nil {
		for _, r := range rt.Rows {
			var o struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(r[4].(string)), &o); err != nil {
				t.Fatalf("reject raw is not the record's JSON: %v", err)
			}
			rejected[r[2].(string)+"/"+o.ID] = true
		}
	}
	check := func(object, table, idCol, markerCol string, want map[string]hubspotsim.Final) {
		got := h.wh.Latest(table, idCol)
		var missing, wrong, extra int
		for id, f := range want {
			g, ok := got[id]
			if f.Bad {
				if ok {
					t.Errorf("%s %s has bad data but was loaded", object, id)
				}
				if !rejected[object+"/"+id] {
					t.Errorf("%s %s has bad data but is not in load_rejects", object, id)
				}
				continue
			}
			if !ok {
				missing++
				if missing <= 3 {
					t.Errorf("%s %s missing", object, id)
				}
				continue
			}
			var marker any = f.Marker
			if f.Marker == "" {
				marker = nil // merged away: a version with no fields
			}
			if !g.Get("modified_at").(time.Time).Equal(f.Modified) || g.Get("is_deleted") != f.Deleted || g.Get(markerCol) != marker {
				wrong++
				if wrong <= 3 {
					t.Errorf("%s %s: got (%v, deleted=%v, %v), want (%v, deleted=%v, %v)", object, id,
						g.Get("modified_at"), g.Get("is_deleted"), g.Get(markerCol), f.Modified, f.Deleted, f.Marker)
				}
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				extra++
			}
		}
		if missing+wrong+extra > 0 {
			t.Errorf("%s: %d missing, %d stale, %d unknown of %d", object, missing, wrong, extra, len(want))
		}
	}
	check("contacts", record.LeadsTable, "lead_id", "company", h.sim.Contacts())
	check("deals", record.DealsTable, "deal_id", "amount", h.sim.Deals())

	// Associations: the snapshot stored with each live deal's latest version.
	deals := h.wh.Latest(record.DealsTable, "deal_id")
	snap := map[string][]string{}
	if tb := h.wh.Table(record.DealContactsTable); tb != nil {
		for _, r := range tb.Rows {
			deal := r[2].(string)
			if d, ok := deals[deal]; ok && r[8].(time.Time).Equal(d.Get("modified_at").(time.Time)) && r[9].(time.Time).Equal(d.Get("loaded_at").(time.Time)) &&
				!slices.Contains(snap[deal], r[3].(string)) {
				snap[deal] = append(snap[deal], r[3].(string))
			}
		}
	}
	want := h.sim.DealContacts()
	for id, d := range deals {
		if d.Get("is_deleted") == true {
			continue
		}
		w, g := want[id], snap[id]
		slices.SortFunc(w, numeric)
		slices.SortFunc(g, numeric)
		if !slices.Equal(w, g) {
			t.Errorf("deal %s contacts = %v, want %v", id, g, w)
			break
		}
		if len(w) > 0 && d.Get("lead_id") != w[0] {
			t.Errorf("deal %s lead_id = %v, want %v", id, d.Get("lead_id"), w[0])
			break
		}
	}
}

func numeric(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return int(x - y)
}

func checkCounts(t *testing.T, c loaders.Counts) {
	t.Helper()
	if c.Read != c.Loaded+c.Rejected {
		t.Errorf("counts: read %d != loaded %d + rejected %d", c.Read, c.Loaded, c.Rejected)
	}
}

// TestFullSync50k loads 50k contacts and 20k deals in one sync and checks
// every record, each exactly once, with rejects for the bad ones.
func TestFullSync50k(t *testing.T) {
	contacts, deals := 50000, 20000
	if testing.Short() {
		contacts, deals = 5000, 2000
	}
	h := newHarness(t, contacts, deals, 997, hubspotsim.Faults{}, 5*time.Second)
	start := time.Now()
	c, err := h.sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full sync: %d records in %s, %d requests", c.Read, time.Since(start), h.sim.Requests())
	checkCounts(t, c)
	h.verify(t)
	leads := h.wh.Table(record.LeadsTable)
	if bad := contacts / 997; leads.Count != int64(contacts-bad) {
		t.Errorf("raw_crm__leads has %d rows, want %d (each good contact once)", leads.Count, contacts-bad)
	}
	if want := int64(contacts/997 + deals/997); c.Rejected != want {
		t.Errorf("rejected %d, want %d", c.Rejected, want)
	}
	// A second sync with nothing changed re-reads only the overlap window.
	before := h.wh.Table(record.LeadsTable).Count
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := h.wh.Table(record.LeadsTable).Count; after != before {
		t.Errorf("idle incremental sync added %d contact rows", after-before)
	}
}

// fullScale runs every fault mode at the 50k contacts and 20k deals
// (make bench sets it); by default they run smaller to keep make test quick.
func fullScale() bool { return os.Getenv("SAM_CRM_FULL_SCALE") == "1" }

func TestFaultModes(t *testing.T) {
	// A hung request costs the client its whole timeout, so hangs are rare
	// and the timeout well above an honest response's time on a busy machine.
	mixed := hubspotsim.Faults{StormFrom: 20, StormLen: 8, Every5xx: 13, EverySlow: 17, SlowDelay: 10 * time.Millisecond,
		EveryHang: 61, HangDelay: time.Minute, EveryTruncate: 11, EveryDuplicate: 5,
		EveryMutate: 9, MutateCount: 4, EveryArchive: 19, ArchiveCount: 2}
	cases := []struct {
		name            string
		faults          hubspotsim.Faults
		contacts, deals int
		mutates         bool
	}{
		{"429 storm", hubspotsim.Faults{StormFrom: 3, StormLen: 12}, 5000, 2000, false},
		{"5xx", hubspotsim.Faults{Every5xx: 4}, 5000, 2000, false},
		{"slow", hubspotsim.Faults{EverySlow: 3, SlowDelay: 20 * time.Millisecond}, 5000, 2000, false},
		{"timeouts", hubspotsim.Faults{EveryHang: 20, HangDelay: time.Minute}, 5000, 2000, false},
		{"truncated JSON", hubspotsim.Faults{EveryTruncate: 3}, 5000, 2000, false},
		{"duplicates across pages", hubspotsim.Faults{EveryDuplicate: 2}, 5000, 2000, false},
		{"changes mid-sync", hubspotsim.Faults{EveryMutate: 3, MutateCount: 10}, 5000, 2000, true},
		{"deletions mid-sync", hubspotsim.Faults{EveryArchive: 3, ArchiveCount: 5}, 5000, 2000, true},
		{"mixed", mixed, 20000, 8000, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() {
				tc.contacts, tc.deals = min(tc.contacts, 5000), min(tc.deals, 2000)
			}
			if fullScale() {
				tc.contacts, tc.deals = 50000, 20000
			}
			timeout := 5 * time.Second
			if tc.faults.EveryHang > 0 {
				timeout = time.Second
			}
			h := newHarness(t, tc.contacts, tc.deals, 0, tc.faults, timeout)
			c, err := h.sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, c)
			if tc.mutates {
				// Records changed during the sync are caught by the next
				// one (their new modification time is after its start).
				h.sim.SetFaults(hubspotsim.Faults{})
				if _, err := h.sync(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			h.verify(t)
		})
	}
}

// TestCrashResume aborts syncs mid-way (a failing load, a cancelled
// context) and checks that resuming converges on the same result.
func TestCrashResume(t *testing.T) {
	t.Run("load fails after 5 batches", func(t *testing.T) {
		h := newHarness(t, 10000, 4000, 0, hubspotsim.Faults{}, 5*time.Second)
		h.wh.FailAfter = 5
		if _, err := h.sync(t.Context()); !errors.Is(err, memwh.ErrCrash) {
			t.Fatalf("sync error = %v, want the simulated crash", err)
		}
		h.wh.SetFailAfter(0)
		if _, err := h.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.verify(t)
		// Resuming re-read at most the batch that was in flight.
		if n, max := h.wh.Table(record.LeadsTable).Count, int64(10000+2000); n > max {
			t.Errorf("raw_crm__leads has %d rows after resume, want at most %d", n, max)
		}
	})
	t.Run("context cancelled after 3 loads", func(t *testing.T) {
		h := newHarness(t, 10000, 4000, 0, hubspotsim.Faults{}, 5*time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		h.wh.OnLoad = func(n int) {
			if n == 3 {
				cancel()
			}
		}
		if _, err := h.sync(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("sync error = %v, want context.Canceled", err)
		}
		h.wh.OnLoad = nil
		if _, err := h.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.verify(t)
	})
}

// TestIncremental25k modifies 25k contacts after a full sync: the next sync
// must load all of them although one search query pages through 10,000
// results at most.
func TestIncremental25k(t *testing.T) {
	h := newHarness(t, 26000, 0, 0, hubspotsim.Faults{}, 5*time.Second)
	h.src = newSourceObjects(t, h.sim, "contacts", "deals") // the search count below is theirs
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for id := int64(1); id <= 25000; id++ {
		ids = append(ids, id)
	}
	h.sim.Modify(ids, nil)
	searches := h.sim.Searches()
	c, err := h.sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.verify(t)
	if c.Loaded < 25000 || c.Loaded > 25000+testPage {
		t.Errorf("incremental sync loaded %d contacts, want the 25000 modified", c.Loaded)
	}
	// 25,000 / 200 pages, plus the empty deals sweep and the final page.
	if n := h.sim.Searches() - searches; n > 25000/testPage+3 {
		t.Errorf("incremental sync made %d searches; it re-read more than the modified records", n)
	}
	if h.sim.CapErrors() != 0 {
		t.Errorf("client paged past the search cap %d times", h.sim.CapErrors())
	}

	// The cap is real: an offset past 10,000 is refused.
	cl := hubspot.NewClient(h.sim.URL, h.sim.Token(), hubspot.ClientOptions{Window: testWindow, RequestsPerWindow: testPerWindow,
		SearchWindow: testSearchWindow, SearchPerWindow: testSearchPer})
	_, err = cl.Search(t.Context(), "contacts", hubspot.SearchRequest{Limit: testPage, After: strconv.Itoa(10000 - testPage/2)})
	var ae *hubspot.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("search past the cap: err = %v, want HTTP 400", err)
	}
}

func TestBadToken(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	sim.Seed(10, 0, 0)
	cl := hubspot.NewClient(sim.URL, "wrong", hubspot.ClientOptions{Window: testWindow, SearchWindow: testSearchWindow})
	_, err := cl.Search(t.Context(), "contacts", hubspot.SearchRequest{Limit: 10})
	if !hubspot.IsAuthError(err) {
		t.Fatalf("err = %v, want an auth error", err)
	}
	if got := err.Error(); slices.Contains([]string{"wrong"}, got) || containsToken(got, "wrong") {
		t.Errorf("error %q shows the token", got)
	}
}

func containsToken(s, tok string) bool {
	for i := 0; i+len(tok) <= len(s); i++ {
		if s[i:i+len(tok)] == tok {
			return true
		}
	}
	return false
}

// TestMapping checks one contact's and one deal's fields as staging reads them.
func TestMapping(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	sim.Seed(8, 4, 0)
	cfg := hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL, ClientIDProperty: "ga_client_id",
		GclidProperty: "gclid", RequestsPerWindow: testPerWindow, SearchPerWindow: testSearchPer,
		Overlap: 10 * time.Minute, BatchSize: 100,
		Window: testWindow, SearchWindow: testSearchWindow, UserIDProperty: "site_user_id"}
	src, err := hubspot.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wh := memwh.New()
	if _, err := crm.Sync(t.Context(), wh, src, crm.Options{Cursors: memwh.NewCursors(), Links: memwh.Links{W: wh}}); err != nil {
		t.Fatal(err)
	}
	c := wh.Latest(record.LeadsTable, "lead_id")["8"] // lifecycle stage marketingqualifiedlead (8 % 6)
	checks := map[string]any{
		"source_system": "hubspot", "record_type": "contact", "email": " User8@Example.COM ", "ga_client_id": "GA1.1.100008.1700000008",
		"user_id": "u-8", "lifecycle_stage": "mql", "analytics_source": "ORGANIC_SEARCH", "gclid": nil, "is_deleted": false,
	}
	for col, want := range checks {
		if got := c.Get(col); got != want {
			t.Errorf("contact 8 %s = %v, want %v", col, got, want)
		}
	}
	if c.Get("mql_at") == nil || c.Get("created_at") == nil {
		t.Errorf("contact 8 stage dates: mql_at %v created_at %v", c.Get("mql_at"), c.Get("created_at"))
	}
	d := wh.Latest(record.DealsTable, "deal_id")["1"] // stage closedwon (id 1 % 3)
	dchecks := map[string]any{"amount": "1001.01", "currency": "EUR", "is_won": true, "is_lost": false, "stage": "closedwon", "pipeline": "default"}
	for col, want := range dchecks {
		if got := d.Get(col); got != want {
			t.Errorf("deal 1 %s = %v, want %v", col, got, want)
		}
	}
	if d.Get("closed_at") == nil {
		t.Error("won deal 1 has no closed_at")
	}
	if open := wh.Latest(record.DealsTable, "deal_id")["3"]; open.Get("closed_at") != nil || open.Get("is_won") != false || open.Get("is_lost") != false {
		t.Errorf("open deal 3: closed_at %v won %v lost %v", open.Get("closed_at"), open.Get("is_won"), open.Get("is_lost"))
	}
}

// TestLinksWindow: a links stream re-reads the associations of the records
// created within LinkWindow only; older records keep the links loaded.
// (Seed creates every deal about 30 days ago.)
func TestLinksWindow(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	sim.Seed(20, 6, 0)
	wh, cursors := memwh.New(), memwh.NewCursors()
	links := memwh.Links{W: wh}
	sync := func(window time.Duration) {
		t.Helper()
		src, err := hubspot.NewSource(hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL,
			ClientIDProperty: "ga_client_id", GclidProperty: "gclid", RequestsPerWindow: testPerWindow, SearchPerWindow: testSearchPer,
			Objects: []string{"contacts", "deals"}, LinkWindow: window, Window: testWindow, SearchWindow: testSearchWindow})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crm.Sync(t.Context(), wh, src, crm.Options{Cursors: cursors, Links: links}); err != nil {
			t.Fatal(err)
		}
	}
	dealLeads := func() []string {
		t.Helper()
		loaded, err := links.Loaded(t.Context(), "hubspot", record.LinkedDeals)
		if err != nil {
			t.Fatal(err)
		}
		return loaded["5"]
	}
	sync(0)
	sim.SetAssociations("deals", 5, "contacts", []int64{3})
	sync(10 * 24 * time.Hour)
	if got := dealLeads(); slices.Equal(got, []string{"3"}) {
		t.Errorf("deal 5, created 30 days ago, had its links re-read in a 10-day window: %v", got)
	}
	sync(40 * 24 * time.Hour)
	if got := dealLeads(); !slices.Equal(got, []string{"3"}) {
		t.Errorf("deal 5's leads after a 40-day window = %v, want [3]", got)
	}
}

// TestMergedRecordsAreDeleted: a merge makes a new record with a new id,
// and HubSpot flags neither original as archived; they only disappear, and
// the new record lists them in hs_merged_object_ids. SAM kept the
// originals as live leads (a person counted twice, with the new record
// three times) and live deals (their revenue twice).
func TestMergedRecordsAreDeleted(t *testing.T) {
	h := newHarness(t, 40, 12, 0, hubspotsim.Faults{}, 5*time.Second)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := h.sim.Merge("contacts", 2, 3)
	person := h.sim.Merge("contacts", first, 9) // merged twice: it lists all three
	deal := h.sim.Merge("deals", 4, 5)
	if person == 0 || deal == 0 {
		t.Fatal("the simulator merged nothing")
	}
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	leads := h.wh.Latest(record.LeadsTable, "lead_id")
	for _, id := range []int64{2, 3, 9, first} {
		if got := leads[strconv.FormatInt(id, 10)].Get("is_deleted"); got != true {
			t.Errorf("contact %d, merged away: is_deleted %v, want true", id, got)
		}
	}
	if got := leads[strconv.FormatInt(person, 10)].Get("is_deleted"); got != false {
		t.Errorf("contact %d, the merged record: is_deleted %v, want false", person, got)
	}
	deals := h.wh.Latest(record.DealsTable, "deal_id")
	for _, id := range []string{"4", "5"} {
		if got := deals[id].Get("is_deleted"); got != true {
			t.Errorf("deal %s, merged away: is_deleted %v, want true", id, got)
		}
	}
	h.verify(t)
}
