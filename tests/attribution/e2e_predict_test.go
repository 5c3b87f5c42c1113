package attribution_test

import (
	"context"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
)

// TestPredictedValueStories generates three months of sample data (the
// back-test needs more than one month of lead creation), loads it with the
// real loaders and builds the predicted-value marts with their data tests at
// the default settings. The planted story: cheap Paid Social leads almost
// never buy, dear Paid Search leads do, so an SQL from Paid Search is worth
// more; and the leave-one-month-out back-test predicts about what was won.
func TestPredictedValueStories(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: generates, loads and builds the sample data")
	}
	ctx := context.Background()
	wh := loadSampleData(t, 91)
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	// channel_performance: a data test on fct_lead_revenue also reads it.
	r := &transform.Runner{WH: wh, Project: p, Vars: testVars}
	sel, err := transform.ParseSelection("+channel_performance,+campaign_performance,+lead_value_predictions,+value_calibration")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}

	t.Run("an SQL from Paid Search is worth more than one from Paid Social", func(t *testing.T) {
		value := map[string]float64{}
		for _, row := range query(t, wh, `select channel, cohort_grain, cohort_leads, cohort_won, p_won,
			cast(avg_won_revenue as double) from int_stage_value_cohorts
			where fit = 'all' and stage = 'sql' and cohort_grain = 'channel'`) {
			ch := row[0].(string)
			value[ch] = toFloat(row[4]) * toFloat(row[5])
			t.Logf("%-16s leads %3d won %3d p %.3f avg %9.2f value %9.2f", ch, toInt(row[2]), toInt(row[3]),
				toFloat(row[4]), toFloat(row[5]), value[ch])
		}
		search, okSearch := value["Paid Search"]
		social, okSocial := value["Paid Social"]
		if !okSearch || !okSocial {
			t.Fatalf("no SQL-stage channel cohort for Paid Search or Paid Social: %v", value)
		}
		if search <= social {
			t.Errorf("SQL-stage value: Paid Search %.2f, Paid Social %.2f; want Paid Search above", search, social)
		}
		// The leads' own rows agree with their cohorts.
		got := map[string]float64{}
		for _, row := range query(t, wh, `select channel, avg(cast(predicted_value as double)) from lead_value_predictions
			where stage = 'sql' and cohort_grain in ('channel', 'campaign') group by channel`) {
			got[row[0].(string)] = toFloat(row[1])
		}
		if got["Paid Search"] <= got["Paid Social"] {
			t.Errorf("mean predicted SQL value: Paid Search %.2f, Paid Social %.2f; want Paid Search above",
				got["Paid Search"], got["Paid Social"])
		}
	})

	t.Run("the back-test is filled and roughly calibrated", func(t *testing.T) {
		row := query(t, wh, `select count(*), count(distinct lead_month), sum(cast(predicted_value_sum as double)),
			sum(cast(realised_won_revenue as double)) from value_calibration`)[0]
		rows, months, predicted, realised := toInt(row[0]), toInt(row[1]), toFloat(row[2]), toFloat(row[3])
		t.Logf("value_calibration: %d rows over %d months, predicted %.2f, realised %.2f", rows, months, predicted, realised)
		if rows == 0 || months < 2 {
			t.Fatalf("value_calibration has %d rows over %d months; want rows for at least 2 months", rows, months)
		}
		if !(predicted > realised/3 && predicted < realised*3) {
			t.Errorf("predicted %.2f against realised %.2f: off by more than a factor of 3", predicted, realised)
		}
	})
}
