package bigquerysql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// bqField renders a flat column in the REST API's schema form.
func bqField(c warehouse.Column) (*bq.TableFieldSchema, error) {
	types := map[warehouse.Type]string{
		warehouse.String: "STRING", warehouse.Int64: "INTEGER", warehouse.Float64: "FLOAT", warehouse.Numeric: "NUMERIC",
		warehouse.Bool: "BOOLEAN", warehouse.Date: "DATE", warehouse.Timestamp: "TIMESTAMP",
	}
	typ, ok := types[c.Type]
	if !ok || c.Repeated {
		return nil, fmt.Errorf("column %s: %s is not a flat type", c.Name, c.Type)
	}
	return bqfake.Field(c.Name, typ), nil
}

// TestEngineReplacePartitionsScript sends a model's query through the
// BigQuery engine's partition replacement (warehouse/bigquery's
// ReplacePartitionsQuery) to a fake BigQuery API, and analyzes the script
// the engine submits: a transaction that deletes the listed days and
// inserts the query's rows for them, against the table's real columns.
func TestEngineReplacePartitionsScript(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	ms := samModels(t)
	results, cat := check(t, c, ms)
	const model = "stg_spend__daily"
	r := results[model]
	if r.Err != nil || r.BlockedBy != "" {
		t.Fatalf("model %s does not analyze (TestModels reports why)", model)
	}
	var fields []*bq.TableFieldSchema
	partition := ""
	for _, col := range r.Columns {
		f, err := bqField(col)
		if err != nil {
			t.Fatalf("model %s: %v", model, err)
		}
		fields = append(fields, f)
		if col.Type == warehouse.Date && partition == "" {
			partition = col.Name
		}
	}
	if partition == "" {
		t.Fatalf("model %s has no DATE column to partition by", model)
	}

	fake := bqfake.Start(t)
	fake.AddDataset(bigquerysql.Project, bigquerysql.Dataset, "US")
	fake.PutTable(bigquerysql.Project, bigquerysql.Dataset, model, &bq.Table{
		Schema:           bqfake.Schema(fields...),
		TimePartitioning: &bq.TimePartitioning{Type: "DAY", Field: partition},
	}, nil)
	var script string
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		script = q.SQL
		return bqfake.QueryResult{StatementType: "SCRIPT", Children: []bqfake.QueryResult{
			{StatementType: "BEGIN_TRANSACTION"}, {StatementType: "DELETE"}, {StatementType: "INSERT", DMLAffectedRows: 1}, {StatementType: "COMMIT_TRANSACTION"},
		}}
	})
	db, err := bigquery.Open(ctx, bigquery.Options{
		Project: bigquerysql.Project, Dataset: bigquerysql.Dataset, Location: "US", ClientOptions: fake.ClientOptions(),
		Retry: bigquery.RetryPolicy{MaxAttempts: 1, Initial: time.Millisecond, Max: time.Millisecond, CallTimeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if got := db.QualifiedName(model); got != bigquerysql.Qualify(model) {
		t.Fatalf("engine names %s as %s, the checker as %s", model, got, bigquerysql.Qualify(model))
	}
	days := []time.Time{time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := db.ReplacePartitionsQuery(ctx, model, days, ms.sql[model], ""); err != nil {
		t.Fatalf("ReplacePartitionsQuery: %v", err)
	}
	if script == "" {
		t.Fatal("the engine sent no script")
	}
	got, err := c.AnalyzeScript(ctx, script, cat)
	if err != nil {
		t.Fatalf("warehouse/bigquery partition replacement script rejected: %v\nscript:\n%s", err, script)
	}
	var kinds []string
	for _, s := range got {
		kinds = append(kinds, s.Kind)
	}
	if want := "begin delete insert commit"; strings.Join(kinds, " ") != want {
		t.Errorf("script statement kinds %v, want %s", kinds, want)
	}
}

// TestEngineEmptyPartitionsDelete loads no rows into partitions of SAM's
// raw tables through the BigQuery engine (Load with ReplacePartitions, as
// loaders replace days), so the engine empties them with one DELETE, and
// analyzes that statement for a DATE and a TIMESTAMP partition column.
func TestEngineEmptyPartitionsDelete(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	cat := baseCatalog(t)
	fake := bqfake.Start(t)
	fake.AddDataset(bigquerysql.Project, bigquerysql.Dataset, "US")
	var deletes []string
	fake.SetQueryHandler(func(q bqfake.Query) bqfake.QueryResult {
		deletes = append(deletes, q.SQL)
		return bqfake.QueryResult{StatementType: "DELETE"}
	})
	db, err := bigquery.Open(ctx, bigquery.Options{
		Project: bigquerysql.Project, Dataset: bigquerysql.Dataset, Location: "US", ClientOptions: fake.ClientOptions(),
		Retry: bigquery.RetryPolicy{MaxAttempts: 1, Initial: time.Millisecond, Max: time.Millisecond, CallTimeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	days := []time.Time{time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		table  string
		schema warehouse.Schema
		typ    warehouse.Type
	}{
		{spend.SpendTable, spend.SpendSchema, warehouse.Date},
		{record.LeadsTable, record.LeadsSchema, warehouse.Timestamp},
	} {
		schema := tc.schema
		i := slices.IndexFunc(schema.Columns, func(c warehouse.Column) bool { return c.Type == tc.typ && !c.Repeated })
		if i < 0 {
			t.Fatalf("%s has no %s column", tc.table, tc.typ)
		}
		schema.PartitionColumn = schema.Columns[i].Name
		deletes = nil
		_, err := db.Load(ctx, warehouse.LoadRequest{Table: tc.table, Schema: schema, Mode: warehouse.ReplacePartitions,
			Partitions: days, Rows: warehouse.NewSliceRows(nil)})
		if err != nil {
			t.Fatalf("load no rows into %s: %v", tc.table, err)
		}
		if len(deletes) != 1 {
			t.Fatalf("%s: the engine sent %d statements, want one DELETE: %q", tc.table, len(deletes), deletes)
		}
		got, err := c.AnalyzeScript(ctx, deletes[0], cat)
		if err != nil {
			t.Errorf("warehouse/bigquery DELETE of empty %s partitions (by %s %s) rejected: %v\nstatement:\n%s", tc.table, tc.typ, schema.PartitionColumn, err, deletes[0])
			continue
		}
		if len(got) != 1 || got[0].Kind != "delete" {
			t.Errorf("%s: statement kinds %+v, want one delete", tc.table, got)
		}
	}
}
