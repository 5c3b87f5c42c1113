package jobs

import (
	"fmt"
	"strconv"
)

// Task is this process's share of a Cloud Run job's parallel tasks. Cloud
// Run sets CLOUD_RUN_TASK_INDEX (0-based) and CLOUD_RUN_TASK_COUNT; outside
// Cloud Run there is one task, and so is the zero Task.
type Task struct {
	Index, Count int
}

// TaskFromEnv reads the task split once, at start; lookup is os.LookupEnv
// or a test's map.
func TaskFromEnv(lookup func(string) (string, bool)) (Task, error) {
	t := Task{Index: 0, Count: 1}
	if v, ok := lookup("CLOUD_RUN_TASK_COUNT"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return t, fmt.Errorf("CLOUD_RUN_TASK_COUNT=%q is not a positive integer", v)
		}
		t.Count = n
	}
	if v, ok := lookup("CLOUD_RUN_TASK_INDEX"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= t.Count {
			return t, fmt.Errorf("CLOUD_RUN_TASK_INDEX=%q is not in [0, %d)", v, t.Count)
		}
		t.Index = n
	}
	return t, nil
}

func (t Task) count() int { return max(t.Count, 1) }

// first reports whether this is task 0, which alone does the work that
// cannot be split (spend, writeback).
func (t Task) first() bool { return t.Index == 0 }

// owns reports whether item i (of a stable ordering) belongs to this task:
// round-robin, so every item has exactly one owner and none is missed.
func (t Task) owns(i int) bool { return i%t.count() == t.Index }

// share returns the items of all this task owns; it may be empty.
func (t Task) share(all []string) []string {
	mine := []string{}
	for i, s := range all {
		if t.owns(i) {
			mine = append(mine, s)
		}
	}
	return mine
}
