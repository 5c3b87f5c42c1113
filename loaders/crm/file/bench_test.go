package file_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
)

// BenchmarkPeakMemory streams 10k and 1M leads through Sync into a
// warehouse that keeps nothing, sampling the live heap, and reports the
// peak: it must stay flat as volume grows a hundredfold, since only one
// batch is held at a time.
func BenchmarkPeakMemory(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeLeads(b, filepath.Join(dir, "leads.csv"), n)
			var peak uint64
			for b.Loop() {
				src, err := file.New(file.Options{Dir: dir, Overlap: 10 * time.Minute, BatchSize: 1000})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var stop atomic.Bool
				done := make(chan uint64)
				go func() {
					var m runtime.MemStats
					var p uint64
					for !stop.Load() {
						runtime.ReadMemStats(&m)
						p = max(p, m.HeapInuse)
						time.Sleep(2 * time.Millisecond)
					}
					done <- p
				}()
				wh := memwh.New()
				wh.Discard = true
				c, err := crm.Sync(b.Context(), wh, src, crm.Options{Cursors: memwh.NewCursors(), RowLog: memwh.NewRowLog()})
				stop.Store(true)
				peak = max(peak, <-done)
				if err != nil || c.Loaded != int64(n) {
					b.Fatalf("loaded %d of %d: %v", c.Loaded, n, err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

func writeLeads(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(strings.Join(file.LeadColumns, ",") + "\n")
	for i := range n {
		fmt.Fprintf(w, "L%d,2024-03-01T10:00:00Z,2024-03-02T10:00:00Z,user%d@example.com,+1555%d,Ann,Lee,Acme,GA1.1.%d.1700000000,,,mql,2024-03-01T11:00:00Z,,,,,,,false\n", i, i, i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}
