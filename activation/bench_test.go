package activation

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// slowLedger is a ledger whose every Append takes a fixed time, as each
// write on BigQuery is a DML job of a second or two.
type slowLedger struct {
	MemoryLedger
	delay  time.Duration
	writes atomic.Int64
}

func (s *slowLedger) Append(ctx context.Context, entries []Entry) error {
	s.writes.Add(1)
	time.Sleep(s.delay)
	return s.MemoryLedger.Append(ctx, entries)
}

type slowDest struct {
	fakeDest
	delay time.Duration
}

func (s *slowDest) Send(ctx context.Context, batch []Event) []Outcome {
	time.Sleep(s.delay)
	return s.fakeDest.Send(ctx, batch)
}

// BenchmarkSlowLedger delivers 400 one-event requests at the default 8 in
// flight through a ledger whose writes take 20 ms and a destination that
// answers in 2 ms: the shape of writeback on BigQuery (DML writes of 1–2 s,
// requests of 100–200 ms) scaled down a hundredfold. It reports requests/s
// and ledger writes per request.
func BenchmarkSlowLedger(b *testing.B) {
	const n = 400
	ev := events(n, n)
	var writes, requests int64
	var elapsed time.Duration
	for b.Loop() {
		l := &slowLedger{delay: 20 * time.Millisecond}
		d := &slowDest{fakeDest: fakeDest{name: "ga4", maxBatch: 1}, delay: 2 * time.Millisecond}
		r := &Runner{Ledger: l, Events: ev, Destinations: []Destination{d}, Concurrency: 8, Now: func() time.Time { return testNow }}
		start := time.Now()
		rep, err := r.Run(context.Background(), "bench")
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		if got := rep.Destinations[0].Counts[StatusAccepted]; got != n {
			b.Fatalf("%d of %d accepted", got, n)
		}
		writes += l.writes.Load()
		requests += int64(rep.Destinations[0].Requests)
	}
	b.ReportMetric(float64(requests)/elapsed.Seconds(), "requests/s")
	b.ReportMetric(float64(writes)/float64(requests), "writes/request")
}
