package ga4

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const testKey = "0123456789abcdef0123456789abcdef"

func TestBuildEventTimestampAndSession(t *testing.T) {
	recent := now.Add(-2 * time.Hour)
	cases := []struct {
		name        string
		ts          time.Time
		sessionID   int64
		wantMicros  int64
		wantSession bool
	}{
		{"recent event, recent session", recent, now.Add(-3 * time.Hour).Unix(), recent.UnixMicro(), true},
		{"71h old keeps its timestamp, session too old", now.Add(-71 * time.Hour), now.Add(-71 * time.Hour).Unix(), now.Add(-71 * time.Hour).UnixMicro(), false},
		{"73h old loses its timestamp", now.Add(-73 * time.Hour), 0, 0, false},
		{"future timestamp is not sent", now.Add(time.Hour), 0, 0, false},
		{"no session id", recent, 0, recent.UnixMicro(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := BuildEvent(Row{Key: testKey, LeadID: "L1", EventName: EventQualifyLead, EventTS: c.ts, GASessionID: c.sessionID, LeadStage: "mql"}, now)
			if err != nil {
				t.Fatal(err)
			}
			if e.TimestampMicros != c.wantMicros {
				t.Errorf("timestamp_micros = %d, want %d", e.TimestampMicros, c.wantMicros)
			}
			_, hasSession := e.Params["session_id"]
			_, hasEngagement := e.Params["engagement_time_msec"]
			if hasSession != c.wantSession || hasEngagement != c.wantSession {
				t.Errorf("session_id present = %v, engagement_time_msec present = %v, want %v", hasSession, hasEngagement, c.wantSession)
			}
			if c.wantSession && e.Params["session_id"] != fmt.Sprint(c.sessionID) {
				t.Errorf("session_id = %v, want %d", e.Params["session_id"], c.sessionID)
			}
			if e.Params[KeyParam] != testKey || e.Params["lead_stage"] != "mql" {
				t.Errorf("params = %v", e.Params)
			}
		})
	}
}

func TestBuildEventValueAndReason(t *testing.T) {
	e, err := BuildEvent(Row{Key: testKey, LeadID: "L1", EventName: EventCloseConvertLead, EventTS: now, Value: "1250.500000000", Currency: "eur", LeadStage: "won"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e.Params)
	if !strings.Contains(string(b), `"value":1250.5`) || !strings.Contains(string(b), `"currency":"EUR"`) {
		t.Errorf("params = %s, want value 1250.5 and currency EUR", b)
	}
	e, err = BuildEvent(Row{Key: testKey, LeadID: "L2", EventName: EventDisqualifyLead, EventTS: now, Reason: "spam: honeypot"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Params["disqualified_lead_reason"] != "spam: honeypot" {
		t.Errorf("reason param = %v", e.Params["disqualified_lead_reason"])
	}
	if _, err := BuildEvent(Row{Key: testKey, LeadID: "L3", EventName: EventCloseConvertLead, Value: "-5"}, now); err == nil || !strings.Contains(err.Error(), "L3") {
		t.Errorf("negative value: err = %v, want an error naming lead L3", err)
	}
}

func TestDecimalNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1250.500000000": "1250.5", "1250.000": "1250", "0.010": "0.01", "007": "7", ".5": "0.5", "0": "0", "12": "12",
	} {
		got, err := decimalNumber(in)
		if err != nil || string(got) != want {
			t.Errorf("decimalNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1.5", "1e5", "1.2.3", "abc", "."} {
		if got, err := decimalNumber(bad); err == nil {
			t.Errorf("decimalNumber(%q) = %q, want an error", bad, got)
		}
	}
}

func event(name string, params map[string]any) Event {
	p := map[string]any{KeyParam: testKey}
	for k, v := range params {
		p[k] = v
	}
	return Event{Name: name, Params: p}
}

func TestCheckEvent(t *testing.T) {
	many := map[string]any{}
	for i := range 25 {
		many[fmt.Sprintf("p%d", i)] = "x"
	}
	cases := []struct {
		name    string
		e       Event
		wantErr string // "" = accepted
	}{
		{"lead event", event(EventQualifyLead, map[string]any{"lead_stage": "mql"}), ""},
		{"40-char name", event(strings.Repeat("a", 40), nil), ""},
		{"41-char name", event(strings.Repeat("a", 41), nil), "longer than 40"},
		{"name starts with digit", event("1lead", nil), "must start with a letter"},
		{"name with dash", event("qualify-lead", nil), "must start with a letter"},
		{"reserved name", event("session_start", nil), "reserved"},
		{"reserved prefix google_", event("google_lead", nil), "reserved prefix"},
		{"reserved prefix ga_", event("ga_lead", nil), "reserved prefix"},
		{"reserved prefix firebase_", event("firebase_lead", nil), "reserved prefix"},
		{"26 params", event(EventQualifyLead, many), "26 parameters"},
		{"param name too long", event(EventQualifyLead, map[string]any{strings.Repeat("p", 41): "x"}), "longer than 40"},
		{"reserved param prefix", event(EventQualifyLead, map[string]any{"ga_x": "x"}), "reserved prefix"},
		{"reserved param", event(EventQualifyLead, map[string]any{"firebase_conversion": 1}), "reserved"},
		{"100-char value", event(EventQualifyLead, map[string]any{"r": strings.Repeat("v", 100)}), ""},
		{"101-char value", event(EventQualifyLead, map[string]any{"r": strings.Repeat("v", 101)}), "longer than 100"},
		{"email", event(EventDisqualifyLead, map[string]any{"disqualified_lead_reason": "dup of jane.doe@example.com"}), "email address"},
		{"phone intl", event(EventDisqualifyLead, map[string]any{"disqualified_lead_reason": "call +44 20 7946 0958"}), "phone number"},
		{"phone national", event(EventDisqualifyLead, map[string]any{"disqualified_lead_reason": "rang (555) 123-4567"}), "phone number"},
		{"date is not a phone", event(EventDisqualifyLead, map[string]any{"disqualified_lead_reason": "no budget until 2027-01-15 10:30"}), ""},
		{"value with currency", event(EventCloseConvertLead, map[string]any{"value": json.Number("10"), "currency": "EUR"}), ""},
		{"value without currency", event(EventCloseConvertLead, map[string]any{"value": json.Number("10")}), "without a three-letter currency"},
		{"bad key", event(EventQualifyLead, map[string]any{KeyParam: "k1"}), "expected form"},
		{"session id digits are not a phone", event(EventQualifyLead, map[string]any{"session_id": "1795327110"}), ""},
		{"session id must be digits", event(EventQualifyLead, map[string]any{"session_id": "x@y.com"}), "expected form"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckEvent("LEAD-42", c.e)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "LEAD-42") {
				t.Errorf("err = %v, want ErrRefused naming the lead", err)
			}
			if strings.Contains(err.Error(), "jane.doe") || strings.Contains(err.Error(), "7946") {
				t.Errorf("error repeats the personal data: %v", err)
			}
		})
	}
}

func TestCheckPayload(t *testing.T) {
	ev := event(EventQualifyLead, nil)
	ok := Payload{ClientID: "123.456", Events: make([]Event, 25)}
	for i := range ok.Events {
		ok.Events[i] = ev
	}
	if err := CheckPayload(ok); err != nil {
		t.Errorf("25 events refused: %v", err)
	}
	tooMany := Payload{ClientID: "123.456", Events: append(ok.Events, ev)}
	if err := CheckPayload(tooMany); !errors.Is(err, ErrRefused) {
		t.Errorf("26 events: err = %v, want ErrRefused", err)
	}
	if err := CheckPayload(Payload{ClientID: "bob@example.com", Events: []Event{ev}}); !errors.Is(err, ErrRefused) {
		t.Errorf("email client id: err = %v, want ErrRefused", err)
	}
}
