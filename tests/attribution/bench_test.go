package attribution_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// syntheticJourneys fills the fixture tables with generated rows: clients
// clients with five sessions each, 20 days apart (so all five fall in the
// 90-day window of the lead), one lead per leadEvery-th client created five
// minutes after its fifth session, where it submits the form; every third
// lead reaches SQL and every tenth is won (1000 USD). Channels are assigned
// by a hash of the session number over the given number of channels.
func syntheticJourneys(clients, leadEvery, channels int) string {
	names := make([]string, channels)
	for i := range names {
		names[i] = fmt.Sprintf("'Channel %02d'", i)
	}
	list := "[" + strings.Join(names, ", ") + "]"
	return fmt.Sprintf(`
INSERT INTO raw_fixture__ga4_sessions
SELECT 's' || i, 'c' || (i %% %[1]d), NULL,
  TIMESTAMP '2024-01-01' + to_days(CAST(i // %[1]d AS INTEGER) * 20) + to_seconds(i %% %[1]d * 30),
  TIMESTAMP '2024-01-01' + to_days(CAST(i // %[1]d AS INTEGER) * 20) + to_seconds(i %% %[1]d * 30 + 300),
  CAST(TIMESTAMP '2024-01-01' + to_days(CAST(i // %[1]d AS INTEGER) * 20) + to_seconds(i %% %[1]d * 30) AS DATE),
  '/', (i %% 7) != 0, 5, 2, 'src', 'med', NULL, NULL,
  %[3]s[1 + CAST(hash(i) %% %[4]d AS INTEGER)], i
FROM range(0, 5 * %[1]d) AS t(i);
INSERT INTO raw_fixture__ga4_lead_submissions
SELECT 'sub' || c, 'c' || c, 's' || (c + 4 * %[1]d), 'demo',
  TIMESTAMP '2024-01-01' + to_days(80) + to_seconds(c * 30 + 60), NULL, NULL
FROM range(0, %[1]d, %[2]d) AS t(c);
INSERT INTO raw_fixture__crm_leads
SELECT 'L' || c, 'file', TIMESTAMP '2024-01-01' + to_days(80) + to_seconds(c * 30 + 360), NULL, NULL, 'c' || c, NULL, NULL,
  'lead', NULL,
  CASE WHEN (c // %[2]d) %% 3 = 0 THEN TIMESTAMP '2024-04-01' END, NULL,
  CASE WHEN (c // %[2]d) %% 10 = 0 THEN TIMESTAMP '2024-05-01' END, NULL, NULL, NULL, false
FROM range(0, %[1]d, %[2]d) AS t(c);
INSERT INTO raw_fixture__crm_deals
SELECT 'D' || c, 'L' || c, TIMESTAMP '2024-04-01', TIMESTAMP '2024-05-01', 'closedwon', true, false, 1000, 'USD', false
FROM range(0, %[1]d, %[2]d) AS t(c) WHERE (c // %[2]d) %% 10 = 0;
INSERT INTO raw_fixture__lead_identity
SELECT 'L' || c, 'c' || c, 'client_id' FROM range(0, %[1]d, %[2]d) AS t(c);
`, clients, leadEvery, list, channels)
}

func setupSynthetic(b *testing.B, clients, leadEvery, channels int) (*duckdb.DB, *transform.Runner) {
	b.Helper()
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { wh.Close() })
	for _, stmt := range strings.Split(fixtureDDL+syntheticJourneys(clients, leadEvery, channels), ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := wh.Exec(ctx, stmt); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	return wh, &transform.Runner{WH: wh, Project: testProject(b), Vars: testVars}
}

// BenchmarkAttributionBuild builds every attribution model and data test
// from 1M sessions (200k clients) and 50k leads, 19 channels.
func BenchmarkAttributionBuild(b *testing.B) {
	_, r := setupSynthetic(b, 200_000, 4, 19)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{FullRefresh: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1_000_000, "sessions")
	b.ReportMetric(50_000, "leads")
}

// BenchmarkMarkov rebuilds the Markov chain models (transitions, the
// journey paths and the removal effects computed in Go) for a growing
// number of channels on 100k sessions and 5k leads.
func BenchmarkMarkov(b *testing.B) {
	markov := "int_attribution_paths,int_markov_removal_effects"
	for _, channels := range []int{4, 8, 16, 32} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) {
			_, r := setupSynthetic(b, 20_000, 4, channels)
			ctx := context.Background()
			upstream, err := transform.ParseSelection("+int_attribution_paths")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Build(ctx, upstream, transform.BuildOptions{}); err != nil {
				b.Fatal(err)
			}
			sel, err := transform.ParseSelection(markov)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Build(ctx, sel, transform.BuildOptions{FullRefresh: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarkovCampaignGrain rebuilds the data-driven models (the journey
// paths, Markov removal effects, Shapley credits) at campaign grain on 1M
// sessions (200k clients) and 50k leads spread over 500 campaigns in 19
// channels: 500 states at order 1 (issue 16, acceptance 2).
func BenchmarkMarkovCampaignGrain(b *testing.B) {
	wh, r := setupSynthetic(b, 200_000, 4, 19)
	ctx := context.Background()
	// A campaign belongs to one channel, so there are exactly 500 states.
	if _, err := wh.Exec(ctx, `UPDATE raw_fixture__ga4_sessions
		SET campaign = 'cmp ' || CAST(hash(ga_session_id) % 500 AS VARCHAR),
		    channel = 'Channel ' || CAST(hash(ga_session_id) % 500 % 19 AS VARCHAR)`); err != nil {
		b.Fatal(err)
	}
	r.Vars = maps.Clone(r.Vars)
	r.Vars["markov_grain"] = "campaign"
	upstream, err := transform.ParseSelection("+int_attribution_paths")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Build(ctx, upstream, transform.BuildOptions{}); err != nil {
		b.Fatal(err)
	}
	sel, err := transform.ParseSelection("int_attribution_paths,int_markov_removal_effects,int_shapley_path_credits,int_shapley_touch_credits")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Build(ctx, sel, transform.BuildOptions{FullRefresh: true}); err != nil {
			b.Fatal(err)
		}
	}
	rows := query(b, wh, `select count(distinct touch_key) from int_markov_removal_effects where stage = 'lead'`)
	b.ReportMetric(float64(rows[0][0].(int64)), "states")
}
