// Package bigquery is SAM's production warehouse engine: it implements
// warehouse.Warehouse on Google BigQuery. Statements and loads run as
// BigQuery jobs (GoogleSQL, labelled, capped by maximum bytes billed, in the
// configured location); deterministic job ids make a rerun attach to a job
// that already ran instead of running it twice.
//
// It owns everything BigQuery-specific below the warehouse interface: job
// submission, waiting and error reporting, retries, value and schema
// conversion, NDJSON encoding for loads, partition replacement and the
// GoogleSQL dialect (Dialect, usable without a client). It imports the
// warehouse package, internal/retry, internal/option (a dataset or location
// that does not fit names its Options field) and the BigQuery client
// library only;
// no other SAM package imports it except the one that picks the engine.
//
// # Retries
//
// The client library already retries some calls by itself: jobs.insert
// without media (every job here has a job id, which makes the insert
// idempotent) and the metadata calls, on HTTP 500/502/503/504 and the
// reasons backendError and rateLimitExceeded, with exponential backoff,
// for as long as the context allows. This package does not retry those a
// second time; it bounds them with RetryPolicy.CallTimeout. It adds bounded
// retries (internal/retry's decorrelated jitter, RetryPolicy.MaxAttempts) where
// the library has none:
//
//   - load uploads in one request (the library never retries media), when
//     the data can be read again (a spooled partition, a seekable NDJSON
//     reader);
//   - jobs that ran and failed with a transient reason (backendError,
//     rateLimitExceeded, internalError, jobRateLimitExceeded,
//     jobBackendError, jobInternalError). Such a job is rerun under a
//     derived id (id_retry1, id_retry2, ...), so a later rerun of the whole
//     pipeline walks the same chain and attaches to whichever job
//     succeeded. A cancelled job found under the id (an earlier run
//     timed out) is rerun the same way. Scripts are never rerun: their
//     statements commit one by one, so a rerun could apply some twice.
//
// Everything else (invalid queries, permission errors, exhausted bounds) is
// returned at once, and a job failure is a *JobError naming the job.
//
// Jobs are waited for by polling jobs.get rather than with the library's
// Job.Wait: for query jobs that waits on jobs.getQueryResults, which
// answers a failed job with the job's error, and the library retries that
// answer for as long as the context allows when the reason looks
// transient (a known client library problem).
//
// # Values
//
// Query results convert to the warehouse's engine-neutral values. NUMERIC
// and BIGNUMERIC arrive as *big.Rat and are returned as float64, which
// holds about 15 significant digits: enough for money summed to the cent
// in SAM's tables, not for exact decimal arithmetic (do that in SQL).
// DATE and DATETIME become midnight/that instant in UTC; TIME, INTERVAL,
// RANGE, GEOGRAPHY and JSON values become strings.
package bigquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	samoption "github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/warehouse"
)

// Options configures the engine.
type Options struct {
	Project, Dataset, Location string
	// MaxBytesBilled caps the bytes billed per query job; 0 leaves the
	// project's default.
	MaxBytesBilled int64
	// JobTimeout is the longest SAM waits for one job; the job is then
	// cancelled. 0 waits as long as the context allows.
	JobTimeout time.Duration
	// Labels are added to every job (for example app=sam, run_id=...).
	Labels map[string]string
	// ClientOptions are passed to the client library (credentials, or in
	// tests option.WithEndpoint and option.WithoutAuthentication).
	ClientOptions []option.ClientOption
	Logger        *slog.Logger
	// Retry bounds retries; the zero value uses DefaultRetryPolicy.
	Retry RetryPolicy
	// UploadChunkSize is the size of a resumable upload chunk; loads
	// smaller than it go in one request. 0 uses the library's 16 MiB. It
	// also bounds the memory one upload holds.
	UploadChunkSize int
	// SkipDatasetCheck skips the dataset lookup Open does to fail early.
	SkipDatasetCheck bool
}

// DB is a BigQuery warehouse. It is safe for concurrent use.
type DB struct {
	client *bigquery.Client
	opts   Options
	retry  RetryPolicy
	rand   retry.Source // the retries' jitter
	log    *slog.Logger
	// location is SAM's dataset's, as Open found it.
	location string
}

var _ warehouse.Warehouse = (*DB)(nil)

// Open connects to BigQuery and checks that the dataset exists (and is in
// the configured location), so that a wrong setting fails before any work.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if !warehouse.ValidProjectID(opts.Project) {
		return nil, fmt.Errorf("bigquery: project %q is not a valid project id", opts.Project)
	}
	if err := warehouse.CheckIdentifier("bigquery dataset", opts.Dataset); err != nil {
		return nil, err
	}
	if opts.JobTimeout < 0 {
		return nil, fmt.Errorf("bigquery: job timeout must not be negative")
	}
	if opts.MaxBytesBilled < 0 {
		return nil, fmt.Errorf("bigquery: maximum bytes billed must not be negative")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := bigquery.NewClient(ctx, opts.Project, opts.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: create client: %w", err)
	}
	client.Location = opts.Location
	db := &DB{client: client, opts: opts, retry: opts.Retry.withDefaults(), rand: retry.RandomSource(), log: log.With("engine", "bigquery")}
	if !opts.SkipDatasetCheck {
		if err := db.checkDataset(ctx); err != nil {
			client.Close()
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) checkDataset(ctx context.Context) error {
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	md, err := db.client.Dataset(db.opts.Dataset).Metadata(cctx)
	if err != nil {
		if httpCode(err) == http.StatusNotFound {
			return fmt.Errorf("bigquery: %w", samoption.Invalid("Dataset", db.opts.Dataset, "does not exist in project %s (create it, or set the dataset SAM writes to)", db.opts.Project))
		}
		return fmt.Errorf("bigquery: look up dataset %s.%s: %w", db.opts.Project, db.opts.Dataset, db.callErr(ctx, err))
	}
	if db.opts.Location != "" && md.Location != "" && !strings.EqualFold(md.Location, db.opts.Location) {
		return fmt.Errorf("bigquery: %w", samoption.Invalid("Location", db.opts.Location, "is not where dataset %s.%s is (%s): jobs run in the dataset's location", db.opts.Project, db.opts.Dataset, md.Location))
	}
	db.location = md.Location
	return nil
}

// CheckReadableDataset reports a dataset SAM reads from (the GA4 export)
// that does not exist or cannot be seen, or that lies in another location
// than SAM's jobs run in: a query cannot read across locations, and
// BigQuery would say only "Not found" at the first query.
func (db *DB) CheckReadableDataset(ctx context.Context, project, dataset string) error {
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	md, err := db.client.DatasetInProject(project, dataset).Metadata(cctx)
	if err != nil {
		if code := httpCode(err); code == http.StatusNotFound || code == http.StatusForbidden {
			return fmt.Errorf("bigquery: dataset %s.%s does not exist, or SAM's account may not read it", project, dataset)
		}
		return fmt.Errorf("bigquery: look up dataset %s.%s: %w", project, dataset, db.callErr(ctx, err))
	}
	jobs := db.opts.Location
	if jobs == "" {
		jobs = db.location
	}
	if jobs != "" && md.Location != "" && !strings.EqualFold(md.Location, jobs) {
		return fmt.Errorf("bigquery: dataset %s.%s is in location %s, but SAM's dataset and jobs are in %s: a query cannot read across locations", project, dataset, md.Location, jobs)
	}
	return nil
}

// ClientOptionsFor turns the two connection settings SAM has into client
// options: an endpoint override (an emulator or a test server, reached
// without credentials unless a key file is given) and a service-account
// key file. Both empty means Google's endpoint with Application Default
// Credentials, as on Cloud Run.
func ClientOptionsFor(endpoint, credentialsFile string) []option.ClientOption {
	var out []option.ClientOption
	if endpoint != "" {
		out = append(out, option.WithEndpoint(endpoint))
	}
	switch {
	case credentialsFile != "":
		out = append(out, option.WithAuthCredentialsFile(option.ServiceAccount, credentialsFile))
	case endpoint != "":
		out = append(out, option.WithoutAuthentication())
	}
	return out
}

// Dialect implements warehouse.Warehouse.
func (db *DB) Dialect() warehouse.Dialect { return Dialect{} }

// QualifiedName implements warehouse.Warehouse: `project.dataset.table`.
func (db *DB) QualifiedName(table string) string {
	return Dialect{}.QualifiedName(db.opts.Project, db.opts.Dataset, table)
}

// Close implements warehouse.Warehouse.
func (db *DB) Close() error { return db.client.Close() }

// labels merges the engine's labels with a call's, made valid for
// BigQuery (see labelText).
func (db *DB) labels(extra map[string]string) map[string]string {
	if len(db.opts.Labels) == 0 && len(extra) == 0 {
		return nil
	}
	out := make(map[string]string, len(db.opts.Labels)+len(extra))
	for _, m := range []map[string]string{db.opts.Labels, extra} {
		for k, v := range m {
			k = labelText(k)
			if k == "" {
				continue
			}
			if k[0] < 'a' || k[0] > 'z' {
				k = "l" + k // keys must start with a letter
			}
			out[k] = labelText(v)
		}
	}
	return out
}

// labelText maps s to what BigQuery accepts in a label key or value: at
// most 63 lower-case letters, digits, '_' and '-'. Other characters become
// '_', so a run id such as 2024-01-01T06:00:00Z still labels its jobs
// instead of failing them.
func labelText(s string) string {
	b := []byte(strings.ToLower(s))
	if len(b) > 63 {
		b = b[:63]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// jobIDText maps a caller's job id to BigQuery's alphabet (letters, digits,
// '_' and '-', at most 1024 characters). The mapping is deterministic, so a
// rerun still finds the job.
func jobIDText(s string) string {
	b := []byte(s)
	if len(b) > 1000 { // room for the _retryN suffix
		b = b[:1000]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// callContext bounds one API call, including the library's own retries.
func (db *DB) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.retry.CallTimeout)
}

// callErr explains an error from a call bounded by callContext: when the
// bound (not the caller) ended it, it says the library gave up retrying.
func (db *DB) callErr(ctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gave up after retrying for %s: %w", db.retry.CallTimeout, err)
	}
	return err
}

func httpCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func (db *DB) tableRef(name string) *bigquery.Table {
	return db.client.Dataset(db.opts.Dataset).Table(name)
}
