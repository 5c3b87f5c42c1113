// Package config owns SAM's configuration: every setting is an environment
// variable with the prefix SAM_, read with envconfig, so Cloud Run passes it
// as it passes anything else. Defaults run the embedded pipeline on a fresh
// machine with no cloud credentials. Load validates everything before any
// work starts and names the offending variable.
//
// Each area's settings live in their own struct and file (warehouse.go,
// sources.go, writeback.go). Only cmd and jobs import this package: jobs
// maps these settings onto each library package's Options. It imports
// warehouse (identifier rules) and internal/option, nothing else of SAM's.
package config

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"unicode"

	"github.com/kelseyhightower/envconfig"

	"github.com/sam-attribution/sam/internal/option"
)

// Prefix is the environment variable prefix.
const Prefix = "SAM"

// Config is the whole configuration.
type Config struct {
	// Embedded areas add no prefix of their own (SAM_ENGINE, not
	// SAM_WAREHOUSE_ENGINE); named ones do (SAM_GA4_EXPORT_DIR).
	Warehouse
	Transform
	Spend
	Attribution
	Writeback
	GA4        GA4        `envconfig:"GA4"`
	CRM        CRM        `envconfig:"CRM"`
	HubSpot    HubSpot    `envconfig:"HUBSPOT"`
	Salesforce Salesforce `envconfig:"SALESFORCE"`
	GoogleAds  GoogleAds  `envconfig:"GOOGLE_ADS"`
	Meta       Meta       `envconfig:"META"`
	LinkedIn   LinkedIn   `envconfig:"LINKEDIN"`
	Log        Log        `envconfig:"LOG"`
}

// Load reads the configuration from the process environment and validates
// it. Tests set variables with t.Setenv.
func Load() (Config, error) {
	c, err := Read()
	if err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Read reads the configuration from the process environment, checking only
// that each value parses as its type: a caller that adjusts it afterwards
// (a command-line flag) validates once, after that.
func Read() (Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("config: %s=%q is invalid: %w", pe.KeyName, pe.Value, pe.Err)
		}
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Validate checks every area and returns the first problem, naming the
// variable.
func (c Config) Validate() error {
	for _, v := range []interface{ validate() error }{
		c.Warehouse, c.Transform, c.GA4, c.CRM, c.HubSpot, c.Salesforce, c.Spend, c.Attribution, c.Writeback, c.GoogleAds, c.Meta, c.LinkedIn, c.Log,
	} {
		if err := v.validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	if c.Warehouse.Engine == "bigquery" && c.GA4.ExportDataset == "" {
		return fmt.Errorf("config: %w", bad("GA4_EXPORT_DATASET", "", "must be set when SAM_ENGINE=bigquery"))
	}
	return nil
}

// Usage writes the reference of every variable (name, type, default,
// description) as a Markdown table.
func Usage(w interface{ Write([]byte) (int, error) }) error {
	var c Config
	return envconfig.Usagef(Prefix, &c, w, usageFormat)
}

const usageFormat = `| variable | type | default | description |
|---|---|---|---|
{{range .}}| ` + "`{{usage_key .}}`" + ` | {{usage_type .}} | {{if usage_default .}}` + "`{{usage_default .}}`" + `{{end}} | {{usage_description .}} |
{{end}}`

// Keys lists every environment variable the configuration reads.
func Keys() []string {
	var c Config
	var b strings.Builder
	tmpl := template.Must(template.New("keys").Parse("{{range .}}{{.Key}}\n{{end}}"))
	if err := envconfig.Usaget(Prefix, &c, &b, tmpl); err != nil {
		return nil
	}
	return strings.Fields(b.String())
}

// VarError is a validation failure for one variable.
type VarError struct {
	Var    string
	Value  string
	Reason string
}

func (e *VarError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("SAM_%s: %s", e.Var, e.Reason)
	}
	return fmt.Sprintf("SAM_%s=%q: %s", e.Var, e.Value, e.Reason)
}

func bad(v, value, reason string, args ...any) error {
	return &VarError{Var: v, Value: value, Reason: fmt.Sprintf(reason, args...)}
}

// Secret is a value that never formats (see option.Secret); the library
// Options take it as it is.
type Secret = option.Secret

// checkSecret refuses a secret with a blank, a line break or another
// control character in it, or of blanks only, never quoting it. No vendor
// issues such a token; a secret stored with `echo` ends in a newline. SAM
// would send it as it is (the Measurement Protocol answers 2xx to any
// api_secret, so the events would be recorded sent and never arrive), and
// the redactor would hide every blank of the logs for a secret of blanks.
func checkSecret(v string, s Secret) error {
	value := s.Reveal()
	switch {
	case value == "":
		return nil
	case strings.TrimSpace(value) == "":
		return bad(v, "", "is blank")
	case strings.ContainsFunc(value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return bad(v, "", "contains a blank, a line break or a control character (a secret stored with echo ends in a newline)")
	}
	return nil
}

func oneOf(v, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return bad(v, value, "must be one of %s", strings.Join(allowed, ", "))
}

func positive(v string, n int) error {
	if n <= 0 {
		return bad(v, fmt.Sprint(n), "must be greater than zero")
	}
	return nil
}
