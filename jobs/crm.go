package jobs

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sam-attribution/sam/loaders/crm"
)

func (a *App) loadCRM(ctx context.Context, run *Run) (StageResult, error) {
	s := a.Settings
	client := &http.Client{Timeout: 2 * time.Minute}
	src, err := crm.NewSource(s.CRM, client, run.Logger)
	if err != nil {
		return StageResult{}, err
	}
	// Parallel Cloud Run tasks split the streams between them; a task that
	// owns none syncs none.
	opts := crm.Options{RunID: run.ID, Logger: run.Logger}
	if s.Task.count() > 1 {
		opts.Select = s.Task.share
	}
	counts, err := crm.Sync(ctx, a.WH, src, opts)
	res := countsResult(counts, "crm "+s.CRM.Source)
	if s.Task.count() > 1 {
		res.Detail += fmt.Sprintf(" (task %d of %d)", s.Task.Index, s.Task.count())
	}
	return res, err
}
