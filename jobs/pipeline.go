// Package jobs owns SAM's job definitions and the pipeline that runs them:
// load → transform → test → writeback, each stage recorded in the run ledger
// (sam_run_ledger). It wires the loaders, the transform runner and the GA4
// writer together; the CLI in cmd/sam is a thin layer over it.
//
// Imports point one way: cmd → jobs → (loaders, transform, writeback) →
// warehouse.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// StageResult is what a stage reports for the ledger and the run summary.
type StageResult struct {
	Rows           int64
	BytesProcessed int64
	BytesBilled    int64
	Detail         string
}

// StageFunc does one stage's work.
type StageFunc func(ctx context.Context, run *Run) (StageResult, error)

// Stage is a named step of the pipeline.
type Stage struct {
	Name string
	Func StageFunc
	// Despite, when set, lets the stage run after earlier stages failed:
	// when it returns true for their errors, the failures leave this
	// stage's inputs sound.
	Despite func(failures []error) bool
}

// Run is the state one pipeline run shares between its stages.
type Run struct {
	ID     string
	Job    string
	Logger *slog.Logger
}

// Pipeline runs stages in order and records each in the ledger.
type Pipeline struct {
	Ledger *Ledger
	Logger *slog.Logger
	// Redact hides secrets in error text before it reaches the ledger or
	// the logs.
	Redact func(string) string
	// Advise says what an operator can change about a stage's error (a
	// setting, and to what), or returns ""; the advice follows the error
	// in the ledger, the logs and the run's error.
	Advise func(error) string
}

// StageReport is one stage's outcome.
type StageReport struct {
	Stage    string
	Status   string
	Result   StageResult
	Duration time.Duration
	Err      error
}

// Report is a run's outcome.
type Report struct {
	RunID  string
	Stages []StageReport
}

// ErrInterrupted marks a run stopped by a signal or cancellation; the
// scheduler should retry it.
var ErrInterrupted = errors.New("run interrupted")

// NewRunID returns a sortable, unique run id (UTC time plus randomness).
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Run executes stages in order. After a failure the remaining stages are
// recorded as skipped, except a stage whose Despite accepts the failures so
// far; the run still returns the first failure. A cancelled context records
// the running stage as interrupted and returns an error wrapping
// ErrInterrupted.
func (p *Pipeline) Run(ctx context.Context, job, runID string, stages []Stage) (Report, error) {
	log := p.Logger.With("run_id", runID, "job", job)
	rep := Report{RunID: runID}
	run := &Run{ID: runID, Job: job, Logger: log}
	var failures []error
	for _, st := range stages {
		if len(failures) > 0 {
			if st.Despite == nil || ctx.Err() != nil || !st.Despite(failures) {
				rep.Stages = append(rep.Stages, StageReport{Stage: st.Name, Status: StatusSkipped})
				p.record(context.WithoutCancel(ctx), log, Entry{RunID: runID, Job: job, Stage: st.Name,
					Status: StatusSkipped, StartedAt: time.Now(), EndedAt: time.Now()})
				continue
			}
			log.Warn("stage runs although an earlier stage failed: the failures lie outside its inputs", "stage", st.Name)
		}
		sr := p.runStage(ctx, log, run, st)
		rep.Stages = append(rep.Stages, sr)
		if sr.Err != nil {
			failures = append(failures, sr.Err)
		}
	}
	if len(failures) > 0 {
		return rep, failures[0]
	}
	return rep, nil
}

func (p *Pipeline) runStage(ctx context.Context, log *slog.Logger, run *Run, st Stage) StageReport {
	start := time.Now()
	base := Entry{RunID: run.ID, Job: run.Job, Stage: st.Name, StartedAt: start}
	running := base
	running.Status = StatusRunning
	p.record(ctx, log, running)

	slog := log.With("stage", st.Name)
	stageRun := *run
	stageRun.Logger = slog
	res, err := st.Func(ctx, &stageRun)
	dur := time.Since(start)

	final := base
	final.EndedAt = time.Now()
	final.Rows, final.BytesProcessed, final.BytesBilled, final.Detail = res.Rows, res.BytesProcessed, res.BytesBilled, res.Detail
	sr := StageReport{Stage: st.Name, Result: res, Duration: dur}
	switch {
	case err == nil:
		final.Status = StatusSucceeded
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		final.Status = StatusInterrupted
		err = fmt.Errorf("stage %s: %w: %w", st.Name, ErrInterrupted, err)
	default:
		final.Status = StatusFailed
		err = fmt.Errorf("stage %s: %w", st.Name, err)
		if p.Advise != nil {
			if advice := p.Advise(err); advice != "" {
				err = fmt.Errorf("%w\n%s", err, advice)
			}
		}
	}
	if err != nil {
		final.Error = p.redact(err.Error())
		err = redactedError{msg: final.Error, err: err}
	}
	sr.Status, sr.Err = final.Status, err
	// The final row is written even when the run was cancelled: the ledger
	// must say the stage was interrupted.
	p.record(context.WithoutCancel(ctx), log, final)

	attrs := []any{"status", final.Status, "rows", res.Rows, "bytes_processed", res.BytesProcessed,
		"bytes_billed", res.BytesBilled, "duration", dur.Round(time.Millisecond).String()}
	if res.Detail != "" {
		attrs = append(attrs, "detail", res.Detail)
	}
	if err != nil {
		slog.Error("stage "+final.Status, append(attrs, "error", final.Error)...)
	} else {
		slog.Info("stage done", attrs...)
	}
	return sr
}

func (p *Pipeline) record(ctx context.Context, log *slog.Logger, e Entry) {
	if p.Ledger == nil {
		return
	}
	if err := p.Ledger.Record(ctx, e); err != nil {
		log.Warn("could not write the run ledger", "stage", e.Stage, "error", p.redact(err.Error()))
	}
}

func (p *Pipeline) redact(s string) string {
	if p.Redact == nil {
		return s
	}
	return p.Redact(s)
}

// redactedError carries the redacted message while keeping the chain for
// errors.Is (ErrInterrupted, context.Canceled).
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }
