package attribution_test

import "testing"

// milestoneJourneys holds journeys for the W-shaped and full-path models.
// Every lead is created on 2024-06-10 12:00 UTC; "form" marks the session
// that submitted the lead's form (its lead-creation touch).
//
//	M1  one session m1 (form): SQL, opportunity and won later, so m1 fills
//	    every milestone; m1z comes after the won time and is in no journey
//	N1  n_a 20 d before, n_b 10 d, n_c 1 h (form); SQL 2 d after creation,
//	    never an opportunity; n_d 1 d after (post-lead, in the SQL journey),
//	    n_e 5 d after (after SQL: in no journey)
//	P1  p_a 30 d before, p_b 1 h (form); after creation p_c 2 d, p_d 5 d,
//	    opportunity at 6 d, p_e 10 d, p_f 20 d, won at 25 d (1000 USD)
//	Q1  q_a 1 h before (form, so first touch and lead creation); q_b 2 d
//	    after, opportunity at 3 d, q_c 4 d after, won at 5 d
const milestoneJourneys = `
INSERT INTO raw_fixture__ga4_sessions (session_key, client_key, session_start_ts, session_end_ts, session_date,
  is_engaged, event_count, page_views, source, medium, campaign, channel) VALUES
 ('m1',  'cm', '2024-06-10 11:00:00', '2024-06-10 11:10:00', '2024-06-10', true, 5, 2, 'google', 'cpc', 'brand', 'Paid Search'),
 ('m1z', 'cm', '2024-07-20 11:00:00', '2024-07-20 11:10:00', '2024-07-20', true, 5, 2, 'google', 'organic', NULL, 'Organic Search'),
 ('n_a', 'cn', '2024-05-21 12:00:00', '2024-05-21 12:10:00', '2024-05-21', true, 5, 2, 'google', 'organic', NULL, 'Organic Search'),
 ('n_b', 'cn', '2024-05-31 12:00:00', '2024-05-31 12:10:00', '2024-05-31', true, 5, 2, 'newsletter', 'email', 'nl', 'Email'),
 ('n_c', 'cn', '2024-06-10 11:00:00', '2024-06-10 11:10:00', '2024-06-10', true, 5, 2, 'google', 'cpc', 'brand', 'Paid Search'),
 ('n_d', 'cn', '2024-06-11 12:00:00', '2024-06-11 12:10:00', '2024-06-11', true, 5, 2, 'facebook', 'paid_social', 'fb', 'Paid Social'),
 ('n_e', 'cn', '2024-06-15 12:00:00', '2024-06-15 12:10:00', '2024-06-15', true, 5, 2, 'g2.com', 'referral', NULL, 'Referral'),
 ('p_a', 'cp', '2024-05-11 12:00:00', '2024-05-11 12:10:00', '2024-05-11', true, 5, 2, 'facebook', 'paid_social', 'fb', 'Paid Social'),
 ('p_b', 'cp', '2024-06-10 11:00:00', '2024-06-10 11:10:00', '2024-06-10', true, 5, 2, 'google', 'cpc', 'brand', 'Paid Search'),
 ('p_c', 'cp', '2024-06-12 12:00:00', '2024-06-12 12:10:00', '2024-06-12', true, 5, 2, 'newsletter', 'email', 'nl', 'Email'),
 ('p_d', 'cp', '2024-06-15 12:00:00', '2024-06-15 12:10:00', '2024-06-15', true, 5, 2, '(direct)', '(none)', NULL, 'Direct'),
 ('p_e', 'cp', '2024-06-20 12:00:00', '2024-06-20 12:10:00', '2024-06-20', true, 5, 2, 'g2.com', 'referral', NULL, 'Referral'),
 ('p_f', 'cp', '2024-06-30 12:00:00', '2024-06-30 12:10:00', '2024-06-30', true, 5, 2, 'google', 'organic', NULL, 'Organic Search'),
 ('q_a', 'cq', '2024-06-10 11:00:00', '2024-06-10 11:10:00', '2024-06-10', true, 5, 2, 'google', 'cpc', 'brand', 'Paid Search'),
 ('q_b', 'cq', '2024-06-12 12:00:00', '2024-06-12 12:10:00', '2024-06-12', true, 5, 2, 'newsletter', 'email', 'nl', 'Email'),
 ('q_c', 'cq', '2024-06-14 12:00:00', '2024-06-14 12:10:00', '2024-06-14', true, 5, 2, '(direct)', '(none)', NULL, 'Direct');
INSERT INTO raw_fixture__ga4_lead_submissions VALUES
 ('subm', 'cm', 'm1',  'demo', '2024-06-10 11:05:00', NULL, NULL),
 ('subn', 'cn', 'n_c', 'demo', '2024-06-10 11:05:00', NULL, NULL),
 ('subp', 'cp', 'p_b', 'demo', '2024-06-10 11:05:00', NULL, NULL),
 ('subq', 'cq', 'q_a', 'demo', '2024-06-10 11:05:00', NULL, NULL);
INSERT INTO raw_fixture__crm_leads (lead_id, source_system, created_at, ga_client_id, lifecycle_stage, sql_at,
  opportunity_at, won_at, is_deleted) VALUES
 ('M1', 'file', '2024-06-10 12:00:00', 'cm', 'won', '2024-06-11 12:00:00', '2024-06-12 12:00:00', '2024-06-20 12:00:00', false),
 ('N1', 'file', '2024-06-10 12:00:00', 'cn', 'sql', '2024-06-12 12:00:00', NULL, NULL, false),
 ('P1', 'file', '2024-06-10 12:00:00', 'cp', 'won', '2024-06-13 12:00:00', '2024-06-16 12:00:00', '2024-07-05 12:00:00', false),
 ('Q1', 'file', '2024-06-10 12:00:00', 'cq', 'won', '2024-06-12 13:00:00', '2024-06-13 12:00:00', '2024-06-15 12:00:00', false);
INSERT INTO raw_fixture__crm_deals VALUES
 ('DM', 'M1', '2024-06-12 12:00:00', '2024-06-20 12:00:00', 'closedwon', true, false, 200, 'USD', false),
 ('DP', 'P1', '2024-06-16 12:00:00', '2024-07-05 12:00:00', 'closedwon', true, false, 1000, 'USD', false),
 ('DQ', 'Q1', '2024-06-13 12:00:00', '2024-06-15 12:00:00', 'closedwon', true, false, 400, 'USD', false);
INSERT INTO raw_fixture__lead_identity VALUES
 ('M1', 'cm', 'client_id'), ('N1', 'cn', 'client_id'), ('P1', 'cp', 'client_id'), ('Q1', 'cq', 'client_id');
`

// TestMilestoneModels checks W-shaped and full-path credits, computed by
// hand from the rule in sql/marts/README.md: 30 % (W) or 22.5 % (full path)
// per milestone to the touch filling it, shares adding up when one touch
// fills several, 10 % spread over the other touches, and the shares of
// missing milestones dropped and the rest rescaled to 1.
func TestMilestoneModels(t *testing.T) {
	wh := buildFixture(t, milestoneJourneys)
	type want map[string]float64
	cases := []struct {
		name, lead, stage string
		w, full           want
	}{
		// every milestone on one touch: all credit to it at every stage
		{"every milestone on one touch", "M1", "lead", want{"m1": 1}, want{"m1": 1}},
		{"every milestone on one touch at won", "M1", "won", want{"m1": 1}, want{"m1": 1}},
		// lead stage: FT n_a 0.3, LC n_c 0.3, n_b 0.1; no opportunity: / 0.7
		// full path: 0.225, 0.1, 0.225; / 0.55
		{"never an opportunity", "N1", "lead",
			want{"n_a": 3.0 / 7, "n_b": 1.0 / 7, "n_c": 3.0 / 7},
			want{"n_a": 9.0 / 22, "n_b": 4.0 / 22, "n_c": 9.0 / 22}},
		// SQL stage adds the post-lead n_d: the 10 % is shared by n_b and n_d
		{"never an opportunity at sql", "N1", "sql",
			want{"n_a": 3.0 / 7, "n_b": 1.0 / 14, "n_c": 3.0 / 7, "n_d": 1.0 / 14},
			want{"n_a": 9.0 / 22, "n_b": 1.0 / 11, "n_c": 9.0 / 22, "n_d": 1.0 / 11}},
		// opportunity stage: FT p_a, LC p_b, OC p_d (last touch by the
		// opportunity), p_c the rest; full path has no closed-won touch yet
		{"all milestones apart at opportunity", "P1", "opportunity",
			want{"p_a": 0.3, "p_b": 0.3, "p_c": 0.1, "p_d": 0.3},
			want{"p_a": 9.0 / 31, "p_b": 9.0 / 31, "p_c": 4.0 / 31, "p_d": 9.0 / 31}},
		// won stage: CW p_f; the rest p_c, p_e
		{"all milestones apart at won", "P1", "won",
			want{"p_a": 0.3, "p_b": 0.3, "p_c": 0.1 / 3, "p_d": 0.3, "p_e": 0.1 / 3, "p_f": 0.1 / 3},
			want{"p_a": 0.225, "p_b": 0.225, "p_c": 0.05, "p_d": 0.225, "p_e": 0.05, "p_f": 0.225}},
		// q_a is first touch and lead creation: 0.6 (W); OC q_b, CW q_c;
		// full path 0.45, 0.225, 0.225 with no other touch: / 0.9
		{"one touch fills two milestones", "Q1", "won",
			want{"q_a": 0.6, "q_b": 0.3, "q_c": 0.1},
			want{"q_a": 0.5, "q_b": 0.25, "q_c": 0.25}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := credits(t, wh, c.lead, c.stage)
			for model, w := range map[string]want{"w_shaped": c.w, "full_path": c.full} {
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

	// Stage journeys: which touches come after the lead's creation, and
	// where each journey ends.
	phases := map[string]string{}
	for _, r := range query(t, wh, `select session_key, touch_phase from attribution_touchpoints
		where model = 'linear' and session_key is not null group by 1, 2`) {
		if prev, ok := phases[r[0].(string)]; ok && prev != r[1].(string) {
			t.Errorf("%s is both %s and %s", r[0], prev, r[1])
		}
		phases[r[0].(string)] = r[1].(string)
	}
	for touch, phase := range map[string]string{"m1": "pre_lead", "n_c": "pre_lead", "n_d": "post_lead", "p_f": "post_lead", "q_b": "post_lead"} {
		if phases[touch] != phase {
			t.Errorf("%s phase = %q, want %s", touch, phases[touch], phase)
		}
	}
	for _, touch := range []string{"m1z", "n_e"} {
		if _, ok := phases[touch]; ok {
			t.Errorf("%s (after the lead's last stage) is in a journey", touch)
		}
	}
	// N1 never reached an opportunity: no rows at stages opportunity and won.
	if rows := query(t, wh, `select count(*) from attribution_touchpoints where lead_id = 'N1' and stage in ('opportunity', 'won')`); rows[0][0].(int64) != 0 {
		t.Errorf("N1 has %v rows at stages it never reached", rows[0][0])
	}
	// Won revenue follows the W-shaped credit: 30 % of 1000 USD to p_d.
	rows := query(t, wh, `select cast(revenue_credit as varchar) from attribution_touchpoints
		where lead_id = 'P1' and stage = 'won' and model = 'w_shaped' and session_key = 'p_d'`)
	if len(rows) != 1 || rows[0][0] != "300.000000000" {
		t.Errorf("P1 w_shaped p_d revenue credit = %v, want 300.000000000", rows)
	}
}
