package ga4

import (
	"testing"
	"time"
)

// Three tasks, each restricted to its shard, choose every day exactly once
// between them, whatever another task has already loaded when they list.
func TestShardsChooseEveryDayOnce(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	days := func(from, to int) map[time.Time]exportTable {
		m := map[time.Time]exportTable{}
		for i := from; i <= to; i++ {
			d := d0.AddDate(0, 0, i)
			m[d] = exportTable{name: "events_" + d.Format("20060102"), day: d}
		}
		return m
	}
	// Days 0..19 loaded before the run; the export now has 0..29.
	before := map[time.Time]string{}
	for d, tb := range days(0, 19) {
		before[d] = tb.name
	}
	single := chooseDays(days(0, 29), copyLoaded(before), 3, time.Time{})

	// Task 1 lists after task 0 already loaded its new days.
	loadedByTask0 := copyLoaded(before)
	for d, tb := range days(20, 29) {
		if (Shard{0, 3}).owns(d) {
			loadedByTask0[d] = tb.name
		}
	}
	got := map[time.Time]int{}
	for i, loaded := range []map[time.Time]string{copyLoaded(before), loadedByTask0, copyLoaded(before)} {
		s := Shard{Index: i, Count: 3}
		available := days(0, 29)
		s.restrict(available, loaded)
		for _, tb := range chooseDays(available, loaded, 3, time.Time{}) {
			if !s.owns(tb.day) {
				t.Fatalf("task %d chose %s, which it does not own", i, tb.name)
			}
			got[tb.day]++
		}
	}
	for _, tb := range single {
		if got[tb.day] != 1 {
			t.Errorf("%s: chosen %d times by the tasks, once by a single task", tb.name, got[tb.day])
		}
	}
	for d, n := range got {
		if n > 1 {
			t.Errorf("%s chosen %d times", d.Format(time.DateOnly), n)
		}
	}
}

func copyLoaded(m map[time.Time]string) map[time.Time]string {
	out := make(map[time.Time]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
