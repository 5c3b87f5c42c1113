package duckdb

import (
	"bytes"
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

var narrowSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "id", Type: warehouse.Int64},
	{Name: "day", Type: warehouse.Date},
	{Name: "name", Type: warehouse.String},
	{Name: "value", Type: warehouse.Float64},
}}

// genRows yields n narrow rows without holding them in memory.
type genRows struct {
	n, i int
	row  []any
	days []time.Time
	strs []string
}

func newGenRows(n int) *genRows {
	g := &genRows{n: n, row: make([]any, 4)}
	for d := range 31 {
		g.days = append(g.days, time.Date(2024, 1, d+1, 0, 0, 0, 0, time.UTC))
	}
	for s := range 100 {
		g.strs = append(g.strs, fmt.Sprintf("campaign_%d", s))
	}
	return g
}

func (g *genRows) Next(context.Context) ([]any, error) {
	if g.i >= g.n {
		return nil, io.EOF
	}
	g.row[0] = int64(g.i)
	g.row[1] = g.days[g.i%len(g.days)]
	g.row[2] = g.strs[g.i%len(g.strs)]
	g.row[3] = float64(g.i) * 0.5
	g.i++
	return g.row, nil
}

const benchRows = 1_000_000

// BenchmarkLoadRows loads one million narrow rows through Load (appender).
func BenchmarkLoadRows(b *testing.B) {
	db := openMem(b)
	ctx := context.Background()
	for b.Loop() {
		res, err := db.Load(ctx, warehouse.LoadRequest{Table: "narrow", Schema: narrowSchema, Mode: warehouse.Replace, Rows: newGenRows(benchRows)})
		if err != nil {
			b.Fatal(err)
		}
		if res.RowsLoaded != benchRows {
			b.Fatalf("RowsLoaded = %d", res.RowsLoaded)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRawAppender is the floor for BenchmarkLoadRows: the same rows
// through the driver's appender with no conversion or transaction.
func BenchmarkRawAppender(b *testing.B) {
	db := openMem(b)
	ctx := context.Background()
	mustExec(b, db, "CREATE TABLE narrow (id BIGINT, day DATE, name VARCHAR, value DOUBLE)")
	for b.Loop() {
		conn, err := db.SQLDB().Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			app, err := duckdbdrv.NewAppender(dc.(driver.Conn), "", "main", "narrow")
			if err != nil {
				return err
			}
			g := newGenRows(benchRows)
			for {
				row, err := g.Next(ctx)
				if err == io.EOF {
					break
				}
				if err := app.AppendRow(row[0], row[1], row[2], row[3]); err != nil {
					return err
				}
			}
			return app.Close()
		})
		conn.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLoadNDJSON loads GA4 export lines (the GA4 schema of ga4_test.go).
func BenchmarkLoadNDJSON(b *testing.B) {
	const lines = 20_000
	var buf bytes.Buffer
	for i := range lines {
		buf.WriteString(strings.Replace(ga4Line, `"event_timestamp":"1705312800123456"`,
			fmt.Sprintf(`"event_timestamp":"%d"`, 1705312800123456+i), 1))
		buf.WriteByte('\n')
	}
	data := buf.Bytes()
	db := openMem(b)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := db.Load(ctx, warehouse.LoadRequest{Table: "raw_ga4__events", Schema: ga4Schema, Mode: warehouse.Replace,
			NDJSON: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		if res.RowsLoaded != lines {
			b.Fatalf("RowsLoaded = %d", res.RowsLoaded)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

const queryRowsN = 200_000

const narrowQuery = `SELECT range AS id, DATE '2024-01-01' + CAST(range % 31 AS INTEGER) AS day,
	'campaign_' || (range % 100) AS name, range * 0.5 AS value FROM range(200000)`

// BenchmarkQueryValues reads narrow rows through Rows.Values.
func BenchmarkQueryValues(b *testing.B) {
	db := openMem(b)
	ctx := context.Background()
	for b.Loop() {
		r, err := db.Query(ctx, narrowQuery)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			if _, err := r.Values(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := r.Close(); err != nil || n != queryRowsN {
			b.Fatalf("rows = %d, err = %v", n, err)
		}
	}
	b.ReportMetric(float64(queryRowsN)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRawQuery is the same read through database/sql directly.
func BenchmarkRawQuery(b *testing.B) {
	db := openMem(b)
	ctx := context.Background()
	for b.Loop() {
		r, err := db.SQLDB().QueryContext(ctx, narrowQuery)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		var id int64
		var d time.Time
		var name string
		var v float64
		for r.Next() {
			if err := r.Scan(&id, &d, &name, &v); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := r.Close(); err != nil || n != queryRowsN {
			b.Fatalf("rows = %d, err = %v", n, err)
		}
	}
	b.ReportMetric(float64(queryRowsN)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
