package meta

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// Defaults for the zero fields of Options.
const (
	// DefaultBaseURL is the Graph API host.
	DefaultBaseURL = "https://graph.facebook.com"
	// DefaultAPIVersion is the newest Graph API version named in Meta's
	// Conversions API parameters reference when this was written.
	DefaultAPIVersion = "v25.0"
	// DefaultRequestsPerSecond is a stated ceiling, not a published one: Meta
	// publishes no requests-per-second figure for the Conversions API, and
	// this is the default of the local simulator (tests/metasim).
	DefaultRequestsPerSecond = 20
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxStageAge is Meta's Conversion Leads window between a lead
	// and the stage optimised for (Conversion Leads FAQ: "within 28 days of
	// leads being generated").
	DefaultMaxStageAge = 28 * 24 * time.Hour
)

// MaxBatch is Meta's limit of events in one request's data array
// (Conversion Leads FAQ: "Each batch can include up to 1,000 events").
const MaxBatch = 1000

// DefaultEventNames maps SAM's positive stages to event names that follow
// the examples in Meta's Conversion Leads payload specification ("Initial
// Lead", "Marketing Qualified Lead", "Sales Opportunity", "Converted").
func DefaultEventNames() map[string]string {
	return map[string]string{
		activation.StageLead:        "Lead",
		activation.StageMQL:         "Marketing Qualified Lead",
		activation.StageSQL:         "Sales Qualified Lead",
		activation.StageOpportunity: "Sales Opportunity",
		activation.StageWon:         "Converted",
	}
}

// Options configure the Meta destination. The zero value is "not
// configured"; anything in between is an error from Validate.
type Options struct {
	// AccessToken is the system user access token of the dataset's
	// business. It is sent only in the Authorization header.
	AccessToken string
	// DatasetID is the CRM dataset (formerly pixel) id events go to.
	DatasetID string
	// EventNames maps each SAM stage Meta should receive to its event_name;
	// stages left out are skipped as disabled.
	EventNames map[string]string
	// LeadEventSource is the CRM's name, sent as
	// custom_data.lead_event_source (required by Meta).
	LeadEventSource string

	// BaseURL and APIVersion locate the Graph API; zero means
	// DefaultBaseURL and DefaultAPIVersion.
	BaseURL    string
	APIVersion string
	// TestEventCode, when set, sends every request to Test Events: validated
	// by Meta, no business effect.
	TestEventCode string
	// RequireConsent treats an unrecorded ad_user_data consent as no
	// consent (denied consent is never sent, whatever this says).
	RequireConsent bool
	// MaxStageAge is the longest time from lead to stage that is still
	// sent; zero means DefaultMaxStageAge, negative means no limit.
	MaxStageAge time.Duration

	// MaxBatch caps a request's events; zero means MaxBatch (1,000).
	MaxBatch int
	// RequestsPerSecond and Burst set the client-side rate limit; zero
	// means DefaultRequestsPerSecond and a burst of 1, which keeps requests
	// evenly spaced so the server's bucket absorbs network jitter.
	RequestsPerSecond float64
	Burst             int
	// Timeout bounds one attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// StopGrace is how long a request under way may finish once the run is
	// stopped (zero means retry.DefaultStopGrace): one cut short has an
	// unknown outcome.
	StopGrace time.Duration
	// HTTPClient sends the requests; nil means a client of SAM's own.
	HTTPClient *http.Client
	// Now is the clock (windows); nil means time.Now.
	Now func() time.Time
	// Retry bounds the attempts of one request; a zero Attempts means 5
	// attempts, waits from 500ms up to 60s. Retryable is set by this
	// package and ignored here.
	Retry retry.Policy
}

// ErrNotConfigured is returned by Validate for zero Options: the
// destination is off, which is not an error for the caller to report.
var ErrNotConfigured = errors.New("meta: not configured")

var (
	digitsRE    = regexp.MustCompile(`^[0-9]+$`)
	versionRE   = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	testCodeRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	maxNameRune = 100
)

// Configured reports whether any field that identifies a Meta destination
// is set, the base URL included (set alone, it left Meta off without a word).
func (o Options) Configured() bool {
	return o.AccessToken != "" || o.DatasetID != "" || len(o.EventNames) > 0 || o.LeadEventSource != "" ||
		o.TestEventCode != "" || o.BaseURL != ""
}

// Validate reports every problem with the options, naming the fields. Zero
// options return ErrNotConfigured.
func (o Options) Validate() error {
	if !o.Configured() {
		return ErrNotConfigured
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("meta: "+format, args...)) }
	if strings.TrimSpace(o.AccessToken) == "" {
		add("AccessToken is empty")
	} else if strings.ContainsFunc(o.AccessToken, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		add("AccessToken contains whitespace") // never quote it
	}
	switch {
	case o.DatasetID == "":
		add("DatasetID is empty")
	case !digitsRE.MatchString(o.DatasetID):
		add("DatasetID %q is not a numeric dataset id", o.DatasetID)
	}
	if strings.TrimSpace(o.LeadEventSource) == "" {
		add("LeadEventSource is empty (Meta requires the CRM's name)")
	} else if !printable(o.LeadEventSource) {
		add("LeadEventSource must be printable text of at most %d characters", maxNameRune)
	}
	if len(o.EventNames) == 0 {
		add("EventNames maps no stage to an event name")
	}
	seen := map[string]string{}
	stages := make([]string, 0, len(o.EventNames))
	for s := range o.EventNames {
		stages = append(stages, s)
	}
	slices.Sort(stages)
	for _, s := range stages {
		name := o.EventNames[s]
		switch {
		case !slices.Contains(takenStages, s):
			add("EventNames: stage %q is not one Meta takes (%s)", s, strings.Join(takenStages, ", "))
		case strings.TrimSpace(name) == "":
			add("EventNames: stage %s has an empty event name", s)
		case !printable(name):
			add("EventNames: stage %s: event name must be printable text of at most %d characters", s, maxNameRune)
		case seen[name] != "":
			add("EventNames: stages %s and %s share the event name %q", seen[name], s, name)
		}
		seen[name] = s
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			// Not quoted: it may hold the credentials it must not hold.
			add("BaseURL is not an http(s) URL without credentials, query or fragment")
		}
	}
	if o.APIVersion != "" && !versionRE.MatchString(o.APIVersion) {
		add("APIVersion %q is not of the form v25.0", o.APIVersion)
	}
	if o.TestEventCode != "" && !testCodeRE.MatchString(o.TestEventCode) {
		add("TestEventCode must be 1 to 64 letters, digits, '-' or '_'")
	}
	if o.MaxBatch < 0 || o.MaxBatch > MaxBatch {
		add("MaxBatch %d is outside 0..%d", o.MaxBatch, MaxBatch)
	}
	if o.RequestsPerSecond < 0 {
		add("RequestsPerSecond %v is negative", o.RequestsPerSecond)
	}
	if o.Burst < 0 {
		add("Burst %d is negative", o.Burst)
	}
	if o.Timeout < 0 {
		add("Timeout %v is negative", o.Timeout)
	}
	if o.StopGrace < 0 {
		add("StopGrace %v is negative", o.StopGrace)
	}
	if o.Retry.Attempts < 0 {
		add("Retry.Attempts %d is negative", o.Retry.Attempts)
	}
	return errors.Join(errs...)
}

func printable(s string) bool {
	n := 0
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
		n++
	}
	return n <= maxNameRune
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.APIVersion == "" {
		o.APIVersion = DefaultAPIVersion
	}
	if o.MaxStageAge == 0 {
		o.MaxStageAge = DefaultMaxStageAge
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = MaxBatch
	}
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if o.Burst == 0 {
		o.Burst = 1
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StopGrace == 0 {
		o.StopGrace = retry.DefaultStopGrace
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		o.HTTPClient = &http.Client{Transport: t}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Retry.Attempts == 0 {
		o.Retry.Attempts = 5
		if o.Retry.Base == 0 {
			o.Retry.Base = 500 * time.Millisecond
		}
		if o.Retry.Cap == 0 {
			o.Retry.Cap = time.Minute
		}
	}
	return o
}
