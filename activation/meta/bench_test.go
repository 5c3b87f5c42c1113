package meta

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/metasim"
)

// BenchmarkThroughput sends full batches through Send against the
// simulator at its stated ceiling (metasim.DefaultLimit requests a second
// of metasim.MaxEvents events) with the client limited to the same rate,
// from 8 senders as the runner does by default, and reports events per second as a
// ratio to that ceiling.
func BenchmarkThroughput(b *testing.B) {
	s, err := metasim.New("")
	if err != nil {
		b.Fatal(err)
	}
	s.KeepRecords(false)
	s.AllowToken(testToken)
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	b.Cleanup(func() { s.Close() })
	now := time.Now()
	d, _ := newDest(b, srv.URL, func(o *Options) {
		o.RequestsPerSecond = metasim.DefaultLimit.Rate
		o.Burst = 1
		o.Now = time.Now
	})
	mk := func(prefix string) []activation.Event {
		batch := make([]activation.Event, MaxBatch)
		for i := range batch {
			e := ev(fmt.Sprintf("%s-%d", prefix, i), takenStages[i%len(takenStages)])
			e.EventAt, e.LeadAt = now.Add(-time.Hour), now.Add(-48*time.Hour)
			batch[i] = e
		}
		return batch
	}
	batches := make([][]activation.Event, b.N)
	for i := range batches {
		batches[i] = mk(fmt.Sprintf("b%d", i))
	}
	// Spend the limiter's token right before timing, so every timed
	// request waits its turn.
	warmup := mk("warm")
	if out := d.Send(context.Background(), warmup); out[0].Status != activation.StatusAccepted {
		b.Fatalf("warm-up: %+v", out[0])
	}
	work := make(chan []activation.Event)
	var (
		mu       sync.Mutex
		accepted int
		wg       sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range 8 { // the runner's default Concurrency
		wg.Go(func() {
			for batch := range work {
				n := 0
				for _, o := range d.Send(context.Background(), batch) {
					if o.Status == activation.StatusAccepted {
						n++
					}
				}
				mu.Lock()
				accepted += n
				mu.Unlock()
			}
		})
	}
	for _, batch := range batches {
		work <- batch
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if accepted != b.N*MaxBatch {
		b.Fatalf("accepted %d of %d events; stats %+v", accepted, b.N*MaxBatch, s.Stats())
	}
	ceiling := metasim.DefaultLimit.Rate * metasim.MaxEvents
	rate := float64(accepted) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/ceiling, "ceiling_ratio")
	if th := s.Stats().Throttled; th > 0 {
		b.Logf("%d requests throttled by the simulator", th)
	}
}
