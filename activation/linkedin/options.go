package linkedin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// Defaults, with the sources the package doc gives.
const (
	// DefaultBaseURL is the root of LinkedIn's versioned REST API.
	DefaultBaseURL = "https://api.linkedin.com/rest"
	// DefaultTokenURL is LinkedIn's OAuth 2.0 token endpoint.
	DefaultTokenURL = "https://www.linkedin.com/oauth/v2/accessToken"
	// DefaultVersion is the LinkedIn-Version header (YYYYMM).
	DefaultVersion = "202601"
	// MaxBatchLimit is the BATCH_CREATE element limit.
	MaxBatchLimit = 5000
	// MaxEventAge is how old conversionHappenedAt may be.
	MaxEventAge = 90 * 24 * time.Hour
	// DefaultRequestsPerSecond is 600 requests a minute.
	DefaultRequestsPerSecond = 10.0
	// DefaultDedupWindow is assumed; LinkedIn publishes none.
	DefaultDedupWindow = 48 * time.Hour
	// DefaultWindowMargin is taken off MaxEventAge in Check.
	DefaultWindowMargin = time.Hour
	// DefaultTimeout bounds one HTTP attempt, response body included.
	DefaultTimeout = 30 * time.Second
)

var stages = [...]string{activation.StageLead, activation.StageMQL, activation.StageSQL, activation.StageOpportunity, activation.StageWon}

// Stages returns the stages the destination takes, in funnel order (for
// recording a disabled destination's coverage).
func Stages() []string { return slices.Clone(stages[:]) }

// Options configure the destination. The zero value is "not configured";
// a value with some but not all of what a request needs is an error from
// Validate.
type Options struct {
	// AccessToken is the OAuth 2.0 bearer token of a member with the
	// rw_conversions scope on the ad account owning the rules. It lasts 60
	// days; a scheduled deployment sets the refresh settings instead.
	AccessToken string
	// ClientID, ClientSecret and RefreshToken, set together instead of
	// AccessToken, make the destination get its access tokens itself
	// (LinkedIn's programmatic refresh tokens, for approved Marketing
	// Developer Platform partners; doc.go has the contract): at its first
	// send, when the token nears its end, and once after a 401.
	ClientID     string
	ClientSecret string
	RefreshToken string
	// TokenURL is where RefreshToken is exchanged; DefaultTokenURL when
	// empty. Tests point it at tests/linkedinsim.
	TokenURL string
	// Conversions maps a stage (see Stages) to the id of its conversion
	// rule: the digits, or the whole urn:lla:llaPartnerConversion URN.
	Conversions map[string]string

	// BaseURL is where /conversionEvents lives; DefaultBaseURL when empty.
	// Tests and `sam run` point it at tests/linkedinsim.
	BaseURL string
	// Version is the LinkedIn-Version header; DefaultVersion when empty.
	Version string

	// RequestsPerSecond and Burst set the client-side limiter; zero means
	// DefaultRequestsPerSecond with a burst of 1.
	RequestsPerSecond float64
	Burst             int
	// MaxBatch caps the events of one request; zero means MaxBatchLimit.
	MaxBatch int
	// Timeout bounds one attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// StopGrace is how long a request under way may finish once the run is
	// stopped (zero means retry.DefaultStopGrace): one cut short has an
	// unknown outcome.
	StopGrace time.Duration
	// Retry is the policy for ambiguous and throttled requests. Its
	// Retryable is replaced by the destination's own; zero fields mean 5
	// attempts with waits from 1s (Base) up to 60s (Cap).
	Retry retry.Policy

	// DedupWindow is how long LinkedIn is assumed to deduplicate an
	// eventId; zero means DefaultDedupWindow.
	DedupWindow time.Duration
	// WindowMargin is kept clear of the 90-day limit; zero means
	// DefaultWindowMargin, negative means none.
	WindowMargin time.Duration
	// RequireConsent treats an unrecorded AdUserData as no consent (for
	// accounts where every lead needs an explicit grant, as in the EEA).
	RequireConsent bool
	// ValidateOnly builds and checks requests without sending them.
	ValidateOnly bool

	// HTTPClient sends the requests; http.DefaultClient when nil. Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Now is the clock for event ages in Send, Retry-After dates and
	// token lifetimes; time.Now when nil.
	Now func() time.Time
	// Logger receives the destination's own warnings (a refresh token near
	// its end, a token exchange refused); nil discards them.
	Logger *slog.Logger
	// FieldNames are the caller's names for these fields (jobs: the SAM_
	// variables), used in the messages an operator must act on; a field
	// not in it goes by its name here.
	FieldNames map[string]string
}

var (
	conversionIDRE = regexp.MustCompile(`^[1-9][0-9]*$`)
	versionRE      = regexp.MustCompile(`^20[0-9]{2}(0[1-9]|1[0-2])$`)
)

const urnPrefix = "urn:lla:llaPartnerConversion:"

// Configured reports whether any setting that only a deliberate
// configuration would give is present: the CLI records an unconfigured
// destination as disabled and calls Validate on a configured one. The base
// URL and the version count too: set alone, they left the destination off
// without a word. So do the refresh settings, so that one set alone stops
// the CLI naming its partners.
func (o Options) Configured() bool {
	return o.AccessToken != "" || len(o.Conversions) > 0 || o.BaseURL != "" || o.Version != "" ||
		o.refreshFlow() || o.TokenURL != ""
}

// refreshFlow reports whether any of the refresh settings is given.
func (o Options) refreshFlow() bool {
	return o.ClientID != "" || o.ClientSecret != "" || o.RefreshToken != ""
}

// credentialErrors checks that exactly one way to authenticate is given.
// A message names only the fields at fault, so that the caller names only
// the settings to fix.
func (o Options) credentialErrors() []error {
	var errs []error
	switch {
	case o.AccessToken != "" && o.refreshFlow():
		errs = append(errs, errors.New("AccessToken and the refresh settings (ClientID, ClientSecret, RefreshToken) are two ways to authenticate: set one"))
	case o.AccessToken == "" && !o.refreshFlow():
		errs = append(errs, errors.New("AccessToken is required, or ClientID, ClientSecret and RefreshToken together"))
	case o.refreshFlow():
		for _, f := range []struct{ name, value string }{{"ClientID", o.ClientID}, {"ClientSecret", o.ClientSecret}, {"RefreshToken", o.RefreshToken}} {
			if strings.TrimSpace(f.value) == "" {
				errs = append(errs, fmt.Errorf("%s is required: the refresh flow takes three settings together", f.name))
			}
		}
	}
	for _, f := range []struct{ name, value string }{{"AccessToken", o.AccessToken}, {"ClientID", o.ClientID}, {"ClientSecret", o.ClientSecret}, {"RefreshToken", o.RefreshToken}} {
		if strings.TrimSpace(f.value) != "" && strings.ContainsAny(f.value, " \t\r\n") {
			errs = append(errs, fmt.Errorf("%s contains whitespace", f.name))
		}
	}
	if o.TokenURL != "" {
		u, err := url.Parse(o.TokenURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, errors.New("TokenURL must be an absolute http(s) URL"))
		case !o.refreshFlow():
			errs = append(errs, errors.New("TokenURL is set, but only the refresh flow uses it"))
		}
	}
	return errs
}

// Validate reports every missing or malformed setting, named as in
// Options.
func (o Options) Validate() error {
	errs := o.credentialErrors()
	if len(o.Conversions) == 0 {
		errs = append(errs, fmt.Errorf("Conversions needs a conversion rule id for at least one of the stages %s", strings.Join(stages[:], ", ")))
	}
	configured := make([]string, 0, len(o.Conversions))
	for s := range o.Conversions {
		configured = append(configured, s)
	}
	sort.Strings(configured)
	for _, s := range configured {
		if !slices.Contains(stages[:], s) {
			errs = append(errs, fmt.Errorf("Conversions[%q]: LinkedIn takes only the stages %s", s, strings.Join(stages[:], ", ")))
			continue
		}
		if _, ok := conversionURN(o.Conversions[s]); !ok {
			errs = append(errs, fmt.Errorf("Conversions[%q] must be a conversion rule id (digits) or an %s URN", s, urnPrefix+"{id}"))
		}
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("BaseURL must be an absolute http(s) URL"))
		}
	}
	if o.Version != "" && !versionRE.MatchString(o.Version) {
		errs = append(errs, errors.New("Version must be YYYYMM"))
	}
	if o.RequestsPerSecond < 0 || o.Burst < 0 {
		errs = append(errs, errors.New("RequestsPerSecond and Burst must not be negative"))
	}
	if o.MaxBatch < 0 || o.MaxBatch > MaxBatchLimit {
		errs = append(errs, fmt.Errorf("MaxBatch must be between 1 and %d", MaxBatchLimit))
	}
	if o.Timeout < 0 || o.DedupWindow < 0 || o.StopGrace < 0 {
		errs = append(errs, errors.New("Timeout, DedupWindow and StopGrace must not be negative"))
	}
	if o.WindowMargin >= MaxEventAge {
		errs = append(errs, errors.New("WindowMargin must be shorter than LinkedIn's 90-day window"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("linkedin: %w", err)
	}
	return nil
}

// conversionURN turns a configured id into the rule's URN.
func conversionURN(id string) (string, bool) {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, urnPrefix)
	if !conversionIDRE.MatchString(id) {
		return "", false
	}
	return urnPrefix + id, true
}

// withDefaults fills what the zero value leaves open.
func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if o.Burst == 0 {
		o.Burst = 1
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = MaxBatchLimit
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StopGrace == 0 {
		o.StopGrace = retry.DefaultStopGrace
	}
	if o.Retry.Attempts == 0 {
		o.Retry.Attempts = 5
	}
	if o.Retry.Base == 0 {
		o.Retry.Base = time.Second
	}
	if o.Retry.Cap == 0 {
		o.Retry.Cap = time.Minute
	}
	if o.DedupWindow == 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.WindowMargin == 0 {
		o.WindowMargin = DefaultWindowMargin
	}
	if o.WindowMargin < 0 {
		o.WindowMargin = 0
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenURL == "" {
		o.TokenURL = DefaultTokenURL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
