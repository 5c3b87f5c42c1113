package linkedin

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/linkedinsim"
)

// BenchmarkThroughput sends full batches through Send against the
// simulator at its documented ceiling (600 requests a minute, 5,000 events
// a request) with the destination's default limiter, from four senders as
// the runner would, and reports events per second as a ratio to the
// ceiling.
func BenchmarkThroughput(b *testing.B) {
	sim, err := linkedinsim.New("")
	if err != nil {
		b.Fatal(err)
	}
	sim.SetLimit(linkedinsim.DefaultLimit)
	sim.KeepRecords(false)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	d, err := New(Options{AccessToken: token, Conversions: conversions(), BaseURL: srv.URL + "/rest"})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	batchOf := func(op int64) []activation.Event {
		batch := make([]activation.Event, d.MaxBatch())
		for i := range batch {
			e := ev(fmt.Sprintf("b%d-%d", op, i), Stages[i%len(Stages)])
			e.EventAt = at
			batch[i] = e
		}
		return batch
	}
	var next, notAccepted atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := next.Add(1); op <= int64(b.N); op = next.Add(1) {
				for _, o := range d.Send(context.Background(), batchOf(op)) {
					if o.Status != activation.StatusAccepted {
						notAccepted.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := notAccepted.Load(); n > 0 {
		b.Fatalf("%d events not accepted (simulator: %+v)", n, sim.Stats())
	}
	ceiling := linkedinsim.DefaultLimit.Rate * float64(linkedinsim.MaxElements)
	events := float64(b.N) * float64(d.MaxBatch())
	b.ReportMetric(events/elapsed.Seconds(), "events/s")
	b.ReportMetric(events/elapsed.Seconds()/ceiling, "ceiling_ratio")
}
