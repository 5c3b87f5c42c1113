package activation

import (
	"fmt"
	"time"
)

// Stages an event can mark, in funnel order.
const (
	StageLead         = "lead"
	StageMQL          = "mql"
	StageSQL          = "sql"
	StageOpportunity  = "opportunity"
	StageWon          = "won"
	StageLost         = "lost"
	StageDisqualified = "disqualified"
)

// Value kinds: an actual value is revenue won; a predicted one is the
// expected revenue of a lead at its stage (see the lead_value_predictions
// model), sent so algorithms learn inside their windows.
const (
	ValueActual    = "actual"
	ValuePredicted = "predicted"
)

// Reasons is the fixed vocabulary a disqualification or loss reason is
// mapped to before it may leave SAM: free text never does.
var Reasons = []string{"spam", "bot", "duplicate", "no_budget", "no_fit", "competitor", "other"}

// ValidReason reports whether r is in Reasons (or empty).
func ValidReason(r string) bool {
	if r == "" {
		return true
	}
	for _, v := range Reasons {
		if r == v {
			return true
		}
	}
	return false
}

// Consent is what a person agreed to, as destinations take it.
type Consent string

const (
	ConsentGranted     Consent = "granted"
	ConsentDenied      Consent = "denied"
	ConsentUnspecified Consent = ""
)

// Event is one stage event of one lead with everything any destination may
// need. Identifiers are empty when unknown. Personal data appears only
// hashed (SHA-256 hex of the vendor-normalised value).
type Event struct {
	Key    string // event key: stable per (lead, stage, stage time)
	LeadID string
	// FormerLeadIDs are the leads the CRM merged into this one: what
	// reached a destination under them reached it for this lead.
	FormerLeadIDs []string
	Stage         string
	EventAt       time.Time // when the lead reached the stage
	LeadAt        time.Time // when the lead was created
	Value         float64   // in Currency; 0 with Currency "" when none
	Currency      string
	ValueKind     string // ValueActual or ValuePredicted
	Reason        string // one of Reasons, for disqualified and lost

	// Web identifiers.
	ClientKey     string    // GA4 client id, x.y
	GASessionID   int64     // the lead-form session's ga_session_id
	LastSessionAt time.Time // the user's last GA4 session before EventAt
	// Ad click identifiers and when the click happened.
	Gclid, Gbraid, Wbraid string
	ClickAt               time.Time
	MetaLeadID            string // Meta lead ad's lead id
	LiFatID               string // LinkedIn first-party ad tracking id
	// Hashed identifiers: SHA-256 hex of the normalised email. Google
	// normalises gmail.com addresses further than the others do.
	EmailSHA256       string
	EmailSHA256Google string

	// Consent to use the person's data for ads, and for personalised ads.
	AdUserData        Consent
	AdPersonalization Consent
}

// Month is the first day of the event's month (coverage grain).
func (e Event) Month() time.Time {
	t := e.EventAt.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (e Event) String() string { return fmt.Sprintf("%s/%s (lead %s)", e.Stage, e.Key, e.LeadID) }
