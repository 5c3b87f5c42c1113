package jobs

import (
	"context"

	"github.com/sam-attribution/sam/loaders/spend"
)

func (a *App) loadSpend(ctx context.Context, run *Run) (StageResult, error) {
	if !a.Settings.Task.first() {
		return StageResult{Detail: "spend is loaded by task 0"}, nil
	}
	counts, err := spend.Load(ctx, a.WH, a.Settings.Spend, run.ID, run.Logger)
	return countsResult(counts, "spend"), err
}
