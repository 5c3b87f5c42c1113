package bigquery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/sam-attribution/sam/internal/retry"
)

// JobError is a BigQuery job that ran and failed (its status.errorResult).
type JobError struct {
	JobID       string
	JobLocation string
	// Reason, Location and Message come from the job's errorResult;
	// Location is where in the job the error happened (a query position,
	// a file, a row), often empty.
	Reason   string
	Location string
	Message  string
	// Errors lists every error the job reported, the fatal one included.
	Errors []*bigquery.Error
}

func (e *JobError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bigquery job %s", e.JobID)
	if e.JobLocation != "" {
		fmt.Fprintf(&b, " (%s)", e.JobLocation)
	}
	b.WriteString(" failed: ")
	if e.Reason != "" {
		b.WriteString(e.Reason)
		if e.Location != "" {
			fmt.Fprintf(&b, " at %s", e.Location)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Transient reports whether the failure is worth running the job again.
func (e *JobError) Transient() bool { return transientReasons[e.Reason] }

func newJobError(j *bigquery.Job, st *bigquery.JobStatus) *JobError {
	je := &JobError{JobID: j.ID(), JobLocation: j.Location(), Errors: st.Errors, Message: st.Err().Error()}
	var be *bigquery.Error
	if errors.As(st.Err(), &be) {
		je.Reason, je.Location, je.Message = be.Reason, be.Location, be.Message
	}
	return je
}

// jobRun describes one job to run to completion.
type jobRun struct {
	kind string // "query", "load": for messages
	// id is the job id; attempts after a transient failure append _retryN.
	id string
	// insert starts the job under the given id.
	insert func(ctx context.Context, id string) (*bigquery.Job, error)
	// media is set when insert uploads data: the library does not retry
	// those, so this package does (when replay is set).
	media bool
	// replay is set when insert may be called again.
	replay bool
	// script is set when the statement may be a multi-statement script,
	// which is never rerun after a failure.
	script bool
	// same reports whether an existing job found under the id (after a
	// 409) is the same work; nil accepts any.
	same func(bigquery.JobConfig) bool
}

// newJobID returns a fresh job id for work the caller did not name.
func newJobID(kind string) string {
	var b [8]byte
	rand.Read(b[:])
	return "sam_" + kind + "_" + time.Now().UTC().Format("20060102T150405") + "_" + hex.EncodeToString(b[:])
}

func attemptID(id string, attempt int) string {
	if attempt == 0 {
		return id
	}
	return fmt.Sprintf("%s_retry%d", id, attempt)
}

// run starts a job, waits for it, and retries transient failures within
// the policy's bounds. It returns the finished job and its final status.
func (db *DB) run(ctx context.Context, r jobRun) (*bigquery.Job, *bigquery.JobStatus, error) {
	// gen counts jobs that ran and failed: only those need a new id. An
	// insert that failed over HTTP is sent again under the same id (if the
	// job was created after all, the 409 path finds it).
	gen := 0
	var (
		job *bigquery.Job
		st  *bigquery.JobStatus
	)
	p := db.retryPolicy()
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		db.log.WarnContext(ctx, "bigquery job failed transiently; retrying", "kind", r.kind, "job_id", r.id,
			"attempt", attempt+1, "max_attempts", p.Attempts, "pause", wait, "err", err)
	}
	err := retry.Do(ctx, p, func(ctx context.Context) error {
		job, st = nil, nil
		j, existing, err := db.start(ctx, r, attemptID(r.id, gen))
		if err != nil {
			if r.media && r.replay && ctx.Err() == nil && retryableHTTP(err) {
				return retry.Mark(err, 0)
			}
			return err
		}
		if st, err = db.wait(ctx, r.kind, j); err != nil {
			return err
		}
		if st.Err() == nil {
			if st.Statistics != nil {
				db.log.DebugContext(ctx, "bigquery job done", "kind", r.kind, "job_id", j.ID(),
					"bytes_processed", st.Statistics.TotalBytesProcessed, "duration", st.Statistics.EndTime.Sub(st.Statistics.StartTime))
			}
			job = j
			return nil
		}
		je := newJobError(j, st)
		// A cancelled job found under our id belongs to an earlier run
		// (which timed out, or someone stopped it): this run may try again.
		rerun := je.Transient() || existing && je.Reason == "stopped"
		if rerun && r.replay && !r.script && !isScript(st) {
			gen++
			return retry.Mark(je, 0)
		}
		return je
	})
	if err != nil {
		return nil, st, err
	}
	return job, st, nil
}

// start inserts the job. A 409 means a job with this id exists (an earlier
// run, or an insert whose answer was lost and that the library retried):
// that job is fetched and returned, so it is waited for, not run again;
// existing reports that case.
func (db *DB) start(ctx context.Context, r jobRun, id string) (job *bigquery.Job, existing bool, err error) {
	ictx, cancel := ctx, context.CancelFunc(func() {})
	if !r.media {
		// Uploads may legitimately take long; other inserts are retried by
		// the library until the context ends, so bound them.
		ictx, cancel = db.callContext(ctx)
	}
	job, err = r.insert(ictx, id)
	cancel()
	if err == nil {
		db.log.DebugContext(ctx, "bigquery job started", "kind", r.kind, "job_id", id)
		return job, false, nil
	}
	if !isDuplicate(err) {
		return nil, false, fmt.Errorf("start bigquery %s job %s: %w", r.kind, id, db.callErr(ctx, err))
	}
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	job, err = db.client.JobFromIDLocation(cctx, id, db.opts.Location)
	if err != nil {
		return nil, false, fmt.Errorf("bigquery %s job %s already exists but cannot be read: %w", r.kind, id, db.callErr(ctx, err))
	}
	if r.same != nil {
		cfg, cerr := job.Config()
		if cerr != nil || !r.same(cfg) {
			return nil, false, fmt.Errorf("bigquery job id %s is already used by a different %s job; job ids must name one piece of work", id, r.kind)
		}
	}
	db.log.InfoContext(ctx, "bigquery job already exists; waiting for it instead of running it again", "kind", r.kind, "job_id", id)
	return job, true, nil
}

// wait waits for a job within JobTimeout by polling jobs.get. It does not
// use the library's Job.Wait: for a query job that waits on
// jobs.getQueryResults, which answers a failed job with the job's error,
// and the library retries that answer when the job's reason is transient
// (backendError) until the context ends. A job that fails is not an error
// here: the returned status carries it.
func (db *DB) wait(ctx context.Context, kind string, job *bigquery.Job) (*bigquery.JobStatus, error) {
	if st := job.LastStatus(); st != nil && st.Done() {
		return st, nil
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if db.opts.JobTimeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, db.opts.JobTimeout)
	}
	defer cancel()
	for n := 0; ; n++ {
		if err := retry.Wait(wctx, pollInterval(n)); err != nil {
			break
		}
		sctx, scancel := db.callContext(wctx)
		st, err := job.Status(sctx)
		scancel()
		if err != nil {
			if wctx.Err() != nil {
				break
			}
			return nil, fmt.Errorf("wait for bigquery %s job %s: %w", kind, job.ID(), db.callErr(wctx, err))
		}
		if st.Done() {
			return st, nil
		}
	}
	if ctx.Err() != nil {
		// The caller gave up. The job is left running: a rerun with the
		// same job id attaches to it.
		return nil, fmt.Errorf("wait for bigquery %s job %s: %w", kind, job.ID(), ctx.Err())
	}
	cctx, ccancel := db.callContext(ctx)
	defer ccancel()
	if err := job.Cancel(cctx); err != nil {
		db.log.WarnContext(ctx, "cancel bigquery job", "job_id", job.ID(), "err", err)
	}
	return nil, fmt.Errorf("bigquery %s job %s did not finish within %s; cancellation requested", kind, job.ID(), db.opts.JobTimeout)
}

// pollInterval paces status polls: quick at first, since most of SAM's
// jobs take seconds, then every few seconds at most.
func pollInterval(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < n && d < 5*time.Second; i++ {
		d = d * 3 / 2
	}
	return min(d, 5*time.Second)
}

func queryStats(st *bigquery.JobStatus) *bigquery.QueryStatistics {
	if st == nil || st.Statistics == nil {
		return nil
	}
	qs, _ := st.Statistics.Details.(*bigquery.QueryStatistics)
	return qs
}

func isScript(st *bigquery.JobStatus) bool {
	qs := queryStats(st)
	return qs != nil && qs.StatementType == "SCRIPT"
}
