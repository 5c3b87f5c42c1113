package ga4

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// KeyParam is the event parameter that carries the idempotency key, so a
// sent event can be traced back to its send log row (and counted by the
// local sink).
const KeyParam = "sam_event_key"

// Lead events the writer sends (GA4's recommended lead-generation events).
const (
	EventQualifyLead        = "qualify_lead"
	EventDisqualifyLead     = "disqualify_lead"
	EventCloseConvertLead   = "close_convert_lead"
	EventCloseUnconvertLead = "close_unconvert_lead"
)

// Row is one event as the payload builder reads it (an activation.Event
// after the stage is mapped to its GA4 event name).
type Row struct {
	Key         string // idempotency_key
	LeadID      string
	ClientKey   string // GA client id, x.y
	EventName   string
	EventTS     time.Time
	GASessionID int64  // 0 when unknown
	Value       string // decimal text, "" when NULL
	Currency    string
	LeadStage   string
	Reason      string
}

// Event is one Measurement Protocol event.
type Event struct {
	Name            string         `json:"name"`
	Params          map[string]any `json:"params"`
	TimestampMicros int64          `json:"timestamp_micros,omitempty"`
}

// Payload is one Measurement Protocol request body.
type Payload struct {
	ClientID string   `json:"client_id"`
	Consent  *Consent `json:"consent,omitempty"`
	Events   []Event  `json:"events"`
	// ValidationBehavior asks the validation server to report
	// recommendations as well as errors (validate mode only).
	ValidationBehavior string `json:"validation_behavior,omitempty"`
}

// Consent is the request-level consent Measurement Protocol takes
// (developers.google.com/analytics/devguides/collection/protocol/ga4/reference,
// "consent": ad_user_data and ad_personalization, GRANTED or DENIED).
type Consent struct {
	AdUserData        string `json:"ad_user_data,omitempty"`
	AdPersonalization string `json:"ad_personalization,omitempty"`
}

// Time limits GA4 puts on late events.
const (
	// TimestampWindow: timestamp_micros may be at most this far in the past.
	TimestampWindow = 72 * time.Hour
	// SessionWindow: an event joins an existing session (session_id) only
	// when sent within this long of the session's start.
	SessionWindow = 24 * time.Hour
	// engagementMsec is what each event adds to a session's engagement time
	// when it carries session_id; GA4 needs a positive value to count the
	// activity.
	engagementMsec = 1
)

// BuildEvent turns a queue row into an event as of now. It sets
// timestamp_micros only within TimestampWindow (older events are stamped by
// GA4 at receipt) and session_id only while the lead-form session is recent
// enough for GA4 to join it; ga_session_id is the session's start in Unix
// seconds.
func BuildEvent(r Row, now time.Time) (Event, error) {
	e := Event{Name: r.EventName, Params: map[string]any{KeyParam: r.Key}}
	if !r.EventTS.IsZero() {
		age := now.Sub(r.EventTS)
		if age >= 0 && age <= TimestampWindow {
			e.TimestampMicros = r.EventTS.UnixMicro()
		}
	}
	if r.GASessionID > 0 {
		start := time.Unix(r.GASessionID, 0)
		if age := now.Sub(start); age >= 0 && age <= SessionWindow {
			e.Params["session_id"] = strconv.FormatInt(r.GASessionID, 10)
			e.Params["engagement_time_msec"] = engagementMsec
		}
	}
	if r.LeadStage != "" {
		e.Params["lead_stage"] = r.LeadStage
	}
	switch r.EventName {
	case EventDisqualifyLead:
		if r.Reason != "" {
			e.Params["disqualified_lead_reason"] = r.Reason
		}
	case EventCloseUnconvertLead:
		if r.Reason != "" {
			e.Params["unconvert_lead_reason"] = r.Reason
		}
	}
	if r.Value != "" {
		n, err := decimalNumber(r.Value)
		if err != nil {
			return Event{}, fmt.Errorf("lead %s: event %s: value: %w", r.LeadID, r.EventName, err)
		}
		e.Params["value"] = n
		if r.Currency != "" {
			e.Params["currency"] = strings.ToUpper(r.Currency)
		}
	}
	return e, nil
}

// decimalNumber renders a NUMERIC's text as a JSON number, exact and without
// trailing zeros ("1250.500000000" → 1250.5). It parses by hand: this runs
// for every value sent.
func decimalNumber(s string) (json.Number, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return "", fmt.Errorf("negative value %s", s)
	}
	s = strings.TrimPrefix(s, "+")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) || hasDot && frac == "" && intPart == "" {
		return "", fmt.Errorf("%q is not a decimal number", s)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return json.Number(intPart), nil
	}
	return json.Number(intPart + "." + frac), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
