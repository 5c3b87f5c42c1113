package jobs

import (
	"fmt"
	"os"
	"strconv"
)

// shard is this process's share of a Cloud Run job's parallel tasks. Cloud
// Run sets CLOUD_RUN_TASK_INDEX (0-based) and CLOUD_RUN_TASK_COUNT; outside
// Cloud Run there is one task.
type shard struct {
	index, count int
}

// readShard reads the task split from the environment.
func readShard(lookup func(string) (string, bool)) (shard, error) {
	s := shard{index: 0, count: 1}
	if v, ok := lookup("CLOUD_RUN_TASK_COUNT"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fmt.Errorf("CLOUD_RUN_TASK_COUNT=%q is not a positive integer", v)
		}
		s.count = n
	}
	if v, ok := lookup("CLOUD_RUN_TASK_INDEX"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= s.count {
			return s, fmt.Errorf("CLOUD_RUN_TASK_INDEX=%q is not in [0, %d)", v, s.count)
		}
		s.index = n
	}
	return s, nil
}

// owns reports whether item i (of a stable ordering) belongs to this task:
// round-robin, so every item has exactly one owner and none is missed.
func (s shard) owns(i int) bool { return i%s.count == s.index }

func (a *App) shard() shard {
	s, err := readShard(os.LookupEnv)
	if err != nil {
		// NewApp validated it already; fall back to doing everything.
		return shard{index: 0, count: 1}
	}
	return s
}

// crmStreams returns the CRM streams this task syncs (all of them when there
// is one task).
func (a *App) crmStreams(src interface{ Streams() []string }) []string {
	s := a.shard()
	all := src.Streams()
	if s.count == 1 {
		return all
	}
	var mine []string
	for i, st := range all {
		if s.owns(i) {
			mine = append(mine, st)
		}
	}
	if len(mine) == 0 {
		// An empty list would mean "all" to Sync; name a stream no source
		// has so this task syncs nothing.
		return []string{"-none-"}
	}
	return mine
}
