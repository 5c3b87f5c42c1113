package hubspot_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// Sizes of the account and touch fault runs: several pages of each object
// and several association batches per page.
const (
	accContacts, accDeals               = 1000, 400
	accCompanies, accMeetings, accCalls = 1500, 2500, 2500
	accBadEvery                         = 97
)

func newAccountsHarness(t *testing.T, cfg hubspotsim.Config, timeout time.Duration) *harness {
	t.Helper()
	cfg.RequestsPerWindow, cfg.Window, cfg.SearchPerWindow, cfg.SearchWindow = testPerWindow, testWindow, testSearchPer, testSearchWindow
	cfg.MaxPageSize, cfg.RetryAfter, cfg.Seed = testPage, 5*time.Millisecond, 1
	sim := hubspotsim.New(cfg)
	t.Cleanup(sim.Close)
	sim.Seed(accContacts, accDeals, 0)
	sim.SeedAccounts(accCompanies, accMeetings, accCalls, accBadEvery)
	return &harness{sim: sim, src: newSource(t, sim, timeout), wh: memwh.New(), cursors: memwh.NewCursors()}
}

// verifyAccounts checks that the latest version of every company, meeting
// and call is the server's final state, each exactly once and none
// unknown, that the bad ones are rejected, and that each live company's
// links and each live touch's lead are the server's associations.
func (h *harness) verifyAccounts(t *testing.T) {
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
	check := func(object string, got map[string]memwh.Row, key func(id string) string, markerCol string, want map[string]hubspotsim.Final) {
		var missing, wrong int
		for id, f := range want {
			g, ok := got[key(id)]
			if f.Bad {
				if ok || !rejected[object+"/"+id] {
					t.Errorf("%s %s has bad data: loaded %v, rejected %v", object, id, ok, rejected[object+"/"+id])
				}
				continue
			}
			if !ok {
				if missing++; missing <= 3 {
					t.Errorf("%s %s missing", object, id)
				}
				continue
			}
			if !g.Get("modified_at").(time.Time).Equal(f.Modified) || g.Get("is_deleted") != f.Deleted || g.Get(markerCol) != f.Marker {
				if wrong++; wrong <= 3 {
					t.Errorf("%s %s: got (%v, deleted=%v, %v), want (%v, deleted=%v, %v)", object, id,
						g.Get("modified_at"), g.Get("is_deleted"), g.Get(markerCol), f.Modified, f.Deleted, f.Marker)
				}
			}
		}
		if missing+wrong > 0 {
			t.Errorf("%s: %d missing, %d stale of %d", object, missing, wrong, len(want))
		}
	}
	same := func(id string) string { return id }
	accounts := h.wh.Latest(record.AccountsTable, "account_id")
	check("companies", accounts, same, "name", h.sim.Companies())
	touches := h.wh.Latest(record.TouchesTable, "touch_id")
	meetings, calls := h.sim.Engagements("meetings"), h.sim.Engagements("calls")
	check("meetings", touches, func(id string) string { return "meeting:" + id }, "status", meetings)
	check("calls", touches, func(id string) string { return "call:" + id }, "status", calls)
	if n := len(accounts); n != len(h.sim.Companies()) {
		t.Errorf("%d accounts loaded, want %d", n, len(h.sim.Companies()))
	}
	bad := 0
	for _, m := range []map[string]hubspotsim.Final{meetings, calls} {
		for _, f := range m {
			if f.Bad {
				bad++
			}
		}
	}
	if n, want := len(touches), len(meetings)+len(calls)-bad; n != want {
		t.Errorf("%d touches loaded, want %d", n, want)
	}

	// Links: the snapshot stored with each live company's latest version.
	links := map[string][]string{} // account/object_type → record ids
	if tb := h.wh.Table(record.AccountLinksTable); tb != nil {
		for _, r := range tb.Rows {
			acc := r[4].(string)
			a, ok := accounts[acc]
			if !ok || r[5] != true || !r[7].(time.Time).Equal(a.Get("modified_at").(time.Time)) {
				continue
			}
			k := acc + "/" + r[2].(string)
			if !slices.Contains(links[k], r[3].(string)) {
				links[k] = append(links[k], r[3].(string))
			}
		}
	}
	for _, to := range []struct{ objectType, link string }{{"contacts", record.LinkLead}, {"deals", record.LinkDeal}} {
		want := h.sim.Associated("companies", to.objectType)
		for id, a := range accounts {
			if a.Get("is_deleted") == true {
				continue
			}
			w, g := want[id], links[id+"/"+to.link]
			slices.SortFunc(w, numeric)
			slices.SortFunc(g, numeric)
			if !slices.Equal(w, g) {
				t.Errorf("company %s %s = %v, want %v", id, to.objectType, g, w)
				break
			}
		}
	}
	for _, kind := range []string{"meetings", "calls"} {
		want := h.sim.Associated(kind, "contacts")
		prefix := strings.TrimSuffix(kind, "s") + ":"
		for key, tc := range touches {
			id, ok := strings.CutPrefix(key, prefix)
			if !ok || tc.Get("is_deleted") == true {
				continue
			}
			var lead any
			if w := want[id]; len(w) > 0 {
				lead = slices.MinFunc(w, numeric)
			}
			if tc.Get("lead_id") != lead || tc.Get("touch_type") != strings.TrimSuffix(prefix, ":") {
				t.Errorf("%s %s: lead %v type %v, want lead %v", kind, id, tc.Get("lead_id"), tc.Get("touch_type"), lead)
				break
			}
		}
	}
}

// TestAccountsAndTouchesFaultModes runs the companies, meetings and calls
// streams through every fault mode of the simulator (issue 17, acceptance
// 2): each record lands exactly once in its final version.
func TestAccountsAndTouchesFaultModes(t *testing.T) {
	mixed := hubspotsim.Faults{StormFrom: 20, StormLen: 8, Every5xx: 13, EverySlow: 17, SlowDelay: 10 * time.Millisecond,
		EveryHang: 61, HangDelay: time.Minute, EveryTruncate: 11, EveryDuplicate: 5,
		EveryMutate: 9, MutateCount: 4, EveryArchive: 19, ArchiveCount: 2}
	cases := []struct {
		name    string
		faults  hubspotsim.Faults
		mutates bool
	}{
		{"no faults", hubspotsim.Faults{}, false},
		{"429 storm", hubspotsim.Faults{StormFrom: 3, StormLen: 12}, false},
		{"5xx", hubspotsim.Faults{Every5xx: 4}, false},
		{"slow", hubspotsim.Faults{EverySlow: 3, SlowDelay: 20 * time.Millisecond}, false},
		{"timeouts", hubspotsim.Faults{EveryHang: 20, HangDelay: time.Minute}, false},
		{"truncated JSON", hubspotsim.Faults{EveryTruncate: 3}, false},
		{"duplicates across pages", hubspotsim.Faults{EveryDuplicate: 2}, false},
		{"changes mid-sync", hubspotsim.Faults{EveryMutate: 3, MutateCount: 10}, true},
		{"deletions mid-sync", hubspotsim.Faults{EveryArchive: 3, ArchiveCount: 5}, true},
		{"mixed", mixed, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tc.faults.EveryHang > 0 {
				timeout = time.Second
			}
			h := newAccountsHarness(t, hubspotsim.Config{Faults: tc.faults}, timeout)
			c, err := h.sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, c)
			if tc.faults == (hubspotsim.Faults{}) {
				// Without faults every record is read once: one raw row each.
				if n := h.wh.Table(record.AccountsTable).Count; n != accCompanies {
					t.Errorf("raw_crm__accounts has %d rows, want %d", n, accCompanies)
				}
				bad := 2 * (accMeetings / accBadEvery)
				if n := h.wh.Table(record.TouchesTable).Count; n != int64(accMeetings+accCalls-bad) {
					t.Errorf("raw_crm__touches has %d rows, want %d", n, accMeetings+accCalls-bad)
				}
			}
			if tc.mutates {
				h.sim.SetFaults(hubspotsim.Faults{})
				if _, err := h.sync(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			h.verifyAccounts(t)
			h.verify(t)
		})
	}
}

// TestAccountsDailyLimit: the daily limit stops the sync mid-stream; each
// later day's run resumes from the cursors and the result is complete. The
// links streams re-read every record's associations on each sync (about 85
// requests here), so a day's allowance must cover them and the rest of a
// day's work: one that does not would stop in the same links stream every
// day. (HubSpot's usage guidelines give a private app at least 250,000
// requests a day.)
func TestAccountsDailyLimit(t *testing.T) {
	h := newAccountsHarness(t, hubspotsim.Config{DailyLimit: 120}, 5*time.Second)
	stopped := false
	for day := 1; ; day++ {
		h.sim.SetDailyUsed(0)
		_, err := h.sync(t.Context())
		if err == nil {
			break
		}
		if !errors.Is(err, hubspot.ErrDailyLimit) || day > 20 {
			t.Fatalf("day %d: %v", day, err)
		}
		stopped = true
	}
	if !stopped {
		t.Error("the daily limit never stopped the sync")
	}
	h.verifyAccounts(t)
	h.verify(t)
}

// TestCompanyAndTouchMapping checks one company's and one meeting's and
// call's fields as staging reads them.
func TestCompanyAndTouchMapping(t *testing.T) {
	h := newAccountsHarness(t, hubspotsim.Config{}, 5*time.Second)
	if err := h.syncStreams(t, "companies", "meetings", "calls"); err != nil {
		t.Fatal(err)
	}
	a := h.wh.Latest(record.AccountsTable, "account_id")["4"]
	for col, want := range map[string]any{"source_system": "hubspot", "name": "Company 4 v1", "domain": "company4.example",
		"industry": "COMPUTER_SOFTWARE", "is_deleted": false} {
		if got := a.Get(col); got != want {
			t.Errorf("company 4 %s = %v, want %v", col, got, want)
		}
	}
	touches := h.wh.Latest(record.TouchesTable, "touch_id")
	// Meeting 4: contacts 45 and 46 (4·11 mod 1000 + 1, and the next);
	// outcome (4+1) mod 5 = SCHEDULED.
	m := touches["meeting:4"]
	for col, want := range map[string]any{"touch_type": "meeting", "lead_id": "45", "status": "SCHEDULED", "channel": nil} {
		if got := m.Get(col); got != want {
			t.Errorf("meeting 4 %s = %v, want %v", col, got, want)
		}
	}
	if m.Get("touched_at") == nil {
		t.Error("meeting 4 has no touched_at")
	}
	// Call 9 has no contact; its disposition is the 5th default, (9+1) mod 6: Busy.
	c := touches["call:9"]
	for col, want := range map[string]any{"touch_type": "call", "lead_id": nil, "status": "9d9162e7-6cf3-4944-bf63-4dff82258764"} {
		if got := c.Get(col); got != want {
			t.Errorf("call 9 %s = %v, want %v", col, got, want)
		}
	}
}

// TestLinksStreamResumesAfterTheDailyLimit: a day's allowance that runs
// out during an association read (two thirds of a links stream's
// requests) lost the sweep's progress, so the stream started over every
// day and never finished. Each allowance here stops the stream at another
// request.
func TestLinksStreamResumesAfterTheDailyLimit(t *testing.T) {
	for _, allowance := range []int64{30, 31, 32, 33, 34, 35} {
		h := newAccountsHarness(t, hubspotsim.Config{}, 5*time.Second)
		if err := h.syncStreams(t, "contacts", "meetings"); err != nil {
			t.Fatal(err)
		}
		h.sim.SetAssociations("meetings", 2400, "contacts", []int64{7})
		h.sim.SetDailyLimit(allowance)
		done := false
		for day := 1; day <= 15 && !done; day++ {
			h.sim.SetDailyUsed(0)
			err := h.syncStreams(t, "meetings_links")
			if err != nil && !errors.Is(err, hubspot.ErrDailyLimit) {
				t.Fatalf("allowance %d, day %d: %v", allowance, day, err)
			}
			done = err == nil
		}
		if !done {
			t.Errorf("allowance %d: meetings_links did not finish in 15 days", allowance)
			continue
		}
		if got := h.wh.Latest(record.TouchesTable, "touch_id")["meeting:2400"].Get("lead_id"); got != "7" {
			t.Errorf("allowance %d: meeting 2400's lead %v, want 7", allowance, got)
		}
	}
}
