package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestDefaultsNeedNoCloud(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	if c.Engine != "duckdb" || c.DuckDBPath != "./sam.duckdb" || c.CRM.Source != "file" {
		t.Fatalf("unexpected defaults: engine=%q path=%q crm=%q", c.Engine, c.DuckDBPath, c.CRM.Source)
	}
	if c.WindowDays != 90 || c.TimeDecayHalfLife != 7 {
		t.Fatalf("attribution defaults: %d %v", c.WindowDays, c.TimeDecayHalfLife)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SAM_ENGINE": "postgres"}, "SAM_ENGINE"},
		{map[string]string{"SAM_ENGINE": "bigquery"}, "SAM_BQ_PROJECT"},
		{map[string]string{"SAM_ENGINE": "bigquery", "SAM_BQ_PROJECT": "p; DROP TABLE x"}, "SAM_BQ_PROJECT"},
		{map[string]string{"SAM_ENGINE": "bigquery", "SAM_BQ_PROJECT": "my-project"}, "SAM_GA4_EXPORT_DATASET"},
		{map[string]string{"SAM_BQ_DATASET": "sam`; drop"}, "SAM_BQ_DATASET"},
		{map[string]string{"SAM_GA4_LOOKBACK_DAYS": "three"}, "SAM_GA4_LOOKBACK_DAYS"},
		{map[string]string{"SAM_ATTRIBUTION_WINDOW_DAYS": "0"}, "SAM_ATTRIBUTION_WINDOW_DAYS"},
		{map[string]string{"SAM_REPORTING_CURRENCY": "usd"}, "SAM_REPORTING_CURRENCY"},
		{map[string]string{"SAM_WRITEBACK_MODE": "send"}, "SAM_GA4_API_SECRET"},
		{map[string]string{"SAM_CRM_SOURCE": "pipedrive"}, "SAM_CRM_SOURCE"},
		{map[string]string{"SAM_HUBSPOT_BASE_URL": "ftp://x"}, "SAM_HUBSPOT_BASE_URL"},
		{map[string]string{"SAM_HUBSPOT_LINK_WINDOW_DAYS": "-1"}, "SAM_HUBSPOT_LINK_WINDOW_DAYS"},
		{map[string]string{"SAM_GA4_START_DATE": "2024-13-01"}, "SAM_GA4_START_DATE"},
		// A start in the future (2062 for 2026) loaded nothing, in success.
		{map[string]string{"SAM_GA4_START_DATE": "2999-01-01"}, "SAM_GA4_START_DATE"},
		{map[string]string{"SAM_LOG_FORMAT": "xml"}, "SAM_LOG_FORMAT"},
		// Values that parse but do damage (issue 15, item 14).
		{map[string]string{"SAM_REPORTING_CURRENCY": "ABC"}, "SAM_REPORTING_CURRENCY"},
		{map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "NaN"}, "SAM_TIME_DECAY_HALF_LIFE_DAYS"},
		{map[string]string{"SAM_TIME_DECAY_HALF_LIFE_DAYS": "+Inf"}, "SAM_TIME_DECAY_HALF_LIFE_DAYS"},
		{map[string]string{"SAM_THREADS": "100000"}, "SAM_THREADS"},
		{map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "0B"}, "SAM_DUCKDB_MEMORY_LIMIT"},
		{map[string]string{"SAM_DUCKDB_MEMORY_LIMIT": "0.0 GB"}, "SAM_DUCKDB_MEMORY_LIMIT"},
		{map[string]string{"SAM_CRM_OVERLAP_MINUTES": "200000000"}, "SAM_CRM_OVERLAP_MINUTES"},
		{map[string]string{"SAM_MARKOV_GRAIN": "keyword"}, "SAM_MARKOV_GRAIN"},
		{map[string]string{"SAM_TRANSFORM_PARALLELISM": "-1"}, "SAM_TRANSFORM_PARALLELISM"},
		{map[string]string{"SAM_WRITEBACK_CONCURRENCY": "100000"}, "SAM_WRITEBACK_CONCURRENCY"},
		// A key file that is not there failed when BigQuery's client opened
		// (exit 1, "open /x/key.json", no variable named).
		{map[string]string{"SAM_ENGINE": "bigquery", "SAM_BQ_PROJECT": "my-project", "SAM_GA4_EXPORT_DATASET": "analytics_1", "SAM_BQ_CREDENTIALS_FILE": "/nonexistent/key.json"}, "SAM_BQ_CREDENTIALS_FILE"},
		{map[string]string{"SAM_GOOGLE_ADS_CREDENTIALS_FILE": "/nonexistent/key.json"}, "SAM_GOOGLE_ADS_CREDENTIALS_FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			if err == nil {
				t.Fatalf("%v: want an error", tc.env)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: error %q does not name %s", tc.env, err, tc.want)
			}
		})
	}
}

func TestSecretsNeverFormat(t *testing.T) {
	t.Setenv("SAM_GA4_API_SECRET", "s3cr3t-value")
	t.Setenv("SAM_HUBSPOT_TOKEN", "pat-na1-abc")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.APISecret)} {
		if strings.Contains(s, "s3cr3t-value") || strings.Contains(s, "pat-na1-abc") {
			t.Fatalf("secret leaked in %q", s)
		}
	}
	if c.APISecret.Reveal() != "s3cr3t-value" {
		t.Fatal("Reveal must return the secret")
	}
}

func TestKeysListEveryVariable(t *testing.T) {
	keys := Keys()
	want := []string{"SAM_ENGINE", "SAM_DUCKDB_PATH", "SAM_MODELS_DIR", "SAM_GA4_EXPORT_DIR", "SAM_HUBSPOT_TOKEN", "SAM_ATTRIBUTION_WINDOW_DAYS", "SAM_WRITEBACK_MODE", "SAM_LOG_FORMAT"}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("Keys() lacks %s", w)
		}
	}
}

// secretSettings lists the variables of type Secret, from the reference
// table the README is generated from.
func secretSettings(t *testing.T) []string {
	t.Helper()
	var usage strings.Builder
	if err := Usage(&usage); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(usage.String(), "\n") {
		f := strings.Split(line, "|")
		if len(f) > 3 && strings.TrimSpace(f[2]) == "Secret" {
			out = append(out, strings.Trim(strings.TrimSpace(f[1]), "`"))
		}
	}
	if len(out) == 0 {
		t.Fatal("the reference lists no secret")
	}
	return out
}

// A secret stored with `echo` ends in a newline, and a placeholder may be
// blanks. SAM sent such a value as it was (GA4 answers 2xx to any
// api_secret, so the events were recorded sent and never arrived), and
// the redactor hid every blank of the logs for a secret of one blank.
func TestSecretsWithBlanksAreRefusedUnquoted(t *testing.T) {
	for _, v := range secretSettings(t) {
		for _, value := range []string{"s3cret\n", " s3cret", "s3cret\t", "s3 cret", " ", "\n"} {
			t.Run(v+"="+value, func(t *testing.T) {
				t.Setenv(v, value)
				_, err := Load()
				if err == nil || !strings.Contains(err.Error(), v) {
					t.Fatalf("want an error naming %s, got %v", v, err)
				}
				if strings.Contains(err.Error(), "s3") {
					t.Fatalf("the error shows the secret: %v", err)
				}
			})
		}
	}
}

// SAM appends /mp/collect to SAM_GA4_MP_ENDPOINT. The validation server's
// prefix (/debug) answers 200 and records nothing, so every event was
// recorded sent and never sent again; a full collect URL doubled the path.
func TestMeasurementProtocolEndpointIsABaseURL(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://www.google-analytics.com/debug", false},
		{"https://region1.google-analytics.com/mp/collect", false},
		{"https://www.google-analytics.com?x=1", false},
		{"https://region1.google-analytics.com", true},
		{"https://region1.google-analytics.com/", true},
		{"http://127.0.0.1:8080", true},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			t.Setenv("SAM_WRITEBACK_MODE", "send")
			t.Setenv("SAM_GA4_API_SECRET", "s3cret")
			t.Setenv("SAM_GA4_MP_ENDPOINT", tc.endpoint)
			_, err := Load()
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "SAM_GA4_MP_ENDPOINT") {
				t.Fatalf("want an error naming SAM_GA4_MP_ENDPOINT, got %v", err)
			}
		})
	}
}

// The REST paths are /services/data/v59.0/…: "59.0" made every request of
// load_crm a 404. Over plain HTTP the consumer secret and the tokens
// travel in clear; only a simulator on this machine may use it.
func TestSalesforceVersionAndInstanceURL(t *testing.T) {
	for _, tc := range []struct {
		v, value string
		ok       bool
	}{
		{"SAM_SALESFORCE_API_VERSION", "59.0", false},
		{"SAM_SALESFORCE_API_VERSION", "v59", false},
		{"SAM_SALESFORCE_API_VERSION", "v60.0", true},
		{"SAM_SALESFORCE_INSTANCE_URL", "http://example.my.salesforce.com", false},
		{"SAM_SALESFORCE_INSTANCE_URL", "http://127.0.0.1.example.com", false},
		{"SAM_SALESFORCE_INSTANCE_URL", "https://example.my.salesforce.com", true},
		{"SAM_SALESFORCE_INSTANCE_URL", "http://127.0.0.1:8080", true},
		{"SAM_SALESFORCE_INSTANCE_URL", "http://localhost:8080", true},
		{"SAM_SALESFORCE_INSTANCE_URL", "http://[::1]:8080", true},
		// The exchange posts the client secret and the refresh token.
		{"SAM_LINKEDIN_TOKEN_URL", "http://www.linkedin.com/oauth/v2/accessToken", false},
		{"SAM_LINKEDIN_TOKEN_URL", "oauth/v2/accessToken", false},
		{"SAM_LINKEDIN_TOKEN_URL", "https://www.linkedin.com/oauth/v2/accessToken", true},
		{"SAM_LINKEDIN_TOKEN_URL", "http://127.0.0.1:8080/oauth/v2/accessToken", true},
	} {
		t.Run(tc.v+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.v, tc.value)
			_, err := Load()
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.v) {
				t.Fatalf("want an error naming %s, got %v", tc.v, err)
			}
		})
	}
}

// envconfig reads a map item by item, so a stage given twice kept its last
// id without a word: "won:123,won:456" sent won deals to 456 only.
func TestAStageGivenTwiceIsRefused(t *testing.T) {
	for _, v := range []string{"SAM_GOOGLE_ADS_CONVERSION_ACTIONS", "SAM_META_EVENT_NAMES", "SAM_LINKEDIN_CONVERSIONS"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(v, "lead:1,won:123,won:456")
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), `"won"`) {
				t.Fatalf("want an error naming %s and the stage won, got %v", v, err)
			}
			t.Setenv(v, "lead:1,won:123")
			c, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{
				"SAM_GOOGLE_ADS_CONVERSION_ACTIONS": c.GoogleAds.ConversionActions,
				"SAM_META_EVENT_NAMES":              c.Meta.EventNames,
				"SAM_LINKEDIN_CONVERSIONS":          c.LinkedIn.Conversions,
			}[v]
			if len(got) != 2 || got["lead"] != "1" || got["won"] != "123" {
				t.Fatalf("read %v", got)
			}
		})
	}
}
