package bigquerysql_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tools/zetasql"
)

// contractColumn is one column of a BI table's contract: its name, its
// BigQuery type and what DESIGN.md asks it to carry.
type contractColumn struct {
	name, typ, carries string
}

// biContract is the BI contract: the columns BI tools read from the stable
// outputs and their BigQuery types. DESIGN.md ("Stable outputs (the BI
// contract)") lists what each table must contain; sql/CONVENTIONS.md fixes
// the types (timestamps TIMESTAMP, days DATE, money NUMERIC, ids STRING);
// sql/marts/README.md does not list columns, so this table is where they are
// written down. Changing a stable output means changing this table in the
// same commit, which makes a breaking change to BI visible in review.
//
// Credited counts (leads, mqls, ...) are FLOAT64 because attribution splits
// a lead across touches. Ratios derived from them (cost_per_lead,
// cost_per_sql, cac, roas, roi) are FLOAT64 too: they are quotients over
// fractional counts, not amounts of money the warehouse stores; spend,
// revenue and revenue credit are NUMERIC.
var biContract = map[string][]contractColumn{
	"fct_lead_revenue": {
		{"lead_id", "STRING", "lead id"},
		{"source_system", "STRING", "the CRM the lead came from"},
		{"created_at", "TIMESTAMP", "created_at"},
		{"lead_date", "DATE", "created_at as a day"},
		{"client_key", "STRING", "GA client id"},
		{"client_keys", "ARRAY<STRING>", "GA client ids"},
		{"first_touch_session_key", "STRING", "first session"},
		{"first_touch_at", "TIMESTAMP", "first session"},
		{"first_touch_channel", "STRING", "first session channel"},
		{"first_touch_source", "STRING", "first session source"},
		{"first_touch_medium", "STRING", "first session medium"},
		{"first_touch_campaign", "STRING", "first session campaign"},
		{"last_touch_session_key", "STRING", "last session"},
		{"last_touch_at", "TIMESTAMP", "last session"},
		{"last_touch_channel", "STRING", "last session channel"},
		{"last_touch_source", "STRING", "last session source"},
		{"last_touch_medium", "STRING", "last session medium"},
		{"last_touch_campaign", "STRING", "last session campaign"},
		{"lead_form_session_key", "STRING", "lead-form session"},
		{"lead_form_ga_session_id", "INT64", "lead-form session"},
		{"lead_form_submitted_at", "TIMESTAMP", "lead-form session"},
		{"lead_form_form_id", "STRING", "lead-form session"},
		{"lead_form_channel", "STRING", "lead-form session channel"},
		{"lead_form_source", "STRING", "lead-form session source"},
		{"lead_form_medium", "STRING", "lead-form session medium"},
		{"lead_form_campaign", "STRING", "lead-form session campaign"},
		{"mql_at", "TIMESTAMP", "stage timestamp MQL"},
		{"sql_at", "TIMESTAMP", "stage timestamp SQL"},
		{"opportunity_at", "TIMESTAMP", "stage timestamp opportunity"},
		{"won_at", "TIMESTAMP", "stage timestamp won"},
		{"lost_at", "TIMESTAMP", "stage timestamp lost"},
		{"disqualified_at", "TIMESTAMP", "stage timestamp disqualified"},
		{"disqualification_reason", "STRING", "why the CRM disqualified it"},
		{"revenue", "NUMERIC", "revenue"},
		{"currency", "STRING", "currency"},
		{"revenue_reporting", "NUMERIC", "revenue in the reporting currency"},
		{"reporting_currency", "STRING", "the reporting currency"},
		{"days_to_won", "FLOAT64", "days lead→won"},
		{"is_spam", "BOOL", "spam/bot flag"},
		{"spam_reason", "STRING", "spam/bot reason"},
		{"touchpoint_count", "INT64", "web touchpoints"},
		{"revenue_has_no_rate", "BOOL", "won revenue that no rate converts (revenue_reporting NULL)"},
	},
	"attribution_touchpoints": {
		{"lead_id", "STRING", "lead"},
		{"stage", "STRING", "the stage credited (lead, sql, won)"},
		{"model", "STRING", "model"},
		{"session_key", "STRING", "touch"},
		{"touch_at", "TIMESTAMP", "touch timestamp"},
		{"position", "INT64", "position"},
		{"touch_count", "INT64", "touches of the lead"},
		{"is_lead_form_session", "BOOL", "the session that submitted the form"},
		{"channel", "STRING", "channel"},
		{"source", "STRING", "source"},
		{"medium", "STRING", "medium"},
		{"campaign", "STRING", "campaign"},
		{"days_before_lead", "FLOAT64", "Δdays of time decay"},
		{"stage_at", "TIMESTAMP", "when the lead reached the stage"},
		{"credit", "FLOAT64", "credit (0..1)"},
		{"revenue_credit", "NUMERIC", "revenue credit"},
		{"reporting_currency", "STRING", "currency of revenue credit"},
		{"touch_phase", "STRING", "pre_lead or post_lead"},
		{"days_before_stage", "FLOAT64", "Δdays of time decay (to the stage)"},
		{"touch_type", "STRING", "web_session, event, webinar, call, meeting, direct_mail or campaign_member (NULL for Unattributed)"},
	},
	"channel_performance": {
		{"month", "DATE", "month"},
		{"channel", "STRING", "channel"},
		{"model", "STRING", "model"},
		{"spend", "NUMERIC", "spend"},
		{"spend_rows_unconverted", "INT64", "spend rows without an FX rate"},
		{"sessions", "INT64", "sessions"},
		{"leads", "FLOAT64", "leads"},
		{"spam_leads", "FLOAT64", "spam leads"},
		{"mqls", "FLOAT64", "MQLs"},
		{"sqls", "FLOAT64", "SQLs"},
		{"opportunities", "FLOAT64", "opportunities"},
		{"won", "FLOAT64", "won"},
		{"revenue", "NUMERIC", "revenue"},
		{"cost_per_lead", "FLOAT64", "cost per lead"},
		{"cost_per_sql", "FLOAT64", "cost per SQL"},
		{"cac", "FLOAT64", "CAC"},
		{"roas", "FLOAT64", "ROAS"},
		{"roi", "FLOAT64", "ROI"},
		{"spam_rate", "FLOAT64", "spam rate"},
		{"median_days_to_revenue", "FLOAT64", "median days to revenue"},
		{"reporting_currency", "STRING", "currency of spend and revenue"},
	},
	"writeback_queue": {
		{"idempotency_key", "STRING", "idempotency key"},
		{"lead_id", "STRING", "the lead (never sent)"},
		{"client_key", "STRING", "client id"},
		{"event_name", "STRING", "event name"},
		{"event_ts", "TIMESTAMP", "event time (timestamp_micros)"},
		{"ga_session_id", "INT64", "param session_id"},
		{"value", "NUMERIC", "value"},
		{"currency", "STRING", "currency"},
		{"lead_stage", "STRING", "param lead_stage"},
		{"reason", "STRING", "param disqualified/unconvert reason"},
	},
}

// TestBIContract: the analyzer's output columns of every stable output
// (their names, order and BigQuery types) equal the BI contract.
func TestBIContract(t *testing.T) {
	c := env.Client(t)
	results, _ := check(t, c, samModels(t))
	for _, table := range []string{"fct_lead_revenue", "attribution_touchpoints", "channel_performance", "writeback_queue"} {
		r, ok := results[table]
		switch {
		case !ok:
			t.Errorf("stable output %s is not a model", table)
			continue
		case r.Err != nil || r.BlockedBy != "":
			t.Errorf("stable output %s does not analyze (TestModels reports why)", table)
			continue
		}
		want := biContract[table]
		var got, wanted []string
		for _, col := range r.Columns {
			got = append(got, col.Name+" "+zetasql.TypeString(col))
		}
		for _, col := range want {
			wanted = append(wanted, col.name+" "+col.typ)
		}
		if d := listDiff(got, wanted); d != "" {
			t.Errorf("%s (model %s) breaks the BI contract (tests/bigquerysql/contract_test.go):\n%s", results[table].Model, table, d)
		}
	}
}

// listDiff describes how got differs from want, column by column.
func listDiff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&b, "  column %d: got %q, contract %q\n", i+1, g, w)
		}
	}
	return b.String()
}
