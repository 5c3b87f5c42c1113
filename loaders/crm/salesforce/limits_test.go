package salesforce_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestLimitInfoSeparatedBySemicolons reads Sforce-Limit-Info as the REST
// API Developer Guide's Limit Info Header page spells it: fields separated
// by "; ".
func TestLimitInfoSeparatedBySemicolons(t *testing.T) {
	for _, tc := range []struct {
		header          string
		used, allowance int64
		slow            bool
	}{
		{"api-usage=10018/100000; api-bursts=1/750", 10018, 100000, false},
		{"api-usage=95000/100000; api-bursts=1/750", 95000, 100000, true},
		{"api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", 25, 5000, false},
		{"api-usage=18/5000", 18, 5000, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Sforce-Limit-Info", tc.header)
			_, _ = w.Write([]byte(`{"totalSize":0,"done":true,"records":[]}`))
		}))
		var logs bytes.Buffer
		c := salesforce.NewClient(srv.URL, "v59.0", "t", salesforce.ClientOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if _, err := c.QueryAll(t.Context(), "SELECT Id FROM Lead"); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if used, allowance := c.APIUsage(); used != tc.used || allowance != tc.allowance {
			t.Errorf("%q: usage = %d/%d, want %d/%d", tc.header, used, allowance, tc.used, tc.allowance)
		}
		if got := strings.Contains(logs.String(), "slowing down"); got != tc.slow {
			t.Errorf("%q: slowed down = %v, want %v", tc.header, got, tc.slow)
		}
	}
}

// TestDailyLimitStopsResumably: REQUEST_LIMIT_EXCEEDED "TotalRequests" is
// the org's rolling 24-hour allowance. The sync stops at once with a clear
// error, keeps what it read, and the next run (a new day) resumes and
// completes.
func TestDailyLimitStopsResumably(t *testing.T) {
	const left = 4 // requests left in today's allowance
	h := newHarness(t, 5000, 2000, 0, salesforcesim.Config{PageSize: 500, UsageOffset: 15000 - left}, 5*time.Second)
	_, err := h.sync(t.Context())
	if !errors.Is(err, salesforce.ErrDailyLimit) {
		t.Fatalf("err = %v, want ErrDailyLimit", err)
	}
	if !strings.Contains(err.Error(), "TotalRequests Limit exceeded") {
		t.Errorf("error %q does not say what Salesforce said", err)
	}
	if n := h.sim.Requests(); n != left+1 {
		t.Errorf("server saw %d requests, want %d: the refused one must not be retried", n, left+1)
	}
	loaded := h.wh.Table(record.LeadsTable).Count
	if loaded < 4*500 {
		t.Errorf("%d leads kept after the stop, want the %d read before it", loaded, 4*500)
	}
	cur, _ := h.cursors.Get(t.Context(), "salesforce", "Lead")
	if !strings.Contains(cur, `"in_sweep":true`) {
		t.Errorf("Lead cursor %q is not a resume point inside the sweep", cur)
	}

	h.sim.SetUsage(0)
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.verify(t)
	// Resumed, not restarted: the second run read the Leads it had not.
	if n, want := h.wh.Table(record.LeadsTable).Count, int64(5000+2000+1); n > want {
		t.Errorf("raw_crm__leads has %d rows, want at most %d (one stamp re-read at the resume point)", n, want)
	}
}

// TestQueryAllLocatorReadsQuery follows a queryAll's nextRecordsUrl as
// given: it names /query/, and its pages still hold deleted rows.
func TestQueryAllLocatorReadsQuery(t *testing.T) {
	h := newHarness(t, 1200, 0, 0, salesforcesim.Config{PageSize: 500}, 5*time.Second)
	h.sim.Delete("00Q000000000600", "00Q000000001100")
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.verify(t)
	for _, id := range []string{"00Q000000000600", "00Q000000001100"} {
		if got := h.wh.Latest(record.LeadsTable, "lead_id")[id].Get("is_deleted"); got != true {
			t.Errorf("%s is_deleted = %v, want true from a later page", id, got)
		}
	}
}
