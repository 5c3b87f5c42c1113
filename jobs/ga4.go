package jobs

import (
	"context"
	"fmt"

	"github.com/sam-attribution/sam/loaders/ga4"
)

func (a *App) loadGA4(ctx context.Context, run *Run) (StageResult, error) {
	// Parallel Cloud Run tasks split the export days between them.
	sh := a.shard()
	shard := ga4.Shard{Index: sh.index, Count: sh.count}
	var loader ga4.Loader
	switch a.Cfg.Engine {
	case "bigquery":
		cfg := a.Cfg.GA4
		if cfg.ExportProject == "" {
			cfg.ExportProject = a.Cfg.Project
		}
		if cfg.ExportDataset == "" {
			return StageResult{}, &ConfigError{Err: fmt.Errorf("config: SAM_GA4_EXPORT_DATASET: must be set when SAM_ENGINE=bigquery")}
		}
		l, err := ga4.NewBigQueryLoader(cfg, a.WH, run.Logger)
		if err != nil {
			return StageResult{}, err
		}
		loader = l.WithShard(shard)
	default:
		loader = ga4.NewFileLoader(a.Cfg.GA4, a.WH, run.Logger).WithShard(shard)
	}
	res, err := loader.Load(ctx, run.ID)
	out := countsResult(res.Counts, "ga4")
	out.BytesProcessed = res.BytesProcessed
	out.Detail += fmt.Sprintf(", days replaced %d", len(res.Days))
	return out, err
}
