package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkRunLocal100k sends 100,000 events (25 per client, 4,000
// requests) to the local sink with the send log on DuckDB, and compares the
// writer with the ideal for its concurrency: the same 4,000 request bodies
// posted by as many goroutines as the writer may use, with no warehouse, no
// guard and no rate limit.
//
//	go test ./writeback -run '^$' -bench RunLocal100k -benchtime 3x
func BenchmarkRunLocal100k(b *testing.B) {
	const events = 100_000
	ctx := context.Background()
	wh := openWH(b)
	loadQueue(b, wh, queueRows(events, 25, time.Now().Add(-time.Hour)))
	sink, url := startSink(b)
	sink.KeepEvents(false)
	cfg := testConfig(ModeLocal)
	cfg.Concurrency = 8
	cfg.RatePerSecond = 1_000_000 // measure the writer, not the limiter

	// The ideal's request bodies.
	var bodies [][]byte
	for _, g := range batches(func() []Row {
		rows := make([]Row, events)
		for i, r := range queueRows(events, 25, now) {
			rows[i] = Row{Key: r[0].(string), LeadID: r[1].(string), ClientKey: r[2].(string), EventName: r[3].(string), EventTS: now, LeadStage: "mql"}
		}
		return rows
	}(), MaxEventsPerRequest) {
		p := Payload{ClientID: g[0].ClientKey}
		for _, r := range g {
			e, _ := BuildEvent(r, now)
			p.Events = append(p.Events, e)
		}
		body, _ := json.Marshal(p)
		bodies = append(bodies, body)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}

	var writerTime, idealTime time.Duration
	lastWrites := 0
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		postAll(b, hc, url+collectPath+"?measurement_id=G-TEST123", bodies, cfg.Concurrency)
		idealTime += time.Since(start)

		opts := Options{LocalEndpoint: url, SendLogTable: fmt.Sprintf("send_log_bench_%d", i), IntentAhead: benchAhead}
		start = time.Now()
		rep, err := New(wh, cfg, opts).Run(ctx, fmt.Sprint("bench-", i))
		writerTime += time.Since(start)
		lastWrites = rep.LogWrites
		if err != nil || rep.Sent != events {
			b.Fatalf("run: sent %d of %d: %v", rep.Sent, events, err)
		}
	}
	b.StopTimer()
	writerRate := float64(events*b.N) / writerTime.Seconds()
	idealRate := float64(events*b.N) / idealTime.Seconds()
	b.ReportMetric(writerRate, "events/s")
	b.ReportMetric(idealRate, "ideal-events/s")
	b.ReportMetric(writerRate/idealRate, "ratio")
	b.ReportMetric(0, "ns/op") // the iteration includes the ideal run; ns/op would mislead
	b.Logf("send log writes in the last run: %d", lastWrites)
}

// batches groups rows by client id, at most max events per request, for
// the ideal's request bodies.
func batches(rows []Row, max int) [][]Row {
	var out [][]Row
	open := map[string]int{}
	for _, r := range rows {
		i, ok := open[r.ClientKey]
		if !ok || len(out[i]) >= max {
			out = append(out, nil)
			i = len(out) - 1
			open[r.ClientKey] = i
		}
		out[i] = append(out[i], r)
	}
	return out
}

// benchAhead overrides Options.IntentAhead (SAM_BENCH_AHEAD); 0 keeps the
// default.
var benchAhead = func() int {
	n, _ := strconv.Atoi(os.Getenv("SAM_BENCH_AHEAD"))
	return n
}()

// BenchmarkRunLocal100kDefaultRate sends the same 100,000 events with the
// default settings (concurrency 8, 200 requests/s): the ideal is the rate
// limit, 200 × 25 = 5,000 events/s.
//
//	go test ./writeback -run '^$' -bench RunLocal100kDefaultRate -benchtime 1x
func BenchmarkRunLocal100kDefaultRate(b *testing.B) {
	const events = 100_000
	ctx := context.Background()
	wh := openWH(b)
	loadQueue(b, wh, queueRows(events, 25, time.Now().Add(-time.Hour)))
	sink, url := startSink(b)
	sink.KeepEvents(false)
	cfg := testConfig(ModeLocal)
	cfg.Concurrency, cfg.RatePerSecond = 8, 200
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		rep, err := New(wh, cfg, Options{LocalEndpoint: url, SendLogTable: fmt.Sprintf("send_log_rate_%d", i), IntentAhead: benchAhead}).Run(ctx, fmt.Sprint("bench-", i))
		elapsed += time.Since(start)
		if err != nil || rep.Sent != events {
			b.Fatalf("run: sent %d of %d: %v", rep.Sent, events, err)
		}
	}
	rate := float64(events*b.N) / elapsed.Seconds()
	ideal := float64(cfg.RatePerSecond * MaxEventsPerRequest)
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(ideal, "ideal-events/s")
	b.ReportMetric(rate/ideal, "ratio")
}

func postAll(b *testing.B, hc *http.Client, url string, bodies [][]byte, workers int) {
	work := make(chan []byte)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for body := range work {
				resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				resp.Body.Close()
			}
		})
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	wg.Wait()
}
