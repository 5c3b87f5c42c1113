package bigquery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"

	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"

	samoption "github.com/sam-attribution/sam/internal/option"
)

const (
	project = "sam-test-project"
	dataset = "sam"
)

// setup starts a fake with SAM's dataset and opens the engine on it.
func setup(t *testing.T, mod ...func(*bigquery.Options)) (*bqfake.Server, *bigquery.DB) {
	t.Helper()
	fake := bqfake.Start(t)
	fake.AddDataset(project, dataset, "US")
	opts := bigquery.Options{
		Project:        project,
		Dataset:        dataset,
		Location:       "US",
		MaxBytesBilled: 1 << 30,
		JobTimeout:     time.Minute,
		Labels:         map[string]string{"app": "sam", "run_id": "r1"},
		ClientOptions:  fake.ClientOptions(),
		Retry:          bigquery.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: 4 * time.Millisecond, CallTimeout: 20 * time.Second},
	}
	for _, m := range mod {
		m(&opts)
	}
	db, err := bigquery.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return fake, db
}

// countingHandler answers every query with res and counts calls.
func countingHandler(fake *bqfake.Server, res bqfake.QueryResult) *atomic.Int32 {
	var n atomic.Int32
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		if !q.DryRun {
			n.Add(1)
		}
		return res
	})
	return &n
}

func TestQualifiedNameAndDialect(t *testing.T) {
	_, db := setup(t)
	if got, want := db.QualifiedName("stg_x"), "`sam-test-project.sam.stg_x`"; got != want {
		t.Errorf("QualifiedName = %s, want %s", got, want)
	}
	if db.Dialect().Name() != "bigquery" {
		t.Errorf("Dialect = %s", db.Dialect().Name())
	}
}

func TestOpenChecksDataset(t *testing.T) {
	fake := bqfake.Start(t)
	opts := bigquery.Options{Project: project, Dataset: dataset, Location: "US", ClientOptions: fake.ClientOptions()}
	_, err := bigquery.Open(context.Background(), opts)
	if f, _ := samoption.Field(err); f != "Dataset" || !strings.Contains(err.Error(), `Dataset "sam" does not exist in project sam-test-project`) {
		t.Fatalf("Open without dataset: err = %v, want a missing-dataset error naming the field", err)
	}
	fake.AddDataset(project, dataset, "EU")
	_, err = bigquery.Open(context.Background(), opts)
	if f, _ := samoption.Field(err); f != "Location" || !strings.Contains(err.Error(), "is not where dataset sam-test-project.sam is (EU)") {
		t.Fatalf("Open with dataset in EU: err = %v, want a location mismatch naming the field", err)
	}
	if _, err := bigquery.Open(context.Background(), bigquery.Options{Project: project, Dataset: "bad-name"}); err == nil {
		t.Fatal("Open accepted an invalid dataset name")
	}
}

func TestClientOptionsForEndpoint(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset(project, dataset, "US")
	db, err := bigquery.Open(context.Background(), bigquery.Options{
		Project: project, Dataset: dataset, Location: "US",
		ClientOptions: bigquery.ClientOptionsFor(fake.Endpoint(), ""),
	})
	if err != nil {
		t.Fatalf("Open through ClientOptionsFor: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Errorf("Exec: %v", err)
	}
	if n := len(fake.RequestsFor("datasets.get")); n != 1 {
		t.Errorf("%d dataset lookups, want 1", n)
	}
}

func TestExecSendsJobConfiguration(t *testing.T) {
	fake, db := setup(t)
	countingHandler(fake, bqfake.QueryResult{StatementType: "INSERT", DMLAffectedRows: 42, BytesProcessed: 1000, BytesBilled: 10485760})
	res, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("sam_r1_build_t"), warehouse.WithLabels(map[string]string{"model": "t"}))
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	want := warehouse.Result{RowsAffected: 42, BytesProcessed: 1000, BytesBilled: 10485760, JobID: "sam_r1_build_t"}
	if res != want {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
	ins := fake.RequestsFor("jobs.insert")
	if len(ins) != 1 {
		t.Fatalf("%d jobs.insert requests, want 1", len(ins))
	}
	j := ins[0].Job
	if j.JobReference.JobId != "sam_r1_build_t" || j.JobReference.Location != "US" {
		t.Errorf("job reference = %+v, want id sam_r1_build_t in US", j.JobReference)
	}
	if want := map[string]string{"app": "sam", "run_id": "r1", "model": "t"}; !reflect.DeepEqual(j.Configuration.Labels, want) {
		t.Errorf("labels = %v, want %v", j.Configuration.Labels, want)
	}
	q := j.Configuration.Query
	if q.MaximumBytesBilled != 1<<30 {
		t.Errorf("maximumBytesBilled = %d, want %d", q.MaximumBytesBilled, 1<<30)
	}
	if q.UseLegacySql == nil || *q.UseLegacySql {
		t.Errorf("useLegacySql = %v, want explicit false", q.UseLegacySql)
	}
	if q.Query != "INSERT INTO t SELECT 1" || j.Configuration.DryRun {
		t.Errorf("query = %q dryRun = %v", q.Query, j.Configuration.DryRun)
	}
	if q.DefaultDataset == nil || q.DefaultDataset.DatasetId != dataset || q.DefaultDataset.ProjectId != project {
		t.Errorf("defaultDataset = %+v, want %s.%s", q.DefaultDataset, project, dataset)
	}
	if j.Configuration.JobTimeoutMs != 60000 {
		t.Errorf("jobTimeoutMs = %d, want 60000", j.Configuration.JobTimeoutMs)
	}
}

func TestExecWithoutJobIDGeneratesOne(t *testing.T) {
	fake, db := setup(t)
	res, err := db.Exec(context.Background(), "SELECT 1")
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if !strings.HasPrefix(res.JobID, "sam_query_") {
		t.Errorf("JobID = %q, want a generated sam_query_ id", res.JobID)
	}
	if ids := fake.JobIDs(); len(ids) != 1 || ids[0] != res.JobID {
		t.Errorf("fake jobs = %v, want [%s]", ids, res.JobID)
	}
}

func TestExecScriptSumsStatementRows(t *testing.T) {
	fake, db := setup(t)
	countingHandler(fake, bqfake.QueryResult{StatementType: "SCRIPT", BytesProcessed: 300, BytesBilled: 400, Children: []bqfake.QueryResult{
		{StatementType: "DELETE", DMLAffectedRows: 3},
		{StatementType: "INSERT", DMLAffectedRows: 5},
	}})
	res, err := db.Exec(context.Background(), "DELETE FROM t WHERE TRUE; INSERT INTO t SELECT 1;", warehouse.WithJobID("script1"))
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.RowsAffected != 8 || res.BytesProcessed != 300 || res.BytesBilled != 400 {
		t.Errorf("Result = %+v, want 8 rows, 300 processed, 400 billed", res)
	}
	lists := fake.RequestsFor("jobs.list")
	if len(lists) != 1 || lists[0].Query.Get("parentJobId") != "script1" {
		t.Errorf("jobs.list requests = %+v, want one with parentJobId=script1", lists)
	}
}

func TestQueryConvertsValues(t *testing.T) {
	fake, db := setup(t)
	fake.SetMaxPageRows(1) // two pages: the iterator must follow the page token
	ts := time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC)
	schema := bqfake.Schema(
		bqfake.Field("s", "STRING"),
		bqfake.Field("i", "INTEGER"),
		bqfake.Field("f", "FLOAT"),
		bqfake.Field("b", "BOOLEAN"),
		bqfake.Field("ts", "TIMESTAMP"),
		bqfake.Field("d", "DATE"),
		bqfake.Field("dt", "DATETIME"),
		bqfake.Field("n", "NUMERIC"),
		bqfake.Field("raw", "BYTES"),
		bqfake.Repeated("tags", "STRING"),
		bqfake.Field("rec", "RECORD",
			bqfake.Field("key", "STRING"),
			bqfake.Repeated("params", "RECORD", bqfake.Field("k", "STRING"), bqfake.Field("v", "INTEGER"))),
	)
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		return bqfake.QueryResult{Schema: schema, Rows: [][]any{
			{"a", int64(7), 1.5, true, ts, "2024-03-05", "2024-03-05T10:11:12", big.NewRat(12345, 100), []byte("hi"),
				[]any{"x", "y"}, map[string]any{"key": "k1", "params": []any{[]any{"p", int64(1)}, []any{"q", int64(2)}}}},
			{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		}}
	})
	rows, err := db.Query(context.Background(), "SELECT ...")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	got, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("CollectRows: %v", err)
	}
	want := [][]any{
		{"a", int64(7), 1.5, true, ts, time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC),
			123.45, []byte("hi"), []any{"x", "y"},
			map[string]any{"key": "k1", "params": []any{map[string]any{"k": "p", "v": int64(1)}, map[string]any{"k": "q", "v": int64(2)}}}},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, []any{}, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %#v\nwant %#v", got, want)
	}
	pages := 0
	for _, r := range fake.RequestsFor("jobs.getQueryResults") {
		if r.Query.Get("maxResults") != "0" {
			pages++
		}
	}
	if pages != 2 {
		t.Errorf("%d result pages fetched, want 2", pages)
	}

	// Columns and Scan.
	rows, err = db.Query(context.Background(), "SELECT ...")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	cols := rows.Columns()
	if len(cols) != 11 || cols[1].Type != warehouse.Int64 || cols[3].Type != warehouse.Bool || !cols[9].Repeated ||
		cols[10].Type != warehouse.Record || len(cols[10].Fields) != 2 || !cols[10].Fields[1].Repeated {
		t.Errorf("Columns = %+v", cols)
	}
	var (
		s         string
		i         int64
		f, n      float64
		b         bool
		t1, d, dt time.Time
		raw       []byte
		tags, rec any
	)
	if err := rows.Scan(&s, &i, &f, &b, &t1, &d, &dt, &n, &raw, &tags, &rec); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if s != "a" || i != 7 || f != 1.5 || !b || !t1.Equal(ts) || n != 123.45 || string(raw) != "hi" {
		t.Errorf("Scan got %q %d %v %v %v %v %q", s, i, f, b, t1, n, raw)
	}
	if err := rows.Scan(&s); err == nil {
		t.Error("Scan with too few destinations succeeded")
	}
}

func TestDryRun(t *testing.T) {
	fake, db := setup(t)
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		if !q.DryRun {
			t.Errorf("a dry run ran the query")
		}
		return bqfake.QueryResult{BytesProcessed: 123456789}
	})
	est, err := db.DryRun(context.Background(), "SELECT * FROM big")
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	if est != (warehouse.Estimate{Supported: true, BytesProcessed: 123456789}) {
		t.Errorf("Estimate = %+v", est)
	}
	ins := fake.RequestsFor("jobs.insert")
	if len(ins) != 1 || !ins[0].Job.Configuration.DryRun || ins[0].Job.Configuration.Query.MaximumBytesBilled != 1<<30 {
		t.Errorf("insert = %+v, want one dry run with the bytes cap", ins)
	}
	if ids := fake.JobIDs(); len(ids) != 0 {
		t.Errorf("dry run created jobs %v", ids)
	}

	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		return bqfake.QueryResult{Error: &bq.ErrorProto{Reason: "invalidQuery", Message: "Unrecognized name: nope"}}
	})
	if _, err := db.DryRun(context.Background(), "SELECT nope"); err == nil || !strings.Contains(err.Error(), "Unrecognized name: nope") {
		t.Errorf("DryRun of a bad query: err = %v", err)
	}
}

func TestDescribe(t *testing.T) {
	fake, db := setup(t)
	fake.PutTable(project, dataset, "events", &bq.Table{
		Schema: bqfake.Schema(
			&bq.TableFieldSchema{Name: "event_date", Type: "DATE", Mode: "REQUIRED"},
			bqfake.Field("client_key", "STRING"),
			bqfake.Field("n", "INTEGER"),
			bqfake.Field("amount", "NUMERIC"),
			bqfake.Repeated("event_params", "RECORD", bqfake.Field("key", "STRING"),
				bqfake.Field("value", "RECORD", bqfake.Field("int_value", "INTEGER"), bqfake.Field("string_value", "STRING"))),
		),
		TimePartitioning: &bq.TimePartitioning{Type: "DAY", Field: "event_date"},
		Clustering:       &bq.Clustering{Fields: []string{"client_key"}},
	}, nil)
	got, err := db.Describe(context.Background(), "events")
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	want := warehouse.Schema{
		Columns: []warehouse.Column{
			{Name: "event_date", Type: warehouse.Date, Required: true},
			{Name: "client_key", Type: warehouse.String},
			{Name: "n", Type: warehouse.Int64},
			{Name: "amount", Type: warehouse.Numeric},
			{Name: "event_params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
				{Name: "key", Type: warehouse.String},
				{Name: "value", Type: warehouse.Record, Fields: []warehouse.Column{
					{Name: "int_value", Type: warehouse.Int64}, {Name: "string_value", Type: warehouse.String}}},
			}},
		},
		PartitionColumn: "event_date",
		ClusterBy:       []string{"client_key"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe:\n got %+v\nwant %+v", got, want)
	}
	_, err = db.Describe(context.Background(), "missing")
	if !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("Describe(missing) err = %v, want ErrNotFound", err)
	}
}

func TestDuplicateJobIDWaitsForExistingJob(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{StatementType: "MERGE", DMLAffectedRows: 9, PendingPolls: 2})
	ctx := context.Background()
	first, err := db.Exec(ctx, "MERGE t USING s ON TRUE WHEN NOT MATCHED THEN INSERT ROW", warehouse.WithJobID("merge_1"))
	if err != nil {
		t.Fatalf("first Exec: %v", err)
	}
	second, err := db.Exec(ctx, "MERGE t USING s ON TRUE WHEN NOT MATCHED THEN INSERT ROW", warehouse.WithJobID("merge_1"))
	if err != nil {
		t.Fatalf("second Exec: %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("the statement ran %d times, want once", calls.Load())
	}
	if second != first || second.RowsAffected != 9 {
		t.Errorf("second result %+v, want the first %+v", second, first)
	}
	reqs := fake.Requests()
	var afterDup []string
	for i, r := range reqs {
		if r.Op == "jobs.insert" && r.Status == 409 {
			for _, r2 := range reqs[i+1:] {
				afterDup = append(afterDup, r2.Op)
			}
		}
	}
	if len(afterDup) == 0 || afterDup[0] != "jobs.get" {
		t.Errorf("after the 409: %v, want a jobs.get first", afterDup)
	}
	for _, op := range afterDup {
		if op == "jobs.insert" {
			t.Errorf("the job was inserted again after the 409: %v", afterDup)
		}
	}

	// The same id for different SQL is a caller bug, not a duplicate.
	if _, err := db.Exec(ctx, "SELECT 2", warehouse.WithJobID("merge_1")); err == nil || !strings.Contains(err.Error(), "already used by a different") {
		t.Errorf("reusing a job id for other SQL: err = %v", err)
	}
}

func TestLostInsertResponseAttachesToJob(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{StatementType: "INSERT", DMLAffectedRows: 2})
	// The job is created but the answer is a 503: the library retries the
	// insert, gets 409, and the engine attaches to the job.
	fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503, AfterCreate: true})
	res, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("ins_1"))
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.RowsAffected != 2 || calls.Load() != 1 {
		t.Errorf("rows %d, ran %d times; want 2 rows, once", res.RowsAffected, calls.Load())
	}
	var codes []int
	for _, r := range fake.RequestsFor("jobs.insert") {
		codes = append(codes, r.Status)
	}
	if !reflect.DeepEqual(codes, []int{503, 409}) {
		t.Errorf("insert answers %v, want [503 409]", codes)
	}
}

func TestDuplicateOfFailedJobReturnsItsError(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{Error: &bq.ErrorProto{Reason: "invalidQuery", Location: "query", Message: "Syntax error: Unexpected end of script"}})
	ctx := context.Background()
	_, err1 := db.Exec(ctx, "SELECT", warehouse.WithJobID("bad_1"))
	_, err2 := db.Exec(ctx, "SELECT", warehouse.WithJobID("bad_1"))
	for i, err := range []error{err1, err2} {
		var je *bigquery.JobError
		if !errors.As(err, &je) || je.JobID != "bad_1" || je.Reason != "invalidQuery" {
			t.Errorf("run %d: err = %v, want a JobError for bad_1", i+1, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("the failed statement ran %d times, want once", calls.Load())
	}
}

func TestJobErrorNamesJob(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{Error: &bq.ErrorProto{Reason: "invalidQuery", Location: "query", Message: "Unrecognized name: foo at [1:8]"}})
	for _, run := range []struct {
		name string
		do   func() error
	}{
		{"Exec", func() error {
			_, err := db.Exec(context.Background(), "SELECT foo", warehouse.WithJobID("job_e"))
			return err
		}},
		{"Query", func() error {
			_, err := db.Query(context.Background(), "SELECT foo", warehouse.WithJobID("job_q"))
			return err
		}},
	} {
		err := run.do()
		var je *bigquery.JobError
		if !errors.As(err, &je) {
			t.Fatalf("%s: err = %v (%T), want *JobError", run.name, err, err)
		}
		msg := err.Error()
		for _, part := range []string{je.JobID, "(US)", "invalidQuery", "at query", "Unrecognized name: foo at [1:8]"} {
			if !strings.Contains(msg, part) {
				t.Errorf("%s: error %q does not mention %q", run.name, msg, part)
			}
		}
	}
	if calls.Load() != 2 {
		t.Errorf("handler ran %d times, want 2 (a bad query is not retried)", calls.Load())
	}
}

func TestInsert5xxRetriedByLibrary(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{})
	fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503})
	if _, err := db.Exec(context.Background(), "SELECT 1", warehouse.WithJobID("q_503")); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if n := len(fake.RequestsFor("jobs.insert")); n != 2 || calls.Load() != 1 {
		t.Errorf("%d inserts, %d runs; want 2 inserts and one run", n, calls.Load())
	}
}

func TestInsert5xxGivesUpAtBound(t *testing.T) {
	fake, db := setup(t, func(o *bigquery.Options) { o.Retry.CallTimeout = 300 * time.Millisecond })
	fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503, Message: "backend unavailable", Times: -1})
	_, err := db.Exec(context.Background(), "SELECT 1", warehouse.WithJobID("q_down"))
	if err == nil {
		t.Fatal("Exec succeeded against a failing backend")
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 503 {
		t.Errorf("err = %v, want it to wrap the 503", err)
	}
	for _, part := range []string{"q_down", "gave up after retrying for 300ms", "backend unavailable"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

func TestTransientJobFailureRerunsUnderDerivedID(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{StatementType: "INSERT", DMLAffectedRows: 1})
	fake.Fail(bqfake.Fault{Op: "jobs.insert", JobError: &bq.ErrorProto{Reason: "backendError", Message: "Backend error. Job aborted."}})
	res, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("tr_1"))
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.JobID != "tr_1_retry1" || calls.Load() != 2 {
		t.Errorf("JobID %s after %d runs, want tr_1_retry1 after 2", res.JobID, calls.Load())
	}

	// A rerun of the pipeline walks the same chain and runs nothing new.
	res2, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("tr_1"))
	if err != nil || res2.JobID != "tr_1_retry1" || calls.Load() != 2 {
		t.Errorf("rerun: %+v, %v after %d runs; want tr_1_retry1 and no new run", res2, err, calls.Load())
	}

	fake.Fail(bqfake.Fault{Op: "jobs.insert", JobError: &bq.ErrorProto{Reason: "backendError", Message: "Backend error."}, Times: -1})
	_, err = db.Exec(context.Background(), "INSERT INTO t SELECT 2", warehouse.WithJobID("tr_2"))
	var je *bigquery.JobError
	if !errors.As(err, &je) || je.JobID != "tr_2_retry2" || !strings.Contains(err.Error(), "attempt 3 of 3") {
		t.Errorf("persistent failure: err = %v, want the JobError of tr_2_retry2 after 3 attempts", err)
	}
}

func TestCancelledJobOfEarlierRunIsRerun(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{StatementType: "INSERT", DMLAffectedRows: 1})
	fake.Fail(bqfake.Fault{Op: "jobs.insert", JobError: &bq.ErrorProto{Reason: "stopped", Message: "Job execution was cancelled: Job timed out"}})
	_, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("st_1"))
	var je *bigquery.JobError
	if !errors.As(err, &je) || je.Reason != "stopped" || calls.Load() != 1 {
		t.Fatalf("first run: err = %v after %d runs, want the stopped job's error after one", err, calls.Load())
	}
	res, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1", warehouse.WithJobID("st_1"))
	if err != nil || res.JobID != "st_1_retry1" || calls.Load() != 2 {
		t.Errorf("rerun: %+v, %v after %d runs; want st_1_retry1 run once more", res, err, calls.Load())
	}
}

func TestScriptIsNotRerun(t *testing.T) {
	fake, db := setup(t)
	calls := countingHandler(fake, bqfake.QueryResult{StatementType: "SCRIPT"})
	fake.Fail(bqfake.Fault{Op: "jobs.insert", JobError: &bq.ErrorProto{Reason: "backendError", Message: "Backend error."}})
	_, err := db.Exec(context.Background(), "INSERT INTO t SELECT 1; INSERT INTO u SELECT 2;", warehouse.WithJobID("sc_1"))
	var je *bigquery.JobError
	if !errors.As(err, &je) || calls.Load() != 1 {
		t.Errorf("err = %v after %d runs, want the JobError after one run", err, calls.Load())
	}
}

func TestJobTimeoutCancelsJob(t *testing.T) {
	fake, db := setup(t, func(o *bigquery.Options) { o.JobTimeout = 200 * time.Millisecond })
	countingHandler(fake, bqfake.QueryResult{PendingPolls: 1 << 30})
	_, err := db.Exec(context.Background(), "SELECT slow", warehouse.WithJobID("slow_1"))
	if err == nil || !strings.Contains(err.Error(), "slow_1 did not finish within 200ms") {
		t.Fatalf("err = %v, want a job timeout", err)
	}
	if n := len(fake.RequestsFor("jobs.cancel")); n != 1 {
		t.Errorf("%d cancel requests, want 1", n)
	}
}

// loadSchema exercises every type the loaders use.
var loadSchema = warehouse.Schema{
	Columns: []warehouse.Column{
		{Name: "event_date", Type: warehouse.Date},
		{Name: "id", Type: warehouse.String},
		{Name: "n", Type: warehouse.Int64},
		{Name: "amount", Type: warehouse.Numeric},
		{Name: "ok", Type: warehouse.Bool},
		{Name: "at", Type: warehouse.Timestamp},
		{Name: "tags", Type: warehouse.String, Repeated: true},
		{Name: "params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
			{Name: "key", Type: warehouse.String}, {Name: "value", Type: warehouse.Int64}}},
	},
	PartitionColumn: "event_date",
	ClusterBy:       []string{"id"},
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadRows() [][]any {
	at := time.Date(2024, 1, 1, 8, 30, 0, 0, time.UTC)
	return [][]any{
		{day("2024-01-01"), "a", int64(1), big.NewRat(1999, 100), true, at, []any{"x"}, []any{map[string]any{"key": "k", "value": int64(5)}}},
		{day("2024-01-02"), "b", nil, 2.5, false, at.Add(24 * time.Hour), nil, nil},
		{day("2024-01-02"), "c", int64(3), nil, nil, nil, []any{}, nil},
	}
}

func TestLoadRowsAppend(t *testing.T) {
	fake, db := setup(t)
	res, err := db.Load(context.Background(), warehouse.LoadRequest{
		Table: "raw_x", Schema: loadSchema, Mode: warehouse.Append,
		Rows: warehouse.NewSliceRows(loadRows()), JobID: "load_raw_x_1", Labels: map[string]string{"source": "crm"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.RowsLoaded != 3 || res.JobID != "load_raw_x_1" || res.Bytes == 0 {
		t.Errorf("LoadResult = %+v", res)
	}
	ins := fake.RequestsFor("jobs.insert")
	if len(ins) != 1 {
		t.Fatalf("%d inserts", len(ins))
	}
	r := ins[0]
	l := r.Job.Configuration.Load
	if r.UploadType != "multipart" || r.Job.JobReference.JobId != "load_raw_x_1" || r.Job.JobReference.Location != "US" {
		t.Errorf("upload %s, reference %+v", r.UploadType, r.Job.JobReference)
	}
	if l.DestinationTable.TableId != "raw_x" || l.DestinationTable.DatasetId != dataset || l.DestinationTable.ProjectId != project {
		t.Errorf("destination = %+v", l.DestinationTable)
	}
	if l.WriteDisposition != "WRITE_APPEND" || l.CreateDisposition != "CREATE_IF_NEEDED" || l.SourceFormat != "NEWLINE_DELIMITED_JSON" {
		t.Errorf("dispositions %s/%s format %s", l.WriteDisposition, l.CreateDisposition, l.SourceFormat)
	}
	if l.TimePartitioning == nil || l.TimePartitioning.Field != "event_date" || l.TimePartitioning.Type != "DAY" ||
		l.Clustering == nil || !reflect.DeepEqual(l.Clustering.Fields, []string{"id"}) {
		t.Errorf("partitioning %+v clustering %+v", l.TimePartitioning, l.Clustering)
	}
	if want := map[string]string{"app": "sam", "run_id": "r1", "source": "crm"}; !reflect.DeepEqual(r.Job.Configuration.Labels, want) {
		t.Errorf("labels = %v", r.Job.Configuration.Labels)
	}
	if len(l.Schema.Fields) != 8 || l.Schema.Fields[2].Type != "INTEGER" || l.Schema.Fields[7].Mode != "REPEATED" || len(l.Schema.Fields[7].Fields) != 2 {
		t.Errorf("schema = %+v", l.Schema.Fields)
	}
	wantLines := []string{
		`{"event_date":"2024-01-01","id":"a","n":1,"amount":"19.990000000","ok":true,"at":"2024-01-01 08:30:00 UTC","tags":["x"],"params":[{"key":"k","value":5}]}`,
		`{"event_date":"2024-01-02","id":"b","amount":"2.5","ok":false,"at":"2024-01-02 08:30:00 UTC"}`,
		`{"event_date":"2024-01-02","id":"c","n":3,"tags":[]}`,
	}
	if got := strings.Split(strings.TrimSuffix(string(r.Upload), "\n"), "\n"); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("uploaded NDJSON:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	tbl, ok := fake.Table(project, dataset, "raw_x")
	if !ok || len(tbl.Rows) != 3 || tbl.Meta.TimePartitioning == nil {
		t.Errorf("fake table %+v, %v", tbl, ok)
	}
}

func TestLoadRowsEncodingErrorIsReported(t *testing.T) {
	fake, db := setup(t)
	_, err := db.Load(context.Background(), warehouse.LoadRequest{
		Table: "raw_x", Schema: loadSchema, Mode: warehouse.Append,
		Rows: warehouse.NewSliceRows([][]any{loadRows()[0], {day("2024-01-01"), "z", "not-a-number", nil, nil, nil, nil, nil}}),
	})
	if err == nil || !strings.Contains(err.Error(), "encode row 2: column n") {
		t.Fatalf("err = %v, want the encoding error of row 2", err)
	}
	if _, ok := fake.Table(project, dataset, "raw_x"); ok {
		t.Error("a failed load created the table")
	}
}

func ndjson(n int, date string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"event_date":%q,"id":"id-%06d","n":"%d","tags":["%s"]}`+"\n", date, i, i, strings.Repeat("t", 40))
	}
	return b.Bytes()
}

func TestLoadNDJSONReplaceResumable(t *testing.T) {
	fake, db := setup(t, func(o *bigquery.Options) { o.UploadChunkSize = 256 << 10 })
	data := ndjson(8000, "2024-02-01") // about 600 KiB: three chunks
	fake.Fail(bqfake.Fault{Op: "upload.chunk", Code: 503})
	res, err := db.Load(context.Background(), warehouse.LoadRequest{
		Table: "raw_big", Schema: loadSchema, Mode: warehouse.Replace, NDJSON: bytes.NewReader(data), JobID: "load_big",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.RowsLoaded != 8000 || res.Bytes != int64(len(data)) {
		t.Errorf("LoadResult = %+v, want 8000 rows and %d bytes", res, len(data))
	}
	ins := fake.RequestsFor("jobs.insert")
	if len(ins) != 1 || ins[0].UploadType != "resumable" || !bytes.Equal(ins[0].Upload, data) {
		t.Fatalf("inserts = %d, upload type %q, upload intact %v", len(ins), ins[0].UploadType, bytes.Equal(ins[0].Upload, data))
	}
	if wd := ins[0].Job.Configuration.Load.WriteDisposition; wd != "WRITE_TRUNCATE" {
		t.Errorf("writeDisposition = %s, want WRITE_TRUNCATE", wd)
	}
	chunks := fake.RequestsFor("upload.chunk")
	if len(chunks) < 4 || chunks[0].Status != 503 {
		t.Errorf("%d chunk requests (first answered %d), want a failed chunk retried", len(chunks), chunks[0].Status)
	}
}

func TestLoadMultipart5xx(t *testing.T) {
	t.Run("seekable data is sent again", func(t *testing.T) {
		fake, db := setup(t)
		data := ndjson(3, "2024-02-01")
		fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503})
		res, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "t", Schema: loadSchema, NDJSON: bytes.NewReader(data), JobID: "l1"})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		ins := fake.RequestsFor("jobs.insert")
		if res.RowsLoaded != 3 || len(ins) != 2 || !bytes.Equal(ins[1].Upload, data) || ins[1].Job.JobReference.JobId != "l1" {
			t.Errorf("rows %d, %d inserts; want 3 rows after 2 inserts of the same data under id l1", res.RowsLoaded, len(ins))
		}
	})
	t.Run("gives up after the bound", func(t *testing.T) {
		fake, db := setup(t)
		fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503, Times: -1})
		_, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "t", Schema: loadSchema, NDJSON: bytes.NewReader(ndjson(3, "2024-02-01")), JobID: "l2"})
		if err == nil || !strings.Contains(err.Error(), "attempt 3 of 3") || !strings.Contains(err.Error(), "l2") {
			t.Errorf("err = %v, want a give-up after 3 attempts naming l2", err)
		}
		if n := len(fake.RequestsFor("jobs.insert")); n != 3 {
			t.Errorf("%d inserts, want 3", n)
		}
	})
	t.Run("streamed rows are not resent", func(t *testing.T) {
		fake, db := setup(t)
		fake.Fail(bqfake.Fault{Op: "jobs.insert", Code: 503})
		_, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "t", Schema: loadSchema, Rows: warehouse.NewSliceRows(loadRows()), JobID: "l3"})
		var ge *googleapi.Error
		if !errors.As(err, &ge) || ge.Code != 503 {
			t.Errorf("err = %v, want the 503", err)
		}
		if n := len(fake.RequestsFor("jobs.insert")); n != 1 {
			t.Errorf("%d inserts, want 1", n)
		}
	})
}

func TestLoadReplacePartitions(t *testing.T) {
	fake, db := setup(t)
	ctx := context.Background()
	var deletes []string
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		deletes = append(deletes, q.SQL)
		return bqfake.QueryResult{StatementType: "DELETE"}
	})
	res, err := db.Load(ctx, warehouse.LoadRequest{
		Table: "raw_p", Schema: loadSchema, Mode: warehouse.ReplacePartitions,
		Partitions: []time.Time{day("2024-01-01"), day("2024-01-02"), day("2024-01-03")},
		Rows:       warehouse.NewSliceRows(loadRows()), JobID: "rp",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.RowsLoaded != 3 || res.JobID != "rp" {
		t.Errorf("LoadResult = %+v", res)
	}
	ti := fake.RequestsFor("tables.insert")
	if len(ti) != 1 || ti[0].Table.TimePartitioning == nil || ti[0].Table.TimePartitioning.Field != "event_date" ||
		ti[0].Table.TimePartitioning.Type != "DAY" || ti[0].Table.Clustering == nil || ti[0].Table.Clustering.Fields[0] != "id" {
		t.Fatalf("tables.insert = %+v, want one day-partitioned, clustered table", ti)
	}
	type load struct{ id, dest, wd, cd string }
	var loads []load
	for _, r := range fake.RequestsFor("jobs.insert") {
		if l := r.Job.Configuration.Load; l != nil {
			loads = append(loads, load{r.Job.JobReference.JobId, l.DestinationTable.TableId, l.WriteDisposition, l.CreateDisposition})
		}
	}
	want := []load{
		{"rp_20240101", "raw_p$20240101", "WRITE_TRUNCATE", "CREATE_NEVER"},
		{"rp_20240102", "raw_p$20240102", "WRITE_TRUNCATE", "CREATE_NEVER"},
	}
	if !reflect.DeepEqual(loads, want) {
		t.Errorf("loads = %+v, want %+v", loads, want)
	}
	if len(deletes) != 1 || deletes[0] != "DELETE FROM `sam-test-project.sam.raw_p` WHERE `event_date` IN (DATE '2024-01-03')" {
		t.Errorf("deletes = %q, want one emptying 2024-01-03", deletes)
	}
	if _, ok := fake.Job(project, "rp_empty"); !ok {
		t.Error("no job rp_empty for the empty partition")
	}

	// Replacing again keeps other partitions and swaps the listed one.
	fake.PutTable(project, dataset, "raw_p", mustTable(t, fake, "raw_p").Meta, []map[string]any{
		{"event_date": "2023-12-31", "id": "keep"}, {"event_date": "2024-01-01", "id": "old"},
	})
	_, err = db.Load(ctx, warehouse.LoadRequest{
		Table: "raw_p", Schema: loadSchema, Mode: warehouse.ReplacePartitions, Partitions: []time.Time{day("2024-01-01")},
		NDJSON: strings.NewReader(`{"event_date":"2024-01-01","id":"new"}` + "\n"), JobID: "rp2",
	})
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	var ids []string
	for _, r := range mustTable(t, fake, "raw_p").Rows {
		ids = append(ids, r["id"].(string))
	}
	if !reflect.DeepEqual(ids, []string{"keep", "new"}) {
		t.Errorf("rows after replacing 2024-01-01: %v, want [keep new]", ids)
	}

	// A row outside the listed partitions fails before any job.
	before := len(fake.RequestsFor("jobs.insert"))
	_, err = db.Load(ctx, warehouse.LoadRequest{
		Table: "raw_p", Schema: loadSchema, Mode: warehouse.ReplacePartitions, Partitions: []time.Time{day("2024-01-01")},
		Rows: warehouse.NewSliceRows(loadRows()),
	})
	if err == nil || !strings.Contains(err.Error(), "event_date 20240102 is not among the partitions") {
		t.Errorf("err = %v, want a row outside the partitions", err)
	}
	if after := len(fake.RequestsFor("jobs.insert")); after != before {
		t.Errorf("%d jobs inserted for a refused load", after-before)
	}
}

func mustTable(t *testing.T, fake *bqfake.Server, name string) bqfake.Table {
	t.Helper()
	tbl, ok := fake.Table(project, dataset, name)
	if !ok {
		t.Fatalf("table %s missing", name)
	}
	return tbl
}

func TestLoadJobErrorNamesJob(t *testing.T) {
	fake, db := setup(t)
	_, err := db.Load(context.Background(), warehouse.LoadRequest{
		Table: "t", Schema: loadSchema, NDJSON: strings.NewReader(`{"event_date":"2024-01-01","nope":1}` + "\n"), JobID: "bad_load",
	})
	var je *bigquery.JobError
	if !errors.As(err, &je) || je.JobID != "bad_load" || !strings.Contains(err.Error(), "no such field: nope") {
		t.Errorf("err = %v, want the load job's error", err)
	}
	_ = fake
}

func TestReplacePartitionsQuery(t *testing.T) {
	fake, db := setup(t)
	fake.PutTable(project, dataset, "fct", &bq.Table{
		Schema:           bqfake.Schema(bqfake.Field("d", "DATE"), bqfake.Field("v", "INTEGER")),
		TimePartitioning: &bq.TimePartitioning{Type: "DAY", Field: "d"},
	}, nil)
	var script string
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		script = q.SQL
		return bqfake.QueryResult{StatementType: "SCRIPT", Children: []bqfake.QueryResult{
			{StatementType: "BEGIN_TRANSACTION"}, {StatementType: "DELETE", DMLAffectedRows: 4},
			{StatementType: "INSERT", DMLAffectedRows: 7}, {StatementType: "COMMIT_TRANSACTION"},
		}}
	})
	res, err := db.ReplacePartitionsQuery(context.Background(), "fct", []time.Time{day("2024-01-02"), day("2024-01-01"), day("2024-01-02")},
		"SELECT v, d FROM src;", "build_fct_1")
	if err != nil {
		t.Fatalf("ReplacePartitionsQuery: %v", err)
	}
	if res.RowsAffected != 7 || res.JobID != "build_fct_1" {
		t.Errorf("Result = %+v, want 7 inserted rows under build_fct_1", res)
	}
	want := "BEGIN TRANSACTION;\n" +
		"DELETE FROM `sam-test-project.sam.fct` WHERE `d` IN (DATE '2024-01-01', DATE '2024-01-02');\n" +
		"INSERT INTO `sam-test-project.sam.fct` (`d`, `v`)\nSELECT `d`, `v` FROM (\nSELECT v, d FROM src\n) WHERE `d` IN (DATE '2024-01-01', DATE '2024-01-02');\n" +
		"COMMIT TRANSACTION;\n"
	if script != want {
		t.Errorf("script:\n%s\nwant:\n%s", script, want)
	}
	if _, err := db.ReplacePartitionsQuery(context.Background(), "missing", []time.Time{day("2024-01-01")}, "SELECT 1", ""); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("missing table: err = %v, want ErrNotFound", err)
	}
}

// The fake's resumable upload and f/v encoding are what the real client
// reads; this checks a record survives the trip as JSON too.
func TestFakeStoresLoadedJSON(t *testing.T) {
	fake, db := setup(t)
	if _, err := db.Load(context.Background(), warehouse.LoadRequest{Table: "t", Schema: loadSchema, Rows: warehouse.NewSliceRows(loadRows()[:1])}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	row := mustTable(t, fake, "t").Rows[0]
	b, _ := json.Marshal(row["params"])
	if string(b) != `[{"key":"k","value":5}]` {
		t.Errorf("params stored as %s", b)
	}
}

// A dataset SAM reads from (the GA4 export) in another location than its
// own jobs cannot be queried: BigQuery answers "Not found" at the first
// query. Before, that came at the load stage of a started run, naming no
// setting; CheckReadableDataset says it when SAM opens.
func TestCheckReadableDatasetComparesLocations(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset(project, dataset, "EU")
	fake.AddDataset(project, "analytics_123", "US")
	db, err := bigquery.Open(context.Background(), bigquery.Options{Project: project, Dataset: dataset, ClientOptions: fake.ClientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.CheckReadableDataset(context.Background(), project, "analytics_123")
	if err == nil || !strings.Contains(err.Error(), "is in location US") || !strings.Contains(err.Error(), "EU") {
		t.Errorf("export in US, SAM in EU: err = %v", err)
	}
	if err := db.CheckReadableDataset(context.Background(), project, "analytics_999"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing export dataset: err = %v", err)
	}
	fake.AddDataset(project, "analytics_456", "eu")
	if err := db.CheckReadableDataset(context.Background(), project, "analytics_456"); err != nil {
		t.Errorf("export in the same location: %v", err)
	}
}
