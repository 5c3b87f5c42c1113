package salesforce_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// BenchmarkQueryThroughput pages Leads against a simulator whose request
// limit (5 per 500 ms) is the bottleneck and reports records/s and the share
// of the ceiling (limit × page size) reached.
func BenchmarkQueryThroughput(b *testing.B) {
	const (
		perWindow = 5
		window    = 500 * time.Millisecond
		page      = 200
		leads     = 8000
	)
	ceiling := float64(perWindow) / window.Seconds() * page
	var recs, secs float64
	for b.Loop() {
		b.StopTimer()
		sim := salesforcesim.New(salesforcesim.Config{RequestsPerWindow: perWindow, Window: window, PageSize: page})
		sim.Seed(leads, 0, 0)
		sc := salesforce.Options{InstanceURL: sim.URL, AccessToken: option.Secret(sim.Token()), APIVersion: "v59.0",
			ClientIDField: "GA_Client_ID__c", GclidField: "GCLID__c", RequestsPerWindow: perWindow,
			Overlap: 10 * time.Minute, BatchSize: 1000,
			HTTPClient: &http.Client{Timeout: 10 * time.Second}, Window: window, DefaultCurrency: "USD",
			Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 10},
		}
		src, err := salesforce.NewSource(sc)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		c, err := crm.Sync(b.Context(), memwh.New(), src, crm.Options{Cursors: memwh.NewCursors(), Streams: []string{"Lead"}})
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
