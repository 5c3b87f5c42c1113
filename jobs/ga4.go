package jobs

import (
	"context"
	"fmt"

	"github.com/sam-attribution/sam/loaders/ga4"
)

func (a *App) loadGA4(ctx context.Context, run *Run) (StageResult, error) {
	s := a.Settings
	// Parallel Cloud Run tasks split the export days between them.
	shard := ga4.Shard{Index: s.Task.Index, Count: s.Task.count()}
	var loader ga4.Loader
	switch s.Warehouse.Engine {
	case "bigquery":
		// Each day's copy replaces its partition of raw_ga4__events in a
		// transaction, and BigQuery cancels transactions that change one
		// table at the same time (per table, not per partition): task 0
		// copies every day, one script after another.
		if !s.Task.first() {
			return StageResult{Detail: "ga4 is copied by task 0 (BigQuery cancels concurrent transactions on one table)"}, nil
		}
		l, err := ga4.NewBigQueryLoader(s.GA4, a.WH, run.Logger)
		if err != nil {
			return StageResult{}, err
		}
		loader = l
	default:
		loader = ga4.NewFileLoader(s.GA4, a.WH, run.Logger).WithShard(shard)
	}
	res, err := loader.Load(ctx, run.ID)
	out := countsResult(res.Counts, "ga4")
	out.BytesProcessed = res.BytesProcessed
	out.Detail += fmt.Sprintf(", days replaced %d", len(res.Days))
	if n := len(res.Skipped); n > 0 {
		out.Detail += fmt.Sprintf(", files skipped %d (see the warnings)", n)
	}
	return out, err
}
