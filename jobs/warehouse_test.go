package jobs

import (
	"testing"

	"github.com/sam-attribution/sam/tests/bqfake"
)

// A dataset that does not exist, or a location typo, is configuration:
// it ended as exit 1 (a failed run, which Cloud Run retries) naming no
// variable.
func TestAMissingDatasetOrAWrongLocationNamesTheVariable(t *testing.T) {
	for _, tc := range []struct {
		name, dataset, location, want string
	}{
		{"no such dataset", "sam_prod", "US", `SAM_BQ_DATASET: bigquery: Dataset "sam_prod" does not exist`},
		{"location typo", "sam", "usa", `SAM_BQ_LOCATION: bigquery: Location "usa" is not where dataset sam-test-project.sam is (US)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := bqfake.Start(t)
			fake.AddDataset("sam-test-project", "sam", "US")
			fake.AddDataset("sam-test-project", "analytics_1", "US")
			cfg := defaults(t)
			cfg.Warehouse.Engine, cfg.Warehouse.Project, cfg.Warehouse.Endpoint = "bigquery", "sam-test-project", fake.Endpoint()
			cfg.Warehouse.Dataset, cfg.Warehouse.Location = tc.dataset, tc.location
			cfg.GA4.ExportDataset = "analytics_1"
			s, err := Configure(cfg, Task{})
			if err != nil {
				t.Fatal(err)
			}
			refusedNaming(t, openApp(t, s), true, tc.want)
		})
	}
}
