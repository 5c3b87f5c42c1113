package report

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func sampleData() *Data {
	row := func(model, ch string, spend, leads, won, rev, spam float64) ChannelRow {
		return ChannelRow{Model: model, Channel: ch, Spend: spend, Leads: leads, MQLs: leads / 2, SQLs: leads / 4, Won: won, Revenue: rev, SpamLeads: spam}
	}
	d := &Data{GeneratedAt: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), ReportingCurrency: "USD", Engine: "duckdb"}
	for _, m := range []string{"markov", "last_non_direct"} {
		d.Channels = append(d.Channels,
			row(m, "Paid Social", 1000, 100, 1, 500, 10),
			row(m, "Paid Search", 3000, 60, 12, 30000, 1),
			row(m, "Display", 800, 40, 0, 0, 30),
			row(m, "Direct", 0, 30, 5, 9000, 0),
		)
	}
	d.Cohorts = []CohortCell{
		{LeadMonth: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), MonthsToRevenue: 0, Revenue: 1000},
		{LeadMonth: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), MonthsToRevenue: 2, Revenue: 5000},
		{LeadMonth: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), MonthsToRevenue: 1, Revenue: 2000},
	}
	return d
}

func TestRenderDrawsEveryChart(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sampleData(), Options{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	series := func(id string) int {
		start := strings.Index(html, `id="`+id+`"`)
		if start < 0 {
			t.Fatalf("chart %s missing", id)
		}
		end := strings.Index(html[start:], "</svg>")
		return strings.Count(html[start:start+end], `class="series"`)
	}
	want := map[string]int{"chart-cpl": 1, "chart-roi": 1, "chart-models": 2, "chart-funnel": 4, "chart-spam": 1, "chart-cohorts": 2}
	for id, n := range want {
		if got := series(id); got != n {
			t.Errorf("%s: %d series, want %d", id, got, n)
		}
	}
	if regexp.MustCompile(`(?i)<script|https?://(?:[^"]*)\.(?:js|css)`).MatchString(html) {
		t.Error("report must be self-contained: no scripts or remote assets")
	}
}

func TestMyopiaSectionOrdersByCostPerLead(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sampleData(), Options{FocusModel: "markov"}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	social := strings.Index(html, "<td>Paid Social</td>")
	search := strings.Index(html, "<td>Paid Search</td>")
	if social < 0 || search < 0 || social > search {
		t.Fatalf("Paid Social (cheapest leads) should come first in the cost-per-lead table")
	}
	// ROI of Paid Social: (500-1000)/1000 = -50%; Paid Search: 900%.
	if !strings.Contains(html, "<td>-50.0%</td>") || !strings.Contains(html, "<td>900.0%</td>") {
		t.Fatal("ROI figures missing from the table")
	}
	if strings.Contains(html, "<td>Direct</td><td>0 USD</td>") {
		t.Fatal("channels without spend have no cost-per-lead row")
	}
}

func TestFormatMoney(t *testing.T) {
	cases := map[float64]string{1234567: "1,234,567 USD", 12.5: "12.50 USD", -2500: "-2,500 USD", 0: "0.00 USD"}
	for v, want := range cases {
		if got := formatMoney(v, "USD"); got != want {
			t.Errorf("formatMoney(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestPageClaimsNoInversionWhenTheCheapestLeadsPayBest(t *testing.T) {
	d := sampleData()
	for i, r := range d.Channels {
		if r.Channel == "Paid Social" {
			d.Channels[i].Revenue, d.Channels[i].Won = 50000, 20
		}
	}
	var buf bytes.Buffer
	if err := Render(&buf, d, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "looks best") || strings.Contains(buf.String(), "dearest leads") {
		t.Fatal("the headline claims an inversion the data does not have")
	}
	if e := Build(d, Options{}); len(e.Headline) != 1 || !strings.Contains(e.Headline[0], "Display leads") {
		t.Fatalf("headline %q, want only the spam sentence", e.Headline)
	}
}

// A paid channel that spent and brought no lead has no cost per lead. Before,
// it showed 0.00, came first as the cheapest, and sat on the quadrant's
// cheap edge.
func TestPaidChannelWithoutLeadsHasNoCostPerLead(t *testing.T) {
	d := channels(
		ChannelRow{Channel: "Paid Social", Spend: 1000, Leads: 100, Revenue: 500},
		ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Won: 12, Revenue: 30000},
		ChannelRow{Channel: "Display", Spend: 31},
	)
	v := &view{Data: d, Model: "last_non_direct"}
	s := v.myopia()
	if got := s.Data.Rows[0][0]; got != "Paid Social" {
		t.Errorf("first row %v, want the cheapest leads (Paid Social)", got)
	}
	for _, row := range s.Data.Rows {
		if row[0] == "Display" && row[3] != nil {
			t.Errorf("Display's cost per lead %v, want none", row[3])
		}
	}
	if last := s.Data.Rows[len(s.Data.Rows)-1][0]; last != "Display" {
		t.Errorf("last row %v: a channel without leads ranks after every channel with some", last)
	}
	if !strings.Contains(s.Alt, "Display: no leads") {
		t.Errorf("alt text %q does not say Display brought no leads", s.Alt)
	}
	got := Headline(d, "last_non_direct")
	if want := "Display spent 31.00 USD and brought no lead."; !slices.Contains(got, want) {
		t.Errorf("headline %q lacks %q", got, want)
	}
}

// A month after the newest data is not complete. Before, data through 30
// November (the CRM's newest lead, while GA4 and spend ran into December)
// marked December "complete: yes".
func TestMonthAfterTheDataIsIncomplete(t *testing.T) {
	d := &Data{DataThrough: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	for month, want := range map[time.Month]bool{time.October: false, time.November: false, time.December: true} {
		if got := d.Incomplete(time.Date(2026, month, 1, 0, 0, 0, 0, time.UTC)); got != want {
			t.Errorf("%s: incomplete %v, want %v", month, got, want)
		}
	}
	d.DataThrough = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	if !d.Incomplete(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("November through the 29th is not complete")
	}
}

// Amounts in euros are not dollars. Before, the tile said "won revenue per
// ad dollar" whatever the reporting currency.
func TestTilesNameTheReportingCurrency(t *testing.T) {
	d := sampleData()
	d.ReportingCurrency = "EUR"
	var buf bytes.Buffer
	if err := Render(&buf, d, Options{FocusModel: "markov"}); err != nil {
		t.Fatal(err)
	}
	if html := buf.String(); strings.Contains(html, "dollar") || !strings.Contains(html, "won revenue per EUR of ad spend") {
		t.Error("the report speaks of dollars, or not of EUR, when amounts are in EUR")
	}
}

// Won revenue the channel figures leave out is said beside them. Before, a
// 240,000 USD deal won at account level without a lead, and won revenue in
// a currency without a rate, were missing from every channel figure with no
// word, while the Accounts section showed more revenue than the total.
func TestRevenueOutsideTheChannelFiguresIsSaid(t *testing.T) {
	d := sampleData()
	d.Outside = Outside{AccountWon: 1, AccountRevenue: 240000, NoRateWon: 2, NoRateCurrencies: "CHF, JPY"}
	want := []string{
		"1 won deal of 240,000 USD was won at account level without a lead: it is in the Accounts section and account attribution, not in the channel figures.",
		"2 won deals in CHF, JPY have no rate into USD: their revenue is in no figure until SAM_FX_RATES_FILE has one.",
	}
	if got := d.Caveats(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("caveats:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var buf bytes.Buffer
	if err := Render(&buf, d, Options{FocusModel: "markov"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "240,000 USD was won at account level") {
		t.Error("the page does not say what the channel figures leave out")
	}
	if e := Build(d, Options{FocusModel: "markov"}); len(e.Caveats) != 2 {
		t.Errorf("JSON caveats %v, want 2", e.Caveats)
	}
}

// With no won revenue there are no shares to compare, and models that agree
// to a rounding error do not disagree. Before, every share read 0.0% and
// the page named a channel the models "disagree most" on by 0.0 points.
func TestModelAgreementWithoutRevenueOrSpread(t *testing.T) {
	d := channels(ChannelRow{Channel: "Paid Search", Spend: 10, Leads: 5}, ChannelRow{Channel: "Direct", Leads: 3})
	v := &view{Data: d, Model: "last_non_direct"}
	s := v.agreement()
	for _, row := range s.Data.Rows {
		if row[1] != nil {
			t.Errorf("%v: share %v without won revenue, want none", row[0], row[1])
		}
	}
	if strings.Contains(s.Lead, "disagree most") || !strings.Contains(s.Lead, "No revenue was won") {
		t.Errorf("lead %q", s.Lead)
	}
	even := channels(ChannelRow{Channel: "Paid Search", Revenue: 100}, ChannelRow{Channel: "Direct", Revenue: 300})
	for _, r := range []ChannelRow{{Channel: "Paid Search", Revenue: 100.0000001}, {Channel: "Direct", Revenue: 300}} {
		r.Model = "markov"
		even.Channels = append(even.Channels, r)
	}
	if s := (&view{Data: even, Model: "markov"}).agreement(); strings.Contains(s.Lead, "disagree most") {
		t.Errorf("models within a rounding error: lead %q", s.Lead)
	}
}

// The accounts section covers all time; a report of one period says so.
func TestAccountsSayTheyCoverAllTimeInAPeriodReport(t *testing.T) {
	d := sampleData()
	d.Accounts = []AccountRow{{Account: "Meridian Health", WonDeals: 1, WonRevenue: 240000}}
	s, ok := (&view{Data: d, Model: "markov"}).accounts()
	if !ok || strings.Contains(s.Lead, "all time") {
		t.Errorf("without a period the lead needs no caveat: %q", s.Lead)
	}
	d.From = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if s, _ := (&view{Data: d, Model: "markov"}).accounts(); !strings.Contains(s.Lead, "all time, not only the report's period") {
		t.Errorf("lead %q does not say the accounts cover all time", s.Lead)
	}
}

// In a one-period report the funnel counts each stage in the month it was
// reached: won in December over leads created in December is no conversion
// rate. The column says so, and a channel without leads has no rate.
func TestFunnelOfAPeriodIsNotACohortRate(t *testing.T) {
	d := channels(ChannelRow{Channel: "Paid Search", Leads: 0, SQLs: 1, Opportunities: 2, Won: 1}, ChannelRow{Channel: "Direct", Leads: 4, Won: 1})
	d.From = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := (&view{Data: d, Model: "last_non_direct"}).funnel()
	if !strings.Contains(s.Lead, "reached in the period") {
		t.Errorf("lead %q does not say stages count in the period they were reached", s.Lead)
	}
	for _, row := range s.Data.Rows {
		if row[0] == "Paid Search" && row[6] != nil {
			t.Errorf("Paid Search won/leads %v without leads, want none", row[6])
		}
	}
}

// A destination with no SQL or won revenue to reach has no share of it.
// Before, the table said 0.0%, as if everything had been lost on the way.
func TestActivationSharesNeedSomethingToReach(t *testing.T) {
	d := sampleData()
	d.Coverage = []CoverageRow{{Month: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Destination: "ga4", Stage: "mql", Status: "sent", Events: 3, Value: 300}}
	s, ok := (&view{Data: d, Model: "markov"}).coverage()
	if !ok {
		t.Fatal("no activation section")
	}
	if row := s.Data.Rows[0]; row[3] != nil || row[6] != nil {
		t.Errorf("shares %v and %v without SQLs or won revenue, want none", row[3], row[6])
	}
}
