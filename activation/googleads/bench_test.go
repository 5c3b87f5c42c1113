package googleads

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/googleadssim"
)

// BenchmarkThroughput measures events per second through Send against the
// simulator at its documented ceiling (300 requests a minute, 2,000 events
// a request), reported as a ratio to that ceiling. Four senders share the
// destination, as the runner's would.
func BenchmarkThroughput(b *testing.B) {
	sim, err := googleadssim.New("")
	if err != nil {
		b.Fatal(err)
	}
	sim.KeepRecords(false)
	sim.AllowToken("test-token")
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	wall := time.Now()
	d := newDest(b, srv, func(o *Options) {
		o.Now = time.Now
		o.RequestTimeout = 30 * time.Second
		o.StatusWait = 10 * time.Second
	})
	ceiling := googleadssim.DefaultLimit.Rate * MaxEvents // events per second

	// One batch template, re-keyed per request.
	tmpl := make([]activation.Event, MaxEvents)
	for i := range tmpl {
		tmpl[i] = ev(i, Stages[i%len(Stages)])
		tmpl[i].EventAt = wall.Add(-time.Hour)
		tmpl[i].ClickAt = wall.Add(-2 * time.Hour)
	}
	var next, sent atomic.Int64
	var bad atomic.Int64
	requests := (b.N + MaxEvents - 1) / MaxEvents
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			batch := make([]activation.Event, MaxEvents)
			for {
				n := next.Add(1)
				if n > int64(requests) {
					return
				}
				copy(batch, tmpl)
				for i := range batch {
					batch[i].Key = fmt.Sprintf("%016x%016x", n, i)
				}
				for _, o := range d.Send(context.Background(), batch) {
					if o.Status != activation.StatusAccepted {
						bad.Add(1)
					}
				}
				sent.Add(MaxEvents)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if bad.Load() > 0 {
		b.Fatalf("%d events not accepted (throttled: %d)", bad.Load(), sim.Stats().Throttled)
	}
	perSec := float64(sent.Load()) / elapsed.Seconds()
	b.ReportMetric(perSec, "events/s")
	b.ReportMetric(perSec/ceiling, "ceiling_ratio")
}
