package attribution_test

import (
	"math"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// journeys holds small hand-made journeys. Every lead is created on
// 2024-03-20 12:00 UTC.
//
//	L1  one touch: s1 Paid Search (form session)                  SQL
//	L2  two touches: s2a Organic Search 10 d before, s2b Direct 1 h before (form)
//	    won: 1000 EUR closed 2024-04-15 at EUR->USD 1.1
//	L3  four touches over two linked client keys (c3, c3b):
//	    s3a Paid Social 30 d, s3b Email 20 d, s3c Direct 5 d, s3d Paid Search 1 h (form);
//	    s3x 91 d before and s3y a day after creation are outside the window;
//	    won 5000 USD on 2024-05-01, known only from stage history and the deal
//	L4  all Direct, never engaged: s4a 3 d, s4b 1 d            spam: no engaged session
//	L5  equal timestamps: s5a Referral and s5b Email, both 2 d before
//	L6  no web touchpoint, disqualified as Spam                  Unattributed
//	L7  deleted
//	L8  Display, form submitted 4 s after landing                spam: bot speed
//	c9  a visitor who never became a lead: s9 Paid Social
const journeys = `
INSERT INTO raw_fixture__ga4_sessions (session_key, client_key, user_id, session_start_ts, session_end_ts,
  session_date, landing_page, is_engaged, event_count, page_views, source, medium, campaign, gclid, channel) VALUES
 ('s1',  'c1',  NULL, '2024-03-20 11:00:00', '2024-03-20 11:10:00', '2024-03-20', '/pricing', true,  5, 2, 'google', 'cpc', 'brand', 'g1', 'Paid Search'),
 ('s2a', 'c2',  NULL, '2024-03-10 12:00:00', '2024-03-10 12:10:00', '2024-03-10', '/',        true,  5, 2, 'google', 'organic', NULL, NULL, 'Organic Search'),
 ('s2b', 'c2',  NULL, '2024-03-20 11:00:00', '2024-03-20 11:15:00', '2024-03-20', '/',        true,  5, 2, '(direct)', '(none)', NULL, NULL, 'Direct'),
 ('s3a', 'c3',  NULL, '2024-02-19 12:00:00', '2024-02-19 12:10:00', '2024-02-19', '/',        true,  5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social'),
 ('s3b', 'c3b', NULL, '2024-02-29 12:00:00', '2024-02-29 12:10:00', '2024-02-29', '/',        true,  5, 2, 'newsletter', 'email', 'nl', NULL, 'Email'),
 ('s3c', 'c3',  NULL, '2024-03-15 12:00:00', '2024-03-15 12:10:00', '2024-03-15', '/',        true,  5, 2, '(direct)', '(none)', NULL, NULL, 'Direct'),
 ('s3d', 'c3b', NULL, '2024-03-20 11:00:00', '2024-03-20 11:40:00', '2024-03-20', '/demo',    true,  5, 2, 'google', 'cpc', 'brand', 'g3', 'Paid Search'),
 ('s3x', 'c3',  NULL, '2023-12-20 12:00:00', '2023-12-20 12:10:00', '2023-12-20', '/',        true,  5, 2, 'google', 'organic', NULL, NULL, 'Organic Search'),
 ('s3y', 'c3',  NULL, '2024-03-21 12:00:00', '2024-03-21 12:10:00', '2024-03-21', '/',        true,  5, 2, 'google', 'organic', NULL, NULL, 'Organic Search'),
 ('s4a', 'c4',  NULL, '2024-03-17 12:00:00', '2024-03-17 12:00:05', '2024-03-17', '/',        false, 1, 1, '(direct)', '(none)', NULL, NULL, 'Direct'),
 ('s4b', 'c4',  NULL, '2024-03-19 12:00:00', '2024-03-19 12:00:05', '2024-03-19', '/',        false, 1, 1, '(direct)', '(none)', NULL, NULL, 'Direct'),
 ('s5b', 'c5',  NULL, '2024-03-18 12:00:00', '2024-03-18 12:10:00', '2024-03-18', '/',        true,  5, 2, 'newsletter', 'email', 'nl', NULL, 'Email'),
 ('s5a', 'c5',  NULL, '2024-03-18 12:00:00', '2024-03-18 12:10:00', '2024-03-18', '/',        true,  5, 2, 'g2.com', 'referral', NULL, NULL, 'Referral'),
 ('s8',  'c8',  NULL, '2024-03-20 11:59:50', '2024-03-20 11:59:55', '2024-03-20', '/demo',    false, 4, 1, 'criteo', 'display', 'banners', NULL, 'Display'),
 ('s9',  'c9',  NULL, '2024-03-05 12:00:00', '2024-03-05 12:10:00', '2024-03-05', '/',        true,  5, 2, 'facebook', 'paid_social', 'fb', NULL, 'Paid Social');
UPDATE raw_fixture__ga4_sessions SET ga_session_id = cast(1000 + cast(substr(session_key, 2, 1) AS INTEGER) AS BIGINT)
 WHERE session_key IN ('s1', 's2b', 's3d', 's8');
INSERT INTO raw_fixture__ga4_lead_submissions VALUES
 ('sub1', 'c1',  's1',  'demo', '2024-03-20 11:05:00', NULL, 'g1'),
 ('sub2', 'c2',  's2b', 'contact', '2024-03-20 11:10:00', NULL, NULL),
 ('sub3', 'c3b', 's3d', 'demo', '2024-03-20 11:30:00', NULL, 'g3'),
 ('sub8', 'c8',  's8',  'demo', '2024-03-20 11:59:54', NULL, NULL);
INSERT INTO raw_fixture__crm_leads VALUES
 ('L1', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c1', 'g1', NULL, 'sql', '2024-03-21 09:00:00', '2024-03-22 09:00:00', NULL, NULL, NULL, NULL, NULL, false),
 ('L2', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c2', NULL, NULL, 'won', '2024-03-21 09:00:00', '2024-03-25 09:00:00', '2024-03-28 09:00:00', '2024-04-15 10:00:00', NULL, NULL, NULL, false),
 ('L3', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c3', 'g3', NULL, 'won', NULL, '2024-03-25 09:00:00', NULL, NULL, NULL, NULL, NULL, false),
 ('L4', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c4', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('L5', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c5', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('L6', 'file', '2024-03-20 12:00:00', NULL, NULL, NULL, NULL, NULL, 'disqualified', NULL, NULL, NULL, NULL, NULL, '2024-03-21 09:00:00', 'Spam', false),
 ('L7', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c1', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, true),
 ('L8', 'file', '2024-03-20 12:00:00', NULL, NULL, 'c8', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false);
INSERT INTO raw_fixture__crm_deals VALUES
 ('D2',  'L2', '2024-03-28 09:00:00', '2024-04-15 10:00:00', 'closedwon',  true,  false, 1000, 'EUR', false),
 ('D3',  'L3', '2024-04-01 09:00:00', '2024-05-01 00:00:00', 'closedwon',  true,  false, 5000, 'USD', false),
 ('D3b', 'L3', '2024-04-01 09:00:00', '2024-04-20 00:00:00', 'closedlost', false, true,  200,  'USD', false),
 ('D1',  'L1', '2024-03-25 09:00:00', '2024-03-30 00:00:00', 'closedwon',  true,  false, 999,  'USD', true);
INSERT INTO raw_fixture__crm_stage_history VALUES
 ('L3', 'sql', '2024-03-25 09:00:00'),
 ('L3', 'won', '2024-05-01 00:00:00');
INSERT INTO raw_fixture__lead_identity VALUES
 ('L1', 'c1', 'client_id'), ('L1', 'c1', 'gclid'),
 ('L2', 'c2', 'client_id'),
 ('L3', 'c3', 'client_id'), ('L3', 'c3b', 'gclid'),
 ('L4', 'c4', 'client_id'),
 ('L5', 'c5', 'client_id'),
 ('L7', 'c1', 'client_id'),
 ('L8', 'c8', 'client_id');
INSERT INTO raw_spend__daily VALUES
 ('2024-03-01', 'google', 'cpc', 'brand', 100, 'USD', 'google.csv', 2, '2024-03-05 00:00:00'),
 ('2024-03-04', 'google', 'cpc', 'brand', 50, 'USD', 'google.csv', 3, '2024-03-05 00:00:00'),
 ('2024-03-02', 'facebook', 'paid_social', 'fb', 50, 'EUR', 'meta.csv', 2, '2024-03-05 00:00:00'),
 ('2024-03-03', 'criteo', 'display', 'banners', 20, 'GBP', 'criteo.csv', 2, '2024-03-05 00:00:00');
INSERT INTO raw_fx__rates VALUES
 ('2024-02-28', 'EUR', 'USD', 1.05, 'fx.csv', 2, '2024-03-05 00:00:00'),
 ('2024-04-01', 'EUR', 'USD', 1.1, 'fx.csv', 3, '2024-03-05 00:00:00'),
 ('2024-05-01', 'EUR', 'USD', 1.2, 'fx.csv', 4, '2024-03-05 00:00:00');
`

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < eps }

// decay is the time_decay weight of a touch d days before the lead.
func decay(d float64) float64 { return math.Pow(2, -d/7) }

// TestJourneys builds the journeys once and checks every model on them.
func TestJourneys(t *testing.T) {
	wh := buildFixture(t, journeys)
	t.Run("attribution models", func(t *testing.T) { checkAttribution(t, wh) })
	t.Run("lead revenue fact", func(t *testing.T) { checkLeadRevenueFact(t, wh) })
	t.Run("spend staging", func(t *testing.T) { checkSpendStaging(t, wh) })
	t.Run("channel performance", func(t *testing.T) { checkChannelPerformance(t, wh) })
}

func checkAttribution(t *testing.T, wh warehouse.Warehouse) {

	oneHour := 1.0 / 24
	wa, wb := decay(10), decay(oneHour)
	w3 := []float64{decay(30), decay(20), decay(5), decay(oneHour)}
	sum3 := w3[0] + w3[1] + w3[2] + w3[3]
	type want map[string]float64
	cases := []struct {
		name, lead, stage string
		models            map[string]want
	}{
		{"single touch", "L1", "lead", map[string]want{
			"first_touch": {"s1": 1}, "last_touch": {"s1": 1}, "last_non_direct": {"s1": 1}, "linear": {"s1": 1},
			"time_decay": {"s1": 1}, "position_based": {"s1": 1}, "markov": {"s1": 1},
		}},
		{"single touch at stage sql", "L1", "sql", map[string]want{
			"first_touch": {"s1": 1}, "markov": {"s1": 1},
		}},
		{"two touches", "L2", "lead", map[string]want{
			"first_touch":     {"s2a": 1, "s2b": 0},
			"last_touch":      {"s2a": 0, "s2b": 1},
			"last_non_direct": {"s2a": 1, "s2b": 0},
			"linear":          {"s2a": 0.5, "s2b": 0.5},
			"position_based":  {"s2a": 0.5, "s2b": 0.5},
			"time_decay":      {"s2a": wa / (wa + wb), "s2b": wb / (wa + wb)},
		}},
		{"two touches at stage won", "L2", "won", map[string]want{
			"last_non_direct": {"s2a": 1, "s2b": 0},
		}},
		{"many touches, two client keys, window", "L3", "lead", map[string]want{
			"first_touch":     {"s3a": 1, "s3b": 0, "s3c": 0, "s3d": 0},
			"last_touch":      {"s3a": 0, "s3b": 0, "s3c": 0, "s3d": 1},
			"last_non_direct": {"s3a": 0, "s3b": 0, "s3c": 0, "s3d": 1},
			"linear":          {"s3a": 0.25, "s3b": 0.25, "s3c": 0.25, "s3d": 0.25},
			"position_based":  {"s3a": 0.4, "s3b": 0.1, "s3c": 0.1, "s3d": 0.4},
			"time_decay":      {"s3a": w3[0] / sum3, "s3b": w3[1] / sum3, "s3c": w3[2] / sum3, "s3d": w3[3] / sum3},
		}},
		{"all Direct", "L4", "lead", map[string]want{
			"first_touch":     {"s4a": 1, "s4b": 0},
			"last_non_direct": {"s4a": 0, "s4b": 1},
			"time_decay":      {"s4a": decay(3) / (decay(3) + decay(1)), "s4b": decay(1) / (decay(3) + decay(1))},
			"markov":          {"s4a": 0.5, "s4b": 0.5}, // one channel: its touches share equally
		}},
		{"equal timestamps order by session key", "L5", "lead", map[string]want{
			"first_touch":     {"s5a": 1, "s5b": 0},
			"last_touch":      {"s5a": 0, "s5b": 1},
			"last_non_direct": {"s5a": 0, "s5b": 1},
			"time_decay":      {"s5a": 0.5, "s5b": 0.5},
		}},
		{"no touchpoint", "L6", "lead", map[string]want{
			"first_touch": {"Unattributed": 1}, "last_touch": {"Unattributed": 1}, "last_non_direct": {"Unattributed": 1},
			"linear": {"Unattributed": 1}, "time_decay": {"Unattributed": 1}, "position_based": {"Unattributed": 1},
			"markov": {"Unattributed": 1},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := credits(t, wh, c.lead, c.stage)
			if len(got) != 10 {
				t.Errorf("%s/%s has %d models, want 10: %v", c.lead, c.stage, len(got), got)
			}
			for model, w := range c.models {
				if len(got[model]) != len(w) {
					t.Errorf("%s: touches %v, want %v", model, got[model], w)
					continue
				}
				for touch, credit := range w {
					if g, ok := got[model][touch]; !ok || !near(g, credit) {
						t.Errorf("%s: credit of %s = %v, want %v", model, touch, g, credit)
					}
				}
			}
		})
	}

	// No lead is attributed at a stage it never reached.
	if rows := query(t, wh, `select count(*) from attribution_touchpoints where lead_id in ('L1', 'L4') and stage = 'won'`); rows[0][0].(int64) != 0 {
		t.Errorf("unwon leads have %v won-stage rows", rows[0][0])
	}
	// Revenue credit is credit times the lead's reporting-currency revenue.
	// L3's won journey has five touches (s3y came after its creation), so
	// s3b, one of three middle touches, earns 0.2/3 of 5000.
	rows := query(t, wh, `select cast(revenue_credit as varchar) from attribution_touchpoints
		where lead_id = 'L3' and stage = 'won' and model = 'position_based' and session_key = 's3b'`)
	if len(rows) != 1 || rows[0][0] != "333.333333333" {
		t.Errorf("L3 position_based s3b revenue credit = %v, want 333.333333333", rows)
	}
}

func checkLeadRevenueFact(t *testing.T, wh warehouse.Warehouse) {
	cols := `lead_id, client_key, array_to_string(client_keys, ','), first_touch_session_key, first_touch_channel,
		last_touch_session_key, last_touch_channel, lead_form_session_key, lead_form_ga_session_id, lead_form_form_id,
		lead_form_channel, cast(revenue as varchar), currency, cast(revenue_reporting as varchar), days_to_won,
		is_spam, spam_reason, touchpoint_count, won_at, sql_at`
	got := map[string][]any{}
	for _, r := range query(t, wh, "select "+cols+" from fct_lead_revenue order by lead_id") {
		got[r[0].(string)] = r
	}
	if len(got) != 7 || got["L7"] != nil {
		t.Fatalf("leads = %v, want L1-L6 and L8 (L7 is deleted)", len(got))
	}
	str := func(v any) string { return nullString(v).String }
	check := func(lead string, col int, want any) {
		t.Helper()
		g := got[lead][col]
		switch w := want.(type) {
		case float64:
			if f, ok := g.(float64); !ok || !near(f, w) {
				t.Errorf("%s column %d = %v, want %v", lead, col, g, w)
			}
		case nil:
			if g != nil {
				t.Errorf("%s column %d = %v, want NULL", lead, col, g)
			}
		case time.Time:
			if tm, ok := g.(time.Time); !ok || !tm.Equal(w) {
				t.Errorf("%s column %d = %v, want %v", lead, col, g, w)
			}
		default:
			if str(g) != warehouse.Format(w) {
				t.Errorf("%s column %d = %v, want %v", lead, col, g, w)
			}
		}
	}
	// L3: two client keys, the form's key is the primary one; the window
	// keeps four of six sessions; won from history and the deal.
	check("L3", 1, "c3b")
	check("L3", 2, "c3,c3b")
	check("L3", 3, "s3a")
	check("L3", 4, "Paid Social")
	check("L3", 5, "s3d")
	check("L3", 6, "Paid Search")
	check("L3", 7, "s3d")
	check("L3", 8, int64(1003))
	check("L3", 9, "demo")
	check("L3", 10, "Paid Search")
	check("L3", 11, "5000.000000000")
	check("L3", 12, "USD")
	check("L3", 13, "5000.000000000")
	check("L3", 14, 41.5)
	check("L3", 17, int64(4))
	check("L3", 18, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	// L2: revenue in EUR, converted at the rate valid on the close date.
	check("L2", 11, "1000.000000000")
	check("L2", 12, "EUR")
	check("L2", 13, "1100.000000000")
	check("L2", 14, 25+22.0/24)
	// L1's only won deal is deleted.
	check("L1", 11, nil)
	check("L1", 18, nil)
	check("L1", 15, false)
	// Spam and its reasons.
	check("L4", 15, true)
	check("L4", 16, "no_engaged_session")
	check("L4", 1, "c4")
	check("L6", 15, true)
	check("L6", 16, "crm_disqualified: Spam")
	check("L6", 17, int64(0))
	check("L6", 1, nil)
	check("L8", 15, true)
	check("L8", 16, "form_submitted_within_10s_of_landing")
	check("L5", 15, false)
}

func checkSpendStaging(t *testing.T, wh warehouse.Warehouse) {
	rows := query(t, wh, `select source, channel, currency, cast(cost_reporting as varchar), fx_missing
		from stg_spend__daily order by spend_date`)
	want := [][]any{
		{"google", "Paid Search", "USD", "100.000000000", false},
		{"facebook", "Paid Social", "EUR", "52.500000000", false}, // 50 EUR at the 2024-02-28 rate 1.05
		{"criteo", "Display", "GBP", nil, true},                   // no GBP rate: flagged, never zero
		{"google", "Paid Search", "USD", "50.000000000", false},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v, want %v", rows, want)
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d column %d = %v, want %v", i, j, rows[i][j], want[i][j])
			}
		}
	}
}

func checkChannelPerformance(t *testing.T, wh warehouse.Warehouse) {
	type perf struct {
		spend, sessions, leads, spam, sqls, won, revenue float64
		unconverted                                      int64
		cpl, roas, median                                any
	}
	got := map[string]perf{}
	for _, r := range query(t, wh, `select cast(month as varchar) || ' ' || channel, cast(spend as double), sessions, leads,
		spam_leads, sqls, won, cast(revenue as double), spend_rows_unconverted, cost_per_lead, roas, median_days_to_revenue
		from channel_performance where model = 'last_non_direct'`) {
		f := func(v any) float64 {
			switch x := v.(type) {
			case float64:
				return x
			case int64:
				return float64(x)
			}
			return math.NaN()
		}
		got[r[0].(string)] = perf{f(r[1]), f(r[2]), f(r[3]), f(r[4]), f(r[5]), f(r[6]), f(r[7]), r[8].(int64), r[9], r[10], r[11]}
	}
	checks := []struct {
		key  string
		want perf
	}{
		// spend 100 + 50; sessions s1, s3d; leads L1, L3; the SQL of L1 in
		// March (L3's SQL journey ends with s3y, Organic Search, after creation)
		{"2024-03-01 Paid Search", perf{spend: 150, sessions: 2, leads: 2, sqls: 1, cpl: 75.0}},
		// sessions s2a, s3y; L2's lead; L2's SQL, and L3's through its post-lead s3y
		{"2024-03-01 Organic Search", perf{sessions: 2, leads: 1, sqls: 2}},
		// L3 won in May: 5000 USD, 41.5 days after creation, its won journey
		// ending with s3y
		{"2024-05-01 Organic Search", perf{won: 1, revenue: 5000, median: 41.5}},
		// 50 EUR at 1.05; s9 (s3a is in February); no lead under last_non_direct
		{"2024-03-01 Paid Social", perf{spend: 52.5, sessions: 1}},
		// GBP spend has no rate: counted as unconverted, not as zero-cost spend
		{"2024-03-01 Display", perf{sessions: 1, leads: 1, spam: 1, unconverted: 1}},
		{"2024-04-01 Organic Search", perf{won: 1, revenue: 1100, median: 25 + 22.0/24}},
		{"2024-03-01 Unattributed", perf{leads: 1, spam: 1}},
	}
	for _, c := range checks {
		g, ok := got[c.key]
		if !ok {
			t.Errorf("%s: no row", c.key)
			continue
		}
		w := c.want
		if !near(g.spend, w.spend) || !near(g.sessions, w.sessions) || !near(g.leads, w.leads) || !near(g.spam, w.spam) ||
			!near(g.sqls, w.sqls) || !near(g.won, w.won) || !near(g.revenue, w.revenue) || g.unconverted != w.unconverted {
			t.Errorf("%s = %+v, want %+v", c.key, g, w)
		}
		if w.cpl != nil && (g.cpl == nil || !near(g.cpl.(float64), w.cpl.(float64))) {
			t.Errorf("%s cost per lead = %v, want %v", c.key, g.cpl, w.cpl)
		}
		if w.median != nil && (g.median == nil || !near(g.median.(float64), w.median.(float64))) {
			t.Errorf("%s median days to revenue = %v, want %v", c.key, g.median, w.median)
		}
	}
	if g := got["2024-05-01 Organic Search"]; g.roas != nil {
		t.Errorf("ROAS without spend = %v, want NULL", g.roas)
	}

	// The cohort view: L3 (March) paid back two months later, through
	// Organic Search (s3y) under last_non_direct at stage won.
	rows := query(t, wh, `select months_to_revenue, cohort_leads, won, cast(cumulative_revenue as double)
		from channel_cohorts where model = 'last_non_direct' and channel = 'Organic Search' and lead_month = '2024-03-01'
		and months_to_revenue = 2`)
	if len(rows) != 1 || rows[0][0].(int64) != 2 || !near(rows[0][1].(float64), 1) || !near(rows[0][2].(float64), 1) || !near(rows[0][3].(float64), 6100) {
		t.Errorf("Organic Search March cohort = %v, want [[2 1 1 6100]]", rows)
	}
}
