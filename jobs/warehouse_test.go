package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/warehouse/duckdb"
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

// A stage that needs more memory than DuckDB's limit fails with DuckDB's
// advice to SET threads or memory_limit, which a SAM user cannot do: first-
// row aggregates do not spill, so a full build of stg_ga4__sessions runs out
// of a 200 MiB limit at 770k events and of the default 1.2 GiB somewhere
// above 10M. The error, in the log and the ledger, names the limit, where it
// came from and the variable that raises it.
func TestRunningOutOfDuckDBMemoryNamesTheVariable(t *testing.T) {
	app := localApp(t, func(c *config.Config) { c.Warehouse.MemoryLimit = "128MiB" })
	// A first row per group held in memory, as stg_ga4__sessions holds one
	// per session.
	firstRows := Stage{Name: "transform", Func: func(ctx context.Context, _ *Run) (StageResult, error) {
		_, err := app.WH.Exec(ctx, `CREATE TABLE firsts AS
SELECT i % 200000 AS k, arg_min_null(struct_pack(v := repeat('x', 100) || i), i) AS first
FROM range(2000000) AS r(i) GROUP BY k`)
		return StageResult{}, err
	}}
	rep, err := app.run(t.Context(), "test", []Stage{firstRows})
	if err == nil {
		t.Fatal("the stage did not run out of memory")
	}
	const want = "DuckDB ran out of its memory limit, 128MiB from SAM_DUCKDB_MEMORY_LIMIT: some of its work (aggregates that keep a first row, as stg_ga4__sessions' for each month of a full build) cannot spill to disk. To finish, raise SAM_DUCKDB_MEMORY_LIMIT."
	if !strings.HasSuffix(err.Error(), "\n"+want) {
		t.Errorf("error does not end with the advice %q:\n%v", want, err)
	}
	if len(rep.Stages) != 1 || rep.Stages[0].Err == nil || rep.Stages[0].Err.Error() != err.Error() {
		t.Errorf("stage report %+v", rep.Stages)
	}
	entries, lerr := app.pipeline.Ledger.Recent(t.Context(), 1)
	if lerr != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Error, want) {
		t.Errorf("ledger %+v, %v: want the advice in its error", entries, lerr)
	}
}

// Without SAM_DUCKDB_MEMORY_LIMIT the advice says what the default came
// from: raising the variable past a capped default, or, where the default
// is a share of a container's memory, giving the container more.
func TestOutOfMemoryAdviceFollowsTheDefault(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		limit duckdb.MemoryLimit
		want  string
	}{
		{duckdb.MemoryLimit{Bytes: gib, Source: duckdb.MemoryFromMachine, Available: 24 * gib, Capped: true},
			"memory limit, 1.0 GiB (the default's ceiling): some of its work (aggregates that keep a first row, as stg_ga4__sessions' for each month of a full build) cannot spill to disk. To finish, set SAM_DUCKDB_MEMORY_LIMIT above it, within the 24.0 GiB of the machine."},
		{duckdb.MemoryLimit{Bytes: 1228 << 20, Source: duckdb.MemoryFromCgroup, Available: 2 * gib},
			"memory limit, 1.2 GiB (the default for the container's 2.0 GiB): some of its work (aggregates that keep a first row, as stg_ga4__sessions' for each month of a full build) cannot spill to disk. To finish, give the container more memory, or set SAM_DUCKDB_MEMORY_LIMIT higher, leaving room for the rest of the process."},
		{duckdb.MemoryLimit{Source: duckdb.MemoryFromDuckDB},
			"memory limit, DuckDB default (80% of the machine): some of its work (aggregates that keep a first row, as stg_ga4__sessions' for each month of a full build) cannot spill to disk. To finish, set SAM_DUCKDB_MEMORY_LIMIT higher."},
	} {
		if got := outOfMemoryAdvice(tc.limit); got != "DuckDB ran out of its "+tc.want {
			t.Errorf("%+v:\n got %s\nwant DuckDB ran out of its %s", tc.limit, got, tc.want)
		}
	}
}
