package salesforce_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestAccounts syncs Accounts and the account links of Contacts and
// Opportunities incrementally through every fault mode of the simulator
// (issue 17, acceptance 2): each account's and each link's latest version
// lands, once, and bad accounts are rejects.
func TestAccounts(t *testing.T) {
	cases := []struct {
		name    string
		cfg     salesforcesim.Config
		mutates bool
	}{
		{"clean", salesforcesim.Config{}, false},
		{"REQUEST_LIMIT_EXCEEDED storm", salesforcesim.Config{RetryAfter: 5 * time.Millisecond, Faults: salesforcesim.Faults{StormFrom: 2, StormLen: 10}}, false},
		{"5xx", salesforcesim.Config{Faults: salesforcesim.Faults{Every5xx: 3}}, false},
		{"slow", salesforcesim.Config{Faults: salesforcesim.Faults{EverySlow: 2, SlowDelay: 20 * time.Millisecond}}, false},
		{"timeouts", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryHang: 6, HangDelay: time.Minute}}, false},
		{"truncated JSON", salesforcesim.Config{Faults: salesforcesim.Faults{EveryTruncate: 3}}, false},
		{"duplicates across pages", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryDuplicate: 2}}, false},
		{"QUERY_TIMEOUT", salesforcesim.Config{TimeoutAbove: 400}, false},
		{"changes mid-sync", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryMutate: 2, MutateCount: 10}}, true},
		{"deletions mid-sync", salesforcesim.Config{PageSize: 300, Faults: salesforcesim.Faults{EveryDelete: 2, DeleteCount: 5}}, true},
		{"daily usage high", salesforcesim.Config{UsageOffset: 14000}, false},
		{"mixed", salesforcesim.Config{PageSize: 300, TimeoutAbove: 1000, RetryAfter: 5 * time.Millisecond, Faults: salesforcesim.Faults{
			StormFrom: 5, StormLen: 6, Every5xx: 7, EverySlow: 5, SlowDelay: 10 * time.Millisecond, EveryHang: 17, HangDelay: time.Minute,
			EveryTruncate: 6, EveryDuplicate: 3, EveryMutate: 4, MutateCount: 5, EveryDelete: 9, DeleteCount: 2}}, true},
	}
	const accounts = 1200
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tc.cfg.Faults.EveryHang > 0 {
				timeout = time.Second
			}
			h := newHarness(t, 1000, 600, 0, tc.cfg, timeout)
			h.sim.SeedAccounts(accounts, 97)
			c, err := h.sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.Read != c.Loaded+c.Rejected {
				t.Errorf("read %d != loaded %d + rejected %d", c.Read, c.Loaded, c.Rejected)
			}
			if tc.cfg.TimeoutAbove > 0 && h.sim.Timeouts() == 0 {
				t.Error("no query timed out; the mode tested nothing")
			}
			if tc.name == "clean" {
				// Exactly once: a first sync without faults loads each good
				// account one time.
				if n, want := h.wh.Table(record.AccountsTable).Count, int64(accounts-accounts/97); n != want {
					t.Errorf("%s has %d rows, want %d", record.AccountsTable, n, want)
				}
			}
			// An incremental run after more changes picks them up: a
			// renamed account, a deleted one, a Contact and an Opportunity
			// that change account.
			h.sim.SetFaults(salesforcesim.Faults{})
			h.sim.SetTimeoutAbove(0)
			h.sim.Modify("001000000000001", "003000000000002", "006000000000003")
			h.sim.Delete("001000000000004")
			if !tc.mutates {
				before := h.wh.Table(record.AccountsTable).Count
				if _, err := h.sync(t.Context()); err != nil {
					t.Fatal(err)
				}
				// The overlap re-reads the last ten minutes only: the two
				// changed accounts, not the whole object.
				if n := h.wh.Table(record.AccountsTable).Count - before; n < 2 || n > 10 {
					t.Errorf("incremental sync loaded %d account rows, want the 2 changed (and few more)", n)
				}
			} else if _, err := h.sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			h.verify(t)
		})
	}
}

// TestAccountMapping checks how an Account and the AccountId of Contacts
// and Opportunities land in raw_crm__accounts and raw_crm__account_links.
func TestAccountMapping(t *testing.T) {
	h := newHarness(t, 12, 12, 0, salesforcesim.Config{}, 5*time.Second)
	h.sim.SeedAccounts(5, 0)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	accounts := h.wh.Latest(record.AccountsTable, "account_id")
	for id, want := range map[string]map[string]any{
		"001000000000001": {"name": "Acme 1 v1", "domain": "acme1.example", "industry": "Finance", "source_system": "salesforce"},
		"001000000000002": {"domain": "http://Acme2.example:8080/about", "industry": nil},
		"001000000000004": {"domain": "https://www.acme4.example/", "industry": "Finance"},
		"001000000000005": {"domain": nil},
	} {
		row, ok := accounts[id]
		if !ok {
			t.Errorf("account %s not loaded", id)
			continue
		}
		for col, v := range want {
			if got := row.Get(col); got != v {
				t.Errorf("account %s: %s = %v, want %v", id, col, got, v)
			}
		}
		if row.Get("created_at") == nil || row.Get("updated_at") == nil {
			t.Errorf("account %s has no created_at/updated_at", id)
		}
	}
	links := h.wh.Latest(record.AccountLinksTable, "link_id")
	for id, want := range map[string]any{
		"lead:003000000000001": "001000000000001",
		"lead:003000000000007": "001000000000002",
		"deal:006000000000003": "001000000000003",
		"lead:003000000000010": nil, // every tenth has no account
		"deal:006000000000010": nil,
	} {
		row, ok := links[id]
		if !ok {
			t.Errorf("link %s not loaded", id)
			continue
		}
		if got := row.Get("account_id"); got != want {
			t.Errorf("link %s: account_id = %v, want %v", id, got, want)
		}
	}
	// Leads have no AccountId (a converted Lead's account is its Contact's).
	for id := range links {
		if id[:8] == "lead:00Q" {
			t.Errorf("a Lead has an account link: %s", id)
		}
	}
	h.verify(t)
}

// TestAccountsResume: a crash, a cancellation or the daily allowance
// running out in the middle of the Account sweep keeps what was loaded, and
// the next run completes it.
func TestAccountsResume(t *testing.T) {
	cfg := salesforcesim.Config{PageSize: 500}
	t.Run("crash", func(t *testing.T) {
		h := newHarness(t, 300, 100, 0, cfg, 5*time.Second)
		h.sim.SeedAccounts(3000, 0)
		h.src = newSmallBatchSource(t, h)
		// The other streams take eight loads; the crash comes after three
		// batches of Accounts.
		h.wh.FailAfter = 8 + 3
		if _, err := h.sync(t.Context()); !errors.Is(err, memwh.ErrCrash) {
			t.Fatalf("sync error = %v, want the simulated crash", err)
		}
		if n := h.wh.Table(record.AccountsTable).Count; n != 3*250 {
			t.Errorf("%d accounts loaded before the crash, want 750", n)
		}
		h.wh.SetFailAfter(0)
		if _, err := h.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.verify(t)
	})
	t.Run("daily allowance", func(t *testing.T) {
		// No people: each of the six other streams costs one request, and
		// the Account sweep's third page is refused.
		const left = 8
		h := newHarness(t, 0, 0, 0, salesforcesim.Config{PageSize: 500, UsageOffset: 15000 - left}, 5*time.Second)
		h.sim.SeedAccounts(2000, 0)
		h.src = newSmallBatchSource(t, h)
		if _, err := h.sync(t.Context()); !errors.Is(err, salesforce.ErrDailyLimit) {
			t.Fatalf("err = %v, want ErrDailyLimit", err)
		}
		if n := h.wh.Table(record.AccountsTable).Count; n < 1000 {
			t.Errorf("%d accounts kept after the stop, want the 1000 read before it", n)
		}
		h.sim.SetUsage(0)
		if _, err := h.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.verify(t)
		if n := h.wh.Table(record.AccountsTable).Count; n > 2000+1 {
			t.Errorf("%s has %d rows, want at most 2001: resumed, not restarted", record.AccountsTable, n)
		}
	})
}

// newSmallBatchSource is the harness's source with batches of 250, so a
// sweep is several durable batches.
func newSmallBatchSource(t *testing.T, h *harness) *salesforce.Source {
	t.Helper()
	src, err := salesforce.NewSource(salesforce.Options{InstanceURL: h.sim.URL, AccessToken: option.Secret(h.sim.Token()), APIVersion: "v59.0",
		RequestsPerWindow: testPerWindow, Window: testWindow, Overlap: 10 * time.Minute, BatchSize: 250, CurrencyField: "CurrencyIsoCode",
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, SlowDelay: time.Millisecond, Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20},
		Now: func() time.Time { return time.Now().Add(time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	return src
}
