package attribution_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
)

// cohortLeads are leads with known outcomes for the predicted-value models,
// built with prior strength k = 2 (so a campaign cohort of 2 leads is thick
// enough) and maturity 180 days. The newest CRM timestamp is C1's win on
// 2024-09-01, so a stage reached before 2024-03-05 is mature even when open.
// Every lead has one engaged session a day before creation in its channel.
//
//	lead  created     channel / campaign     stages          outcome
//	A1    2024-01-10  Paid Search / brand    lead mql sql    won 10000 USD
//	A2    2024-01-10  Paid Search / brand    lead mql sql    won 20000 USD
//	A3    2024-01-10  Paid Search / brand    lead mql sql    lost
//	A4    2024-02-10  Paid Search / generic  lead mql        lost
//	A5    2024-08-20  Paid Search / generic  lead mql        open, young: not trained on
//	D1    2024-08-25  Paid Search / brand    lead            open, young; its form session is
//	                                                          Direct, so the earlier Paid Search
//	                                                          session decides the cohort
//	B1    2024-01-12  Paid Social / fb       lead            disqualified (no budget)
//	B2    2024-01-12  Paid Social / fb       lead mql        lost
//	B3    2024-02-01  Paid Social / fb       lead            open, 212 days old: counts as not won
//	B4    2024-02-01  Paid Social / fb       lead mql sql    won 1000 USD
//	B5    2024-01-12  Paid Social / fb       lead            spam: excluded, predicted 0
//	C1    2024-03-01  Organic Search / —     lead mql sql    won 6000 USD on 2024-09-01
//	C2    2024-08-01  Organic Search / —     lead            open, young
const cohortLeads = `
INSERT INTO raw_fixture__ga4_sessions (session_key, client_key, user_id, session_start_ts, session_end_ts,
  session_date, landing_page, is_engaged, event_count, page_views, source, medium, campaign, gclid, channel) VALUES
 ('sa1', 'ca1', NULL, '2024-01-09 12:00:00', '2024-01-09 12:10:00', '2024-01-09', '/', true, 5, 2, 'google', 'cpc', 'brand', NULL, 'Paid Search'),
 ('sa2', 'ca2', NULL, '2024-01-09 12:00:00', '2024-01-09 12:10:00', '2024-01-09', '/', true, 5, 2, 'google', 'cpc', 'brand', NULL, 'Paid Search'),
 ('sa3', 'ca3', NULL, '2024-01-09 12:00:00', '2024-01-09 12:10:00', '2024-01-09', '/', true, 5, 2, 'google', 'cpc', 'brand', NULL, 'Paid Search'),
 ('sa4', 'ca4', NULL, '2024-02-09 12:00:00', '2024-02-09 12:10:00', '2024-02-09', '/', true, 5, 2, 'google', 'cpc', 'generic', NULL, 'Paid Search'),
 ('sa5', 'ca5', NULL, '2024-08-19 12:00:00', '2024-08-19 12:10:00', '2024-08-19', '/', true, 5, 2, 'google', 'cpc', 'generic', NULL, 'Paid Search'),
 ('sd1a', 'cd1', NULL, '2024-08-20 12:00:00', '2024-08-20 12:10:00', '2024-08-20', '/', true, 5, 2, 'google', 'cpc', 'brand', NULL, 'Paid Search'),
 ('sd1b', 'cd1', NULL, '2024-08-25 11:00:00', '2024-08-25 11:40:00', '2024-08-25', '/demo', true, 5, 2, '(direct)', '(none)', NULL, NULL, 'Direct'),
 ('sb1', 'cb1', NULL, '2024-01-11 12:00:00', '2024-01-11 12:10:00', '2024-01-11', '/', true, 5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('sb2', 'cb2', NULL, '2024-01-11 12:00:00', '2024-01-11 12:10:00', '2024-01-11', '/', true, 5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('sb3', 'cb3', NULL, '2024-01-31 12:00:00', '2024-01-31 12:10:00', '2024-01-31', '/', true, 5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('sb4', 'cb4', NULL, '2024-01-31 12:00:00', '2024-01-31 12:10:00', '2024-01-31', '/', true, 5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('sb5', 'cb5', NULL, '2024-01-11 12:00:00', '2024-01-11 12:10:00', '2024-01-11', '/', true, 5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('sc1', 'cc1', NULL, '2024-02-29 12:00:00', '2024-02-29 12:10:00', '2024-02-29', '/', true, 5, 2, 'google', 'organic', NULL, NULL, 'Organic Search'),
 ('sc2', 'cc2', NULL, '2024-07-31 12:00:00', '2024-07-31 12:10:00', '2024-07-31', '/', true, 5, 2, 'google', 'organic', NULL, NULL, 'Organic Search');
INSERT INTO raw_fixture__ga4_lead_submissions VALUES
 ('subd1', 'cd1', 'sd1b', 'demo', '2024-08-25 11:30:00', NULL, NULL);
INSERT INTO raw_fixture__crm_leads VALUES
 ('A1', 'file', '2024-01-10 12:00:00', NULL, NULL, 'ca1', NULL, NULL, 'won',  '2024-01-11 12:00:00', '2024-01-15 12:00:00', NULL, '2024-03-01 12:00:00', NULL, NULL, NULL, false),
 ('A2', 'file', '2024-01-10 12:00:00', NULL, NULL, 'ca2', NULL, NULL, 'won',  '2024-01-11 12:00:00', '2024-01-15 12:00:00', NULL, '2024-03-05 12:00:00', NULL, NULL, NULL, false),
 ('A3', 'file', '2024-01-10 12:00:00', NULL, NULL, 'ca3', NULL, NULL, 'lost', '2024-01-11 12:00:00', '2024-01-15 12:00:00', NULL, NULL, '2024-03-10 12:00:00', NULL, NULL, false),
 ('A4', 'file', '2024-02-10 12:00:00', NULL, NULL, 'ca4', NULL, NULL, 'lost', '2024-02-11 12:00:00', NULL, NULL, NULL, '2024-03-01 12:00:00', NULL, NULL, false),
 ('A5', 'file', '2024-08-20 12:00:00', NULL, NULL, 'ca5', NULL, NULL, 'mql',  '2024-08-21 12:00:00', NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('D1', 'file', '2024-08-25 12:00:00', NULL, NULL, 'cd1', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('B1', 'file', '2024-01-12 12:00:00', NULL, NULL, 'cb1', NULL, NULL, 'disqualified', NULL, NULL, NULL, NULL, NULL, '2024-01-13 12:00:00', 'No budget', false),
 ('B2', 'file', '2024-01-12 12:00:00', NULL, NULL, 'cb2', NULL, NULL, 'lost', '2024-01-13 12:00:00', NULL, NULL, NULL, '2024-02-01 12:00:00', NULL, NULL, false),
 ('B3', 'file', '2024-02-01 12:00:00', NULL, NULL, 'cb3', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('B4', 'file', '2024-02-01 12:00:00', NULL, NULL, 'cb4', NULL, NULL, 'won',  '2024-02-02 12:00:00', '2024-02-05 12:00:00', NULL, '2024-04-01 12:00:00', NULL, NULL, NULL, false),
 ('B5', 'file', '2024-01-12 12:00:00', NULL, NULL, 'cb5', NULL, NULL, 'disqualified', NULL, NULL, NULL, NULL, NULL, '2024-01-12 13:00:00', 'Spam', false),
 ('C1', 'file', '2024-03-01 12:00:00', NULL, NULL, 'cc1', NULL, NULL, 'won',  '2024-03-02 12:00:00', '2024-03-05 12:00:00', NULL, '2024-09-01 00:00:00', NULL, NULL, NULL, false),
 ('C2', 'file', '2024-08-01 12:00:00', NULL, NULL, 'cc2', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false);
INSERT INTO raw_fixture__crm_deals VALUES
 ('DA1', 'A1', '2024-02-01 12:00:00', '2024-03-01 12:00:00', 'closedwon', true, false, 10000, 'USD', false),
 ('DA2', 'A2', '2024-02-01 12:00:00', '2024-03-05 12:00:00', 'closedwon', true, false, 20000, 'USD', false),
 ('DB4', 'B4', '2024-03-01 12:00:00', '2024-04-01 12:00:00', 'closedwon', true, false, 1000, 'USD', false),
 ('DC1', 'C1', '2024-06-01 12:00:00', '2024-09-01 00:00:00', 'closedwon', true, false, 6000, 'USD', false);
INSERT INTO raw_fixture__lead_identity VALUES
 ('A1', 'ca1', 'client_id'), ('A2', 'ca2', 'client_id'), ('A3', 'ca3', 'client_id'), ('A4', 'ca4', 'client_id'),
 ('A5', 'ca5', 'client_id'), ('D1', 'cd1', 'client_id'), ('B1', 'cb1', 'client_id'), ('B2', 'cb2', 'client_id'),
 ('B3', 'cb3', 'client_id'), ('B4', 'cb4', 'client_id'), ('B5', 'cb5', 'client_id'), ('C1', 'cc1', 'client_id'),
 ('C2', 'cc2', 'client_id');
`

// TestPredictedValueCohorts checks lead_value_predictions and
// value_calibration on cohortLeads against values computed by hand, with
// k = 2: a channel's p = (won + 2·p_stage)/(leads + 2) and
// avg = (revenue + 2·avg_stage)/(won + 2); a campaign the same toward its
// channel's p and avg.
//
// Stage lead, trained on A1–A4, B1–B4, C1 (9 leads, 4 won, 37000):
// p0 = 4/9, avg0 = 9250.
//
//	Paid Search  4 leads, 2 won, 30000  p = (2 + 8/9)/6 = 13/27   avg = (30000 + 18500)/4 = 12125
//	  brand      3 leads, 2 won, 30000  p = (2 + 26/27)/5 = 16/27 avg = (30000 + 24250)/4 = 13562.5
//	  generic    1 lead: thinner than k, its leads use the channel
//	Paid Social  4 leads, 1 won, 1000   p = (1 + 8/9)/6 = 17/54   avg = (1000 + 18500)/3 = 6500
//	  fb         4 leads, 1 won, 1000   p = (1 + 17/27)/6 = 22/81 avg = (1000 + 13000)/3 = 14000/3
//	Organic      1 lead, 1 won, 6000    p = (1 + 8/9)/3 = 17/27   avg = (6000 + 18500)/3 = 24500/3
//
// Stage mql, trained on A1–A4, B2, B4, C1 (7 leads, 4 won, 37000):
// p0 = 4/7, avg0 = 9250.
//
//	Paid Search  4, 2 won   p = (2 + 8/7)/6 = 11/21        avg = 12125
//	  brand      3, 2 won   p = (2 + 22/21)/5 = 64/105     avg = 13562.5
//	Paid Social  2, 1 won   p = (1 + 8/7)/4 = 15/28        avg = 6500
//	  fb         2, 1 won   p = (1 + 15/14)/4 = 29/56      avg = (1000 + 13000)/3 = 14000/3
//	Organic      1, 1 won   p = (1 + 8/7)/3 = 5/7          avg = 24500/3
//
// Stage sql, trained on A1–A3, B4, C1 (5 leads, 4 won, 37000):
// p0 = 4/5, avg0 = 9250.
//
//	Paid Search  3, 2 won   p = (2 + 1.6)/5 = 18/25        avg = 12125
//	  brand      3, 2 won   p = (2 + 36/25)/5 = 86/125     avg = 13562.5
//	Paid Social  1, 1 won   p = (1 + 1.6)/3 = 13/15        avg = 6500 (fb: 1 lead, thin)
//	Organic      1, 1 won   p = 13/15                      avg = 24500/3
func TestPredictedValueCohorts(t *testing.T) {
	vars := transform.Vars{}
	for k, v := range testVars {
		vars[k] = v
	}
	vars["prediction_prior_strength"] = 2.0
	wh := buildFixtureVars(t, cohortLeads, vars)
	t.Run("predictions", func(t *testing.T) { checkPredictions(t, wh) })
	t.Run("calibration", func(t *testing.T) { checkCalibration(t, wh) })
}

type prediction struct {
	grain       string
	leads, won  int64
	p, avg      float64 // avg NaN: NULL
	channel     string
	campaign    string // "" for NULL
	predicted   float64
	currencyUSD bool
}

func checkPredictions(t *testing.T, wh warehouse.Warehouse) {
	brand := func(leads, won int64, p, avg float64) prediction {
		return prediction{"campaign", leads, won, p, avg, "Paid Search", "brand", 0, true}
	}
	generic := func(leads, won int64, p, avg float64) prediction {
		return prediction{"channel", leads, won, p, avg, "Paid Search", "generic", 0, true}
	}
	fb := func(grain string, leads, won int64, p, avg float64) prediction {
		return prediction{grain, leads, won, p, avg, "Paid Social", "fb", 0, true}
	}
	organic := func(leads, won int64, p, avg float64) prediction {
		return prediction{"channel", leads, won, p, avg, "Organic Search", "", 0, true}
	}
	want := map[string]prediction{
		"A1/lead": brand(3, 2, 16./27, 13562.5), "A2/lead": brand(3, 2, 16./27, 13562.5), "A3/lead": brand(3, 2, 16./27, 13562.5),
		"D1/lead": brand(3, 2, 16./27, 13562.5),
		"A4/lead": generic(4, 2, 13./27, 12125), "A5/lead": generic(4, 2, 13./27, 12125),
		"B1/lead": fb("campaign", 4, 1, 22./81, 14000./3), "B2/lead": fb("campaign", 4, 1, 22./81, 14000./3),
		"B3/lead": fb("campaign", 4, 1, 22./81, 14000./3), "B4/lead": fb("campaign", 4, 1, 22./81, 14000./3),
		"B5/lead": fb("spam", 0, 0, 0, math.NaN()),
		"C1/lead": organic(1, 1, 17./27, 24500./3), "C2/lead": organic(1, 1, 17./27, 24500./3),

		"A1/mql": brand(3, 2, 64./105, 13562.5), "A2/mql": brand(3, 2, 64./105, 13562.5), "A3/mql": brand(3, 2, 64./105, 13562.5),
		"A4/mql": generic(4, 2, 11./21, 12125), "A5/mql": generic(4, 2, 11./21, 12125),
		"B2/mql": fb("campaign", 2, 1, 29./56, 14000./3), "B4/mql": fb("campaign", 2, 1, 29./56, 14000./3),
		"C1/mql": organic(1, 1, 5./7, 24500./3),

		"A1/sql": brand(3, 2, 86./125, 13562.5), "A2/sql": brand(3, 2, 86./125, 13562.5), "A3/sql": brand(3, 2, 86./125, 13562.5),
		"B4/sql": fb("channel", 1, 1, 13./15, 6500),
		"C1/sql": organic(1, 1, 13./15, 24500./3),
	}
	rows := query(t, wh, `select lead_id, stage, cohort_grain, cohort_leads, cohort_won, p_won,
		cast(avg_won_revenue as double), cast(predicted_value as double), channel, coalesce(campaign, ''), currency
		from lead_value_predictions`)
	if len(rows) != len(want) {
		t.Errorf("%d prediction rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		key := r[0].(string) + "/" + r[1].(string)
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected row %s: %v", key, r)
			continue
		}
		got := prediction{
			grain: r[2].(string), leads: toInt(r[3]), won: toInt(r[4]), p: toFloat(r[5]), avg: toFloat(r[6]),
			predicted: toFloat(r[7]), channel: r[8].(string), campaign: r[9].(string), currencyUSD: r[10] == "USD",
		}
		w.predicted = w.p * w.avg
		if w.grain == "spam" {
			w.predicted = 0
		}
		if got.grain != w.grain || got.leads != w.leads || got.won != w.won || got.channel != w.channel ||
			got.campaign != w.campaign || !got.currencyUSD || !nearNaN(got.p, w.p) || !nearNaN(got.avg, w.avg) ||
			!nearNaN(got.predicted, w.predicted) {
			t.Errorf("%s:\n got %+v\nwant %+v", key, got, w)
		}
	}
}

// checkCalibration checks three cells of value_calibration, each fitted
// without its own month (k = 2).
//
// January, stage lead: trained on A4, B3, B4, C1 (4 leads, 2 won, 7000):
// p0 = 1/2, avg0 = 3500. Paid Search is A4 alone: p = (0 + 1)/3 = 1/3,
// avg = (0 + 7000)/2 = 3500; brand does not occur, so A1–A3 take the
// channel: 3 × 3500/3 = 3500 predicted against 30000 won.
// Paid Social is B3, B4: p = (1 + 1)/4 = 1/2, avg = (1000 + 7000)/3 = 8000/3;
// fb (2 leads): p = (1 + 1)/4 = 1/2, avg = (1000 + 16000/3)/3 = 19000/9; B1, B2
// (B5 is spam) predict 2 × 9500/9 against nothing won.
//
// March, stage sql: trained on A1–A3, B4 (4 leads, 3 won, 31000): p0 = 3/4,
// avg0 = 31000/3; no Organic history, so C1 takes the stage: 7750 predicted
// against 6000 won.
func checkCalibration(t *testing.T, wh warehouse.Warehouse) {
	type cell struct {
		leads, realisedWon           int64
		predictedWon, predicted, won float64
		ratio                        float64 // NaN: NULL
	}
	want := map[string]cell{
		"2024-01-01/lead/Paid Search":   {3, 2, 1, 3500, 30000, 3500.0 / 30000},
		"2024-01-01/lead/Paid Social":   {2, 0, 1, 19000. / 9, 0, math.NaN()},
		"2024-03-01/sql/Organic Search": {1, 1, 0.75, 7750, 6000, 7750.0 / 6000},
	}
	months := map[string]bool{}
	for _, r := range query(t, wh, `select cast(lead_month as varchar), stage, channel, leads, realised_won, predicted_won,
		cast(predicted_value_sum as double), cast(realised_won_revenue as double), ratio from value_calibration`) {
		months[r[0].(string)] = true
		key := fmt.Sprintf("%s/%s/%s", r[0], r[1], r[2])
		w, ok := want[key]
		if !ok {
			continue
		}
		delete(want, key)
		got := cell{toInt(r[3]), toInt(r[4]), toFloat(r[5]), toFloat(r[6]), toFloat(r[7]), toFloat(r[8])}
		if got.leads != w.leads || got.realisedWon != w.realisedWon || !near(got.predictedWon, w.predictedWon) ||
			!near(got.predicted, w.predicted) || !near(got.won, w.won) || !nearNaN(got.ratio, w.ratio) {
			t.Errorf("%s:\n got %+v\nwant %+v", key, got, w)
		}
	}
	for key := range want {
		t.Errorf("value_calibration has no row %s", key)
	}
	// August's leads are all young: nothing to back-test.
	if len(months) != 3 || !months["2024-01-01"] || !months["2024-02-01"] || !months["2024-03-01"] {
		t.Errorf("back-tested months %v, want January to March 2024", months)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	return -1
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case nil:
		return math.NaN()
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return math.Inf(1)
}

// nearNaN is near, with NaN (NULL) equal only to NaN.
func nearNaN(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return near(a, b)
}
