package bqpipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/bqfake"
)

func TestSplitScript(t *testing.T) {
	got := splitScript("SELECT ';' AS a; -- x; y\nSELECT `a;b`, \"\"\"c;\nd\"\"\" /* ; */;\n\n;SELECT r'\\';'")
	want := []string{"SELECT ';' AS a", "-- x; y\nSELECT `a;b`, \"\"\"c;\nd\"\"\" /* ; */", "SELECT r'\\';'"}
	if !slices.Equal(got, want) {
		t.Errorf("splitScript = %q, want %q", got, want)
	}
}

func TestReadPath(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want string
	}{
		{"`p-1.d`.events_* x", "p-1|d|events_*"},
		{"`p-1`.`d`.`t` x", "p-1|d|t"},
		{"`p-1.d.t`", "p-1|d|t"},
		{"d.t", "d|t"},
	} {
		p, ok := readPath(lex(tc.sql), 0)
		if got := strings.Join(p.parts, "|"); !ok || got != tc.want {
			t.Errorf("readPath(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}

// run executes sql as one query job and fails the test on a job error
// unless wantErr.
func run(t *testing.T, x *Executor, sql string, wantErr bool) bqfake.QueryResult {
	t.Helper()
	res := x.Handle(bqfake.Query{ProjectID: "p", SQL: sql})
	if (res.Error != nil) != wantErr {
		t.Fatalf("%s: error %v, want error: %v", sql, res.Error, wantErr)
	}
	return res
}

// rows renders a query's result rows as text, sorted.
func rows(t *testing.T, x *Executor, sql string) string {
	t.Helper()
	res := run(t, x, sql, false)
	var out []string
	for _, r := range res.Rows {
		out = append(out, strings.TrimSuffix(fmt.Sprintln(r...), "\n"))
	}
	slices.Sort(out)
	return strings.Join(out, "|")
}

func TestExecutor(t *testing.T) {
	client := env.Client(t)
	fake := bqfake.Start(t)
	fake.AddDataset("p", "d", "US")
	x := NewExecutor(fake, client)

	run(t, x, "CREATE TABLE IF NOT EXISTS `p.d.t` (id INT64, day DATE, tags ARRAY<STRING>, s STRUCT<a STRING, b FLOAT64> OPTIONS(description='x'))\nPARTITION BY day", false)
	if tb, _ := fake.Table("p", "d", "t"); tb.Meta.TimePartitioning == nil || tb.Meta.TimePartitioning.Field != "day" {
		t.Fatalf("partitioning not recorded: %+v", tb.Meta.TimePartitioning)
	}
	res := run(t, x, "INSERT INTO `p.d.t` (id, day, tags) VALUES (1, DATE '2024-01-01', ['a']), (2, '2024-01-02', []), (3, NULL, NULL)", false)
	if res.StatementType != "INSERT" || res.DMLAffectedRows != 3 {
		t.Fatalf("insert: %s %d", res.StatementType, res.DMLAffectedRows)
	}
	run(t, x, "INSERT `p.d.t` (id, s) SELECT 4, STRUCT('x' AS a, 1.5 AS b)", false)
	if got, want := rows(t, x, "SELECT id, day FROM `p`.`d`.`t` WHERE s.b = 1.5 OR id = 1"), "1 2024-01-01T00:00:00Z|4 <nil>"; !strings.Contains(got, "4 <nil>") || !strings.HasPrefix(got, "1 2024-01-01") {
		t.Fatalf("select: %q, want like %q", got, want)
	}

	// DELETE keeps rows whose condition is NULL.
	res = run(t, x, "DELETE FROM `p.d.t` WHERE day < DATE '2024-01-02'", false)
	if res.DMLAffectedRows != 1 {
		t.Fatalf("delete affected %d rows, want 1", res.DMLAffectedRows)
	}
	if got := rows(t, x, "SELECT id FROM `p.d.t`"); got != "2|3|4" {
		t.Fatalf("after delete: %q", got)
	}
	res = run(t, x, "UPDATE `p.d.t` x SET x.id = id * 10 WHERE id >= 3", false)
	if res.DMLAffectedRows != 2 {
		t.Fatalf("update affected %d rows, want 2", res.DMLAffectedRows)
	}
	if got := rows(t, x, "SELECT id FROM `p.d.t`"); got != "2|30|40" {
		t.Fatalf("after update: %q", got)
	}

	// A failing statement rolls the transaction back.
	res = run(t, x, "BEGIN TRANSACTION; DELETE FROM `p.d.t` WHERE TRUE; CREATE TABLE `p.d.new` AS SELECT 1 AS n; SELECT 1/0; COMMIT TRANSACTION", true)
	if got := rows(t, x, "SELECT id FROM `p.d.t`"); got != "2|30|40" {
		t.Fatalf("after rollback: %q", got)
	}
	if _, ok := fake.Table("p", "d", "new"); ok {
		t.Fatal("a table created in a failed transaction survived")
	}
	res = run(t, x, "BEGIN TRANSACTION; DELETE FROM `p.d.t` WHERE id = 2; COMMIT TRANSACTION", false)
	if res.StatementType != "SCRIPT" || len(res.Children) != 3 || res.Children[1].DMLAffectedRows != 1 {
		t.Fatalf("script result: %+v", res)
	}

	// Views are evaluated when read; CTAS, rename and drop.
	run(t, x, "CREATE OR REPLACE VIEW `p.d.v` AS SELECT id * 2 AS twice FROM `p.d.t`", false)
	if got := rows(t, x, "SELECT twice FROM `p.d.v`"); got != "60|80" {
		t.Fatalf("view: %q", got)
	}
	run(t, x, "CREATE OR REPLACE TABLE `p.d.c__tmp` OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS SELECT twice FROM `p.d.v`", false)
	run(t, x, "ALTER TABLE `p.d.c__tmp` RENAME TO c", false)
	if got := rows(t, x, "SELECT SUM(twice) FROM `p.d.c`"); got != "140" {
		t.Fatalf("renamed table: %q", got)
	}
	run(t, x, "DROP TABLE `p.d.v`", true)
	run(t, x, "DROP VIEW IF EXISTS `p.d.v`", false)
	run(t, x, "DROP TABLE `p.d.v`", true)
	if got := rows(t, x, "SELECT table_name, table_type FROM `p.d`.INFORMATION_SCHEMA.TABLES"); got != "c BASE TABLE|t BASE TABLE" {
		t.Fatalf("INFORMATION_SCHEMA.TABLES: %q", got)
	}
	if got := rows(t, x, "SELECT partition_id, total_rows FROM `p.d`.INFORMATION_SCHEMA.PARTITIONS WHERE table_name = 't'"); got != "__NULL__ 2" {
		t.Fatalf("INFORMATION_SCHEMA.PARTITIONS: %q", got)
	}
	// A write moves the table's last_modified_time; one rolled back does not.
	modified := func() int64 {
		t.Helper()
		n, err := strconv.ParseInt(rows(t, x, "SELECT UNIX_MICROS(last_modified_time) FROM `p.d`.INFORMATION_SCHEMA.PARTITIONS WHERE table_name = 't'"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := modified()
	run(t, x, "BEGIN TRANSACTION; INSERT INTO `p.d.t` (id) VALUES (5); SELECT 1/0; COMMIT TRANSACTION", true)
	if got := modified(); got != before {
		t.Errorf("a rolled-back insert moved last_modified_time from %d to %d", before, got)
	}
	run(t, x, "INSERT INTO `p.d.t` (id) VALUES (5)", false)
	if got := modified(); got <= before {
		t.Errorf("after an insert last_modified_time is %d, not after %d", got, before)
	}

	// Wildcard tables carry _TABLE_SUFFIX.
	run(t, x, "CREATE TABLE `p.d.ev_1` AS SELECT 'a' AS e", false)
	run(t, x, "CREATE TABLE `p.d.ev_2` AS SELECT 'b' AS e", false)
	if got := rows(t, x, "SELECT e, _TABLE_SUFFIX FROM `p.d`.ev_* WHERE _TABLE_SUFFIX IN ('1', '2')"); got != "a 1|b 2" {
		t.Fatalf("wildcard: %q", got)
	}

	// A partitioned table cannot be replaced with another partitioning.
	run(t, x, "CREATE OR REPLACE TABLE `p.d.t` PARTITION BY DATE(ts) AS SELECT CURRENT_TIMESTAMP() AS ts", true)
}
