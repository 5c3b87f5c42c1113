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

// benchBatch is the batch size of BenchmarkThroughput. LinkedIn's ceiling
// is in requests (600 a minute), so the ratio is the same for any batch
// size; at the 5,000-element limit the simulator's own JSON decoding takes
// more than a second of CPU per second at the ceiling, and on a shared
// machine the benchmark would measure the simulator rather than Send.
const benchBatch = 500

// BenchmarkThroughput sends batches through Send against the simulator at
// its documented ceiling (600 requests a minute) with the destination's
// default limiter, from four senders as the runner would, and reports
// events per second as a ratio to the ceiling (requests a second × events
// a request).
func BenchmarkThroughput(b *testing.B) {
	sim, err := linkedinsim.New("")
	if err != nil {
		b.Fatal(err)
	}
	sim.SetLimit(linkedinsim.DefaultLimit)
	sim.KeepRecords(false)
	sim.AllowToken(token)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	d, err := New(Options{AccessToken: token, Conversions: conversions(), BaseURL: srv.URL + "/rest", MaxBatch: benchBatch})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	batchOf := func(op int64) []activation.Event {
		batch := make([]activation.Event, d.MaxBatch())
		for i := range batch {
			e := ev(fmt.Sprintf("b%d-%d", op, i), stages[i%len(stages)])
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
	if n, st := notAccepted.Load(), sim.Stats(); n > 0 || st.Throttled > 0 {
		b.Fatalf("%d events not accepted, %d requests throttled", n, st.Throttled)
	}
	ceiling := linkedinsim.DefaultLimit.Rate * float64(d.MaxBatch())
	events := float64(b.N) * float64(d.MaxBatch())
	b.ReportMetric(events/elapsed.Seconds(), "events/s")
	b.ReportMetric(events/elapsed.Seconds()/ceiling, "ceiling_ratio")
}
