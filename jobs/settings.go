package jobs

import (
	"fmt"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/writeback"
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
	Writeback         writeback.Destination
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
	s := &Settings{
		Warehouse:         wh,
		ModelsDir:         tr.ModelsDir,
		Parallelism:       tr.Parallelism,
		Vars:              Vars(cfg),
		ReportingCurrency: sp.ReportingCurrency,
		GA4: ga4.Options{
			ExportProject: cfg.GA4.ExportProject, ExportDataset: cfg.GA4.ExportDataset, ExportDir: cfg.GA4.ExportDir,
			LookbackDays: cfg.GA4.LookbackDays, StartDate: cfg.GA4.StartDate,
		},
		CRM:   crmOptions(cfg),
		Spend: spend.Options{Dir: sp.SpendDir, FXRatesFile: sp.FXRatesFile},
		Writeback: writeback.Destination{
			Mode: wb.Mode, MeasurementID: wb.MeasurementID, APISecret: wb.APISecret, Endpoint: wb.Endpoint,
			Concurrency: wb.Concurrency, RatePerSecond: wb.RatePerSecond,
		},
		SinkFile: wb.SinkFile,
		Task:     task,
		Redact:   Redactor(cfg.HubSpot.Token.Reveal(), cfg.Salesforce.AccessToken.Reveal(), wb.APISecret.Reveal()),
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
		{s.Writeback.Validate(), writebackVars},
	}
	for _, c := range checks {
		if c.err != nil {
			return nil, &ConfigError{Err: nameVariable(c.err, c.vars)}
		}
	}
	return s, nil
}

func crmOptions(cfg config.Config) crm.SourceOptions {
	c, hs, sf := cfg.CRM, cfg.HubSpot, cfg.Salesforce
	overlap := time.Duration(c.OverlapMinutes) * time.Minute
	return crm.SourceOptions{
		Source: c.Source,
		File:   file.Options{Dir: c.Dir, Overlap: overlap, BatchSize: c.BatchSize},
		HubSpot: hubspot.Options{
			Token: hs.Token, BaseURL: hs.BaseURL,
			ClientIDProperty: hs.ClientIDProperty, GclidProperty: hs.GclidProperty, UserIDProperty: hs.UserIDProperty,
			RequestsPerWindow: hs.RequestsPer10s, SearchPerWindow: hs.SearchPerSecond,
			Overlap: overlap, BatchSize: c.BatchSize,
		},
		Salesforce: salesforce.Options{
			InstanceURL: sf.InstanceURL, AccessToken: sf.AccessToken, APIVersion: sf.APIVersion,
			ClientIDField: sf.GAClientIDField, GclidField: sf.GclidField, UserIDField: sf.UserIDField,
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
		"LookbackDays": "GA4_LOOKBACK_DAYS", "StartDate": "GA4_START_DATE",
	}
	crmVars = map[string]map[string]string{
		crm.SourceFile: {"Source": "CRM_SOURCE", "Dir": "CRM_DIR", "Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE"},
		crm.SourceHubSpot: {
			"Token": "HUBSPOT_TOKEN", "BaseURL": "HUBSPOT_BASE_URL", "ClientIDProperty": "HUBSPOT_CLIENT_ID_PROPERTY",
			"GclidProperty": "HUBSPOT_GCLID_PROPERTY", "UserIDProperty": "HUBSPOT_USER_ID_PROPERTY",
			"RequestsPerWindow": "HUBSPOT_REQUESTS_PER_10S", "SearchPerWindow": "HUBSPOT_SEARCH_PER_SECOND",
			"Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE",
		},
		crm.SourceSalesforce: {
			"InstanceURL": "SALESFORCE_INSTANCE_URL", "AccessToken": "SALESFORCE_ACCESS_TOKEN", "APIVersion": "SALESFORCE_API_VERSION",
			"ClientIDField": "SALESFORCE_CLIENT_ID_FIELD", "GclidField": "SALESFORCE_GCLID_FIELD", "UserIDField": "SALESFORCE_USER_ID_FIELD",
			"CurrencyField": "SALESFORCE_CURRENCY_FIELD", "DefaultCurrency": "REPORTING_CURRENCY",
			"RequestsPerWindow": "SALESFORCE_REQUESTS_PER_SECOND", "Overlap": "CRM_OVERLAP_MINUTES", "BatchSize": "CRM_BATCH_SIZE",
		},
	}
	spendVars     = map[string]string{"Dir": "SPEND_DIR", "FXRatesFile": "FX_RATES_FILE"}
	writebackVars = map[string]string{
		"Mode": "WRITEBACK_MODE", "MeasurementID": "GA4_MEASUREMENT_ID", "APISecret": "GA4_API_SECRET",
		"Endpoint": "GA4_MP_ENDPOINT", "Concurrency": "WRITEBACK_CONCURRENCY", "RatePerSecond": "WRITEBACK_RATE",
	}
)

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
