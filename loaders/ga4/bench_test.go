package ga4

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// benchExport generates an export once per benchmark: 3 days of 15,000
// events a day.
// SAM_BENCH_GA4_DIR names an export directory of NDJSON files to use
// instead.
func benchExport(b *testing.B) (dir string, events, bytes int64) {
	b.Helper()
	if dir := os.Getenv("SAM_BENCH_GA4_DIR"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
			events += int64(strings.Count(string(data), "\n"))
		}
		return dir, events, bytes
	}
	out := b.TempDir()
	sum, err := sampledata.Generate(context.Background(), sampledata.Options{OutDir: out, Days: 3, EventsPerDay: 15000, Seed: 1, End: d1})
	if err != nil {
		b.Fatal(err)
	}
	dir = filepath.Join(out, "ga4")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		st, _ := os.Stat(f)
		bytes += st.Size()
	}
	return dir, sum.Events, bytes
}

func report(b *testing.B, start time.Time, events, bytes int64) {
	sec := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
}

// BenchmarkFileLoad measures the file loader end to end: Go validation of
// every line, the pipe into the warehouse, and DuckDB's typed load.
func BenchmarkFileLoad(b *testing.B) {
	dir, events, bytes := benchExport(b)
	start := time.Now()
	for b.Loop() {
		db := openDuck(b)
		l := NewFileLoader(Options{ExportDir: dir}, db, nil)
		res, err := l.Load(context.Background(), "bench")
		if err != nil {
			b.Fatal(err)
		}
		if res.Counts.Loaded != events {
			b.Fatalf("loaded %d of %d", res.Counts.Loaded, events)
		}
		db.Close()
	}
	report(b, start, events, bytes)
}

// BenchmarkDuckDBReadJSON is the baseline: DuckDB's own read_json over the
// same files with the same typed schema, no validation, no rejects.
func BenchmarkDuckDBReadJSON(b *testing.B) {
	dir, events, bytes := benchExport(b)
	var cols []string
	for _, c := range ExportColumns() {
		cols = append(cols, "'"+c.Name+"': '"+duckType(c)+"'")
	}
	q := "CREATE TABLE t AS SELECT * FROM read_json(" + duckdb.Dialect{}.StringLiteral(filepath.Join(dir, "events_*.json")) +
		", format = 'newline_delimited', columns = {" + strings.Join(cols, ", ") + "})"
	start := time.Now()
	for b.Loop() {
		db := openDuck(b)
		if _, err := db.Exec(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		if n := queryInt(b, db, "SELECT count(*) FROM t"); n != events {
			b.Fatalf("read %d of %d", n, events)
		}
		db.Close()
	}
	report(b, start, events, bytes)
}

// BenchmarkValidateFiles isolates the Go side: reading and validating every
// line of the same files in the loader's pipeline, writing nothing.
func BenchmarkValidateFiles(b *testing.B) {
	dir, events, bytes := benchExport(b)
	l := NewFileLoader(Options{ExportDir: dir}, nil, nil)
	avail, _, err := l.scanDir()
	if err != nil {
		b.Fatal(err)
	}
	var tables []exportTable
	for _, t := range avail {
		tables = append(tables, t)
	}
	start := time.Now()
	for b.Loop() {
		p := l.startPipeline(context.Background(), tables, time.Now(), false)
		var n int64
		for {
			c, err := p.next(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if c == nil {
				break
			}
			n += c.counts.Loaded
		}
		p.stop()
		if n != events {
			b.Fatalf("validated %d of %d", n, events)
		}
	}
	report(b, start, events, bytes)
}

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
