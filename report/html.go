package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
)

// Options adjusts the report.
type Options struct {
	// FocusModel is the attribution model of the headline charts
	// (default last_non_direct).
	FocusModel string
}

type section struct {
	ID, Title, Lead string
	Chart           template.HTML
	Side            template.HTML
	Table           table
}

type table struct {
	Head []string
	Rows [][]string
}

type page struct {
	Data     *Data
	Model    string
	Sections []section
}

// Render writes the report as one self-contained HTML document.
func Render(w io.Writer, d *Data, opts Options) error {
	model := opts.FocusModel
	if model == "" {
		model = "last_non_direct"
	}
	if len(d.ForModel(model)) == 0 && len(d.Models()) > 0 {
		model = d.Models()[0]
	}
	money := func(v float64) string { return formatMoney(v, d.ReportingCurrency) }
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }

	focus := d.ForModel(model)
	var paid []ChannelRow
	for _, r := range focus {
		if r.Spend > 0 {
			paid = append(paid, r)
		}
	}
	sort.SliceStable(paid, func(i, j int) bool { return paid[i].CostPerLead() < paid[j].CostPerLead() })

	p := page{Data: d, Model: model}

	// 1. The picture of KPI myopia: the cheapest leads are not the best return.
	var cats []string
	var cpl, roi []float64
	myopia := table{Head: []string{"channel", "spend", "leads", "cost per lead", "won revenue", "ROI"}}
	for _, r := range paid {
		cats = append(cats, r.Channel)
		cpl = append(cpl, r.CostPerLead())
		v, _ := r.ROI()
		roi = append(roi, v)
		myopia.Rows = append(myopia.Rows, []string{r.Channel, money(r.Spend), count(r.Leads), money(r.CostPerLead()), money(r.Revenue), pct(v)})
	}
	p.Sections = append(p.Sections, section{
		ID: "myopia", Title: "Cost per lead vs return on ad spend",
		Lead:  "Channels sorted by cost per lead, cheapest first. The cheapest leads are not the ones that pay back.",
		Chart: BarChart{ID: "chart-cpl", Title: "Cost per lead", Categories: cats, Series: []Series{{Name: "cost per lead", Values: cpl}}, Format: money}.SVG(),
		Side:  BarChart{ID: "chart-roi", Title: "ROI (" + model + ")", Categories: cats, Series: []Series{{Name: "ROI", Values: roi}}, Format: pct}.SVG(),
		Table: myopia,
	})

	// 2. Revenue by channel under each attribution model.
	channels := channelOrder(d, model)
	models := d.Models()
	var series []Series
	revTable := table{Head: append([]string{"channel"}, models...)}
	byKey := map[string]ChannelRow{}
	for _, r := range d.Channels {
		byKey[r.Model+"\x00"+r.Channel] = r
	}
	for _, m := range models {
		s := Series{Name: m}
		for _, c := range channels {
			s.Values = append(s.Values, byKey[m+"\x00"+c].Revenue)
		}
		series = append(series, s)
	}
	for _, c := range channels {
		row := []string{c}
		for _, m := range models {
			row = append(row, money(byKey[m+"\x00"+c].Revenue))
		}
		revTable.Rows = append(revTable.Rows, row)
	}
	p.Sections = append(p.Sections, section{
		ID: "models", Title: "Won revenue by channel under each attribution model",
		Lead:  "Every model splits the same revenue; where they agree, the answer does not depend on the model.",
		Chart: BarChart{ID: "chart-models", Title: "Won revenue", Categories: channels, Series: series, Format: money}.SVG(),
		Table: revTable,
	})

	// 3. Funnel per channel.
	funnel := []Series{{Name: "leads"}, {Name: "MQLs"}, {Name: "SQLs"}, {Name: "won"}}
	funnelTable := table{Head: []string{"channel", "leads", "MQLs", "SQLs", "opportunities", "won", "lead → won"}}
	for _, c := range channels {
		r := byKey[model+"\x00"+c]
		for i, v := range []float64{r.Leads, r.MQLs, r.SQLs, r.Won} {
			funnel[i].Values = append(funnel[i].Values, v)
		}
		funnelTable.Rows = append(funnelTable.Rows, []string{c, count(r.Leads), count(r.MQLs), count(r.SQLs), count(r.Opportunities), count(r.Won), pct(ratio(r.Won, r.Leads))})
	}
	p.Sections = append(p.Sections, section{
		ID: "funnel", Title: "Funnel per channel (" + model + ")",
		Lead:  "Leads that become marketing- and sales-qualified, and deals won.",
		Chart: BarChart{ID: "chart-funnel", Title: "Funnel", Categories: channels, Series: funnel, Format: count}.SVG(),
		Table: funnelTable,
	})

	// 4. Spam rate.
	spam := Series{Name: "spam rate"}
	spamTable := table{Head: []string{"channel", "leads", "spam or bot leads", "spam rate"}}
	for _, c := range channels {
		r := byKey[model+"\x00"+c]
		spam.Values = append(spam.Values, r.SpamRate())
		spamTable.Rows = append(spamTable.Rows, []string{c, count(r.Leads), count(r.SpamLeads), pct(r.SpamRate())})
	}
	p.Sections = append(p.Sections, section{
		ID: "spam", Title: "Spam and bot leads by channel",
		Lead:  "Leads flagged from CRM disqualification reasons and GA signals (no engaged session, form sent seconds after landing).",
		Chart: BarChart{ID: "chart-spam", Title: "Spam rate", Categories: channels, Series: []Series{spam}, Format: pct}.SVG(),
		Table: spamTable,
	})

	// 5. Time to revenue.
	hm, cohortTable := cohortHeatmap(d, money)
	p.Sections = append(p.Sections, section{
		ID: "cohorts", Title: "Time to revenue by lead cohort",
		Lead:  "Won revenue by the month a lead arrived (rows) and how many months later it closed (columns): revenue arrives long after the form fill.",
		Chart: hm.SVG(), Table: cohortTable,
	})
	if sec, ok := coverageSection(d, money, count, pct); ok {
		p.Sections = append(p.Sections, sec)
	}
	if sec, ok := calibrationSection(d, money); ok {
		p.Sections = append(p.Sections, sec)
	}
	return pageTemplate.Execute(w, p)
}

// coverageSection: how much lead-quality and revenue signal reached each
// bidding algorithm, and why the rest did not.
func coverageSection(d *Data, money, count, pct func(float64) string) (section, bool) {
	if len(d.Coverage) == 0 {
		return section{}, false
	}
	type agg struct {
		events, reached, wonValue, wonReached float64
		missed                                map[string]float64
	}
	byDest := map[string]*agg{}
	var dests []string
	for _, r := range d.Coverage {
		a := byDest[r.Destination]
		if a == nil {
			a = &agg{missed: map[string]float64{}}
			byDest[r.Destination] = a
			dests = append(dests, r.Destination)
		}
		a.events += r.Events
		if r.Stage == "won" {
			a.wonValue += r.Value
		}
		if r.Reached() {
			a.reached += r.Events
			if r.Stage == "won" {
				a.wonReached += r.Value
			}
		} else {
			a.missed[r.Status] += r.Events
		}
	}
	sort.Strings(dests)
	reached, missed := Series{Name: "reached"}, Series{Name: "did not reach"}
	t := table{Head: []string{"destination", "stage events", "reached", "share", "won revenue reached", "why the rest did not"}}
	for _, dest := range dests {
		a := byDest[dest]
		reached.Values = append(reached.Values, a.reached)
		missed.Values = append(missed.Values, a.events-a.reached)
		var why []string
		for st, n := range a.missed {
			why = append(why, fmt.Sprintf("%s %s", strings.ReplaceAll(st, "_", " "), count(n)))
		}
		sort.Strings(why)
		t.Rows = append(t.Rows, []string{dest, count(a.events), count(a.reached), pct(ratio(a.reached, a.events)),
			money(a.wonReached) + " of " + money(a.wonValue), strings.Join(why, ", ")})
	}
	return section{
		ID: "activation", Title: "What reached the bidding algorithms",
		Lead: "Lead-stage events (with predicted value) and won revenue delivered to each platform, and why the rest did not: " +
			"outside the platform's window, no identifier it can match, no ads consent, or the destination not configured.",
		Chart: BarChart{ID: "chart-activation", Title: "Stage events", Categories: dests, Series: []Series{reached, missed}, Format: count}.SVG(),
		Table: t,
	}, true
}

// calibrationSection: the predicted values sent early, back-tested against
// what the same leads went on to win.
func calibrationSection(d *Data, money func(float64) string) (section, bool) {
	var rows []CalibrationRow
	for _, r := range d.Calibration {
		if r.Stage == "sql" {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return section{}, false
	}
	var cats []string
	pred, real := Series{Name: "predicted"}, Series{Name: "won"}
	t := table{Head: []string{"channel", "SQL leads", "predicted value", "won revenue", "predicted / won"}}
	for _, r := range rows {
		cats = append(cats, r.Channel)
		pred.Values = append(pred.Values, r.Predicted)
		real.Values = append(real.Values, r.Realised)
		ratioText := "-"
		if r.Realised > 0 {
			ratioText = fmt.Sprintf("%.2f", r.Predicted/r.Realised)
		}
		t.Rows = append(t.Rows, []string{r.Channel, fmt.Sprintf("%.0f", r.Leads), money(r.Predicted), money(r.Realised), ratioText})
	}
	return section{
		ID: "calibration", Title: "Predicted value at SQL vs revenue won (back-test)",
		Lead: "Each month's SQLs valued by a model fitted without that month, against what they went on to win. " +
			"Close to 1 means the value sent to the platforms before deals close is honest.",
		Chart: BarChart{ID: "chart-calibration", Title: "Predicted vs won", Categories: cats, Series: []Series{pred, real}, Format: money}.SVG(),
		Table: t,
	}, true
}

func channelOrder(d *Data, model string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.ForModel(model) {
		out = append(out, r.Channel)
		seen[r.Channel] = true
	}
	var rest []string
	for _, r := range d.Channels {
		if !seen[r.Channel] {
			seen[r.Channel] = true
			rest = append(rest, r.Channel)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func cohortHeatmap(d *Data, money func(float64) string) (Heatmap, table) {
	months := map[string]map[int]float64{}
	maxLag := 0
	for _, c := range d.Cohorts {
		k := c.LeadMonth.Format("2006-01")
		if months[k] == nil {
			months[k] = map[int]float64{}
		}
		months[k][c.MonthsToRevenue] += c.Revenue
		if c.MonthsToRevenue > maxLag {
			maxLag = c.MonthsToRevenue
		}
	}
	var rows []string
	for k := range months {
		rows = append(rows, k)
	}
	sort.Strings(rows)
	var cols []string
	for i := 0; i <= maxLag; i++ {
		cols = append(cols, fmt.Sprintf("+%d mo", i))
	}
	t := table{Head: append([]string{"lead month"}, cols...)}
	values := make([][]float64, len(rows))
	for i, r := range rows {
		values[i] = make([]float64, len(cols))
		tr := []string{r}
		for j := range cols {
			values[i][j] = months[r][j]
			tr = append(tr, money(months[r][j]))
		}
		t.Rows = append(t.Rows, tr)
	}
	if len(rows) == 0 {
		cols = nil
	}
	return Heatmap{ID: "chart-cohorts", Title: "Won revenue by cohort", Rows: rows, Columns: cols, Values: values, Format: money}, t
}

var pageTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SAM — revenue by channel</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d1dc}
main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:18px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{margin:0 0 4px;font-size:17px}
section p.lead{margin:0 0 12px;color:#4a5566}
.charts{display:flex;flex-wrap:wrap;gap:24px}
svg.chart{max-width:100%;height:auto}
svg .chart-title{font-weight:600;font-size:13px}
svg .cat,svg .val,svg .legend{font-size:11px;fill:#333}
table{border-collapse:collapse;margin-top:12px;font-size:12.5px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f2f5}
footer{color:#6b7686;font-size:12px;padding:0 32px 24px}
</style>
</head>
<body>
<header>
<h1>Revenue by channel, not form fills</h1>
<p>Headline model: <strong>{{.Model}}</strong> · amounts in {{.Data.ReportingCurrency}} · engine {{.Data.Engine}} · generated {{.Data.GeneratedAt.Format "2006-01-02 15:04 UTC"}}</p>
</header>
<main>
{{range .Sections}}<section id="{{.ID}}">
<h2>{{.Title}}</h2>
<p class="lead">{{.Lead}}</p>
<div class="charts">{{.Chart}}{{if .Side}}{{.Side}}{{end}}</div>
<table>
<thead><tr>{{range .Table.Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Table.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody>
</table>
</section>
{{end}}</main>
<footer>SAM · Systematic Attribution Marketing. This file is self-contained: it fetches nothing and works offline.</footer>
</body>
</html>
`))
