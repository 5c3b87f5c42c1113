package transform

import (
	"context"
	"fmt"
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
// *sql.DB. It reports runner_ns/op, raw_ns/op, their ratio, and the ratio of
// the fastest rounds.
func BenchmarkBuildChain(b *testing.B) {
	const models, rows = 10, 1_000_000
	ctx := context.Background()
	db, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE raw_bench__input AS
SELECT range AS id, range %% 1000 AS grp, CAST(range %% 977 AS DOUBLE) AS amount,
  DATE '2024-01-01' + CAST(range %% 365 AS INTEGER) AS day
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
	runnerMin, rawMin := time.Duration(1<<62), time.Duration(1<<62)
	runRaw := func() {
		start := time.Now()
		for _, name := range order {
			if _, err := raw.ExecContext(ctx, "CREATE OR REPLACE TABLE "+db.QualifiedName(name)+" AS "+compiled[name]); err != nil {
				b.Fatal(err)
			}
		}
		d := time.Since(start)
		rawTime, rawMin = rawTime+d, min(rawMin, d)
	}
	runRunner := func(i int) {
		start := time.Now()
		r.RunID = fmt.Sprintf("bench%d", i)
		if _, err := r.Build(ctx, Selection{}, BuildOptions{FullRefresh: true}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		runnerTime, runnerMin = runnerTime+d, min(runnerMin, d)
	}
	// Warm up both paths (first builds create the tables), then alternate
	// which goes first, so neither always runs on a freshly freed heap.
	runRaw()
	runRunner(-1)
	runnerTime, rawTime = 0, 0
	runnerMin, rawMin = 1<<62, 1<<62
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			runRaw()
			runRunner(i)
		} else {
			runRunner(i)
			runRaw()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(runnerTime.Nanoseconds())/float64(b.N), "runner_ns/op")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw_ns/op")
	b.ReportMetric(float64(runnerTime)/float64(rawTime), "runner/raw")
	// On a shared machine the fastest round of each is the steadier figure.
	b.ReportMetric(float64(runnerMin)/float64(rawMin), "min_runner/raw")
}
