package e2e_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// TestQuarantinedLeadsNeverStopTheRun is issue 15 item 2's row-level
// problems: a won deal with a negative amount, a won deal without currency
// and an email address in a disqualification reason. The run exits 0, the
// three leads are listed with their reasons, and activation leaves them out.
func TestQuarantinedLeadsNeverStopTheRun(t *testing.T) {
	w := newWorkspace(t, 21)
	var negative, noCurrency, pii string
	editCSV(t, w.Path("data/crm/deals.csv"), func(col map[string]int, row []string) {
		if row[col["is_won"]] != "true" {
			return
		}
		switch {
		case negative == "":
			negative = row[col["lead_id"]]
			row[col["amount"]] = "-" + row[col["amount"]]
		case noCurrency == "" && row[col["lead_id"]] != negative:
			noCurrency = row[col["lead_id"]]
			row[col["currency"]] = ""
		}
	})
	editCSV(t, w.Path("data/crm/leads.csv"), func(col map[string]int, row []string) {
		if pii == "" && row[col["lead_id"]] != negative && row[col["lead_id"]] != noCurrency {
			pii = row[col["lead_id"]]
			row[col["disqualified_at"]] = row[col["created_at"]]
			row[col["disqualification_reason"]] = "not a fit, write to jane.doe@example.com"
		}
	})
	if negative == "" || noCurrency == "" || pii == "" {
		t.Fatalf("sample has too few won deals: %q %q %q", negative, noCurrency, pii)
	}
	stdout, stderr, err := w.Run("run")
	if err != nil {
		t.Fatalf("sam run: %v\n%s\n%s", err, samtest.Tail(stdout, 40), samtest.Tail(stderr, 40))
	}
	if !strings.Contains(stdout, "tests/quarantined_leads") {
		t.Errorf("the run summary does not name the quarantined leads:\n%s", samtest.Tail(stdout, 30))
	}
	db := w.Open()
	defer db.Close()
	got := samtest.QueryStrings(t, db, `SELECT lead_id || ': ' || reason FROM int_quarantined_leads ORDER BY reason`)
	want := []string{
		pii + ": personal data in the disqualification reason",
		negative + ": won deal with a negative amount",
		noCurrency + ": won deal without currency",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("quarantined:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events WHERE lead_id IN ('`+negative+`', '`+noCurrency+`', '`+pii+`')`); n != 0 {
		t.Errorf("%d activation events of quarantined leads", n)
	}
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events`); n == 0 {
		t.Error("activation_events is empty: the other leads were held back too")
	}
}

// editCSV rewrites a CSV file, letting edit change each data row in place.
func editCSV(t *testing.T, path string, edit func(col map[string]int, row []string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, row := range rows[1:] {
		edit(col, row)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cw := csv.NewWriter(out)
	if err := cw.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A won deal in a currency the rates file has no rate for keeps its lead's
// revenue out of every reporting-currency figure (SAM does not guess a
// rate). Before, nothing said so: the run ended without a warning and the
// lead's revenue was simply missing from channel revenue.
func TestWonRevenueWithoutARateIsReported(t *testing.T) {
	w := newWorkspace(t, 22)
	var lead string
	editCSV(t, w.Path("data/crm/deals.csv"), func(col map[string]int, row []string) {
		if lead == "" && row[col["is_won"]] == "true" && row[col["amount"]] != "" {
			lead = row[col["lead_id"]]
			row[col["currency"]] = "JPY" // the sample's rates file has none
		}
	})
	if lead == "" {
		t.Fatal("the sample has no won deal")
	}
	runWarns(t, w, "won_revenue_has_a_rate", lead)
	// Its won event waits for the rate: sent without its value, it would
	// stay at the platforms as a conversion worth nothing. The lead's
	// other stages go out as before.
	db := w.Open()
	won := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events WHERE stage = 'won' AND lead_id = '`+lead+`'`)
	others := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events WHERE stage != 'won' AND lead_id = '`+lead+`'`)
	db.Close()
	if won != 0 || others == 0 {
		t.Errorf("lead %s: %d won and %d other events, want the won event held back and the others kept", lead, won, others)
	}
	// With a JPY rate, the next run sends it, with its value.
	f, err := os.OpenFile(w.Path("data/fx_rates.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("2000-01-01,JPY,USD,0.0067\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustRun(t, w)
	db = w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events WHERE stage = 'won' AND value > 0 AND lead_id = '`+lead+`'`); n != 1 {
		t.Errorf("after the rate: %d won events with a value for lead %s, want 1", n, lead)
	}
}

// The same for spend: a spend row in a currency without a rate is kept with
// its cost in its own currency, and cost per lead leaves it out. Before,
// only a column of channel_performance counted such rows.
func TestSpendWithoutARateIsReported(t *testing.T) {
	w := newWorkspace(t, 23)
	edited := false
	editCSV(t, w.Path("data/spend/spend_"+firstSpendMonth(t, w)+".csv"), func(col map[string]int, row []string) {
		if !edited {
			edited = true
			row[col["currency"]] = "JPY"
		}
	})
	runWarns(t, w, "spend_has_a_rate", "JPY")
}

// firstSpendMonth is the YYYYMM of the workspace's first spend file.
func firstSpendMonth(t *testing.T, w *samtest.Workspace) string {
	t.Helper()
	files, err := filepath.Glob(w.Path("data/spend/spend_*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no spend file: %v", err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[0]), "spend_"), ".csv")
}

// A won deal reaches the marts through its lead or its account. One whose
// lead the CRM data does not hold, and that names no account, reached
// neither, and its revenue left every figure without a word.
func TestWonDealReachingNoLeadNorAccountIsReported(t *testing.T) {
	w := newWorkspace(t, 24)
	var deal string
	editCSV(t, w.Path("data/crm/deals.csv"), func(col map[string]int, row []string) {
		if deal == "" && row[col["is_won"]] == "true" && row[col["account_id"]] == "" {
			deal = row[col["deal_id"]]
			row[col["lead_id"]] = "L-NOT-EXPORTED"
		}
	})
	if deal == "" {
		t.Fatal("the sample has no won deal without an account")
	}
	runWarns(t, w, "won_deal_reaches_a_lead_or_account", deal)
}

// runWarns runs the pipeline, which must succeed, and checks that the run
// summary names the warn test and that a log line names what it found.
func runWarns(t *testing.T, w *samtest.Workspace, test, found string) {
	t.Helper()
	stdout, stderr, err := w.Run("run")
	if err != nil {
		t.Fatalf("sam run: %v\n%s\n%s", err, samtest.Tail(stdout, 40), samtest.Tail(stderr, 40))
	}
	if !strings.Contains(stdout, "tests/"+test) {
		t.Errorf("the run summary does not name tests/%s:\n%s", test, samtest.Tail(stdout, 30))
	}
	if !strings.Contains(stderr, found) {
		t.Errorf("no log line names %s", found)
	}
}
