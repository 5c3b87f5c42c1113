package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/scheduler"
)

func cmdSchedule(ctx context.Context, e *env) error {
	fs := e.flags("schedule")
	tz := fs.String("tz", "UTC", "time zone of the cron expression")
	ttl := fs.Duration("lock-ttl", 10*time.Minute, "lease of the run lock; a dead holder frees it after this long")
	now := fs.Bool("run-now", false, "also run once at start, before the first tick")
	skip := fs.Bool("skip-when-locked", false, "when another run holds the lock at a tick, skip that tick and keep serving (a standby host) instead of exiting with status 4")
	if err := e.parse(fs); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef(`schedule needs one cron expression, e.g. sam schedule "0 6 * * *"`)
	}
	sched, err := scheduler.ParseCron(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usagef("--tz: %v", err)
	}
	if *ttl < 30*time.Second {
		return usagef("--lock-ttl must be at least 30s")
	}
	app, err := e.openFor(ctx, jobs.StageNames(), nil)
	if err != nil {
		return err
	}
	defer app.Close()
	host, _ := os.Hostname()
	err = app.Schedule(ctx, jobs.ScheduleOptions{
		Schedule: sched, Location: loc, LockTTL: *ttl, Holder: fmt.Sprintf("%s-%d", host, os.Getpid()),
		RunNow: *now, SkipWhenLocked: *skip,
		Report: func(rep jobs.Report) { printSummary(e.stdout, rep) },
	})
	if errors.Is(err, context.Canceled) {
		app.Log.Info("schedule stopped")
		return nil
	}
	return err
}
