package jobs

import (
	"strconv"
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
