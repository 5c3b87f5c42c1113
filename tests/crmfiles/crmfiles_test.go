// Package crmfiles_test runs sam on a CRM folder holding every messy case
// of issue 15 (items 7-12) at once: what can load loads, every other row is
// in load_rejects with its reason, read = loaded + rejected per file, and
// the run's summary says how many rows were rejected and where to look.
package crmfiles_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

var samBin string

func TestMain(m *testing.M) { os.Exit(samtest.Main(m, &samBin)) }

// leads: a BOM before a quoted, semicolon-delimited header (items 7, 12),
// epoch seconds and YYYYMMDD (10), a version dated 2099 (8), a client id
// GA4 cannot join (11), a Latin-1 byte and a stray quote (9), a nine-digit
// integer timestamp (10), and a good row after the stray quote.
const leads = "\ufeff\"email\";\"lead_id\";\"created_at\";\"updated_at\";\"ga_client_id\";\"company\"\n" +
	"a@example.com;L1;2024-03-01T10:00:00Z;2024-03-01T10:00:00Z;GA1.1.111.222;Acme\n" +
	"b@example.com;L2;1709287200;20240301;333.444;Beta\n" +
	"c@example.com;L3;2024-03-01T10:00:00Z;2099-01-01T00:00:00Z;;Gamma\n" +
	"d@example.com;L4;2024-03-01T10:00:00Z;2024-03-01T10:00:00Z;amp-1234;Delta\n" +
	"e@example.com;L5;2024-03-01T10:00:00Z;2024-03-01T10:00:00Z;;M\xfcller\n" +
	"f@example.com;L6;2024-03-01T10:00:00Z;2024-03-01T10:00:00Z;;\"Acme, Inc\n" +
	"g@example.com;L7;170928720;;;Eps\n" +
	"h@example.com;L8;2024-03-02T10:00:00Z;2024-03-02T10:00:00Z;;Omega\n"

// deals: an amount of 1e30 and a 17 MiB line (9), a Latin-1 byte (9),
// epoch seconds (10).
func deals() string {
	return `{"deal_id":"D1","lead_id":"L1","amount":1e30,"currency":"EUR"}` + "\n" +
		`{"deal_id":"D2","lead_id":"L1","amount":"100","currency":"EUR","is_won":true,"created_at":"2024-03-02T00:00:00Z","closed_at":"2024-03-05T00:00:00Z"}` + "\n" +
		`{"deal_id":"DX","notes":"` + strings.Repeat("x", 17<<20) + `"}` + "\n" +
		`{"deal_id":"D3","lead_id":"L2","amount":50,"currency":"USD","created_at":1709287200}` + "\n" +
		"{\"deal_id\":\"D4\",\"stage\":\"caf\xe9\"}\n"
}

func TestMessyCRMFolder(t *testing.T) {
	w := samtest.New(t, samBin)
	w.Generate(2, 0, 7)
	// Only the messy files below: whatever CRM files the generator wrote
	// go, whichever they are on the day the test runs (offline touches,
	// for one, exist on some days and not others).
	crm := w.Path("data/crm")
	if err := os.RemoveAll(crm); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(crm, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crm+"/leads.csv", []byte(leads), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crm+"/deals.ndjson", []byte(deals()), 0o644); err != nil {
		t.Fatal(err)
	}

	out := w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend,transform")
	if !strings.Contains(out, "read 13, loaded 6, rejected 7 (see load_rejects)") {
		t.Errorf("the run summary does not say how many rows were rejected and where to look:\n%s", out)
	}

	db := w.Open()
	perFile := map[string][2]int64{ // loaded, rejected
		"leads.csv":    {samtest.QueryInt(t, db, `SELECT count(*) FROM raw_crm__leads`), samtest.QueryInt(t, db, `SELECT count(*) FROM load_rejects WHERE object = 'leads.csv'`)},
		"deals.ndjson": {samtest.QueryInt(t, db, `SELECT count(*) FROM raw_crm__deals`), samtest.QueryInt(t, db, `SELECT count(*) FROM load_rejects WHERE object = 'deals.ndjson'`)},
	}
	// read = loaded + rejected, per file: 8 rows of leads, 5 of deals.
	if got := perFile["leads.csv"]; got != [2]int64{4, 4} {
		t.Errorf("leads.csv: loaded %d, rejected %d; want 4 + 4 = the 8 rows read", got[0], got[1])
	}
	if got := perFile["deals.ndjson"]; got != [2]int64{2, 3} {
		t.Errorf("deals.ndjson: loaded %d, rejected %d; want 2 + 3 = the 5 rows read", got[0], got[1])
	}
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM load_rejects WHERE coalesce(reason, '') = '' OR coalesce(raw, '') = ''`); n != 0 {
		t.Errorf("%d rejects without a reason or raw text", n)
	}
	reasons := strings.Join(samtest.QueryStrings(t, db, `SELECT reason FROM load_rejects ORDER BY reason`), "\n")
	for _, want := range []string{"in the future", "not UTF-8", "unbalanced quote", "neither YYYYMMDD", "out of range", "longer than the 16 MiB limit"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("no reject says %q:\n%s", want, reasons)
		}
	}
	if got := samtest.QueryStrings(t, db, `SELECT strftime(created_at, '%Y-%m-%d %H:%M') || ' ' || strftime(updated_at, '%Y-%m-%d') FROM raw_crm__leads WHERE lead_id = 'L2'`); len(got) != 1 || got[0] != "2024-03-01 10:00 2024-03-01" {
		t.Errorf("L2 epoch seconds / YYYYMMDD loaded as %v", got)
	}
	if got := samtest.QueryStrings(t, db, `SELECT coalesce(ga_client_id_problem, '') FROM stg_crm__leads WHERE lead_id = 'L4'`); len(got) != 1 || !strings.Contains(got[0], "x.y") {
		t.Errorf("L4's unusable client id leaves no trace in stg_crm__leads: %v", got)
	}
	if got := samtest.QueryStrings(t, db, `SELECT lead_id FROM stg_crm__leads WHERE ga_client_id_problem IS NOT NULL`); len(got) != 1 {
		t.Errorf("leads with a client id problem: %v, want L4 only", got)
	}
	db.Close()

	// The Latin-1 row fixed in place loads on the next run; nothing loaded
	// is lost or skipped.
	fixed := strings.Replace(leads, "M\xfcller", "Müller", 1)
	if err := os.WriteFile(crm+"/leads.csv", []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	w.MustRun("run", "--stages", "load_crm")
	db = w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM raw_crm__leads WHERE lead_id = 'L5'`); n != 1 {
		t.Errorf("L5, fixed in place, loaded %d times on the rerun, want once", n)
	}
}
