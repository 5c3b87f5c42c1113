package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// BenchmarkReadJSONDir reads the GA4 export files in SAM_BENCH_GA4_DIR with
// DuckDB's own read_json and the export's typed schema, no validation: the
// baseline for load_ga4 at the scale series' sizes. It skips without the
// variable.
func BenchmarkReadJSONDir(b *testing.B) {
	dir := os.Getenv("SAM_BENCH_GA4_DIR")
	if dir == "" {
		b.Skip("SAM_BENCH_GA4_DIR not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events_*.json"))
	if len(files) == 0 {
		b.Fatalf("no events_*.json in %s", dir)
	}
	var bytes int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		bytes += st.Size()
	}
	var cols []string
	for _, c := range ga4.ExportColumns() {
		cols = append(cols, "'"+c.Name+"': '"+duckType(c)+"'")
	}
	q := "CREATE TABLE t AS SELECT * FROM read_json(" + duckdb.Dialect{}.StringLiteral(filepath.Join(dir, "events_*.json")) +
		", format = 'newline_delimited', columns = {" + strings.Join(cols, ", ") + "})"
	ctx := context.Background()
	var events int64
	var elapsed time.Duration
	for b.Loop() {
		db, err := duckdb.Open(ctx, filepath.Join(b.TempDir(), "read.duckdb"), duckdb.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := db.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		rows, err := db.Query(ctx, "SELECT count(*) FROM t")
		if err != nil {
			b.Fatal(err)
		}
		out, err := warehouse.CollectRows(rows)
		if err != nil {
			b.Fatal(err)
		}
		events, _ = strconv.ParseInt(warehouse.Format(out[0][0]), 10, 64)
		db.Close()
	}
	sec := elapsed.Seconds() / float64(b.N)
	b.ReportMetric(sec, "s")
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
	b.ReportMetric(0, "ns/op")
}

// duckType is the DuckDB type of an export column (as loaders/ga4's
// benchmark spells it).
func duckType(c warehouse.Column) string {
	var t string
	switch c.Type {
	case warehouse.Int64:
		t = "BIGINT"
	case warehouse.Float64:
		t = "DOUBLE"
	case warehouse.Bool:
		t = "BOOLEAN"
	case warehouse.Record:
		var f []string
		for _, s := range c.Fields {
			f = append(f, s.Name+" "+duckType(s))
		}
		t = "STRUCT(" + strings.Join(f, ", ") + ")"
	default:
		t = "VARCHAR"
	}
	if c.Repeated {
		t += "[]"
	}
	return t
}
