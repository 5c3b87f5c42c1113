package attribution_test

import "testing"

// campaignSpend adds spend to milestoneJourneys, whose sessions carry the
// campaigns brand (Paid Search), fb (Paid Social) and nl (Email): names
// spelled differently from the sessions', a campaign no session carries, a
// row without a campaign and a row without an FX rate.
const campaignSpend = `
INSERT INTO raw_spend__daily VALUES
 ('2024-06-01', 'google', 'cpc', ' Brand ', 100, 'USD', 'google.csv', 2, '2024-06-05 00:00:00'),
 ('2024-06-02', 'facebook', 'paid_social', 'FB', 40, 'USD', 'meta.csv', 2, '2024-06-05 00:00:00'),
 ('2024-06-03', 'google', 'cpc', 'Summer+Sale', 30, 'USD', 'google.csv', 3, '2024-06-05 00:00:00'),
 ('2024-06-04', 'google', 'cpc', '', 20, 'USD', 'google.csv', 4, '2024-06-05 00:00:00'),
 ('2024-06-05', 'criteo', 'display', 'banners', 10, 'GBP', 'criteo.csv', 2, '2024-06-05 00:00:00');
`

func TestCampaignPerformance(t *testing.T) {
	wh := buildFixture(t, milestoneJourneys+campaignSpend)
	type perf struct {
		spend                                  float64
		rows, unconverted, unmatched, sessions int64
		leads, won, revenue                    float64
		cpl, cac, roas                         any
	}
	got := map[string]perf{}
	for _, r := range query(t, wh, `select channel || ' ' || coalesce(campaign, '(channel)'), cast(spend as double), spend_rows,
		spend_rows_unconverted, spend_rows_unmatched, sessions, leads, won, cast(revenue as double), cost_per_lead, cac, roas
		from campaign_performance where model = 'last_touch' and month = '2024-06-01'`) {
		got[r[0].(string)] = perf{r[1].(float64), r[2].(int64), r[3].(int64), r[4].(int64), r[5].(int64),
			r[6].(float64), r[7].(float64), r[8].(float64), r[9], r[10], r[11]}
	}
	checks := []struct {
		key  string
		want perf
	}{
		// ' Brand ' matches the sessions' brand: m1, n_c, p_b, q_a; their four
		// leads under last_touch; M1 won (200 USD) in June through m1
		{"Paid Search brand", perf{spend: 100, rows: 1, sessions: 4, leads: 4, won: 1, revenue: 200, cpl: 25.0, cac: 100.0, roas: 2.0}},
		// FB matches n_d's fb; no lead's last touch
		{"Paid Social fb", perf{spend: 40, rows: 1, sessions: 1}},
		// no session carries summer sale: kept and counted as unmatched
		{"Paid Search summer sale", perf{spend: 30, rows: 1, unmatched: 1}},
		// no campaign: the channel's fallback row
		{"Paid Search (channel)", perf{spend: 20, rows: 1}},
		// no GBP rate: counted, not valued; no Display session either
		{"Display banners", perf{rows: 1, unconverted: 1, unmatched: 1}},
	}
	for _, c := range checks {
		g, ok := got[c.key]
		if !ok {
			t.Errorf("%s: no row in %v", c.key, got)
			continue
		}
		w := c.want
		if !near(g.spend, w.spend) || g.rows != w.rows || g.unconverted != w.unconverted || g.unmatched != w.unmatched ||
			g.sessions != w.sessions || !near(g.leads, w.leads) || !near(g.won, w.won) || !near(g.revenue, w.revenue) {
			t.Errorf("%s = %+v, want %+v", c.key, g, w)
		}
		for name, pair := range map[string][2]any{"cost per lead": {g.cpl, w.cpl}, "CAC": {g.cac, w.cac}, "ROAS": {g.roas, w.roas}} {
			if pair[1] != nil && (pair[0] == nil || !near(pair[0].(float64), pair[1].(float64))) {
				t.Errorf("%s %s = %v, want %v", c.key, name, pair[0], pair[1])
			}
		}
	}
}
