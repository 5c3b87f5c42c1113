package file_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// dir copies the named testdata files into a fresh directory.
func dir(t *testing.T, names ...string) string {
	t.Helper()
	d := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

type run struct {
	src     *file.Source
	wh      *memwh.WH
	cursors *memwh.Cursors
	rowLog  *memwh.RowLog
	runs    int
}

func newRun(t *testing.T, d string, batch int) *run {
	t.Helper()
	src, err := file.New(file.Options{Dir: d, Overlap: 10 * time.Minute, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	return &run{src: src, wh: memwh.New(), cursors: memwh.NewCursors(), rowLog: memwh.NewRowLog()}
}

// sync loads as a run of its own: the row log tells loads apart by run.
func (r *run) sync(t *testing.T) (loaders.Counts, error) {
	r.runs++
	return crm.Sync(t.Context(), r.wh, r.src, crm.Options{RunID: fmt.Sprintf("r%d", r.runs), Cursors: r.cursors, RowLog: r.rowLog})
}

func rejects(wh *memwh.WH) map[string]string {
	out := map[string]string{}
	if t := wh.Table(loaders.RejectsTable); t != nil {
		for _, r := range t.Rows {
			out[r[4].(string)] = r[3].(string)
		}
	}
	return out
}

func TestCSV(t *testing.T) {
	r := newRun(t, dir(t, "leads.csv", "deals.csv"), 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := (loaders.Counts{Read: 11, Loaded: 6, Rejected: 5}); c.Read != want.Read || c.Loaded != want.Loaded || c.Rejected != want.Rejected {
		t.Errorf("counts = %+v, want read 11 = loaded 6 + rejected 5", c)
	}
	leads := r.wh.Latest(record.LeadsTable, "lead_id")
	if len(leads) != 3 {
		t.Fatalf("loaded %d leads, want L1, L2, L3", len(leads))
	}
	l1 := leads["L1"]
	if l1.Get("email") != "Ann@Example.COM" || l1.Get("ga_client_id") != "GA1.1.111.222" || l1.Get("lifecycle_stage") != "customer" {
		t.Errorf("L1 = email %q, client id %q, stage %q", l1.Get("email"), l1.Get("ga_client_id"), l1.Get("lifecycle_stage"))
	}
	if got, want := l1.Get("won_at"), time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC); got != want {
		t.Errorf("L1 won_at = %v, want %v", got, want)
	}
	if l2 := leads["L2"]; l2.Get("mql_at") != nil || l2.Get("gclid") != "Cj0KCQ-gclid-2" {
		t.Errorf("L2: empty mql_at must be NULL (got %v), gclid %v", l2.Get("mql_at"), l2.Get("gclid"))
	}
	if leads["L3"].Get("is_deleted") != true {
		t.Error("L3 is deleted in the file but not in raw_crm__leads")
	}
	deals := r.wh.Latest(record.DealsTable, "deal_id")
	if len(deals) != 3 || deals["D1"].Get("amount") != "12500.50" || deals["D1"].Get("currency") != "EUR" || deals["D5"].Get("currency") != "USD" {
		t.Errorf("deals = %d, D1 amount %v %v, D5 currency %v", len(deals), deals["D1"].Get("amount"), deals["D1"].Get("currency"), deals["D5"].Get("currency"))
	}
	if d2 := deals["D2"]; d2.Get("amount") != nil || d2.Get("closed_at") != nil {
		t.Errorf("D2 empty amount/closed_at must be NULL, got %v, %v", d2.Get("amount"), d2.Get("closed_at"))
	}
	if n := r.wh.Table(record.DealContactsTable).Count; n != 3 {
		t.Errorf("deal_contacts rows = %d, want one per loaded deal", n)
	}

	got := rejects(r.wh)
	wantReasons := map[string]string{
		// load_rejects masks the email address (issue 15 item 15).
		",2024-03-04T12:00:00Z,2024-03-04T12:00:00Z,[email],,,,,,,,lead,,,,,,,,false": "missing lead_id",
		"L5,04/03/2024,": "created_at: unparseable timestamp",
		"L6,":            "unknown lifecycle_stage",
		"D3,":            "amount: non-numeric amount",
		"D4,":            "currency: unknown currency code",
	}
	for prefix, reason := range wantReasons {
		found := false
		for raw, r := range got {
			if strings.HasPrefix(raw, prefix) {
				found = true
				if !strings.Contains(r, reason) {
					t.Errorf("reject %q: reason %q, want %q", raw, r, reason)
				}
			}
		}
		if !found {
			t.Errorf("no reject for row %q", prefix)
		}
	}
	if len(got) != len(wantReasons) {
		t.Errorf("%d rejects, want %d", len(got), len(wantReasons))
	}

	// The same files again: nothing to read.
	c, err = r.sync(t)
	if err != nil || c.Read != 0 {
		t.Errorf("second sync of unchanged files: counts %+v, err %v", c, err)
	}
}

func TestChangedFileLoadsOnlyNewerRows(t *testing.T) {
	d := dir(t, "leads.csv")
	r := newRun(t, d, 1000)
	if _, err := r.sync(t); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d, "leads.csv")
	b, _ := os.ReadFile(path)
	text := strings.Replace(string(b), "L2,2024-03-02T11:00:00Z,2024-03-02T11:00:00Z,", "L2,2024-03-02T11:00:00Z,2024-04-01T00:00:00Z,", 1)
	text += "L7,2024-04-02T00:00:00Z,2024-04-02T00:00:00Z,new@example.com,,,,,,,,lead,,,,,,,,false\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	// L2 (changed) and L7 (new) load, and L3 too: it is the newest row of
	// the last load, inside the overlap window. L1 predates it.
	if c.Loaded != 3 {
		t.Errorf("loaded %d rows from the changed file, want 3", c.Loaded)
	}
	leads := r.wh.Latest(record.LeadsTable, "lead_id")
	if got := leads["L2"].Get("updated_at"); got != time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("L2 updated_at = %v, want the new version", got)
	}
	if _, ok := leads["L7"]; !ok {
		t.Error("L7 not loaded")
	}
}

func TestResumeAfterCrash(t *testing.T) {
	d := t.TempDir()
	var b strings.Builder
	b.WriteString(strings.Join(file.LeadColumns, ",") + "\n")
	for i := range 25 {
		b.WriteString("L" + string(rune('a'+i)) + ",2024-03-01T10:00:00Z,2024-03-01T10:00:00Z,x@example.com,,,,,,,,lead,,,,,,,,false,,,\n")
	}
	if err := os.WriteFile(filepath.Join(d, "leads.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRun(t, d, 4)
	r.wh.FailAfter = 3 // three batches of four are durable, the fourth is not
	if _, err := r.sync(t); !errors.Is(err, memwh.ErrCrash) {
		t.Fatalf("sync error = %v, want the simulated crash", err)
	}
	if n := r.wh.Table(record.LeadsTable).Count; n != 12 {
		t.Fatalf("%d rows durable before the crash, want 12", n)
	}
	r.wh.SetFailAfter(0)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Loaded != 13 || r.wh.Table(record.LeadsTable).Count != 25 {
		t.Errorf("resume loaded %d (table %d rows), want the remaining 13 and 25 in all", c.Loaded, r.wh.Table(record.LeadsTable).Count)
	}
}

func TestNDJSON(t *testing.T) {
	r := newRun(t, dir(t, "leads.ndjson"), 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 5 || c.Loaded != 3 || c.Rejected != 2 {
		t.Errorf("counts = %+v, want read 5 = loaded 3 + rejected 2", c)
	}
	leads := r.wh.Latest(record.LeadsTable, "lead_id")
	for _, id := range []string{"N1", "N2", "3"} {
		if _, ok := leads[id]; !ok {
			t.Errorf("lead %s not loaded", id)
		}
	}
	if leads["N2"].Get("email") != nil {
		t.Errorf("N2 null email loaded as %v", leads["N2"].Get("email"))
	}
	var reasons []string
	for _, reason := range rejects(r.wh) {
		reasons = append(reasons, reason)
	}
	joined := strings.Join(reasons, "|")
	if !strings.Contains(joined, "invalid JSON") || !strings.Contains(joined, "created_at: unparseable timestamp") {
		t.Errorf("reject reasons = %q", joined)
	}
}

// Two files for one entity: SAM does not guess which is current. Neither
// loads, one reject says why, and the other entities load. Before, the
// refusal failed the load_crm stage and so every stage after it.
func TestBothFormatsPresentRejectsBothAndLoadsTheRest(t *testing.T) {
	d := dir(t, "leads.csv", "leads.ndjson", "deals.csv")
	r := newRun(t, d, 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatalf("two leads files stopped the sync: %v", err)
	}
	if n := len(r.wh.Latest(record.LeadsTable, "lead_id")); n != 0 {
		t.Errorf("%d leads loaded, want none: SAM cannot tell which file is current", n)
	}
	if len(r.wh.Latest(record.DealsTable, "deal_id")) == 0 {
		t.Error("the deals did not load")
	}
	found := false
	for raw, reason := range rejects(r.wh) {
		if strings.Contains(raw, "leads.csv") && strings.Contains(raw, "leads.ndjson") && strings.Contains(reason, "keep one") {
			found = true
		}
	}
	if !found || c.Read != c.Loaded+c.Rejected {
		t.Errorf("rejects %v, counts %+v; want one reject naming both files", rejects(r.wh), c)
	}
}

func TestMissingIDColumnRejectsTheFile(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "deals.csv"), []byte("id,amount\n1,2\n"), 0o644)
	r := newRun(t, d, 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	if reason := rejects(r.wh)["id,amount"]; !strings.Contains(reason, "no deal_id column") || c.Rejected != 1 || c.Loaded != 0 {
		t.Errorf("counts %+v, reject reason %q; want the file rejected, naming the missing deal_id column", c, reason)
	}
}

// A row changed back to what an earlier export said is a change: the row
// log knew its hash from the first load, and skipped it, so the warehouse
// kept the edit the file had undone. The export has no updated_at column,
// so every version of L1 has the same modification time.
func TestARowChangedBackLoadsAgain(t *testing.T) {
	d := t.TempDir()
	path := filepath.Join(d, "leads.csv")
	write := func(email string) {
		t.Helper()
		text := "lead_id,created_at,email,lifecycle_stage\n" +
			"L1,2024-03-01T10:00:00Z," + email + ",lead\n" +
			"L2,2024-04-01T10:00:00Z,bob@example.com,lead\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newRun(t, d, 1000)
	for _, email := range []string{"ann@example.com", "typo@example.com", "ann@example.com"} {
		write(email)
		if _, err := r.sync(t); err != nil {
			t.Fatal(err)
		}
		if got := r.wh.Latest(record.LeadsTable, "lead_id")["L1"].Get("email"); got != email {
			t.Fatalf("after loading the file with %s, L1's email is %v", email, got)
		}
	}
	// L2, the newest row, is read again each time (the overlap window);
	// L1 once per version.
	if n := r.wh.Table(record.LeadsTable).Count; n != 6 {
		t.Errorf("raw_crm__leads holds %d rows, want 6", n)
	}
}

// The row log's hashes outlive SAM's versions: a row's hash must stay
// what earlier loads recorded (SHA-256 of each non-empty column and value,
// columns sorted, each followed by a NUL), in CSV with its columns in any
// order and in NDJSON alike, or every row of a changed file loads again.
func TestARowHashesAsEarlierLoadsRecordedIt(t *testing.T) {
	sum := sha256.Sum256([]byte("created_at\x002024-03-01T10:00:00Z\x00email\x00ann@example.com\x00lead_id\x00L1\x00"))
	var want record.RowHash
	copy(want[:], sum[:])
	for name, text := range map[string]string{
		"leads.csv":    "email,phone,lead_id,created_at\nann@example.com,,L1,2024-03-01T10:00:00Z\n",
		"leads.ndjson": `{"lead_id":"L1","created_at":"2024-03-01T10:00:00Z","phone":null,"email":"ann@example.com"}` + "\n",
	} {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := file.New(file.Options{Dir: d})
		if err != nil {
			t.Fatal(err)
		}
		var got []record.SourceRow
		err = src.Read(t.Context(), "leads", "", func(_ context.Context, b *record.Batch) error {
			got = append(got, b.SourceRows...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Hash != want {
			t.Errorf("%s: row hashes %v, want %v", name, got, want)
		}
	}
}
