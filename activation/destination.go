package activation

import (
	"context"
	"time"
)

// Status is what the ledger records for a key.
type Status string

const (
	StatusIntent   Status = "intent"   // committed before the request
	StatusSent     Status = "sent"     // delivered; the destination reports no per-event acceptance (GA4)
	StatusAccepted Status = "accepted" // the destination accepted the event
	StatusRejected Status = "rejected" // the destination, or SAM's payload guard, refused the event
	StatusFailed   Status = "failed"   // provably not processed; sent again next run
	StatusUnknown  Status = "unknown"  // may or may not have reached the destination
	StatusReleased Status = "released" // an operator cleared an ambiguous key

	StatusExpiredWindow Status = "expired_window" // outside a window the destination enforces
	StatusNoIdentifier  Status = "no_identifier"  // nothing the destination can match on
	StatusNoConsent     Status = "no_consent"     // the person did not consent to ads use
	StatusDisabled      Status = "disabled"       // the destination is not configured
	// StatusAlreadyDelivered: the lead's stage reached the destination
	// under another key (the CRM moved the stage's time, which makes a new
	// key); one business effect per lead and stage.
	StatusAlreadyDelivered Status = "already_delivered"
)

// done reports whether s ends a key for good.
func (s Status) done() bool {
	return s == StatusSent || s == StatusAccepted || s == StatusRejected
}

// Decision is a destination's verdict on an event before any request: a
// zero Decision sends it; otherwise Status is a skip status (or
// StatusRejected for the payload guard) and Reason says why in a fixed
// phrase without personal data.
type Decision struct {
	Status Status
	Reason string
}

// Send reports whether the event may be sent.
func (d Decision) Send() bool { return d.Status == "" }

// Skip returns a decision not to send.
func Skip(s Status, reason string) Decision { return Decision{Status: s, Reason: reason} }

// Outcome is what became of one event of a request.
type Outcome struct {
	Status Status // sent, accepted, rejected, failed or unknown
	Detail string // the destination's reason, redacted of secrets
}

// Destination delivers events to one platform. One that keeps connections
// open between requests may also have a CloseIdleConnections method, which
// the runner calls when it is done with the destination.
type Destination interface {
	// Name is the ledger's destination key: ga4, google_ads, meta, linkedin.
	Name() string
	// DedupWindow is how long the destination deduplicates on the event key
	// SAM sends; zero when it does not. Within it, re-sending a request whose
	// outcome is unknown is safe.
	DedupWindow() time.Duration
	// Takes reports whether the destination receives events of a stage at
	// all; events of other stages are not its business and are not
	// recorded for it (a stage it takes but has no conversion configured
	// for is a Check decision: disabled).
	Takes(stage string) bool
	// Check decides, as of now, whether e may be sent: windows, identifiers,
	// consent and the payload guard.
	Check(e Event, now time.Time) Decision
	// BatchKey groups the events one request may carry (GA4: one client
	// id); MaxBatch caps a request's events.
	BatchKey(e Event) string
	MaxBatch() int
	// Send delivers one batch of checked events and returns one Outcome per
	// event, in order. It retries only what is safe to retry: for a
	// destination without dedup, never a request whose body may have
	// reached the server. It must honour ctx.
	Send(ctx context.Context, batch []Event) []Outcome
}
