package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// aiCases are (source, medium, campaign) with the channel the ai_assistants
// group gives; "" means the default group's channel, unchanged.
var aiCases = []struct{ source, medium, campaign, want string }{
	{"chatgpt.com", "referral", "", "AI assistants"},
	{"chat.openai.com", "referral", "", "AI assistants"},
	{"perplexity.ai", "referral", "", "AI assistants"},
	{"www.perplexity.ai", "(none)", "", "AI assistants"},
	{"gemini.google.com", "referral", "", "AI assistants"},
	{"copilot.microsoft.com", "referral", "", "AI assistants"},
	{"claude.ai", "referral", "", "AI assistants"},
	{"chatgpt.com", "(not set)", "", "AI assistants"},
	// paid traffic from an assistant stays paid: the rule follows the paid ones
	{"chatgpt.com", "cpc", "", ""},
	{"chatgpt.com", "cpc", "brand_cross-network", ""},
	// look-alikes do not match
	{"notchatgpt.com", "referral", "", ""},
	{"chatgpt.com.example", "referral", "", ""},
	{"claude.ai.example", "referral", "", ""},
	{"google", "organic", "", ""},
	{"google", "cpc", "", ""},
	{"(direct)", "(none)", "", ""},
	{"facebook", "referral", "", ""},
	{"g2.com", "referral", "", ""},
	{"newsletter", "email", "", ""},
}

// TestAIAssistantsGroupRules: the ai_assistants group gives AI assistants
// exactly where expected and the default group's channel everywhere else.
func TestAIAssistantsGroupRules(t *testing.T) {
	cats := sourceCategories(t)
	lit := duckdb.Dialect{}.StringLiteral
	var values []string
	for _, c := range aiCases {
		cat := "NULL"
		if v, ok := cats[c.source]; ok {
			cat = lit(v)
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s)", lit(c.source), lit(c.medium), lit(c.campaign), cat))
	}
	db := openDuck(t)
	for i, c := range aiCases {
		one := renderWithMacros(t, fmt.Sprintf(`SELECT {{ macro "channel_group_rules" "default" "src" "med" "camp" "cat" }}, {{ macro "channel_group_rules" "ai_assistants" "src" "med" "camp" "cat" }} FROM (VALUES %s) AS t(src, med, camp, cat)`, values[i]))
		got := queryStrings(t, db, one)
		if len(got) != 1 {
			t.Fatalf("%v: %d rows", c, len(got))
		}
		def, ai, _ := strings.Cut(got[0], "|")
		want := c.want
		if want == "" {
			want = def
		}
		if ai != want {
			t.Errorf("%s / %s / %q: ai_assistants gives %s, want %s (default %s)", c.source, c.medium, c.campaign, ai, want, def)
		}
		if c.want != "" && def == c.want {
			t.Errorf("%s / %s: the default group already gives %s", c.source, c.medium, def)
		}
	}
}

// aiEvent is one page_view that opens a session, from referrer (a URL or
// "") and tagged with utm source/medium (or "").
func aiEvent(client string, session int64, referrer, source, medium string) string {
	ts := session * 1_000_000
	day := time.Unix(session, 0).UTC().Format("20060102")
	params := fmt.Sprintf(`{"key":"ga_session_id","value":{"int_value":"%d"}},{"key":"page_location","value":{"string_value":"https://www.acme-analytics.example/"}},{"key":"session_engaged","value":{"string_value":"1"}}`, session)
	if referrer != "" {
		params += fmt.Sprintf(`,{"key":"page_referrer","value":{"string_value":%q}}`, referrer)
	}
	cts := "null"
	if source != "" {
		cts = fmt.Sprintf(`{"manual_source":%q,"manual_medium":%q}`, source, medium)
	}
	return fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"page_view","event_params":[%s],"user_pseudo_id":%q,"stream_id":"1","platform":"WEB","device":{"category":"desktop","web_info":{"hostname":"www.acme-analytics.example"}},"collected_traffic_source":%s}`,
		day, ts, params, client, cts)
}

// TestSwitchingToAIAssistantsReclassifiesExactlyItsSessions builds GA4
// staging under the default group, switches SAM_CHANNEL_GROUP's var to
// ai_assistants and rebuilds: exactly the sessions from an assistant
// change channel, and the plan of the switch lists exactly the models that
// read the channel rules and what is built from them.
func TestSwitchingToAIAssistantsReclassifiesExactlyItsSessions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	lines := []string{
		aiEvent("100.1", s0, "https://chatgpt.com/", "", ""),               // referral from ChatGPT
		aiEvent("200.1", s0+60, "", "perplexity.ai", "referral"),           // utm-tagged Perplexity
		aiEvent("300.1", s0+120, "https://claude.ai/chat/x", "", ""),       // referral from Claude
		aiEvent("400.1", s0+180, "https://copilot.microsoft.com/", "", ""), // label lookup: microsoft is no known engine
		aiEvent("500.1", s0+240, "", "chatgpt.com", "cpc"),                 // paid: stays Paid Other
		aiEvent("600.1", s0+300, "https://www.g2.com/products/x", "", ""),  // referral: stays Referral
		aiEvent("700.1", s0+360, "https://www.google.com/", "", ""),        // organic search
		aiEvent("800.1", s0+420, "", "", ""),                               // direct
		aiEvent("900.1", s0+480, "https://notchatgpt.com/", "", ""),        // look-alike: Referral
		aiEvent("950.1", s0+540, "", "newsletter", "email"),                // email
	}
	if err := os.WriteFile(filepath.Join(dir, "events_20250301.json"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := openDuck(t)
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: dir}, db, nil).Load(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	p := ga4Project(t)
	channels := func() map[string]string {
		out := map[string]string{}
		for _, r := range queryStrings(t, db, `SELECT client_key, channel FROM stg_ga4__sessions`) {
			k, v, _ := strings.Cut(r, "|")
			out[k] = v
		}
		return out
	}
	def := transform.Vars{"channel_group": "default"}
	r := &transform.Runner{WH: db, Project: p, Vars: def}
	if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	before := channels()
	if len(before) != len(lines) {
		t.Fatalf("%d sessions, want %d: %v", len(before), len(lines), before)
	}

	ai := transform.Vars{"channel_group": "ai_assistants"}
	r = &transform.Runner{WH: db, Project: p, Vars: ai}
	plan, err := r.Plan(ctx, transform.Selection{}, transform.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rebuilt []string
	for _, it := range plan.Items {
		if it.Action != transform.ActionSkip {
			rebuilt = append(rebuilt, it.Model)
		}
	}
	sort.Strings(rebuilt)
	// Of the GA4 project, only the sessions model groups channels (and
	// nothing in it reads the sessions); stg_spend__daily is checked on the
	// whole project below.
	if got, want := strings.Join(rebuilt, ","), "stg_ga4__sessions"; got != want {
		t.Errorf("plan after switching the group rebuilds %s, want %s", got, want)
	}
	if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	after := channels()
	changed := map[string]string{}
	for k, v := range after {
		if before[k] != v {
			changed[k] = before[k] + " -> " + v
		}
	}
	want := map[string]string{
		"100.1": "Referral -> AI assistants",
		"200.1": "Referral -> AI assistants",
		"300.1": "Referral -> AI assistants",
		"400.1": "Referral -> AI assistants",
	}
	if fmt.Sprint(changed) != fmt.Sprint(want) {
		t.Errorf("reclassified sessions: %v\nwant %v\nall after: %v", changed, want, after)
	}
}

// A group without rules renders SQL that fails the build with the group's
// name. Before, it rendered "case else error(...) end", a syntax error
// that named nothing.
func TestGroupWithoutRulesFailsNamingIt(t *testing.T) {
	db := openDuck(t)
	q := renderWithMacros(t, `SELECT {{ macro "channel_group_rules" "nope" "src" "med" "camp" "cat" }} FROM (VALUES ('google', 'cpc', '', NULL)) AS t(src, med, camp, cat)`)
	_, err := db.Query(context.Background(), q)
	// DuckDB quotes the failing line in a parser error, so the message
	// must be the error's own, not the quoted SQL.
	if err == nil || !strings.Contains(err.Error(), `Invalid Input Error: channel group "nope" has no rules`) {
		t.Fatalf("err = %v, want the build to fail naming the group", err)
	}
}
