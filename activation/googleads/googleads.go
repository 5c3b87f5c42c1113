package googleads

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"time"

	"golang.org/x/time/rate"
	dm "google.golang.org/api/datamanager/v1"
	"google.golang.org/api/option"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
)

// Name is the destination's ledger key.
const Name = "google_ads"

// DedupWindow is how long re-sending a key is known to be harmless: Google
// Ads refuses a second conversion with the same transactionId for a
// conversion action (PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID,
// discovery document ErrorCount.reason) and documents no expiry for it;
// past 90 days no conversion can be imported at all (MaxEventAge).
const DedupWindow = MaxEventAge

// Destination sends stage events to Google Ads. It is safe for concurrent
// use: the runner's senders share it, and with it the rate limiters.
type Destination struct {
	opts   Options
	svc    *dm.Service
	ingest *rate.Limiter // IngestionService mutations
	reads  *rate.Limiter // IngestionService reads (requestStatus)
}

var _ activation.Destination = (*Destination)(nil)

// New validates opts and builds the client.
func New(opts Options) (*Destination, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.defaults()
	var co []option.ClientOption
	if opts.Endpoint != "" {
		co = append(co, option.WithEndpoint(opts.Endpoint))
	}
	switch {
	case opts.CredentialsFile != "":
		co = append(co, option.WithAuthCredentialsFile(option.ServiceAccount, opts.CredentialsFile))
	case opts.DefaultCredentials:
		// No credential option: the client library finds the Application
		// Default Credentials and asks them for the datamanager scope.
	default:
		base := opts.HTTPClient
		if base == nil {
			base = &http.Client{}
		}
		c := *base
		c.Transport = &bearer{token: opts.AccessToken, next: transport(base)}
		co = append(co, option.WithHTTPClient(&c))
	}
	svc, err := dm.NewService(context.Background(), co...)
	if err != nil {
		return nil, fmt.Errorf("googleads: build the Data Manager client: %w", err)
	}
	per := rate.Limit(opts.RequestsPerMinute / 60)
	return &Destination{opts: opts, svc: svc, ingest: rate.NewLimiter(per, 1), reads: rate.NewLimiter(per, 1)}, nil
}

func transport(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// bearer adds a static OAuth access token to each request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Name implements activation.Destination.
func (d *Destination) Name() string { return Name }

// DedupWindow implements activation.Destination.
func (d *Destination) DedupWindow() time.Duration { return DedupWindow }

// Takes implements activation.Destination: the positive funnel stages.
func (d *Destination) Takes(stage string) bool { return slices.Contains(Stages, stage) }

// BatchKey implements activation.Destination: one request carries any
// events (each stage is a destination of the request), so all share a key.
func (d *Destination) BatchKey(activation.Event) string { return "" }

// MaxBatch implements activation.Destination.
func (d *Destination) MaxBatch() int { return d.opts.MaxBatch }

var (
	// The activation_events mart keys events by a hex fingerprint; any
	// other shape could be free text riding in the key.
	keyRE = regexp.MustCompile(`^[0-9a-f]{16,64}$`)
	// Click ids are opaque base64url tokens ("could not be decoded" is
	// Google's error for a bad one); real ones are far longer than 16.
	clickRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{16,512}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Check implements activation.Destination.
func (d *Destination) Check(e activation.Event, now time.Time) activation.Decision {
	if _, ok := d.opts.ConversionActions[e.Stage]; !ok {
		return activation.Skip(activation.StatusDisabled, "no conversion action configured for stage "+stageName(e.Stage))
	}
	if dec := guard(e, now); !dec.Send() {
		return dec
	}
	if clickID(e) == "" && e.EmailSHA256Google == "" {
		return activation.Skip(activation.StatusNoIdentifier, "no gclid, gbraid, wbraid or Google-normalised email hash")
	}
	switch e.AdUserData {
	case activation.ConsentGranted:
	case activation.ConsentDenied:
		return activation.Skip(activation.StatusNoConsent, "ad_user_data consent denied")
	default:
		return activation.Skip(activation.StatusNoConsent, "ad_user_data consent not recorded")
	}
	if clickID(e) != "" && !e.ClickAt.IsZero() && e.EventAt.Sub(e.ClickAt) > d.opts.ClickThroughWindow {
		return activation.Skip(activation.StatusExpiredWindow, fmt.Sprintf("click-through window: conversion more than %d days after the click", days(d.opts.ClickThroughWindow)))
	}
	if now.Sub(e.EventAt) > MaxEventAge {
		return activation.Skip(activation.StatusExpiredWindow, fmt.Sprintf("import window: conversion more than %d days old", days(MaxEventAge)))
	}
	return activation.Decision{}
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

// stageName returns s when it is a known stage, so a skip reason never
// echoes an arbitrary string.
func stageName(s string) string {
	switch s {
	case activation.StageLost, activation.StageDisqualified:
		return s
	}
	if slices.Contains(Stages, s) {
		return s
	}
	return "(unknown)"
}

// guard refuses what must not or cannot be sent: anything whose shape says
// it may be free text, and what Google would fail the whole request for.
func guard(e activation.Event, now time.Time) activation.Decision {
	reject := func(why string) activation.Decision { return activation.Skip(activation.StatusRejected, "guard: "+why) }
	if !keyRE.MatchString(e.Key) {
		return reject("event key is not a hex fingerprint")
	}
	for _, id := range []string{e.Gclid, e.Gbraid, e.Wbraid} {
		if id != "" && !clickRE.MatchString(id) {
			return reject("click identifier is not a base64url click id")
		}
	}
	if e.EmailSHA256Google != "" && !identity.IsSHA256Hex(e.EmailSHA256Google) {
		return reject("hashed email is not SHA-256 hex")
	}
	for _, c := range []activation.Consent{e.AdUserData, e.AdPersonalization} {
		switch c {
		case activation.ConsentGranted, activation.ConsentDenied, activation.ConsentUnspecified:
		default:
			return reject("consent is not granted, denied or empty")
		}
	}
	switch {
	case math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Value < 0:
		return reject("value is not a non-negative number")
	case e.Value > 0 && !currencyRE.MatchString(e.Currency):
		return reject("value without an ISO 4217 currency")
	}
	switch {
	case e.EventAt.IsZero():
		return reject("event has no time")
	case e.EventAt.After(now):
		// Google fails the whole request for it (EVENT_TIME_INVALID).
		return reject("event time is in the future")
	case clickID(e) != "" && !e.ClickAt.IsZero() && e.EventAt.Before(e.ClickAt):
		return reject("conversion precedes the click")
	}
	return activation.Decision{}
}

// clickID is the one click id sent: gclid, else gbraid, else wbraid (a
// conversion takes one of them).
func clickID(e activation.Event) string {
	switch {
	case e.Gclid != "":
		return e.Gclid
	case e.Gbraid != "":
		return e.Gbraid
	}
	return e.Wbraid
}

func consentValue(c activation.Consent) string {
	switch c {
	case activation.ConsentGranted:
		return "CONSENT_GRANTED"
	case activation.ConsentDenied:
		return "CONSENT_DENIED"
	}
	return "CONSENT_STATUS_UNSPECIFIED"
}

// event builds the payload of one checked event for destination ref.
func event(e activation.Event, ref string) *dm.Event {
	ev := &dm.Event{
		DestinationReferences: []string{ref},
		TransactionId:         e.Key,
		EventTimestamp:        e.EventAt.UTC().Format(time.RFC3339Nano),
		Consent:               &dm.Consent{AdUserData: consentValue(e.AdUserData), AdPersonalization: consentValue(e.AdPersonalization)},
	}
	if e.Value > 0 {
		ev.ConversionValue, ev.Currency = e.Value, e.Currency
	}
	switch {
	case e.Gclid != "":
		ev.AdIdentifiers = &dm.AdIdentifiers{Gclid: e.Gclid}
	case e.Gbraid != "":
		ev.AdIdentifiers = &dm.AdIdentifiers{Gbraid: e.Gbraid}
	case e.Wbraid != "":
		ev.AdIdentifiers = &dm.AdIdentifiers{Wbraid: e.Wbraid}
	}
	if e.EmailSHA256Google != "" {
		ev.UserData = &dm.UserData{UserIdentifiers: []*dm.UserIdentifier{{EmailAddress: e.EmailSHA256Google}}}
	}
	return ev
}
