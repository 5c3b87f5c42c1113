package attribution_test

import (
	"maps"
	"strings"
	"testing"
)

// Shapley by hand on markovJourneys (fractribution's rule: a touch earns
// max(P(path) − P(path without it), 0), normalised over the path).
//
// Stage lead: Search > Social was taken by A (converted) and Y (not), so
// P = 1/2; Social alone (B) P = 1; Search alone (X) P = 0. On Search >
// Social, Search earns max(1/2 − P(Social), 0) = 0 and Social 1/2 − P(Search)
// = 1/2: normalised, Search 0 and Social 1. B's one-touch path gives Social 1.
//
// Stage won: only A converts, so P(Search > Social) = 1/2 and P(Social) =
// P(Search) = 0: each touch earns 1/2, normalised 1/2 each. Stage sql is
// the same (A alone reached SQL). Stage opportunity (A's won deal implies
// it) has no counted paths, so shapley falls back to linear.
func TestShapleyByHand(t *testing.T) {
	wh := buildFixture(t, markovJourneys)

	want := map[string]map[string]map[string]float64{
		"A": {
			"lead":        {"a1": 0, "a2": 1},
			"sql":         {"a1": 0.5, "a2": 0.5},
			"opportunity": {"a1": 0.5, "a2": 0.5},
			"won":         {"a1": 0.5, "a2": 0.5},
		},
		"B": {"lead": {"b1": 1}},
		"C": {"lead": {"Unattributed": 1}},
	}
	for lead, stages := range want {
		for stage, w := range stages {
			got := credits(t, wh, lead, stage)["shapley"]
			if len(got) != len(w) {
				t.Errorf("lead %s shapley credits at %s = %v, want %v", lead, stage, got, w)
				continue
			}
			for touch, c := range w {
				if g, ok := got[touch]; !ok || !near(g, c) {
					t.Errorf("lead %s shapley credit of %s at %s = %v, want %v", lead, touch, stage, g, c)
				}
			}
		}
	}

	// The path credits A's touches read, keyed by the path as counted.
	rows := query(t, wh, `select stage || ' ' || path || ' ' || touch_key, channel, credit
		from int_shapley_touch_credits order by 1`)
	wantRows := map[string]float64{
		"lead Paid Search > Paid Social Paid Search": 0,
		"lead Paid Search > Paid Social Paid Social": 1,
		"lead Paid Social Paid Social":               1,
		"sql Paid Search > Paid Social Paid Search":  0.5,
		"sql Paid Search > Paid Social Paid Social":  0.5,
		"won Paid Search > Paid Social Paid Search":  0.5,
		"won Paid Search > Paid Social Paid Social":  0.5,
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("int_shapley_touch_credits = %v, want %d rows", rows, len(wantRows))
	}
	for _, r := range rows {
		w, ok := wantRows[r[0].(string)]
		if !ok || !near(r[2].(float64), w) || !strings.HasSuffix(r[0].(string), r[1].(string)) {
			t.Errorf("%s: channel %v credit %v, want credit %v", r[0], r[1], r[2], w)
		}
	}
}

// campaignJourneys is markovJourneys with campaigns on the Search touches:
// a1 and x1 in Brand, y1 and z3 in "generic terms", spelt two ways that
// campaign_key normalises alike. Social touches carry none and stay Paid
// Social.
var campaignJourneys = strings.NewReplacer(
	`('a1', 'ca', NULL, '2024-03-10 12:00:00', NULL, '2024-03-10', '/', true, 3, 2, 'google', 'cpc', NULL`,
	`('a1', 'ca', NULL, '2024-03-10 12:00:00', NULL, '2024-03-10', '/', true, 3, 2, 'google', 'cpc', 'Brand'`,
	`('x1', 'cx', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', NULL`,
	`('x1', 'cx', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', ' brand'`,
	`('y1', 'cy', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', NULL`,
	`('y1', 'cy', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', 'Generic+Terms'`,
	`('z3', 'cz', NULL, '2024-03-03 12:00:00', NULL, '2024-03-03', '/', true, 3, 2, 'google', 'cpc', NULL`,
	`('z3', 'cz', NULL, '2024-03-03 12:00:00', NULL, '2024-03-03', '/', true, 3, 2, 'google', 'cpc', 'generic%20terms'`,
).Replace(markovJourneys)

// Markov at campaign grain by hand, stage lead. States B = Paid Search /
// brand, G = Paid Search / generic terms, S = Paid Social:
//
//	(start) -> B 2/5 (A, X), G 1/5 (Y), S 2/5 (B, Z)
//	B -> S 1/2 (A), (null) 1/2 (X)       G -> S 1/2 (Y), (null) 1/2 (Z)
//	S -> (conversion) 2/5, (null) 1/5, S 1/5, G 1/5
//
// b = g = s/2, s = 2/5 + s/5 + g/5 give s = 4/7, b = g = 2/7 and P =
// 2/5·2/7 + 1/5·2/7 + 2/5·4/7 = 2/5. Without B: P = 1/5·2/7 + 2/5·4/7 =
// 2/7, removal effect 1 − (2/7)/(2/5) = 2/7. Without G: s = 2/5 + s/5 =
// 1/2, b = 1/4, P = 2/5·1/4 + 2/5·1/2 = 3/10, removal effect 1/4. Without
// S nothing converts: 1. Lead A (B then S) gets 2/7 : 1, so 2/9 and 7/9.
func TestMarkovAtCampaignGrain(t *testing.T) {
	vars := maps.Clone(testVars)
	vars["markov_grain"] = "campaign"
	wh := buildFixtureVars(t, campaignJourneys, vars)

	want := map[string]float64{
		"Paid Search / brand":         2.0 / 7,
		"Paid Search / generic terms": 1.0 / 4,
		"Paid Social":                 1,
	}
	rows := query(t, wh, `select touch_key, channel, removal_effect from int_markov_removal_effects where stage = 'lead'`)
	if len(rows) != len(want) {
		t.Fatalf("removal effects = %v, want %v", rows, want)
	}
	for _, r := range rows {
		w, ok := want[r[0].(string)]
		if !ok || r[1] != r[0] || !near(r[2].(float64), w) {
			t.Errorf("%v (state %v): removal effect %v, want %v", r[0], r[1], r[2], w)
		}
	}
	got := credits(t, wh, "A", "lead")["markov"]
	if len(got) != 2 || !near(got["a1"], 2.0/9) || !near(got["a2"], 7.0/9) {
		t.Errorf("lead A markov credits = %v, want a1 2/9, a2 7/9", got)
	}
}

// At source/medium grain markovJourneys has the same two states under other
// names, so the removal effects and credits are those of TestMarkovByHand.
func TestMarkovAtSourceMediumGrain(t *testing.T) {
	vars := maps.Clone(testVars)
	vars["markov_grain"] = "source_medium"
	wh := buildFixtureVars(t, markovJourneys, vars)

	want := map[string]float64{"google / cpc": 1.0 / 2, "facebook / paid_social": 1}
	rows := query(t, wh, `select touch_key, removal_effect from int_markov_removal_effects where stage = 'lead'`)
	if len(rows) != len(want) {
		t.Fatalf("removal effects = %v, want %v", rows, want)
	}
	for _, r := range rows {
		if w, ok := want[r[0].(string)]; !ok || !near(r[1].(float64), w) {
			t.Errorf("%v: removal effect %v, want %v", r[0], r[1], w)
		}
	}
	got := credits(t, wh, "A", "lead")["markov"]
	if len(got) != 2 || !near(got["a1"], 1.0/3) || !near(got["a2"], 2.0/3) {
		t.Errorf("lead A markov credits = %v, want a1 1/3, a2 2/3", got)
	}
}
