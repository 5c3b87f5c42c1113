package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind says how a column's values print.
type Kind string

const (
	KindText    Kind = "text"
	KindCount   Kind = "count"
	KindMoney   Kind = "money"
	KindUnit    Kind = "unit_cost"
	KindPercent Kind = "percent"
	KindRatio   Kind = "ratio"
)

// Column is one column of a chart's data.
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// Dataset is the numbers behind one section's charts: the table under
// them on the page, and what --format json|csv writes. Cells are strings,
// float64 or nil (no value); percentages are fractions.
type Dataset struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Charts  []string `json:"charts"`
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

type section struct {
	ID, Title, Lead string
	// Alt says in words what the charts show, for readers who cannot see
	// them.
	Alt    string
	Charts []template.HTML
	// Wide sections span the page; the others sit two abreast.
	Wide bool
	Data Dataset
}

// view is the report for one model and period, ready to render or export.
type view struct {
	Data     *Data
	Model    string
	Period   string
	Headline []string
	Tiles    []tile
	Sections []section
}

type tile struct{ Label, Value, Note string }

func (v *view) money(x float64) string { return formatMoney(x, v.Data.ReportingCurrency) }
func (v *view) unit(x float64) string  { return formatUnitCost(x, v.Data.ReportingCurrency) }

func (v *view) format(k Kind, c any) string {
	x, ok := c.(float64)
	if !ok {
		if c == nil {
			return "–"
		}
		return fmt.Sprint(c)
	}
	switch k {
	case KindCount:
		return formatCount(x)
	case KindMoney:
		return v.money(x)
	case KindUnit:
		return v.unit(x)
	case KindPercent:
		return formatPct(x)
	case KindRatio:
		return fmt.Sprintf("%.2f", x)
	}
	return num(x)
}

// Cells formats a dataset for the HTML table.
func (v *view) Cells(d Dataset) [][]string {
	out := make([][]string, len(d.Rows))
	for i, r := range d.Rows {
		for j, c := range r {
			out[i] = append(out[i], v.format(d.Columns[j].Kind, c))
		}
	}
	return out
}

func build(d *Data, opts Options) *view {
	model := opts.FocusModel
	if model == "" {
		model = "last_non_direct"
	}
	if len(d.ForModel(model)) == 0 && len(d.Models()) > 0 {
		model = d.Models()[0]
	}
	v := &view{Data: d, Model: model, Period: period(d), Headline: Headline(d, model)}
	v.tiles()
	v.Sections = append(v.Sections, v.myopia(), v.trends(), v.agreement(), v.funnel(), v.spam(), v.cohorts())
	if s, ok := v.coverage(); ok {
		v.Sections = append(v.Sections, s)
	}
	if s, ok := v.calibration(); ok {
		v.Sections = append(v.Sections, s)
	}
	if s, ok := v.accounts(); ok {
		v.Sections = append(v.Sections, s)
	}
	return v
}

func period(d *Data) string {
	months := d.MonthList()
	first, last := d.From, d.To
	if len(months) > 0 {
		if first.IsZero() || months[0].After(first) {
			first = months[0]
		}
		if last.IsZero() || months[len(months)-1].Before(last) {
			last = months[len(months)-1]
		}
	}
	if first.IsZero() || last.IsZero() {
		return "all months"
	}
	s := first.Format("Jan 2006")
	if !last.Equal(first) {
		s += " – " + last.Format("Jan 2006")
	}
	if d.Incomplete(last) && !d.DataThrough.IsZero() {
		s += fmt.Sprintf(" (to %s)", d.DataThrough.Format("2 Jan"))
	}
	return s
}

func (v *view) tiles() {
	var spend, leads, won, revenue, spam float64
	for _, r := range v.Data.ForModel(v.Model) {
		spend += r.Spend
		leads += r.Leads
		won += r.Won
		revenue += r.Revenue
		spam += r.SpamLeads
	}
	v.Tiles = []tile{
		{"ad spend", v.money(spend), ""},
		{"leads", formatCount(leads), formatPct(ratio(spam, leads)) + " spam or bots"},
		{"won deals", formatCount(won), v.money(revenue) + " revenue"},
	}
	if spend > 0 {
		v.Tiles = append(v.Tiles, tile{"won revenue per " + v.Data.ReportingCurrency + " of ad spend", fmt.Sprintf("%.2f", revenue/spend), "all channels, paid and unpaid"})
	}
}

// paid is the focus model's channels with spend, cheapest lead first.
func (v *view) paid() []ChannelRow {
	var paid []ChannelRow
	for _, r := range v.Data.ForModel(v.Model) {
		if r.Spend > 0 {
			paid = append(paid, r)
		}
	}
	// cheapest leads first; channels that brought none last
	sort.SliceStable(paid, func(i, j int) bool {
		ci, iok := paid[i].CostPerLead()
		cj, jok := paid[j].CostPerLead()
		if iok != jok {
			return iok
		}
		return ci < cj
	})
	return paid
}

// colours gives the paid channels the first, most distinct colours.
func colours(d *Data, model string) map[string]string {
	var order []string
	for _, r := range d.ForModel(model) {
		if r.Spend > 0 {
			order = append(order, r.Channel)
		}
	}
	for _, c := range channelOrder(d, model) {
		if !slices.Contains(order, c) {
			order = append(order, c)
		}
	}
	out := map[string]string{}
	for i, c := range order {
		out[c] = channelPalette[i%len(channelPalette)]
	}
	out[otherChannels] = "#999999"
	return out
}

const otherChannels = "Other channels"

func optional(x float64, ok bool) any {
	if !ok {
		return nil
	}
	return x
}

func (v *view) myopia() section {
	paid := v.paid()
	col := colours(v.Data, v.Model)
	ds := Dataset{ID: "myopia", Title: "Cost per lead against return, paid channels (" + v.Model + ")",
		Charts: []string{"chart-quadrant", "chart-cpl", "chart-roi"},
		Columns: []Column{{"channel", KindText}, {"spend", KindMoney}, {"leads", KindCount}, {"cost per lead", KindUnit},
			{"won deals", KindCount}, {"cost per won deal", KindUnit}, {"won revenue", KindMoney}, {"ROI", KindPercent}}}
	var pts []Point
	var cats, cplCats, alt []string
	var cpls, rois []float64
	var spend, leads float64
	for _, r := range paid {
		roiV, _ := r.ROI()
		cw, ok := r.CostPerWon()
		c, hasLeads := r.CostPerLead()
		ds.Rows = append(ds.Rows, []any{r.Channel, r.Spend, r.Leads, optional(c, hasLeads), r.Won, optional(cw, ok), r.Revenue, roiV})
		cats = append(cats, r.Channel)
		rois = append(rois, roiV)
		spend += r.Spend
		leads += r.Leads
		if !hasLeads {
			// no cost per lead to place it by
			alt = append(alt, fmt.Sprintf("%s: no leads, spend %s", r.Channel, v.money(r.Spend)))
			continue
		}
		pts = append(pts, Point{Label: r.Channel, X: c, Y: roiV, R: r.Spend, Colour: col[r.Channel]})
		cplCats = append(cplCats, r.Channel)
		cpls = append(cpls, c)
		alt = append(alt, fmt.Sprintf("%s: %s per lead, ROI %s, spend %s", r.Channel, v.unit(c), formatPct(roiV), v.money(r.Spend)))
	}
	avg := ratio(spend, leads)
	return section{
		ID: "myopia", Title: "Cheap leads or profitable leads?", Wide: true,
		Lead: "Each bubble is a paid channel: left is cheaper per lead, up is more return per unit of spend, size is spend. " +
			"The vertical line is the average cost per lead (" + v.unit(avg) + "), the horizontal one break-even.",
		Alt: strings.Join(alt, ". ") + ".",
		Charts: []template.HTML{
			Scatter{ID: "chart-quadrant", Title: "Cost per lead against ROI (" + v.Model + ")", XLabel: "cost per lead", YLabel: "ROI",
				Points: pts, XRef: avg, FormatX: v.unit, FormatY: formatPct,
				Quadrants: [4]string{"cheap and pays", "dear and pays", "cheap, loses money", "dear, loses money"}}.SVG(),
			BarChart{ID: "chart-cpl", Title: "Cost per lead, cheapest first", Categories: cplCats, Series: []Series{{Name: "cost per lead", Values: cpls}}, Format: v.unit}.SVG(),
			BarChart{ID: "chart-roi", Title: "ROI, same order", Categories: cats, Series: []Series{{Name: "ROI", Values: rois}}, Format: formatPct}.SVG(),
		},
		Data: ds,
	}
}

// trendMetric is one line chart of the trends section.
type trendMetric struct {
	id, name string
	kind     Kind
	paidOnly bool
	value    func(ChannelRow) (float64, bool)
}

var trendMetrics = []trendMetric{
	{"leads", "leads", KindCount, false, func(r ChannelRow) (float64, bool) { return r.Leads, true }},
	{"sqls", "SQLs", KindCount, false, func(r ChannelRow) (float64, bool) { return r.SQLs, true }},
	{"revenue", "won revenue", KindMoney, false, func(r ChannelRow) (float64, bool) { return r.Revenue, true }},
	{"cpl", "cost per lead", KindUnit, true, ChannelRow.CostPerLead},
	{"cpw", "cost per won deal", KindUnit, true, ChannelRow.CostPerWon},
}

// trendLines is the focus model's rows per month for each line: every
// paid channel, and the unpaid ones summed (every channel when none is
// paid).
func (v *view) trendLines() ([]time.Time, []string, map[string][]ChannelRow) {
	months := v.Data.MonthList()
	idx := map[time.Time]int{}
	for i, m := range months {
		idx[m] = i
	}
	paid := map[string]bool{}
	var names []string
	for _, r := range v.paid() {
		paid[r.Channel] = true
		names = append(names, r.Channel)
	}
	if len(names) == 0 {
		names = channelOrder(v.Data, v.Model)
		for _, n := range names {
			paid[n] = true
		}
	}
	rows := map[string][]ChannelRow{}
	for _, r := range v.Data.Months {
		if r.Model != v.Model {
			continue
		}
		name := r.Channel
		if !paid[name] {
			name = otherChannels
		}
		if rows[name] == nil {
			rows[name] = make([]ChannelRow, len(months))
			if name == otherChannels {
				names = append(names, name)
			}
		}
		t := &rows[name][idx[MonthStart(r.Month)]]
		t.Channel = name
		t.Spend += r.Spend
		t.Leads += r.Leads
		t.SQLs += r.SQLs
		t.Won += r.Won
		t.Revenue += r.Revenue
	}
	var kept []string
	for _, n := range names {
		if rows[n] != nil {
			kept = append(kept, n)
		}
	}
	return months, kept, rows
}

func (v *view) trends() section {
	months, names, rows := v.trendLines()
	partial := -1
	var labels []string
	for i, m := range months {
		labels = append(labels, m.Format("Jan 06"))
		if v.Data.Incomplete(m) {
			partial = i
		}
	}
	col := colours(v.Data, v.Model)
	ds := Dataset{ID: "trends", Title: "Per month and channel (" + v.Model + ")",
		Columns: []Column{{"month", KindText}, {"channel", KindText}, {"complete", KindText}}}
	for _, m := range trendMetrics {
		ds.Charts = append(ds.Charts, "chart-trend-"+m.id)
		ds.Columns = append(ds.Columns, Column{m.name, m.kind})
	}
	var charts []template.HTML
	for _, m := range trendMetrics {
		tick := func(x float64) string { return formatCompact(x, "") }
		if m.kind == KindMoney || m.kind == KindUnit {
			tick = func(x float64) string { return formatCompact(x, v.Data.ReportingCurrency) }
		}
		var lines []Line
		for _, n := range names {
			if m.paidOnly && n == otherChannels {
				continue
			}
			l := Line{Name: n, Colour: col[n]}
			for _, r := range rows[n] {
				x, ok := m.value(r)
				if !ok {
					x = math.NaN()
				}
				l.Values = append(l.Values, x)
			}
			lines = append(lines, l)
		}
		charts = append(charts, LineChart{ID: "chart-trend-" + m.id, Title: strings.ToUpper(m.name[:1]) + m.name[1:], Months: labels,
			Lines: lines, Partial: partial, Format: func(x float64) string { return v.format(m.kind, x) }, Tick: tick}.SVG())
	}
	for i := range months {
		for _, n := range names {
			r := rows[n][i]
			complete := "yes"
			if i == partial {
				complete = "no, so far"
			}
			row := []any{labels[i], n, complete}
			for _, m := range trendMetrics {
				x, ok := m.value(r)
				if m.paidOnly && n == otherChannels {
					ok = false
				}
				row = append(row, optional(x, ok))
			}
			ds.Rows = append(ds.Rows, row)
		}
	}
	lead := "Lines per paid channel; unpaid channels are summed as “" + otherChannels + "”. A gap means no lead or no won deal that month."
	if partial >= 0 {
		lead += " " + labels[partial] + " is not over yet: its point is hollow and the shaded band marks it."
	}
	var alt []string
	for _, n := range names {
		first, last := rows[n][0], rows[n][len(months)-1]
		alt = append(alt, fmt.Sprintf("%s: %s leads in %s, %s in %s", n, formatCount(first.Leads), labels[0], formatCount(last.Leads), labels[len(labels)-1]))
	}
	return section{ID: "trends", Title: "Is it getting better? Month by month", Wide: true, Lead: lead,
		Alt: strings.Join(alt, "; ") + ".", Charts: append(charts, legend(names, col)), Data: ds}
}

func legend(names []string, col map[string]string) template.HTML {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for _, n := range names {
		fmt.Fprintf(&b, `<li><span class="swatch" style="background:%s"></span>%s</li>`, col[n], esc(n))
	}
	b.WriteString(`</ul>`)
	return template.HTML(b.String())
}

// minModelSpread is the smallest difference in a channel's share between
// models worth naming: half a percentage point.
const minModelSpread = 0.005

func (v *view) agreement() section {
	channels := channelOrder(v.Data, v.Model)
	models := v.Data.Models()
	byKey := map[string]ChannelRow{}
	totals := map[string]float64{}
	for _, r := range v.Data.Channels {
		byKey[r.Model+"\x00"+r.Channel] = r
		totals[r.Model] += r.Revenue
	}
	ds := Dataset{ID: "models", Title: "Share of won revenue per channel under each attribution model", Charts: []string{"chart-models"},
		Columns: []Column{{"channel", KindText}}}
	for _, m := range models {
		ds.Columns = append(ds.Columns, Column{m, KindPercent})
	}
	ds.Columns = append(ds.Columns, Column{"spread (points)", KindPercent})
	values := make([][]float64, len(channels))
	var widest string
	widestSpread := 0.0
	for i, c := range channels {
		row := []any{c}
		lo, hi := math.Inf(1), math.Inf(-1)
		shared := false
		for _, m := range models {
			share := ratio(byKey[m+"\x00"+c].Revenue, totals[m])
			values[i] = append(values[i], share)
			row = append(row, optional(share, totals[m] > 0))
			if totals[m] > 0 {
				lo, hi, shared = math.Min(lo, share), math.Max(hi, share), true
			}
		}
		if !shared {
			lo, hi = 0, 0
		}
		row = append(row, optional(hi-lo, shared))
		if hi-lo > widestSpread {
			widest, widestSpread = c, hi-lo
		}
		ds.Rows = append(ds.Rows, row)
	}
	lead := "Every model splits the same won revenue; each cell is a channel's share under one model. Where a row is even, the answer does not depend on the model."
	anyRevenue := false
	for _, t := range totals {
		anyRevenue = anyRevenue || t > 0
	}
	switch {
	case !anyRevenue:
		lead += " No revenue was won in this period, so there is nothing to split."
	case widestSpread < minModelSpread:
		lead += " The models agree on every channel, within half a point."
	case widest != "":
		lead += fmt.Sprintf(" The models disagree most on %s (%s points between the highest and lowest share).", widest, groupDigits(widestSpread*100, 1))
	}
	return section{ID: "models", Title: "Do the attribution models agree?", Lead: lead,
		Alt:    fmt.Sprintf("A table of %d channels by %d models, shaded by share of won revenue; the same numbers are in the table below.", len(channels), len(models)),
		Charts: []template.HTML{HeatTable{ID: "chart-models", Title: "Share of won revenue", Rows: channels, Columns: models, Values: values}.SVG()},
		Data:   ds}
}

func (v *view) funnel() section {
	channels := channelOrder(v.Data, v.Model)
	byCh := map[string]ChannelRow{}
	for _, r := range v.Data.ForModel(v.Model) {
		byCh[r.Channel] = r
	}
	series := []Series{{Name: "leads"}, {Name: "MQLs"}, {Name: "SQLs"}, {Name: "won"}}
	ds := Dataset{ID: "funnel", Title: "Funnel per channel (" + v.Model + ")", Charts: []string{"chart-funnel"},
		Columns: []Column{{"channel", KindText}, {"leads", KindCount}, {"MQLs", KindCount}, {"SQLs", KindCount}, {"opportunities", KindCount}, {"won", KindCount}, {"lead → won", KindPercent}}}
	for _, c := range channels {
		r := byCh[c]
		for i, x := range []float64{r.Leads, r.MQLs, r.SQLs, r.Won} {
			series[i].Values = append(series[i].Values, x)
		}
		ds.Rows = append(ds.Rows, []any{c, r.Leads, r.MQLs, r.SQLs, r.Opportunities, r.Won, optional(ratio(r.Won, r.Leads), r.Leads > 0)})
	}
	lead := "Leads that become marketing- and sales-qualified, and deals won (" + v.Model + ")."
	if !v.Data.From.IsZero() || !v.Data.To.IsZero() {
		lead += " Each stage counts in the month it was reached in the period, so lead → won compares this period's wins with this period's leads, not the conversion of those leads (the cohorts section follows leads to revenue)."
	}
	return section{ID: "funnel", Title: "Funnel per channel", Lead: lead,
		Alt:    "Bars of leads, MQLs, SQLs and won deals per channel; the numbers are in the table below.",
		Charts: []template.HTML{BarChart{ID: "chart-funnel", Title: "Funnel", Categories: channels, Series: series, Format: formatCount}.SVG()},
		Data:   ds}
}

func (v *view) spam() section {
	channels := channelOrder(v.Data, v.Model)
	byCh := map[string]ChannelRow{}
	for _, r := range v.Data.ForModel(v.Model) {
		byCh[r.Channel] = r
	}
	s := Series{Name: "spam rate"}
	ds := Dataset{ID: "spam", Title: "Spam and bot leads by channel", Charts: []string{"chart-spam"},
		Columns: []Column{{"channel", KindText}, {"leads", KindCount}, {"spam or bot leads", KindCount}, {"spam rate", KindPercent},
			{"cost per lead", KindUnit}, {"cost per genuine lead", KindUnit}}}
	for _, c := range channels {
		r := byCh[c]
		rate, hasLeads := r.SpamRate()
		s.Values = append(s.Values, rate)
		genuine := r.Leads - r.SpamLeads
		perLead, _ := r.CostPerLead()
		ds.Rows = append(ds.Rows, []any{c, r.Leads, r.SpamLeads, optional(rate, hasLeads),
			optional(perLead, r.Spend > 0 && hasLeads), optional(r.Spend/genuine, r.Spend > 0 && genuine > 0)})
	}
	return section{ID: "spam", Title: "Spam and bot leads",
		Lead:   "Leads flagged from CRM disqualification reasons and GA signals (no engaged session, form sent seconds after landing).",
		Alt:    "Bars of the share of each channel's leads flagged as spam or bots; the numbers are in the table below.",
		Charts: []template.HTML{BarChart{ID: "chart-spam", Title: "Spam rate", Categories: channels, Series: []Series{s}, Format: formatPct}.SVG()},
		Data:   ds}
}

func (v *view) cohorts() section {
	months := map[string]map[int]float64{}
	maxLag := 0
	for _, c := range v.Data.Cohorts {
		k := c.LeadMonth.Format("2006-01")
		if months[k] == nil {
			months[k] = map[int]float64{}
		}
		months[k][c.MonthsToRevenue] += c.Revenue
		maxLag = max(maxLag, c.MonthsToRevenue)
	}
	var rows []string
	for k := range months {
		rows = append(rows, k)
	}
	sort.Strings(rows)
	var cols []string
	for i := 0; i <= maxLag && len(rows) > 0; i++ {
		cols = append(cols, fmt.Sprintf("+%d mo", i))
	}
	ds := Dataset{ID: "cohorts", Title: "Won revenue by lead month and months to revenue", Charts: []string{"chart-cohorts"},
		Columns: []Column{{"lead month", KindText}}}
	for _, c := range cols {
		ds.Columns = append(ds.Columns, Column{c, KindMoney})
	}
	values := make([][]float64, len(rows))
	for i, r := range rows {
		row := []any{r}
		for j := range cols {
			values[i] = append(values[i], months[r][j])
			row = append(row, months[r][j])
		}
		ds.Rows = append(ds.Rows, row)
	}
	return section{ID: "cohorts", Title: "Time to revenue by lead cohort",
		Lead:   "Won revenue by the month a lead arrived (rows) and how many months later it closed (columns): revenue arrives long after the form fill.",
		Alt:    "Cells shaded by won revenue per lead month and months to revenue; the numbers are in the table below.",
		Charts: []template.HTML{Heatmap{ID: "chart-cohorts", Title: "Won revenue by cohort", Rows: rows, Columns: cols, Values: values, Format: v.money}.SVG()},
		Data:   ds}
}

// coverage: how many qualified leads and how much won revenue reached each
// bidding algorithm, and why the rest did not.
func (v *view) coverage() (section, bool) {
	if len(v.Data.Coverage) == 0 {
		return section{}, false
	}
	type agg struct {
		sqls, sqlsReached, won, wonReached float64
		missed                             map[string]float64
	}
	byDest := map[string]*agg{}
	var dests []string
	for _, r := range v.Data.Coverage {
		a := byDest[r.Destination]
		if a == nil {
			a = &agg{missed: map[string]float64{}}
			byDest[r.Destination] = a
			dests = append(dests, r.Destination)
		}
		switch r.Stage {
		case "sql":
			a.sqls += r.Events
		case "won":
			a.won += r.Value
		default:
			continue
		}
		if !r.Reached() {
			a.missed[r.Status] += r.Events
			continue
		}
		if r.Stage == "sql" {
			a.sqlsReached += r.Events
		} else {
			a.wonReached += r.Value
		}
	}
	sort.Strings(dests)
	sqls, won := Series{Name: "qualified leads (SQLs) reached"}, Series{Name: "won revenue reached"}
	ds := Dataset{ID: "activation", Title: "What reached each destination", Charts: []string{"chart-activation"},
		Columns: []Column{{"destination", KindText}, {"SQLs", KindCount}, {"SQLs reached", KindCount}, {"share of SQLs", KindPercent},
			{"won revenue", KindMoney}, {"won revenue reached", KindMoney}, {"share of won revenue", KindPercent}, {"why the rest did not (SQL and won events)", KindText}}}
	for _, dest := range dests {
		a := byDest[dest]
		sqls.Values = append(sqls.Values, ratio(a.sqlsReached, a.sqls))
		won.Values = append(won.Values, ratio(a.wonReached, a.won))
		var why []string
		for st, n := range a.missed {
			why = append(why, fmt.Sprintf("%s %s", strings.ReplaceAll(st, "_", " "), formatCount(n)))
		}
		sort.Strings(why)
		ds.Rows = append(ds.Rows, []any{dest, a.sqls, a.sqlsReached, optional(ratio(a.sqlsReached, a.sqls), a.sqls > 0), a.won, a.wonReached,
			optional(ratio(a.wonReached, a.won), a.won > 0), strings.Join(why, ", ")})
	}
	return section{ID: "activation", Title: "What reached the bidding algorithms",
		Lead: "Per destination, the share of sales-qualified leads and of won revenue delivered to it, and why the rest did not: " +
			"outside the platform's window, no identifier it can match, no ads consent, or the destination not configured.",
		Alt:    "Bars of the share of SQLs and of won revenue that reached each destination; the numbers and reasons are in the table below.",
		Charts: []template.HTML{BarChart{ID: "chart-activation", Title: "Share reached", Categories: dests, Series: []Series{sqls, won}, Format: formatPct}.SVG()},
		Data:   ds}, true
}

// calibration: the predicted values sent early, back-tested against what
// the same leads went on to win.
func (v *view) calibration() (section, bool) {
	byCh := map[string]*CalibrationRow{}
	var chans []string
	for _, r := range v.Data.Calibration {
		if r.Stage != "sql" {
			continue
		}
		c := byCh[r.Channel]
		if c == nil {
			c = &CalibrationRow{Stage: r.Stage, Channel: r.Channel}
			byCh[r.Channel] = c
			chans = append(chans, r.Channel)
		}
		c.Leads += r.Leads
		c.Predicted += r.Predicted
		c.Realised += r.Realised
	}
	if len(chans) == 0 {
		return section{}, false
	}
	sort.Strings(chans)
	pred, real := Series{Name: "predicted"}, Series{Name: "won"}
	ds := Dataset{ID: "calibration", Title: "Predicted value at SQL against revenue won", Charts: []string{"chart-calibration"},
		Columns: []Column{{"channel", KindText}, {"SQL leads", KindCount}, {"predicted value", KindMoney}, {"won revenue", KindMoney}, {"predicted / won", KindRatio}}}
	for _, c := range chans {
		r := byCh[c]
		pred.Values = append(pred.Values, r.Predicted)
		real.Values = append(real.Values, r.Realised)
		ds.Rows = append(ds.Rows, []any{c, r.Leads, r.Predicted, r.Realised, optional(ratio(r.Predicted, r.Realised), r.Realised > 0)})
	}
	return section{ID: "calibration", Title: "Predicted value at SQL against revenue won (back-test)",
		Lead: "Each month's SQLs valued by a model fitted without that month, against what they went on to win. " +
			"Close to 1 means the value sent to the platforms before deals close is honest.",
		Alt:    "Bars of predicted and won revenue per channel; the numbers are in the table below.",
		Charts: []template.HTML{BarChart{ID: "chart-calibration", Title: "Predicted against won", Categories: chans, Series: []Series{pred, real}, Format: v.money}.SVG()},
		Data:   ds}, true
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
