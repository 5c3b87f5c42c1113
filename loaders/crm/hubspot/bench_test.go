package hubspot_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// BenchmarkSearchThroughput sweeps contacts against a simulator whose
// search limit (10 per 500 ms, HubSpot's shape at a bench-friendly scale)
// is the bottleneck, and reports records/s and the share of the ceiling
// (limit × page size) reached. The client must never exceed the limit.
func BenchmarkSearchThroughput(b *testing.B) {
	const (
		perWindow = 10
		window    = 500 * time.Millisecond
		page      = 100
		contacts  = 16000
	)
	ceiling := float64(perWindow) / window.Seconds() * page
	var recs, secs float64
	for b.Loop() {
		b.StopTimer()
		sim := hubspotsim.New(hubspotsim.Config{RequestsPerWindow: 1000, Window: window, SearchPerWindow: perWindow, SearchWindow: window, MaxPageSize: page})
		sim.Seed(contacts, 0, 0)
		cfg := hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL, ClientIDProperty: "ga_client_id",
			GclidProperty: "gclid", RequestsPerWindow: 1000, SearchPerWindow: perWindow,
			Overlap: 10 * time.Minute, BatchSize: 1000,
			HTTPClient: &http.Client{Timeout: 10 * time.Second}, Window: window, SearchWindow: window, PageSize: page,
			Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 10},
		}
		src, err := hubspot.NewSource(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		c, err := crm.Sync(b.Context(), memwh.New(), src, crm.Options{Cursors: memwh.NewCursors(), Streams: []string{"contacts"}})
		secs += time.Since(start).Seconds()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if sim.Exceeded() != 0 {
			b.Fatalf("rate limit exceeded %d times", sim.Exceeded())
		}
		recs += float64(c.Loaded)
		sim.Close()
		b.StartTimer()
	}
	b.ReportMetric(recs/secs, "records/s")
	b.ReportMetric(100*recs/secs/ceiling, "%ceiling")
}
