package ga4

import (
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"
)

var (
	fuzzNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	fuzzKey = "00112233445566778899aabbccddeeff"

	// plainEmail and plainPhone are deliberately simple forms of personal
	// data, written independently of the guard: whatever else it refuses, it
	// must refuse these.
	plainEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[A-Za-z]{2,}`)
	plainPhone = regexp.MustCompile(`^\+?[0-9]{9,15}$`)
	// documentedValue is decimal text as the queue holds NUMERIC values.
	documentedValue = regexp.MustCompile(`^\+?([0-9]+\.?[0-9]*|\.[0-9]+)$`)
)

// FuzzBuildEvent turns arbitrary queue rows into Measurement Protocol
// events the way the writer does (BuildEvent, CheckEvent, CheckPayload) and
// checks: a row is either refused with an error that names its lead or
// becomes a payload that encodes and decodes to the same event, that the
// local GA4 validation server (internal/ga4sink, written independently)
// finds nothing wrong with, and that carries no plain email address or
// phone number.
//
//	go test ./writeback -run '^$' -fuzz '^FuzzBuildEvent$' -fuzztime 20s
func FuzzBuildEvent(f *testing.F) {
	f.Add(fuzzKey, "L1", "123.456", EventQualifyLead, int64(3600), int64(7200), "", "", "mql", "")
	f.Add(fuzzKey, "L2", "123.456", EventCloseConvertLead, int64(100*3600), int64(0), "1250.500000000", "eur", "won", "")
	f.Add(fuzzKey, "L3", "123.456", EventDisqualifyLead, int64(60), int64(60), "", "", "disqualified", "spam: ann@example.com")
	f.Add(fuzzKey, "L4", "123.456", EventCloseUnconvertLead, int64(-60), int64(-60), "", "", "lost", "+4915112345678")
	f.Add("not-hex", "L5", "a@b.co", "session_start", int64(0), int64(0), "-5", "USD", "", "")
	f.Add(fuzzKey, "L6", "", "ga_lead", int64(1), int64(1), ".5", "", "x", "call 0151 1234 5678")
	f.Add(fuzzKey, "L7", "1.2", "qualify_lead_with_a_name_longer_than_forty_chars", int64(1), int64(1), "1e3", "usd", strings.Repeat("é", 101), "")
	f.Fuzz(func(t *testing.T, key, leadID, clientKey, eventName string, tsAge, sessionAge int64, value, currency, stage, reason string) {
		r := Row{Key: key, LeadID: leadID, ClientKey: clientKey, EventName: eventName,
			Value: value, Currency: currency, LeadStage: stage, Reason: reason}
		if tsAge != 0 {
			r.EventTS = fuzzNow.Add(-time.Duration(tsAge%(1<<32)) * time.Second)
		}
		r.GASessionID = fuzzNow.Unix() - sessionAge%(1<<32)

		e, err := BuildEvent(r, fuzzNow)
		if err != nil {
			if !strings.Contains(err.Error(), "lead "+leadID) {
				t.Fatalf("BuildEvent error does not name the lead: %v", err)
			}
			if documentedValue.MatchString(strings.TrimSpace(value)) {
				t.Fatalf("BuildEvent refused a plain decimal value %q: %v", value, err)
			}
			return
		}
		if e.Name != eventName || e.Params[KeyParam] != key {
			t.Fatalf("event %q key %v from row %+v", e.Name, e.Params[KeyParam], r)
		}
		if e.TimestampMicros != 0 {
			if e.TimestampMicros != r.EventTS.UnixMicro() || fuzzNow.Sub(r.EventTS) > TimestampWindow || r.EventTS.After(fuzzNow) {
				t.Fatalf("timestamp_micros %d for an event at %v", e.TimestampMicros, r.EventTS)
			}
		}
		if value != "" {
			n, ok := e.Params["value"].(json.Number)
			want, okWant := new(big.Rat).SetString(strings.TrimPrefix(strings.TrimSpace(value), "+"))
			got, okGot := new(big.Rat).SetString(string(n))
			if !ok || !okWant || !okGot || got.Cmp(want) != 0 {
				t.Fatalf("value param %v from %q", e.Params["value"], value)
			}
		}

		err = CheckEvent(leadID, e)
		if err != nil && !strings.Contains(err.Error(), "lead "+leadID) {
			t.Fatalf("CheckEvent refusal does not name the lead: %v", err)
		}
		if err == nil {
			err = CheckPayload(Payload{ClientID: clientKey, Events: []Event{e}})
		}
		if err != nil {
			if !errors.Is(err, ErrRefused) || err.Error() == "" {
				t.Fatalf("refusal is not ErrRefused or says nothing: %v", err)
			}
			// The refusal names the lead, never the personal data it found.
			for _, s := range []string{stage, reason} {
				for _, m := range plainEmail.FindAllString(s, -1) {
					if strings.Contains(err.Error(), m) && !strings.Contains(leadID+eventName+key, m) {
						t.Fatalf("refusal repeats the email address %q: %v", m, err)
					}
				}
			}
			return
		}

		for k, v := range e.Params {
			s, ok := v.(string)
			if !ok || k == KeyParam || k == "session_id" {
				continue
			}
			if plainEmail.MatchString(s) || plainPhone.MatchString(strings.TrimSpace(s)) {
				t.Fatalf("parameter %s = %q passed the guard", k, s)
			}
		}
		if strings.Contains(clientKey, "@") {
			t.Fatalf("client id %q passed the guard", clientKey)
		}

		body, err := json.Marshal(Payload{ClientID: clientKey, Events: []Event{e}})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var back Payload
		if err := json.Unmarshal(body, &back); err != nil || len(back.Events) != 1 {
			t.Fatalf("decode %s: %v", body, err)
		}
		b := back.Events[0]
		if back.ClientID != clientKey || b.Name != e.Name || b.TimestampMicros != e.TimestampMicros || len(b.Params) != len(e.Params) {
			t.Fatalf("round trip changed the payload:\n%+v\n%+v", e, b)
		}
		for k, v := range e.Params {
			if s, ok := v.(string); ok && b.Params[k] != s {
				t.Fatalf("param %s: %q became %v", k, s, b.Params[k])
			}
		}
		if msgs := ga4sink.Validate("G-FUZZ", body); len(msgs) > 0 {
			t.Fatalf("the guard accepted a payload the validation server refuses: %+v\n%s", msgs, body)
		}
	})
}
