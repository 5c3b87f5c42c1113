package ga4

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// BenchmarkThroughput delivers full requests (25 events of one client)
// through the activation runner, with its ledger in a DuckDB file (every
// intent and outcome durable before the next request, group-committed),
// to the local sink, at SAM's default rate of 200 requests a second. GA4
// publishes no Measurement Protocol rate limit; the ceiling is SAM's own
// limiter, so the ratio says what the ledger and the runner cost.
func BenchmarkThroughput(b *testing.B) {
	const rate = 200
	sink, err := ga4sink.New("")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sink.Handler())
	b.Cleanup(srv.Close)
	db, err := duckdb.Open(context.Background(), filepath.Join(b.TempDir(), "bench.duckdb"), duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := systables.New(db).Ensure(context.Background()); err != nil {
		b.Fatal(err)
	}
	d, err := New(Options{MeasurementID: "G-BENCH0001", APISecret: "s", Endpoint: srv.URL, RatePerSecond: rate, Burst: 8})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	const requests = 400 // two seconds at the rate
	var total time.Duration
	for n := range b.N {
		var events activation.SliceEvents
		for i := range requests * MaxEventsPerRequest {
			c := i / MaxEventsPerRequest
			events = append(events, activation.Event{Key: fmt.Sprintf("%016x%016x", n, i), LeadID: fmt.Sprintf("L%d-%d", n, i),
				Stage: activation.StageSQL, EventAt: now.Add(-time.Hour), ClientKey: fmt.Sprintf("%d.%d", 500000+c, 1700000000+n)})
		}
		r := &activation.Runner{Ledger: activation.NewWarehouseLedger(db), Events: events, Destinations: []activation.Destination{d}}
		start := time.Now()
		rep, err := r.Run(context.Background(), fmt.Sprintf("bench%d", n))
		total += time.Since(start)
		if err != nil || rep.Err() != nil || rep.Destinations[0].Counts[activation.StatusSent] != len(events) {
			b.Fatalf("run: %v %v %+v", err, rep.Err(), rep.Destinations[0].Counts)
		}
	}
	perSec := float64(b.N*requests) / total.Seconds()
	b.ReportMetric(perSec, "requests/s")
	b.ReportMetric(perSec*MaxEventsPerRequest, "events/s")
	b.ReportMetric(perSec/rate, "ceiling_ratio")
}
