package models_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

func sourceCategories(t testing.TB) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(sqlmodels.FS, "seeds/ga4_source_categories.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range recs[1:] {
		if r[0] != strings.ToLower(r[0]) {
			t.Errorf("seed source %q is not lower case", r[0])
		}
		m[r[0]] = r[1]
	}
	return m
}

// TestChannelRules checks every GA4 default channel group rule, and the
// order in which they win, on the channel_group macro the models call.
func TestChannelRules(t *testing.T) {
	cases := []struct{ source, medium, campaign, want string }{
		{"(direct)", "(none)", "", "Direct"},
		{"(direct)", "(not set)", "", "Direct"},
		{"google", "cpc", "brand_cross-network_q3", "Cross-network"}, // before Paid Search
		{"google shopping", "cpc", "", "Paid Shopping"},
		{"google", "cpc", "summer_shopping", "Paid Shopping"}, // shopping campaign beats a search source
		{"google", "cpc", "", "Paid Search"},
		{"bing", "ppc", "", "Paid Search"},
		{"google", "paidsearch", "", "Paid Search"},
		{"google", "retargeting", "", "Paid Search"},
		{"google", "cpm", "", "Paid Search"},   // cpm is paid by the regex, and the search rule comes before Display
		{"facebook", "cpc", "", "Paid Social"}, // a cpc medium from a social source is Paid Social, not Paid Search
		{"linkedin", "paid_social", "", "Paid Social"},
		{"youtube", "cpv", "", "Paid Video"},
		{"criteo", "display", "", "Display"},
		{"criteo", "cpm", "", "Display"}, // Display before Paid Other
		{"criteo", "banner", "", "Display"},
		{"partner-network", "cpc", "", "Paid Other"},
		{"amazon", "referral", "", "Organic Shopping"}, // before Referral
		{"newsletter", "referral", "holiday_shop_2024", "Organic Shopping"},
		{"facebook", "referral", "", "Organic Social"},
		{"community-forum", "social", "", "Organic Social"},
		{"youtube", "referral", "", "Organic Video"},
		{"webinar-host", "video", "", "Organic Video"},
		{"google", "organic", "", "Organic Search"},
		{"duckduckgo", "referral", "", "Organic Search"}, // a search source beats the referral medium
		{"some-engine", "organic", "", "Organic Search"},
		{"g2.com", "referral", "", "Referral"},
		{"partner-app", "app", "", "Referral"},
		{"newsletter", "email", "", "Email"},
		{"e-mail", "(none)", "", "Email"},
		{"partner", "affiliate", "", "Affiliates"},
		{"podcast-host", "audio", "", "Audio"},
		{"sms", "(none)", "", "SMS"},
		{"app", "push", "", "Mobile Push Notifications"},
		{"firebase", "notification", "", "Mobile Push Notifications"},
		{"(direct)", "qr_code", "", "Unassigned"},
		{"unknown", "unknown", "", "Unassigned"},
	}
	cats := sourceCategories(t)
	var values []string
	for _, c := range cases {
		cat := "NULL"
		if v, ok := cats[c.source]; ok {
			cat = duckdb.Dialect{}.StringLiteral(v)
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s)",
			duckdb.Dialect{}.StringLiteral(c.source), duckdb.Dialect{}.StringLiteral(c.medium),
			duckdb.Dialect{}.StringLiteral(c.campaign), cat, duckdb.Dialect{}.StringLiteral(c.want)))
	}
	q := renderWithMacros(t, `SELECT src, med, camp, want, {{ macro "channel_group" "src" "med" "camp" "cat" }} AS channel FROM (VALUES `+strings.Join(values, ",\n")+") AS t(src, med, camp, cat, want)")
	db := openDuck(t)
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, q)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != len(cases) {
		t.Fatalf("%d rows, want %d", len(data), len(cases))
	}
	seen := map[string]bool{}
	for _, r := range data {
		src, med, camp, want, got := r[0], r[1], r[2], r[3].(string), r[4].(string)
		seen[got] = true
		if got != want {
			t.Errorf("source %v / medium %v / campaign %q: channel %s, want %s", src, med, camp, got, want)
		}
	}
	if len(seen) != 19 {
		t.Errorf("cases cover %d of GA4's 19 channel groups", len(seen))
	}
}

// Spend and sessions must land in the same channels, or cost per lead
// divides one channel's spend by another's leads: both models group with
// the channel_group macro over their lower-cased source, medium, campaign
// and source category.
func TestSpendAndSessionsShareChannelRules(t *testing.T) {
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	vars := transform.Vars{"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD", "ga4_lookback_days": 3,
		"prediction_maturity_days": 180, "prediction_prior_strength": 20.0}
	sqls, err := p.Compile(duckdb.Dialect{}, nil, vars)
	if err != nil {
		t.Fatal(err)
	}
	rules := renderWithMacros(t, `{{ macro "channel_group" "src" "med" "camp" "cat" }}`)
	for _, m := range []string{"stg_ga4__sessions", "stg_spend__daily"} {
		if !strings.Contains(sqls[m], rules+" as channel") {
			t.Errorf("%s does not group channels with the channel_group macro over (src, med, camp, cat)", m)
		}
	}
}
