package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Values that passed Load and failed only later: after the warehouse file
// was created, after the loads, or on every BigQuery job. Each must fail
// in Load, naming the variable; the values beside them must pass.
type laterCase struct {
	name string
	env  map[string]string
	want string // the variable the error names; "" for a value that passes
}

func runLaterCases(t *testing.T, cases []laterCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("%v: %v", tc.env, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: want an error naming %s, got %v", tc.env, tc.want, err)
			}
		})
	}
}

// onBigQuery is a minimal BigQuery configuration with k set to v.
func onBigQuery(k, v string) map[string]string {
	env := map[string]string{"SAM_ENGINE": "bigquery", "SAM_BQ_PROJECT": "my-project", "SAM_GA4_EXPORT_DATASET": "analytics_1"}
	env[k] = v
	return env
}

func TestDuckDBMemoryLimitIsOneDuckDBRunsIn(t *testing.T) {
	runLaterCases(t, []laterCase{
		// DuckDB opened the file, then failed to allocate 32 KiB.
		{"1KB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "1KB"}, "SAM_DUCKDB_MEMORY_LIMIT"},
		{"100MB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "100MB"}, "SAM_DUCKDB_MEMORY_LIMIT"},
		// Overflows DuckDB's byte count: the same failure.
		{"99999999TB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "99999999TB"}, "SAM_DUCKDB_MEMORY_LIMIT"},
		{"128MiB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "128MiB"}, ""},
		{"4GB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "4GB"}, ""},
		{"2TiB", map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "2TiB"}, ""},
	})
}

func TestBigQueryLimitsAreOnesBigQueryTakes(t *testing.T) {
	runLaterCases(t, []laterCase{
		// time.Duration(18446744074)*time.Second wraps to 290ms.
		{"job timeout that wraps", onBigQuery("SAM_BQ_JOB_TIMEOUT_SECONDS", "18446744074"), "SAM_BQ_JOB_TIMEOUT_SECONDS"},
		{"job timeout over 6 h", onBigQuery("SAM_BQ_JOB_TIMEOUT_SECONDS", "21601"), "SAM_BQ_JOB_TIMEOUT_SECONDS"},
		{"job timeout of 6 h", onBigQuery("SAM_BQ_JOB_TIMEOUT_SECONDS", "21600"), ""},
		// BigQuery refuses a cap below its 10 MB minimum charge: every
		// model failed after the loads.
		{"bytes billed below 10 MB", onBigQuery("SAM_BQ_MAX_BYTES_BILLED", "1000000"), "SAM_BQ_MAX_BYTES_BILLED"},
		{"bytes billed of 10 MB", onBigQuery("SAM_BQ_MAX_BYTES_BILLED", "10485760"), ""},
	})
}

func TestProjectIDsAreGoogleCloudProjectIDs(t *testing.T) {
	var cases []laterCase
	for _, id := range []string{"my-project-", "-", "my..project", "my-p", "1project", "My-Project", "a23456789012345678901234567890x", "example.com:my-project-", ".com:my-project"} {
		cases = append(cases,
			laterCase{"BQ_PROJECT=" + id, onBigQuery("SAM_BQ_PROJECT", id), "SAM_BQ_PROJECT"},
			laterCase{"GA4_EXPORT_PROJECT=" + id, onBigQuery("SAM_GA4_EXPORT_PROJECT", id), "SAM_GA4_EXPORT_PROJECT"})
	}
	for _, id := range []string{"my-project", "sam-p1", "a23456789012345678901234567890", "example.com:my-project", "google.co.uk:ga4-export"} {
		cases = append(cases,
			laterCase{"BQ_PROJECT=" + id, onBigQuery("SAM_BQ_PROJECT", id), ""},
			laterCase{"GA4_EXPORT_PROJECT=" + id, onBigQuery("SAM_GA4_EXPORT_PROJECT", id), ""})
	}
	runLaterCases(t, cases)
}

func TestFilesSAMWritesCanBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := func(sink string) map[string]string {
		return map[string]string{"SAM_WRITEBACK_MODE": "local", "SAM_GA4_SINK_FILE": sink}
	}
	runLaterCases(t, []laterCase{
		// "open DuckDB warehouse …: mkdir …: not a directory", exit 1.
		{"duckdb path under a file", map[string]string{"SAM_DUCKDB_PATH": filepath.Join(file, "sam.duckdb")}, "SAM_DUCKDB_PATH"},
		{"duckdb path deeper under a file", map[string]string{"SAM_DUCKDB_PATH": filepath.Join(file, "a", "sam.duckdb")}, "SAM_DUCKDB_PATH"},
		{"duckdb path that is a directory", map[string]string{"SAM_DUCKDB_PATH": dir}, "SAM_DUCKDB_PATH"},
		// A file named " " was created.
		{"duckdb path of blanks", map[string]string{"SAM_DUCKDB_PATH": " "}, "SAM_DUCKDB_PATH"},
		{"duckdb path in a folder to create", map[string]string{"SAM_DUCKDB_PATH": filepath.Join(dir, "new", "sam.duckdb")}, ""},
		// The writeback stage failed after load, transform and test.
		{"sink file that is a directory", local(dir), "SAM_GA4_SINK_FILE"},
		{"sink file under a file", local(filepath.Join(file, "sink.ndjson")), "SAM_GA4_SINK_FILE"},
		{"sink file in a folder to create", local(filepath.Join(dir, "data", "ga4sink.ndjson")), ""},
		// Other modes do not write it.
		{"sink file under a file, writeback off", map[string]string{"SAM_WRITEBACK_MODE": "off", "SAM_GA4_SINK_FILE": dir}, ""},
	})
}

// The time_decay weight of a touch is pow(2, -days/half-life), which is 0
// in floating point beyond 1074 half-lives; a stage whose touches all lie
// further back divides 0 by 0. At 0.0001 days that was every touch, and 10
// models and 5 tests failed after the loads.
func TestHalfLifeKeepsTimeDecayWeightsAboveZero(t *testing.T) {
	runLaterCases(t, []laterCase{
		{"0.0001", map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "0.0001"}, "SAM_TIME_DECAY_HALF_LIFE_DAYS"},
		{"0.5", map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "0.5"}, "SAM_TIME_DECAY_HALF_LIFE_DAYS"},
		{"1", map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "1"}, ""},
		{"7", map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "7"}, ""},
	})
}
