package duckdb

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/warehouse"
)

// TestArrayLookupReadsFirstMatch checks the lookup's NULL and duplicate-key
// semantics: the first element with the key, NULL for a missing key, an
// empty list, a NULL list or a NULL value.
func TestArrayLookupReadsFirstMatch(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, `CREATE TABLE ev AS SELECT * FROM (VALUES
		(1, [{'key': 'a', 'value': {'int_value': 1}}, {'key': 'b', 'value': {'int_value': 2}}, {'key': 'a', 'value': {'int_value': 3}}]),
		(2, [{'key': NULL, 'value': {'int_value': 4}}, {'key': 'b', 'value': {'int_value': 5}}]),
		(3, []),
		(4, NULL),
		(5, [{'key': 'a', 'value': {'int_value': NULL}}, {'key': 'a', 'value': {'int_value': 6}}])
	) AS t(id, event_params)`)
	read := func(v string) string { return v + ".int_value" }
	q := fmt.Sprintf("SELECT id, %s, %s, %s FROM ev ORDER BY id",
		Dialect{}.ArrayLookup("event_params", "a", read),
		Dialect{}.ArrayLookup("event_params", "b", read),
		Dialect{}.ArrayLookup("event_params", "zz", read))
	want := "[[1 1 2 <nil>] [2 <nil> 5 <nil>] [3 <nil> <nil> <nil>] [4 <nil> <nil> <nil>] [5 <nil> <nil> <nil>]]"
	if got := fmt.Sprint(queryRows(t, db, q)); got != want {
		t.Errorf("%s\n= %v\nwant %v", q, got, want)
	}
}

// TestFirstRowByKeepsNullValues checks that FirstRowBy reads the first
// qualifying row's values even when NULL, and NULL when no row qualifies.
func TestFirstRowByKeepsNullValues(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, `CREATE TABLE ev AS SELECT * FROM (VALUES
		('s1', 2, 'k2', 'late', true),
		('s1', 1, 'k2', NULL, true),
		('s1', 1, 'k1', 'tie-first', false),
		('s2', 1, 'k1', 'x', false),
		('s3', 1, 'k1', 'y', NULL)
	) AS t(s, ts, k, v, c)`)
	q := fmt.Sprintf("SELECT s, a.v, a.k, b.v FROM (SELECT s, %s AS a, %s AS b FROM ev GROUP BY s) ORDER BY s",
		Dialect{}.FirstRowBy("c", "ts, k", "v", "k"), Dialect{}.FirstRowBy("true", "ts, k", "v"))
	want := [][]any{{"s1", nil, "k2", "tie-first"}, {"s2", nil, nil, "x"}, {"s3", nil, nil, "y"}}
	if got := queryRows(t, db, q); !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n= %v\nwant %v", q, got, want)
	}
}

// TestTimeHexOrderSortsByTimeThenKey checks that the one number sorts
// 5,000 rows as (ts, hex) does: many share a microsecond, some keys share
// their first 16 digits (and differ in the next three, which it holds),
// timestamps before 1970 sort first; and that
// FirstRowBy takes it as the key itself, picking by it.
func TestTimeHexOrderSortsByTimeThenKey(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, `CREATE TABLE ev AS
SELECT i,
  CASE WHEN i % 50 = 0 THEN TIMESTAMP '1969-12-31 23:59:59' ELSE TIMESTAMP '2026-12-07 10:00:00' + to_microseconds(i % 7) END AS ts,
  CASE WHEN i % 11 = 0 THEN '0123456789abcdef' || lpad(lower(hex(i)), 3, '0') || substr(md5(i::VARCHAR), 20, 13) ELSE md5(i::VARCHAR) END AS k
FROM range(5000) AS r(i)`)
	order := Dialect{}.TimeHexOrder("ts", "k")
	if hasTopLevelComma(order) {
		t.Fatalf("TimeHexOrder is a list: %s", order)
	}
	q := fmt.Sprintf(`SELECT count(*) FROM (
  SELECT row_number() OVER (ORDER BY %s) AS by_number, row_number() OVER (ORDER BY greatest(ts, TIMESTAMP '1970-01-01'), k) AS by_pair FROM ev)
WHERE by_number != by_pair`, order)
	if got := queryRows(t, db, q); fmt.Sprint(got) != "[[0]]" {
		t.Errorf("rows out of (ts, hex) order: %v", got)
	}
	first := Dialect{}.FirstRowBy("i % 3 = 0", order, "i")
	if !strings.Contains(first, ", "+order+")") || strings.Contains(first, "row(") {
		t.Errorf("FirstRowBy wraps the number: %s", first)
	}
	q = fmt.Sprintf(`SELECT (SELECT %s.i FROM ev) = (SELECT i FROM ev WHERE i %% 3 = 0 ORDER BY greatest(ts, TIMESTAMP '1970-01-01'), k LIMIT 1)`, first)
	if got := queryRows(t, db, q); fmt.Sprint(got) != "[[true]]" {
		t.Errorf("%s: %v", q, got)
	}
}

// TestDeduplicateKeepsFirstRowPerKey checks, for the query and for the
// deletion from a filled table, that single rows stay as they are, that of
// a repeated key only the first row by the order stays, and that NULL key
// values count as equal, as in GROUP BY.
func TestDeduplicateKeepsFirstRowPerKey(t *testing.T) {
	db := openMem(t)
	query := `SELECT * FROM (VALUES
		('a', 1, 1, 'x'), ('b', 1, 1, 'x'), ('b', 1, 3, 'y'), ('b', 1, 3, 'x'), ('b', 2, 1, 'x'),
		('c', NULL, 2, 'z'), ('c', NULL, 1, 'z'), (NULL, NULL, 1, 'x'), (NULL, NULL, 5, 'x')
	) AS t(k, n, loaded, tbl)`
	key, order := []string{"k", "n"}, "loaded desc, tbl"
	want := "[[<nil> <nil> 5 x] [a 1 1 x] [b 1 3 x] [b 2 1 x] [c <nil> 2 z]]"
	const sorted = " ORDER BY k NULLS FIRST, n"
	q := "SELECT * FROM (" + warehouse.Deduplicate(Dialect{}, query, key, order) + ")" + sorted
	if got := fmt.Sprint(queryRows(t, db, q)); got != want {
		t.Errorf("%s\n= %s\nwant %s", q, got, want)
	}
	del := Dialect{}.DeleteCopies(`"ev"`, key, order)
	mustExec(t, db, `CREATE TABLE "ev" AS `+query)
	mustExec(t, db, del)
	if got := fmt.Sprint(queryRows(t, db, "SELECT * FROM ev"+sorted)); got != want {
		t.Errorf("%s\nleft %s\nwant %s", del, got, want)
	}
}

// TestRepeatedKeysFindsWhatGroupByFinds checks RepeatedKeys against the
// plain GROUP BY it stands for: one column with NULLs left out, and a
// combination in which NULLs group together.
func TestRepeatedKeysFindsWhatGroupByFinds(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, `CREATE TABLE ev AS SELECT * FROM (VALUES
		('a', 1), ('b', 1), ('b', 2), ('c', NULL), ('c', NULL), (NULL, 3), (NULL, 3), ('d', 4)
	) AS t(k, n)`)
	for _, c := range []struct {
		cols  []string
		where string
		want  string
	}{
		{[]string{"k"}, `"k" IS NOT NULL`, "[[b 2] [c 2]]"},
		{[]string{"k", "n"}, "", "[[c <nil> 2] [<nil> 3 2]]"},
		{[]string{"n"}, "", "[[1 2] [3 2] [<nil> 2]]"},
	} {
		q := "SELECT * FROM (" + Dialect{}.RepeatedKeys(`"ev"`, c.cols, c.where) + ") ORDER BY ALL"
		if got := fmt.Sprint(queryRows(t, db, q)); got != c.want {
			t.Errorf("%s\n= %s\nwant %s", q, got, c.want)
		}
	}
}
