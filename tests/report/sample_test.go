package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/report"
	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/warehouse"
)

var samBin string

func TestMain(m *testing.M) { os.Exit(samtest.Main(m, &samBin)) }

// sample runs the pipeline on the sample data of the README (90 days,
// seed 42) once for the tests of this file.
func sample(t *testing.T) *samtest.Workspace {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: generates and runs the sample data")
	}
	w := samtest.New(t, samBin)
	w.Env = append(w.Env, "SAM_WRITEBACK_MODE=local")
	w.Generate(90, 0, 42)
	out := w.MustRun("run")
	w.T.Logf("sam run ends with:\n%s", samtest.Tail(out, 700))
	// The planted story, in words, at the end of `sam run`.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`By cost per lead, Paid Social looks best \([\d.,]+ USD against [\d.,]+ USD for Paid Search\)\. By return it is the worst: -[\d.,]+% ROI against [\d.,]+%\.`),
		regexp.MustCompile(`Paid Search has the dearest leads and the best return`),
		regexp.MustCompile(`\d+ of \d+ Display leads \(\d+\.\d%\) are spam or bots`),
	} {
		if !want.MatchString(out) {
			t.Errorf("sam run does not end with %q", want)
		}
	}
	return w
}

// marts is channel_performance as the test reads it itself.
type marts struct {
	totals map[string]report.ChannelRow // channel, model last_non_direct
	months map[string]report.ChannelRow // month "2006-01" + channel
	share  map[string]float64           // model + channel
}

func readMarts(t *testing.T, wh warehouse.Warehouse, where string) marts {
	t.Helper()
	rows, err := wh.Query(context.Background(), `select strftime(month, '%Y-%m'), model, channel, cast(spend as double), leads, sqls, won, cast(revenue as double)
		from channel_performance where `+where)
	if err != nil {
		t.Fatal(err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	m := marts{totals: map[string]report.ChannelRow{}, months: map[string]report.ChannelRow{}, share: map[string]float64{}}
	revenue := map[string]float64{}
	for _, v := range all {
		month, model, ch := v[0].(string), v[1].(string), v[2].(string)
		var r report.ChannelRow
		for i, p := range []*float64{&r.Spend, &r.Leads, &r.SQLs, &r.Won, &r.Revenue} {
			if err := warehouse.ConvertAssign(p, v[3+i]); err != nil {
				t.Fatal(err)
			}
		}
		m.share[model+"/"+ch] += r.Revenue
		revenue[model] += r.Revenue
		if model != "last_non_direct" {
			continue
		}
		tot := m.totals[ch]
		tot.Spend, tot.Leads, tot.SQLs, tot.Won, tot.Revenue = tot.Spend+r.Spend, tot.Leads+r.Leads, tot.SQLs+r.SQLs, tot.Won+r.Won, tot.Revenue+r.Revenue
		m.totals[ch] = tot
		m.months[month+"/"+ch] = r
	}
	for k := range m.share {
		m.share[k] /= revenue[strings.Split(k, "/")[0]]
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func attr(el, name string) string {
	m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(el)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func float(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// invert reads a value back from a pixel position through the scale the
// chart publishes.
func invert(t *testing.T, svg, axis string, px float64) float64 {
	v, _ := invertScale(t, svg, axis, px)
	return v
}

// tolerance is what a hundredth of a pixel (positions print with two
// decimals) is worth on the axis.
func tolerance(t *testing.T, svg, axis string) float64 {
	_, perPixel := invertScale(t, svg, axis, 0)
	return 0.011 * perPixel
}

func invertScale(t *testing.T, svg, axis string, px float64) (float64, float64) {
	d := strings.Fields(attr(svg, "data-"+axis+"-domain"))
	r := strings.Fields(attr(svg, "data-"+axis+"-range"))
	if len(d) != 2 || len(r) != 2 {
		t.Fatalf("chart publishes no %s scale", axis)
	}
	d0, d1, r0, r1 := float(t, d[0]), float(t, d[1]), float(t, r[0]), float(t, r[1])
	return d0 + (px-r0)/(r1-r0)*(d1-d0), math.Abs((d1 - d0) / (r1 - r0))
}

func chart(t *testing.T, dom []byte, id string) string {
	t.Helper()
	svg := regexp.MustCompile(`(?s)<svg[^>]*id="` + id + `".*?</svg>`).Find(dom)
	if svg == nil {
		t.Fatalf("%s: not in the browser's DOM", id)
	}
	return string(svg)
}

func TestSampleReportPlotsTheMarts(t *testing.T) {
	bin := chromium(t)
	w := sample(t)
	page := w.Path("report.html")
	w.MustRun("report", "--out", page)
	db := w.Open()
	m := readMarts(t, db, "true")
	db.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	dom, err := exec.CommandContext(ctx, bin, append(base, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}

	// The quadrant: each bubble's position, read back through the axes, is
	// the channel's cost per lead and ROI in the mart; its size is spend.
	quad := chart(t, dom, "chart-quadrant")
	points := regexp.MustCompile(`(?s)<g class="series point"[^>]*>.*?</g>`).FindAllString(quad, -1)
	if len(points) != 3 {
		t.Fatalf("quadrant: %d bubbles, want the 3 paid channels", len(points))
	}
	for _, p := range points {
		ch := attr(p, "data-series")
		want := m.totals[ch]
		circle := regexp.MustCompile(`<circle[^>]*>`).FindString(p)
		x := invert(t, quad, "x", float(t, attr(circle, "cx")))
		y := invert(t, quad, "y", float(t, attr(circle, "cy")))
		cpl, roi := want.Spend/want.Leads, (want.Revenue-want.Spend)/want.Spend
		if math.Abs(x-cpl) > tolerance(t, quad, "x") || math.Abs(y-roi) > tolerance(t, quad, "y") {
			t.Errorf("quadrant %s drawn at (%.2f, %.3f), mart has (%.2f, %.3f)", ch, x, y, cpl, roi)
		}
		if !near(float(t, attr(p, "data-size")), want.Spend) {
			t.Errorf("quadrant %s: size %s, spend %.2f", ch, attr(p, "data-size"), want.Spend)
		}
	}

	// Cost per lead bars: width over the published scale is the value.
	bars := chart(t, dom, "chart-cpl")
	scale := float(t, attr(bars, "data-scale"))
	for _, r := range regexp.MustCompile(`<rect[^>]*data-category[^>]*>`).FindAllString(bars, -1) {
		ch := attr(r, "data-category")
		want := m.totals[ch].Spend / m.totals[ch].Leads
		if got := float(t, attr(r, "width")) / scale; math.Abs(got-want) > 0.011/scale {
			t.Errorf("cost per lead bar %s is %.2f long, mart %.2f", ch, got, want)
		}
	}

	// Trends: every point of the paid channels' lines is the month's value.
	for id, value := range map[string]func(report.ChannelRow) float64{
		"chart-trend-leads":   func(r report.ChannelRow) float64 { return r.Leads },
		"chart-trend-sqls":    func(r report.ChannelRow) float64 { return r.SQLs },
		"chart-trend-revenue": func(r report.ChannelRow) float64 { return r.Revenue },
		"chart-trend-cpl":     func(r report.ChannelRow) float64 { return r.Spend / r.Leads },
	} {
		svg := chart(t, dom, id)
		checked := 0
		for _, g := range regexp.MustCompile(`(?s)<g class="series"[^>]*>.*?</g>`).FindAllString(svg, -1) {
			ch := attr(g, "data-series")
			if _, paid := m.totals[ch]; !paid || m.totals[ch].Spend == 0 {
				continue
			}
			for _, c := range regexp.MustCompile(`<circle[^>]*>`).FindAllString(g, -1) {
				month, err := time.Parse("Jan 06", attr(c, "data-month"))
				if err != nil {
					t.Fatal(err)
				}
				want := value(m.months[month.Format("2006-01")+"/"+ch])
				got := float(t, attr(c, "data-value"))
				drawn := invert(t, svg, "y", float(t, attr(c, "cy")))
				if !near(got, want) || math.Abs(drawn-want) > tolerance(t, svg, "y") {
					t.Errorf("%s %s %s: value %v drawn at %.2f, mart %.2f", id, ch, attr(c, "data-month"), got, drawn, want)
				}
				checked++
			}
		}
		if checked < 9 {
			t.Errorf("%s: checked %d points of the paid channels, want at least 9", id, checked)
		}
	}
	if n := strings.Count(string(dom), `class="partial-point"`); n < 3 {
		t.Errorf("the incomplete month is marked on %d points", n)
	}

	// Model agreement: each cell is the channel's share of the model's
	// won revenue.
	heat := chart(t, dom, "chart-models")
	for _, g := range regexp.MustCompile(`(?s)<g class="series"[^>]*>.*?</g>`).FindAllString(heat, -1) {
		model := attr(g, "data-series")
		for _, r := range regexp.MustCompile(`<rect[^>]*>`).FindAllString(g, -1) {
			if want, got := m.share[model+"/"+attr(r, "data-row")], float(t, attr(r, "data-value")); !near(got, want) {
				t.Errorf("model agreement %s %s: %v, mart %v", model, attr(r, "data-row"), got, want)
			}
		}
	}

	// Every number in the headline is printed in a table on the page.
	cells := map[string]bool{}
	for _, c := range regexp.MustCompile(`<td>([^<]*)</td>`).FindAllStringSubmatch(string(dom), -1) {
		cells[html.UnescapeString(c[1])] = true
	}
	lines := regexp.MustCompile(`<li data-headline="">([^<]*)</li>`).FindAllStringSubmatch(string(dom), -1)
	if len(lines) < 3 {
		t.Fatalf("headline has %d sentences", len(lines))
	}
	for _, l := range lines {
		for _, n := range regexp.MustCompile(`-?[\d,]+(?:\.\d+)?(?: USD|%)`).FindAllString(html.UnescapeString(l[1]), -1) {
			if !cells[n] {
				t.Errorf("headline number %q (in %q) is in no table", n, l[1])
			}
		}
	}

	for _, shot := range []struct {
		name string
		size string
	}{{"report-1400.png", "1400,4200"}, {"report-420.png", "420,2400"}} {
		path := filepath.Join(dir, shot.name)
		cmd := exec.CommandContext(ctx, bin, append(base, "--screenshot="+path, "--window-size="+shot.size, "file://"+page)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, out)
		}
		if keep := os.Getenv("SAM_KEEP_SCREENSHOT_DIR"); keep != "" {
			data, _ := os.ReadFile(path)
			_ = os.WriteFile(filepath.Join(keep, shot.name), data, 0o644)
		}
	}
}

func TestSampleReportJSONAndMonths(t *testing.T) {
	w := sample(t)
	read := func(args ...string) report.Export {
		t.Helper()
		out := w.MustRun(append([]string{"report", "--format", "json", "--out", "-"}, args...)...)
		var e report.Export
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("sam report --format json: %v\n%s", err, samtest.Tail(out, 500))
		}
		return e
	}
	dataset := func(e report.Export, id string) report.Dataset {
		for _, d := range e.Charts {
			if d.ID == id {
				return d
			}
		}
		t.Fatalf("no %s in the JSON", id)
		return report.Dataset{}
	}
	check := func(e report.Export, m marts) {
		t.Helper()
		my := dataset(e, "myopia")
		if len(my.Rows) != 3 {
			t.Fatalf("myopia: %d rows", len(my.Rows))
		}
		for _, r := range my.Rows {
			ch := r[0].(string)
			want := m.totals[ch]
			if !near(r[1].(float64), want.Spend) || !near(r[2].(float64), want.Leads) || !near(r[6].(float64), want.Revenue) {
				t.Errorf("%s: JSON %v, mart %+v", ch, r, want)
			}
		}
	}
	all := read()
	if len(all.Headline) < 3 || !strings.HasPrefix(all.Headline[0], "By cost per lead, Paid Social looks best") {
		t.Errorf("JSON headline: %q", all.Headline)
	}
	db := w.Open()
	m := readMarts(t, db, "true")
	months := samtest.QueryStrings(t, db, `select distinct strftime(month, '%Y-%m') from channel_performance order by 1`)
	if len(months) < 3 {
		t.Fatalf("months: %v", months)
	}
	from, to := months[1], months[len(months)-2]
	inRange := readMarts(t, db, fmt.Sprintf("strftime(month, '%%Y-%%m') between '%s' and '%s'", from, to))
	db.Close()
	check(all, m)

	part := read("--from", from, "--to", to+"-15")
	check(part, inRange)
	trends := dataset(part, "trends")
	seen := map[string]bool{}
	for _, r := range trends.Rows {
		month, _ := time.Parse("Jan 06", r[0].(string))
		seen[month.Format("2006-01")] = true
		if r[2] != "yes" {
			t.Errorf("month %v of a closed range marked incomplete", r[0])
		}
	}
	if len(seen) != len(months)-2 || !seen[from] || !seen[to] {
		t.Errorf("--from %s --to %s shows months %v", from, to, seen)
	}
	if strings.Contains(part.Period, months[0][:4]) && !strings.Contains(part.Period, "–") {
		t.Errorf("period %q", part.Period)
	}

	if _, errOut, err := w.Run("report", "--from", "2026-13"); err == nil || !strings.Contains(errOut, "--from") {
		t.Errorf("a bad --from must fail naming the flag: %v %s", err, errOut)
	}
	var csv bytes.Buffer
	csv.WriteString(w.MustRun("report", "--format", "csv", "--out", "-"))
	if !strings.Contains(csv.String(), "myopia,") || !strings.Contains(csv.String(), "cost per lead (USD)") {
		t.Errorf("csv:\n%s", samtest.Tail(csv.String(), 400))
	}
}
