package attribution_test

import (
	"testing"
	"time"
)

// offlineTouches adds non-web touches to the journeys (acceptance 3 of
// issue 17). L2 (sessions s2a Organic Search 10 d before, s2b Direct 1 h
// before, its form session; SQL 03-25 09:00, opportunity 03-28 09:00, won
// 04-15 10:00) gains:
//
//	W   a webinar 5 d before creation, named by lead id      channel Webinars (type mapping)
//	M   a meeting on 03-26 09:00, after SQL and before the opportunity,
//	    named by email hash only                             channel Sales Meetings
//
// and touches that must change nothing: one 91 d before (outside the
// window), a deleted one, a campaign member that never responded (no
// touched_at) and one for a lead that does not exist. Channels are what
// stg_crm__touches derives from the types (touch_channel).
const offlineTouches = `
UPDATE raw_fixture__crm_leads SET email_sha256 = '` + l2Hash + `' WHERE lead_id = 'L2';
INSERT INTO raw_fixture__crm_touches VALUES
 ('W',   'file',       'L2', NULL, 'webinar', '2024-03-15 12:00:00', 'Webinars', NULL, NULL, 'Spring webinar', NULL, false),
 ('M',   'file',       NULL, '` + l2Hash + `', 'meeting', '2024-03-26 09:00:00', 'Sales Meetings', NULL, NULL, NULL, NULL, false),
 ('OLD', 'file',       'L2', NULL, 'event', '2023-12-20 11:00:00', 'Events', NULL, NULL, NULL, NULL, false),
 ('DEL', 'file',       'L2', NULL, 'call', '2024-03-16 12:00:00', 'Sales Calls', NULL, NULL, NULL, NULL, true),
 ('CM',  'salesforce', 'L2', NULL, 'campaign_member', NULL, 'CRM Campaigns', NULL, NULL, 'Newsletter', 'Sent', false),
 ('X',   'file',       'L404', NULL, 'event', '2024-03-15 12:00:00', 'Events', NULL, NULL, NULL, NULL, false);
`

const l2Hash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

// TestOfflineTouchCredits checks, by hand, how W and M move L2's credits
// in every model at every stage it reached.
func TestOfflineTouchCredits(t *testing.T) {
	wh := buildFixture(t, journeys+offlineTouches)
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	touchAt := map[string]time.Time{
		"s2a": at("2024-03-10 12:00:00"), "crm:file:W": at("2024-03-15 12:00:00"),
		"s2b": at("2024-03-20 11:00:00"), "crm:file:M": at("2024-03-26 09:00:00"),
	}
	// time decay over the touches, days before the stage time
	decayed := func(stageAt string, keys ...string) map[string]float64 {
		out, sum := map[string]float64{}, 0.0
		for _, k := range keys {
			w := decay(at(stageAt).Sub(touchAt[k]).Hours() / 24)
			out[k], sum = w, sum+w
		}
		for k := range out {
			out[k] /= sum
		}
		return out
	}
	type want map[string]float64
	// Before the lead: s2a, W, s2b (form). W is the last touch that is not
	// Direct. W-shaped and full path: first and lead-creation milestones
	// (0.3 or 0.225 each), W the only other touch (0.1), rescaled.
	pre := func(stageAt string) map[string]want {
		return map[string]want{
			"first_touch":     {"s2a": 1, "crm:file:W": 0, "s2b": 0},
			"last_touch":      {"s2a": 0, "crm:file:W": 0, "s2b": 1},
			"last_non_direct": {"s2a": 0, "crm:file:W": 1, "s2b": 0},
			"linear":          {"s2a": 1.0 / 3, "crm:file:W": 1.0 / 3, "s2b": 1.0 / 3},
			"position_based":  {"s2a": 0.4, "crm:file:W": 0.2, "s2b": 0.4},
			"time_decay":      decayed(stageAt, "s2a", "crm:file:W", "s2b"),
			"w_shaped":        {"s2a": 3.0 / 7, "crm:file:W": 1.0 / 7, "s2b": 3.0 / 7},
			"full_path":       {"s2a": 9.0 / 22, "crm:file:W": 2.0 / 11, "s2b": 9.0 / 22},
			// Shapley: L2's pre-lead path is the only journey with these
			// channels and no sub-coalition of them is observed, so the
			// three are symmetric: a third each.
			"shapley": {"s2a": 1.0 / 3, "crm:file:W": 1.0 / 3, "s2b": 1.0 / 3},
		}
	}
	// From the opportunity on, M (after SQL, before the opportunity) joins
	// as the fourth, post-lead touch: it is the last touch, the last
	// non-Direct one, and fills the opportunity-creation milestone (and
	// the closed-won one at stage won), so W-shaped gives 0.3/0.1/0.3/0.3
	// and full path 0.225/0.1/0.225/0.45 (0.225 alone at opportunity,
	// rescaled).
	post := func(stageAt string, won bool) map[string]want {
		fp := want{"s2a": 0.225 / 0.775, "crm:file:W": 0.1 / 0.775, "s2b": 0.225 / 0.775, "crm:file:M": 0.225 / 0.775}
		shapley := want{"s2a": 0.25, "crm:file:W": 0.25, "s2b": 0.25, "crm:file:M": 0.25}
		if won {
			fp = want{"s2a": 0.225, "crm:file:W": 0.1, "s2b": 0.225, "crm:file:M": 0.45}
			shapley = want{"s2a": 1.0 / 3, "crm:file:W": 1.0 / 3, "s2b": 1.0 / 3, "crm:file:M": 0}
		}
		return map[string]want{
			"first_touch":     {"s2a": 1, "crm:file:W": 0, "s2b": 0, "crm:file:M": 0},
			"last_touch":      {"s2a": 0, "crm:file:W": 0, "s2b": 0, "crm:file:M": 1},
			"last_non_direct": {"s2a": 0, "crm:file:W": 0, "s2b": 0, "crm:file:M": 1},
			"linear":          {"s2a": 0.25, "crm:file:W": 0.25, "s2b": 0.25, "crm:file:M": 0.25},
			"position_based":  {"s2a": 0.4, "crm:file:W": 0.1, "s2b": 0.1, "crm:file:M": 0.4},
			"time_decay":      decayed(stageAt, "s2a", "crm:file:W", "s2b", "crm:file:M"),
			"w_shaped":        {"s2a": 0.3, "crm:file:W": 0.1, "s2b": 0.3, "crm:file:M": 0.3},
			"full_path":       fp,
			// Shapley counts pre-lead paths only: a post-lead touch earns
			// nothing and the pre-lead three keep a third each; the
			// opportunity stage has no counted paths, so it falls back to
			// linear.
			"shapley": shapley,
		}
	}
	stages := []struct {
		stage  string
		models map[string]want
		keys   []string
	}{
		{"lead", pre("2024-03-20 12:00:00"), []string{"s2a", "crm:file:W", "s2b"}},
		{"sql", pre("2024-03-25 09:00:00"), []string{"s2a", "crm:file:W", "s2b"}},
		{"opportunity", post("2024-03-28 09:00:00", false), []string{"s2a", "crm:file:W", "s2b", "crm:file:M"}},
		{"won", post("2024-04-15 10:00:00", true), []string{"s2a", "crm:file:W", "s2b", "crm:file:M"}},
	}
	for _, st := range stages {
		t.Run(st.stage, func(t *testing.T) {
			got := credits(t, wh, "L2", st.stage)
			if len(got) != 10 {
				t.Errorf("%d models, want 10: %v", len(got), got)
			}
			for model, w := range st.models {
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
			// Markov: each touch earns its channel's removal effect at the
			// stage over the journey's total (one touch per channel here);
			// Webinars must have one wherever the stage has effects.
			re := map[string]float64{}
			for _, r := range query(t, wh, `select touch_key, removal_effect from int_markov_removal_effects where stage = '`+st.stage+`'`) {
				re[r[0].(string)] = r[1].(float64)
			}
			channel := map[string]string{"s2a": "Organic Search", "crm:file:W": "Webinars", "s2b": "Direct", "crm:file:M": "Sales Meetings"}
			total := 0.0
			for _, k := range st.keys {
				total += re[channel[k]]
			}
			if len(re) > 0 && re["Webinars"] <= 0 {
				t.Errorf("stage %s: Webinars has no removal effect: %v", st.stage, re)
			}
			if len(got["markov"]) != len(st.keys) {
				t.Errorf("markov: touches %v, want %v", got["markov"], st.keys)
			}
			for _, k := range st.keys {
				// no removal effects at a stage: linear
				w := 1.0 / float64(len(st.keys))
				if total > 0 {
					w = re[channel[k]] / total
				}
				if !near(got["markov"][k], w) {
					t.Errorf("markov: credit of %s = %v, want %v", k, got["markov"][k], w)
				}
			}
		})
	}

	// The touches carry their type and the channel the type maps to.
	rows := query(t, wh, `select session_key, touch_type, channel, touch_phase from attribution_touchpoints
		where lead_id = 'L2' and stage = 'won' and model = 'linear' order by position`)
	wantRows := [][]string{
		{"s2a", "web_session", "Organic Search", "pre_lead"},
		{"crm:file:W", "webinar", "Webinars", "pre_lead"},
		{"s2b", "web_session", "Direct", "pre_lead"},
		{"crm:file:M", "meeting", "Sales Meetings", "post_lead"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("L2 won touches = %v, want %v", rows, wantRows)
	}
	for i, r := range rows {
		for j, v := range wantRows[i] {
			if r[j] != v {
				t.Errorf("L2 won touch %d column %d = %v, want %s", i+1, j, r[j], v)
			}
		}
	}
	// Other leads do not move: L1 keeps its one session.
	if got := credits(t, wh, "L1", "lead"); len(got["linear"]) != 1 || got["linear"]["s1"] != 1 {
		t.Errorf("L1 linear credits = %v, want s1 alone", got["linear"])
	}
}
