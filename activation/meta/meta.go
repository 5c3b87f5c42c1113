package meta

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
)

// Windows and dedup, with their sources in the package doc.
const (
	// MaxEventAge is how far back event_time may be.
	MaxEventAge = 7 * 24 * time.Hour
	// backfillMargin is kept free at the end of MaxEventAge by Check.
	backfillMargin = time.Hour
	// MetaDedupWindow is how long Meta deduplicates event_name + event_id.
	MetaDedupWindow = 48 * time.Hour
	// dedupMargin is kept free at the end of MetaDedupWindow by DedupWindow.
	dedupMargin = time.Hour
)

// Fixed reasons for skipped events.
const (
	ReasonBackfill = "event_time is older than Meta's 7-day limit for Conversions API events"
	ReasonStageAge = "stage reached more than %d days after the lead: outside Meta's Conversion Leads window"
)

// takenStages are the stages Meta receives at all, in funnel order.
var takenStages = []string{activation.StageLead, activation.StageMQL, activation.StageSQL, activation.StageOpportunity, activation.StageWon}

var (
	// leadIDRE is Meta's lead id: "the 15 or 16-digit lead id" (payload
	// specification, user_data.lead_id).
	leadIDRE   = regexp.MustCompile(`^[0-9]{15,16}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Destination sends stage events to one Meta CRM dataset. It is safe for
// concurrent use by the runner's senders.
type Destination struct {
	opts    Options
	url     string // the events edge; carries no credential
	limiter *rate.Limiter
}

var _ activation.Destination = (*Destination)(nil)

// CloseIdleConnections closes the connections kept for later requests
// (activation.Runner calls it when the destination is done).
func (d *Destination) CloseIdleConnections() { d.opts.HTTPClient.CloseIdleConnections() }

// New validates opts and returns the destination.
func New(opts Options) (*Destination, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	return &Destination{
		opts:    o,
		url:     fmt.Sprintf("%s/%s/%s/events", o.BaseURL, o.APIVersion, o.DatasetID),
		limiter: rate.NewLimiter(rate.Limit(o.RequestsPerSecond), o.Burst),
	}, nil
}

// Name implements activation.Destination.
func (d *Destination) Name() string { return "meta" }

// DedupWindow implements activation.Destination: Meta's 48 hours less a
// margin for the time between the runner's decision and the request.
func (d *Destination) DedupWindow() time.Duration { return MetaDedupWindow - dedupMargin }

// Takes implements activation.Destination: the positive funnel stages.
func (d *Destination) Takes(stage string) bool { return slices.Contains(takenStages, stage) }

// BatchKey implements activation.Destination: any events of the dataset
// may share a request.
func (d *Destination) BatchKey(activation.Event) string { return "" }

// MaxBatch implements activation.Destination.
func (d *Destination) MaxBatch() int { return d.opts.MaxBatch }

// Check implements activation.Destination. The order puts the reasons that
// never change first, so coverage shows why an event could never have
// reached Meta rather than only that its window has since closed.
func (d *Destination) Check(e activation.Event, now time.Time) activation.Decision {
	if !d.Takes(e.Stage) {
		return activation.Skip(activation.StatusDisabled, "meta does not take this stage")
	}
	if _, ok := d.opts.EventNames[e.Stage]; !ok {
		return activation.Skip(activation.StatusDisabled, "no conversion configured for stage "+e.Stage)
	}
	if r := guard(e); r != "" {
		return activation.Skip(activation.StatusRejected, r)
	}
	if e.EventAt.After(now) {
		// Meta refuses a future event_time, and with it the whole batch.
		return activation.Skip(activation.StatusRejected, "guard: event time is in the future")
	}
	if e.MetaLeadID == "" && e.EmailSHA256 == "" {
		return activation.Skip(activation.StatusNoIdentifier, "no Meta lead id or hashed email")
	}
	if r := d.consent(e); r != "" {
		return activation.Skip(activation.StatusNoConsent, r)
	}
	if now.Sub(e.EventAt) > MaxEventAge-backfillMargin {
		return activation.Skip(activation.StatusExpiredWindow, ReasonBackfill)
	}
	if d.opts.MaxStageAge > 0 && !e.LeadAt.IsZero() && e.EventAt.Sub(e.LeadAt) > d.opts.MaxStageAge {
		return activation.Skip(activation.StatusExpiredWindow, d.stageAgeReason())
	}
	return activation.Decision{}
}

func (d *Destination) stageAgeReason() string {
	return fmt.Sprintf(ReasonStageAge, int(d.opts.MaxStageAge/(24*time.Hour)))
}

// guard returns why e must not leave in Meta's payload, or "".
func guard(e activation.Event) string {
	switch {
	case e.Key == "":
		return "guard: no event key to deduplicate on"
	case !activation.ValidReason(e.Reason):
		return "guard: reason is not in the fixed vocabulary"
	case e.MetaLeadID != "" && !leadIDRE.MatchString(e.MetaLeadID):
		return "guard: Meta lead id is not 15 or 16 digits"
	case e.EmailSHA256 != "" && !identity.IsSHA256Hex(e.EmailSHA256):
		return "guard: hashed email is not SHA-256 hex"
	case math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Value < 0:
		return "guard: value is not a non-negative number"
	case e.Currency != "" && !currencyRE.MatchString(e.Currency):
		return "guard: currency is not an upper-case ISO 4217 code"
	case e.Value != 0 && e.Currency == "":
		return "guard: value without a currency"
	case e.EventAt.IsZero():
		return "guard: no event time"
	}
	return ""
}

// consent returns why e may not be sent for lack of consent, or "".
func (d *Destination) consent(e activation.Event) string {
	for _, c := range []struct {
		name string
		v    activation.Consent
	}{{"ad_user_data", e.AdUserData}, {"ad_personalization", e.AdPersonalization}} {
		switch c.v {
		case activation.ConsentGranted:
		case activation.ConsentDenied:
			return c.name + " consent denied"
		case activation.ConsentUnspecified:
			if d.opts.RequireConsent && c.name == "ad_user_data" {
				return "ad_user_data consent not recorded"
			}
		default:
			return c.name + " consent is not a known value"
		}
	}
	return ""
}

// eventID is the event_id sent for an event key: stable across attempts and
// runs, and carrying nothing readable of the key.
func eventID(key string) string {
	sum := sha256.Sum256([]byte("sam/activation/meta\x00" + key))
	return hex.EncodeToString(sum[:16])
}
