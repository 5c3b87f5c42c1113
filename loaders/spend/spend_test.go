package spend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// fakeWH records loads; the loader needs nothing else from a warehouse.
type fakeWH struct {
	mu     sync.Mutex
	tables map[string][][]any
	modes  map[string][]warehouse.LoadMode
}

func newFake() *fakeWH {
	return &fakeWH{tables: map[string][][]any{}, modes: map[string][]warehouse.LoadMode{}}
}

func (f *fakeWH) Dialect() warehouse.Dialect    { return duckdb.Dialect{} }
func (f *fakeWH) QualifiedName(t string) string { return t }
func (f *fakeWH) Close() error                  { return nil }
func (f *fakeWH) Describe(context.Context, string) (warehouse.Schema, error) {
	return warehouse.Schema{}, warehouse.ErrNotFound
}

// Exec keeps the rows of the system tables' INSERTs (rejects).
func (f *fakeWH) Exec(_ context.Context, sql string, args ...any) (warehouse.Result, error) {
	if table, rows, ok := warehousetest.ParseInsert(sql, args); ok {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tables[table] = append(f.tables[table], rows...)
		return warehouse.Result{RowsAffected: int64(len(rows))}, nil
	}
	return warehouse.Result{}, nil
}
func (f *fakeWH) Query(context.Context, string, ...any) (warehouse.Rows, error) {
	return nil, io.EOF
}
func (f *fakeWH) DryRun(context.Context, string) (warehouse.Estimate, error) {
	return warehouse.Estimate{}, nil
}
func (f *fakeWH) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	var rows [][]any
	for {
		r, err := req.Rows.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return warehouse.LoadResult{}, err
		}
		if len(r) != len(req.Schema.Columns) {
			return warehouse.LoadResult{}, fmt.Errorf("%s: row has %d values, schema %d", req.Table, len(r), len(req.Schema.Columns))
		}
		rows = append(rows, r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modes[req.Table] = append(f.modes[req.Table], req.Mode)
	if req.Mode == warehouse.Replace {
		f.tables[req.Table] = nil
	}
	f.tables[req.Table] = append(f.tables[req.Table], rows...)
	return warehouse.LoadResult{RowsLoaded: int64(len(rows))}, nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	spendDir := filepath.Join(dir, "spend")
	if err := os.Mkdir(spendDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(spendDir, "google.csv"), "date,source,medium,campaign,cost,currency\n"+
		"2024-03-01,google,cpc,brand,120.50,USD\n"+
		"2024-03-02,Google,CPC,,99,eur\n"+
		"\n"+
		"2024-02-30,google,cpc,brand,10,USD\n"+ // bad date
		"2024-03-03,google,cpc,brand,ten,USD\n"+ // non-numeric cost
		"2024-03-03,google,cpc,brand,10,XYZ\n"+ // unknown currency
		"2024-03-03,google,cpc,10,USD\n") // wrong column count
	write(t, filepath.Join(spendDir, "meta.csv"), "currency,cost,campaign,medium,source,date\r\nGBP,1.234,retarget,paid_social,facebook,2024-03-01\r\n")
	write(t, filepath.Join(spendDir, "notes.txt"), "not a spend file\n")
	fxFile := filepath.Join(dir, "fx.csv")
	write(t, fxFile, "date,from_currency,to_currency,rate\n"+
		"2024-03-01,EUR,USD,1.08\n"+
		"2024-03-01,GBP,USD,1.27\n"+
		"2024-03-01,EUR,USD,1.09\n"+ // duplicate
		"2024-03-02,USD,USD,1\n"+ // same currency
		"2024-03-02,EUR,USD,0\n") // not positive

	wh := newFake()
	cfg := Options{Dir: spendDir, FXRatesFile: fxFile}
	result, err := Load(context.Background(), wh, cfg, "run-1", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	want := loaders.Counts{Read: 12, Loaded: 5, Rejected: 7}
	counts.Bytes = 0
	if counts != want {
		t.Fatalf("counts = %+v, want %+v", counts, want)
	}

	spend := wh.tables[SpendTable]
	if len(spend) != 3 {
		t.Fatalf("spend rows = %d, want 3: %v", len(spend), spend)
	}
	day := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	got := spend[1]
	if !got[0].(time.Time).Equal(day) || got[1] != "google" || got[2] != "cpc" || got[3] != nil || got[4] != "99" || got[5] != "EUR" || got[6] != "google.csv" || got[7] != int64(3) {
		t.Errorf("second spend row = %v", got)
	}
	if meta := spend[2]; meta[1] != "facebook" || meta[2] != "paid_social" || meta[3] != "retarget" || meta[4] != "1.234" || meta[5] != "GBP" {
		t.Errorf("reordered-header row = %v", meta)
	}
	if n := len(wh.tables[FXTable]); n != 2 {
		t.Errorf("fx rows = %d, want 2", n)
	}

	rejects := wh.tables[loaders.RejectsTable]
	wantReasons := []struct{ object, reason, raw string }{
		{"google.csv", `line 5: bad date "2024-02-30"`, "2024-02-30,google,cpc,brand,10,USD"},
		{"google.csv", `line 6: cost "ten" is not a decimal number`, "2024-03-03,google,cpc,brand,ten,USD"},
		{"google.csv", `line 7: unknown currency currency "XYZ"`, "2024-03-03,google,cpc,brand,10,XYZ"},
		{"google.csv", "line 8 has 5 columns, header has 6", "2024-03-03,google,cpc,10,USD"},
		{"fx.csv", "line 4: duplicate rate for 2024-03-01 EUR->USD (first on line 2)", "2024-03-01,EUR,USD,1.09"},
		{"fx.csv", "line 5: from_currency and to_currency are both USD", "2024-03-02,USD,USD,1"},
		{"fx.csv", "line 6: rate 0 is not positive", "2024-03-02,EUR,USD,0"},
	}
	if len(rejects) != len(wantReasons) {
		t.Fatalf("rejects = %d, want %d: %v", len(rejects), len(wantReasons), rejects)
	}
	for i, w := range wantReasons {
		r := rejects[i]
		if r[0] != "run-1" || r[2] != w.object || !strings.HasPrefix(r[3].(string), w.reason) || r[4] != w.raw {
			t.Errorf("reject %d = %v, want object %s reason %q raw %q", i, r, w.object, w.reason, w.raw)
		}
	}

	// A second load of the same files replaces, never duplicates.
	if _, err := Load(context.Background(), wh, cfg, "run-2", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(wh.tables[SpendTable]); n != 3 {
		t.Errorf("spend rows after reload = %d, want 3", n)
	}
	if m := wh.modes[SpendTable]; m[len(m)-1] != warehouse.Replace {
		t.Errorf("spend load mode = %v, want replace", m)
	}
}

func TestLoadMissingInputsLoadsEmptyTables(t *testing.T) {
	dir := t.TempDir()
	wh := newFake()
	cfg := Options{Dir: filepath.Join(dir, "none"), FXRatesFile: filepath.Join(dir, "none.csv")}
	result, err := Load(context.Background(), wh, cfg, "r", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	if counts != (loaders.Counts{}) {
		t.Errorf("counts = %+v, want zero", counts)
	}
	if len(wh.modes[SpendTable]) != 1 || len(wh.modes[FXTable]) != 1 {
		t.Errorf("want one (empty) replace of each table, got %v", wh.modes)
	}
}

func TestBadHeaderRejectsEveryRow(t *testing.T) {
	rows, rejects, counts := parseSpend("x.csv", []byte("day,source,medium,campaign,cost,currency\n2024-01-01,a,b,c,1,USD\n"), time.Now())
	if len(rows) != 0 || len(rejects) != 1 || counts.Read != 1 || counts.Rejected != 1 {
		t.Fatalf("rows=%v rejects=%v counts=%+v", rows, rejects, counts)
	}
	if want := "header lacks column(s) date"; !strings.HasPrefix(rejects[0].Reason, want) {
		t.Errorf("reason = %q, want prefix %q", rejects[0].Reason, want)
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]string{"12": "12", "+1.50": "1.50", "0.123456789": "0.123456789", "7.": "7"} {
		if got, err := parseDecimal("cost", in, loaders.NewDecimalMarks(',')); err != nil || got != want {
			t.Errorf("parseDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1e5", "1,000.00", "NaN", "0.1234567891", "$5"} {
		if _, err := parseDecimal("cost", in, loaders.NewDecimalMarks(',')); err == nil {
			t.Errorf("parseDecimal(%q) succeeded, want error", in)
		}
	}
}

// TestSecondCopyOfASpendFileIsRejected is issue 15 item 13: the browser's
// second download of the same month, "spend_202611 (1).csv", must not double
// that month's spend. Each of its rows is a reject naming the row it copies.
func TestSecondCopyOfASpendFileIsRejected(t *testing.T) {
	dir := t.TempDir()
	month := "date,source,medium,campaign,cost,currency\n" +
		"2026-11-01,google,cpc,brand,120.50,USD\n" +
		"2026-11-01,facebook,paid_social,retarget,40,USD\n" +
		// Two ad groups of one campaign with the same cost: one file's
		// identical rows are segments of the export, both loaded.
		"2026-11-02,google,cpc,brand,10.00,USD\n" +
		"2026-11-02,google,cpc,brand,10.00,USD\n"
	write(t, filepath.Join(dir, "spend_202611.csv"), month)
	write(t, filepath.Join(dir, "spend_202611 (1).csv"), month)
	fx := filepath.Join(dir, "fx.csv")
	write(t, fx, "date,from_currency,to_currency,rate\n")

	wh := newFake()
	result, err := Load(context.Background(), wh, Options{Dir: dir, FXRatesFile: fx}, "run-1", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	counts.Bytes = 0
	if want := (loaders.Counts{Read: 8, Loaded: 4, Rejected: 4}); counts != want {
		t.Errorf("counts = %+v, want %+v", counts, want)
	}
	for _, r := range wh.tables[SpendTable] {
		if r[6] != "spend_202611.csv" {
			t.Errorf("loaded row from %v, want only the original file: %v", r[6], r)
		}
	}
	if n := len(wh.tables[SpendTable]); n != 4 {
		t.Errorf("spend rows = %d, want 4", n)
	}
	rejects := wh.tables[loaders.RejectsTable]
	if len(rejects) != 4 {
		t.Fatalf("rejects = %d, want 4: %v", len(rejects), rejects)
	}
	for i, r := range rejects {
		line := i + 2
		want := fmt.Sprintf("line %d: duplicate of spend_202611.csv:%d", line, line)
		if r[2] != "spend_202611 (1).csv" || r[3] != want {
			t.Errorf("reject %d = object %v reason %q, want object %q reason %q", i, r[2], r[3], "spend_202611 (1).csv", want)
		}
	}
}

// TestOverlappingSpendFiles keeps the rows a later export adds and rejects
// only those it repeats; a number written differently is the same number.
func TestOverlappingSpendFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.csv"), "date,source,medium,campaign,cost,currency\n"+
		"2026-11-01,google,cpc,brand,120.50,USD\n")
	write(t, filepath.Join(dir, "b.csv"), "date,source,medium,campaign,cost,currency\n"+
		"2026-11-01,Google,CPC,brand,120.5,usd\n"+
		"2026-11-02,google,cpc,brand,99,USD\n")
	fx := filepath.Join(dir, "fx.csv")
	write(t, fx, "date,from_currency,to_currency,rate\n")
	wh := newFake()
	result, err := Load(context.Background(), wh, Options{Dir: dir, FXRatesFile: fx}, "r", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	counts.Bytes = 0
	if want := (loaders.Counts{Read: 3, Loaded: 2, Rejected: 1}); counts != want {
		t.Errorf("counts = %+v, want %+v", counts, want)
	}
	if r := wh.tables[loaders.RejectsTable]; len(r) != 1 || r[0][3] != "line 2: duplicate of a.csv:2" {
		t.Errorf("rejects = %v", r)
	}
}

func TestFileOrderPutsCopiesLast(t *testing.T) {
	names := []string{"spend_202611 copy.csv", "spend_202611 (1).csv", "spend_202611 - Copy.csv", "spend_202612.csv", "spend_202611.csv", "spend_202611 (2).csv"}
	sort.Slice(names, func(i, j int) bool { return fileOrder(names[i], names[j]) })
	want := []string{"spend_202611.csv", "spend_202611 (1).csv", "spend_202611 (2).csv", "spend_202611 - Copy.csv", "spend_202611 copy.csv", "spend_202612.csv"}
	if !slices.Equal(names, want) {
		t.Errorf("order = %q, want %q", names, want)
	}
}

// A spend or rates file that cannot be read as an export (no header line,
// or a header without the columns) keeps the rows its last good version
// loaded: both tables are replaced on every load, and before, an empty
// spend_202612.csv took December's spend out without a reject or a word.
func TestDamagedFileKeepsWhatItLoadedBefore(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	dir := t.TempDir()
	nov, dec, fx := filepath.Join(dir, "spend_202611.csv"), filepath.Join(dir, "spend_202612.csv"), filepath.Join(t.TempDir(), "fx.csv")
	write(t, nov, "date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,10,USD\n2026-11-02,google,cpc,x,20,USD\n")
	write(t, dec, "date,source,medium,campaign,cost,currency\n2026-12-01,google,cpc,x,5,EUR\n")
	write(t, fx, "date,from_currency,to_currency,rate\n2026-12-01,EUR,USD,1.08\n")
	cfg := Options{Dir: dir, FXRatesFile: fx}
	if _, err := Load(ctx, db, cfg, "first", nil); err != nil {
		t.Fatal(err)
	}
	write(t, dec, "")
	write(t, fx, "\n")
	write(t, filepath.Join(dir, "spend_202610.csv"), "day,src,medium,campaign,cost,currency\n") // a header alone, and not the export's
	result, err := Load(ctx, db, cfg, "second", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	got := spendByFile(t, db)
	if strings.Join(got, ",") != "spend_202611.csv:30.000000000,spend_202612.csv:5.000000000" {
		t.Errorf("spend %v, want November reloaded and December as loaded before", got)
	}
	if got := samtest.QueryStrings(t, db, "SELECT count(*) FROM raw_fx__rates"); strings.Join(got, ",") != "1" {
		t.Errorf("rates %v, want the one loaded before", got)
	}
	rj := samtest.QueryStrings(t, db, "SELECT object || ': ' || reason FROM load_rejects WHERE run_id = 'second' ORDER BY object")
	want := []string{"fx.csv: empty file", "spend_202610.csv: header lacks column(s) date, source", "spend_202612.csv: empty file"}
	if len(rj) != len(want) {
		t.Fatalf("rejects %v, want %v", rj, want)
	}
	for i := range want {
		if !strings.HasPrefix(rj[i], want[i]) {
			t.Errorf("reject %q, want it to start %q", rj[i], want[i])
		}
	}
	if counts.Read != counts.Loaded+counts.Rejected || counts.Loaded != 2 || counts.Rejected != 3 {
		t.Errorf("counts %+v, want November's 2 rows loaded and the 3 files rejected", counts)
	}
}

// openDuck opens an in-memory DuckDB warehouse for one test.
func openDuck(t *testing.T) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), "", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Exports from European locales separate fields with semicolons (the comma
// is their decimal mark); the CRM file loader already reads them. Before,
// every row of such a spend file was rejected for a header without the
// columns.
func TestSemicolonAndTabSeparatedFilesLoad(t *testing.T) {
	for name, text := range map[string]string{
		"semicolon": "date;source;medium;campaign;cost;currency\n2026-11-01;google;cpc;brand;12.50;EUR\n",
		"tab":       "date\tsource\tmedium\tcampaign\tcost\tcurrency\n2026-11-01\tgoogle\tcpc\tbrand\t12.50\tEUR\n",
	} {
		t.Run(name, func(t *testing.T) {
			rows, rejects, counts := parseSpend("spend.csv", []byte(text), time.Now())
			if len(rows) != 1 || len(rejects) != 0 || counts.Loaded != 1 {
				t.Fatalf("rows %v, rejects %v", rows, rejects)
			}
			if rows[0][4] != "12.50" || rows[0][5] != "EUR" {
				t.Errorf("row %v", rows[0])
			}
		})
	}
	// A decimal comma is not guessed at: the row is rejected.
	_, rejects, _ := parseSpend("spend.csv", []byte("date;source;medium;campaign;cost;currency\n2026-11-01;google;cpc;brand;12,50;EUR\n"), time.Now())
	if len(rejects) != 1 || !strings.Contains(rejects[0].Reason, "cost") {
		t.Errorf("rejects %v, want the row with cost 12,50", rejects)
	}
}

// Spend is what was spent: a row dated after today is a typo (2062 for
// 2026), and would show as spend in a month to come. It is rejected, as a
// CRM row dated in the future is. Before, it loaded.
func TestSpendDatedInTheFutureIsRejected(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	text := "date,source,medium,campaign,cost,currency\n" +
		"2026-11-21,google,cpc,brand,10,USD\n" + // tomorrow: time zones, allowed
		"2062-11-20,google,cpc,brand,10,USD\n"
	rows, rejects, _ := parseSpend("spend.csv", []byte(text), now)
	if len(rows) != 1 || len(rejects) != 1 || !strings.Contains(rejects[0].Reason, "in the future") {
		t.Errorf("rows %v, rejects %v; want 2062-11-20 rejected as in the future", rows, rejects)
	}
}

// A damaged file whose copy loads is replaced by the copy: keeping the
// damaged file's old rows beside the copy's would count that spend twice.
func TestDamagedFileWithASoundCopyIsNotKept(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	dir := t.TempDir()
	month := "date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,10,USD\n"
	write(t, filepath.Join(dir, "spend_202611.csv"), month)
	cfg := Options{Dir: dir, FXRatesFile: filepath.Join(t.TempDir(), "fx.csv")}
	if _, err := Load(ctx, db, cfg, "first", nil); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "spend_202611.csv"), "")
	write(t, filepath.Join(dir, "spend_202611 (1).csv"), month)
	if _, err := Load(ctx, db, cfg, "second", nil); err != nil {
		t.Fatal(err)
	}
	got := spendByFile(t, db)
	if strings.Join(got, ",") != "spend_202611 (1).csv:10.000000000" {
		t.Errorf("spend %v, want the copy's 10 alone", got)
	}
}

// A spend file none of whose rows loads is damaged too: a re-export with
// dates written 11/01/2026 would otherwise take the month's spend out.
func TestFileWithNoRowToLoadKeepsWhatItLoadedBefore(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	dir := t.TempDir()
	nov := filepath.Join(dir, "spend_202611.csv")
	write(t, nov, "date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,10,USD\n2026-11-02,google,cpc,x,20,USD\n")
	cfg := Options{Dir: dir, FXRatesFile: filepath.Join(t.TempDir(), "fx.csv")}
	if _, err := Load(ctx, db, cfg, "first", nil); err != nil {
		t.Fatal(err)
	}
	write(t, nov, "date,source,medium,campaign,cost,currency\n11/01/2026,google,cpc,x,10,USD\n11/02/2026,google,cpc,x,25,USD\n")
	result, err := Load(ctx, db, cfg, "second", nil)
	counts := result.Total()
	if err != nil {
		t.Fatal(err)
	}
	if got := samtest.QueryStrings(t, db, "SELECT CAST(sum(cost) AS VARCHAR) FROM raw_spend__daily"); strings.Join(got, ",") != "30.000000000" {
		t.Errorf("spend %v, want the 30 loaded before", got)
	}
	if counts.Rejected != 2 || counts.Loaded != 0 {
		t.Errorf("counts %+v, want both rows rejected with their reasons", counts)
	}
}

// A report with "Cost" in the account's currency and "Cost" converted names
// the column twice. Before, the last one loaded, silently; the file is now
// rejected, naming the column.
func TestDuplicateHeaderColumnIsNotGuessed(t *testing.T) {
	for name, text := range map[string]string{
		"comma":     "date,source,medium,campaign,cost,currency,cost\n2026-11-01,google,cpc,x,10,USD,999\n",
		"semicolon": "date;source;medium;campaign;Cost;currency;cost\n2026-11-01;google;cpc;x;10;USD;999\n",
	} {
		t.Run(name, func(t *testing.T) {
			rows, rejects, _ := parseSpend("spend.csv", []byte(text), time.Now())
			if len(rows) != 0 || len(rejects) != 1 || !strings.Contains(rejects[0].Reason, "cost") || !strings.Contains(rejects[0].Reason, "twice") {
				t.Errorf("rows %v, rejects %v; want the row rejected for the column cost named twice", rows, rejects)
			}
		})
	}
}

// A semicolon-separated export comes from a locale whose decimal mark is
// the comma, where "1.234" is 1234. Before, it loaded as 1.234. A dot
// followed by other than three digits cannot group thousands, and loads.
func TestSemicolonFileCostWithThousandsDotIsNotGuessed(t *testing.T) {
	text := "date;source;medium;campaign;cost;currency\n" +
		"2026-11-01;google;cpc;x;1.234;EUR\n" +
		"2026-11-02;google;cpc;x;1234.567;EUR\n" +
		"2026-11-03;google;cpc;x;1.23;EUR\n"
	rows, rejects, _ := parseSpend("spend.csv", []byte(text), time.Now())
	if len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reason, `line 2: cost "1.234" is ambiguous`) {
		t.Errorf("rejects %v; want line 2's cost 1.234 rejected as ambiguous", rejects)
	}
	if len(rows) != 2 || rows[0][4] != "1234.567" || rows[1][4] != "1.23" {
		t.Errorf("rows %v; want 1234.567 and 1.23 loaded", rows)
	}
	// A comma-separated file's decimal mark is the dot.
	if rows, _, _ := parseSpend("spend.csv", []byte("date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,1.234,EUR\n"), time.Now()); len(rows) != 1 || rows[0][4] != "1.234" {
		t.Errorf("rows %v; want 1.234 loaded from a comma-separated file", rows)
	}
	// A rate is a number like a cost: USD to KRW 1.350 may be 1350.
	if _, rejects, _ := parseFX("fx.csv", []byte("date;from_currency;to_currency;rate\n2026-11-01;USD;KRW;1.350\n"), time.Now()); len(rejects) != 1 || !strings.Contains(rejects[0].Reason, "ambiguous") {
		t.Errorf("rejects %v; want the rate 1.350 rejected as ambiguous", rejects)
	}
}

// Tab-separated exports come from the same decimal-comma locales as
// semicolon-separated ones (Excel's "Unicode text", ad reports saved as
// TSV), so "1.234" may be 1234 there too. Before, it loaded as 1.234. The
// file's other amounts decide where a locale's formatting shows which mark
// it writes decimals with; where none does, the row is rejected.
func TestTabFileCostWithThousandsDotIsNotGuessed(t *testing.T) {
	h := "date\tsource\tmedium\tcampaign\tcost\tcurrency\n"
	row := func(day int, cost string) string {
		return fmt.Sprintf("2026-11-%02d\tgoogle\tcpc\tx\t%s\tEUR\n", day, cost)
	}
	for name, c := range map[string]struct {
		text   string
		loaded []string // costs loaded, in order
		reason string   // the reject of line 2, which holds 1.234
		read   int64
	}{
		"nothing tells": {
			text:   h + row(1, "1.234") + row(2, "10") + row(3, "1234.5") + row(4, "12.50"),
			loaded: []string{"10", "1234.5", "12.50"},
			reason: `line 2: cost "1.234" is ambiguous: in a tab-separated export the dot may group thousands (1234)`,
			read:   4,
		},
		"a decimal comma elsewhere": {
			text:   h + row(1, "1.234") + row(2, "10") + row(3, "12,50"),
			loaded: []string{"10"},
			reason: `line 2: cost "1.234" is 1234: the file writes decimals with a comma (line 4: "12,50")`,
			read:   3,
		},
		"dots grouping thousands elsewhere": {
			text:   h + row(1, "1.234") + row(2, "10") + row(3, "1.234,56"),
			loaded: []string{"10"},
			reason: `line 2: cost "1.234" is 1234: the file writes decimals with a comma (line 4: "1.234,56")`,
			read:   3,
		},
		"commas grouping thousands elsewhere": {
			text:   h + row(1, "1.234") + row(2, "10") + row(3, "1,234.56"),
			loaded: []string{"1.234", "10"},
			read:   3,
		},
		"both elsewhere": {
			text:   h + row(1, "1.234") + row(2, "10") + row(3, "1,234.56") + row(4, "12,50"),
			loaded: []string{"10"},
			reason: `line 2: cost "1.234" is ambiguous: the file writes decimals with a dot (line 4: "1,234.56") and with a comma (line 5: "12,50")`,
			read:   4,
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "google_ads.csv"), c.text)
			wh := newFake()
			result, err := Load(context.Background(), wh, Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}, "r1", nil)
			if err != nil {
				t.Fatal(err)
			}
			counts := result.Spend
			if counts.Read != c.read || counts.Read != counts.Loaded+counts.Rejected || counts.Loaded != int64(len(c.loaded)) {
				t.Errorf("counts %+v; want %d read, %d loaded and the rest rejected", counts, c.read, len(c.loaded))
			}
			var costs []string
			for _, r := range wh.tables[SpendTable] {
				costs = append(costs, r[4].(string))
			}
			if !slices.Equal(costs, c.loaded) {
				t.Errorf("costs loaded %q, want %q", costs, c.loaded)
			}
			var reason string
			for _, r := range wh.tables[loaders.RejectsTable] {
				if r[4] == "2026-11-01\tgoogle\tcpc\tx\t1.234\tEUR" {
					reason = r[3].(string)
				}
			}
			if c.reason != "" && !strings.HasPrefix(reason, c.reason) {
				t.Errorf("1.234's reject %q, want it to start %q", reason, c.reason)
			}
			if c.reason == "" && reason != "" {
				t.Errorf("1.234 rejected (%q), want it loaded", reason)
			}
		})
	}
	// A semicolon-separated file's decimal comma makes 1.234 certain too.
	if _, rejects, _ := parseSpend("spend.csv", []byte("date;source;medium;campaign;cost;currency\n2026-11-01;google;cpc;x;1.234;EUR\n2026-11-02;google;cpc;x;12,50;EUR\n"), time.Now()); len(rejects) != 2 || !strings.HasPrefix(rejects[0].Reason, `line 2: cost "1.234" is 1234: `) {
		t.Errorf("rejects %v; want 1.234 rejected as 1234", rejects)
	}
	// A rate is a number like a cost: USD to KRW 1.350 may be 1350.
	if _, rejects, _ := parseFX("fx.csv", []byte("date\tfrom_currency\tto_currency\trate\n2026-11-01\tUSD\tKRW\t1.350\n"), time.Now()); len(rejects) != 1 || !strings.Contains(rejects[0].Reason, `rate "1.350" is ambiguous`) {
		t.Errorf("rejects %v; want the rate 1.350 rejected as ambiguous", rejects)
	}
}

// Ad platforms offer TSV downloads, and teams keep one folder per
// platform. SAM reads only *.csv at the top of the spend directory; before,
// anything else was skipped without a word, and the spend was missing.
func TestSpendFileSAMDoesNotReadIsNamed(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "google_ads.tsv"), "date\tsource\tmedium\tcampaign\tcost\tcurrency\n2026-11-01\tgoogle\tcpc\tx\t10\tUSD\n")
	if err := os.Mkdir(filepath.Join(dir, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "meta", "2026-11.csv"), "date,source,medium,campaign,cost,currency\n2026-11-01,facebook,paid_social,y,20,USD\n")
	write(t, filepath.Join(dir, ".DS_Store"), "")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := Load(context.Background(), newFake(), Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}, "r1", logger); err != nil {
		t.Fatal(err)
	}
	var warning string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "not read") {
			warning = line
		}
	}
	if !strings.Contains(warning, "google_ads.tsv") || !strings.Contains(warning, "meta/") || strings.Contains(warning, ".DS_Store") {
		t.Errorf("warning %q; want one naming google_ads.tsv and meta/, and no hidden file:\n%s", warning, logs.String())
	}
}

// Excel's "CSV" on Windows writes Windows-1252: a campaign named "Café"
// holds the byte 0xE9. Before, DuckDB refused the whole load (a loaded
// row), or the write of load_rejects (a rejected row, a rates row), and
// load_spend failed. The row is now a reject, its raw text kept with the
// byte written as \xNN.
func TestNonUTF8ByteIsARejectNotAFailedLoad(t *testing.T) {
	h := "date,source,medium,campaign,cost,currency\n"
	ok := "2026-11-02,google,cpc,ok,20,EUR\n"
	for name, c := range map[string]struct{ spend, fx, raw string }{
		"in a loaded spend row":   {h + "2026-11-01,google,cpc,Caf\xe9,10,EUR\n" + ok, "", `2026-11-01,google,cpc,Caf\xE9,10,EUR`},
		"in a rejected spend row": {h + "2026-11-01,google,cpc,Caf\xe9,ten,EUR\n" + ok, "", `2026-11-01,google,cpc,Caf\xE9,ten,EUR`},
		"in the rates file":       {h + ok, "date,from_currency,to_currency,rate\n2026-11-01,EUR,USD,1.08\n2026-11-01,\x80UR,USD,1.08\n", `2026-11-01,\x80UR,USD,1.08`},
	} {
		t.Run(name, func(t *testing.T) {
			db := openDuck(t)
			dir := t.TempDir()
			write(t, filepath.Join(dir, "spend.csv"), c.spend)
			fx := filepath.Join(t.TempDir(), "fx.csv")
			if c.fx != "" {
				write(t, fx, c.fx)
			}
			if _, err := Load(context.Background(), db, Options{Dir: dir, FXRatesFile: fx}, "r1", nil); err != nil {
				t.Fatalf("one byte that is not UTF-8 failed the whole load: %v", err)
			}
			if got := samtest.QueryStrings(t, db, "SELECT CAST(sum(cost) AS VARCHAR) FROM raw_spend__daily"); strings.Join(got, ",") != "20.000000000" {
				t.Errorf("spend %v, want the row ok's 20 alone", got)
			}
			got := samtest.QueryStrings(t, db, "SELECT reason || ' | ' || raw FROM load_rejects")
			if len(got) != 1 || !strings.Contains(got[0], ": not UTF-8: byte 0x") || !strings.HasSuffix(got[0], " | "+c.raw) {
				t.Errorf("rejects %q, want one for not UTF-8 keeping %s", got, c.raw)
			}
		})
	}
}

// A file name that is not UTF-8 (a zip made on Windows) is refused by the
// warehouse like such a row; its rows load under the name written with
// \xNN, as load_rejects keeps text.
func TestSpendFileNameNotUTF8Loads(t *testing.T) {
	db := openDuck(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Caf\xe9.csv"), "date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,10,EUR\n")
	if _, err := Load(context.Background(), db, Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}, "r1", nil); err != nil {
		t.Fatal(err)
	}
	if got := samtest.QueryStrings(t, db, "SELECT file FROM raw_spend__daily"); strings.Join(got, ",") != `Caf\xE9.csv` {
		t.Errorf("files %q, want the row loaded from Caf\\xE9.csv", got)
	}
}

// DuckDB cuts text at a NUL byte: before, campaign "brand\x00_2" loaded as
// "brand", and every reject of a UTF-16 file (Google Ads' "Excel .csv":
// UTF-16LE, tab-separated), whose lines start with a NUL, kept empty raw
// text. A NUL is now a reject, and a UTF-16 file is rejected line by line
// with the lines decoded.
func TestNULByteIsNotSilentlyTruncated(t *testing.T) {
	for name, c := range map[string]struct{ text, reason, raw string }{
		"campaign": {"date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,brand\x00_2,10,EUR\n",
			"line 2: NUL byte", `2026-11-01,google,cpc,brand\x00_2,10,EUR`},
		"utf-16": {utf16le("date\tsource\tmedium\tcampaign\tcost\tcurrency\r\n2026-11-03\tgoogle\tcpc\tbrand\t5.00\tEUR\r\n"),
			"file is UTF-16", "2026-11-03\tgoogle\tcpc\tbrand\t5.00\tEUR"},
	} {
		t.Run(name, func(t *testing.T) {
			db := openDuck(t)
			dir := t.TempDir()
			write(t, filepath.Join(dir, "spend.csv"), c.text)
			if _, err := Load(context.Background(), db, Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}, "r1", nil); err != nil {
				t.Fatal(err)
			}
			if got := samtest.QueryStrings(t, db, "SELECT campaign FROM raw_spend__daily"); len(got) != 0 {
				t.Errorf("campaigns %q loaded, want the row rejected", got)
			}
			got := samtest.QueryStrings(t, db, "SELECT reason || ' | ' || raw FROM load_rejects")
			if len(got) != 1 || !strings.HasPrefix(got[0], c.reason) || !strings.HasSuffix(got[0], " | "+c.raw) {
				t.Errorf("rejects %q, want one for %q keeping %q", got, c.reason, c.raw)
			}
		})
	}
}

// utf16le encodes ASCII text as UTF-16LE with a byte order mark.
func utf16le(s string) string {
	b := []byte{0xFF, 0xFE}
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}

// A line longer than the 16 MiB limit (a cell holding a pasted blob) is
// rejected alone, its raw text cut short, and the rows after it load.
// Before, one reject with empty raw text stood for the rest of the file.
func TestLongLineRejectsThatLineAlone(t *testing.T) {
	text := "date,source,medium,campaign,cost,currency\n" +
		"2026-11-01,google,cpc,a,10,USD\n" +
		"2026-11-02,google,cpc," + strings.Repeat("x", 17<<20) + ",10,USD\n" +
		"2026-11-03,google,cpc,c,30,USD\n"
	rows, rejects, counts := parseSpend("spend.csv", []byte(text), time.Now())
	if counts.Read != 3 || len(rows) != 2 || rows[1][3] != "c" || len(rejects) != 1 {
		t.Fatalf("counts %+v, %d rows, %d rejects; want 3 rows read: the long one rejected, the other two loaded", counts, len(rows), len(rejects))
	}
	r := rejects[0]
	if !strings.HasPrefix(r.Reason, "line 3: line of 17825821 bytes is longer than the 16 MiB limit") || !strings.HasPrefix(r.Raw, "2026-11-02,google,cpc,xxx") || !strings.HasSuffix(r.Raw, "…") || len(r.Raw) > loaders.MaxRawText+len("…") {
		t.Errorf("reject %q, raw of %d bytes; want line 3 rejected as too long with its raw text cut short", r.Reason, len(r.Raw))
	}
}

// Browsers name a second download of a report with the same default name
// "Campaign report (1).csv": another export, not a copy. When "Campaign
// report.csv" (November) is damaged, it keeps the rows it loaded before;
// before, December's file was taken for its copy and November's spend
// disappeared.
func TestDamagedFileKeepsItsRowsBesideAnotherDownloadOfTheSameReport(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	dir := t.TempDir()
	h := "date,source,medium,campaign,cost,currency\n"
	nov, dec := filepath.Join(dir, "Campaign report.csv"), filepath.Join(dir, "Campaign report (1).csv")
	write(t, nov, h+"2026-11-01,google,cpc,x,10,USD\n")
	write(t, dec, h+"2026-12-01,google,cpc,x,20,USD\n")
	cfg := Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}
	if _, err := Load(ctx, db, cfg, "first", nil); err != nil {
		t.Fatal(err)
	}
	write(t, nov, "")
	if _, err := Load(ctx, db, cfg, "second", nil); err != nil {
		t.Fatal(err)
	}
	got := spendByFile(t, db)
	if strings.Join(got, ",") != "Campaign report (1).csv:20.000000000,Campaign report.csv:10.000000000" {
		t.Errorf("spend %v; want December's 20 and November's 10 kept from the first load", got)
	}
}

// A damaged file keeps the rows it loaded before except those another file
// holds now, one for one: those would count twice.
func TestDamagedFileKeepsOnlyTheRowsNoOtherFileHolds(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	dir := t.TempDir()
	h := "date,source,medium,campaign,cost,currency\n"
	nov := filepath.Join(dir, "spend_202611.csv")
	write(t, nov, h+"2026-11-01,google,cpc,x,10,USD\n2026-11-01,google,cpc,x,10,USD\n2026-11-02,google,cpc,x,20,USD\n")
	cfg := Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}
	if _, err := Load(ctx, db, cfg, "first", nil); err != nil {
		t.Fatal(err)
	}
	write(t, nov, "")
	write(t, filepath.Join(dir, "spend_202611_12.csv"), h+"2026-11-01,google,cpc,x,10.00,USD\n2026-12-01,google,cpc,x,5,USD\n")
	if _, err := Load(ctx, db, cfg, "second", nil); err != nil {
		t.Fatal(err)
	}
	got := samtest.QueryStrings(t, db, "SELECT file || ':' || CAST(line AS VARCHAR) FROM raw_spend__daily ORDER BY file, line")
	if want := "spend_202611.csv:3,spend_202611.csv:4,spend_202611_12.csv:2,spend_202611_12.csv:3"; strings.Join(got, ",") != want {
		t.Errorf("rows %v, want %s: the first of November 1st's two rows held by the new file", got, want)
	}
}

// spendByFile lists file:cost of the loaded spend, by file.
func spendByFile(t *testing.T, db warehouse.Warehouse) []string {
	t.Helper()
	return samtest.QueryStrings(t, db, "SELECT file || ':' || CAST(sum(cost) AS VARCHAR) FROM raw_spend__daily GROUP BY file ORDER BY file")
}
