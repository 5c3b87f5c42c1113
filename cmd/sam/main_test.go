package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/scheduler"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

func sam(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// useSample generates sample data with the generate flags given, and
// points sam at it and at a new warehouse.
func useSample(t *testing.T, flags ...string) {
	t.Helper()
	data := t.TempDir()
	if code, _, errOut := sam(t, append([]string{"generate", "--out", data}, flags...)...); code != exitOK {
		t.Fatalf("generate: exit %d, stderr %q", code, errOut)
	}
	useData(t, data)
}

// useData points sam at a new warehouse and at the input folders under data.
func useData(t *testing.T, data string) {
	t.Helper()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	t.Setenv("SAM_GA4_EXPORT_DIR", filepath.Join(data, "ga4"))
	t.Setenv("SAM_CRM_DIR", filepath.Join(data, "crm"))
	t.Setenv("SAM_SPEND_DIR", filepath.Join(data, "spend"))
	t.Setenv("SAM_FX_RATES_FILE", filepath.Join(data, "fx_rates.csv"))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"query", "--format", "xml", "SELECT 1"},
		{"compile", "--dialect", "postgres"},
		{"writeback", "--validate", "--dry-run"},
		{"schedule", "not a cron"},
		{"schedule", "0 0 30 2 *"},
		{"generate", "--days", "0"},
		{"generate", "--days", "100000"},
		{"generate", "--events-per-day", "10"},
	}
	for _, args := range cases {
		if code, _, _ := sam(t, args...); code != exitUsage {
			t.Errorf("sam %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestBadConfigurationFailsBeforeWorkNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	t.Setenv("SAM_ATTRIBUTION_WINDOW_DAYS", "-3")
	code, _, errOut := sam(t, "run")
	if code != exitUsage || !strings.Contains(errOut, "SAM_ATTRIBUTION_WINDOW_DAYS") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Fatalf("no work may start on bad configuration; found %v", matches)
	}
}

func TestQueryPrintsCSV(t *testing.T) {
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	code, out, errOut := sam(t, "query", "--format", "csv", "SELECT 1 AS n, 'a,b' AS s")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "n,s\n1,\"a,b\"\n" {
		t.Fatalf("csv output %q", out)
	}
}

func TestConfigAndVersion(t *testing.T) {
	code, out, _ := sam(t, "config")
	if code != exitOK || !strings.Contains(out, "`SAM_ENGINE`") {
		t.Fatalf("config: exit %d, %q", code, out)
	}
	code, out, _ = sam(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "sam ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestUnknownWritebackOutcomesExitNonZeroNamingTheReleaseCommand(t *testing.T) {
	rep := activation.Report{RunID: "r1", Destinations: []activation.DestinationReport{{Destination: "ga4", CrashWindow: []string{"k1", "k2"}}}}
	err := fmt.Errorf("stage writeback: %w", rep.Err())
	var stderr bytes.Buffer
	if code := exitCode(&stderr, err); code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"2 event(s) may or may not have arrived", "sam writeback --release"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not say %q", stderr.String(), want)
		}
	}
}

// Settings that fail only when a stage reaches them must stop SAM before
// any work, naming the variable.
func TestIncompleteSourcesAndDestinationsFailBeforeWork(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SAM_CRM_SOURCE": "hubspot"}, "SAM_HUBSPOT_TOKEN"},
		{map[string]string{"SAM_CRM_SOURCE": "salesforce", "SAM_SALESFORCE_ACCESS_TOKEN": "tok"}, "SAM_SALESFORCE_INSTANCE_URL"},
		{map[string]string{"SAM_CRM_SOURCE": "salesforce", "SAM_SALESFORCE_INSTANCE_URL": "https://example.my.salesforce.com"}, "SAM_SALESFORCE_ACCESS_TOKEN"},
		{map[string]string{"SAM_WRITEBACK_MODE": "send", "SAM_GA4_API_SECRET": "s3cret", "SAM_GA4_MEASUREMENT_ID": ""}, "SAM_GA4_MEASUREMENT_ID"},
		{map[string]string{"SAM_WRITEBACK_MODE": "validate", "SAM_GA4_API_SECRET": "s3cret", "SAM_GA4_MEASUREMENT_ID": "G-"}, "SAM_GA4_MEASUREMENT_ID"},
		{map[string]string{"CLOUD_RUN_TASK_COUNT": "2", "CLOUD_RUN_TASK_INDEX": "5"}, "CLOUD_RUN_TASK_INDEX"},
		{map[string]string{"CLOUD_RUN_TASK_COUNT": "none"}, "CLOUD_RUN_TASK_COUNT"},
		// Ad platforms are off until configured; half-configured is an error.
		{map[string]string{"SAM_META_DATASET_ID": "123456789012345"}, "SAM_META_ACCESS_TOKEN"},
		{map[string]string{"SAM_GOOGLE_ADS_CUSTOMER_ID": "1234567890"}, "SAM_GOOGLE_ADS_CONVERSION_ACTIONS"},
		{map[string]string{"SAM_LINKEDIN_ACCESS_TOKEN": "tok"}, "SAM_LINKEDIN_CONVERSIONS"},
		// An endpoint or version alone turned nothing on: the operator
		// meant the destination on and it stayed off without a word.
		{map[string]string{"SAM_GOOGLE_ADS_ENDPOINT": "http://127.0.0.1:9/"}, "SAM_GOOGLE_ADS_CUSTOMER_ID"},
		{map[string]string{"SAM_META_BASE_URL": "http://127.0.0.1:9/"}, "SAM_META_ACCESS_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_BASE_URL": "http://127.0.0.1:9/"}, "SAM_LINKEDIN_ACCESS_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_VERSION": "202601"}, "SAM_LINKEDIN_CONVERSIONS"},
		// The refresh flow takes three settings together; any one alone
		// turns LinkedIn on and names the others.
		{map[string]string{"SAM_LINKEDIN_CLIENT_ID": "77app", "SAM_LINKEDIN_CONVERSIONS": "won:1"}, "SAM_LINKEDIN_CLIENT_SECRET"},
		{map[string]string{"SAM_LINKEDIN_CLIENT_SECRET": "s3cret", "SAM_LINKEDIN_REFRESH_TOKEN": "AQW-r", "SAM_LINKEDIN_CONVERSIONS": "won:1"}, "SAM_LINKEDIN_CLIENT_ID"},
		{map[string]string{"SAM_LINKEDIN_CLIENT_ID": "77app", "SAM_LINKEDIN_CLIENT_SECRET": "s3cret", "SAM_LINKEDIN_CONVERSIONS": "won:1"}, "SAM_LINKEDIN_REFRESH_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_TOKEN_URL": "http://127.0.0.1:9/oauth/v2/accessToken"}, "SAM_LINKEDIN_REFRESH_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_ACCESS_TOKEN": "tok", "SAM_LINKEDIN_CLIENT_ID": "77app", "SAM_LINKEDIN_CLIENT_SECRET": "s3cret",
			"SAM_LINKEDIN_REFRESH_TOKEN": "AQW-r", "SAM_LINKEDIN_CONVERSIONS": "won:1"}, "SAM_LINKEDIN_ACCESS_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_CLIENT_ID": "77app", "SAM_LINKEDIN_CLIENT_SECRET": "s3cret", "SAM_LINKEDIN_REFRESH_TOKEN": "AQW-r\n",
			"SAM_LINKEDIN_CONVERSIONS": "won:1"}, "SAM_LINKEDIN_REFRESH_TOKEN"},
		{map[string]string{"SAM_LINKEDIN_CLIENT_ID": "77app", "SAM_LINKEDIN_CLIENT_SECRET": "s3cret", "SAM_LINKEDIN_REFRESH_TOKEN": "AQW-r",
			"SAM_LINKEDIN_CONVERSIONS": "won:1", "SAM_LINKEDIN_TOKEN_URL": "http://oauth.example.com/accessToken"}, "SAM_LINKEDIN_TOKEN_URL"},
		{map[string]string{"SAM_GOOGLE_ADS_DEFAULT_CREDENTIALS": "true"}, "SAM_GOOGLE_ADS_CONVERSION_ACTIONS"},
		{map[string]string{"SAM_GOOGLE_ADS_DEFAULT_CREDENTIALS": "true", "SAM_GOOGLE_ADS_ACCESS_TOKEN": "ya29.token",
			"SAM_GOOGLE_ADS_CUSTOMER_ID": "1234567890", "SAM_GOOGLE_ADS_CONVERSION_ACTIONS": "won:105"}, "SAM_GOOGLE_ADS_DEFAULT_CREDENTIALS"},
		{map[string]string{"SAM_WRITEBACK_MODE": "validate", "SAM_GA4_API_SECRET": "s3cret", "SAM_GA4_MEASUREMENT_ID": "G-ABC123",
			"SAM_META_DATASET_ID": "123456789012345", "SAM_META_ACCESS_TOKEN": "tok"}, "SAM_META_TEST_EVENT_CODE"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
			t.Setenv("SAM_GA4_SINK_FILE", filepath.Join(dir, "sink.ndjson"))
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errOut := sam(t, "run")
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("%v: exit %d, stderr %q; want exit %d naming %s", tc.env, code, errOut, exitUsage, tc.want)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
				t.Fatalf("no work may start on bad configuration; found %v", matches)
			}
		})
	}
}

func TestScheduleExitsFourWhileAnotherRunHoldsTheLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sam.duckdb")
	t.Setenv("SAM_DUCKDB_PATH", path)
	t.Setenv("SAM_GA4_EXPORT_DIR", dir)
	t.Setenv("SAM_CRM_DIR", dir)
	t.Setenv("SAM_SPEND_DIR", dir)
	t.Setenv("SAM_FX_RATES_FILE", filepath.Join(dir, "fx_rates.csv"))
	writeRates(t, filepath.Join(dir, "fx_rates.csv"))
	db, err := duckdb.Open(ctx, path, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	other := &scheduler.Lock{WH: db, Name: "sam-run", Holder: "another-host", TTL: time.Hour}
	if err := other.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := sam(t, "schedule", "--run-now", "0 6 * * *")
	if code != exitLocked || !strings.Contains(errOut, "lock") {
		t.Fatalf("exit %d, stderr %q; want %d", code, errOut, exitLocked)
	}
}

// A file CRM source or spend folder that is not there would load nothing
// and exit 0; the commands that load them stop first instead.
func TestMissingInputFoldersFailBeforeWork(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		env   string
		empty bool // set to "" instead of a folder that is not there
	}{
		{[]string{"run"}, "SAM_CRM_DIR", false},
		{[]string{"load"}, "SAM_SPEND_DIR", false},
		{[]string{"run", "--stages", "load_spend"}, "SAM_SPEND_DIR", false},
		// Before, a missing export folder failed the load_ga4 stage of a
		// started run, and an empty SAM_GA4_EXPORT_DIR loaded nothing, in
		// success.
		{[]string{"run", "--stages", "load_ga4"}, "SAM_GA4_EXPORT_DIR", false},
		{[]string{"run"}, "SAM_GA4_EXPORT_DIR", true},
	} {
		t.Run(fmt.Sprintf("%s empty=%v", tc.env, tc.empty), func(t *testing.T) {
			dir := t.TempDir()
			data := t.TempDir()
			for _, d := range []string{"ga4", "crm", "spend"} {
				if err := os.Mkdir(filepath.Join(data, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
			t.Setenv("SAM_GA4_EXPORT_DIR", filepath.Join(data, "ga4"))
			t.Setenv("SAM_CRM_DIR", filepath.Join(data, "crm"))
			t.Setenv("SAM_SPEND_DIR", filepath.Join(data, "spend"))
			if tc.empty {
				t.Setenv(tc.env, "")
			} else {
				t.Setenv(tc.env, filepath.Join(data, "missing"))
			}
			code, _, errOut := sam(t, tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.env) {
				t.Fatalf("sam %v: exit %d, stderr %q; want exit %d naming %s", tc.args, code, errOut, exitUsage, tc.env)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
				t.Fatalf("no work may start; found %v", matches)
			}
		})
	}
}

// Two export folders that both hold one property's files are a layout
// the loader refuses. Before, that was found only when the load_ga4 stage
// of a started run listed them: exit 1, a failed run in the ledger.
func TestTwoFoldersOfOnePropertyFailBeforeWork(t *testing.T) {
	dir := t.TempDir()
	data := t.TempDir()
	for _, d := range []string{"a/123", "b/123", "crm", "spend"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	t.Setenv("SAM_GA4_EXPORT_DIR", filepath.Join(data, "a")+","+filepath.Join(data, "b"))
	t.Setenv("SAM_CRM_DIR", filepath.Join(data, "crm"))
	t.Setenv("SAM_SPEND_DIR", filepath.Join(data, "spend"))
	code, _, errOut := sam(t, "run", "--stages", "load_ga4")
	if code != exitUsage || !strings.Contains(errOut, "SAM_GA4_EXPORT_DIR") || !strings.Contains(errOut, `property "123"`) {
		t.Fatalf("exit %d, stderr %q; want exit %d naming SAM_GA4_EXPORT_DIR and the property", code, errOut, exitUsage)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Fatalf("no work may start; found %v", matches)
	}
}

// A run of the load stages alone on a new warehouse has no marts yet: it
// ends without the channel tables, and without warning that it could not
// read them.
func TestLoadOnlyRunOnANewWarehouseEndsQuietly(t *testing.T) {
	data := t.TempDir()
	for _, d := range []string{"ga4", "crm", "spend"} {
		if err := os.Mkdir(filepath.Join(data, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	useData(t, data)
	writeRates(t, filepath.Join(data, "fx_rates.csv"))
	code, out, errOut := sam(t, "run", "--stages", "load_spend")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "load_spend") || strings.Contains(out, "channels by ROI") {
		t.Errorf("stdout %q: want the stage summary and no channel table", out)
	}
	if strings.Contains(errOut, "could not print") {
		t.Errorf("stderr %q: a load-only run warns about marts it never built", errOut)
	}
}

// The spend stage counts spend rows and rates apart. Before, an empty
// spend folder beside a rates file of 2 rows read "spend: read 2, loaded
// 2", and the missing spend export looked like a healthy load.
func TestSpendStageCountsSpendAndRatesApart(t *testing.T) {
	data := t.TempDir()
	for _, d := range []string{"ga4", "crm", "spend"} {
		if err := os.Mkdir(filepath.Join(data, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rates := filepath.Join(data, "fx_rates.csv")
	if err := os.WriteFile(rates, []byte("date,from_currency,to_currency,rate\n2026-11-01,EUR,USD,1.08\n2026-11-01,GBP,USD,1.27\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	useData(t, data)
	t.Setenv("SAM_FX_RATES_FILE", rates)
	code, out, errOut := sam(t, "run", "--stages", "load_spend")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "spend: read 0, loaded 0, rejected 0 (no spend rows: paid channels show no cost); rates: read 2, loaded 2, rejected 0") {
		t.Errorf("stdout %q: want spend and rates counted apart, and the missing spend said", out)
	}
}

// `sam report` before any transform says which command builds the marts.
func TestReportOnANewWarehouseNamesTheCommandThatBuildsTheMarts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	code, _, errOut := sam(t, "report", "--out", filepath.Join(dir, "report.html"))
	if code != exitFailed || !strings.Contains(errOut, "channel_performance") || !strings.Contains(errOut, "sam transform") {
		t.Fatalf("exit %d, stderr %q; want %d naming channel_performance and `sam transform`", code, errOut, exitFailed)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); !os.IsNotExist(err) {
		t.Errorf("a report was written: %v", err)
	}
}

// Writeback before any transform fails on the missing activation_events,
// and says only that: there are no activation tables to print.
func TestWritebackOnANewWarehouseFailsWithoutTableWarnings(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	t.Setenv("SAM_WRITEBACK_MODE", "local")
	t.Setenv("SAM_GA4_SINK_FILE", filepath.Join(dir, "sink.ndjson"))
	code, _, errOut := sam(t, "run", "--stages", "writeback")
	if code != exitFailed || !strings.Contains(errOut, "activation_events") {
		t.Fatalf("exit %d, stderr %q; want %d naming activation_events", code, errOut, exitFailed)
	}
	if strings.Contains(errOut, "could not print") {
		t.Errorf("stderr %q: warns about tables no transform has built", errOut)
	}
}

// A writeback stopped by SIGTERM exits 3 once the requests under way have
// their outcomes, and does not spend the seconds left before SIGKILL on
// the activation tables (nor warn that it could not print them). No JSON
// log line of the run names a key twice (writeback's named its run_id twice).
func TestInterruptedWritebackExitsThreeWithoutTableWarnings(t *testing.T) {
	useSample(t, "--days", "5", "--seed", "3")
	code, _, prepErr := sam(t, "run", "--stages", "load_ga4,load_crm,load_spend,transform")
	if code != exitOK {
		t.Fatalf("load and transform: exit %d, stderr %q", code, prepErr)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ga4 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stop() // the SIGTERM, while this request is at GA4
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ga4.Close()
	t.Setenv("SAM_WRITEBACK_MODE", "send")
	t.Setenv("SAM_GA4_MP_ENDPOINT", ga4.URL)
	t.Setenv("SAM_GA4_API_SECRET", "test-secret")
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"writeback"}, &out, &errOut); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitInterrupted, errOut.String())
	}
	if strings.Contains(errOut.String(), "could not print") || !strings.Contains(errOut.String(), "unknown 0") {
		t.Errorf("stderr %q: want no table warning and no unknown outcome", errOut.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(prepErr+errOut.String()), "\n") {
		if k := repeatedKey(line); k != "" {
			t.Errorf("log line repeats %q: %s", k, line)
		}
	}
}

// repeatedKey is a key that a JSON log line's object holds twice, or "".
func repeatedKey(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
	}
	return ""
}

// `sam test` before any transform fails with one line that names the
// command that builds the models, not one engine error per test.
func TestTestOnANewWarehouseNamesTheCommandThatBuildsTheModels(t *testing.T) {
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	code, _, errOut := sam(t, "test")
	if code != exitFailed || !strings.Contains(errOut, "no model is built yet") || !strings.Contains(errOut, "`sam transform` or `sam run`") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if n := strings.Count(errOut, "\n"); n > 5 {
		t.Errorf("stderr has %d lines: %q", n, errOut)
	}
}

// The plan table keeps one line per model when a dry run's error runs to
// several (DuckDB's points at the query with a caret).
func TestPlanTableKeepsOneLinePerModel(t *testing.T) {
	p := &transform.Plan{Items: []transform.PlanItem{
		{Model: "stg_a", Materialized: "table", Action: transform.ActionBuild, Reasons: []string{"new"},
			EstimateErr: "duckdb: dry run: Catalog Error: Table with name raw_a does not exist!\n\nLINE 3: from \"raw_a\"\n             ^"},
		{Model: "stg_b", Materialized: "table", Action: transform.ActionBuild, Reasons: []string{"new"}},
	}}
	var out bytes.Buffer
	if err := writePlan(&out, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "LINE 3") || !strings.Contains(out.String(), "error: duckdb: dry run: Catalog Error: Table with name raw_a does not exist!") {
		t.Errorf("plan table:\n%s", out.String())
	}
}

// `sam checksum` before any transform says the mart is not built and which
// command builds it, not the engine's binder error.
func TestChecksumOnANewWarehouseNamesTheCommandThatBuildsTheMarts(t *testing.T) {
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	code, _, errOut := sam(t, "checksum")
	if code != exitFailed || !strings.Contains(errOut, "is not built") || !strings.Contains(errOut, "`sam transform` or `sam run`") || strings.Contains(errOut, "Catalog Error") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// A model whose upstream is not built yet shows what its estimate waits
// for, not an error.
func TestPlanTableSaysWhatAnEstimateWaitsFor(t *testing.T) {
	p := &transform.Plan{Items: []transform.PlanItem{
		{Model: "int_a", Materialized: "table", Action: transform.ActionBuild, Reasons: []string{"new"}, EstimateAfter: []string{"stg_a"}},
		{Model: "fct_b", Materialized: "table", Action: transform.ActionBuild, Reasons: []string{"new"}, EstimateAfter: []string{"int_a", "stg_b"}},
	}}
	var out bytes.Buffer
	if err := writePlan(&out, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"after stg_a is built", "after int_a, stg_b are built"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan table does not say %q:\n%s", want, out.String())
		}
	}
}

// An unknown model in --select is a usage error: before, `sam transform`
// started a run, recorded a failed transform stage in the ledger and exited 1.
func TestSelectingAnUnknownModelIsAUsageError(t *testing.T) {
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	for _, cmd := range []string{"transform", "test", "plan"} {
		code, _, errOut := sam(t, cmd, "--select", "stg_ga4__event+")
		if code != exitUsage || !strings.Contains(errOut, "unknown model stg_ga4__event") || !strings.Contains(errOut, "stg_ga4__events") {
			t.Errorf("sam %s --select stg_ga4__event+: exit %d, stderr %q; want exit %d naming the model and what it may mean", cmd, code, errOut, exitUsage)
		}
	}
	if code, out, _ := sam(t, "runs"); code != 0 || strings.Contains(out, "transform") || strings.Contains(out, "test") {
		t.Errorf("sam runs: exit %d\n%s\nwant no run recorded", code, out)
	}
}

// --destination names whose crash window --release clears. Before, an
// unknown one was searched for the keys (exit 1, "nope: key k1 is not in
// the crash window"), and --destination without --release was ignored.
func TestWritebackDestinationIsCheckedAndNeedsRelease(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	t.Setenv("SAM_GA4_SINK_FILE", filepath.Join(dir, "ga4sink.ndjson"))
	for _, args := range [][]string{
		{"writeback", "--release", "k1", "--destination", "nope"},
		{"writeback", "--destination", "meta"},
	} {
		code, _, errOut := sam(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "--destination") {
			t.Errorf("sam %v: exit %d, stderr %q; want exit %d about --destination", args, code, errOut, exitUsage)
		}
	}
}

// --out naming a folder is a usage error found before any work. Before,
// the report was written to FOLDER.tmp, the rename failed with "file
// exists", and FOLDER.tmp stayed behind.
func TestReportOutIntoAFolderIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	out := filepath.Join(dir, "reports")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := sam(t, "report", "--out", out)
	if code != exitUsage || !strings.Contains(errOut, "is a directory") {
		t.Errorf("exit %d, stderr %q; want exit %d saying --out is a directory", code, errOut, exitUsage)
	}
	if _, err := os.Stat(out + ".tmp"); err == nil {
		t.Error("a .tmp file was left beside the folder")
	}
}

// A --from/--to window holding no month of the data is a usage error that
// says which months there are. Before, the report was written, every chart
// saying "No data.", and sam exited 0.
func TestReportOfMonthsWithoutDataSaysWhichMonthsThereAre(t *testing.T) {
	useSample(t, "--days", "3", "--events-per-day", "60")
	t.Setenv("SAM_WRITEBACK_MODE", "off")
	if code, _, errOut := sam(t, "run"); code != exitOK {
		t.Fatalf("run: exit %d, %s", code, errOut)
	}
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, errOut := sam(t, "report", "--from", "2030-01", "--out", out)
	if code != exitUsage || !strings.Contains(errOut, "no month of the data") {
		t.Errorf("exit %d, stderr %q; want exit %d saying which months the data has", code, errOut, exitUsage)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written: %v", err)
	}
}

// writeRates writes a rates file of its header alone: the spend stage
// needs one to exist.
func writeRates(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("date,from_currency,to_currency,rate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
