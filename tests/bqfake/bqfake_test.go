package bqfake_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/sam-attribution/sam/tests/bqfake"
)

func client(t *testing.T, fake *bqfake.Server) *bigquery.Client {
	t.Helper()
	c, err := bigquery.NewClient(context.Background(), "p-fake", fake.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The library's stateless path (jobs.query) is used when a query has no
// job id; the fake answers it with the handler's rows.
func TestQueryFastPathAndTimestamps(t *testing.T) {
	fake := bqfake.Start(t)
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		return bqfake.QueryResult{
			Schema: bqfake.Schema(bqfake.Field("at", "TIMESTAMP"), bqfake.Field("n", "INTEGER")),
			Rows:   [][]any{{ts, 1}, {ts.Add(time.Hour), 2}, {nil, 3}},
		}
	})
	it, err := client(t, fake).Query("SELECT at, n FROM x").Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var got []time.Time
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if row[0] != nil {
			got = append(got, row[0].(time.Time))
		}
	}
	if len(got) != 2 || !got[0].Equal(ts) || !got[1].Equal(ts.Add(time.Hour)) {
		t.Errorf("timestamps = %v", got)
	}
	if n := len(fake.RequestsFor("jobs.query")); n != 1 {
		t.Errorf("%d jobs.query requests, want 1", n)
	}
}

func TestTablesAndFaults(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset("p-fake", "d", "US")
	c := client(t, fake)
	ctx := context.Background()
	tbl := c.Dataset("d").Table("t")
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{{Name: "a", Type: bigquery.StringFieldType}}}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	var ge *googleapi.Error
	if err := tbl.Create(ctx, &bigquery.TableMetadata{}); !errors.As(err, &ge) || ge.Code != 409 || ge.Errors[0].Reason != "duplicate" {
		t.Errorf("second Create: err = %v, want 409 duplicate", err)
	}
	it := c.Dataset("d").Tables(ctx)
	if tt, err := it.Next(); err != nil || tt.TableID != "t" {
		t.Errorf("list: %v, %v", tt, err)
	}

	fake.Fail(bqfake.Fault{Op: "tables.get", Code: 404, Reason: "notFound", Message: "gone", Times: 2})
	for range 2 {
		if _, err := tbl.Metadata(ctx); !errors.As(err, &ge) || ge.Code != 404 || ge.Message != "gone" {
			t.Errorf("Metadata under fault: err = %v, want the injected 404", err)
		}
	}
	if md, err := tbl.Metadata(ctx); err != nil || md.Schema[0].Name != "a" {
		t.Errorf("Metadata after the faults: %v, %v", md, err)
	}

	if err := tbl.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := fake.Table("p-fake", "d", "t"); ok {
		t.Error("table still there after Delete")
	}
	statuses := []int{}
	for _, r := range fake.RequestsFor("tables.get") {
		statuses = append(statuses, r.Status)
	}
	if len(statuses) != 3 || statuses[0] != 404 || statuses[2] != 200 {
		t.Errorf("tables.get statuses = %v", statuses)
	}
}

// A job error injected at insert makes the job complete DONE with the
// errorResult, which the library reports through the job status.
func TestJobErrorFault(t *testing.T) {
	fake := bqfake.Start(t)
	fake.Fail(bqfake.Fault{Op: "jobs.insert", JobError: &bq.ErrorProto{Reason: "resourcesExceeded", Message: "too big"}})
	q := client(t, fake).Query("SELECT 1")
	q.JobID = "j1"
	job, err := q.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := job.LastStatus()
	var be *bigquery.Error
	if !st.Done() || !errors.As(st.Err(), &be) || be.Reason != "resourcesExceeded" || be.Message != "too big" {
		t.Errorf("status = %+v, err %v", st, st.Err())
	}
	if j, ok := fake.Job("p-fake", "j1"); !ok || j.Status.ErrorResult == nil {
		t.Errorf("fake job = %+v", j)
	}
}

// Rows a load stored come back through a query that reads the table.
func TestTableResultAfterLoad(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset("p-fake", "d", "US")
	c := client(t, fake)
	ctx := context.Background()
	src := bigquery.NewReaderSource(strings.NewReader(`{"id":"a","n":"5","tags":["x","y"]}` + "\n" + `{"id":"b"}` + "\n"))
	src.SourceFormat = bigquery.JSON
	src.Schema = bigquery.Schema{
		{Name: "id", Type: bigquery.StringFieldType},
		{Name: "n", Type: bigquery.IntegerFieldType},
		{Name: "tags", Type: bigquery.StringFieldType, Repeated: true},
	}
	job, err := c.Dataset("d").Table("t").LoaderFrom(src).Run(ctx)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if st, err := job.Wait(ctx); err != nil || st.Err() != nil {
		t.Fatalf("load wait: %v %v", err, st.Err())
	}
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		res, _ := fake.TableResult("p-fake", "d", "t")
		return res
	})
	it, err := c.Query("SELECT * FROM d.t").Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var got [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, row)
	}
	want := [][]bigquery.Value{{"a", int64(5), []bigquery.Value{"x", "y"}}, {"b", nil, []bigquery.Value(nil)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %#v, want %#v", got, want)
	}
}

func TestDeleteTableAndTableIDs(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset("p", "d", "US")
	for _, id := range []string{"b", "a"} {
		fake.PutTable("p", "d", id, &bq.Table{Schema: bqfake.Schema(bqfake.Field("x", "STRING"))}, nil)
	}
	fake.PutTable("p", "other", "c", &bq.Table{}, nil)
	if got := fake.TableIDs("p", "d"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("TableIDs = %v, want [a b]", got)
	}
	if !fake.DeleteTable("p", "d", "a") || fake.DeleteTable("p", "d", "a") {
		t.Fatal("DeleteTable should report true once, then false")
	}
	if _, ok := fake.Table("p", "d", "a"); ok {
		t.Fatal("deleted table still there")
	}
}

// BigQuery keeps when a table was last written (lastModifiedTime); a
// loader compares it to tell a table written since it read it.
func TestAWriteMovesLastModifiedTime(t *testing.T) {
	fake := bqfake.Start(t)
	fake.AddDataset("p-fake", "d", "US")
	ctx := context.Background()
	fake.PutTable("p-fake", "d", "t", &bq.Table{Schema: bqfake.Schema(bqfake.Field("id", "STRING"))}, nil)
	modified := func() time.Time {
		t.Helper()
		md, err := client(t, fake).Dataset("d").Table("t").Metadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return md.LastModifiedTime
	}
	put := modified()
	if put.IsZero() {
		t.Fatal("a table put has no last modified time")
	}
	src := bigquery.NewReaderSource(strings.NewReader(`{"id":"a"}` + "\n"))
	src.SourceFormat = bigquery.JSON
	job, err := client(t, fake).Dataset("d").Table("t").LoaderFrom(src).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := job.Wait(ctx); err != nil || st.Err() != nil {
		t.Fatalf("load: %v %v", err, st.Err())
	}
	if loaded := modified(); !loaded.After(put) {
		t.Errorf("after a load the table's last modified time is %v, not after %v", loaded, put)
	}
}
