package attribution_test

import (
	"strings"
	"testing"

	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// The models must also render for BigQuery, with no DuckDB spelling left
// (a ZetaSQL analysis of the rendered SQL runs elsewhere).
func TestCompilesForBigQuery(t *testing.T) {
	p := testProject(t)
	sqls, err := p.Compile(bigquery.Dialect{}, func(table string) string { return "`proj.sam." + table + "`" }, testVars)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{
		"stg_fx__rates", "stg_spend__daily", "int_lead_stages", "int_lead_form_sessions", "int_lead_touchpoints",
		"int_attribution_paths", "int_markov_removal_effects", "int_shapley_path_credits",
		"fct_lead_revenue", "attribution_touchpoints", "channel_performance", "campaign_performance", "channel_cohorts",
	} {
		sql, ok := sqls[m]
		if !ok {
			t.Errorf("%s did not compile", m)
			continue
		}
		for _, duck := range []string{"TRY_CAST", "date_diff('", "TIMESTAMPTZ", "DECIMAL(38,9)"} {
			if strings.Contains(sql, duck) {
				t.Errorf("%s renders DuckDB-only %q for BigQuery", m, duck)
			}
		}
		if !strings.Contains(sql, "`proj.sam.") {
			t.Errorf("%s reads no qualified table", m)
		}
	}
}
