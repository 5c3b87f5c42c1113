package jobs

import (
	"context"
	"fmt"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/spend"
)

func (a *App) loadSpend(ctx context.Context, run *Run) (StageResult, error) {
	if !a.Settings.Task.first() {
		return StageResult{Detail: "spend is loaded by task 0"}, nil
	}
	res, err := spend.Load(ctx, a.WH, a.Settings.Spend, run.ID, run.Logger)
	out := countsResult(res.Total(), "spend")
	s, fx := res.Spend, res.FX
	out.Detail = fmt.Sprintf("spend: read %d, loaded %d, rejected %d", s.Read, s.Loaded, s.Rejected)
	if s.Read == 0 {
		out.Detail += " (no spend rows: paid channels show no cost)"
	}
	out.Detail += fmt.Sprintf("; rates: read %d, loaded %d, rejected %d", fx.Read, fx.Loaded, fx.Rejected)
	if s.Rejected+fx.Rejected > 0 {
		out.Detail += " (see " + loaders.RejectsTable + ")"
	}
	return out, err
}
