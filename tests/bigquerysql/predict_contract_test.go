package bigquerysql_test

import (
	"testing"

	"github.com/sam-attribution/sam/tools/zetasql"
)

// predictContract holds the columns of the predicted-value marts, as
// sql/marts/README.md documents them; the activation layer reads
// lead_value_predictions and the report value_calibration.
var predictContract = map[string][]string{
	"lead_value_predictions": {
		"lead_id STRING", "stage STRING", "stage_at TIMESTAMP", "channel STRING", "campaign STRING",
		"cohort_grain STRING", "cohort_leads INT64", "cohort_won INT64", "p_won FLOAT64",
		"avg_won_revenue NUMERIC", "predicted_value NUMERIC", "currency STRING",
	},
	"value_calibration": {
		"lead_month DATE", "stage STRING", "channel STRING", "leads INT64", "predicted_won FLOAT64",
		"realised_won INT64", "predicted_value_sum NUMERIC", "realised_won_revenue NUMERIC", "ratio FLOAT64",
		"currency STRING",
	},
}

// TestPredictedValueContract: BigQuery types the predicted-value marts'
// columns as documented.
func TestPredictedValueContract(t *testing.T) {
	c := env.Client(t)
	results, _ := check(t, c, samModels(t))
	for table, want := range predictContract {
		r, ok := results[table]
		if !ok || r.Err != nil || r.BlockedBy != "" {
			t.Errorf("%s is not a model or does not analyze (TestModels reports why)", table)
			continue
		}
		var got []string
		for _, col := range r.Columns {
			got = append(got, col.Name+" "+zetasql.TypeString(col))
		}
		if d := listDiff(got, want); d != "" {
			t.Errorf("%s:\n%s", table, d)
		}
	}
}
