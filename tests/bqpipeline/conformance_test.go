package bqpipeline

import (
	"context"
	"testing"

	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// TestConformance runs the warehouse conformance suite on the BigQuery
// engine, with the fake API answering queries through ZetaSQL.
func TestConformance(t *testing.T) {
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
	// The executor estimates a dry run from the tables named, without
	// analysing the query.
	warehousetest.RunWith(t, db, warehousetest.Options{DryRunAcceptsAnything: true})
}
