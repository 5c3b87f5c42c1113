// Package report_test renders `sam report` output in headless Chromium and
// checks that every chart drew: the browser's DOM holds each SVG with the
// expected number of series, and the screenshot is not blank.
package report_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/report"
)

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SAM_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found; `make test` installs it (make browser)")
	}
	t.Skip("chromium not installed; run `make browser` (make test does)")
	return ""
}

func fixture() *report.Data {
	d := &report.Data{GeneratedAt: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), ReportingCurrency: "USD", Engine: "duckdb"}
	for _, m := range []string{"last_non_direct", "linear", "markov"} {
		d.Channels = append(d.Channels,
			report.ChannelRow{Model: m, Channel: "Paid Search", Spend: 30000, Leads: 200, MQLs: 120, SQLs: 80, Won: 30, Revenue: 240000, SpamLeads: 4},
			report.ChannelRow{Model: m, Channel: "Paid Social", Spend: 12000, Leads: 400, MQLs: 60, SQLs: 10, Won: 2, Revenue: 9000, SpamLeads: 40},
			report.ChannelRow{Model: m, Channel: "Display", Spend: 8000, Leads: 150, MQLs: 5, SQLs: 1, Won: 0, Revenue: 0, SpamLeads: 120},
			report.ChannelRow{Model: m, Channel: "Organic Search", Leads: 90, MQLs: 50, SQLs: 30, Won: 9, Revenue: 70000, SpamLeads: 2},
		)
	}
	for i := 0; i < 3; i++ {
		d.Cohorts = append(d.Cohorts, report.CohortCell{LeadMonth: time.Date(2026, time.Month(7+i), 1, 0, 0, 0, 0, time.UTC), MonthsToRevenue: i, Revenue: float64(10000 * (i + 1))})
	}
	return d
}

func TestReportDrawsInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := report.Render(&buf, fixture(), report.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, bin, append(base, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	want := map[string]int{"chart-cpl": 1, "chart-roi": 1, "chart-models": 3, "chart-funnel": 4, "chart-spam": 1, "chart-cohorts": 3}
	for id, n := range want {
		re := regexp.MustCompile(`(?s)<svg[^>]*id="` + id + `".*?</svg>`)
		svg := re.Find(dom)
		if svg == nil {
			t.Errorf("%s: not in the browser's DOM", id)
			continue
		}
		if got := strings.Count(string(svg), `class="series"`); got != n {
			t.Errorf("%s: %d series drawn, want %d", id, got, n)
		}
		if strings.Count(string(svg), "<rect") < n {
			t.Errorf("%s: no bars drawn", id)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	cmd := exec.CommandContext(ctx, bin, append(base, "--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars", "file://"+page)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := colourful(img); n < 5000 {
		t.Fatalf("screenshot has only %d coloured pixels: the charts did not draw", n)
	}
	if os.Getenv("SAM_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(os.Getenv("SAM_KEEP_SCREENSHOT"), data, 0o644)
	}
}

// colourful counts saturated pixels: bars are coloured, text and page are
// greys.
func colourful(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > 0x3000 {
				n++
			}
		}
	}
	return n
}
