package ga4

import (
	"context"
	"encoding/csv"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// channelCase extracts the channel CASE expression from stg_ga4__sessions
// (between its "channel rules" marker comments), so the test runs exactly
// the SQL the model runs.
func channelCase(t testing.TB) string {
	t.Helper()
	b, err := fs.ReadFile(sqlmodels.FS, "staging/stg_ga4__sessions.sql")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "-- channel rules: begin")
	j := strings.Index(s, "-- channel rules: end")
	if i < 0 || j < i {
		t.Fatal("stg_ga4__sessions.sql lacks the channel rules markers")
	}
	expr := s[i:j]
	expr = expr[strings.Index(expr, "\n")+1:]
	return strings.TrimSuffix(strings.TrimSpace(expr), "as channel")
}

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
// order in which they win, on the model's own CASE expression.
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
	q := "SELECT src, med, camp, want, " + channelCase(t) + " AS channel FROM (VALUES " + strings.Join(values, ",\n") + ") AS t(src, med, camp, cat, want)"
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
