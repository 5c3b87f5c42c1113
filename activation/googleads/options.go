package googleads

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// Vendor facts, from developers.google.com/data-manager/api/devguides/limits
// and the discovery document shipped with the client
// (IngestEventsRequest.events: "At most 2000 Event resources").
const (
	// MaxEvents is the most events one events:ingest request may carry.
	MaxEvents = 2000
	// RequestsPerMinute is the project quota of IngestionService, for
	// mutations and for reads alike.
	RequestsPerMinute = 300
	// MaxClickThroughWindow is the longest click-through window a Google Ads
	// conversion action can have (ConversionUploadError.EXPIRED_EVENT).
	MaxClickThroughWindow = 90 * 24 * time.Hour
	// MaxEventAge is the oldest conversion the import takes
	// (PROCESSING_ERROR_REASON_EVENT_TOO_OLD; the simulator's 90 days).
	MaxEventAge = 90 * 24 * time.Hour
)

// Stages are the stages the destination takes, in funnel order.
var Stages = []string{activation.StageLead, activation.StageMQL, activation.StageSQL, activation.StageOpportunity, activation.StageWon}

// Options configure the destination. The zero value is "not configured";
// anything in between is an error from Validate.
type Options struct {
	// CustomerID is the Google Ads account that owns the conversion actions
	// (the destination's operatingAccount): 10 digits, no hyphens.
	CustomerID string
	// LoginCustomerID is the manager account the credentials act through,
	// when they are not a user of CustomerID itself. Optional.
	LoginCustomerID string
	// ConversionActions maps a stage (see Stages) to the id of its
	// conversion action. A stage left out is skipped as disabled.
	ConversionActions map[string]string

	// CredentialsFile is a service account key file (JSON) whose account
	// has the datamanager scope. AccessToken is a ready OAuth access token
	// instead (the local simulator takes any); it ends within the hour, so
	// it suits a run by hand, not a schedule. DefaultCredentials uses
	// Google's Application Default Credentials: on Cloud Run, the job's
	// service account through the metadata server, with no key to mount or
	// rotate. Exactly one is set.
	CredentialsFile    string
	AccessToken        string
	DefaultCredentials bool
	// Endpoint is the API's base URL; empty is Google's.
	Endpoint string
	// HTTPClient sends the requests; nil is a client of its own. With
	// CredentialsFile or DefaultCredentials it is ignored (the client
	// library builds the authenticated client).
	HTTPClient *http.Client

	// ValidateOnly sends every request with validateOnly: checked by
	// Google, recorded nowhere.
	ValidateOnly bool

	// RequestsPerMinute is the client-side ceiling for ingest requests and,
	// separately, for status reads; zero is the project quota (300).
	RequestsPerMinute float64
	// RequestTimeout bounds one HTTP attempt (default 60s).
	RequestTimeout time.Duration
	// StopGrace is how long an ingest request under way may finish once the
	// run is stopped (zero means retry.DefaultStopGrace): one cut short has
	// an unknown outcome.
	StopGrace time.Duration
	// StatusWait is how long Send polls requestStatus for a final answer
	// (default 30s); StatusPoll the first wait between polls (default
	// 250ms, doubling).
	StatusWait time.Duration
	StatusPoll time.Duration
	// MaxResolveRequests bounds the extra ingest requests one Send may make
	// to tell which events of a partial failure were rejected (default 8;
	// negative means none).
	MaxResolveRequests int
	// ClickThroughWindow is the conversion actions' click-through window
	// (default and maximum 90 days).
	ClickThroughWindow time.Duration
	// MaxBatch caps the events of one request (default and maximum 2000).
	MaxBatch int
	// Retry bounds the attempts of one request. Its Retryable is replaced:
	// which failures are safe to retry is this package's knowledge.
	// Zero Attempts means 5 attempts between 500ms and 30s.
	Retry retry.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Configured reports whether any setting that turns the destination on is
// present. A configured destination must pass Validate. The endpoint counts:
// nobody sets it for a destination they mean to leave off.
func (o Options) Configured() bool {
	return o.CustomerID != "" || o.LoginCustomerID != "" || len(o.ConversionActions) > 0 ||
		o.CredentialsFile != "" || o.AccessToken != "" || o.DefaultCredentials || o.Endpoint != ""
}

var (
	customerIDRE = regexp.MustCompile(`^[0-9]{10}$`)
	actionIDRE   = regexp.MustCompile(`^[0-9]{1,19}$`) // an int64
)

// Validate reports every missing or malformed setting, naming the Options
// field.
func (o Options) Validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, fmt.Errorf("googleads: %s %s", field, why)) }
	switch {
	case o.CustomerID == "":
		bad("CustomerID", "is required (the Google Ads account that owns the conversion actions)")
	case !customerIDRE.MatchString(o.CustomerID):
		bad("CustomerID", "must be 10 digits without hyphens")
	}
	if o.LoginCustomerID != "" && !customerIDRE.MatchString(o.LoginCustomerID) {
		bad("LoginCustomerID", "must be 10 digits without hyphens")
	}
	if len(o.ConversionActions) == 0 {
		bad("ConversionActions", "names no stage: at least one of lead, mql, sql, opportunity, won needs a conversion action id")
	}
	for _, stage := range sortedKeys(o.ConversionActions) {
		id := o.ConversionActions[stage]
		if !slices.Contains(Stages, stage) {
			bad("ConversionActions", fmt.Sprintf("has stage %q, which Google Ads does not take (lead, mql, sql, opportunity, won)", stage))
		}
		if !actionIDRE.MatchString(id) {
			bad("ConversionActions["+stage+"]", "must be a numeric conversion action id")
		}
	}
	switch n := countTrue(o.CredentialsFile != "", o.AccessToken != "", o.DefaultCredentials); {
	case n == 0:
		bad("CredentialsFile", "or AccessToken or DefaultCredentials is required")
	case n > 1:
		bad("CredentialsFile", "AccessToken and DefaultCredentials: more than one is set; set one")
	}
	if o.Endpoint != "" {
		if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("Endpoint", "must be an http(s) URL")
		}
	}
	if o.RequestsPerMinute < 0 || o.RequestsPerMinute > RequestsPerMinute {
		bad("RequestsPerMinute", fmt.Sprintf("must be between 0 (the quota) and %d", RequestsPerMinute))
	}
	for name, d := range map[string]time.Duration{"RequestTimeout": o.RequestTimeout, "StopGrace": o.StopGrace, "StatusWait": o.StatusWait, "StatusPoll": o.StatusPoll} {
		if d < 0 {
			bad(name, "must not be negative")
		}
	}
	if o.ClickThroughWindow < 0 || o.ClickThroughWindow > MaxClickThroughWindow {
		bad("ClickThroughWindow", "must be between 0 (90 days) and 90 days")
	}
	if o.MaxBatch < 0 || o.MaxBatch > MaxEvents {
		bad("MaxBatch", fmt.Sprintf("must be between 0 (%d) and %d", MaxEvents, MaxEvents))
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = RequestsPerMinute
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = time.Minute
	}
	if o.StopGrace == 0 {
		o.StopGrace = retry.DefaultStopGrace
	}
	if o.StatusWait == 0 {
		o.StatusWait = 30 * time.Second
	}
	if o.StatusPoll == 0 {
		o.StatusPoll = 250 * time.Millisecond
	}
	if o.MaxResolveRequests == 0 {
		o.MaxResolveRequests = 8
	}
	if o.ClickThroughWindow == 0 {
		o.ClickThroughWindow = MaxClickThroughWindow
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = MaxEvents
	}
	if o.Retry.Attempts == 0 {
		o.Retry.Attempts, o.Retry.Base, o.Retry.Cap = 5, 500*time.Millisecond, 30*time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func countTrue(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
