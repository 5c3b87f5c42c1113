// Package report owns what SAM shows a marketer: `sam report`, one
// self-contained HTML file (no scripts or styles fetched from anywhere, so
// it works offline and can be mailed around), the same charts' data as
// JSON or CSV, and the headline sentences that say in words what the
// numbers mean (they also end `sam run`). The page leads with the
// headline and the KPI-myopia quadrant (cost per lead against return),
// then trends per month, model agreement, the funnel, spam, cohorts,
// activation coverage and value calibration, each chart with its numbers
// in a table. Charts are SVG drawn here in Go.
//
// It reads the BI tables (channel_performance at its month grain, the
// cohort view, and activation_coverage and value_calibration when they
// exist) through the warehouse interface, so it works on either engine;
// it imports only warehouse.
package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// ChannelRow is one channel's totals under one attribution model, summed
// over every month.
type ChannelRow struct {
	Model         string
	Channel       string
	Spend         float64
	Sessions      float64
	Leads         float64
	MQLs          float64
	SQLs          float64
	Opportunities float64
	Won           float64
	Revenue       float64
	SpamLeads     float64
}

// CostPerLead is spend over leads; ok is false when there are no leads (a
// channel that spent and brought none is not the cheapest).
func (r ChannelRow) CostPerLead() (float64, bool) { return r.Spend / r.Leads, r.Leads > 0 }

// ROI is (revenue − spend) / spend; channels without spend have none.
func (r ChannelRow) ROI() (float64, bool) {
	if r.Spend <= 0 {
		return 0, false
	}
	return (r.Revenue - r.Spend) / r.Spend, true
}

// SpamRate is the share of leads flagged spam or bot; ok is false when
// there are no leads.
func (r ChannelRow) SpamRate() (float64, bool) { return r.SpamLeads / r.Leads, r.Leads > 0 }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// MonthRow is one channel's figures under one model in one month.
type MonthRow struct {
	Month time.Time
	ChannelRow
}

// CostPerWon is spend over won deals; ok is false when nothing was won.
func (r ChannelRow) CostPerWon() (float64, bool) {
	if r.Won <= 0 {
		return 0, false
	}
	return r.Spend / r.Won, true
}

// CohortCell is the revenue of leads created in one month that was won a
// given number of months later.
type CohortCell struct {
	LeadMonth       time.Time
	MonthsToRevenue int
	Revenue         float64
	WonLeads        float64
}

// Data is everything the report draws.
type Data struct {
	GeneratedAt       time.Time
	ReportingCurrency string
	Engine            string
	// Channels are the totals over the months shown.
	Channels []ChannelRow
	// Months is channel_performance at its grain; empty when the data
	// came as totals only.
	Months []MonthRow
	// DataThrough is the newest lead or GA4 session date in the
	// warehouse; a month that ends after it is incomplete. Zero when
	// unknown.
	DataThrough time.Time
	// Outside is won revenue the channel figures leave out (all time).
	Outside Outside
	// From and To are the first and last month shown (zero: unbounded).
	From, To time.Time
	Cohorts  []CohortCell
	// Coverage is activation_coverage summed over months; empty when the
	// activation stage never ran.
	Coverage []CoverageRow
	// Calibration is value_calibration summed over months, per stage and
	// channel; empty before any month can be back-tested.
	Calibration []CalibrationRow
	// Accounts is fct_account_revenue; empty before accounts exist.
	Accounts []AccountRow
}

// CoverageRow is what reached one destination at one stage with one status.
type CoverageRow struct {
	Month                      time.Time
	Destination, Stage, Status string
	Events, Value              float64
}

// Outside is won revenue no channel figure holds: deals won at account
// level without a lead (fct_account_revenue and the account attribution
// hold them), and won revenue in a currency with no rate into the reporting
// currency (no figure holds it).
type Outside struct {
	AccountWon, AccountRevenue float64
	NoRateWon                  float64
	NoRateCurrencies           string
}

// Caveats says, in sentences, what the channel figures leave out.
func (d *Data) Caveats() []string {
	var out []string
	o := d.Outside
	if o.AccountWon > 0 {
		out = append(out, fmt.Sprintf("%s of %s %s won at account level without a lead: it is in the Accounts section and account attribution, not in the channel figures.",
			plural(o.AccountWon, "won deal", "won deals"), formatMoney(o.AccountRevenue, d.ReportingCurrency), map[bool]string{true: "was", false: "were"}[o.AccountWon == 1]))
	}
	if o.NoRateWon > 0 {
		out = append(out, fmt.Sprintf("%s in %s %s no rate into %s: their revenue is in no figure until SAM_FX_RATES_FILE has one.",
			plural(o.NoRateWon, "won deal", "won deals"), o.NoRateCurrencies, map[bool]string{true: "has", false: "have"}[o.NoRateWon == 1], d.ReportingCurrency))
	}
	return out
}

func plural(n float64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatCount(n) + " " + many
}

// loadOutside reads what Outside holds; a warehouse without the marts
// leaves it zero.
func loadOutside(ctx context.Context, wh warehouse.Warehouse) (Outside, error) {
	var o Outside
	acc, err := loadOptional(ctx, wh, "int_account_deals",
		`SELECT COUNT(*), CAST(COALESCE(SUM(amount_reporting), 0) AS FLOAT64) FROM %s
WHERE is_won AND amount_reporting IS NOT NULL
  AND (lead_id IS NULL OR lead_id NOT IN (SELECT lead_id FROM `+wh.QualifiedName("fct_lead_revenue")+`))`,
		func(v []any) ([2]float64, error) {
			var r [2]float64
			return r, errors.Join(warehouse.ConvertAssign(&r[0], orZero(v[0])), warehouse.ConvertAssign(&r[1], orZero(v[1])))
		})
	if err != nil {
		return o, err
	}
	if len(acc) == 1 {
		o.AccountWon, o.AccountRevenue = acc[0][0], acc[0][1]
	}
	nr, err := loadOptional(ctx, wh, "fct_lead_revenue",
		`SELECT COUNT(*), STRING_AGG(DISTINCT currency, ', ' ORDER BY currency) FROM %s WHERE revenue_has_no_rate`,
		func(v []any) (Outside, error) {
			var r Outside
			if v[1] != nil {
				r.NoRateCurrencies = warehouse.Format(v[1])
			}
			return r, warehouse.ConvertAssign(&r.NoRateWon, orZero(v[0]))
		})
	if err != nil {
		return o, err
	}
	if len(nr) == 1 {
		o.NoRateWon, o.NoRateCurrencies = nr[0].NoRateWon, nr[0].NoRateCurrencies
	}
	return o, nil
}

// Reached reports whether the status means the destination has the event.
func (r CoverageRow) Reached() bool { return r.Status == "sent" || r.Status == "accepted" }

// CalibrationRow compares predicted and realised won revenue of one stage
// and channel on held-out months.
type CalibrationRow struct {
	LeadMonth           time.Time
	Stage, Channel      string
	Leads               float64
	Predicted, Realised float64
}

// Models lists the attribution models present, in a stable order.
func (d *Data) Models() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range d.Channels {
		if !seen[r.Model] {
			seen[r.Model] = true
			out = append(out, r.Model)
		}
	}
	order := map[string]int{"first_touch": 0, "last_touch": 1, "last_non_direct": 2, "linear": 3, "time_decay": 4, "position_based": 5, "markov": 6}
	sort.SliceStable(out, func(i, j int) bool {
		oi, iok := order[out[i]]
		oj, jok := order[out[j]]
		if iok && jok {
			return oi < oj
		}
		if iok != jok {
			return iok
		}
		return out[i] < out[j]
	})
	return out
}

// ForModel returns the channel rows of one model, by revenue descending.
func (d *Data) ForModel(model string) []ChannelRow {
	var out []ChannelRow
	for _, r := range d.Channels {
		if r.Model == model {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Revenue != out[j].Revenue {
			return out[i].Revenue > out[j].Revenue
		}
		return out[i].Channel < out[j].Channel
	})
	return out
}

// Query is the SQL that reads channel_performance by month, model and
// channel; it is exported so the CLI's end-of-run table and the report
// agree on the numbers.
func Query(wh warehouse.Warehouse) string {
	return fmt.Sprintf(`
SELECT month, model, channel,
       SUM(COALESCE(spend, 0)) AS spend,
       SUM(COALESCE(sessions, 0)) AS sessions,
       SUM(COALESCE(leads, 0)) AS leads,
       SUM(COALESCE(mqls, 0)) AS mqls,
       SUM(COALESCE(sqls, 0)) AS sqls,
       SUM(COALESCE(opportunities, 0)) AS opportunities,
       SUM(COALESCE(won, 0)) AS won,
       SUM(COALESCE(revenue, 0)) AS revenue,
       SUM(COALESCE(spam_leads, 0)) AS spam_leads
FROM %s
GROUP BY month, model, channel
ORDER BY month, model, channel`, wh.QualifiedName("channel_performance"))
}

// Load reads the report's data from the warehouse. Before the transform
// has built channel_performance, the error wraps warehouse.ErrNotFound.
func Load(ctx context.Context, wh warehouse.Warehouse, currency string) (*Data, error) {
	d := &Data{GeneratedAt: time.Now().UTC(), ReportingCurrency: currency, Engine: wh.Dialect().Name()}
	if _, err := wh.Describe(ctx, "channel_performance"); err != nil {
		return nil, fmt.Errorf("read channel_performance: %w", err)
	}
	rows, err := wh.Query(ctx, Query(wh))
	if err != nil {
		return nil, fmt.Errorf("read channel_performance: %w", err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("read channel_performance: %w", err)
	}
	for _, v := range all {
		month, err := asDate(v[0])
		if err != nil {
			return nil, fmt.Errorf("read channel_performance.month: %w", err)
		}
		r := MonthRow{Month: month, ChannelRow: ChannelRow{Model: warehouse.Format(v[1]), Channel: warehouse.Format(v[2])}}
		nums := []*float64{&r.Spend, &r.Sessions, &r.Leads, &r.MQLs, &r.SQLs, &r.Opportunities, &r.Won, &r.Revenue, &r.SpamLeads}
		for i, p := range nums {
			if err := warehouse.ConvertAssign(p, orZero(v[i+3])); err != nil {
				return nil, fmt.Errorf("read channel_performance column %d: %w", i+3, err)
			}
		}
		d.Months = append(d.Months, r)
	}
	d.Channels = totals(d.Months)
	// The newest day of leads or of GA4 sessions: a quiet CRM day does not
	// hold the report's date back while the site's data runs on.
	for _, src := range []struct{ table, col string }{{"fct_lead_revenue", "lead_date"}, {"stg_ga4__sessions", "session_date"}} {
		through, err := loadOptional(ctx, wh, src.table, `SELECT MAX(`+src.col+`) FROM %s`,
			func(v []any) (time.Time, error) {
				if v[0] == nil {
					return time.Time{}, nil
				}
				return asDate(v[0])
			})
		if err != nil {
			return nil, err
		}
		if len(through) == 1 && through[0].After(d.DataThrough) {
			d.DataThrough = through[0]
		}
	}
	if d.Outside, err = loadOutside(ctx, wh); err != nil {
		return nil, err
	}
	cohorts, err := loadCohorts(ctx, wh)
	if err != nil {
		return nil, err
	}
	d.Cohorts = cohorts
	if d.Coverage, err = loadOptional(ctx, wh, "activation_coverage",
		`SELECT month, destination, stage, status, SUM(events), CAST(COALESCE(SUM(value), 0) AS FLOAT64) FROM %s GROUP BY month, destination, stage, status ORDER BY month, destination, stage, status`,
		func(v []any) (CoverageRow, error) {
			month, err := asDate(v[0])
			r := CoverageRow{Month: month, Destination: warehouse.Format(v[1]), Stage: warehouse.Format(v[2]), Status: warehouse.Format(v[3])}
			return r, errors.Join(err, warehouse.ConvertAssign(&r.Events, orZero(v[4])), warehouse.ConvertAssign(&r.Value, orZero(v[5])))
		}); err != nil {
		return nil, err
	}
	if d.Calibration, err = loadOptional(ctx, wh, "value_calibration",
		`SELECT lead_month, stage, channel, SUM(leads), CAST(SUM(predicted_value_sum) AS FLOAT64), CAST(SUM(realised_won_revenue) AS FLOAT64) FROM %s GROUP BY lead_month, stage, channel ORDER BY lead_month, stage, channel`,
		func(v []any) (CalibrationRow, error) {
			month, err := asDate(v[0])
			r := CalibrationRow{LeadMonth: month, Stage: warehouse.Format(v[1]), Channel: warehouse.Format(v[2])}
			return r, errors.Join(err, warehouse.ConvertAssign(&r.Leads, orZero(v[3])), warehouse.ConvertAssign(&r.Predicted, orZero(v[4])),
				warehouse.ConvertAssign(&r.Realised, orZero(v[5])))
		}); err != nil {
		return nil, err
	}
	if d.Accounts, err = loadAccounts(ctx, wh); err != nil {
		return nil, err
	}
	return d, nil
}

// loadOptional reads a model the report shows only when it exists (an
// older warehouse, or a stage that never ran).
func loadOptional[T any](ctx context.Context, wh warehouse.Warehouse, table, query string, row func([]any) (T, error)) ([]T, error) {
	if _, err := wh.Describe(ctx, table); errors.Is(err, warehouse.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	rows, err := wh.Query(ctx, fmt.Sprintf(query, wh.QualifiedName(table)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	out := make([]T, 0, len(all))
	for _, v := range all {
		r, err := row(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func orZero(v any) any {
	if v == nil {
		return float64(0)
	}
	return v
}

// CohortQuery reads the cohort view (lead month × months to revenue). Every
// model credits the same revenue in total, so one model's split is the
// cohort's revenue.
func CohortQuery(wh warehouse.Warehouse) string {
	return fmt.Sprintf(`
SELECT lead_month, months_to_revenue, SUM(revenue) AS revenue, SUM(won) AS won_leads
FROM %s
WHERE model = 'linear'
GROUP BY lead_month, months_to_revenue
ORDER BY lead_month, months_to_revenue`, wh.QualifiedName("channel_cohorts"))
}

func loadCohorts(ctx context.Context, wh warehouse.Warehouse) ([]CohortCell, error) {
	rows, err := wh.Query(ctx, CohortQuery(wh))
	if err != nil {
		return nil, fmt.Errorf("read channel_cohorts: %w", err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("read channel_cohorts: %w", err)
	}
	var out []CohortCell
	for _, v := range all {
		var c CohortCell
		t, err := asDate(v[0])
		if err != nil {
			return nil, fmt.Errorf("channel_cohorts.lead_month: %w", err)
		}
		c.LeadMonth = t
		if err := warehouse.ConvertAssign(&c.MonthsToRevenue, orZero(v[1])); err != nil {
			return nil, fmt.Errorf("channel_cohorts.months_to_revenue: %w", err)
		}
		if err := warehouse.ConvertAssign(&c.Revenue, orZero(v[2])); err != nil {
			return nil, fmt.Errorf("channel_cohorts.revenue: %w", err)
		}
		if err := warehouse.ConvertAssign(&c.WonLeads, orZero(v[3])); err != nil {
			return nil, fmt.Errorf("channel_cohorts.won_leads: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

func asDate(v any) (time.Time, error) {
	t, ok := v.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("got %T, want a DATE", v)
	}
	return t.UTC(), nil
}

// totals sums months into one row per model and channel.
func totals(months []MonthRow) []ChannelRow {
	idx := map[[2]string]int{}
	var out []ChannelRow
	for _, m := range months {
		k := [2]string{m.Model, m.Channel}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, ChannelRow{Model: m.Model, Channel: m.Channel})
		}
		r := &out[i]
		r.Spend += m.Spend
		r.Sessions += m.Sessions
		r.Leads += m.Leads
		r.MQLs += m.MQLs
		r.SQLs += m.SQLs
		r.Opportunities += m.Opportunities
		r.Won += m.Won
		r.Revenue += m.Revenue
		r.SpamLeads += m.SpamLeads
	}
	return out
}

// MonthStart is the first day of t's month.
func MonthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Between keeps the months from from's month to to's month (a zero bound
// is open) and recomputes the channel totals over them. Data without a
// month grain keeps its totals.
func (d *Data) Between(from, to time.Time) *Data {
	in := func(m time.Time) bool {
		m = MonthStart(m)
		return (from.IsZero() || !m.Before(MonthStart(from))) && (to.IsZero() || !m.After(MonthStart(to)))
	}
	out := *d
	if !from.IsZero() {
		out.From = MonthStart(from)
	}
	if !to.IsZero() {
		out.To = MonthStart(to)
	}
	out.Months = keep(d.Months, func(r MonthRow) bool { return in(r.Month) })
	if len(d.Months) > 0 {
		out.Channels = totals(out.Months)
	}
	out.Cohorts = keep(d.Cohorts, func(c CohortCell) bool { return in(c.LeadMonth) })
	out.Coverage = keep(d.Coverage, func(c CoverageRow) bool { return c.Month.IsZero() || in(c.Month) })
	out.Calibration = keep(d.Calibration, func(c CalibrationRow) bool { return c.LeadMonth.IsZero() || in(c.LeadMonth) })
	return &out
}

func keep[T any](in []T, ok func(T) bool) []T {
	var out []T
	for _, v := range in {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// MonthList is the months present, oldest first.
func (d *Data) MonthList() []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, r := range d.Months {
		m := MonthStart(r.Month)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Incomplete reports whether month is not over in the data: DataThrough
// is before its last day (a month after DataThrough included). Without
// DataThrough the data counts as running to the day before GeneratedAt.
func (d *Data) Incomplete(month time.Time) bool {
	month = MonthStart(month)
	through := d.DataThrough
	if through.IsZero() {
		through = d.GeneratedAt.AddDate(0, 0, -1)
	}
	last := month.AddDate(0, 1, -1)
	return through.Before(last)
}
