package report

import (
	"fmt"
	"html/template"
	"math"
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
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f">`,
		esc(c.ID), width, height, width, height)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
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
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %s</title></rect>`,
				x, y, math.Max(w, 0.5), barH-2, esc(c.Categories[i]), esc(s.Name), esc(format(v)))
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
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f">`,
		esc(h.ID), width, height, width, height)
	fmt.Fprintf(&b, `<title>%s</title><text x="0" y="18" class="chart-title">%s</text>`, esc(h.Title), esc(h.Title))
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
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="#009E73" fill-opacity="%.2f"><title>%s +%s: %s</title></rect>`,
				labelW+float64(j)*cellW+1, y+1, cellW-2, cellH-2, alpha, esc(r), esc(h.Columns[j]), esc(h.Format(v)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
