package file_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// Exports as people join, re-save and re-export them. Each test is the
// input that lost or guessed rows before.

// rejectReasons lists the rejects' reasons.
func rejectReasons(wh *memwh.WH) []string {
	var out []string
	for _, reason := range rejects(wh) {
		out = append(out, reason)
	}
	return out
}

func mustSync(t *testing.T, r *run) (read, loaded, rejected int64) {
	t.Helper()
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	return c.Read, c.Loaded, c.Rejected
}

// A live lead without created_at loaded, and then failed
// not_null(int_lead_stages.created_at): every model from there to
// activation_events went unbuilt, for every lead.
func TestLeadWithoutCreatedAtIsAReject(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at,updated_at,is_deleted\n"+
		"L1,,2026-12-01T10:00:00Z,\n"+
		"L2,2026-11-01T10:00:00Z,2026-12-01T10:00:00Z,\n"+
		"L3,,2026-12-01T10:00:00Z,true\n")
	r := newRun(t, d, 100)
	read, loaded, rejected := mustSync(t, r)
	if read != 3 || loaded != 2 || rejected != 1 {
		t.Errorf("read %d, loaded %d, rejected %d; want 3, 2 (L2, and L3's deletion) and 1 (L1)", read, loaded, rejected)
	}
	if got := rejectReasons(r.wh); len(got) != 1 || !strings.Contains(got[0], "created_at") {
		t.Errorf("rejects %v, want one naming created_at", got)
	}
}

// An export of fewer columns than the last one (the user picked only a few
// properties) loaded every column it lacked as NULL, a new version that
// wiped the lead's email, client id and gclid. A missing column is not an
// empty one: the file is rejected, naming what it lacks, and the loaded
// versions stay. A column kept with empty cells still empties it.
func TestAnExportLackingColumnsOfTheLastOneIsRejected(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at,updated_at,email,ga_client_id,gclid,lifecycle_stage\n"+
		"L1,2024-03-01T10:00:00Z,2024-03-01T10:00:00Z,a@example.com,123.456,gclid-abc,lead\n")
	r := newRun(t, d, 100)
	mustSync(t, r)

	write(t, d, "leads.csv", "lead_id,created_at,updated_at,lifecycle_stage\n"+
		"L1,2024-03-01T10:00:00Z,2024-03-03T10:00:00Z,mql\n")
	if read, loaded, rejected := mustSync(t, r); loaded != 0 || rejected != 1 || read != 1 {
		t.Errorf("read %d, loaded %d, rejected %d; want the file as one reject", read, loaded, rejected)
	}
	got := rejectReasons(r.wh)
	if len(got) != 1 || !strings.Contains(got[0], "email, ga_client_id, gclid") {
		t.Errorf("rejects %v, want one naming email, ga_client_id, gclid", got)
	}
	if l := r.wh.Latest(record.LeadsTable, "lead_id")["L1"]; l.Get("gclid") != "gclid-abc" {
		t.Errorf("L1's gclid %v after the narrower export, want gclid-abc kept", l.Get("gclid"))
	}

	// The same columns, emptied on purpose.
	write(t, d, "leads.csv", "lead_id,created_at,updated_at,email,ga_client_id,gclid,lifecycle_stage\n"+
		"L1,2024-03-01T10:00:00Z,2024-03-03T10:00:00Z,,,,mql\n")
	if _, loaded, _ := mustSync(t, r); loaded != 1 {
		t.Errorf("loaded %d of the export that empties the columns, want 1", loaded)
	}
	if l := r.wh.Latest(record.LeadsTable, "lead_id")["L1"]; l.Get("gclid") != nil || l.Get("lifecycle_stage") != "mql" {
		t.Errorf("L1 %v, want gclid emptied and stage mql", l)
	}
}

// Excel for Mac's "CSV (Macintosh)" ends lines with a bare CR: the file
// was one line, its header, and both rows vanished (read 0, rejected 0).
func TestBareCarriageReturnLinesRejectTheFile(t *testing.T) {
	for name, text := range map[string]string{
		"leads.csv":    "lead_id,email\rL1,a@example.com\rL2,b@example.com\r",
		"leads.ndjson": `{"lead_id":"L1"}` + "\r" + `{"lead_id":"L2"}` + "\r",
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, name, text)
			r := newRun(t, d, 100)
			if _, loaded, rejected := mustSync(t, r); loaded != 0 || rejected != 1 {
				t.Errorf("loaded %d, rejected %d; want the file as one reject", loaded, rejected)
			}
			if got := rejectReasons(r.wh); len(got) != 1 || !strings.Contains(got[0], "carriage return") {
				t.Errorf("rejects %v, want one about bare carriage returns", got)
			}
		})
	}
}

// NDJSON files joined with cat, the first without a final newline, put
// two objects on a line: the reader kept the first and dropped the rest.
func TestNDJSONLineOfMoreThanOneValueIsAReject(t *testing.T) {
	for name, text := range map[string]string{
		"joined":   `{"lead_id":"L1","created_at":"2024-03-01T10:00:00Z"}{"lead_id":"L2","created_at":"2024-03-01T10:00:00Z"}` + "\n",
		"trailing": `{"lead_id":"L1","created_at":"2024-03-01T10:00:00Z"} {"lead_id":"L2"` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, "leads.ndjson", text+`{"lead_id":"L3","created_at":"2024-03-01T10:00:00Z"}`+"\n")
			r := newRun(t, d, 100)
			if read, loaded, rejected := mustSync(t, r); read != 2 || loaded != 1 || rejected != 1 {
				t.Errorf("read %d, loaded %d, rejected %d; want the joined line rejected and L3 loaded", read, loaded, rejected)
			}
		})
	}
}

// A column named twice (two report columns both called Email) loaded the
// last one's value without a word.
func TestAColumnNamedTwiceIsNotGuessed(t *testing.T) {
	for name, c := range map[string][2]string{
		"csv":         {"leads.csv", "lead_id,email,created_at,Email\nL1,a@example.com,2024-03-01T10:00:00Z,b@example.com\n"},
		"csv id":      {"leads.csv", "lead_id,lead_id,created_at\nL1,L2,2024-03-01T10:00:00Z\n"},
		"ndjson":      {"leads.ndjson", `{"lead_id":"L1","email":"a@example.com","email":"b@example.com","created_at":"2024-03-01T10:00:00Z"}` + "\n"},
		"ndjson case": {"leads.ndjson", `{"lead_id":"L1","email":"a@example.com","Email":"b@example.com","created_at":"2024-03-01T10:00:00Z"}` + "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, c[0], c[1])
			r := newRun(t, d, 100)
			if _, loaded, rejected := mustSync(t, r); loaded != 0 || rejected != 1 {
				t.Errorf("loaded %d, rejected %d; want one reject", loaded, rejected)
			}
			if got := rejectReasons(r.wh); len(got) != 1 || !strings.Contains(got[0], "twice") {
				t.Errorf("rejects %v, want one naming the column given twice", got)
			}
		})
	}
}

// A CSV header matches in any case and spacing; NDJSON keys matched only
// exactly, and {"Email": …} loaded a lead without its email.
func TestNDJSONKeysMatchAsCSVHeadersDo(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.ndjson", `{"lead_id":"L1","Email":"a@example.com"," Created_At ":"2024-03-01T10:00:00Z"}`+"\n")
	r := newRun(t, d, 100)
	mustSync(t, r)
	l, ok := r.wh.Latest(record.LeadsTable, "lead_id")["L1"]
	if !ok || l.Get("email") != "a@example.com" || l.Get("created_at") == nil {
		t.Errorf("L1 %v (loaded %v), want its email and created_at", l, ok)
	}
}

// Excel writes a number of 12 or more digits in scientific notation with
// six significant digits: ids 123456789012 and 123457123456 both become
// 1.23457E+11, and an amount loses its digits.
func TestExcelScientificNotationIsAReject(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at\n"+
		"1.23457E+11,2024-03-01T10:00:00Z\n"+
		"1.23457E+11,2024-03-02T10:00:00Z\n"+
		"123456789012,2024-03-02T10:00:00Z\n")
	write(t, d, "deals.csv", "deal_id,lead_id,amount,currency\nD1,L1,1.23457E+11,USD\nD2,1.2E+11,10,USD\nD3,L1,10,USD\n")
	write(t, d, "accounts.csv", "account_id,name\n1.2E+11,Acme\n")
	write(t, d, "offline_touches.csv", "lead_id,touched_at,type\n1.2E+11,2024-03-01T10:00:00Z,event\n")
	r := newRun(t, d, 100)
	if read, loaded, rejected := mustSync(t, r); read != 8 || loaded != 2 || rejected != 6 {
		t.Errorf("read %d, loaded %d, rejected %d; want 8, 2 (123456789012, D3), 6", read, loaded, rejected)
	}
	for _, reason := range rejectReasons(r.wh) {
		if !strings.Contains(reason, "scientific notation") {
			t.Errorf("reject %q does not say why", reason)
		}
	}
}

// A semicolon-separated export comes from a locale whose decimal mark is
// the comma: there 1.234 is one thousand two hundred and thirty-four, and
// SAM loaded 1.234. Only the shape of thousands groups is ambiguous.
func TestThousandsShapedAmountInASemicolonFileIsAReject(t *testing.T) {
	d := t.TempDir()
	write(t, d, "deals.csv", "deal_id;amount;currency\nD1;1.234;EUR\nD2;12.5;EUR\nD3;1.234.567;EUR\nD4;1234;EUR\n")
	r := newRun(t, d, 100)
	mustSync(t, r)
	got := r.wh.Latest(record.DealsTable, "deal_id")
	if _, ok := got["D1"]; ok {
		t.Error("D1's 1.234 loaded; in a semicolon file it may be 1234")
	}
	if _, ok := got["D3"]; ok {
		t.Error("D3's 1.234.567 loaded")
	}
	if _, ok := got["D2"]; !ok {
		t.Error("D2's 12.5 was rejected; it is no thousands group")
	}
	if _, ok := got["D4"]; !ok {
		t.Error("D4's 1234 was rejected")
	}
	// In a comma-separated file the dot is the decimal mark.
	write(t, d, "deals.csv", "deal_id,amount,currency\nD5,1.234,EUR\n")
	mustSync(t, r)
	if d5 := r.wh.Latest(record.DealsTable, "deal_id")["D5"]; d5.Get("amount") == nil {
		t.Error("D5's 1.234 in a comma file was rejected")
	}
}

// Tab-separated exports come from decimal-comma locales as often as
// semicolon-separated ones, so a deal's 1.234 may be 1234 there; it loaded
// as 1.234. The file's other amounts decide where a locale's formatting
// shows its decimal mark; where none does, the deal is rejected. The
// evidence may come after the deal, and batches hold one row: the loader
// reads ahead for it without holding rows.
func TestThousandsShapedAmountInATabFileIsNotGuessed(t *testing.T) {
	const h = "deal_id\tamount\tcurrency\n"
	for name, c := range map[string]amountCase{
		"nothing tells": {
			text:   h + "D1\t1.234\tEUR\nD2\t10\tEUR\nD3\t1234.5\tEUR\nD4\t12.50\tEUR\n",
			reason: `amount "1.234" is ambiguous: in a tab-separated export the dot may group thousands (1234), and no other amount of the file shows which mark it writes decimals with`,
			read:   4, loaded: 3,
		},
		"commas grouping thousands elsewhere": {
			text:   h + "D1\t1.234\tEUR\nD2\t10\tEUR\nD3\t1,234.56\tEUR\n",
			amount: "1.234",
			read:   3, loaded: 2, // D3 is no plain decimal
		},
		"a decimal comma elsewhere": {
			text:   h + "D1\t1.234\tEUR\nD2\t10\tEUR\nD3\t12,50\tEUR\n",
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 4: "12,50"), so its dot groups thousands`,
			read:   3, loaded: 1,
		},
		"a decimal comma before": {
			text:   h + "D0\t12,50\tEUR\nD2\t10\tEUR\nD1\t1.234\tEUR\n",
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 2: "12,50")`,
			read:   3, loaded: 1,
		},
		"a decimal comma after a field of two lines": {
			text:   "deal_id\tnotes\tamount\tcurrency\n" + "D1\t\t1.234\tEUR\nD2\t\"a\nb\"\t10\tEUR\nD3\t\t12,50\tEUR\n",
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 5: "12,50")`,
			read:   3, loaded: 1,
		},
		"semicolons and a decimal comma": {
			text:   strings.ReplaceAll(h+"D1\t1.234\tEUR\nD2\t12,50\tEUR\n", "\t", ";"),
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 3: "12,50")`,
			read:   2, loaded: 0,
		},
	} {
		t.Run(name, func(t *testing.T) {
			c.check(t, "deals.csv", func(raw string) bool { return strings.HasPrefix(raw, "D1") })
		})
	}
}

// amountCase is a deals file and what becomes of its deal D1's amount.
type amountCase struct {
	text   string
	amount any    // D1's amount loaded, nil when rejected
	reason string // D1's reject
	read   int64
	loaded int64
}

// check loads the file, named name, a row a batch, and checks the counts,
// D1's amount, and the reject of the raw row isD1 tells.
func (c amountCase) check(t *testing.T, name string, isD1 func(raw string) bool) {
	t.Helper()
	d := t.TempDir()
	write(t, d, name, c.text)
	r := newRun(t, d, 1)
	read, loaded, rejected := mustSync(t, r)
	if read != c.read || loaded != c.loaded || read != loaded+rejected {
		t.Errorf("read %d, loaded %d, rejected %d; want %d read = %d loaded + the rest rejected", read, loaded, rejected, c.read, c.loaded)
	}
	d1, ok := r.wh.Latest(record.DealsTable, "deal_id")["D1"]
	if got := d1.Get("amount"); c.amount != nil && got != c.amount || c.amount == nil && ok {
		t.Errorf("D1 loaded %v with amount %v, want amount %v", ok, got, c.amount)
	}
	var got string
	for raw, reason := range rejects(r.wh) {
		if isD1(raw) {
			got = reason
		}
	}
	if !strings.HasPrefix(got, c.reason) || c.reason == "" && got != "" {
		t.Errorf("D1's reject %q, want it to start %q", got, c.reason)
	}
}

// A quoted field of any number of lines is one record (RFC 4180): an
// email thread of 120 lines in a notes column became 121 rejects.
func TestAQuotedFieldOfManyLinesIsOneRecord(t *testing.T) {
	notes := strings.Repeat("> a line of the email thread\n", 120)
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,notes,created_at\nL1,\""+notes+"end\",2024-03-01T10:00:00Z\nL2,n,2024-03-01T10:00:00Z\n")
	r := newRun(t, d, 100)
	if read, loaded, rejected := mustSync(t, r); read != 2 || loaded != 2 || rejected != 0 {
		t.Errorf("read %d, loaded %d, rejected %d; want 2, 2, 0", read, loaded, rejected)
	}
}

// Exports joined with cat repeat the header: it loaded as a lead whose id
// is "lead_id".
func TestARepeatedHeaderIsAReject(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at\nL1,2024-03-01T10:00:00Z\nLead_ID,Created_At\nL2,2024-03-01T10:00:00Z\n")
	r := newRun(t, d, 100)
	if read, loaded, rejected := mustSync(t, r); read != 3 || loaded != 2 || rejected != 1 {
		t.Errorf("read %d, loaded %d, rejected %d; want the header line rejected", read, loaded, rejected)
	}
	if got := rejectReasons(r.wh); len(got) != 1 || !strings.Contains(got[0], "header") {
		t.Errorf("rejects %v, want one saying the header repeats", got)
	}
}

// A browser saves a second download as "leads (1).csv"; it was ignored
// without a word beside leads.csv.
func TestFilesNamedLikeAnExportAreNamed(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at\nL1,2024-03-01T10:00:00Z\n")
	write(t, d, "leads (1).csv", "lead_id,created_at\nL2,2024-03-02T10:00:00Z\n")
	write(t, d, "leads_2026-12-07.ndjson", "")
	var logs bytes.Buffer
	src, err := file.New(file.Options{Dir: d, Overlap: 10 * time.Minute, BatchSize: 100, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &run{src: src, wh: memwh.New(), cursors: memwh.NewCursors(), rowLog: memwh.NewRowLog()}
	mustSync(t, r)
	for _, name := range []string{"leads (1).csv", "leads_2026-12-07.ndjson"} {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("no warning names %q:\n%s", name, logs.String())
		}
	}
}

// DuckDB cuts text at a NUL byte: a company "Acme\x00 GmbH" loaded as
// "Acme", a value changed without a word. The line is a reject, its raw
// text showing the byte.
func TestALineHoldingANULIsAReject(t *testing.T) {
	d := t.TempDir()
	write(t, d, "leads.csv", "lead_id,created_at,company\nL1,2024-03-01T10:00:00Z,Acme\x00 GmbH\nL2,2024-03-01T10:00:00Z,Beta\n")
	write(t, d, "deals.ndjson", `{"deal_id":"D1","stage":"won\u0000x"}`+"\n")
	r := newRun(t, d, 100)
	if read, loaded, rejected := mustSync(t, r); read != 3 || loaded != 1 || rejected != 2 {
		t.Errorf("read %d, loaded %d, rejected %d; want L1 and D1 rejected, L2 loaded", read, loaded, rejected)
	}
	for raw, reason := range rejects(r.wh) {
		if !strings.Contains(reason, "NUL") {
			t.Errorf("reject %q (raw %q) does not name the NUL byte", reason, raw)
		}
	}
}

// A line with a NUL in two columns named one of them at random (the row's
// fields are a map), so the same file gave load_rejects a different reason
// from one load to the next. It names the first by name.
func TestANULRejectNamesTheSameColumnEveryTime(t *testing.T) {
	for i := range 20 {
		d := t.TempDir()
		write(t, d, "leads.csv", "lead_id,created_at,company,gclid,lifecycle_stage\nL1,2024-03-01T10:00:00Z,Acme\x00,Cj0\x00,le\x00ad\n")
		r := newRun(t, d, 100)
		mustSync(t, r)
		for _, reason := range rejects(r.wh) {
			if !strings.Contains(reason, "field company ") {
				t.Fatalf("load %d: reason %q, want the first column by name with a NUL, company", i, reason)
			}
		}
	}
}

// An NDJSON amount given as text ("1.234") was written by a formatter,
// which groups thousands with a dot where the comma is the decimal mark; it
// loaded as 1.234. As in a tab-separated file, the file's other text
// amounts decide; a JSON number is JSON's, with a decimal dot.
func TestThousandsShapedTextAmountInNDJSONIsNotGuessed(t *testing.T) {
	deal := func(id string, amount string) string {
		return `{"deal_id":"` + id + `","amount":` + amount + `,"currency":"EUR"}` + "\n"
	}
	for name, c := range map[string]amountCase{
		"a number": {
			text:   deal("D1", `1.234`) + deal("D2", `"12,50"`),
			amount: "1.234",
			read:   2, loaded: 1,
		},
		"text, and nothing tells": {
			text:   deal("D1", `"1.234"`) + deal("D2", `"10"`) + deal("D3", `1234.5`),
			reason: `amount "1.234" is ambiguous: written as text, the dot may group thousands (1234), and no other amount of the file shows which mark it writes decimals with`,
			read:   3, loaded: 2,
		},
		"text, and commas grouping thousands elsewhere": {
			text:   deal("D1", `"1.234"`) + deal("D2", `"1,234.56"`),
			amount: "1.234",
			read:   2, loaded: 1,
		},
		"text, and a decimal comma before": {
			text:   deal("D0", `"12,50"`) + deal("D1", `"1.234"`),
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 1: "12,50")`,
			read:   2, loaded: 0,
		},
		"text, and a decimal comma after, under another key case": {
			text:   deal("D1", `"1.234"`) + `{"deal_id":"D2","Amount":"12,50","currency":"EUR"}` + "\n",
			reason: `amount "1.234" is 1234: the file writes decimals with a comma (line 2: "12,50")`,
			read:   2, loaded: 0,
		},
	} {
		t.Run(name, func(t *testing.T) {
			c.check(t, "deals.ndjson", func(raw string) bool { return strings.Contains(raw, `"D1"`) })
		})
	}
}
