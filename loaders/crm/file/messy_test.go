package file_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// Issue 15: messy export files as people make them. Each test is the
// issue's input; a bad row is one reject with its reason, never the end
// of the load.

func write(t *testing.T, d, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Item 7: a BOM before a quoted header.
func TestBOMBeforeQuotedHeader(t *testing.T) {
	for name, text := range map[string]string{
		"lead_id first": "\ufeff\"lead_id\",\"created_at\",\"email\"\nL1,2024-03-01T10:00:00Z,a@example.com\n",
		"other first":   "\ufeff\"email\",\"lead_id\",\"created_at\"\na@example.com,L1,2024-03-01T10:00:00Z\n",
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, "leads.csv", text)
			write(t, d, "deals.csv", "\ufeff\"amount\",\"deal_id\",\"currency\"\n100,D1,EUR\n")
			r := newRun(t, d, 100)
			if _, err := r.sync(t); err != nil {
				t.Fatal(err)
			}
			l := r.wh.Latest(record.LeadsTable, "lead_id")["L1"]
			if l.Get("email") != "a@example.com" {
				t.Errorf("L1 email = %v, want the first column read", l.Get("email"))
			}
			if got := r.wh.Latest(record.DealsTable, "deal_id")["D1"].Get("amount"); got != "100" {
				t.Errorf("D1 amount = %v, want 100 (the column after the BOM)", got)
			}
		})
	}
}

// Item 8: a row dated 2099 must not hide later rows; a rejected row fixed
// in place loads on the next run.
func TestCursorSkipsOnlyLoadedRows(t *testing.T) {
	d := t.TempDir()
	head := "lead_id,created_at,updated_at,email\n"
	write(t, d, "leads.csv", head+
		"L1,2024-03-01T10:00:00Z,2024-03-01T10:00:00Z,a@example.com\n"+
		"L2,2024-03-01T10:00:00Z,2099-01-01T00:00:00Z,b@example.com\n"+
		"L3,yesterday,2024-03-01T10:00:00Z,c@example.com\n")
	r := newRun(t, d, 100)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Loaded != 1 || c.Rejected != 2 {
		t.Errorf("first load %+v, want L1 loaded, L2 (future) and L3 (bad date) rejected", c)
	}
	if reason := rejects(r.wh)["L2,2024-03-01T10:00:00Z,2099-01-01T00:00:00Z,[email]"]; !strings.Contains(reason, "in the future") { // load_rejects masks the address
		t.Errorf("L2 reject reason %q", reason)
	}
	// L3 fixed in place, an update to L1 and a new lead, all older than 2099.
	write(t, d, "leads.csv", head+
		"L1,2024-03-01T10:00:00Z,2024-03-02T10:00:00Z,a2@example.com\n"+
		"L2,2024-03-01T10:00:00Z,2099-01-01T00:00:00Z,b@example.com\n"+
		"L3,2024-03-01T09:00:00Z,2024-03-01T10:00:00Z,c@example.com\n"+
		"L4,2024-03-03T10:00:00Z,2024-03-03T10:00:00Z,d@example.com\n")
	c, err = r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	leads := r.wh.Latest(record.LeadsTable, "lead_id")
	if leads["L1"].Get("email") != "a2@example.com" {
		t.Errorf("L1 update not loaded: %v", leads["L1"].Get("email"))
	}
	for _, id := range []string{"L3", "L4"} {
		if _, ok := leads[id]; !ok {
			t.Errorf("%s not loaded after the rerun", id)
		}
	}
	if c.Loaded != 3 || c.Rejected != 1 {
		t.Errorf("rerun %+v, want L1, L3, L4 loaded and L2 rejected again", c)
	}
	// Unchanged rows of a changed file are not loaded twice.
	write(t, d, "leads.csv", head+
		"L1,2024-03-01T10:00:00Z,2024-03-02T10:00:00Z,a2@example.com\n"+
		"L3,2024-03-01T09:00:00Z,2024-03-01T10:00:00Z,c@example.com\n"+
		"L4,2024-03-03T10:00:00Z,2024-03-03T10:00:00Z,d@example.com\n"+
		"L5,2024-02-01T10:00:00Z,2024-02-01T10:00:00Z,e@example.com\n")
	// L4 is read again: it is inside the overlap before the watermark.
	if c, err = r.sync(t); err != nil || c.Loaded != 2 || c.Rejected != 0 {
		t.Errorf("third load %+v (%v), want L5, though older than every loaded row, and L4 (overlap) only", c, err)
	}
	if _, ok := r.wh.Latest(record.LeadsTable, "lead_id")["L5"]; !ok {
		t.Error("L5 not loaded")
	}
}

// Item 9: an amount of 1e30, a Latin-1 byte and a 17 MiB NDJSON line are
// each one reject; a stray quote rejects its row, not the rest of the file.
func TestBadRowsAreRejectsNotStops(t *testing.T) {
	d := t.TempDir()
	write(t, d, "deals.csv", "deal_id,amount,currency,company\n"+
		"D1,1e30,EUR,Acme\n"+
		"D2,100,EUR,M\xfcller GmbH\n"+
		"D3,100,EUR,\"Acme, Inc\n"+
		"D4,200,EUR,Acme 5\" Ltd\n"+
		"D5,300,EUR,\"Multi\nline\"\n"+
		"D6,400,EUR,Beta\n")
	big := `{"lead_id":"L2","email":"` + strings.Repeat("x", 17<<20) + `"}`
	write(t, d, "leads.ndjson", `{"lead_id":"L1","created_at":"2024-03-01T10:00:00Z"}`+"\n"+big+"\n"+
		"{\"lead_id\":\"L3\",\"company\":\"M\xfcller\"}\n"+`{"lead_id":"L4","created_at":"2024-03-01T10:00:00Z"}`+"\n")
	r := newRun(t, d, 100)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 10 || c.Loaded != 5 || c.Rejected != 5 {
		t.Errorf("counts %+v, want read 10 = loaded 5 (D4, D5, D6, L1, L4) + rejected 5", c)
	}
	deals := r.wh.Latest(record.DealsTable, "deal_id")
	for _, id := range []string{"D4", "D5", "D6"} {
		if _, ok := deals[id]; !ok {
			t.Errorf("%s not loaded", id)
		}
	}
	leads := r.wh.Latest(record.LeadsTable, "lead_id")
	for _, id := range []string{"L1", "L4"} {
		if _, ok := leads[id]; !ok {
			t.Errorf("%s not loaded", id)
		}
	}
	want := []string{"out of range", "not UTF-8: byte 0xFC", "unbalanced quote", "longer than the 16 MiB limit", "not UTF-8: byte 0xFC"}
	var got []string
	for raw, reason := range rejects(r.wh) {
		got = append(got, reason)
		if len(raw) > 70<<10 {
			t.Errorf("reject keeps %d bytes of raw text", len(raw))
		}
	}
	all := strings.Join(got, "|")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no reject saying %q in %q", w, all)
		}
	}
}

// Item 10: epoch seconds and YYYYMMDD are not 1970.
func TestIntegerTimestamps(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at,mql_at\nL1,1709287200,20240302\nL2,170928720,\n")
	r := newRun(t, d, 100)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	l := r.wh.Latest(record.LeadsTable, "lead_id")["L1"]
	if got := l.Get("created_at"); got != time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC) {
		t.Errorf("epoch seconds read as %v", got)
	}
	if got := l.Get("mql_at"); got != time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC) {
		t.Errorf("YYYYMMDD read as %v", got)
	}
	if c.Rejected != 1 {
		t.Errorf("a nine-digit integer timestamp must be rejected, counts %+v", c)
	}
}

// Item 12: semicolon- and tab-delimited exports.
func TestDelimiterSniffed(t *testing.T) {
	for name, text := range map[string]string{
		"semicolon": "lead_id;created_at;email\nL1;2024-03-01T10:00:00Z;a@example.com\n",
		"tab":       "lead_id\tcreated_at\temail\nL1\t2024-03-01T10:00:00Z\ta@example.com\n",
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, "leads.csv", text)
			r := newRun(t, d, 100)
			if _, err := r.sync(t); err != nil {
				t.Fatal(err)
			}
			if got := r.wh.Latest(record.LeadsTable, "lead_id")["L1"].Get("email"); got != "a@example.com" {
				t.Errorf("email = %v", got)
			}
		})
	}
	d := t.TempDir()
	write(t, d, "leads.csv", "id;created_at\nL1;2024-03-01\n")
	r := newRun(t, d, 100)
	if _, err := r.sync(t); err != nil {
		t.Fatal(err)
	}
	if reason := rejects(r.wh)["id;created_at"]; !strings.Contains(reason, `no lead_id column (read with delimiter ';'; columns: id,created_at)`) {
		t.Errorf("reject reason %q, want the delimiter and columns named", reason)
	}
}

// A file whose header SAM cannot read is bad input like a bad row: one
// reject naming the file and why, and the other files load. Before, an
// empty leads.csv failed the load_crm stage ("read header: file is empty"),
// which skipped every stage after it.
func TestUnreadableHeaderRejectsTheFileAndLoadsTheRest(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "")
	write(t, d, "deals.csv", "id;amount;currency\nD1;100;EUR\n")
	write(t, d, "accounts.csv", "account_id,name\nA1,Acme\n")
	r := newRun(t, d, 100)
	c, err := r.sync(t)
	if err != nil {
		t.Fatalf("a file without a usable header stopped the sync: %v", err)
	}
	if c.Read != c.Loaded+c.Rejected || c.Loaded != 1 || c.Rejected != 2 {
		t.Errorf("counts %+v, want the account loaded and the two files rejected", c)
	}
	rj := rejects(r.wh)
	if reason := rj["leads.csv"]; !strings.Contains(reason, "file is empty") {
		t.Errorf("leads.csv reject reason %q (rejects %v)", reason, rj)
	}
	if reason := rj["id;amount;currency"]; !strings.Contains(reason, "header has no deal_id column") {
		t.Errorf("deals.csv reject reason %q (rejects %v)", reason, rj)
	}
	if len(r.wh.Latest(record.AccountsTable, "account_id")) != 1 {
		t.Error("the account was not loaded")
	}
	// Fixed, the files load on the next run: their cursors did not move.
	write(t, d, "leads.csv", "lead_id,created_at\nL1,2024-03-01T10:00:00Z\n")
	write(t, d, "deals.csv", "deal_id;amount;currency\nD1;100;EUR\n")
	if c, err = r.sync(t); err != nil {
		t.Fatal(err)
	}
	if c.Loaded != 2 || c.Rejected != 0 {
		t.Errorf("after the fix %+v, want the lead and the deal loaded", c)
	}
}

// Exports named in another letter case load, as GA4 export files do; a
// file that looks meant for an entity but has another extension is named
// in the warning. Before, Leads.CSV and deals.txt each gave only "crm file
// missing; nothing to load".
func TestFileNamesInAnyCaseLoadAndNearMissesAreNamed(t *testing.T) {
	d := t.TempDir()
	write(t, d, "Leads.CSV", "lead_id,created_at\nL1,2024-03-01T10:00:00Z\n")
	write(t, d, "deals.txt", "deal_id,amount\nD1,100\n")
	var logs bytes.Buffer
	src, err := file.New(file.Options{Dir: d, Overlap: 10 * time.Minute, BatchSize: 100, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &run{src: src, wh: memwh.New(), cursors: memwh.NewCursors(), rowLog: memwh.NewRowLog()}
	if _, err := r.sync(t); err != nil {
		t.Fatal(err)
	}
	if len(r.wh.Latest(record.LeadsTable, "lead_id")) != 1 {
		t.Error("Leads.CSV did not load")
	}
	if !strings.Contains(logs.String(), "deals.txt") {
		t.Errorf("no warning names deals.txt:\n%s", logs.String())
	}
}
