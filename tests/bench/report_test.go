package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportNamesFailedBenchmarks rewrites a report from saved Go
// benchmark output (run.sh's report-only pass) and checks the summary
// names each benchmark that failed. A failure's "--- FAIL:" follows the
// benchmark's name on the same line, and a package that does not build
// names no benchmark at all.
func TestReportNamesFailedBenchmarks(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash missing")
	}
	work := t.TempDir()
	gb := filepath.Join(work, "gobench")
	if err := os.MkdirAll(gb, 0o755); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		// As the 2026-12-07 10:19 run saved it; its summary said "none".
		"activation_ga4.txt": "$ go test -run '^$' -bench 'Throughput' -benchtime 3x ./activation/ga4\n" +
			"BenchmarkThroughput-2   \t--- FAIL: BenchmarkThroughput-2\n" +
			"FAIL\n" +
			"FAIL\tgithub.com/sam-attribution/sam/activation/ga4\t4.436s\n" +
			"FAIL\n" +
			"(exit 1)\n",
		"activation_meta.txt": "$ go test -run '^$' -bench 'Throughput' -benchtime 100x ./activation/meta\n" +
			"# github.com/sam-attribution/sam/activation/meta\n" +
			"activation/meta/meta.go:1:1: expected 'package', found 'EOF'\n" +
			"FAIL\tgithub.com/sam-attribution/sam/activation/meta [build failed]\n" +
			"FAIL\n" +
			"(exit 1)\n",
		"activation_linkedin.txt": "$ go test -run '^$' -bench 'Throughput' -benchtime 50x ./activation/linkedin\n" +
			"BenchmarkThroughput-2   \t      50\t  98160898 ns/op\t         1.019 ceiling_ratio\n" +
			"ok  \tgithub.com/sam-attribution/sam/activation/linkedin\t4.926s\n" +
			"(exit 0)\n",
	}
	for name, text := range outputs {
		if err := os.WriteFile(filepath.Join(gb, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(work, "BENCHMARKS.md")
	cmd := exec.Command("bash", "run.sh")
	cmd.Env = append(os.Environ(), "SAM_BENCH_REPORT_ONLY=1", "SAM_BENCH_PARTS=go", "SAM_BENCH_WORK="+work,
		"SAM_BENCH_OUT="+out, "SAM_BENCH_KEEP=1", "BIN=/bin/true")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run.sh: %v\n%s", err, b)
	}
	report, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const want = "| Go benchmarks that failed | activation/ga4 BenchmarkThroughput, activation/meta (exit 1, no benchmark ran) | none |"
	if !strings.Contains(string(report), want) {
		t.Errorf("report lacks\n%s\nits summary:\n%s", want, summaryOf(string(report)))
	}
	if !strings.Contains(string(report), "| activation: GA4 (Measurement Protocol, local sink; SAM's default 200 requests/s, ledger in DuckDB) throughput vs the rate ceiling | - of the ceiling |") {
		t.Errorf("the failed GA4 benchmark's row should show no figure:\n%s", summaryOf(string(report)))
	}
}

func summaryOf(report string) string {
	var lines []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "| ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
