package config

import (
	"fmt"
	"net/url"
	"strings"
)

// The ad-platform destinations of activation. Each is off until its
// identifying settings are set; a destination set only in part fails before
// any work (jobs checks it against the destination's own options).
// SAM_WRITEBACK_MODE applies to every destination: off, local (GA4 to the
// local sink; the others to the endpoints set here, which `make run` points
// at local simulators), send, validate (each platform's validation or test
// mode; nothing is recorded) or dry-run.

// StageMap is a setting of stage:value pairs separated by commas. It reads
// them itself, as envconfig would, to refuse a stage given twice: envconfig
// kept the last value without a word ("won:123,won:456" sent won deals to
// 456 only, and the operator meant one of the two).
type StageMap map[string]string

// Decode lets envconfig read a StageMap.
func (m *StageMap) Decode(value string) error {
	pairs := StageMap{}
	if strings.TrimSpace(value) != "" {
		for _, item := range strings.Split(value, ",") {
			stage, v, ok := strings.Cut(item, ":")
			if !ok || strings.Contains(v, ":") {
				return fmt.Errorf("%q is not a stage:value pair", item)
			}
			if prev, dup := pairs[stage]; dup {
				return fmt.Errorf("stage %q is given twice (%s and %s); give each stage once", stage, prev, v)
			}
			pairs[stage] = v
		}
	}
	*m = pairs
	return nil
}

// GoogleAds configures the Google Ads destination (Data Manager API).
type GoogleAds struct {
	CustomerID         string   `envconfig:"CUSTOMER_ID" desc:"Google Ads account (operating account) that receives the conversions, digits only"`
	LoginCustomerID    string   `envconfig:"LOGIN_CUSTOMER_ID" desc:"manager account used to reach SAM_GOOGLE_ADS_CUSTOMER_ID, if any"`
	ConversionActions  StageMap `envconfig:"CONVERSION_ACTIONS" desc:"conversion action id per stage, as stage:id pairs separated by commas (stages lead, mql, sql, opportunity, won); a stage left out is not sent"`
	AccessToken        Secret   `envconfig:"ACCESS_TOKEN" desc:"OAuth access token with the datamanager scope (secret; it ends within the hour); or use SAM_GOOGLE_ADS_CREDENTIALS_FILE or SAM_GOOGLE_ADS_DEFAULT_CREDENTIALS"`
	CredentialsFile    string   `envconfig:"CREDENTIALS_FILE" desc:"service-account key file for the Data Manager API"`
	DefaultCredentials bool     `envconfig:"DEFAULT_CREDENTIALS" desc:"true: use Google's Application Default Credentials (on Cloud Run, the job's service account; no key file)"`
	Endpoint           string   `envconfig:"ENDPOINT" desc:"Data Manager API base URL override (local simulator); empty uses Google's"`
}

// Meta configures the Meta destination (Conversions API for CRM).
type Meta struct {
	AccessToken     Secret   `envconfig:"ACCESS_TOKEN" desc:"Conversions API access token (secret)"`
	DatasetID       string   `envconfig:"DATASET_ID" desc:"Meta dataset (pixel) id of the CRM integration"`
	EventNames      StageMap `envconfig:"EVENT_NAMES" desc:"Meta event_name per stage as stage:name pairs; empty uses lead, mql, sql, opportunity and won with Meta's example names"`
	LeadEventSource string   `envconfig:"LEAD_EVENT_SOURCE" default:"SAM" desc:"the CRM's name Meta shows as lead_event_source"`
	BaseURL         string   `envconfig:"BASE_URL" desc:"Graph API base URL override (local simulator); empty uses Meta's"`
	TestEventCode   string   `envconfig:"TEST_EVENT_CODE" desc:"send to Meta's Test Events with this code (no business effect); set with SAM_WRITEBACK_MODE=validate, refused with send"`
}

// LinkedIn configures the LinkedIn destination (Conversions API).
type LinkedIn struct {
	AccessToken  Secret   `envconfig:"ACCESS_TOKEN" desc:"LinkedIn access token with rw_conversions (secret; it lasts 60 days, so a scheduled job sets SAM_LINKEDIN_CLIENT_ID, SAM_LINKEDIN_CLIENT_SECRET and SAM_LINKEDIN_REFRESH_TOKEN instead)"`
	ClientID     string   `envconfig:"CLIENT_ID" desc:"client id of the LinkedIn application whose refresh token SAM exchanges for access tokens"`
	ClientSecret Secret   `envconfig:"CLIENT_SECRET" desc:"client secret of that application (secret)"`
	RefreshToken Secret   `envconfig:"REFRESH_TOKEN" desc:"programmatic refresh token of a member with rw_conversions (secret; it lasts 365 days from the authorisation, and SAM warns when under 30 days are left)"`
	TokenURL     string   `envconfig:"TOKEN_URL" desc:"LinkedIn token endpoint override (local simulator); empty uses LinkedIn's"`
	Conversions  StageMap `envconfig:"CONVERSIONS" desc:"conversion rule id per stage as stage:id pairs (the digits of urn:lla:llaPartnerConversion:ID)"`
	BaseURL      string   `envconfig:"BASE_URL" desc:"LinkedIn API base URL override (local simulator); empty uses LinkedIn's"`
	Version      string   `envconfig:"VERSION" desc:"LinkedIn-Version header (YYYYMM); empty uses SAM's tested version"`
}

// validate checks the token and what a key file must be before any work;
// the rest is checked by jobs against the destination's options.
func (g GoogleAds) validate() error {
	if err := checkSecret("GOOGLE_ADS_ACCESS_TOKEN", g.AccessToken); err != nil {
		return err
	}
	if g.CredentialsFile != "" {
		return CheckFile("GOOGLE_ADS_CREDENTIALS_FILE", g.CredentialsFile)
	}
	return nil
}

// Meta's and LinkedIn's secrets are checked here, as every secret is; the
// rest by jobs against the destinations' options.
func (m Meta) validate() error { return checkSecret("META_ACCESS_TOKEN", m.AccessToken) }

func (l LinkedIn) validate() error {
	for _, s := range []struct {
		v      string
		secret Secret
	}{{"LINKEDIN_ACCESS_TOKEN", l.AccessToken}, {"LINKEDIN_CLIENT_SECRET", l.ClientSecret}, {"LINKEDIN_REFRESH_TOKEN", l.RefreshToken}} {
		if err := checkSecret(s.v, s.secret); err != nil {
			return err
		}
	}
	if l.TokenURL != "" {
		if err := checkURL("LINKEDIN_TOKEN_URL", l.TokenURL); err != nil {
			return err
		}
		// The exchange posts the client secret and the refresh token.
		if u, _ := url.Parse(l.TokenURL); u.Scheme != "https" && !loopback(u.Hostname()) {
			return bad("LINKEDIN_TOKEN_URL", l.TokenURL, "must be an https URL: over http the client secret and the refresh token travel in clear (http is for a simulator on this machine only)")
		}
	}
	return nil
}
