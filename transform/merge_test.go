package transform

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// userTotals gathers each user's whole history into one row, so a new event
// changes a row in whatever partition the user's last day put it.
const userTotals = `/*
materialized: incremental
incremental_strategy: merge
partition_by: last_date
unique_key: [user_id]
lookback_days: 1
*/
with touched as (
  select distinct user_id from {{ ref "stg_events" }} where {{ incremental_filter "event_date" }}
)
select e.user_id, max(e.event_date) as last_date, count(*) as events, sum(e.amount) as amount
from {{ ref "stg_events" }} as e
join touched as t on t.user_id = e.user_id
group by e.user_id
`

func TestMergeReplacesTheRowsOfTheKeysItBuilt(t *testing.T) {
	f := newFixture(t)
	f.fs["intermediate/int_user_totals.sql"] = &fstest.MapFile{Data: []byte(userTotals)}
	f.mustBuild("")
	// u1's row lies in partition 2024-01-02, before the window (2024-01-03).
	f.exec(`INSERT INTO raw_app__events VALUES ('e6', DATE '2024-01-05', 'u1', 'email', 100.0)`)
	f.mustBuild("")
	if st := f.state()["int_user_totals"]; st.Partitions != "2024-01-04,2024-01-05" {
		t.Errorf("partitions built = %q", st.Partitions)
	}
	q := "SELECT user_id, last_date, events, amount FROM int_user_totals ORDER BY user_id"
	got := f.rows(q)
	want := [][]string{
		{"u1", "2024-01-05", "3", "115"},
		{"u2", "2024-01-01", "1", "20"},
		{"u3", "2024-01-04", "2", "3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the merge: %v, want %v", got, want)
	}
	if _, err := f.build("", BuildOptions{FullRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if full := f.rows(q); !reflect.DeepEqual(full, got) {
		t.Errorf("full refresh %v, merge %v", full, got)
	}
}

func TestMergeNeedsIncrementalAndUniqueKey(t *testing.T) {
	f := newFixture(t)
	f.fs["intermediate/int_user_totals.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(userTotals, "unique_key: [user_id]\n", "", 1))}
	_, err := LoadProject(f.fs)
	if err == nil || !strings.Contains(err.Error(), "incremental_strategy: merge needs") {
		t.Fatalf("LoadProject error = %v", err)
	}
}

func TestLoadedDaysNamesATableTheModelReads(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"loaded_days: {source: raw_other__table, day: d, loaded_at: t}\n", "loaded_days source raw_other__table is not a table the model reads"},
		{"loaded_days: {source: raw_x, day: 'd;', loaded_at: t}\n", "loaded_days"},
	} {
		f := newFixture(t)
		f.fs["intermediate/int_user_totals.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(userTotals, "unique_key: [user_id]\n", "unique_key: [user_id]\n"+tc.header, 1))}
		if _, err := LoadProject(f.fs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadProject error = %v, want %q", tc.header, err, tc.want)
		}
	}
}
