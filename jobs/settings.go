package jobs

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/activation"
	activationga4 "github.com/sam-attribution/sam/activation/ga4"
	"github.com/sam-attribution/sam/activation/googleads"
	"github.com/sam-attribution/sam/activation/linkedin"
	"github.com/sam-attribution/sam/activation/meta"
	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/transform"
)

// Settings are the configuration mapped onto each package's Options: the
// one place where SAM_ variables meet the libraries. Configure builds and
// checks them before any work starts.
type Settings struct {
	Warehouse         config.Warehouse
	ModelsDir         string
	Parallelism       int
	Vars              transform.Vars
	ReportingCurrency string
	GA4               ga4.Options
	CRM               crm.SourceOptions
	Spend             spend.Options
	Activation        Activation
	// SinkFile is where the local GA4 sink keeps what it received (local
	// writeback mode).
	SinkFile string
	Task     Task
	// Redact hides every configured secret in error text and logs.
	Redact func(string) string
}

// Configure validates cfg and maps it onto the packages' Options, whose own
// validation errors come back naming the SAM_ variable that set the field.
// Every error is a *ConfigError.
func Configure(cfg config.Config, task Task) (*Settings, error) {
	if err := cfg.Validate(); err != nil {
		return nil, &ConfigError{Err: err}
	}
	wh, tr, sp, wb := cfg.Warehouse, cfg.Transform, cfg.Spend, cfg.Writeback
	// several GA4 properties: comma-separated datasets or folders
	datasets, dirs := config.List(cfg.GA4.ExportDataset), config.List(cfg.GA4.ExportDir)
	s := &Settings{
		Warehouse:         wh,
		ModelsDir:         tr.ModelsDir,
		Parallelism:       tr.Parallelism,
		Vars:              Vars(cfg),
		ReportingCurrency: sp.ReportingCurrency,
		GA4: ga4.Options{
			ExportProject: cfg.GA4.ExportProject, ExportDataset: first(datasets), ExportDatasets: rest(datasets),
			ExportDir: first(dirs), ExportDirs: rest(dirs),
			LookbackDays: cfg.GA4.LookbackDays, StartDate: cfg.GA4.StartDate,
		},
		CRM:        crmOptions(cfg),
		Spend:      spend.Options{Dir: sp.SpendDir, FXRatesFile: sp.FXRatesFile},
		Activation: activationSettings(cfg),
		SinkFile:   wb.SinkFile,
		Task:       task,
		Redact: Redactor(cfg.HubSpot.Token.Reveal(), cfg.Salesforce.AccessToken.Reveal(), cfg.Salesforce.ConsumerSecret.Reveal(), wb.APISecret.Reveal(),
			cfg.GoogleAds.AccessToken.Reveal(), cfg.Meta.AccessToken.Reveal(), cfg.LinkedIn.AccessToken.Reveal(),
			cfg.LinkedIn.ClientSecret.Reveal(), cfg.LinkedIn.RefreshToken.Reveal()),
	}
	if wh.Engine == "bigquery" && s.GA4.ExportProject == "" {
		s.GA4.ExportProject = wh.Project
	}
	checks := []struct {
		err  error
		vars map[string]string
	}{
		{s.GA4.Validate(), ga4Vars},
		{s.CRM.Validate(), crmVars[s.CRM.Source]},
		{s.Spend.Validate(), spendVars},
	}
	for _, c := range checks {
		if c.err != nil {
			return nil, &ConfigError{Err: nameVariable(c.err, c.vars)}
		}
	}
	if err := s.Activation.validate(); err != nil {
		return nil, &ConfigError{Err: err}
	}
	return s, nil
}

// crmBatchSize is SAM_CRM_BATCH_SIZE, or the engine's choice: on BigQuery
// each batch is a load job on each raw table it writes, and BigQuery
// allows a table 1,500 table operations a day.
func crmBatchSize(cfg config.Config) int {
	switch {
	case cfg.CRM.BatchSize > 0:
		return cfg.CRM.BatchSize
	case cfg.Warehouse.Engine == "bigquery":
		return 20000
	}
	return 1000
}

func crmOptions(cfg config.Config) crm.SourceOptions {
	c, hs, sf := cfg.CRM, cfg.HubSpot, cfg.Salesforce
	c.BatchSize = crmBatchSize(cfg)
	overlap := time.Duration(c.OverlapMinutes) * time.Minute
	return crm.SourceOptions{
		Source: c.Source,
		File:   file.Options{Dir: c.Dir, Overlap: overlap, BatchSize: c.BatchSize},
		HubSpot: hubspot.Options{
			Token: hs.Token, BaseURL: hs.BaseURL,
			ClientIDProperty: hs.ClientIDProperty, GclidProperty: hs.GclidProperty, UserIDProperty: hs.UserIDProperty,
			MetaLeadIDProperty: hs.MetaLeadIDProp, LiFatIDProperty: hs.LiFatIDProperty, AdConsentProperty: hs.AdConsentProp,
			RequestsPerWindow: hs.RequestsPer10s, SearchPerWindow: hs.SearchPerSecond,
			LinkWindow: time.Duration(hs.LinkWindowDays) * 24 * time.Hour,
			Overlap:    overlap, BatchSize: c.BatchSize,
		},
		Salesforce: salesforce.Options{
			InstanceURL: sf.InstanceURL, AccessToken: sf.AccessToken, APIVersion: sf.APIVersion,
			ConsumerKey: sf.ConsumerKey, ConsumerSecret: sf.ConsumerSecret,
			ClientIDField: sf.GAClientIDField, GclidField: sf.GclidField, UserIDField: sf.UserIDField,
			MetaLeadIDField: sf.MetaLeadIDField, LiFatIDField: sf.LiFatIDField, AdConsentField: sf.AdConsentField,
			// Single-currency orgs have no CurrencyIsoCode field: their
			// amounts are in the reporting currency.
			CurrencyField: sf.CurrencyField, DefaultCurrency: cfg.Spend.ReportingCurrency,
			RequestsPerWindow: sf.RequestsPerSecond, Overlap: overlap, BatchSize: c.BatchSize,
		},
	}
}

// The variables (without the SAM_ prefix) that set each Options field.
var (
	ga4Vars = map[string]string{
		"ExportProject": "GA4_EXPORT_PROJECT", "ExportDataset": "GA4_EXPORT_DATASET", "ExportDir": "GA4_EXPORT_DIR",
		"ExportDatasets": "GA4_EXPORT_DATASET", "ExportDirs": "GA4_EXPORT_DIR",
		"LookbackDays": "GA4_LOOKBACK_DAYS", "StartDate": "GA4_START_DATE",
	}
	crmVars = map[string]map[string]string{
		crm.SourceFile: {"Source": "CRM_SOURCE", "Dir": "CRM_DIR", "Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE"},
		crm.SourceHubSpot: {
			"Token": "HUBSPOT_TOKEN", "BaseURL": "HUBSPOT_BASE_URL", "ClientIDProperty": "HUBSPOT_CLIENT_ID_PROPERTY",
			"GclidProperty": "HUBSPOT_GCLID_PROPERTY", "UserIDProperty": "HUBSPOT_USER_ID_PROPERTY",
			"MetaLeadIDProperty": "HUBSPOT_META_LEAD_ID_PROPERTY", "LiFatIDProperty": "HUBSPOT_LI_FAT_ID_PROPERTY",
			"AdConsentProperty": "HUBSPOT_AD_CONSENT_PROPERTY",
			"RequestsPerWindow": "HUBSPOT_REQUESTS_PER_10S", "SearchPerWindow": "HUBSPOT_SEARCH_PER_SECOND",
			"LinkWindow": "HUBSPOT_LINK_WINDOW_DAYS", "Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE",
		},
		crm.SourceSalesforce: {
			"InstanceURL": "SALESFORCE_INSTANCE_URL", "AccessToken": "SALESFORCE_ACCESS_TOKEN", "APIVersion": "SALESFORCE_API_VERSION",
			"ConsumerKey": "SALESFORCE_CONSUMER_KEY", "ConsumerSecret": "SALESFORCE_CONSUMER_SECRET",
			"ClientIDField": "SALESFORCE_CLIENT_ID_FIELD", "GclidField": "SALESFORCE_GCLID_FIELD", "UserIDField": "SALESFORCE_USER_ID_FIELD",
			"MetaLeadIDField": "SALESFORCE_META_LEAD_ID_FIELD", "LiFatIDField": "SALESFORCE_LI_FAT_ID_FIELD",
			"AdConsentField": "SALESFORCE_AD_CONSENT_FIELD",
			"CurrencyField":  "SALESFORCE_CURRENCY_FIELD", "DefaultCurrency": "REPORTING_CURRENCY",
			"RequestsPerWindow": "SALESFORCE_REQUESTS_PER_SECOND", "Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE",
		},
	}
	spendVars        = map[string]string{"Dir": "SPEND_DIR", "FXRatesFile": "FX_RATES_FILE"}
	ga4WritebackVars = map[string]string{
		"MeasurementID": "GA4_MEASUREMENT_ID", "APISecret": "GA4_API_SECRET",
		"Endpoint": "GA4_MP_ENDPOINT", "RatePerSecond": "WRITEBACK_RATE",
	}
	googleAdsVars = map[string]string{
		"CustomerID": "GOOGLE_ADS_CUSTOMER_ID", "LoginCustomerID": "GOOGLE_ADS_LOGIN_CUSTOMER_ID",
		"ConversionActions": "GOOGLE_ADS_CONVERSION_ACTIONS", "AccessToken": "GOOGLE_ADS_ACCESS_TOKEN",
		"CredentialsFile": "GOOGLE_ADS_CREDENTIALS_FILE", "DefaultCredentials": "GOOGLE_ADS_DEFAULT_CREDENTIALS",
		"Endpoint": "GOOGLE_ADS_ENDPOINT",
	}
	metaVars = map[string]string{
		"AccessToken": "META_ACCESS_TOKEN", "DatasetID": "META_DATASET_ID", "EventNames": "META_EVENT_NAMES",
		"LeadEventSource": "META_LEAD_EVENT_SOURCE", "BaseURL": "META_BASE_URL", "TestEventCode": "META_TEST_EVENT_CODE",
	}
	linkedInVars = map[string]string{
		"AccessToken": "LINKEDIN_ACCESS_TOKEN", "Conversions": "LINKEDIN_CONVERSIONS",
		"BaseURL": "LINKEDIN_BASE_URL", "Version": "LINKEDIN_VERSION",
		"ClientID": "LINKEDIN_CLIENT_ID", "ClientSecret": "LINKEDIN_CLIENT_SECRET",
		"RefreshToken": "LINKEDIN_REFRESH_TOKEN", "TokenURL": "LINKEDIN_TOKEN_URL",
	}
)

// prefixed returns vars with the SAM_ prefix, as an operator sets them.
func prefixed(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for field, v := range vars {
		out[field] = config.Prefix + "_" + v
	}
	return out
}

// nameVariable puts the variable behind an Options field in front of the
// package's own error.
func nameVariable(err error, vars map[string]string) error {
	field, _ := option.Field(err)
	if v, ok := vars[field]; ok {
		return fmt.Errorf("config: %s_%s: %w", config.Prefix, v, err)
	}
	if field == "Source" {
		return fmt.Errorf("config: %s_CRM_SOURCE: %w", config.Prefix, err)
	}
	return fmt.Errorf("config: %w", err)
}

// Activation is the activation stage's settings: the mode, the runner's
// concurrency, and each destination's options with whether it is on. A
// destination is on when any of its identifying settings is set; then its
// options must be complete.
type Activation struct {
	Mode                            string // off, local, send, validate or dry-run
	Concurrency                     int
	GA4                             activationga4.Options
	GoogleAds                       googleads.Options
	Meta                            meta.Options
	LinkedIn                        linkedin.Options
	GoogleAdsOn, MetaOn, LinkedInOn bool
}

func activationSettings(cfg config.Config) Activation {
	wb, ga, m, li := cfg.Writeback, cfg.GoogleAds, cfg.Meta, cfg.LinkedIn
	validate := wb.Mode == "validate"
	a := Activation{
		Mode: wb.Mode, Concurrency: wb.Concurrency,
		GA4: activationga4.Options{MeasurementID: wb.MeasurementID, APISecret: wb.APISecret, Endpoint: wb.Endpoint,
			RatePerSecond: wb.RatePerSecond, Burst: wb.Concurrency, ValidateOnly: validate},
		GoogleAds: googleads.Options{CustomerID: ga.CustomerID, LoginCustomerID: ga.LoginCustomerID,
			ConversionActions: ga.ConversionActions, AccessToken: ga.AccessToken.Reveal(),
			CredentialsFile: ga.CredentialsFile, DefaultCredentials: ga.DefaultCredentials, Endpoint: ga.Endpoint, ValidateOnly: validate},
		// No consent, no ad-platform send: an unrecorded consent is no
		// consent for every ad platform (Google Ads requires it anyway).
		Meta: meta.Options{AccessToken: m.AccessToken.Reveal(), DatasetID: m.DatasetID, EventNames: m.EventNames,
			BaseURL: m.BaseURL, TestEventCode: m.TestEventCode, RequireConsent: true},
		LinkedIn: linkedin.Options{AccessToken: li.AccessToken.Reveal(), Conversions: li.Conversions,
			ClientID: li.ClientID, ClientSecret: li.ClientSecret.Reveal(), RefreshToken: li.RefreshToken.Reveal(), TokenURL: li.TokenURL,
			BaseURL: li.BaseURL, Version: li.Version, ValidateOnly: validate, RequireConsent: true, FieldNames: prefixed(linkedInVars)},
	}
	a.GoogleAdsOn = a.GoogleAds.Configured()
	a.MetaOn = a.Meta.Configured()
	a.LinkedInOn = a.LinkedIn.Configured()
	if a.MetaOn {
		a.Meta.LeadEventSource = m.LeadEventSource
		if len(a.Meta.EventNames) == 0 {
			a.Meta.EventNames = meta.DefaultEventNames()
		}
	}
	return a
}

// validate checks every destination that is on, naming the variables.
func (a Activation) validate() error {
	switch a.Mode {
	case "off":
		return nil
	case "send", "validate":
		if err := a.GA4.Validate(); err != nil {
			return nameVariable(err, ga4WritebackVars)
		}
	case "local", "dry-run":
		// The stage gives these modes a stand-in api_secret when none is
		// set, but the measurement id goes out as set: check it now, not
		// after the loads and the transform.
		o := a.GA4
		if o.APISecret == "" {
			o.APISecret = "stand-in"
		}
		if err := o.Validate(); err != nil {
			return nameVariable(err, ga4WritebackVars)
		}
	}
	if a.Mode == "validate" && a.MetaOn && a.Meta.TestEventCode == "" {
		return fmt.Errorf("config: %s_META_TEST_EVENT_CODE: must be set when SAM_WRITEBACK_MODE=validate, or Meta would record the events", config.Prefix)
	}
	// Meta takes test events as tests, with no business effect, while the
	// ledger would record them delivered and never send them again.
	if a.Mode == "send" && a.Meta.TestEventCode != "" {
		return fmt.Errorf("config: %s_META_TEST_EVENT_CODE: must be empty when SAM_WRITEBACK_MODE=send: Meta would treat the events as tests, and SAM would record them delivered; it is for SAM_WRITEBACK_MODE=validate", config.Prefix)
	}
	for _, d := range []struct {
		on   bool
		err  func() error
		vars map[string]string
	}{
		{a.GoogleAdsOn, a.GoogleAds.Validate, googleAdsVars},
		{a.MetaOn, a.Meta.Validate, metaVars},
		{a.LinkedInOn, a.LinkedIn.Validate, linkedInVars},
	} {
		if d.on {
			if err := d.err(); err != nil {
				return nameField(err, d.vars)
			}
		}
	}
	return nil
}

// nameField puts the variables behind the Options fields an error text
// names in front of it (the destinations report every problem by field
// name in one error).
func nameField(err error, vars map[string]string) error {
	var named []string
	text := err.Error()
	for field, v := range vars {
		if strings.Contains(text, field) {
			named = append(named, config.Prefix+"_"+v)
		}
	}
	sort.Strings(named)
	if len(named) == 0 {
		return fmt.Errorf("config: %w", err)
	}
	return fmt.Errorf("config: %s: %w", strings.Join(named, ", "), err)
}

// adStages are the stages the ad platforms take; a platform that is off is
// recorded as disabled for them.
var adStages = []string{activation.StageLead, activation.StageMQL, activation.StageSQL, activation.StageOpportunity, activation.StageWon}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

func rest(list []string) []string {
	if len(list) < 2 {
		return nil
	}
	return list[1:]
}
