package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sam-attribution/sam/internal/retry"
)

// Loop runs work on a cron schedule until its context ends. Each tick takes
// the warehouse lock first, so two hosts (or a slow run and the next tick)
// never run the pipeline at once.
type Loop struct {
	Schedule *Schedule
	Lock     *Lock
	Work     func(ctx context.Context) error
	Logger   *slog.Logger
	// Location is the schedule's time zone (default UTC).
	Location *time.Location
	// RunAtStart runs the work once before waiting for the first tick.
	RunAtStart bool
	// StopWhenHeld makes Serve return an error wrapping ErrHeld when a tick
	// finds another run holding the lock; by default that tick is skipped
	// and the loop waits for the next one (a standby host).
	StopWhenHeld bool
	// sleep waits until t or ctx ends; tests replace it.
	sleep func(ctx context.Context, t time.Time) error
}

// Serve loops until ctx is cancelled; it returns ctx's error then. A run in
// progress sees the same cancelled context and stops cleanly. With
// StopWhenHeld it also returns when the lock is held by another run.
func (l *Loop) Serve(ctx context.Context) error {
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	sleep := l.sleep
	if sleep == nil {
		sleep = sleepUntil
	}
	if l.RunAtStart {
		if err := l.tick(ctx); err != nil {
			return err
		}
	}
	for {
		next, ok := l.Schedule.Next(l.Lock.now().In(loc))
		if !ok {
			return errors.New("schedule " + l.Schedule.String() + " never fires")
		}
		l.Logger.Info("next run scheduled", "at", next.Format(time.RFC3339))
		if err := sleep(ctx, next); err != nil {
			return err
		}
		if err := l.tick(ctx); err != nil {
			return err
		}
	}
}

// tick runs the work once under the lock. Its error is only for Serve to
// return: a held lock under StopWhenHeld. A failed run is logged, and the
// schedule goes on.
func (l *Loop) tick(ctx context.Context) error {
	if err := l.Lock.Acquire(ctx); err != nil {
		if l.StopWhenHeld && errors.Is(err, ErrHeld) {
			return err
		}
		l.Logger.Warn("skipping this run: the lock is held", "lock", l.Lock.Name, "error", err)
		return nil
	}
	stopRenewing := l.Lock.KeepRenewed(ctx, func(err error) { l.Logger.Warn("could not renew the lock", "error", err) })
	err := l.Work(ctx)
	stopRenewing()
	if rerr := l.Lock.Release(context.WithoutCancel(ctx)); rerr != nil {
		l.Logger.Warn("could not release the lock; it expires on its own", "error", rerr)
	}
	if err != nil {
		l.Logger.Error("scheduled run failed", "error", err)
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	return retry.Wait(ctx, time.Until(t))
}
