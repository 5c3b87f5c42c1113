package jobs

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

func defaults(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Each package's Options report a field; Configure names the variable.
func TestConfigureNamesTheVariableBehindAnOption(t *testing.T) {
	cases := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"hubspot token", func(c *config.Config) { c.CRM.Source = "hubspot" }, "SAM_HUBSPOT_TOKEN"},
		{"salesforce url", func(c *config.Config) { c.CRM.Source = "salesforce"; c.Salesforce.AccessToken = "t" }, "SAM_SALESFORCE_INSTANCE_URL"},
		{"salesforce token", func(c *config.Config) {
			c.CRM.Source = "salesforce"
			c.Salesforce.InstanceURL = "https://example.my.salesforce.com"
		}, "SAM_SALESFORCE_ACCESS_TOKEN"},
		{"salesforce consumer secret", func(c *config.Config) {
			c.CRM.Source = "salesforce"
			c.Salesforce.InstanceURL, c.Salesforce.ConsumerKey = "https://example.my.salesforce.com", "3MVG9key"
		}, "SAM_SALESFORCE_CONSUMER_SECRET"},
		{"salesforce token beside a consumer key", func(c *config.Config) {
			c.CRM.Source = "salesforce"
			c.Salesforce.InstanceURL, c.Salesforce.AccessToken, c.Salesforce.ConsumerKey = "https://example.my.salesforce.com", "s3cret", "3MVG9key"
		}, "SAM_SALESFORCE_ACCESS_TOKEN"},
		{"crm dir", func(c *config.Config) { c.CRM.Dir = "" }, "SAM_CRM_DIR"},
		{"spend dir", func(c *config.Config) { c.Spend.SpendDir = "" }, "SAM_SPEND_DIR"},
		{"measurement id", func(c *config.Config) {
			c.Writeback.Mode, c.Writeback.APISecret, c.Writeback.MeasurementID = "send", "s3cret", ""
		}, "SAM_GA4_MEASUREMENT_ID"},
		{"config itself", func(c *config.Config) { c.Attribution.WindowDays = 0 }, "SAM_ATTRIBUTION_WINDOW_DAYS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults(t)
			tc.change(&cfg)
			_, err := Configure(cfg, Task{})
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a ConfigError naming %s, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}
}

func TestConfigureMapsOnce(t *testing.T) {
	cfg := defaults(t)
	cfg.Warehouse.Engine, cfg.Warehouse.Project, cfg.GA4.ExportDataset = "bigquery", "sam-prod", "analytics_1"
	cfg.HubSpot.Token = "pat-secret"
	s, err := Configure(cfg, Task{Index: 1, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.GA4.ExportProject != "sam-prod" {
		t.Errorf("the GA4 export project defaults to SAM's project, got %q", s.GA4.ExportProject)
	}
	if got := s.Redact("token pat-secret"); got != "token [redacted]" {
		t.Errorf("redactor: %q", got)
	}
	if s.Task != (Task{Index: 1, Count: 2}) {
		t.Errorf("task %+v", s.Task)
	}
}

// A channel group the seed does not define is configuration that would
// only fail later: before, the transform stopped on 26 models' "syntax error
// at or near else" and named nothing.
func TestUnknownChannelGroupFailsBeforeAnyWork(t *testing.T) {
	cfg := defaults(t)
	cfg.Transform.ChannelGroup = "nope"
	cfg.Warehouse.DuckDBPath = filepath.Join(t.TempDir(), "sam.duckdb")
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	err = openApp(t, s)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `SAM_CHANNEL_GROUP="nope"`) || !strings.Contains(err.Error(), "ai_assistants, default") {
		t.Fatalf("want a ConfigError naming SAM_CHANNEL_GROUP and the groups there are, got %v", err)
	}
	if _, statErr := os.Stat(cfg.Warehouse.DuckDBPath); statErr == nil {
		t.Error("the warehouse was opened before the configuration was checked")
	}
}

func TestCompileNamesAnUnknownChannelGroup(t *testing.T) {
	cfg := defaults(t)
	cfg.Transform.ChannelGroup = "nope"
	err := Compile(cfg, duckdb.Dialect{}, "", io.Discard)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SAM_CHANNEL_GROUP") {
		t.Fatalf("want a ConfigError naming SAM_CHANNEL_GROUP, got %v", err)
	}
}

// On BigQuery every CRM batch is a load job on each raw table it writes,
// and BigQuery allows 1,500 table operations a table a day (quotas page,
// "Load jobs per table per day"). Before, batches of 1,000 records stopped
// a first sync of a 1.5M-contact portal on quotaExceeded. The default is
// now the engine's choice; a set value still wins.
func TestCRMBatchSizeIsTheEnginesChoice(t *testing.T) {
	for _, tc := range []struct {
		engine string
		set    int
		want   int
	}{{"duckdb", 0, 1000}, {"bigquery", 0, 20000}, {"bigquery", 500, 500}} {
		cfg := defaults(t)
		cfg.CRM.BatchSize = tc.set
		cfg.Warehouse.Engine = tc.engine
		if tc.engine == "bigquery" {
			cfg.Warehouse.Project, cfg.Warehouse.Dataset, cfg.GA4.ExportDataset = "sam-p-123", "sam", "analytics_123"
		}
		s, err := Configure(cfg, Task{})
		if err != nil {
			t.Fatalf("%s: %v", tc.engine, err)
		}
		if got := s.CRM.File.BatchSize; got != tc.want {
			t.Errorf("%s, set %d: batch size %d, want %d", tc.engine, tc.set, got, tc.want)
		}
	}
}

// Meta counts events sent with a test event code as tests, with no
// business effect, while the runner records each one accepted: once the
// operator removed the code, no lead or deal ever reached Meta again. The
// code belongs to validate mode, which requires it.
func TestMetaTestEventCodeIsRefusedInSendMode(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		refused bool
	}{{"send", true}, {"validate", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := defaults(t)
			cfg.Writeback.Mode, cfg.Writeback.APISecret = tc.mode, "s3cret"
			cfg.Meta.AccessToken, cfg.Meta.DatasetID, cfg.Meta.TestEventCode = "EAAB", "123456789", "TEST1234"
			_, err := Configure(cfg, Task{})
			refusedNaming(t, err, tc.refused, "SAM_META_TEST_EVENT_CODE")
		})
	}
}

// Local and dry-run modes send (to the local sink) or print the GA4
// payloads with the measurement id as set; a malformed one failed only at
// the writeback stage, after the loads and the transform, naming no
// variable.
func TestMeasurementIDIsCheckedBeforeWorkInEveryModeThatSendsIt(t *testing.T) {
	for _, mode := range []string{"local", "dry-run"} {
		t.Run(mode, func(t *testing.T) {
			cfg := defaults(t)
			cfg.Writeback.Mode, cfg.Writeback.MeasurementID = mode, "UA-1234-1"
			_, err := Configure(cfg, Task{})
			refusedNaming(t, err, true, "SAM_GA4_MEASUREMENT_ID")
		})
	}
	cfg := defaults(t)
	cfg.Writeback.Mode, cfg.Writeback.MeasurementID = "off", "UA-1234-1"
	if _, err := Configure(cfg, Task{}); err != nil {
		t.Errorf("writeback off sends nothing, yet: %v", err)
	}
}

// The GA4 BigQuery loader tags each of several export datasets with the
// property id in its name, and refused a property listed twice or a name
// not analytics_<id> only inside load_ga4: a ledger row and exit 1, which
// Cloud Run retries.
func TestExportDatasetListIsCheckedBeforeWork(t *testing.T) {
	for _, tc := range []struct {
		list    string
		refused bool
	}{
		{"analytics_123,analytics_123", true},
		{"analytics_123,ga4_export", true},
		{"analytics_123,analytics_456", false},
		{"ga4_export", false}, // one dataset needs no property id
	} {
		t.Run(tc.list, func(t *testing.T) {
			cfg := defaults(t)
			cfg.Warehouse.Engine, cfg.Warehouse.Project, cfg.GA4.ExportDataset = "bigquery", "sam-prod", tc.list
			_, err := Configure(cfg, Task{})
			refusedNaming(t, err, tc.refused, "SAM_GA4_EXPORT_DATASET")
		})
	}
}

// A SAM_MODELS_DIR that holds no models ended with exit 1 and "load models:
// no models found", naming no variable; Cloud Run retries that.
func TestEmptyModelsDirIsAConfigError(t *testing.T) {
	cfg := defaults(t)
	cfg.Transform.ModelsDir = t.TempDir()
	cfg.Warehouse.DuckDBPath = filepath.Join(t.TempDir(), "sam.duckdb")
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	refusedNaming(t, openApp(t, s), true, "SAM_MODELS_DIR")
	if _, statErr := os.Stat(cfg.Warehouse.DuckDBPath); statErr == nil {
		t.Error("the warehouse was opened before the models were checked")
	}
}

// refusedNaming checks err: a ConfigError naming variable when refused,
// else none.
func refusedNaming(t *testing.T, err error, refused bool, variable string) {
	t.Helper()
	if !refused {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), variable) {
		t.Fatalf("want a ConfigError naming %s, got %v", variable, err)
	}
}

// openApp opens an App on s and closes it, returning NewApp's error.
func openApp(t *testing.T, s *Settings) error {
	t.Helper()
	app, err := NewApp(t.Context(), s, slog.New(slog.DiscardHandler), AppOptions{})
	if err == nil {
		app.Close()
	}
	return err
}

// LinkedIn's refresh settings reach the destination's options with the
// variables that name them in its messages, and its secrets are hidden in
// every log and error.
func TestLinkedInRefreshSettings(t *testing.T) {
	cfg := defaults(t)
	cfg.LinkedIn.ClientID, cfg.LinkedIn.ClientSecret, cfg.LinkedIn.RefreshToken = "77app", "client-s3cret-value", "AQW-refresh-token-value"
	cfg.LinkedIn.Conversions = config.StageMap{"won": "105"}
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	li := s.Activation.LinkedIn
	if !s.Activation.LinkedInOn || li.ClientID != "77app" || li.ClientSecret != "client-s3cret-value" || li.RefreshToken != "AQW-refresh-token-value" {
		t.Errorf("options %v %q", s.Activation.LinkedInOn, li.ClientID)
	}
	if li.FieldNames["RefreshToken"] != "SAM_LINKEDIN_REFRESH_TOKEN" || li.FieldNames["ClientSecret"] != "SAM_LINKEDIN_CLIENT_SECRET" {
		t.Errorf("field names %v", li.FieldNames)
	}
	if got := s.Redact("client-s3cret-value AQW-refresh-token-value"); got != "[redacted] [redacted]" {
		t.Errorf("redactor: %q", got)
	}
}
