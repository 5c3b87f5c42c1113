package transform

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// chainFS is a chain of n table models over raw_bench__input, each reading
// the previous one and doing real work (a filter, a computed column, a
// grouped join back), like a staging → intermediate → mart chain.
func chainFS(n int) fstest.MapFS {
	fsys := fstest.MapFS{
		"staging/m00.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect id, grp, amount, day from {{ source \"bench\" \"input\" }}")},
	}
	for i := 1; i < n; i++ {
		sql := fmt.Sprintf(`/*
materialized: table
*/
select t.id, t.grp, t.amount * 1.01 + g.avg_amount / 1000 as amount, t.day
from {{ ref "m%02d" }} as t
join (select grp, avg(amount) as avg_amount from {{ ref "m%02d" }} group by grp) as g using (grp)
where t.amount >= 0`, i-1, i-1)
		fsys[fmt.Sprintf("intermediate/m%02d.sql", i)] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fsys
}

// BenchmarkBuildChain builds a chain of 10 table models over 1M input rows
// with Runner.Build (full refresh: every model rebuilds, with its state row,
// temporary table and atomic swap) and, for comparison, the same compiled
// SQL run directly as CREATE OR REPLACE TABLE statements on the raw
// *sql.DB. Each iteration is one pair of rounds, run back to back in
// alternating order; the ratio of a pair is taken before the next starts,
// so load that comes and goes on a shared machine hits both sides of most
// pairs. It reports the median of the per-pair ratios (runner/raw), their
// interquartile range as the spread (runner/raw_p25, runner/raw_p75) and
// the mean times.
func BenchmarkBuildChain(b *testing.B) {
	const models, rows = 10, 1_000_000
	ctx := context.Background()
	db, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Like every raw table SAM's loaders write, the input carries
	// loaded_at, by which the runner fingerprints a source cheaply; without
	// it the runner hashes every row (TableFingerprint), which is most of
	// what a build of this chain adds to the bare SQL.
	if _, err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE raw_bench__input AS
SELECT range AS id, range %% 1000 AS grp, CAST(range %% 977 AS DOUBLE) AS amount,
  DATE '2024-01-01' + CAST(range %% 365 AS INTEGER) AS day, TIMESTAMP '2024-12-31 00:00:00' AS loaded_at
FROM range(%d)`, rows)); err != nil {
		b.Fatal(err)
	}
	p, err := LoadProject(chainFS(models))
	if err != nil {
		b.Fatal(err)
	}
	compiled, err := p.Compile(duckdb.Dialect{}, db.QualifiedName, nil)
	if err != nil {
		b.Fatal(err)
	}
	var order []string
	for _, level := range p.Levels() {
		order = append(order, level...)
	}
	raw := db.SQLDB()
	r := &Runner{WH: db, Project: p, Parallelism: 1}
	var runnerTime, rawTime time.Duration
	runRaw := func() time.Duration {
		start := time.Now()
		for _, name := range order {
			if _, err := raw.ExecContext(ctx, "CREATE OR REPLACE TABLE "+db.QualifiedName(name)+" AS "+compiled[name]); err != nil {
				b.Fatal(err)
			}
		}
		d := time.Since(start)
		rawTime += d
		return d
	}
	runRunner := func(i int) time.Duration {
		start := time.Now()
		r.RunID = fmt.Sprintf("bench%d", i)
		if _, err := r.Build(ctx, Selection{}, BuildOptions{FullRefresh: true}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		runnerTime += d
		return d
	}
	// Warm up both paths (first builds create the tables), then alternate
	// which goes first, so neither always runs on a freshly freed heap.
	runRaw()
	runRunner(-1)
	runnerTime, rawTime = 0, 0
	var ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rn, rw time.Duration
		if i%2 == 0 {
			rw = runRaw()
			rn = runRunner(i)
		} else {
			rn = runRunner(i)
			rw = runRaw()
		}
		ratios = append(ratios, float64(rn)/float64(rw))
	}
	b.StopTimer()
	sort.Float64s(ratios)
	b.ReportMetric(float64(runnerTime.Nanoseconds())/float64(b.N), "runner_ns/op")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw_ns/op")
	b.ReportMetric(quantile(ratios, 0.5), "runner/raw")
	b.ReportMetric(quantile(ratios, 0.25), "runner/raw_p25")
	b.ReportMetric(quantile(ratios, 0.75), "runner/raw_p75")
}

// quantile is the q-quantile of sorted values, interpolated linearly.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}
