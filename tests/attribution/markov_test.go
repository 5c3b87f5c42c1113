package attribution_test

import "testing"

// markovJourneys is a tiny journey set whose Markov removal effects are
// worked out by hand below. Search = Paid Search, Social = Paid Social.
//
//	lead A (won, SQL)  Search -> Social -> conversion
//	lead B             Social -> conversion (not SQL, not won)
//	lead C             no web touchpoint (Unattributed; not in the chain)
//	visitor X          Search -> (null)
//	visitor Y          Search -> Social -> (null)
//	visitor Z          Social -> Social -> Search -> (null)
const markovJourneys = `
INSERT INTO raw_fixture__ga4_sessions (session_key, client_key, user_id, session_start_ts, session_end_ts,
  session_date, landing_page, is_engaged, event_count, page_views, source, medium, campaign, gclid, channel) VALUES
 ('a1', 'ca', NULL, '2024-03-10 12:00:00', NULL, '2024-03-10', '/', true, 3, 2, 'google', 'cpc', NULL, NULL, 'Paid Search'),
 ('a2', 'ca', NULL, '2024-03-15 12:00:00', NULL, '2024-03-15', '/', true, 3, 2, 'facebook', 'paid_social', NULL, NULL, 'Paid Social'),
 ('b1', 'cb', NULL, '2024-03-12 12:00:00', NULL, '2024-03-12', '/', true, 3, 2, 'facebook', 'paid_social', NULL, NULL, 'Paid Social'),
 ('x1', 'cx', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', NULL, NULL, 'Paid Search'),
 ('y1', 'cy', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'google', 'cpc', NULL, NULL, 'Paid Search'),
 ('y2', 'cy', NULL, '2024-03-02 12:00:00', NULL, '2024-03-02', '/', true, 3, 2, 'facebook', 'paid_social', NULL, NULL, 'Paid Social'),
 ('z1', 'cz', NULL, '2024-03-01 12:00:00', NULL, '2024-03-01', '/', true, 3, 2, 'facebook', 'paid_social', NULL, NULL, 'Paid Social'),
 ('z2', 'cz', NULL, '2024-03-02 12:00:00', NULL, '2024-03-02', '/', true, 3, 2, 'facebook', 'paid_social', NULL, NULL, 'Paid Social'),
 ('z3', 'cz', NULL, '2024-03-03 12:00:00', NULL, '2024-03-03', '/', true, 3, 2, 'google', 'cpc', NULL, NULL, 'Paid Search');
INSERT INTO raw_fixture__crm_leads VALUES
 ('A', 'file', '2024-03-20 12:00:00', NULL, NULL, 'ca', NULL, NULL, 'won', NULL, '2024-03-25 00:00:00', NULL, '2024-04-01 00:00:00', NULL, NULL, NULL, false),
 ('B', 'file', '2024-03-20 12:00:00', NULL, NULL, 'cb', NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false),
 ('C', 'file', '2024-03-20 12:00:00', NULL, NULL, NULL, NULL, NULL, 'lead', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false);
INSERT INTO raw_fixture__lead_identity VALUES ('A', 'ca', 'client_id'), ('B', 'cb', 'client_id');
`

// Hand computation, stage lead. Transitions:
//
//	(start) -> Search 3/5 (A, X, Y)      (start) -> Social 2/5 (B, Z)
//	Search  -> Social 1/2 (A, Y)         Search  -> (null) 1/2 (X, Z)
//	Social  -> (conversion) 2/5 (A, B), (null) 1/5 (Y), Social 1/5 (Z), Search 1/5 (Z)
//
// With x, y the conversion probabilities from Search and Social:
// x = y/2 and y = 2/5 + y/5 + x/5, so y = 4/7, x = 2/7 and
// P = 3/5·2/7 + 2/5·4/7 = 2/5. Without Search: y = 2/5 + y/5 = 1/2,
// P = 2/5·1/2 = 1/5, removal effect 1 − (1/5)/(2/5) = 1/2. Without Social
// nothing converts: removal effect 1. Lead A's credits are proportional to
// its channels' removal effects: Search 1/2 / (1/2 + 1) = 1/3, Social 2/3.
//
// Stage won (only A converts; B's journey ends in (null)): Social ->
// (conversion) 1/5, (null) 2/5; y = 1/5 + y/5 + x/5, x = y/2 give y = 2/7,
// x = 1/7, P = 1/5; without Search y = 1/4, P = 1/10, removal effect 1/2;
// without Social 0, removal effect 1. A's won credits are again 1/3 and 2/3.
func TestMarkovByHand(t *testing.T) {
	wh := buildFixture(t, markovJourneys)

	type effect struct{ p, removed, re float64 }
	want := map[string]effect{
		"lead Paid Search": {2.0 / 5, 1.0 / 5, 1.0 / 2},
		"lead Paid Social": {2.0 / 5, 0, 1},
		"sql Paid Search":  {1.0 / 5, 1.0 / 10, 1.0 / 2},
		"sql Paid Social":  {1.0 / 5, 0, 1},
		"won Paid Search":  {1.0 / 5, 1.0 / 10, 1.0 / 2},
		"won Paid Social":  {1.0 / 5, 0, 1},
	}
	rows := query(t, wh, `select stage || ' ' || channel, conversion_probability, removed_probability, removal_effect
		from int_markov_removal_effects`)
	if len(rows) != len(want) {
		t.Fatalf("removal effects = %v, want %d rows", rows, len(want))
	}
	for _, r := range rows {
		w, ok := want[r[0].(string)]
		if !ok || !near(r[1].(float64), w.p) || !near(r[2].(float64), w.removed) || !near(r[3].(float64), w.re) {
			t.Errorf("%s: P = %v, P removed = %v, removal effect = %v; want %+v", r[0], r[1], r[2], r[3], w)
		}
	}

	for _, stage := range []string{"lead", "won"} {
		got := credits(t, wh, "A", stage)["markov"]
		if !near(got["a1"], 1.0/3) || !near(got["a2"], 2.0/3) || len(got) != 2 {
			t.Errorf("lead A markov credits at %s = %v, want a1 1/3, a2 2/3", stage, got)
		}
	}
	if got := credits(t, wh, "B", "lead")["markov"]; len(got) != 1 || !near(got["b1"], 1) {
		t.Errorf("lead B markov credits = %v, want b1 1", got)
	}
	if got := credits(t, wh, "C", "lead")["markov"]; len(got) != 1 || !near(got["Unattributed"], 1) {
		t.Errorf("lead C markov credits = %v, want Unattributed 1", got)
	}
	if got := credits(t, wh, "B", "won"); len(got) != 0 {
		t.Errorf("lead B (not won) has won-stage credits %v", got)
	}
}
