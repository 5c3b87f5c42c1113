package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/scheduler"
)

// ScheduleOptions say when `sam schedule` runs the pipeline.
type ScheduleOptions struct {
	Schedule *scheduler.Schedule
	Location *time.Location
	// LockTTL is the lease of the run lock; Holder names this process in it.
	LockTTL time.Duration
	Holder  string
	// RunNow runs once at start, before the first tick.
	RunNow bool
	// SkipWhenLocked keeps serving when a tick finds another run holding
	// the lock; otherwise Schedule returns an error wrapping ErrLocked.
	SkipWhenLocked bool
	// Report receives each scheduled run's report.
	Report func(Report)
}

// Schedule runs the whole pipeline on o.Schedule, one run at a time across
// every host sharing the warehouse, until ctx ends (it returns ctx's error)
// or, unless o.SkipWhenLocked, another run holds the lock at a tick.
func (a *App) Schedule(ctx context.Context, o ScheduleOptions) error {
	loop := &scheduler.Loop{
		Schedule:     o.Schedule,
		Location:     o.Location,
		Lock:         &scheduler.Lock{WH: a.WH, Name: "sam-run", Holder: o.Holder, TTL: o.LockTTL},
		RunAtStart:   o.RunNow,
		StopWhenHeld: !o.SkipWhenLocked,
		Logger:       a.Log,
		Work: func(ctx context.Context) error {
			rep, err := a.Run(ctx, "schedule", nil)
			if o.Report != nil {
				o.Report(rep)
			}
			return err
		},
	}
	err := loop.Serve(ctx)
	if errors.Is(err, scheduler.ErrHeld) {
		return fmt.Errorf("%w: %w", ErrLocked, err)
	}
	return err
}
