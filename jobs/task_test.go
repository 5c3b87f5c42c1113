package jobs

import (
	"strconv"
	"strings"
	"testing"
)

func TestShardsCoverEveryItemOnce(t *testing.T) {
	for count := 1; count <= 5; count++ {
		seen := map[int]int{}
		for idx := 0; idx < count; idx++ {
			env := map[string]string{"CLOUD_RUN_TASK_COUNT": strconv.Itoa(count), "CLOUD_RUN_TASK_INDEX": strconv.Itoa(idx)}
			s, err := TaskFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			for item := 0; item < 23; item++ {
				if s.owns(item) {
					seen[item]++
				}
			}
		}
		for item := 0; item < 23; item++ {
			if seen[item] != 1 {
				t.Fatalf("count %d: item %d owned %d times", count, item, seen[item])
			}
		}
	}
}

func TestShardRejectsBadEnvironment(t *testing.T) {
	for _, env := range []map[string]string{
		{"CLOUD_RUN_TASK_COUNT": "0"},
		{"CLOUD_RUN_TASK_COUNT": "2", "CLOUD_RUN_TASK_INDEX": "2"},
		{"CLOUD_RUN_TASK_INDEX": "x"},
	} {
		if _, err := TaskFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
			t.Errorf("%v: want an error", env)
		}
	}
}

func TestTaskErrorsNameTheVariable(t *testing.T) {
	for env, want := range map[[2]string]string{
		{"0", ""}: "CLOUD_RUN_TASK_COUNT", {"x", ""}: "CLOUD_RUN_TASK_COUNT",
		{"2", "2"}: "CLOUD_RUN_TASK_INDEX", {"", "-1"}: "CLOUD_RUN_TASK_INDEX",
	} {
		m := map[string]string{"CLOUD_RUN_TASK_COUNT": env[0], "CLOUD_RUN_TASK_INDEX": env[1]}
		_, err := TaskFromEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want an error naming %s, got %v", m, want, err)
		}
	}
}

// A task may own no stream: its share is empty, not "all", and the zero
// Task is the one task that owns everything.
func TestTaskShare(t *testing.T) {
	streams := []string{"leads", "deals"}
	if got := (Task{Index: 2, Count: 3}).share(streams); got == nil || len(got) != 0 {
		t.Errorf("task 2 of 3 shares %v, want an empty share", got)
	}
	if got := (Task{}).share(streams); len(got) != 2 {
		t.Errorf("the zero task shares %v, want all", got)
	}
}

// BigQuery cancels transactions that change one table at the same time
// ("Conflicting transactions are cancelled", BigQuery transactions page),
// and every GA4 day's copy deletes and inserts raw_ga4__events in one.
// Before, the four tasks of the sam-load job each copied their share of
// the days at once and aborted each other. On BigQuery task 0 copies every
// day; the other tasks leave the stage to it without touching the
// warehouse.
func TestOnBigQueryOnlyTaskZeroLoadsGA4(t *testing.T) {
	a := &App{Settings: &Settings{Task: Task{Index: 1, Count: 4}}}
	a.Settings.Warehouse.Engine = "bigquery"
	res, err := a.loadGA4(t.Context(), &Run{ID: "r"})
	if err != nil || !strings.Contains(res.Detail, "task 0") {
		t.Fatalf("task 1 of 4: %+v, %v; want the stage left to task 0", res, err)
	}
}
