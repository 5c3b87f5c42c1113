package bqpipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/systables"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// TestConformance runs the warehouse conformance suite on the BigQuery
// engine, with the fake API answering queries through ZetaSQL.
func TestConformance(t *testing.T) {
	db, _ := openBigQuery(t)
	// The executor estimates a dry run from the tables named, without
	// analysing the query.
	warehousetest.RunWith(t, db, warehousetest.Options{DryRunAcceptsAnything: true})
}

// TestSystables creates, migrates and writes SAM's own tables on the
// BigQuery engine with DML only: no load job.
func TestSystables(t *testing.T) {
	ctx := context.Background()
	db, fake := openBigQuery(t)
	for range 2 {
		if err := systables.New(db).Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	ledger := [][]any{{"r1", "pipeline", "load_ga4", "succeeded", now, now, int64(3), int64(0), int64(0), "d", nil, now}}
	if err := systables.New(db).Insert(ctx, systables.Ledger(), ledger); err != nil {
		t.Fatal(err)
	}
	var rejects [][]any
	for i := range 600 {
		rejects = append(rejects, []any{"r1", "ga4", "events", "it's \\ bad", fmt.Sprint(i), now})
	}
	if err := systables.New(db).Insert(ctx, systables.Rejects(), rejects); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, "SELECT COUNT(*) FROM "+db.QualifiedName(systables.RejectsTable)+" WHERE reason = ?", "it's \\ bad")
	if err != nil {
		t.Fatal(err)
	}
	got, err := warehouse.CollectRows(rows)
	if err != nil || len(got) != 1 || got[0][0] != int64(600) {
		t.Errorf("rejects = %v, %v; want 600", got, err)
	}
	for _, r := range fake.RequestsFor("jobs.insert") {
		if r.Job != nil && r.Job.Configuration != nil && r.Job.Configuration.Load != nil {
			t.Errorf("a load job was sent: %+v", r.Job.Configuration.Load.DestinationTable)
		}
	}
}

func openBigQuery(t *testing.T) (*bigquery.DB, *bqfake.Server) {
	t.Helper()
	client := env.Client(t)
	fake := bqfake.Start(t)
	fake.AddDataset(project, dataset, "US")
	x := NewExecutor(fake, client)
	fake.SetQueryHandler(x.Handle)
	db, err := bigquery.Open(context.Background(), bigquery.Options{
		Project: project, Dataset: dataset, Location: "US", ClientOptions: fake.ClientOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, fake
}
