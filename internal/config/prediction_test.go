package config

import (
	"strings"
	"testing"
)

func TestPredictionSettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Attribution.PredictionMaturityDays != 180 || c.Attribution.PredictionPriorStrength != 20 {
		t.Errorf("defaults: maturity %d, prior strength %v; want 180 and 20",
			c.Attribution.PredictionMaturityDays, c.Attribution.PredictionPriorStrength)
	}
	for _, tc := range []struct{ v, value string }{
		{"SAM_PREDICTION_MATURITY_DAYS", "0"},
		{"SAM_PREDICTION_MATURITY_DAYS", "-30"},
		{"SAM_PREDICTION_PRIOR_STRENGTH", "0"},
		{"SAM_PREDICTION_PRIOR_STRENGTH", "-1"},
		{"SAM_PREDICTION_PRIOR_STRENGTH", "NaN"},
		{"SAM_PREDICTION_PRIOR_STRENGTH", "+Inf"},
	} {
		t.Run(tc.v+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.v, tc.value)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), tc.v) {
				t.Fatalf("error %v, want one naming %s", err, tc.v)
			}
		})
	}
	t.Setenv("SAM_PREDICTION_PRIOR_STRENGTH", "2.5")
	if c, err := Load(); err != nil || c.Attribution.PredictionPriorStrength != 2.5 {
		t.Errorf("prior strength 2.5: %v, %v", c.Attribution.PredictionPriorStrength, err)
	}
}
