// Package warehousetest is a conformance suite for warehouse.Warehouse
// engines: each engine's tests call Run with a fresh warehouse, and the
// suite checks the behaviour SAM's loaders, transform runner and jobs rely
// on, using only the interface and SQL that both dialects accept. It
// imports the warehouse package and the standard library only.
package warehousetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Run runs the conformance suite against wh. Tables it creates are named
// wt_<test>_<n>_<run> and dropped when the test ends, so Run can share a
// dataset with other data.
func Run(t *testing.T, wh warehouse.Warehouse) { RunWith(t, wh, Options{}) }

// Options relax the suite for test doubles of an engine.
type Options struct {
	// DryRunAcceptsAnything: the engine's dry run estimates without
	// validating the SQL (a fake API), so invalid SQL is not expected to
	// fail it.
	DryRunAcceptsAnything bool
}

// RunWith runs the suite as Run does, relaxed by o.
func RunWith(t *testing.T, wh warehouse.Warehouse, o Options) {
	s := &suite{wh: wh, opts: o, run: time.Now().UnixNano() % 1_000_000_000}
	t.Run("QualifiedName", s.qualifiedName)
	t.Run("LoadRowsRoundTrip", s.loadRowsRoundTrip)
	t.Run("LoadNDJSON", s.loadNDJSON)
	t.Run("Replace", s.replace)
	t.Run("ReplacePartitions", s.replacePartitions)
	t.Run("Describe", s.describe)
	t.Run("ExecAndDryRun", s.execAndDryRun)
	t.Run("Arguments", s.arguments)
	t.Run("ConcurrentLoads", s.concurrentLoads)
}

type suite struct {
	wh   warehouse.Warehouse
	opts Options
	run  int64
	seq  atomic.Int64
}

// table returns a fresh table name that is dropped after the test.
func (s *suite) table(t *testing.T) string {
	name := fmt.Sprintf("wt_%s_%d_%d", strings.ToLower(strings.ReplaceAll(t.Name()[strings.LastIndex(t.Name(), "/")+1:], "/", "_")),
		s.seq.Add(1), s.run)
	t.Cleanup(func() {
		_, _ = s.wh.Exec(context.Background(), "DROP TABLE IF EXISTS "+s.wh.QualifiedName(name))
	})
	return name
}

func (s *suite) query(t *testing.T, sql string) [][]any {
	t.Helper()
	rows, err := s.wh.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("Query(%s): %v", sql, err)
	}
	out, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("Query(%s): %v", sql, err)
	}
	return out
}

func (s *suite) count(t *testing.T, table string) int64 {
	t.Helper()
	rows := s.query(t, "SELECT COUNT(*) FROM "+s.wh.QualifiedName(table))
	n, ok := rows[0][0].(int64)
	if !ok {
		t.Fatalf("COUNT(*) returned %T", rows[0][0])
	}
	return n
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func (s *suite) qualifiedName(t *testing.T) {
	q := s.wh.QualifiedName("stg_x")
	if !strings.Contains(q, "stg_x") {
		t.Errorf("QualifiedName(stg_x) = %q", q)
	}
	if d := s.wh.Dialect(); d == nil || d.Name() == "" {
		t.Errorf("Dialect() = %v, want a named dialect", d)
	}
}

var typesSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "id", Type: warehouse.Int64, Required: true},
	{Name: "s", Type: warehouse.String},
	{Name: "f", Type: warehouse.Float64},
	{Name: "n", Type: warehouse.Numeric},
	{Name: "b", Type: warehouse.Bool},
	{Name: "ts", Type: warehouse.Timestamp},
	{Name: "d", Type: warehouse.Date},
	{Name: "bt", Type: warehouse.Bytes},
	{Name: "tags", Type: warehouse.String, Repeated: true},
	{Name: "r", Type: warehouse.Record, Fields: []warehouse.Column{
		{Name: "k", Type: warehouse.String},
		{Name: "v", Type: warehouse.Int64},
	}},
}}

func (s *suite) loadRowsRoundTrip(t *testing.T) {
	ctx := context.Background()
	tbl := s.table(t)
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	in := [][]any{
		{int64(1), "x", 1.5, "12.25", true, at, date("2024-05-06"), []byte{1, 2}, []any{"a", "b"}, map[string]any{"k": "key", "v": int64(7)}},
		{int64(2), nil, nil, nil, nil, nil, nil, nil, []any{}, nil},
	}
	res, err := s.wh.Load(ctx, warehouse.LoadRequest{Table: tbl, Schema: typesSchema, Rows: warehouse.NewSliceRows(in)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	rows, err := s.wh.Query(ctx, "SELECT id, s, f, n, b, ts, d, bt, tags, r FROM "+s.wh.QualifiedName(tbl)+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if cols := rows.Columns(); len(cols) != 10 || cols[0].Name != "id" || cols[6].Type != warehouse.Date {
		t.Errorf("Columns = %+v", cols)
	}
	if !rows.Next() {
		t.Fatalf("no first row: %v", rows.Err())
	}
	var (
		id       int64
		str      string
		f, n     float64
		b        bool
		ts, d    time.Time
		by       []byte
		tags, rc any
	)
	if err := rows.Scan(&id, &str, &f, &n, &b, &ts, &d, &by, &tags, &rc); err != nil {
		t.Fatal(err)
	}
	if id != 1 || str != "x" || f != 1.5 || n != 12.25 || !b || !ts.Equal(at) || !d.Equal(date("2024-05-06")) || string(by) != "\x01\x02" {
		t.Errorf("row 1 = %v %q %v %v %v %v %v %v", id, str, f, n, b, ts, d, by)
	}
	if !reflect.DeepEqual(tags, []any{"a", "b"}) {
		t.Errorf("tags = %#v", tags)
	}
	if !reflect.DeepEqual(rc, map[string]any{"k": "key", "v": int64(7)}) {
		t.Errorf("record = %#v", rc)
	}
	if !rows.Next() {
		t.Fatalf("no second row: %v", rows.Err())
	}
	vals, err := rows.Values()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals[1:8] {
		if v != nil {
			t.Errorf("row 2 column %d = %#v, want NULL", i+1, v)
		}
	}
	if rows.Next() {
		t.Error("third row")
	}
	if err := rows.Err(); err != nil {
		t.Error(err)
	}
}

func (s *suite) loadNDJSON(t *testing.T) {
	tbl := s.table(t)
	schema := warehouse.Schema{Columns: []warehouse.Column{
		{Name: "event_timestamp", Type: warehouse.Int64},
		{Name: "event_params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
			{Name: "key", Type: warehouse.String},
			{Name: "value", Type: warehouse.Record, Fields: []warehouse.Column{
				{Name: "string_value", Type: warehouse.String},
				{Name: "int_value", Type: warehouse.Int64},
			}},
		}},
	}}
	in := `{"event_timestamp":"1705312800123456","event_params":[{"key":"ga_session_id","value":{"int_value":"42"}}]}
{"event_timestamp":1705312800123457,"event_params":[]}
`
	res, err := s.wh.Load(context.Background(), warehouse.LoadRequest{Table: tbl, Schema: schema, NDJSON: strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	got := s.query(t, "SELECT event_timestamp, event_params FROM "+s.wh.QualifiedName(tbl)+" ORDER BY event_timestamp")
	want := [][]any{
		{int64(1705312800123456), []any{map[string]any{"key": "ga_session_id", "value": map[string]any{"string_value": nil, "int_value": int64(42)}}}},
		{int64(1705312800123457), []any{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows =\n%#v\nwant\n%#v", got, want)
	}
}

var partSchema = warehouse.Schema{
	Columns: []warehouse.Column{
		{Name: "day", Type: warehouse.Date},
		{Name: "v", Type: warehouse.Int64},
	},
	PartitionColumn: "day",
}

func (s *suite) load(t *testing.T, tbl string, mode warehouse.LoadMode, parts []time.Time, rows [][]any) error {
	t.Helper()
	_, err := s.wh.Load(context.Background(), warehouse.LoadRequest{
		Table: tbl, Schema: partSchema, Mode: mode, Partitions: parts, Rows: warehouse.NewSliceRows(rows),
	})
	return err
}

func (s *suite) replace(t *testing.T) {
	tbl := s.table(t)
	if err := s.load(t, tbl, warehouse.Append, nil, [][]any{{date("2024-01-01"), int64(1)}, {date("2024-01-02"), int64(2)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.load(t, tbl, warehouse.Replace, nil, [][]any{{date("2024-01-03"), int64(3)}}); err != nil {
		t.Fatal(err)
	}
	got := s.query(t, "SELECT v FROM "+s.wh.QualifiedName(tbl))
	if !reflect.DeepEqual(got, [][]any{{int64(3)}}) {
		t.Errorf("rows after Replace = %v, want [[3]]", got)
	}
}

func (s *suite) replacePartitions(t *testing.T) {
	tbl := s.table(t)
	initial := [][]any{{date("2024-01-01"), int64(1)}, {date("2024-01-02"), int64(2)}, {date("2024-01-02"), int64(3)}}
	if err := s.load(t, tbl, warehouse.Append, nil, initial); err != nil {
		t.Fatal(err)
	}
	if err := s.load(t, tbl, warehouse.ReplacePartitions, []time.Time{date("2024-01-02")}, [][]any{{date("2024-01-02"), int64(20)}}); err != nil {
		t.Fatal(err)
	}
	q := "SELECT day, v FROM " + s.wh.QualifiedName(tbl) + " ORDER BY day, v"
	want := [][]any{{date("2024-01-01"), int64(1)}, {date("2024-01-02"), int64(20)}}
	if got := s.query(t, q); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	err := s.load(t, tbl, warehouse.ReplacePartitions, []time.Time{date("2024-01-01")},
		[][]any{{date("2024-01-01"), int64(10)}, {date("2024-01-05"), int64(50)}})
	if err == nil {
		t.Fatal("a row outside the listed partitions was accepted")
	}
	if got := s.query(t, q); !reflect.DeepEqual(got, want) {
		t.Errorf("rows after a failed load = %v, want %v (unchanged)", got, want)
	}
}

func (s *suite) describe(t *testing.T) {
	ctx := context.Background()
	tbl := s.table(t)
	if _, err := s.wh.Describe(ctx, tbl); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("Describe of a missing table = %v, want ErrNotFound", err)
	}
	if _, err := s.wh.Load(ctx, warehouse.LoadRequest{Table: tbl, Schema: typesSchema, Rows: warehouse.NewSliceRows(nil)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.wh.Describe(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Columns, typesSchema.Columns) {
		t.Errorf("Describe =\n%+v\nwant\n%+v", got.Columns, typesSchema.Columns)
	}
}

func (s *suite) execAndDryRun(t *testing.T) {
	ctx := context.Background()
	tbl := s.table(t)
	if err := s.load(t, tbl, warehouse.Append, nil, [][]any{{date("2024-01-01"), int64(1)}, {date("2024-01-02"), int64(2)}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.wh.Exec(ctx, "DELETE FROM "+s.wh.QualifiedName(tbl)+" WHERE v = 1")
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != 1 {
		t.Errorf("RowsAffected = %d, want 1", res.RowsAffected)
	}
	if n := s.count(t, tbl); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	if _, err := s.wh.DryRun(ctx, "SELECT v FROM "+s.wh.QualifiedName(tbl)); err != nil {
		t.Errorf("DryRun of valid SQL: %v", err)
	}
	if _, err := s.wh.DryRun(ctx, "SELECT no_such_column FROM "+s.wh.QualifiedName(tbl)); err == nil && !s.opts.DryRunAcceptsAnything {
		t.Error("DryRun of invalid SQL succeeded")
	}
}

var argsSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "s", Type: warehouse.String},
	{Name: "n", Type: warehouse.Int64},
	{Name: "f", Type: warehouse.Float64},
	{Name: "b", Type: warehouse.Bool},
	{Name: "ts", Type: warehouse.Timestamp},
}}

// arguments binds values to ? placeholders in statements, scripts and
// queries, with options passed among the values.
func (s *suite) arguments(t *testing.T) {
	ctx := context.Background()
	tbl := s.table(t)
	q := s.wh.QualifiedName(tbl)
	ddl, err := s.wh.Dialect().CreateTable(q, argsSchema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wh.Exec(ctx, ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	// Quotes, backslashes and newlines would need escaping in a literal.
	tricky := "it's a \\ back\nslash; -- not a comment ?"
	ts := time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC)
	ins := "INSERT INTO " + q + " (s, n, f, b, ts) VALUES (?, ?, ?, ?, ?)"
	res, err := s.wh.Exec(ctx, ins, tricky, int64(7), 2.5, true, warehouse.WithLabels(map[string]string{"test": "args"}), ts)
	if err != nil {
		t.Fatalf("Exec with arguments: %v", err)
	}
	if res.RowsAffected != 1 {
		t.Errorf("RowsAffected = %d, want 1", res.RowsAffected)
	}
	// A script binds its arguments across its statements, in order.
	script := s.wh.Dialect().Transaction(
		"INSERT INTO "+q+" (s, n, f, b, ts) VALUES (?, ?, ?, ?, ?)",
		"DELETE FROM "+q+" WHERE n = ?",
	)
	if _, err := s.wh.Exec(ctx, script, "second", 8, 0.5, false, ts.Add(time.Hour), int64(99)); err != nil {
		t.Fatalf("Exec script with arguments: %v", err)
	}
	rows, err := s.wh.Query(ctx, "SELECT s, n, f, b, ts FROM "+q+" WHERE s = ? AND ts >= ? ORDER BY n", tricky, ts, warehouse.WithJobID(""))
	if err != nil {
		t.Fatalf("Query with arguments: %v", err)
	}
	got, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{tricky, int64(7), 2.5, true, ts}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %#v, want %#v", got, want)
	}
	if n := s.count(t, tbl); n != 2 {
		t.Errorf("rows after the script = %d, want 2", n)
	}
	if _, err := s.wh.Exec(ctx, "DELETE FROM "+q+" WHERE n = ?"); err == nil {
		t.Error("Exec with a placeholder and no argument succeeded")
	}
	// Typed NULLs bind to any column type.
	if _, err := s.wh.Exec(ctx, ins, warehouse.Null{Type: warehouse.String}, warehouse.Null{Type: warehouse.Int64},
		warehouse.Null{Type: warehouse.Float64}, warehouse.Null{Type: warehouse.Bool}, warehouse.Null{Type: warehouse.Timestamp}); err != nil {
		t.Fatalf("Exec with NULL arguments: %v", err)
	}
	if got := s.query(t, "SELECT COUNT(*) FROM "+q+" WHERE ts IS NULL AND n IS NULL"); len(got) != 1 || got[0][0] != int64(1) {
		t.Errorf("NULL rows = %v, want 1", got)
	}
}

// concurrentLoads appends to one table from several goroutines while others
// query it, as parallel loaders and models do.
func (s *suite) concurrentLoads(t *testing.T) {
	ctx := context.Background()
	tbl := s.table(t)
	if err := s.load(t, tbl, warehouse.Append, nil, nil); err != nil {
		t.Fatal(err)
	}
	const workers = 6
	var wg sync.WaitGroup
	errs := make([]error, 2*workers)
	for i := range workers {
		wg.Go(func() {
			_, errs[i] = s.wh.Load(ctx, warehouse.LoadRequest{Table: tbl, Schema: partSchema,
				Rows: warehouse.NewSliceRows([][]any{{date("2024-02-01"), int64(i)}, {date("2024-02-02"), int64(i)}})})
		})
		wg.Go(func() {
			rows, err := s.wh.Query(ctx, "SELECT COUNT(*) FROM "+s.wh.QualifiedName(tbl))
			if err == nil {
				_, err = warehouse.CollectRows(rows)
			}
			errs[workers+i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.count(t, tbl); n != 2*workers {
		t.Errorf("rows = %d, want %d", n, 2*workers)
	}
}
