package duckdb

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

var spendSchema = warehouse.Schema{
	Columns: []warehouse.Column{
		{Name: "day", Type: warehouse.Date, Required: true},
		{Name: "source", Type: warehouse.String},
		{Name: "cost", Type: warehouse.Numeric},
	},
	PartitionColumn: "day",
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadRows(t testing.TB, db *DB, table string, s warehouse.Schema, mode warehouse.LoadMode, parts []time.Time, rows [][]any) (warehouse.LoadResult, error) {
	t.Helper()
	return db.Load(context.Background(), warehouse.LoadRequest{
		Table: table, Schema: s, Mode: mode, Partitions: parts, Rows: warehouse.NewSliceRows(rows),
	})
}

func TestLoadRowsAllTypes(t *testing.T) {
	db := openMem(t)
	s := warehouse.Schema{Columns: []warehouse.Column{
		{Name: "s", Type: warehouse.String},
		{Name: "i", Type: warehouse.Int64},
		{Name: "f", Type: warehouse.Float64},
		{Name: "n", Type: warehouse.Numeric},
		{Name: "b", Type: warehouse.Bool},
		{Name: "ts", Type: warehouse.Timestamp},
		{Name: "d", Type: warehouse.Date},
		{Name: "j", Type: warehouse.JSON},
		{Name: "by", Type: warehouse.Bytes},
		{Name: "tags", Type: warehouse.String, Repeated: true},
		{Name: "rec", Type: warehouse.Record, Fields: []warehouse.Column{
			{Name: "k", Type: warehouse.String},
			{Name: "vals", Type: warehouse.Int64, Repeated: true},
		}},
	}}
	berlin := time.FixedZone("CET", 3600)
	in := [][]any{
		{"a", int64(1), 1.25, "1234.567890123", true, time.Date(2024, 1, 2, 4, 4, 5, 123456000, berlin),
			day("2024-01-02"), `{"x": [1, 2]}`, []byte{0, 1}, []any{"p", "q"},
			map[string]any{"k": "key", "vals": []any{int64(1), int64(2)}}},
		{nil, "42", float64(2), big.NewRat(1, 4), nil, "2024-01-02T03:04:05Z", "2024-01-03", nil, nil, []string{"r"}, nil},
	}
	res, err := loadRows(t, db, "all_types", s, warehouse.Append, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	got := queryRows(t, db, "SELECT * FROM all_types ORDER BY i")
	want := [][]any{
		{"a", int64(1), 1.25, 1234.567890123, true, time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
			day("2024-01-02"), `{"x":[1,2]}`, []byte{0, 1}, []any{"p", "q"},
			map[string]any{"k": "key", "vals": []any{int64(1), int64(2)}}},
		{nil, int64(42), 2.0, 0.25, nil, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), day("2024-01-03"), nil, nil, []any{"r"}, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%#v\nwant\n%#v", got, want)
	}
	// NUMERIC keeps nine decimals exactly.
	if v := queryOne(t, db, "SELECT CAST(n AS VARCHAR) FROM all_types WHERE i = 1"); v != "1234.567890123" {
		t.Errorf("numeric text = %v", v)
	}
	desc, err := db.Describe(context.Background(), "all_types")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(desc.Columns, s.Columns) {
		t.Errorf("Describe =\n%+v\nwant\n%+v", desc.Columns, s.Columns)
	}
}

func TestLoadRowsBadValueLoadsNothing(t *testing.T) {
	db := openMem(t)
	s := warehouse.Schema{Columns: []warehouse.Column{{Name: "i", Type: warehouse.Int64}}}
	if _, err := loadRows(t, db, "t", s, warehouse.Append, nil, [][]any{{int64(1)}}); err != nil {
		t.Fatal(err)
	}
	_, err := loadRows(t, db, "t", s, warehouse.Append, nil, [][]any{{int64(2)}, {"x"}})
	if err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Fatalf("error = %v, want one naming row 2", err)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t"); got != int64(1) {
		t.Errorf("rows = %v, want 1 (failed load must add nothing)", got)
	}
}

func TestLoadAppendToDifferentLayout(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (extra VARCHAR, i BIGINT)")
	s := warehouse.Schema{Columns: []warehouse.Column{{Name: "i", Type: warehouse.Int64}}}
	res, err := loadRows(t, db, "t", s, warehouse.Append, nil, [][]any{{int64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 1 {
		t.Errorf("RowsLoaded = %d", res.RowsLoaded)
	}
	got := queryRows(t, db, "SELECT extra, i FROM t")
	if !reflect.DeepEqual(got, [][]any{{nil, int64(7)}}) {
		t.Errorf("rows = %v", got)
	}
}

// TestLoadAppendConvertsToExistingTypes appends into a table whose column
// types differ from the load schema's (INTEGER, DECIMAL(18,3)): values must
// be converted, not reinterpreted.
func TestLoadAppendConvertsToExistingTypes(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (i INTEGER, n DECIMAL(18,3))")
	s := warehouse.Schema{Columns: []warehouse.Column{{Name: "i", Type: warehouse.Int64}, {Name: "n", Type: warehouse.Numeric}}}
	if _, err := loadRows(t, db, "t", s, warehouse.Append, nil, [][]any{{int64(5), "12.5"}}); err != nil {
		t.Fatal(err)
	}
	if got := queryRows(t, db, "SELECT i, CAST(n AS VARCHAR) FROM t"); !reflect.DeepEqual(got, [][]any{{int64(5), "12.500"}}) {
		t.Errorf("rows = %#v", got)
	}
	if _, err := loadRows(t, db, "t", s, warehouse.Append, nil, [][]any{{int64(1) << 40, "1"}}); err == nil {
		t.Error("a value overflowing INTEGER was accepted")
	}
}

func TestLoadReplace(t *testing.T) {
	db := openMem(t)
	rows := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			out[i] = []any{day("2024-01-01"), "google", float64(i)}
		}
		return out
	}
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Append, nil, rows(5)); err != nil {
		t.Fatal(err)
	}
	res, err := loadRows(t, db, "spend", spendSchema, warehouse.Replace, nil, rows(3))
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 3 {
		t.Errorf("RowsLoaded = %d", res.RowsLoaded)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM spend"); got != int64(3) {
		t.Errorf("rows after replace = %v, want 3", got)
	}
	// A failing replace keeps the old table.
	bad := append(rows(2), []any{"not a date", "x", 1.0})
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Replace, nil, bad); err == nil {
		t.Fatal("replace with a bad row succeeded")
	}
	if got := queryOne(t, db, "SELECT count(*) FROM spend"); got != int64(3) {
		t.Errorf("rows after failed replace = %v, want 3", got)
	}
	// Replace may change the schema, as BigQuery's WRITE_TRUNCATE does.
	s2 := warehouse.Schema{Columns: []warehouse.Column{{Name: "only", Type: warehouse.String}}}
	if _, err := loadRows(t, db, "spend", s2, warehouse.Replace, nil, [][]any{{"x"}}); err != nil {
		t.Fatal(err)
	}
	desc, err := db.Describe(context.Background(), "spend")
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Columns) != 1 || desc.Columns[0].Name != "only" || desc.PartitionColumn != "" {
		t.Errorf("schema after replace = %+v", desc)
	}
}

// TestLoadReplaceReadersSeeWholeTable checks that concurrent readers only
// ever see the old or the new table, never an empty or partial one.
func TestLoadReplaceReadersSeeWholeTable(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	const n = 2000
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{day("2024-01-01"), "s", float64(i)}
	}
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Append, nil, rows); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad []any
	var mu sync.Mutex
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := db.Query(ctx, "SELECT count(*) FROM spend")
				if err != nil {
					mu.Lock()
					bad = append(bad, err)
					mu.Unlock()
					return
				}
				got, err := warehouse.CollectRows(r)
				if err != nil || got[0][0] != int64(n) {
					mu.Lock()
					bad = append(bad, got, err)
					mu.Unlock()
				}
			}
		})
	}
	for range 5 {
		if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Replace, nil, rows); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("readers saw %v", bad[:min(len(bad), 4)])
	}
}

func TestLoadReplacePartitions(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	initial := [][]any{
		{day("2024-01-01"), "a", 1.0},
		{day("2024-01-02"), "a", 2.0},
		{day("2024-01-02"), "b", 3.0},
		{day("2024-01-03"), "a", 4.0},
	}
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Append, nil, initial); err != nil {
		t.Fatal(err)
	}
	res, err := loadRows(t, db, "spend", spendSchema, warehouse.ReplacePartitions,
		[]time.Time{day("2024-01-02"), day("2024-01-04")},
		[][]any{{day("2024-01-02"), "c", 10.0}, {day("2024-01-04"), "c", 20.0}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	want := [][]any{
		{day("2024-01-01"), "a", 1.0},
		{day("2024-01-02"), "c", 10.0},
		{day("2024-01-03"), "a", 4.0},
		{day("2024-01-04"), "c", 20.0},
	}
	if got := queryRows(t, db, "SELECT * FROM spend ORDER BY day"); !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%v\nwant\n%v", got, want)
	}

	// A row outside the listed partitions fails the load and changes nothing.
	_, err = loadRows(t, db, "spend", spendSchema, warehouse.ReplacePartitions,
		[]time.Time{day("2024-01-01")},
		[][]any{{day("2024-01-01"), "d", 5.0}, {day("2024-01-03"), "d", 6.0}})
	if err == nil || !strings.Contains(err.Error(), "outside the partitions") {
		t.Fatalf("error = %v, want an outside-partitions error", err)
	}
	if got := queryRows(t, db, "SELECT * FROM spend ORDER BY day"); !reflect.DeepEqual(got, want) {
		t.Errorf("rows after failed load =\n%v\nwant\n%v", got, want)
	}
	desc, err := db.Describe(ctx, "spend")
	if err != nil {
		t.Fatal(err)
	}
	if desc.PartitionColumn != "day" {
		t.Errorf("PartitionColumn = %q, want day", desc.PartitionColumn)
	}

	// Replacing a partition with no rows empties it.
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.ReplacePartitions, []time.Time{day("2024-01-03")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM spend WHERE day = DATE '2024-01-03'"); got != int64(0) {
		t.Errorf("rows left in emptied partition = %v", got)
	}
}

func TestLoadValidation(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	noPart := warehouse.Schema{Columns: spendSchema.Columns}
	for name, req := range map[string]warehouse.LoadRequest{
		"bad table":        {Table: "x; DROP TABLE y", Schema: spendSchema, Rows: warehouse.NewSliceRows(nil)},
		"no source":        {Table: "t", Schema: spendSchema},
		"two sources":      {Table: "t", Schema: spendSchema, Rows: warehouse.NewSliceRows(nil), NDJSON: strings.NewReader("")},
		"no partition col": {Table: "t", Schema: noPart, Mode: warehouse.ReplacePartitions, Rows: warehouse.NewSliceRows(nil)},
		"bad column":       {Table: "t", Schema: warehouse.Schema{Columns: []warehouse.Column{{Name: "a b", Type: warehouse.String}}}, Rows: warehouse.NewSliceRows(nil)},
		"empty record":     {Table: "t", Schema: warehouse.Schema{Columns: []warehouse.Column{{Name: "r", Type: warehouse.Record}}}, Rows: warehouse.NewSliceRows(nil)},
	} {
		if _, err := db.Load(ctx, req); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	if _, err := db.Describe(ctx, "t"); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("a rejected load created the table: %v", err)
	}
}

func TestLoadNDJSON(t *testing.T) {
	db := openMem(t)
	s := warehouse.Schema{Columns: []warehouse.Column{
		{Name: "id", Type: warehouse.Int64},
		{Name: "name", Type: warehouse.String},
		{Name: "at", Type: warehouse.Timestamp},
		{Name: "d", Type: warehouse.Date},
		{Name: "amount", Type: warehouse.Numeric},
		{Name: "ok", Type: warehouse.Bool},
		{Name: "doc", Type: warehouse.JSON},
		{Name: "raw", Type: warehouse.Bytes},
	}}
	in := `{"id": "123", "name": "x", "at": "2024-01-02 03:04:05.5 UTC", "d": "2024-01-02", "amount": "10.125", "ok": true, "doc": {"a": [1]}, "raw": "AAE=", "ignored": 1}
{"id": 9007199254740993, "at": "2024-01-02T05:04:05+02:00"}
`
	res, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "j", Schema: s, NDJSON: strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 || res.Bytes != int64(len(in)) {
		t.Errorf("result = %+v, want 2 rows, %d bytes", res, len(in))
	}
	got := queryRows(t, db, "SELECT * FROM j ORDER BY id")
	want := [][]any{
		{int64(123), "x", time.Date(2024, 1, 2, 3, 4, 5, 500000000, time.UTC), day("2024-01-02"), 10.125, true, `{"a":[1]}`, []byte{0, 1}},
		{int64(9007199254740993), nil, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), nil, nil, nil, nil, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%#v\nwant\n%#v", got, want)
	}
}

func TestLoadNDJSONGzipAndEmpty(t *testing.T) {
	db := openMem(t)
	s := warehouse.Schema{Columns: []warehouse.Column{{Name: "id", Type: warehouse.Int64}}}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, "{\"id\": 1}\n{\"id\": \"2\"}\n")
	zw.Close()
	res, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "g", Schema: s, NDJSON: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	res, err = db.Load(context.Background(), warehouse.LoadRequest{Table: "g", Schema: s, NDJSON: strings.NewReader("")})
	if err != nil || res.RowsLoaded != 0 {
		t.Errorf("empty load = %+v, %v", res, err)
	}
}

func TestLoadNDJSONMalformedLoadsNothing(t *testing.T) {
	db := openMem(t)
	s := warehouse.Schema{Columns: []warehouse.Column{{Name: "id", Type: warehouse.Int64}}}
	_, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "m", Schema: s,
		NDJSON: strings.NewReader("{\"id\": 1}\n{\"id\": \"abc\"}\n")})
	if err == nil {
		t.Fatal("load of a non-integer id succeeded")
	}
	if _, err := db.Describe(context.Background(), "m"); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("failed load left a table behind: %v", err)
	}
}

// TestIsConflictMatchesDuckDB provokes a real transaction conflict and
// checks that the retry logic recognises DuckDB's message.
func TestIsConflictMatchesDuckDB(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	c1, err := db.SQLDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.SQLDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c1.ExecContext(ctx, "BEGIN TRANSACTION; CREATE TABLE IF NOT EXISTS x (a BIGINT)"); err != nil {
		t.Fatal(err)
	}
	// DuckDB reports the conflict at the second writer's statement.
	_, err = c2.ExecContext(ctx, "BEGIN TRANSACTION; CREATE TABLE IF NOT EXISTS x (a BIGINT)")
	c2.ExecContext(ctx, "ROLLBACK")
	c1.ExecContext(ctx, "ROLLBACK")
	if err == nil {
		t.Fatal("no conflict")
	}
	if !isConflict(err) {
		t.Errorf("isConflict(%q) = false", err)
	}
	if isConflict(errors.New("Binder Error: column x not found")) {
		t.Error("isConflict matched an ordinary error")
	}
}

// TestSameLayoutOfLoadedTable checks that a table Load created is appended
// to directly (no staging) on the next load.
func TestSameLayoutOfLoadedTable(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	for _, s := range []warehouse.Schema{ga4Schema, spendSchema, {Columns: []warehouse.Column{{Name: "j", Type: warehouse.JSON}, {Name: "b", Type: warehouse.Bytes}, {Name: "ts", Type: warehouse.Timestamp}}}} {
		name := fmt.Sprintf("t%d_%d", len(s.Columns), len(s.PartitionColumn))
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: name, Schema: s, Rows: warehouse.NewSliceRows(nil)}); err != nil {
			t.Fatal(err)
		}
		conn, err := db.SQLDB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cols, types, err := db.tableLayout(ctx, conn, name)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !sameLayout(cols, types, s) {
			t.Errorf("table %s created by Load does not match its own schema", name)
		}
	}
}

// Rows replacing partitions go straight into a table of the schema's
// layout; each is checked as it is appended, and a stray one (or one with
// no partition value) rolls back the delete and every row before it.
func TestLoadReplacePartitionsChecksAppendedRows(t *testing.T) {
	db := openMem(t)
	initial := [][]any{{day("2024-01-01"), "a", 1.0}, {day("2024-01-02"), "a", 2.0}}
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Append, nil, initial); err != nil {
		t.Fatal(err)
	}
	nullable := warehouse.Schema{Columns: []warehouse.Column{
		{Name: "day", Type: warehouse.Date}, {Name: "source", Type: warehouse.String}, {Name: "cost", Type: warehouse.Numeric},
	}, PartitionColumn: "day"}
	for _, tc := range []struct {
		name   string
		schema warehouse.Schema
		rows   [][]any
		want   string
	}{
		{"another day", spendSchema, [][]any{{day("2024-01-01"), "b", 5.0}, {day("2024-01-02"), "b", 6.0}}, "row 2: the row lies outside the partitions being replaced (DATE '2024-01-01'): day = 2024-01-02"},
		{"a string day", spendSchema, [][]any{{"2024-01-03", "b", 5.0}}, "day = 2024-01-03"},
		{"no day", nullable, [][]any{{day("2024-01-01"), "b", 5.0}, {nil, "b", 6.0}}, "day = NULL"},
	} {
		_, err := loadRows(t, db, "spend", tc.schema, warehouse.ReplacePartitions, []time.Time{day("2024-01-01")}, tc.rows)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
		if got := queryRows(t, db, "SELECT * FROM spend ORDER BY day"); !reflect.DeepEqual(got, initial) {
			t.Errorf("%s: rows after the failed load =\n%v\nwant\n%v", tc.name, got, initial)
		}
	}
}

// NDJSON replacing partitions of a table of the schema's layout is read
// straight into it, each row's partition checked by the statement.
func TestLoadReplacePartitionsChecksNDJSONRows(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	initial := [][]any{{day("2024-01-01"), "a", 1.0}, {day("2024-01-02"), "a", 2.0}}
	if _, err := loadRows(t, db, "spend", spendSchema, warehouse.Append, nil, initial); err != nil {
		t.Fatal(err)
	}
	load := func(ndjson string) error {
		_, err := db.Load(ctx, warehouse.LoadRequest{Table: "spend", Schema: spendSchema, Mode: warehouse.ReplacePartitions,
			Partitions: []time.Time{day("2024-01-01")}, NDJSON: strings.NewReader(ndjson)})
		return err
	}
	for _, tc := range []struct{ name, ndjson, want string }{
		{"another day", `{"day":"2024-01-01","source":"b","cost":5}` + "\n" + `{"day":"2024-01-02","source":"b","cost":6}`, "outside the partitions being replaced (DATE '2024-01-01'): day = 2024-01-02"},
		{"no day", `{"source":"b","cost":5}`, "day = NULL"},
	} {
		if err := load(tc.ndjson); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
		if got := queryRows(t, db, "SELECT * FROM spend ORDER BY day"); !reflect.DeepEqual(got, initial) {
			t.Errorf("%s: rows after the failed load =\n%v\nwant\n%v", tc.name, got, initial)
		}
	}
	if err := load(`{"day":"2024-01-01","source":"c","cost":7}`); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{day("2024-01-01"), "c", 7.0}, {day("2024-01-02"), "a", 2.0}}
	if got := queryRows(t, db, "SELECT * FROM spend ORDER BY day"); !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%v\nwant\n%v", got, want)
	}
}

// Files are read where they lie; each file's Values fill the columns its
// lines lack (NULL where another file names a column this one does not),
// the partition check holds, and BeforeCommit's error rolls it all back.
func TestLoadFilesWithValues(t *testing.T) {
	ctx := context.Background()
	db := openMem(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", `{"id": 1}`+"\n"+`{"id": "2"}`+"\n")
	b := write("b.json", `{"id": 3}`+"\n")
	s := warehouse.Schema{PartitionColumn: "d", Columns: []warehouse.Column{
		{Name: "id", Type: warehouse.Int64},
		{Name: "d", Type: warehouse.Date},
		{Name: "at", Type: warehouse.Timestamp},
		{Name: "prop", Type: warehouse.String},
	}}
	req := func(parts []time.Time, before func() error) warehouse.LoadRequest {
		return warehouse.LoadRequest{Table: "f", Schema: s, Mode: warehouse.ReplacePartitions, Partitions: parts, BeforeCommit: before,
			Files: []warehouse.LoadFile{
				{Path: a, Values: map[string]string{"d": "2024-01-01", "at": "2024-01-03T04:05:06.123456789Z", "prop": "p1"}},
				{Path: b, Values: map[string]string{"d": "2024-01-02", "at": "2024-01-03T04:05:06.123456789Z"}},
			}}
	}
	both := []time.Time{day("2024-01-01"), day("2024-01-02")}
	res, err := db.Load(ctx, req(both, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 3 {
		t.Errorf("rows loaded %d, want 3", res.RowsLoaded)
	}
	at := time.Date(2024, 1, 3, 4, 5, 6, 123456000, time.UTC)
	want := [][]any{{int64(1), day("2024-01-01"), at, "p1"}, {int64(2), day("2024-01-01"), at, "p1"}, {int64(3), day("2024-01-02"), at, nil}}
	if got := queryRows(t, db, "SELECT * FROM f ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%#v\nwant\n%#v", got, want)
	}
	if _, err := db.Load(ctx, req(both[:1], nil)); err == nil || !strings.Contains(err.Error(), "outside the partitions") {
		t.Errorf("a file's day outside the partitions: err = %v", err)
	}
	veto := errors.New("a line to reject")
	if _, err := db.Load(ctx, req(both, func() error { return veto })); !errors.Is(err, veto) {
		t.Errorf("BeforeCommit's error: err = %v, want it returned", err)
	}
	if got := queryRows(t, db, "SELECT count(*) FROM f"); !reflect.DeepEqual(got, [][]any{{int64(3)}}) {
		t.Errorf("after two failed loads the table holds %v rows, want the 3 of the first", got)
	}
	bad := req(both, nil)
	bad.Files[0].Values["nope"] = "x"
	if _, err := db.Load(ctx, bad); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("a value for a column not in the schema: err = %v", err)
	}
}
