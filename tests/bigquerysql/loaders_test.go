package bigquerysql_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	activationga4 "github.com/sam-attribution/sam/activation/ga4"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/scheduler"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// informationSchema adds the INFORMATION_SCHEMA views the loaders read, with
// the columns BigQuery documents for them, to cat, for the datasets named.
func informationSchema(cat *zetasql.Catalog, datasets ...string) error {
	s := func(n string) warehouse.Column { return warehouse.Column{Name: n, Type: warehouse.String} }
	i := func(n string) warehouse.Column { return warehouse.Column{Name: n, Type: warehouse.Int64} }
	ts := func(n string) warehouse.Column { return warehouse.Column{Name: n, Type: warehouse.Timestamp} }
	views := map[string][]warehouse.Column{
		"TABLES": {s("table_catalog"), s("table_schema"), s("table_name"), s("table_type"), s("is_insertable_into"),
			s("is_typed"), ts("creation_time"), s("base_table_catalog"), s("base_table_schema"), s("base_table_name"),
			ts("snapshot_time_ms"), s("ddl"), s("default_collation_name"), s("upsert_stream_apply_watermark")},
		"COLUMNS": {s("table_catalog"), s("table_schema"), s("table_name"), s("column_name"), i("ordinal_position"),
			s("is_nullable"), s("data_type"), s("is_generated"), s("generation_expression"), s("is_stored"),
			s("is_hidden"), s("is_updatable"), s("is_system_defined"), s("is_partitioning_column"),
			i("clustering_ordinal_position"), s("collation_name"), s("column_default"), s("rounding_mode")},
		"PARTITIONS": {s("table_catalog"), s("table_schema"), s("table_name"), s("partition_id"), i("total_rows"),
			i("total_logical_bytes"), i("total_billable_bytes"), ts("last_modified_time"), s("storage_tier")},
	}
	for _, ds := range datasets {
		for name, cols := range views {
			if err := cat.Add(zetasql.Table{Path: []string{bigquerysql.Project + "." + ds, "INFORMATION_SCHEMA", name}, Columns: cols}); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestGA4LoaderStatements drives the GA4 export loader for BigQuery
// (ga4.BigQueryLoader) through a Recorder and analyzes every statement it
// sends: the INFORMATION_SCHEMA reads, the copy script (CREATE TABLE IF NOT
// EXISTS, then a transaction deleting and re-inserting the chosen days from
// the export's events_* wildcard table) and the row count.
func TestGA4LoaderStatements(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	cat := baseCatalog(t)
	if err := informationSchema(cat, bigquerysql.Dataset, bigquerysql.GA4Dataset); err != nil {
		t.Fatal(err)
	}
	addSystemTables(t, cat)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var tables [][]any
	for d := -5; d <= 0; d++ {
		name := "events_" + today.AddDate(0, 0, d).Format("20060102")
		if d == 0 {
			name = "events_intraday_" + today.Format("20060102")
		}
		tables = append(tables, []any{name})
	}
	var columns [][]any
	for _, col := range ga4.ExportColumns() {
		columns = append(columns, []any{col.Name})
	}
	rec := &bigquerysql.Recorder{
		Tables: map[string][]warehouse.Column{ga4.RawTable: ga4.RawSchema().Columns},
		Answer: func(sql string) ([]string, [][]any, bool) {
			switch {
			case strings.Contains(sql, ".INFORMATION_SCHEMA.TABLES"):
				return []string{"table_name"}, tables, true
			case strings.Contains(sql, ".INFORMATION_SCHEMA.COLUMNS"):
				return []string{"column_name"}, columns, true
			}
			return nil, nil, false
		},
	}
	l, err := ga4.NewBigQueryLoader(ga4.Options{ExportDataset: bigquerysql.GA4Dataset, LookbackDays: 3}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(ctx, "check"); err != nil {
		t.Fatalf("GA4 loader on the recorder: %v", err)
	}
	copied, metadata := false, false
	for _, s := range rec.Statements() {
		got, err := c.AnalyzeScript(ctx, s.SQL, cat)
		if err != nil {
			t.Errorf("loaders/ga4 (BigQueryLoader) statement rejected: %v\nstatement:\n%s", err, s.SQL)
			continue
		}
		var kinds []string
		for _, st := range got {
			kinds = append(kinds, st.Kind)
		}
		metadata = metadata || strings.Contains(s.SQL, ".INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN (")
		if strings.Contains(s.SQL, "BEGIN TRANSACTION") {
			copied = true
			want := "create_table begin delete insert commit"
			if strings.Join(kinds, " ") != want {
				t.Errorf("copy script statement kinds %v, want %s", kinds, want)
			}
		}
	}
	if !copied || !metadata {
		t.Fatalf("the loader sent no copy script or no read of the export tables' metadata; statements:\n%v", rec.Statements())
	}
	t.Logf("%d GA4 loader statements analyzed", len(rec.Statements()))
}

// baseCatalog is the catalog of SAM's sources and models.
func baseCatalog(t *testing.T) *zetasql.Catalog {
	t.Helper()
	cat, err := bigquerysql.BaseCatalog(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// addSystemTables adds SAM's own tables to cat: they exist before any
// component runs (jobs creates them at start).
func addSystemTables(t *testing.T, cat *zetasql.Catalog) {
	t.Helper()
	for _, st := range systables.All() {
		if err := cat.Replace(zetasql.Table{Path: bigquerysql.TablePath(st.Name), Columns: st.Schema.Columns}); err != nil {
			t.Fatal(err)
		}
	}
}

// analyzeIssued analyzes every statement rec recorded against cat, which
// first gains the tables the issuer created with zero-row loads, and fails
// naming who issued a rejected statement. It returns the statements' kinds.
func analyzeIssued(t *testing.T, c *zetasql.Client, cat *zetasql.Catalog, rec *bigquerysql.Recorder, issuer string) [][]string {
	t.Helper()
	addSystemTables(t, cat)
	for _, l := range rec.Loads() {
		if err := cat.Replace(zetasql.Table{Path: bigquerysql.TablePath(l.Table), Columns: l.Schema.Columns}); err != nil {
			t.Fatal(err)
		}
	}
	stmts := rec.Statements()
	if len(stmts) == 0 {
		t.Fatalf("%s sent no statements", issuer)
	}
	var out [][]string
	for _, s := range stmts {
		got, err := c.AnalyzeScript(context.Background(), s.SQL, cat)
		if err != nil {
			t.Errorf("%s: statement rejected: %v\nstatement:\n%s", issuer, err, s.SQL)
			continue
		}
		var kinds []string
		for _, st := range got {
			kinds = append(kinds, st.Kind)
		}
		out = append(out, kinds)
	}
	return out
}

// TestSchedulerLockStatements analyzes the lease statements the scheduler's
// warehouse lock sends to BigQuery: the acquire transaction, the holder
// read, renewal and release.
func TestSchedulerLockStatements(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	cat := baseCatalog(t)
	rec := &bigquerysql.Recorder{Answer: func(sql string) ([]string, [][]any, bool) {
		if strings.HasPrefix(sql, "SELECT holder FROM") {
			return []string{"holder"}, [][]any{{"run-1"}}, true
		}
		return nil, nil, false
	}}
	l := &scheduler.Lock{WH: rec, Name: "pipeline", Holder: "run-1", TTL: time.Hour}
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("Acquire on the recorder: %v", err)
	}
	if err := l.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	kinds := analyzeIssued(t, c, cat, rec, "scheduler.Lock")
	if want := "begin delete insert commit"; len(kinds) == 0 || strings.Join(kinds[0], " ") != want {
		t.Errorf("acquire script statement kinds %v, want %s", kinds, want)
	}
}

// TestActivationStatements analyzes what the activation runner reads from
// BigQuery (activation_events, the ledger's states) over an empty model, so
// nothing is sent, and the INSERT its ledger writes.
func TestActivationStatements(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	results, cat := check(t, c, samModels(t))
	if r := results[activation.EventsTable]; r.Err != nil || r.BlockedBy != "" {
		t.Fatalf("%s does not analyze (TestModels reports why)", activation.EventsTable)
	}
	rec := &bigquerysql.Recorder{}
	ga4, err := activationga4.New(activationga4.Options{MeasurementID: "G-TEST000001", APISecret: "secret",
		Endpoint: "http://127.0.0.1:9", RatePerSecond: 10})
	if err != nil {
		t.Fatal(err)
	}
	ledger := activation.NewWarehouseLedger(rec)
	r := &activation.Runner{Ledger: ledger, Events: activation.WarehouseEvents{WH: rec}, Destinations: []activation.Destination{ga4}}
	if _, err := r.Run(ctx, "check"); err != nil {
		t.Fatalf("runner on the recorder: %v", err)
	}
	if err := ledger.Append(ctx, []activation.Entry{{Destination: "ga4", Key: "k", LeadID: "L1", Stage: "won",
		Status: activation.StatusSent, Value: 12.5, Currency: "USD", ValueKind: "actual", EventAt: time.Now(), RecordedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	analyzeIssued(t, c, cat, rec, "activation")
	t.Logf("%d activation statements analyzed", len(rec.Statements()))
}

// TestGA4LoaderStatementsSeveralDatasets analyzes the copy script of two
// export datasets (two GA4 properties): one SELECT per dataset, each
// tagged with its property id, joined by UNION ALL in one INSERT. The
// second property is still on an intraday table the first has a daily
// table for, so the first's rows of that day are tagged intraday.
func TestGA4LoaderStatementsSeveralDatasets(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	const second = "analytics_654321"
	cat := baseCatalog(t)
	suffix := []warehouse.Column{{Name: "_TABLE_SUFFIX", Type: warehouse.String}}
	if err := cat.Add(zetasql.Table{Path: []string{bigquerysql.Project, second, "events_*"}, Columns: ga4.ExportColumns(), PseudoColumns: suffix}); err != nil {
		t.Fatal(err)
	}
	if err := informationSchema(cat, bigquerysql.Dataset, bigquerysql.GA4Dataset, second); err != nil {
		t.Fatal(err)
	}
	addSystemTables(t, cat)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	name := func(prefix string, d int) []any { return []any{prefix + today.AddDate(0, 0, d).Format("20060102")} }
	tables := map[string][][]any{
		bigquerysql.GA4Dataset: {name("events_", -2), name("events_", -1), name("events_intraday_", 0)},
		second:                 {name("events_", -2), name("events_intraday_", -1)},
	}
	var columns [][]any
	for _, col := range ga4.ExportColumns() {
		if col.Name != "publisher" { // an older export: NULL is cast to its type
			columns = append(columns, []any{col.Name})
		}
	}
	rec := &bigquerysql.Recorder{
		Tables: map[string][]warehouse.Column{ga4.RawTable: ga4.RawSchema().Columns},
		Answer: func(sql string) ([]string, [][]any, bool) {
			ds := bigquerysql.GA4Dataset
			if strings.Contains(sql, second) {
				ds = second
			}
			switch {
			case strings.Contains(sql, ".INFORMATION_SCHEMA.TABLES"):
				return []string{"table_name"}, tables[ds], true
			case strings.Contains(sql, ".INFORMATION_SCHEMA.COLUMNS"):
				return []string{"column_name"}, columns, true
			}
			return nil, nil, false
		},
	}
	l, err := ga4.NewBigQueryLoader(ga4.Options{ExportDataset: bigquerysql.GA4Dataset, ExportDatasets: []string{second}}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(ctx, "check"); err != nil {
		t.Fatalf("GA4 loader on the recorder: %v", err)
	}
	copied := false
	for _, s := range rec.Statements() {
		if !strings.Contains(s.SQL, "BEGIN TRANSACTION") {
			continue
		}
		copied = true
		for _, want := range []string{"'123456' AS property_id", "'654321' AS property_id", "UNION ALL", "CONCAT('events_intraday_', _TABLE_SUFFIX)"} {
			if !strings.Contains(s.SQL, want) {
				t.Errorf("copy script lacks %q", want)
			}
		}
		got, err := c.AnalyzeScript(ctx, s.SQL, cat)
		if err != nil {
			t.Fatalf("copy script of two datasets rejected: %v\nstatement:\n%s", err, s.SQL)
		}
		var kinds []string
		for _, st := range got {
			kinds = append(kinds, st.Kind)
		}
		if want := "create_table begin delete insert commit"; strings.Join(kinds, " ") != want {
			t.Errorf("copy script statement kinds %v, want %s", kinds, want)
		}
	}
	if !copied {
		t.Fatalf("the loader sent no copy script; statements:\n%v", rec.Statements())
	}
}

// TestCRMLinkLogStatements analyzes the reads of the links a HubSpot sync
// compares with the CRM's associations: each deal's contacts as of its
// latest version, each account's leads and deals, and each touch's lead (of
// one touch type).
func TestCRMLinkLogStatements(t *testing.T) {
	c := env.Client(t)
	cat := baseCatalog(t)
	rec := &bigquerysql.Recorder{}
	links := crm.NewLinkLog(rec)
	for _, object := range []string{record.LinkedDeals, record.LinkedAccounts, record.LinkedTouchesOf(record.TouchMeeting)} {
		if _, err := links.Loaded(t.Context(), "hubspot", object); err != nil {
			t.Fatalf("%s on the recorder: %v", object, err)
		}
	}
	if n := len(analyzeIssued(t, c, cat, rec, "crm.LinkLog")); n != 3 {
		t.Errorf("%d statements analyzed, want 3", n)
	}
}

// TestCRMRowLogStatements analyzes the row log's read, in the order the
// rows were recorded, and its write of one batch's rows.
func TestCRMRowLogStatements(t *testing.T) {
	c := env.Client(t)
	cat := baseCatalog(t)
	rec := &bigquerysql.Recorder{}
	log := crm.NewRowLog(rec)
	if _, err := log.Loaded(t.Context(), "file", "leads"); err != nil {
		t.Fatalf("read on the recorder: %v", err)
	}
	if err := log.Record(t.Context(), "file", "leads", "r1", []record.SourceRow{{Key: record.RowKey{1}, Hash: record.RowHash{2}}}); err != nil {
		t.Fatalf("write on the recorder: %v", err)
	}
	if n := len(analyzeIssued(t, c, cat, rec, "crm.RowLog")); n != 2 {
		t.Errorf("%d statements analyzed, want 2", n)
	}
}

// TestSpendLoaderStatements analyzes what the spend loader sends when a
// damaged spend file keeps the rows it loaded before: the read of those
// rows, and the DELETE of every other row and of those another file now
// repeats.
func TestSpendLoaderStatements(t *testing.T) {
	c := env.Client(t)
	cat := baseCatalog(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"spend_202611.csv":     "",
		"spend_202611 (1).csv": "date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,x,10,USD\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &bigquerysql.Recorder{
		Tables: map[string][]warehouse.Column{spend.SpendTable: spend.SpendSchema.Columns},
		Answer: func(sql string) ([]string, [][]any, bool) {
			if strings.Contains(sql, spend.SpendTable) {
				return []string{"file", "line", "spend_date", "source", "medium", "campaign", "cost", "currency"},
					[][]any{{"spend_202611.csv", int64(2), "2026-11-01", "google", "cpc", "x", "10", "USD"}, {"spend_202611.csv", int64(3), "2026-11-02", "google", "cpc", "x", "20", "USD"}}, true
			}
			return nil, nil, false
		},
	}
	if _, err := spend.Load(context.Background(), rec, spend.Options{Dir: dir, FXRatesFile: filepath.Join(dir, "fx.csv")}, "check", nil); err != nil {
		t.Fatalf("spend loader on the recorder: %v", err)
	}
	kinds := analyzeIssued(t, c, cat, rec, "loaders/spend")
	t.Logf("loaders/spend statements analyzed: %v", kinds)
	deleted := false
	for _, s := range rec.Statements() {
		if strings.HasPrefix(s.SQL, "DELETE") {
			deleted = true
			if !strings.Contains(s.SQL, "line IN (2)") {
				t.Errorf("DELETE keeps line 2, which spend_202611 (1).csv repeats:\n%s", s.SQL)
			}
		}
	}
	if !deleted {
		t.Fatalf("the loader sent no DELETE; statements:\n%v", rec.Statements())
	}
}
