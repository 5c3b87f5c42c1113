package ga4

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
)

// AdsExportWindow is how long after a user's last session GA4 still shares
// Measurement Protocol events with linked Google Ads accounts ("Measurement
// Protocol events are only shared with Google Ads if they are sent within 63
// days of the user's last session": Measurement Protocol reference,
// "Send events to Google Ads"). Later events still reach GA4's reports.
const AdsExportWindow = 63 * 24 * time.Hour

// OutsideAdsWindow is the outcome detail of an event GA4 received that will
// not reach Google Ads; activation_coverage reports it for ga4_ads_export.
const OutsideAdsWindow = "outside the 63-day Google Ads export window"

// eventNames maps the stages GA4 takes to its recommended lead-generation
// events (developers.google.com/analytics/devguides/collection/ga4/reference/events:
// qualify_lead, working_lead, close_convert_lead, close_unconvert_lead,
// disqualify_lead). The lead stage is not sent: the site's own tag already
// sent generate_lead with the form.
var eventNames = map[string]string{
	activation.StageMQL:          EventQualifyLead,
	activation.StageSQL:          EventQualifyLead,
	activation.StageOpportunity:  EventWorkingLead,
	activation.StageWon:          EventCloseConvertLead,
	activation.StageLost:         EventCloseUnconvertLead,
	activation.StageDisqualified: EventDisqualifyLead,
}

// EventWorkingLead marks a lead being worked (an opportunity).
const EventWorkingLead = "working_lead"

// Options configure the GA4 destination.
type Options struct {
	// MeasurementID is the web stream's id, such as G-ABC123DEF4.
	MeasurementID string
	// APISecret is the stream's Measurement Protocol api_secret.
	APISecret option.Secret
	// Endpoint is the Measurement Protocol base URL (the EU endpoint, or a
	// local sink's URL).
	Endpoint string
	// ValidateOnly sends to the validation server (/debug/mp/collect) with
	// validation_behavior ENFORCE_RECOMMENDATIONS: nothing is recorded.
	ValidateOnly bool
	// RatePerSecond caps requests per second; Burst is the limiter's burst
	// (default: RatePerSecond).
	RatePerSecond int
	Burst         int
	// HTTPClient sends requests (default: a pooled client).
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt (default 10 s); Retry bounds the
	// attempts made again after one that provably did not reach GA4.
	RequestTimeout time.Duration
	Retry          retry.Policy
	// StopGrace is how long a request under way may finish once the run is
	// stopped (default retry.DefaultStopGrace): GA4 does not deduplicate,
	// so a request cut short leaves its events in the crash window.
	StopGrace time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// measurementIDRE is the shape of a GA4 web stream id: an empty id would
// send to no property, and GA4 would still answer 2xx.
var measurementIDRE = regexp.MustCompile(`^G-[A-Z0-9]+$`)

// Validate reports the first invalid field.
func (o Options) Validate() error {
	if !measurementIDRE.MatchString(o.MeasurementID) {
		return option.Invalid("MeasurementID", o.MeasurementID, "is not a GA4 measurement id such as G-ABC123DEF4")
	}
	if o.APISecret == "" {
		return option.Invalid("APISecret", "", "is not set")
	}
	if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return option.Invalid("Endpoint", o.Endpoint, "is not an http(s) URL")
	}
	if o.RatePerSecond <= 0 {
		return option.Invalid("RatePerSecond", fmt.Sprint(o.RatePerSecond), "is not positive")
	}
	if o.StopGrace < 0 {
		return option.Invalid("StopGrace", o.StopGrace.String(), "is negative")
	}
	return nil
}

// Destination sends stage events to GA4 through the Measurement Protocol.
// GA4 does not deduplicate: its ambiguous outcomes wait for an operator.
type Destination struct {
	o Options
	c *client
}

// CloseIdleConnections closes the connections kept for later requests
// (activation.Runner calls it when the destination is done).
func (d *Destination) CloseIdleConnections() { d.c.http.CloseIdleConnections() }

// New returns the destination.
func New(o Options) (*Destination, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("ga4: %w", err)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = retry.DefaultStopGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Burst <= 0 {
		o.Burst = o.RatePerSecond
	}
	if o.Retry.Attempts <= 0 {
		o.Retry = retry.Policy{Attempts: 5, Base: 500 * time.Millisecond, Cap: 30 * time.Second}
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		hc = &http.Client{Transport: tr}
	}
	path := collectPath
	if o.ValidateOnly {
		path = debugPath
	}
	c := &client{
		http: hc, endpoint: strings.TrimRight(o.Endpoint, "/"), path: path,
		measureID: o.MeasurementID, secret: o.APISecret.Reveal(),
		limiter: rate.NewLimiter(rate.Limit(o.RatePerSecond), o.Burst),
		retry:   o.Retry, timeout: o.RequestTimeout, grace: o.StopGrace,
	}
	return &Destination{o: o, c: c}, nil
}

// Name implements activation.Destination.
func (d *Destination) Name() string { return "ga4" }

// DedupWindow implements activation.Destination: GA4 counts every event it
// receives.
func (d *Destination) DedupWindow() time.Duration { return 0 }

// Takes implements activation.Destination.
func (d *Destination) Takes(stage string) bool { _, ok := eventNames[stage]; return ok }

// BatchKey implements activation.Destination: one request carries one
// client id, and one consent state.
func (d *Destination) BatchKey(e activation.Event) string {
	return e.ClientKey + "|" + string(e.AdUserData) + "|" + string(e.AdPersonalization)
}

// MaxBatch implements activation.Destination.
func (d *Destination) MaxBatch() int { return MaxEventsPerRequest }

// Check implements activation.Destination: an event needs a client id and
// must pass the payload guard. Its age decides only whether it carries a
// timestamp (72 h) and whether it reaches Google Ads (63 days since the
// user's last session): GA4 takes it either way.
func (d *Destination) Check(e activation.Event, now time.Time) activation.Decision {
	if e.ClientKey == "" {
		return activation.Skip(activation.StatusNoIdentifier, "no GA client id linked to the lead")
	}
	ev, err := BuildEvent(row(e), now)
	if err == nil {
		err = CheckEvent(e.LeadID, ev)
	}
	if err == nil {
		err = CheckPayload(Payload{ClientID: e.ClientKey, Events: []Event{ev}})
	}
	if err != nil {
		return activation.Skip(activation.StatusRejected, "guard: "+err.Error())
	}
	return activation.Decision{}
}

// row maps an activation event onto the payload builder's input.
func row(e activation.Event) Row {
	r := Row{Key: e.Key, LeadID: e.LeadID, ClientKey: e.ClientKey, EventName: eventNames[e.Stage],
		EventTS: e.EventAt, GASessionID: e.GASessionID, LeadStage: e.Stage, Reason: e.Reason}
	if e.Value > 0 {
		r.Value, r.Currency = strconv.FormatFloat(e.Value, 'f', -1, 64), e.Currency
	}
	return r
}

func consent(e activation.Event) *Consent {
	m := map[activation.Consent]string{activation.ConsentGranted: "GRANTED", activation.ConsentDenied: "DENIED"}
	c := &Consent{AdUserData: m[e.AdUserData], AdPersonalization: m[e.AdPersonalization]}
	if *c == (Consent{}) {
		return nil
	}
	return c
}

// Payload builds the request body for one batch (events of one client).
func (d *Destination) Payload(batch []activation.Event, now time.Time) ([]byte, error) {
	p := Payload{ClientID: batch[0].ClientKey, Consent: consent(batch[0])}
	if d.o.ValidateOnly {
		p.ValidationBehavior = "ENFORCE_RECOMMENDATIONS"
	}
	for _, e := range batch {
		ev, err := BuildEvent(row(e), now)
		if err != nil {
			return nil, err
		}
		p.Events = append(p.Events, ev)
	}
	if err := CheckPayload(p); err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// Preview implements activation.Previewer (dry-run).
func (d *Destination) Preview(w io.Writer, batch []activation.Event, now time.Time) error {
	body, err := d.Payload(batch, now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", body)
	return err
}

// Send implements activation.Destination. A request GA4 may have read is
// never sent again (its outcome is unknown); only one that provably did not
// reach GA4 (no connection, or 429) is retried.
func (d *Destination) Send(ctx context.Context, batch []activation.Event) []activation.Outcome {
	now := d.o.Now()
	out := make([]activation.Outcome, len(batch))
	body, err := d.Payload(batch, now)
	if err != nil {
		for i := range out {
			out[i] = activation.Outcome{Status: activation.StatusRejected, Detail: "guard: " + err.Error()}
		}
		return out
	}
	res := d.c.post(ctx, body)
	detail := ""
	if res.err != nil {
		detail = res.err.Error()
	}
	for i, e := range batch {
		switch res.outcome {
		case outcomeSent:
			out[i] = activation.Outcome{Status: activation.StatusSent}
			if d.o.ValidateOnly {
				out[i].Status = activation.StatusAccepted
				if len(res.messages) > 0 {
					m := res.messages[0]
					out[i] = activation.Outcome{Status: activation.StatusRejected,
						Detail: fmt.Sprintf("validation: %s: %s (%s)", m.FieldPath, m.Description, m.ValidationCode)}
				}
			} else if !e.LastSessionAt.IsZero() && now.Sub(e.LastSessionAt) > AdsExportWindow {
				out[i].Detail = OutsideAdsWindow
			}
		case outcomeFailed:
			out[i] = activation.Outcome{Status: activation.StatusFailed, Detail: detail}
		default:
			out[i] = activation.Outcome{Status: activation.StatusUnknown, Detail: detail}
		}
	}
	return out
}
