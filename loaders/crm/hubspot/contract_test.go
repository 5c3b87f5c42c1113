package hubspot_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

func newHarnessCfg(t *testing.T, cfg hubspotsim.Config, contacts, deals int) *harness {
	t.Helper()
	cfg.RequestsPerWindow, cfg.Window, cfg.SearchPerWindow, cfg.SearchWindow = testPerWindow, testWindow, testSearchPer, testSearchWindow
	cfg.RetryAfter, cfg.Seed = 5*time.Millisecond, 1
	if cfg.MaxPageSize == 0 {
		cfg.MaxPageSize = testPage
	}
	sim := hubspotsim.New(cfg)
	t.Cleanup(sim.Close)
	sim.Seed(contacts, deals, 0)
	return &harness{sim: sim, src: newSource(t, sim, 5*time.Second), wh: memwh.New(), cursors: memwh.NewCursors()}
}

// TestAssociationBatchErrorsSurface: a v4 batch read answering 207 with an
// error for an input is a failure to read, not a deal without contacts.
func TestAssociationBatchErrorsSurface(t *testing.T) {
	h := newHarnessCfg(t, hubspotsim.Config{Faults: hubspotsim.Faults{EveryAssocError: 1}}, 50, 20)
	_, err := h.sync(t.Context())
	var be *hubspot.BatchError
	if !errors.As(err, &be) || be.NumErrors != 1 || be.Errors[0].Category != "INTERNAL_ERROR" {
		t.Fatalf("err = %v, want the batch read's INTERNAL_ERROR", err)
	}
	if dc := h.wh.Table(record.DealsTable); dc != nil && dc.Count > 0 {
		t.Errorf("%d deals loaded although their associations were not read", dc.Count)
	}
}

// TestNoAssociationsIsAnAnswer: NO_ASSOCIATIONS_FOUND in a 207 means the
// deal has no contacts; the sync goes on.
func TestNoAssociationsIsAnAnswer(t *testing.T) {
	h := newHarnessCfg(t, hubspotsim.Config{}, 0, 30)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.wh.Table(record.DealsTable).Count; n != 30 {
		t.Errorf("%d deals loaded, want 30", n)
	}
}

// TestDailyLimitNotRetried: a 429 with policyName DAILY stops the sync at
// once (HubSpot's official client retries only the ten-secondly and
// secondly limits); the next day's run resumes and completes.
func TestDailyLimitNotRetried(t *testing.T) {
	const daily = 6
	h := newHarnessCfg(t, hubspotsim.Config{DailyLimit: daily}, 3000, 0)
	// Contacts and deals only: with a budget of 6 requests a day, the idle
	// sweeps of ten streams would use up each day before any progress.
	h.src = newSourceObjects(t, h.sim, "contacts", "deals")
	_, err := h.sync(t.Context())
	if !errors.Is(err, hubspot.ErrDailyLimit) {
		t.Fatalf("err = %v, want ErrDailyLimit", err)
	}
	if n := h.sim.Requests(); n != daily+1 {
		t.Errorf("server saw %d requests, want %d: the DAILY 429 must not be retried", n, daily+1)
	}
	if n := h.wh.Table(record.LeadsTable).Count; n != daily*testPage {
		t.Errorf("%d contacts kept after the stop, want the %d read before it", n, daily*testPage)
	}
	// Each later day's run carries on where the last one stopped.
	for day := 2; ; day++ {
		h.sim.SetDailyUsed(0)
		_, err := h.sync(t.Context())
		if err == nil {
			break
		}
		if !errors.Is(err, hubspot.ErrDailyLimit) || day > 10 {
			t.Fatalf("day %d: %v", day, err)
		}
	}
	h.verify(t)
	if n := h.wh.Table(record.LeadsTable).Count; n != 3000 {
		t.Errorf("raw_crm__leads has %d rows, want 3000: the second run resumes, it does not start again", n)
	}
}

// TestErrorBodyInFull keeps everything a HubSpot error body says.
func TestErrorBodyInFull(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	c := hubspot.NewClient(sim.URL, sim.Token(), hubspot.ClientOptions{})
	_, err := c.Search(t.Context(), "contacts", hubspot.SearchRequest{Limit: 201})
	var ae *hubspot.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an APIError", err)
	}
	if ae.Status != 400 || ae.Category != "VALIDATION_ERROR" || ae.SubCategory == "" || len(ae.Errors) != 1 ||
		ae.Errors[0].In != "limit" || len(ae.Context) == 0 || len(ae.Links) == 0 || ae.CorrelationID == "" {
		t.Errorf("APIError = %+v, want every field of the body", ae)
	}
	if !strings.Contains(err.Error(), ae.SubCategory) || !strings.Contains(err.Error(), "in limit") {
		t.Errorf("error %q hides the subCategory or the detail", err)
	}
}

// TestRateLimitHeaders reads X-HubSpot-RateLimit-*.
func TestRateLimitHeaders(t *testing.T) {
	sim := hubspotsim.New(hubspotsim.Config{DailyLimit: 500000, RequestsPerWindow: 190, Window: 10 * time.Second})
	defer sim.Close()
	sim.Seed(5, 0, 0)
	c := hubspot.NewClient(sim.URL, sim.Token(), hubspot.ClientOptions{})
	if _, err := c.List(t.Context(), "contacts", []string{"email"}, 10, "", false); err != nil {
		t.Fatal(err)
	}
	r := c.RateLimit()
	if r.Max != 190 || r.Remaining != 189 || r.Interval != 10*time.Second || r.Daily != 500000 || r.DailyRemaining != 499999 {
		t.Errorf("RateLimit = %+v", r)
	}
}

// TestSearchPagesOf200 asks for the search API's largest page (200), half
// the requests of pages of 100.
func TestSearchPagesOf200(t *testing.T) {
	sim := hubspotsim.New(hubspotsim.Config{RequestsPerWindow: testPerWindow, Window: testWindow,
		SearchPerWindow: testSearchPer, SearchWindow: testSearchWindow, RetryAfter: 5 * time.Millisecond})
	defer sim.Close()
	sim.Seed(1000, 0, 0)
	src, err := hubspot.NewSource(hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL,
		ClientIDProperty: "ga_client_id", GclidProperty: "gclid", RequestsPerWindow: testPerWindow,
		SearchPerWindow: testSearchPer, Window: testWindow, SearchWindow: testSearchWindow,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{sim: sim, src: src, wh: memwh.New(), cursors: memwh.NewCursors()}
	if err := h.syncStreams(t, "contacts"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Searches(); n != 5 {
		t.Errorf("%d searches for 1000 contacts, want 5 pages of 200", n)
	}
}

func (h *harness) syncStreams(t *testing.T, streams ...string) error {
	_, err := crm.Sync(t.Context(), h.wh, h.src, crm.Options{RunID: "test", Cursors: h.cursors, Links: memwh.Links{W: h.wh}, Streams: streams})
	return err
}

func newSourceObjects(t *testing.T, sim *hubspotsim.Server, objects ...string) *hubspot.Source {
	t.Helper()
	src, err := hubspot.NewSource(hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL, ClientIDProperty: "ga_client_id",
		GclidProperty: "gclid", RequestsPerWindow: testPerWindow, SearchPerWindow: testSearchPer,
		Overlap: 10 * time.Minute, BatchSize: 2000, Objects: objects,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Window: testWindow, SearchWindow: testSearchWindow, PageSize: testPage,
		Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}
