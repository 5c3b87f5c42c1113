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

// BenchmarkPeakMemory streams 10k and 1M leads, then deals, through Sync
// into a warehouse that keeps nothing, sampling the live heap, and reports
// the peak: it must stay flat as volume grows a hundredfold, since only one
// batch is held at a time. The first deal's amount, 1.234, sends the
// loader through the whole deals file for its decimal marks (none of the
// other amounts shows one, so it loads, the file being comma-separated)
// while its rows stream.
func BenchmarkPeakMemory(b *testing.B) {
	for _, stream := range []struct {
		name    string
		columns []string
		value   func(column string, i int) string
	}{
		{"leads", file.LeadColumns, leadValue},
		{"deals", file.DealColumns, dealValue},
	} {
		for _, n := range []int{10_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s=%d", stream.name, n), func(b *testing.B) {
				dir := b.TempDir()
				writeRows(b, filepath.Join(dir, stream.name+".csv"), stream.columns, stream.value, n)
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
					rowLog := memwh.NewRowLog()
					rowLog.Discard = true
					c, err := crm.Sync(b.Context(), wh, src, crm.Options{Cursors: memwh.NewCursors(), RowLog: rowLog})
					stop.Store(true)
					peak = max(peak, <-done)
					if err != nil || c.Loaded != int64(n) {
						b.Fatalf("loaded %d of %d (%d rejected): %v", c.Loaded, n, c.Rejected, err)
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
	}
}

func writeRows(b *testing.B, path string, columns []string, value func(string, int) string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(strings.Join(columns, ",") + "\n")
	// By name, so a column added to the export does not turn every row into
	// a reject and the benchmark into a measure of the rejects path.
	row := make([]string, len(columns))
	for i := range n {
		for c, name := range columns {
			row[c] = value(name, i)
		}
		w.WriteString(strings.Join(row, ",") + "\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func leadValue(column string, i int) string {
	switch column {
	case "lead_id":
		return fmt.Sprintf("L%d", i)
	case "created_at", "mql_at":
		return "2024-03-01T10:00:00Z"
	case "updated_at":
		return "2024-03-02T10:00:00Z"
	case "email":
		return fmt.Sprintf("user%d@example.com", i)
	case "phone":
		return fmt.Sprintf("+1555%07d", i)
	case "first_name":
		return "Ann"
	case "last_name":
		return "Lee"
	case "company":
		return "Acme"
	case "ga_client_id":
		return fmt.Sprintf("GA1.1.%d.1700000000", i)
	case "lifecycle_stage":
		return "mql"
	case "is_deleted":
		return "false"
	}
	return ""
}

func dealValue(column string, i int) string {
	switch column {
	case "deal_id":
		return fmt.Sprintf("D%d", i)
	case "lead_id":
		return fmt.Sprintf("L%d", i)
	case "created_at":
		return "2024-03-01T10:00:00Z"
	case "updated_at":
		return "2024-03-02T10:00:00Z"
	case "stage":
		return "closedwon"
	case "pipeline":
		return "default"
	case "amount":
		if i == 0 {
			return "1.234" // in doubt
		}
		return fmt.Sprintf("%d.50", 1000+i%100_000) // plain: shows no mark
	case "currency":
		return "EUR"
	case "is_won":
		return "true"
	case "is_lost", "is_deleted":
		return "false"
	}
	return ""
}
