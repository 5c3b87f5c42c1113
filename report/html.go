package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"
)

// Options adjusts the report.
type Options struct {
	// FocusModel is the attribution model of the headline and the
	// per-channel charts (default last_non_direct).
	FocusModel string
}

// Render writes the report as one self-contained HTML document.
func Render(w io.Writer, d *Data, opts Options) error {
	return pageTemplate.Execute(w, build(d, opts))
}

// Export is what --format json writes: the headline and each section's
// data.
type Export struct {
	GeneratedAt time.Time `json:"generated_at"`
	Currency    string    `json:"currency"`
	Model       string    `json:"model"`
	Period      string    `json:"period"`
	DataThrough string    `json:"data_through,omitempty"`
	Headline    []string  `json:"headline"`
	// Caveats say what won revenue the channel figures leave out.
	Caveats []string  `json:"caveats"`
	Charts  []Dataset `json:"charts"`
}

// Build returns the headline and every section's data, as --format json
// writes them.
func Build(d *Data, opts Options) Export {
	v := build(d, opts)
	e := Export{GeneratedAt: d.GeneratedAt, Currency: d.ReportingCurrency, Model: v.Model, Period: v.Period, Headline: v.Headline}
	if e.Headline == nil {
		e.Headline = []string{}
	}
	e.Caveats = append([]string{}, d.Caveats()...)
	if !d.DataThrough.IsZero() {
		e.DataThrough = d.DataThrough.Format(time.DateOnly)
	}
	for _, s := range v.Sections {
		ds := s.Data
		for _, r := range ds.Rows {
			for j, c := range r {
				// JSON has no NaN or infinity.
				if x, ok := c.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
					r[j] = nil
				}
			}
		}
		if ds.Rows == nil {
			ds.Rows = [][]any{}
		}
		e.Charts = append(e.Charts, ds)
	}
	return e
}

// WriteJSON writes Build's result as indented JSON.
func WriteJSON(w io.Writer, d *Data, opts Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(d, opts))
}

// WriteCSV writes each section's data as a block for pasting into a
// spreadsheet: a line with the section id and title, the header, the rows,
// and an empty line. Numbers are plain (no grouping, no currency);
// percentages are percent with one decimal.
func WriteCSV(w io.Writer, d *Data, opts Options) error {
	e := Build(d, opts)
	cw := csv.NewWriter(w)
	for _, ds := range e.Charts {
		head := make([]string, len(ds.Columns))
		for i, c := range ds.Columns {
			head[i] = c.Name
			switch c.Kind {
			case KindPercent:
				head[i] += " (%)"
			case KindMoney, KindUnit:
				head[i] += " (" + e.Currency + ")"
			}
		}
		records := [][]string{{ds.ID, ds.Title}, head}
		for _, r := range ds.Rows {
			rec := make([]string, len(r))
			for j, c := range r {
				rec[j] = csvCell(ds.Columns[j].Kind, c)
			}
			records = append(records, rec)
		}
		records = append(records, nil)
		if err := cw.WriteAll(records); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	return nil
}

func csvCell(k Kind, c any) string {
	x, ok := c.(float64)
	if !ok {
		if c == nil {
			return ""
		}
		return fmt.Sprint(c)
	}
	switch k {
	case KindPercent:
		return strconv.FormatFloat(x*100, 'f', 1, 64)
	case KindCount, KindMoney, KindUnit, KindRatio:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

var pageTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SAM — revenue by channel, {{.Period}}</title>
<style>
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f3f4f6}
header{background:#1d2430;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d1dc}
main{padding:16px 28px 32px;display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:18px;max-width:1800px}
section{background:#fff;border-radius:8px;padding:16px 20px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:0}
section.wide,#story{grid-column:1/-1}
section h2{margin:0 0 4px;font-size:17px}
p.lead{margin:0 0 12px;color:#4a5566;max-width:90ch}
#story{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:20px;align-items:start}
#story h2{font-size:20px}
#headline{margin:6px 0 0;padding-left:20px;font-size:16px}
#headline li{margin:0 0 8px}
.tiles{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:10px}
.tile{border:1px solid #e3e6ea;border-radius:6px;padding:10px 12px}
.tile b{display:block;font-size:22px}
.tile span,.tile small{color:#4a5566}
.charts{display:flex;flex-wrap:wrap;gap:16px 24px;align-items:flex-start}
#myopia .charts{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:8px 24px}
#myopia #chart-quadrant{grid-row:span 2}
#trends .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr))}
svg.chart{max-width:100%;height:auto}
svg.wide,svg.small{width:100%}
svg .chart-title{font-weight:600;font-size:13px}
svg .cat,svg .val,svg .legend,svg .tick{font-size:11px;fill:#333}
svg .label{font-size:13px;font-weight:600;fill:#1d2430}
svg .axis{font-size:12px;fill:#4a5566}
svg .quad{font-size:12px;fill:#8a94a3;font-style:italic}
svg .cell{font-size:12px}
svg .ref{stroke:#8a94a3;stroke-dasharray:5 4}
svg .grid{stroke:#e3e6ea}
svg .partial{fill:#eef0f3}
ul.legend{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;align-self:center;grid-column:1/-1}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.table{overflow-x:auto;margin-top:12px}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f0f2f5}
.alt{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
footer{color:#6b7686;font-size:12px;padding:0 28px 24px}
@media (max-width:900px){
main{grid-template-columns:minmax(0,1fr);padding:10px}
#story,#myopia .charts{grid-template-columns:minmax(0,1fr)}
#myopia #chart-quadrant{grid-row:auto}
header{padding:14px 12px}
section{padding:12px}
}
@media (max-width:600px){
/* the quadrant is drawn 640 wide; on a phone its text would shrink below reading size */
#chart-quadrant .label{font-size:22px}
#chart-quadrant .tick,#chart-quadrant .axis,#chart-quadrant .quad{font-size:18px}
}
@media print{
body{background:#fff;font-size:11px}
header{background:none;color:#000;padding:0 0 8px;border-bottom:2px solid #000}
header p{color:#333}
main{display:block;padding:0;max-width:none}
section{box-shadow:none;border:1px solid #ccc;margin:0 0 10px;break-inside:avoid}
section.wide{break-inside:auto}
.charts,table{break-inside:avoid}
.table{overflow:visible}
#trends .charts{grid-template-columns:repeat(3,minmax(0,1fr))}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
</style>
</head>
<body>
<header>
<h1>Revenue by channel, not form fills</h1>
<p>{{.Period}} · attribution model <strong>{{.Model}}</strong> · amounts in {{.Data.ReportingCurrency}}{{if not .Data.DataThrough.IsZero}} · data through {{.Data.DataThrough.Format "2 Jan 2006"}}{{end}} · engine {{.Data.Engine}} · generated {{.Data.GeneratedAt.Format "2006-01-02 15:04 UTC"}}</p>
</header>
<main>
<section id="story">
<div>
<h2>What the numbers say</h2>
{{if .Headline}}<ul id="headline">{{range .Headline}}<li data-headline>{{.}}</li>{{end}}</ul>
{{else}}<p class="lead" id="headline">No channel stands out: cost per lead and return rank the paid channels alike, and no channel's leads are mostly spam.</p>{{end}}
</div>
{{with .Data.Caveats}}<ul id="caveats">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="tiles">{{range .Tiles}}<div class="tile"><span>{{.Label}}</span><b>{{.Value}}</b>{{if .Note}}<small>{{.Note}}</small>{{end}}</div>{{end}}</div>
</section>
{{range .Sections}}<section id="{{.ID}}"{{if .Wide}} class="wide"{{end}}>
<h2>{{.Title}}</h2>
<p class="lead">{{.Lead}}</p>
<figure class="charts" aria-describedby="{{.ID}}-alt" style="margin:0">{{range .Charts}}{{.}}{{end}}</figure>
<p class="alt" id="{{.ID}}-alt">{{.Alt}}</p>
<div class="table"><table data-table="{{.Data.ID}}">
<caption class="alt">{{.Data.Title}}</caption>
<thead><tr>{{range .Data.Columns}}<th>{{.Name}}</th>{{end}}</tr></thead>
<tbody>{{range $.Cells .Data}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody>
</table></div>
</section>
{{end}}</main>
<footer>SAM · Systematic Attribution Marketing. This file is self-contained: it fetches nothing and works offline. <code>sam report --format json</code> or <code>csv</code> writes the numbers of every chart.</footer>
</body>
</html>
`))
