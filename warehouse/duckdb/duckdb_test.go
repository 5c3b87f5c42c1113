package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

func openMem(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), "", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db *DB, q string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), q); err != nil {
		t.Fatalf("Exec(%q): %v", q, err)
	}
}

// queryRows runs q and returns all rows as engine-neutral values.
func queryRows(t testing.TB, db *DB, q string) [][]any {
	t.Helper()
	r, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	rows, err := warehouse.CollectRows(r)
	if err != nil {
		t.Fatalf("CollectRows(%q): %v", q, err)
	}
	return rows
}

func queryOne(t testing.TB, db *DB, q string) any {
	t.Helper()
	rows := queryRows(t, db, q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("Query(%q) = %v, want one value", q, rows)
	}
	return rows[0][0]
}

func TestOpenFilePermissionsAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sam.duckdb")
	db, err := Open(ctx, path, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1), (2)")
	for _, p := range []string{path, path + ".wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(p, ".wal") {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WAL still present after Close (err=%v): Close must checkpoint", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Close, want only the database file", len(entries))
	}
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := queryOne(t, db, "SELECT sum(x) FROM t"); got != int64(3) {
		t.Errorf("sum after reopen = %#v, want 3", got)
	}
}

func TestDialectAndQualifiedName(t *testing.T) {
	db := openMem(t)
	if db.Dialect().Name() != "duckdb" {
		t.Errorf("Dialect = %q", db.Dialect().Name())
	}
	if got := db.QualifiedName("stg_ga4__events"); got != `"stg_ga4__events"` {
		t.Errorf("QualifiedName = %s", got)
	}
}

func TestExecRowsAffected(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	res, err := db.Exec(context.Background(), "INSERT INTO t SELECT * FROM range(5)")
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != 5 {
		t.Errorf("RowsAffected = %d, want 5", res.RowsAffected)
	}
}

// A CREATE TABLE … AS reports the rows it wrote, alone, in a script and
// with arguments.
func TestExecRowsAffectedByCreateTableAs(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	for _, c := range []struct {
		sql  string
		args []any
		want int64
	}{
		{"CREATE TABLE a AS SELECT * FROM range(5)", nil, 5},
		{"  create or replace table a as select * from range(7)\n", nil, 7},
		{"CREATE OR REPLACE TABLE a AS SELECT * FROM range(0)", nil, 0},
		{"CREATE OR REPLACE TABLE b AS SELECT ? AS x FROM range(3)", []any{int64(1)}, 3},
		{"CREATE TABLE c (x BIGINT)", nil, 0},
		// A script's last statement counts.
		{"CREATE OR REPLACE TABLE a AS SELECT * FROM range(4); INSERT INTO a SELECT * FROM range(2)", nil, 2},
		{"CREATE OR REPLACE TABLE d AS SELECT ? AS x; CREATE OR REPLACE TABLE e AS SELECT * FROM range(6)", []any{"v"}, 6},
		{"BEGIN TRANSACTION; CREATE OR REPLACE TABLE f AS SELECT * FROM range(9); COMMIT", []any{warehouse.WithLabels(nil)}, 0},
	} {
		res, err := db.Exec(ctx, c.sql, c.args...)
		if err != nil {
			t.Fatalf("Exec(%q): %v", c.sql, err)
		}
		if res.RowsAffected != c.want {
			t.Errorf("Exec(%q).RowsAffected = %d, want %d", c.sql, res.RowsAffected, c.want)
		}
	}
	for table, want := range map[string]int64{"a": 6, "b": 3, "c": 0, "d": 1, "e": 6, "f": 9} {
		if got := queryOne(t, db, "SELECT count(*) FROM "+table); got != want {
			t.Errorf("%s has %v rows, want %d", table, got, want)
		}
	}
}

func TestExecScriptRollsBackOnFailure(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1)")
	_, err := db.Exec(ctx, `BEGIN TRANSACTION;
INSERT INTO t VALUES (2);
CREATE TABLE u (y BIGINT);
SELECT * FROM no_such_table;
COMMIT;`)
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("Exec error = %v, want one naming no_such_table", err)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t"); got != int64(1) {
		t.Errorf("rows after failed script = %v, want 1", got)
	}
	if _, err := db.Describe(ctx, "u"); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("table created by failed script exists: %v", err)
	}
	// Every pooled connection must be usable outside a transaction.
	for range 4 {
		mustExec(t, db, "BEGIN TRANSACTION; INSERT INTO t VALUES (3); COMMIT;")
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t"); got != int64(5) {
		t.Errorf("rows = %v, want 5", got)
	}
}

func TestExecScriptMissingCommitIsRolledBack(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	_, err := db.Exec(context.Background(), "BEGIN TRANSACTION; INSERT INTO t VALUES (1);")
	if err == nil || !strings.Contains(err.Error(), "transaction open") {
		t.Fatalf("Exec error = %v, want a missing-COMMIT error", err)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t"); got != int64(0) {
		t.Errorf("rows = %v, want 0", got)
	}
}

func TestExecErrorKeepsLineInfo(t *testing.T) {
	db := openMem(t)
	_, err := db.Exec(context.Background(), "SELECT 1;\nSELECT *\nFROM missing_table")
	if err == nil || !strings.Contains(err.Error(), "LINE") {
		t.Fatalf("error = %v, want DuckDB's LINE information", err)
	}
}

func TestQueryValuesTypes(t *testing.T) {
	db := openMem(t)
	r, err := db.Query(context.Background(), `SELECT
		NULL AS n, 'a' AS s, 42 AS i, CAST(7 AS HUGEINT) AS h, 1.5::DOUBLE AS f, 12.345::DECIMAL(10,3) AS d,
		true AS b, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, DATE '2024-01-02' AS dt,
		TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tz, '\x01\x02'::BLOB AS by,
		[1, 2, NULL] AS l, {'k': 'v', 'n': 1} AS st, '00000000-0000-0000-0000-000000000001'::UUID AS u,
		INTERVAL 1 DAY + INTERVAL 90 MINUTE AS iv, TIME '13:14:15.5' AS tm, TIMESTAMP '0001-01-01 10:00:00' AS early, '{"a":[1,2]}'::JSON AS j, MAP {'a': 1} AS m,
		sum(x) AS total
		FROM range(3) t(x)`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := warehouse.CollectRows(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		nil, "a", int64(42), int64(7), 1.5, 12.345,
		true, time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC), []byte{1, 2},
		[]any{int64(1), int64(2), nil}, map[string]any{"k": "v", "n": int64(1)}, "00000000-0000-0000-0000-000000000001",
		"0-0 1 1:30:0", "13:14:15.5", time.Date(1, 1, 1, 10, 0, 0, 0, time.UTC), `{"a":[1,2]}`, []any{map[string]any{"key": "a", "value": int64(1)}},
		int64(3),
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	for i, w := range want {
		if !reflect.DeepEqual(rows[0][i], w) {
			t.Errorf("column %d = %#v, want %#v", i, rows[0][i], w)
		}
	}
	cols := r.Columns()
	wantTypes := map[string]warehouse.Type{"s": warehouse.String, "i": warehouse.Int64, "f": warehouse.Float64,
		"d": warehouse.Numeric, "b": warehouse.Bool, "ts": warehouse.Timestamp, "dt": warehouse.Date, "by": warehouse.Bytes,
		"j": warehouse.JSON, "st": warehouse.Record, "l": warehouse.Int64}
	for _, c := range cols {
		if w, ok := wantTypes[c.Name]; ok && c.Type != w {
			t.Errorf("column %s type = %s, want %s", c.Name, c.Type, w)
		}
	}
	if c := cols[11]; !c.Repeated {
		t.Errorf("list column not Repeated: %+v", c)
	}
}

func TestQueryScan(t *testing.T) {
	db := openMem(t)
	r, err := db.Query(context.Background(), "SELECT 'x', 5, 2.5, DATE '2024-03-01'")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatal("no row")
	}
	var s string
	var n int
	var f float64
	var d time.Time
	if err := r.Scan(&s, &n, &f, &d); err != nil {
		t.Fatal(err)
	}
	if s != "x" || n != 5 || f != 2.5 || !d.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Scan = %q %d %v %v", s, n, f, d)
	}
	if r.Next() {
		t.Error("second row")
	}
	if err := r.Err(); err != nil {
		t.Error(err)
	}
}

func TestDryRun(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	est, err := db.DryRun(ctx, "SELECT x FROM t")
	if err != nil || est.Supported {
		t.Fatalf("DryRun = %+v, %v; want unsupported, nil", est, err)
	}
	if _, err := db.DryRun(ctx, "SELECT nope FROM t"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("DryRun of invalid SQL = %v, want an error naming the column", err)
	}
	if _, err := db.DryRun(ctx, "DROP TABLE t; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Describe(ctx, "t"); err != nil {
		t.Errorf("DryRun changed the database: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	mustExec(t, db, `CREATE TABLE t (id VARCHAR NOT NULL, n BIGINT, amount DECIMAL(38,9), ok BOOLEAN, "at" TIMESTAMP,
		day DATE, doc JSON, raw BLOB, tags VARCHAR[], params STRUCT("key" VARCHAR, value STRUCT(int_value BIGINT, "double value" DOUBLE))[]);
		CREATE VIEW v AS SELECT id, n * 2 AS n2 FROM t`)
	s, err := db.Describe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	want := []warehouse.Column{
		{Name: "id", Type: warehouse.String, Required: true},
		{Name: "n", Type: warehouse.Int64},
		{Name: "amount", Type: warehouse.Numeric},
		{Name: "ok", Type: warehouse.Bool},
		{Name: "at", Type: warehouse.Timestamp},
		{Name: "day", Type: warehouse.Date},
		{Name: "doc", Type: warehouse.JSON},
		{Name: "raw", Type: warehouse.Bytes},
		{Name: "tags", Type: warehouse.String, Repeated: true},
		{Name: "params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
			{Name: "key", Type: warehouse.String},
			{Name: "value", Type: warehouse.Record, Fields: []warehouse.Column{
				{Name: "int_value", Type: warehouse.Int64},
				{Name: "double value", Type: warehouse.Float64},
			}},
		}},
	}
	if !reflect.DeepEqual(s.Columns, want) {
		t.Errorf("Describe(t) =\n%+v\nwant\n%+v", s.Columns, want)
	}
	v, err := db.Describe(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Columns) != 2 || v.Columns[1].Name != "n2" || v.Columns[1].Type != warehouse.Int64 {
		t.Errorf("Describe(v) = %+v", v.Columns)
	}
	if _, err := db.Describe(ctx, "missing"); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("Describe(missing) = %v, want ErrNotFound", err)
	}
}

// TestDescribeMatchesInformationSchema checks Describe (DESCRIBE of the one
// table) against the information_schema.columns lookup it replaced, on
// nested, list, partitioned and view columns, names in mixed case, a
// temporary table shadowing a main one, and a database file named main.
func TestDescribeMatchesInformationSchema(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"", filepath.Join(t.TempDir(), "main.duckdb")} {
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mustExec(t, db, `CREATE TABLE t (id VARCHAR NOT NULL, n BIGINT, amount DECIMAL(38,9), ok BOOLEAN, "at" TIMESTAMP, tz TIMESTAMPTZ,
			day DATE, doc JSON, raw BLOB, tags VARCHAR[], m MAP(VARCHAR, BIGINT),
			params STRUCT("key" VARCHAR, value STRUCT(int_value BIGINT, "double value" DOUBLE))[]);
			CREATE TABLE "MiXed ""Name""" (A INTEGER NOT NULL, "b c" DOUBLE[]);
			CREATE VIEW v AS SELECT id, n * 2 AS n2, params FROM t`)
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: "ga4", Schema: ga4Schema, Rows: warehouse.NewSliceRows(nil)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: "spend", Schema: spendSchema, Rows: warehouse.NewSliceRows(nil)}); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"t", "T", `MiXed "Name"`, `mixed "name"`, "v", "ga4", "spend"} {
			got, err := db.Describe(ctx, table)
			if err != nil {
				t.Fatalf("%s: Describe(%s): %v", displayPath(path), table, err)
			}
			want := describeOracle(t, db, table)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Describe(%s) =\n%+v\nwant (information_schema)\n%+v", displayPath(path), table, got, want)
			}
		}
		if s, _ := db.Describe(ctx, "spend"); s.PartitionColumn != spendSchema.PartitionColumn {
			t.Errorf("Describe(spend).PartitionColumn = %q, want %q", s.PartitionColumn, spendSchema.PartitionColumn)
		}
		// A temporary table of the same name on the connection must not
		// hide the main one, nor make a missing one appear.
		err = db.withConn(ctx, func(conn *sql.Conn) error {
			if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE t (other INTEGER); CREATE TEMP TABLE only_temp (x INTEGER)"); err != nil {
				return err
			}
			cols, err := db.tableColumns(ctx, conn, "t")
			if err != nil {
				return err
			}
			if len(cols) != 12 || cols[0].Name != "id" {
				t.Errorf("%s: with a temporary t, tableColumns(t) = %+v", displayPath(path), cols)
			}
			if cols, err := db.tableColumns(ctx, conn, "only_temp"); err != nil || cols != nil {
				t.Errorf("%s: tableColumns(only_temp) = %+v, %v; want nothing", displayPath(path), cols, err)
			}
			_, err = conn.ExecContext(ctx, "DROP TABLE temp.t; DROP TABLE temp.only_temp")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Describe(ctx, "missing"); !errors.Is(err, warehouse.ErrNotFound) {
			t.Errorf("%s: Describe(missing) = %v, want ErrNotFound", displayPath(path), err)
		}
	}
}

// describeOracle is Describe as it was written before DESCRIBE: the
// columns from information_schema.columns, the partition from the comment.
func describeOracle(t *testing.T, db *DB, table string) warehouse.Schema {
	t.Helper()
	rows, err := db.SQLDB().QueryContext(context.Background(), `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_catalog = current_database() AND table_schema = 'main' AND lower(table_name) = lower(?)
		ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var s warehouse.Schema
	for rows.Next() {
		var name, typ, nullable string
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			t.Fatal(err)
		}
		dt, err := parseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		c := dt.column(name)
		c.Required = nullable == "NO"
		s.Columns = append(s.Columns, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var comment sql.NullString
	err = db.SQLDB().QueryRowContext(context.Background(), `SELECT comment FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower(?)`, table).Scan(&comment)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	if pc, ok := strings.CutPrefix(comment.String, partitionComment); ok {
		s.PartitionColumn = pc
	}
	return s
}

func TestConcurrentQueriesAndLoads(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t AS SELECT range AS x FROM range(1000)")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for range 10 {
				r, err := db.Query(ctx, "SELECT sum(x) FROM t")
				if err != nil {
					errs <- err
					return
				}
				rows, err := warehouse.CollectRows(r)
				if err != nil {
					errs <- err
					return
				}
				if rows[0][0] != int64(499500) {
					errs <- errors.New("wrong sum")
					return
				}
			}
			_, err := db.Load(ctx, warehouse.LoadRequest{
				Table:  "loaded",
				Schema: warehouse.Schema{Columns: []warehouse.Column{{Name: "worker", Type: warehouse.Int64}}},
				Rows:   warehouse.NewSliceRows([][]any{{int64(i)}, {int64(i)}}),
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM loaded"); got != int64(32) {
		t.Errorf("loaded rows = %v, want 32", got)
	}
	// New tables created by concurrent loads do not conflict either.
	for i := range 8 {
		wg.Go(func() {
			_, err := db.Load(ctx, warehouse.LoadRequest{
				Table:  fmt.Sprintf("new_%d", i),
				Schema: warehouse.Schema{Columns: []warehouse.Column{{Name: "v", Type: warehouse.Int64}}},
				Mode:   warehouse.Replace,
				Rows:   warehouse.NewSliceRows([][]any{{int64(i)}}),
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := queryOne(t, db, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'new_%'"); got != int64(8) {
		t.Errorf("tables created = %v, want 8", got)
	}
}

// Exec skips the closing ROLLBACK only for scripts that cannot open a
// transaction; whatever the spelling of BEGIN, a missing COMMIT is caught.
func TestExecTransactionSpellings(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	for _, script := range []string{
		"begin transaction; INSERT INTO t VALUES (1);",
		"Begin; INSERT INTO t VALUES (1);",
		"START TRANSACTION; INSERT INTO t VALUES (1);",
		"BEGIN TRANSACTION; INSERT INTO t VALUES (1); SELECT 1 AS commit",
		"BEGIN TRANSACTION; INSERT INTO t VALUES (1); -- COMMIT",
		"BEGIN TRANSACTION; INSERT INTO t VALUES (1); SELECT 'COMMIT'",
	} {
		if _, err := db.Exec(ctx, script); err == nil || !strings.Contains(err.Error(), "transaction open") {
			t.Errorf("Exec(%q) error = %v, want a missing-COMMIT error", script, err)
		}
		if _, err := db.Exec(ctx, script, warehouse.WithLabels(nil)); err == nil || !strings.Contains(err.Error(), "transaction open") {
			t.Errorf("Exec(%q) with options error = %v, want a missing-COMMIT error", script, err)
		}
	}
	// A failing statement outside a transaction leaves its connection
	// usable for the next script.
	for range 4 {
		if _, err := db.Exec(ctx, "INSERT INTO t VALUES ('not a number')"); err == nil {
			t.Fatal("Exec of a bad INSERT succeeded")
		}
	}
	for range 4 {
		mustExec(t, db, "INSERT INTO t VALUES (2)")
		mustExec(t, db, "BEGIN TRANSACTION; INSERT INTO t VALUES (3); COMMIT;")
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t WHERE x = 1"); got != int64(0) {
		t.Errorf("uncommitted scripts applied %v rows", got)
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t"); got != int64(8) {
		t.Errorf("rows = %v, want 8", got)
	}
	for _, c := range []struct {
		stmt string
		want bool
	}{
		{"COMMIT", true}, {" commit\n", true}, {"COMMIT  TRANSACTION", true}, {"end", true},
		{"SELECT 1 AS commit", false}, {"'COMMIT'", false}, {"COMMIT; BEGIN", false}, {"", false},
	} {
		if got := isCommit(c.stmt); got != c.want {
			t.Errorf("isCommit(%q) = %v, want %v", c.stmt, got, c.want)
		}
	}
	for _, c := range []struct {
		script string
		want   bool
	}{
		{"CREATE OR REPLACE TABLE m AS SELECT 1", false},
		{"SELECT begin_date FROM t", true},
		{"BEGIN TRANSACTION; DROP TABLE m; COMMIT", true},
		{"start transaction", true},
		{"", false},
	} {
		if got := mayOpenTransaction(c.script); got != c.want {
			t.Errorf("mayOpenTransaction(%q) = %v, want %v", c.script, got, c.want)
		}
	}
}

func TestExecCancelledLeavesPoolClean(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Exec(ctx, "BEGIN TRANSACTION; INSERT INTO t VALUES (1); COMMIT;"); err == nil {
		t.Fatal("Exec with a cancelled context succeeded")
	}
	for range 3 {
		mustExec(t, db, "BEGIN TRANSACTION; INSERT INTO t VALUES (2); COMMIT;")
	}
	if got := queryOne(t, db, "SELECT count(*) FROM t WHERE x = 1"); got != int64(0) {
		t.Errorf("cancelled script applied %v rows", got)
	}
}

func TestOpenRejectsNegativeThreads(t *testing.T) {
	if _, err := Open(context.Background(), "", Options{Threads: -1}); err == nil {
		t.Fatal("Open accepted Threads = -1")
	}
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "sam.duckdb")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(ctx, "SELECT current_setting('memory_limit')")
	if err != nil {
		t.Fatal(err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(all[0][0]); !strings.HasPrefix(got, "953.6 MiB") && !strings.HasPrefix(got, "1.0 GB") && !strings.HasPrefix(got, "1000.0 MB") {
		t.Fatalf("memory_limit = %q, want 1GB", got)
	}
	if _, err := Open(ctx, "", Options{MemoryLimit: "lots"}); err == nil {
		t.Fatal("a memory limit that is not a size must be refused")
	}
}
