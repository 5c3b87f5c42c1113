package transform

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// copiesModel is an incremental model whose source holds copies of events;
// deduplicate_by keeps the latest load of each, the lower amount on a tie.
const copiesModel = `/*
materialized: incremental
partition_by: event_date
lookback_days: 1
unique_key: [event_id]
deduplicate_by: loaded_at desc, amount
*/
select event_id, event_date, amount, loaded_at
from {{ source "app" "copies" }}
where {{ incremental_filter "event_date" }}`

// TestDeduplicateByKeepsTheFirstCopy: a model whose query returns copies of
// a key publishes only the first by deduplicate_by, on a full build and on
// an incremental run, and reports and records the rows it kept.
func TestDeduplicateByKeepsTheFirstCopy(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{"staging/ev.sql": {Data: []byte(copiesModel)}}
	f.exec(`CREATE TABLE raw_app__copies AS SELECT * FROM (VALUES
  ('e1', DATE '2024-01-01', 1.0, TIMESTAMP '2024-01-01 10:00:00'),
  ('e1', DATE '2024-01-01', 2.0, TIMESTAMP '2024-01-02 06:00:00'),
  ('e2', DATE '2024-01-02', 4.0, TIMESTAMP '2024-01-02 06:00:00'),
  ('e2', DATE '2024-01-02', 3.0, TIMESTAMP '2024-01-02 06:00:00')
) AS t(event_id, event_date, amount, loaded_at)`)
	rep := f.mustBuild("")
	if got := rep.Models[0].Rows; got != 2 {
		t.Errorf("full build reported %d rows, want 2", got)
	}
	if got := f.state()["ev"].Rows; got != 2 {
		t.Errorf("full build recorded %d rows, want 2", got)
	}
	want := [][]string{{"e1", "2"}, {"e2", "3"}}
	if got := f.rows("SELECT event_id, amount FROM ev ORDER BY event_id"); !reflect.DeepEqual(got, want) {
		t.Errorf("after the full build ev = %v, want %v", got, want)
	}

	// A later copy of e2 (in the lookback) and a new event exported twice.
	f.exec(`INSERT INTO raw_app__copies VALUES
  ('e2', DATE '2024-01-02', 5.0, TIMESTAMP '2024-01-03 06:00:00'),
  ('e3', DATE '2024-01-03', 7.0, TIMESTAMP '2024-01-03 06:00:00'),
  ('e3', DATE '2024-01-03', 6.0, TIMESTAMP '2024-01-03 06:00:00')`)
	rep = f.mustBuild("")
	// The window starts a day before the newest partition, 2024-01-02.
	if m := rep.Models[0]; m.Action != ActionIncremental || m.Rows != 3 {
		t.Errorf("incremental run: %s with %d rows, want incremental with 3 (e1, e2, e3)", m.Action, m.Rows)
	}
	want = [][]string{{"e1", "2"}, {"e2", "5"}, {"e3", "6"}}
	if got := f.rows("SELECT event_id, amount FROM ev ORDER BY event_id"); !reflect.DeepEqual(got, want) {
		t.Errorf("after the incremental run ev = %v, want %v", got, want)
	}
}

// TestDeduplicateByOnBigQueryIsOneWindow: BigQuery gets the copies removed
// by a window in the fill, not by a second statement over the table.
func TestDeduplicateByOnBigQueryIsOneWindow(t *testing.T) {
	wh := &fakeBQ{}
	p := mustLoad(t, fstest.MapFS{"staging/ev.sql": {Data: []byte(copiesModel)}})
	r := &Runner{WH: wh, Project: p, Vars: testVars, RunID: "r1", Now: func() time.Time { return time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC) }}
	if _, err := r.Build(context.Background(), Selection{}, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	create := wh.find(t, "CREATE OR REPLACE TABLE `proj.sam.ev` PARTITION BY event_date AS SELECT * FROM (/*")
	if want := "\n) WHERE TRUE\nQUALIFY ROW_NUMBER() OVER (PARTITION BY `event_id` ORDER BY loaded_at desc, amount) = 1\n"; !strings.HasSuffix(create, want) {
		t.Errorf("fill = %s\nwant it to end with %q", create, want)
	}
	for _, s := range wh.stmts {
		if strings.HasPrefix(s, "DELETE") {
			t.Errorf("unexpected statement %s", s)
		}
	}
}

func TestDeduplicateByNeedsAUniqueKey(t *testing.T) {
	for _, header := range []string{
		"materialized: table\ndeduplicate_by: loaded_at desc",
		"materialized: view\nunique_key: [id]\ndeduplicate_by: loaded_at desc",
	} {
		_, err := LoadProject(fstest.MapFS{"staging/m.sql": {Data: []byte("/*\n" + header + "\n*/\nselect 1 as id")}})
		if err == nil || !strings.Contains(err.Error(), "staging/m.sql:") || !strings.Contains(err.Error(), "deduplicate_by needs materialized: table or incremental and a unique_key") {
			t.Errorf("%q: error = %v", header, err)
		}
	}
}
