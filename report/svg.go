package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// Series is one named set of values, one per category.
type Series struct {
	Name   string
	Values []float64
}

// BarChart is a horizontal grouped bar chart.
type BarChart struct {
	ID         string
	Title      string
	Categories []string
	Series     []Series
	Format     func(float64) string
}

// palette is colour-blind safe (Okabe–Ito order).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"}

func esc(s string) string { return template.HTMLEscapeString(s) }

// SVG renders the chart. Every series is a <g class="series"> so a browser
// test can count what was drawn.
func (c BarChart) SVG() template.HTML {
	const (
		labelW = 120.0
		plotW  = 300.0
		valueW = 90.0
		barH   = 14.0
		gap    = 10.0
		top    = 34.0
	)
	n := len(c.Series)
	if n == 0 || len(c.Categories) == 0 {
		return template.HTML(`<p class="empty">No data.</p>`)
	}
	groupH := float64(n)*barH + gap
	legendH := 22.0
	height := top + float64(len(c.Categories))*groupH + legendH
	width := labelW + plotW + valueW

	lo, hi := 0.0, 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	scale := plotW / (hi - lo)
	zeroX := labelW + (-lo)*scale
	format := c.Format
	if format == nil {
		format = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %.0f %.0f" width="%.0f" data-zero="%.2f" data-scale="%g">`,
		esc(c.ID), esc(c.ID), width, height, width, zeroX, scale)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, esc(c.ID), esc(c.Title))
	fmt.Fprintf(&b, `<text x="0" y="18" class="chart-title">%s</text>`, esc(c.Title))
	for i, cat := range c.Categories {
		y := top + float64(i)*groupH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="cat" text-anchor="end">%s</text>`, labelW-8, y+float64(n)*barH/2+4, esc(cat))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#888"/>`, zeroX, zeroX, top-4, height-legendH)
	for si, s := range c.Series {
		colour := palette[si%len(palette)]
		fmt.Fprintf(&b, `<g class="series" data-series="%s" fill="%s">`, esc(s.Name), colour)
		for i, v := range s.Values {
			if i >= len(c.Categories) || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			y := top + float64(i)*groupH + float64(si)*barH
			x, w := zeroX, v*scale
			if w < 0 {
				x, w = zeroX+w, -w
			}
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" data-category="%s" data-value="%s"><title>%s · %s: %s</title></rect>`,
				x, y, math.Max(w, 0.5), barH-2, esc(c.Categories[i]), num(v), esc(c.Categories[i]), esc(s.Name), esc(format(v)))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="val">%s</text>`, labelW+plotW+4, y+barH-4, esc(format(v)))
		}
		b.WriteString(`</g>`)
	}
	lx := labelW
	for si, s := range c.Series {
		colour := palette[si%len(palette)]
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="legend">%s</text>`,
			lx, height-14, colour, lx+14, height-5, esc(s.Name))
		lx += 24 + float64(len(s.Name))*6.5
		if lx > width-60 {
			break
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Heatmap draws cohort revenue: rows are lead months, columns months to
// revenue. Each row is one series.
type Heatmap struct {
	ID      string
	Title   string
	Rows    []string
	Columns []string
	Values  [][]float64
	Format  func(float64) string
}

// SVG renders the heatmap.
func (h Heatmap) SVG() template.HTML {
	if len(h.Rows) == 0 || len(h.Columns) == 0 {
		return template.HTML(`<p class="empty">No revenue yet.</p>`)
	}
	const labelW, cellW, cellH, top = 90.0, 64.0, 24.0, 46.0
	width := labelW + float64(len(h.Columns))*cellW
	height := top + float64(len(h.Rows))*cellH
	max := 0.0
	for _, r := range h.Values {
		for _, v := range r {
			max = math.Max(max, v)
		}
	}
	if max == 0 {
		max = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %.0f %.0f" width="%.0f">`,
		esc(h.ID), esc(h.ID), width, height, width)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><text x="0" y="18" class="chart-title">%s</text>`, esc(h.ID), esc(h.Title), esc(h.Title))
	for j, c := range h.Columns {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="cat" text-anchor="middle">%s</text>`, labelW+float64(j)*cellW+cellW/2, top-8, esc(c))
	}
	for i, r := range h.Rows {
		y := top + float64(i)*cellH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="cat" text-anchor="end">%s</text>`, labelW-8, y+cellH/2+4, esc(r))
		fmt.Fprintf(&b, `<g class="series" data-series="%s">`, esc(r))
		for j := range h.Columns {
			v := 0.0
			if j < len(h.Values[i]) {
				v = h.Values[i][j]
			}
			alpha := 0.08 + 0.92*v/max
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="#009E73" fill-opacity="%.2f" data-column="%s" data-value="%s"><title>%s %s: %s</title></rect>`,
				labelW+float64(j)*cellW+1, y+1, cellW-2, cellH-2, alpha, esc(h.Columns[j]), num(v), esc(r), esc(h.Columns[j]), esc(h.Format(v)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// channelPalette gives each channel one colour on every chart (Okabe–Ito,
// with the yellow, too light for lines on white, replaced by grey).
var channelPalette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999"}

func num(v float64) string { return fmt.Sprintf("%g", v) }

// linear maps a domain onto a pixel range.
type linear struct{ d0, d1, r0, r1 float64 }

func (s linear) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + (v-s.d0)/(s.d1-s.d0)*(s.r1-s.r0)
}

// attrs publishes the scale on the SVG so a test can read plotted values
// back from pixel positions.
func (s linear) attrs(axis string) string {
	return fmt.Sprintf(` data-%s-domain="%s %s" data-%s-range="%.2f %.2f"`, axis, num(s.d0), num(s.d1), axis, s.r0, s.r1)
}

// niceRange widens lo..hi a little and always includes zero.
func niceRange(lo, hi float64) (float64, float64) {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if hi == lo {
		return lo, lo + 1
	}
	pad := (hi - lo) * 0.08
	if lo < 0 {
		lo -= pad
	}
	return lo, hi + pad
}

// Point is one labelled bubble.
type Point struct {
	Label   string
	X, Y, R float64
	Colour  string
}

// Scatter is the myopia quadrant: a bubble per channel, split by a
// vertical reference (average cost) and the horizontal zero line (break
// even).
type Scatter struct {
	ID, Title, XLabel, YLabel string
	Points                    []Point
	XRef                      float64
	FormatX, FormatY          func(float64) string
	// Quadrants names the corners: top-left, top-right, bottom-left,
	// bottom-right.
	Quadrants [4]string
}

// SVG renders the scatter.
func (c Scatter) SVG() template.HTML {
	if len(c.Points) == 0 {
		return template.HTML(`<p class="empty">No paid channel with leads.</p>`)
	}
	const width, height, left, right, top, bottom, maxR = 640.0, 400.0, 92.0, 20.0, 30.0, 44.0, 34.0
	xlo, xhi, ylo, yhi, rmax := 0.0, 0.0, 0.0, 0.0, 0.0
	for _, p := range c.Points {
		xhi, ylo, yhi, rmax = math.Max(xhi, p.X), math.Min(ylo, p.Y), math.Max(yhi, p.Y), math.Max(rmax, p.R)
	}
	xlo, xhi = niceRange(xlo, xhi)
	ylo, yhi = niceRange(ylo, yhi)
	xs := linear{xlo, xhi, left + maxR, width - right - maxR}
	ys := linear{ylo, yhi, height - bottom - maxR/2, top + maxR/2}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart wide" role="img" aria-labelledby="%s-t" viewBox="0 0 %.0f %.0f"%s%s>`,
		esc(c.ID), esc(c.ID), width, height, xs.attrs("x"), ys.attrs("y"))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, esc(c.ID), esc(c.Title))
	x0, x1, y0, y1 := left, width-right, top, height-bottom
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="#fafbfc" stroke="#d5d9df"/>`, x0, y0, x1-x0, y1-y0)
	zy, rx := ys.at(0), xs.at(c.XRef)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="ref"/>`, x0, x1, zy, zy)
	if c.XRef > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="ref"/>`, rx, rx, y0, y1)
	}
	corner := []struct {
		x, y   float64
		anchor string
	}{{x0 + 6, y0 + 14, "start"}, {x1 - 6, y0 + 14, "end"}, {x0 + 6, y1 - 6, "start"}, {x1 - 6, y1 - 6, "end"}}
	for i, q := range c.Quadrants {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="%s" class="quad">%s</text>`, corner[i].x, corner[i].y, corner[i].anchor, esc(q))
	}
	for _, v := range []float64{0, yhi} {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" class="tick">%s</text>`, x0-6, ys.at(v)+4, esc(c.FormatY(v)))
	}
	for _, v := range []float64{0, c.XRef, xhi} {
		if v == c.XRef && v <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" class="tick">%s</text>`, xs.at(v), y1+16, esc(c.FormatX(v)))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" class="axis">%s</text>`, (x0+x1)/2, height-6, esc(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(14 %.0f) rotate(-90)" text-anchor="middle" class="axis">%s</text>`, (y0+y1)/2, esc(c.YLabel))
	// Largest first, so small bubbles stay on top.
	pts := append([]Point(nil), c.Points...)
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].R > pts[j].R })
	for _, p := range pts {
		r := 6.0
		if rmax > 0 {
			r = math.Max(6, maxR*math.Sqrt(p.R/rmax))
		}
		cx, cy := xs.at(p.X), ys.at(p.Y)
		fmt.Fprintf(&b, `<g class="series point" data-series="%s" data-x="%s" data-y="%s" data-size="%s">`, esc(p.Label), num(p.X), num(p.Y), num(p.R))
		fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="%.1f" fill="%s" fill-opacity="0.55" stroke="%s" stroke-width="1.5"><title>%s: %s, %s</title></circle>`,
			cx, cy, r, p.Colour, p.Colour, esc(p.Label), esc(c.FormatX(p.X)), esc(c.FormatY(p.Y)))
		anchor, lx := "start", cx+r+4
		if cx > (x0+x1)*0.6 {
			anchor, lx = "end", cx-r-4
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" class="label">%s</text></g>`, lx, cy+4, anchor, esc(p.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Line is one channel's values over the chart's months; NaN is no value.
type Line struct {
	Name   string
	Values []float64
	Colour string
}

// LineChart draws values per month; the month at Partial (if ≥ 0) is
// incomplete and drawn hollow, joined by a dashed segment.
type LineChart struct {
	ID, Title string
	Months    []string
	Lines     []Line
	Partial   int
	Format    func(float64) string
	// Tick formats the axis labels (default Format).
	Tick func(float64) string
}

// SVG renders the line chart.
func (c LineChart) SVG() template.HTML {
	if len(c.Months) == 0 || len(c.Lines) == 0 {
		return template.HTML(`<p class="empty">No monthly data.</p>`)
	}
	const width, height, left, right, top, bottom = 300.0, 210.0, 62.0, 10.0, 30.0, 28.0
	lo, hi := 0.0, 0.0
	for _, l := range c.Lines {
		for _, v := range l.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lo, hi = niceRange(lo, hi)
	tick := c.Tick
	if tick == nil {
		tick = c.Format
	}
	step := (width - left - right) / float64(max(len(c.Months), 1))
	xs := linear{0, float64(len(c.Months) - 1), left + step/2, width - right - step/2}
	ys := linear{lo, hi, height - bottom, top}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart small" role="img" aria-labelledby="%s-t" viewBox="0 0 %.0f %.0f"%s>`,
		esc(c.ID), esc(c.ID), width, height, ys.attrs("y"))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><text x="0" y="16" class="chart-title">%s</text>`, esc(c.ID), esc(c.Title), esc(c.Title))
	if c.Partial >= 0 && c.Partial < len(c.Months) {
		x := xs.at(float64(c.Partial)) - step/2
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" class="partial"/><text x="%.1f" y="%.0f" text-anchor="middle" class="tick">so far</text>`,
			x, top, step, height-bottom-top, x+step/2, top+10)
	}
	for _, v := range []float64{lo, hi} {
		if v == lo && lo == 0 {
			v = 0
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="grid"/><text x="%.0f" y="%.1f" text-anchor="end" class="tick">%s</text>`,
			left, width-right, ys.at(v), ys.at(v), left-4, ys.at(v)+4, esc(tick(v)))
	}
	if lo < 0 {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="ref"/>`, left, width-right, ys.at(0), ys.at(0))
	}
	for i, m := range c.Months {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" class="tick">%s</text>`, xs.at(float64(i)), height-10, esc(m))
	}
	for _, l := range c.Lines {
		fmt.Fprintf(&b, `<g class="series" data-series="%s" stroke="%s" fill="%s">`, esc(l.Name), l.Colour, l.Colour)
		var solid, dashed []string
		prev := -1
		for i, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				prev = -1
				continue
			}
			pt := fmt.Sprintf("%.2f,%.2f", xs.at(float64(i)), ys.at(v))
			if i == c.Partial {
				if prev >= 0 {
					dashed = append(dashed, fmt.Sprintf("%.2f,%.2f", xs.at(float64(prev)), ys.at(l.Values[prev])), pt)
				}
			} else {
				if prev < 0 && len(solid) > 0 {
					fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke-width="2"/>`, strings.Join(solid, " "))
					solid = nil
				}
				solid = append(solid, pt)
			}
			prev = i
		}
		if len(solid) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke-width="2"/>`, strings.Join(solid, " "))
		}
		if len(dashed) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke-width="2" stroke-dasharray="4 3"/>`, strings.Join(dashed, " "))
		}
		for i, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			fill := ""
			if i == c.Partial {
				fill = ` fill="#fff" class="partial-point"`
			}
			fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="3"%s data-month="%s" data-value="%s"><title>%s %s: %s</title></circle>`,
				xs.at(float64(i)), ys.at(v), fill, esc(c.Months[i]), num(v), esc(l.Name), esc(c.Months[i]), esc(c.Format(v)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// HeatTable is a small table of shares coloured by size: rows are
// channels, columns models, and each column is one series.
type HeatTable struct {
	ID, Title string
	Rows      []string
	Columns   []string
	Values    [][]float64 // [row][column], 0..1
}

// SVG renders the heat table.
func (h HeatTable) SVG() template.HTML {
	if len(h.Rows) == 0 || len(h.Columns) == 0 {
		return template.HTML(`<p class="empty">No won revenue.</p>`)
	}
	const labelW, cellW, cellH, top = 120.0, 92.0, 26.0, 44.0
	width := labelW + float64(len(h.Columns))*cellW
	height := top + float64(len(h.Rows))*cellH + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %.0f %.0f" width="%.0f">`,
		esc(h.ID), esc(h.ID), width, height, width)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><text x="0" y="16" class="chart-title">%s</text>`, esc(h.ID), esc(h.Title), esc(h.Title))
	for i, r := range h.Rows {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="cat" text-anchor="end">%s</text>`, labelW-8, top+float64(i)*cellH+cellH/2+4, esc(r))
	}
	for j, c := range h.Columns {
		x := labelW + float64(j)*cellW
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="cat" text-anchor="middle">%s</text>`, x+cellW/2, top-8, esc(strings.ReplaceAll(c, "_", " ")))
		fmt.Fprintf(&b, `<g class="series" data-series="%s">`, esc(c))
		for i, r := range h.Rows {
			v := 0.0
			if j < len(h.Values[i]) {
				v = h.Values[i][j]
			}
			y := top + float64(i)*cellH
			// Shares above 0.5 are rare; the scale saturates there so
			// small differences stay visible.
			alpha := 0.04 + 0.96*math.Min(v/0.5, 1)
			ink := "#1d2430"
			if alpha > 0.55 {
				ink = "#fff"
			}
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="#0072B2" fill-opacity="%.2f" data-row="%s" data-value="%s"><title>%s · %s: %s</title></rect>`,
				x+1, y+1, cellW-2, cellH-2, alpha, esc(r), num(v), esc(r), esc(c), esc(formatPct(v)))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" class="cell" fill="%s" stroke="none">%s</text>`, x+cellW/2, y+cellH/2+4, ink, esc(formatPct(v)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
