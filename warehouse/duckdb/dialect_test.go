package duckdb

import (
	"fmt"
	"reflect"
	"testing"
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

// TestLatestPerKeyKeepsOneRowPerKey checks that single rows pass as they
// are and that of repeated keys only the first row by the order is kept.
func TestLatestPerKeyKeepsOneRowPerKey(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, `CREATE TABLE ev AS SELECT * FROM (VALUES
		('a', 1, 'x'), ('b', 1, 'x'), ('b', 3, 'y'), ('b', 3, 'x'), ('c', 2, 'z'), ('c', 1, 'z')
	) AS t(k, loaded, tbl)`)
	q := "SELECT * FROM (" + Dialect{}.LatestPerKey("ev", "k", "loaded desc, tbl") + ") ORDER BY k"
	want := "[[a 1 x] [b 3 x] [c 2 z]]"
	if got := fmt.Sprint(queryRows(t, db, q)); got != want {
		t.Errorf("%s\n= %s\nwant %s", q, got, want)
	}
}
