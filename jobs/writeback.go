package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/writeback"
)

func (a *App) writebackStage(ctx context.Context, run *Run) (StageResult, error) {
	cfg := a.Settings.Writeback
	if cfg.Mode == writeback.ModeOff {
		return StageResult{Detail: "writeback off (SAM_WRITEBACK_MODE=off)"}, nil
	}
	if !a.Settings.Task.first() {
		return StageResult{Detail: "writeback runs in task 0"}, nil
	}
	opts := writeback.Options{Logger: run.Logger, Out: a.opts.Payloads}
	if cfg.Mode == writeback.ModeLocal {
		sinkFile := a.Settings.SinkFile
		if dir := filepath.Dir(sinkFile); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return StageResult{}, fmt.Errorf("local GA4 sink: %w", err)
			}
		}
		sink, err := ga4sink.Start(ctx, "127.0.0.1:0", sinkFile)
		if err != nil {
			return StageResult{}, fmt.Errorf("start the local GA4 sink: %w", err)
		}
		defer sink.Close()
		opts.LocalEndpoint = sink.URL()
	}
	rep, err := writeback.New(a.WH, cfg, opts).Run(ctx, run.ID)
	res := StageResult{
		Rows: int64(rep.Sent + rep.Validated + rep.Printed),
		Detail: fmt.Sprintf("mode %s: queued %d, sent %d, validated %d, printed %d, already sent %d, refused %d, failed %d, crash window %d",
			cfg.Mode, rep.Queued, rep.Sent, rep.Validated, rep.Printed, rep.Skipped, rep.Refused, rep.Failed, len(rep.CrashWindow)),
	}
	for _, r := range head(rep.Refusals, 20) {
		run.Logger.Warn("event refused by the payload guard", "key", r.Key, "lead_id", r.LeadID, "reason", r.Reason)
	}
	return res, err
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ReleaseCrashWindow clears keys from the writer's crash window after an
// operator has checked in GA4 that they did not arrive, so the next run
// sends them.
func (a *App) ReleaseCrashWindow(ctx context.Context, keys []string) error {
	return writeback.New(a.WH, a.Settings.Writeback, writeback.Options{Logger: a.Log}).Release(ctx, NewRunID(time.Now()), keys)
}
