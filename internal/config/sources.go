package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/iso4217"
	"github.com/sam-attribution/sam/warehouse"
)

// GA4 configures the GA4 export loader.
type GA4 struct {
	ExportProject string `envconfig:"EXPORT_PROJECT" desc:"project holding the GA4 BigQuery export (defaults to SAM_BQ_PROJECT)"`
	ExportDataset string `envconfig:"EXPORT_DATASET" desc:"GA4 export dataset, e.g. analytics_123456789 (bigquery engine); a comma-separated list for several properties"`
	ExportDir     string `envconfig:"EXPORT_DIR" default:"./data/ga4" desc:"directory of GA4 export files, events_YYYYMMDD.json[.gz] or .parquet (duckdb engine), or of one sub-folder per property named by its id; a comma-separated list for several properties"`
	LookbackDays  int    `envconfig:"LOOKBACK_DAYS" default:"3" desc:"days before the last loaded day that are reloaded, since GA4 rewrites daily tables for up to 72 h (only those changed since their load: export files by path, size or modification time, BigQuery daily tables by row count or last write, BigQuery intraday tables always)"`
	StartDate     string `envconfig:"START_DATE" desc:"first export day to load on an empty warehouse (YYYY-MM-DD); empty loads everything present"`
}

func (g GA4) validate() error {
	if g.LookbackDays < 0 {
		return bad("GA4_LOOKBACK_DAYS", "", "must not be negative")
	}
	for _, ds := range List(g.ExportDataset) {
		if !warehouse.ValidIdentifier(ds) {
			return bad("GA4_EXPORT_DATASET", ds, "is not a valid dataset name")
		}
	}
	if g.ExportProject != "" {
		if err := checkProjectID("GA4_EXPORT_PROJECT", g.ExportProject); err != nil {
			return err
		}
	}
	if g.StartDate != "" {
		if err := checkDate("GA4_START_DATE", g.StartDate); err != nil {
			return err
		}
		// A day no property has reached anywhere yet (the clock in UTC+14)
		// would load nothing, in success, until it comes: a typo.
		if d, _ := time.Parse(time.DateOnly, g.StartDate); d.After(time.Now().UTC().Add(14 * time.Hour)) {
			return bad("GA4_START_DATE", g.StartDate, "is in the future: nothing would load until then")
		}
	}
	return nil
}

// List splits a comma-separated setting, dropping blanks.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

const maxOverlapMinutes = 30 * 24 * 60

// maxLinkWindowDays is a century: HubSpot is younger.
const maxLinkWindowDays = 36500

// CRM selects the CRM source.
type CRM struct {
	Source string `envconfig:"SOURCE" default:"file" desc:"CRM source: file (CSV/NDJSON export), hubspot or salesforce"`
	Dir    string `envconfig:"DIR" default:"./data/crm" desc:"directory holding leads.{csv,ndjson} and deals.{csv,ndjson} (file source)"`
	// OverlapMinutes re-reads records modified shortly before the cursor,
	// covering records changed while the previous sync ran.
	OverlapMinutes int `envconfig:"OVERLAP_MINUTES" default:"10" desc:"minutes before the saved cursor that an incremental sync re-reads"`
	BatchSize      int `envconfig:"BATCH_SIZE" default:"0" desc:"records written to staging per batch; a cursor is committed after each batch; 0: the engine's choice (1000 on DuckDB; 20000 on BigQuery, where each batch is a load job on each raw table and a table takes 1,500 a day)"`
}

func (c CRM) validate() error {
	if err := oneOf("CRM_SOURCE", c.Source, "file", "hubspot", "salesforce"); err != nil {
		return err
	}
	if c.OverlapMinutes < 0 {
		return bad("CRM_OVERLAP_MINUTES", "", "must not be negative")
	}
	// Minutes beyond about 290 years overflow a time.Duration; a month is
	// far more than any sync needs to re-read.
	if c.OverlapMinutes > maxOverlapMinutes {
		return bad("CRM_OVERLAP_MINUTES", fmt.Sprint(c.OverlapMinutes), "must be at most %d (30 days)", maxOverlapMinutes)
	}
	if c.BatchSize < 0 {
		return bad("CRM_BATCH_SIZE", fmt.Sprint(c.BatchSize), "must not be negative (0: the engine's choice)")
	}
	return nil
}

// HubSpot configures the HubSpot CRM source.
type HubSpot struct {
	Token            Secret `envconfig:"TOKEN" desc:"HubSpot private app access token (secret)"`
	BaseURL          string `envconfig:"BASE_URL" default:"https://api.hubapi.com" desc:"HubSpot API base URL"`
	ClientIDProperty string `envconfig:"CLIENT_ID_PROPERTY" default:"ga_client_id" desc:"contact property holding the hidden-field GA client id"`
	GclidProperty    string `envconfig:"GCLID_PROPERTY" default:"gclid" desc:"contact property holding the hidden-field gclid"`
	UserIDProperty   string `envconfig:"USER_ID_PROPERTY" desc:"contact property holding the site's user id (GA4 user_id stitching); empty: none"`
	MetaLeadIDProp   string `envconfig:"META_LEAD_ID_PROPERTY" desc:"contact property holding the Meta lead ad's lead id; empty: not read"`
	LiFatIDProperty  string `envconfig:"LI_FAT_ID_PROPERTY" desc:"contact property holding LinkedIn's li_fat_id; empty: not read"`
	AdConsentProp    string `envconfig:"AD_CONSENT_PROPERTY" desc:"contact property holding consent to use the data for ads (granted/denied, yes/no, true/false, 1/0); empty: not read"`
	RequestsPer10s   int    `envconfig:"REQUESTS_PER_10S" default:"100" desc:"client-side limit on HubSpot requests per rolling 10 seconds"`
	SearchPerSecond  int    `envconfig:"SEARCH_PER_SECOND" default:"4" desc:"client-side limit on HubSpot search requests per second"`
	// LinkWindowDays bounds the re-read of associations, which HubSpot
	// changes without changing either record's modification date.
	LinkWindowDays int `envconfig:"LINK_WINDOW_DAYS" default:"365" desc:"every sync re-reads the associations of the deals, companies, meetings and calls created in this many days before it (HubSpot changes associations without changing the record's hs_lastmodifieddate); 0: of every live record"`
}

func (h HubSpot) validate() error {
	if err := checkSecret("HUBSPOT_TOKEN", h.Token); err != nil {
		return err
	}
	if err := positive("HUBSPOT_REQUESTS_PER_10S", h.RequestsPer10s); err != nil {
		return err
	}
	if err := positive("HUBSPOT_SEARCH_PER_SECOND", h.SearchPerSecond); err != nil {
		return err
	}
	// Days beyond about 290 years overflow a time.Duration.
	if h.LinkWindowDays < 0 || h.LinkWindowDays > maxLinkWindowDays {
		return bad("HUBSPOT_LINK_WINDOW_DAYS", fmt.Sprint(h.LinkWindowDays), "must be between 0 (every record) and %d", maxLinkWindowDays)
	}
	if !warehouse.ValidIdentifier(h.ClientIDProperty) {
		return bad("HUBSPOT_CLIENT_ID_PROPERTY", h.ClientIDProperty, "is not a valid property name")
	}
	if !warehouse.ValidIdentifier(h.GclidProperty) {
		return bad("HUBSPOT_GCLID_PROPERTY", h.GclidProperty, "is not a valid property name")
	}
	for _, p := range []struct{ v, value string }{
		{"HUBSPOT_USER_ID_PROPERTY", h.UserIDProperty}, {"HUBSPOT_META_LEAD_ID_PROPERTY", h.MetaLeadIDProp},
		{"HUBSPOT_LI_FAT_ID_PROPERTY", h.LiFatIDProperty}, {"HUBSPOT_AD_CONSENT_PROPERTY", h.AdConsentProp},
	} {
		if p.value != "" && !warehouse.ValidIdentifier(p.value) {
			return bad(p.v, p.value, "is not a valid property name")
		}
	}
	return checkURL("HUBSPOT_BASE_URL", h.BaseURL)
}

var salesforceVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Salesforce configures the Salesforce CRM source.
type Salesforce struct {
	InstanceURL       string `envconfig:"INSTANCE_URL" desc:"Salesforce instance URL, e.g. https://example.my.salesforce.com; http only for a simulator on this machine"`
	AccessToken       Secret `envconfig:"ACCESS_TOKEN" desc:"OAuth access token (secret); it lasts the session timeout, so a scheduled job sets SAM_SALESFORCE_CONSUMER_KEY and SAM_SALESFORCE_CONSUMER_SECRET instead"`
	ConsumerKey       string `envconfig:"CONSUMER_KEY" desc:"consumer key of the external client app that logs SAM in with the OAuth client credentials flow (at SAM_SALESFORCE_INSTANCE_URL, the org's My Domain)"`
	ConsumerSecret    Secret `envconfig:"CONSUMER_SECRET" desc:"consumer secret of that app (secret)"`
	APIVersion        string `envconfig:"API_VERSION" default:"v59.0" desc:"Salesforce REST API version, of the form vNN.N"`
	GAClientIDField   string `envconfig:"CLIENT_ID_FIELD" default:"GA_Client_ID__c" desc:"Lead/Contact field holding the hidden-field GA client id"`
	GclidField        string `envconfig:"GCLID_FIELD" default:"GCLID__c" desc:"Lead/Contact field holding the hidden-field gclid"`
	UserIDField       string `envconfig:"USER_ID_FIELD" desc:"Lead/Contact field holding the site's user id (GA4 user_id stitching); empty: none"`
	MetaLeadIDField   string `envconfig:"META_LEAD_ID_FIELD" desc:"Lead/Contact field holding the Meta lead ad's lead id; empty: not read"`
	LiFatIDField      string `envconfig:"LI_FAT_ID_FIELD" desc:"Lead/Contact field holding LinkedIn's li_fat_id; empty: not read"`
	AdConsentField    string `envconfig:"AD_CONSENT_FIELD" desc:"Lead/Contact field holding consent to use the data for ads (granted/denied, yes/no, true/false, 1/0); empty: not read"`
	CurrencyField     string `envconfig:"CURRENCY_FIELD" desc:"Opportunity currency field (CurrencyIsoCode in multi-currency orgs); empty: amounts are in SAM_REPORTING_CURRENCY"`
	RequestsPerSecond int    `envconfig:"REQUESTS_PER_SECOND" default:"10" desc:"client-side limit on Salesforce requests per second"`
}

func (s Salesforce) validate() error {
	if err := checkSecret("SALESFORCE_ACCESS_TOKEN", s.AccessToken); err != nil {
		return err
	}
	if err := checkSecret("SALESFORCE_CONSUMER_SECRET", s.ConsumerSecret); err != nil {
		return err
	}
	if s.InstanceURL != "" {
		if err := checkURL("SALESFORCE_INSTANCE_URL", s.InstanceURL); err != nil {
			return err
		}
		// The login posts the consumer secret, and every request the token.
		if u, _ := url.Parse(s.InstanceURL); u.Scheme != "https" && !loopback(u.Hostname()) {
			return bad("SALESFORCE_INSTANCE_URL", s.InstanceURL, "must be an https URL: over http the consumer secret and the access token travel in clear (http is for a simulator on this machine only)")
		}
	}
	if !salesforceVersionRE.MatchString(s.APIVersion) {
		return bad("SALESFORCE_API_VERSION", s.APIVersion, "must be of the form vNN.N, such as v59.0: it is a path segment of every REST request")
	}
	for _, f := range []struct{ v, value string }{
		{"SALESFORCE_CLIENT_ID_FIELD", s.GAClientIDField}, {"SALESFORCE_GCLID_FIELD", s.GclidField},
		{"SALESFORCE_USER_ID_FIELD", s.UserIDField}, {"SALESFORCE_CURRENCY_FIELD", s.CurrencyField},
		{"SALESFORCE_META_LEAD_ID_FIELD", s.MetaLeadIDField}, {"SALESFORCE_LI_FAT_ID_FIELD", s.LiFatIDField},
		{"SALESFORCE_AD_CONSENT_FIELD", s.AdConsentField},
	} {
		if f.value != "" && !warehouse.ValidIdentifier(f.value) {
			return bad(f.v, f.value, "is not a valid field name")
		}
	}
	return positive("SALESFORCE_REQUESTS_PER_SECOND", s.RequestsPerSecond)
}

// Spend configures ad spend and currency conversion.
type Spend struct {
	SpendDir          string `envconfig:"SPEND_DIR" default:"./data/spend" desc:"directory of ad spend CSV files (date,source,medium,campaign,cost,currency)"`
	FXRatesFile       string `envconfig:"FX_RATES_FILE" default:"./data/fx_rates.csv" desc:"CSV of currency rates (date,from_currency,to_currency,rate; amount_in_to = amount_in_from * rate)"`
	ReportingCurrency string `envconfig:"REPORTING_CURRENCY" default:"USD" desc:"ISO 4217 currency every amount is reported in"`
}

func (s Spend) validate() error {
	if len(s.ReportingCurrency) != 3 || s.ReportingCurrency != upper(s.ReportingCurrency) {
		return bad("REPORTING_CURRENCY", s.ReportingCurrency, "must be a 3-letter ISO 4217 code in capitals")
	}
	if !iso4217.Active(s.ReportingCurrency) {
		// Amounts in an unknown currency convert to nothing: every value
		// would be 0, and what was sent would never be sent again.
		return bad("REPORTING_CURRENCY", s.ReportingCurrency, "is not an active ISO 4217 currency code")
	}
	return nil
}

// minHalfLifeDays is the shortest SAM_TIME_DECAY_HALF_LIFE_DAYS.
const minHalfLifeDays = 1

// Attribution configures the attribution models.
type Attribution struct {
	WindowDays        int     `envconfig:"ATTRIBUTION_WINDOW_DAYS" default:"90" desc:"sessions this many days before a lead's creation count as its touchpoints"`
	TimeDecayHalfLife float64 `envconfig:"TIME_DECAY_HALF_LIFE_DAYS" default:"7" desc:"half-life in days of the time_decay model; at least 1"`
	// B2B deals close months after the lead; an open lead younger than this
	// is left out of the won-rate estimates rather than read as a loss.
	PredictionMaturityDays  int     `envconfig:"PREDICTION_MATURITY_DAYS" default:"180" desc:"an open lead counts as not won, for predicted values, once it reached a stage this many days before the newest CRM data"`
	PredictionPriorStrength float64 `envconfig:"PREDICTION_PRIOR_STRENGTH" default:"20" desc:"leads' worth of weight a cohort's predicted value gives the broader cohort's rate and average (shrinkage)"`
	// The data-driven models (int_markov_removal_effects,
	// int_shapley_path_credits) read these as transform vars.
	MarkovOrder     int    `envconfig:"MARKOV_ORDER" default:"1" desc:"order of the markov model's chain, 1 to 3: how many past channels a state remembers"`
	PathTransform   string `envconfig:"PATH_TRANSFORM" default:"unique" desc:"path transform before the markov and shapley models: unique (as observed), exposure (collapse repeats in a row) or first (first occurrence of each channel)"`
	MinPathJourneys int    `envconfig:"MIN_PATH_JOURNEYS" default:"0" desc:"a channel fewer journeys took is pooled into Other in the markov and shapley models (0: none)"`
	MarkovGrain     string `envconfig:"MARKOV_GRAIN" default:"channel" desc:"what a state of the markov and shapley models is: channel, source_medium (source / medium) or campaign (channel / campaign; a touch without a campaign stays its channel)"`
}

func (a Attribution) validate() error {
	if err := positive("ATTRIBUTION_WINDOW_DAYS", a.WindowDays); err != nil {
		return err
	}
	if !(a.TimeDecayHalfLife > 0) || math.IsInf(a.TimeDecayHalfLife, 0) {
		return bad("TIME_DECAY_HALF_LIFE_DAYS", fmt.Sprint(a.TimeDecayHalfLife), "must be a finite number greater than zero")
	}
	// A touch's time_decay weight, pow(2, -days/half-life), is 0 in floating
	// point beyond 1074 half-lives, and a stage whose touches all lie that
	// far back divides 0 by 0: the attribution marts fail. A day keeps
	// 1074 days, about 3 years, between a touch and the stage it credits,
	// longer than B2B deals take to close.
	if a.TimeDecayHalfLife < minHalfLifeDays {
		return bad("TIME_DECAY_HALF_LIFE_DAYS", fmt.Sprint(a.TimeDecayHalfLife), "must be at least %d day: time_decay weights fall to zero after 1074 half-lives, and a stage whose touches all lie further back fails the attribution models", minHalfLifeDays)
	}
	if err := positive("PREDICTION_MATURITY_DAYS", a.PredictionMaturityDays); err != nil {
		return err
	}
	if k := a.PredictionPriorStrength; !(k > 0) || math.IsInf(k, 0) {
		return bad("PREDICTION_PRIOR_STRENGTH", fmt.Sprint(k), "must be a finite number greater than zero")
	}
	if a.MarkovOrder < 1 || a.MarkovOrder > 3 {
		return bad("MARKOV_ORDER", fmt.Sprint(a.MarkovOrder), "must be 1, 2 or 3")
	}
	switch a.PathTransform {
	case "unique", "exposure", "first":
	default:
		return bad("PATH_TRANSFORM", a.PathTransform, "must be unique, exposure or first")
	}
	switch a.MarkovGrain {
	case "channel", "source_medium", "campaign":
	default:
		return bad("MARKOV_GRAIN", a.MarkovGrain, "must be channel, source_medium or campaign")
	}
	if a.MinPathJourneys < 0 {
		return bad("MIN_PATH_JOURNEYS", fmt.Sprint(a.MinPathJourneys), "must not be negative")
	}
	return nil
}
