// Package metasim owns a local stand-in for Meta's Conversions API as the
// "Conversions API for CRM" (conversion leads) integration uses it:
// POST /{api-version}/{dataset-id}/events. It judges payloads by Meta's
// published contract, independently of SAM's client, and counts every dedup
// key (dataset, event_name, event_id): how often it arrived and how often it
// took effect.
//
// The contract, with its sources:
//   - CRM payload (developers.facebook.com/docs/marketing-api/
//     conversions-api/conversion-leads-integration/payload-specification):
//     event_name required (free-form stage name); event_time a Unix time in
//     seconds, "can be up to 7 days before you send an event to Meta";
//     action_source "system_generated"; custom_data.event_source "crm";
//     custom_data.lead_event_source the CRM's name; user_data.lead_id the
//     15 or 16-digit lead id, not hashed ("please use a valid lead_id or
//     else the system will reject the event"); email and phone, if sent,
//     hashed.
//   - Hashing (customer-information-parameters page): "Our systems are
//     designed to not accept customer information that is unhashed"; em and
//     ph are SHA-256 hex, as the Business SDK's Normalize checks with
//     ^[a-f0-9]{64}$ (facebook-python-business-sdk, serverside/normalize.py).
//   - Batches: up to 1,000 events in data, and one invalid event rejects the
//     whole batch. This is the stricter reading; it is how Meta's
//     "Using the API" page is remembered, not a quotation verified here.
//   - Dedup: the same event_name and event_id within 48 hours count once
//     (Meta's deduplication guide for the Conversions API); later repeats
//     take effect again, which this simulator reproduces.
//   - test_event_code routes events to Test Events: they are validated but
//     take no business effect.
//   - Errors: the Graph API error object {"error":{"message","type","code",
//     "error_subcode","is_transient","error_user_title","error_user_msg",
//     "fbtrace_id"}}. Meta's subcodes for these cases were not found in its
//     material, so none is invented: error_subcode is left out and clients
//     must judge by code.
//   - Credentials: the simulator honours only the tokens a test registers
//     (AllowToken) and not once revoked (RevokeToken), wherever the token
//     comes (access_token in the query or body, or Authorization: Bearer).
//     Any other is refused whole with OAuthException code 190, which the
//     Graph API's error reference gives for a token that "has expired,
//     been revoked, or is otherwise invalid" and which it answers with
//     HTTP 400 (Facebook Login, "Access Tokens: Debugging and Error
//     Handling": "the API will return an HTTP 400 status code"; clients
//     such as sixoverground/instagram_graph_api pull request 3 map code
//     190 apart from the status for that reason). No subcode: Meta's
//     subcodes (458, 460, 463, …) name why a user's session ended, and a
//     system user's revoked token is none of them.
//   - Throttling: "(#4) Application request limit reached", code 4,
//     is_transient true (Graph API error seen in facebook-nodejs-business-sdk
//     issue 97), with usage in X-App-Usage. Meta sends no Retry-After, and
//     the HTTP status is not documented; the simulator answers 400 so a
//     client must read the error code (stricter than a 429). Meta publishes
//     no events-per-second ceiling for the Conversions API; DefaultLimit is
//     a stated, configurable default.
//
// Tests use Server.Handler with net/http/httptest; `sam run` in local mode
// uses Start, which persists every judged event to an NDJSON file and
// reloads it on start. It imports only the standard library and
// tests/simcore, which owns what the destination simulators share.
package metasim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/tests/simcore"
)

// The shared core's types, under this package's name so callers need not
// import tests/simcore.
type (
	Fault     = simcore.Fault
	FaultKind = simcore.FaultKind
	Limit     = simcore.Limit
	KeyStats  = simcore.KeyStats
	Stats     = simcore.Stats
	Record    = simcore.Record
)

// The faults a test can inject; see simcore.FaultKind.
const (
	ResetAfterRead       = simcore.ResetAfterRead
	TimeoutAfterRead     = simcore.TimeoutAfterRead
	ServerErrorAfterRead = simcore.ServerErrorAfterRead
	TooManyRequests      = simcore.TooManyRequests
	PartialFailure       = simcore.PartialFailure
)

const (
	// MaxEvents is the batch limit of the data array.
	MaxEvents = 1000
	// MaxEventAge is how far back event_time may be (payload specification).
	MaxEventAge = 7 * 24 * time.Hour
	// DedupWindow is how long an event_name + event_id pair deduplicates.
	DedupWindow = 48 * time.Hour
)

// DefaultLimit is a stated default, not a published figure: 20 requests a
// second (up to 20,000 events a second at the batch limit).
var DefaultLimit = Limit{Rate: 20, Burst: 20}

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	*simcore.Core
	// Tokens are the access tokens the simulator honours: AllowToken,
	// RevokeToken.
	simcore.Tokens
	datasetMu sync.Mutex
	datasets  map[string]bool
}

// SetDatasets names the datasets the token may write to; a POST to any
// other is refused as the Graph API refuses an object that does not exist
// or that the token may not reach. None named: every dataset is known.
func (s *Server) SetDatasets(ids ...string) {
	s.datasetMu.Lock()
	defer s.datasetMu.Unlock()
	s.datasets = map[string]bool{}
	for _, id := range ids {
		s.datasets[id] = true
	}
}

func (s *Server) knows(dataset string) bool {
	s.datasetMu.Lock()
	defer s.datasetMu.Unlock()
	return len(s.datasets) == 0 || s.datasets[dataset]
}

// New returns a simulator with DefaultLimit. When path is not empty, records
// already in the NDJSON file at path are reloaded and new ones appended.
func New(path string) (*Server, error) {
	c, err := simcore.New(DefaultLimit, path)
	if err != nil {
		return nil, fmt.Errorf("metasim: %w", err)
	}
	return &Server{Core: c}, nil
}

// Start listens on addr and serves until ctx ends or Close is called,
// persisting to path when it is not empty.
func Start(ctx context.Context, addr, path string) (*Server, error) {
	s, err := New(path)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(ctx, addr, s.Handler()); err != nil {
		s.Close()
		return nil, fmt.Errorf("metasim: %w", err)
	}
	return s, nil
}

// Handler serves the events edge and GET /sim/stats.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	v := simcore.Vendor{Process: s.process, Throttle: s.throttle, ServerError: s.serverError}
	mux.HandleFunc("POST /{version}/{dataset}/events", func(w http.ResponseWriter, r *http.Request) {
		if !versionRE.MatchString(r.PathValue("version")) {
			simcore.WriteJSON(w, http.StatusBadRequest, graphError(2500, "Unknown path components: /"+r.PathValue("version"), "", false))
			return
		}
		s.Serve(w, r, v)
	})
	mux.HandleFunc("GET /sim/stats", s.ServeStats)
	return mux
}

var (
	versionRE  = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	leadIDRE   = regexp.MustCompile(`^[0-9]{15,16}$`)
	sha256RE   = regexp.MustCompile(`^[a-f0-9]{64}$`)
	currencyRE = regexp.MustCompile(`^[A-Za-z]{3}$`)
)

type payload struct {
	Data          []json.RawMessage `json:"data"`
	TestEventCode string            `json:"test_event_code"`
	AccessToken   string            `json:"access_token"`
}

type event struct {
	EventName    string                     `json:"event_name"`
	EventTime    json.Number                `json:"event_time"`
	EventID      string                     `json:"event_id"`
	ActionSource string                     `json:"action_source"`
	UserData     map[string]json.RawMessage `json:"user_data"`
	CustomData   map[string]json.RawMessage `json:"custom_data"`
}

// readPayload accepts the JSON body the SDKs send and the form encoding of
// Meta's curl examples (-F data=[...] -F access_token=...).
func readPayload(r *http.Request, body []byte) (payload, error) {
	var p payload
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil {
			return p, err
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, err
		}
		if d := form.Get("data"); d != "" {
			dec := json.NewDecoder(strings.NewReader(d))
			dec.UseNumber()
			if err := dec.Decode(&p.Data); err != nil {
				return p, err
			}
		}
		p.TestEventCode, p.AccessToken = form.Get("test_event_code"), form.Get("access_token")
	}
	if p.AccessToken == "" {
		p.AccessToken = r.URL.Query().Get("access_token")
	}
	if p.AccessToken == "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			p.AccessToken = tok
		}
	}
	return p, nil
}

// process is the simulator's simcore.Vendor.Process.
func (s *Server) process(r *http.Request, body []byte, rejectEvery int) (int, http.Header, any) {
	p, err := readPayload(r, body)
	if err != nil {
		s.CountRejected()
		return http.StatusBadRequest, nil, graphError(100, "Invalid parameter", "The data parameter is not valid JSON: "+err.Error(), false)
	}
	switch s.TokenState(strings.TrimSpace(p.AccessToken)) {
	case simcore.TokenMissing:
		s.CountRejected()
		return http.StatusBadRequest, nil, graphError(104, "An access token is required to request this resource.", "", false)
	case simcore.TokenRevoked:
		s.CountRejected()
		return http.StatusBadRequest, nil, graphError(190, "Error validating access token: The session has been invalidated.", "", false)
	case simcore.TokenUnknown:
		s.CountRejected()
		return http.StatusBadRequest, nil, graphError(190, "Invalid OAuth access token - Cannot parse access token", "", false)
	}
	if dataset := r.PathValue("dataset"); !s.knows(dataset) {
		// The Graph API's answer for an id that does not exist or that
		// the token may not use, code 100 subcode 33 (as Meta pixel and
		// Graph users quote it: segment-docs pull request 4575,
		// jstolpe/blog_code issue 4), for the whole request.
		s.CountRejected()
		e := graphError(100, "Unsupported post request. Object with ID '"+dataset+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", "", false)
		e.Error.Type, e.Error.Subcode = "GraphMethodException", 33
		return http.StatusBadRequest, nil, e
	}
	now := s.Now()
	events, bad := validate(p.Data, now)
	if bad == "" && rejectEvery > 0 {
		// Meta has no partial success: one rejected event rejects the batch.
		bad = "Event 0: rejected (injected partial failure)."
	}
	if bad != "" {
		s.CountRejected()
		return http.StatusBadRequest, nil, graphError(100, "Invalid parameter", bad, false)
	}
	dataset := r.PathValue("dataset")
	s.Update(func(l *simcore.Ledger) {
		for i, e := range events {
			rec := Record{ReceivedAt: now, Event: p.Data[i]}
			if e.EventID != "" {
				rec.Key = dataset + "/" + e.EventName + "/" + e.EventID
			}
			switch at, seen := l.LastEffect(rec.Key); {
			case p.TestEventCode != "":
				rec.Reason = "test_event_code"
			case rec.Key != "" && seen && now.Sub(at) < DedupWindow:
				rec.Reason = "deduplicated"
			default:
				rec.Effect = true
			}
			l.Record(rec)
		}
	})
	return http.StatusOK, nil, map[string]any{"events_received": len(events), "messages": []string{}, "fbtrace_id": traceID()}
}

// validate checks every event and returns the first problem as Meta's
// error_user_msg would name it, or "" when the batch is valid.
func validate(data []json.RawMessage, now time.Time) ([]event, string) {
	if len(data) == 0 {
		return nil, "The parameter data is required."
	}
	if len(data) > MaxEvents {
		return nil, fmt.Sprintf("data: at most %d events per request, got %d.", MaxEvents, len(data))
	}
	events := make([]event, len(data))
	for i, raw := range data {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		e := &events[i]
		if err := dec.Decode(e); err != nil {
			return nil, fmt.Sprintf("Event %d: not an object of the expected shape: %v.", i, err)
		}
		if msg := checkEvent(e, now); msg != "" {
			return nil, fmt.Sprintf("Event %d: %s", i, msg)
		}
	}
	return events, ""
}

func checkEvent(e *event, now time.Time) string {
	if strings.TrimSpace(e.EventName) == "" {
		return "event_name is required."
	}
	sec, err := strconv.ParseInt(e.EventTime.String(), 10, 64)
	switch {
	case e.EventTime == "":
		return "event_time is required."
	case err != nil:
		return "event_time must be a Unix timestamp in seconds."
	case time.Unix(sec, 0).After(now):
		return "event_time is in the future."
	case now.Sub(time.Unix(sec, 0)) > MaxEventAge:
		return "event_time is more than 7 days in the past."
	}
	if e.ActionSource != "system_generated" {
		return "action_source must be system_generated for Conversion Leads events."
	}
	if e.CustomData == nil {
		return "custom_data is required with event_source and lead_event_source."
	}
	if str(e.CustomData["event_source"]) != "crm" {
		return "custom_data.event_source must be crm."
	}
	if strings.TrimSpace(str(e.CustomData["lead_event_source"])) == "" {
		return "custom_data.lead_event_source is required."
	}
	if v, ok := e.CustomData["value"]; ok {
		var n json.Number
		if json.Unmarshal(v, &n) != nil || n.String() == "" || strings.HasPrefix(n.String(), "-") {
			return "custom_data.value must be a non-negative number."
		}
		if !currencyRE.MatchString(str(e.CustomData["currency"])) {
			return "custom_data.currency must be an ISO 4217 code when value is set."
		}
	}
	if e.UserData == nil {
		return "user_data is required."
	}
	matched := false
	if raw, ok := e.UserData["lead_id"]; ok {
		id := strings.Trim(string(raw), `"`)
		if !leadIDRE.MatchString(id) {
			return "user_data.lead_id must be the 15 or 16-digit lead id, not hashed."
		}
		matched = true
	}
	for _, k := range []string{"em", "ph"} {
		raw, ok := e.UserData[k]
		if !ok {
			continue
		}
		vals, okShape := strs(raw)
		if !okShape || len(vals) == 0 {
			return "user_data." + k + " must be a string or an array of strings."
		}
		for _, v := range vals {
			if !sha256RE.MatchString(v) {
				return "user_data." + k + " must be SHA-256 hashed (64 lower-case hex characters)."
			}
		}
		matched = true
	}
	if !matched {
		return "user_data needs lead_id or hashed em or ph to match a lead."
	}
	return ""
}

func str(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

func strs(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, true
	}
	return nil, false
}

// graphErrorBody is the Graph API error object.
type graphErrorBody struct {
	Error struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		Subcode        int    `json:"error_subcode,omitempty"`
		IsTransient    bool   `json:"is_transient"`
		ErrorUserTitle string `json:"error_user_title,omitempty"`
		ErrorUserMsg   string `json:"error_user_msg,omitempty"`
		FbtraceID      string `json:"fbtrace_id"`
	} `json:"error"`
}

func graphError(code int, msg, userMsg string, transient bool) graphErrorBody {
	var e graphErrorBody
	e.Error.Message, e.Error.Type, e.Error.Code, e.Error.IsTransient = msg, "OAuthException", code, transient
	if userMsg != "" {
		e.Error.ErrorUserTitle, e.Error.ErrorUserMsg = "Invalid event", userMsg
	}
	e.Error.FbtraceID = traceID()
	return e
}

// throttle is the simulator's simcore.Vendor.Throttle.
func (s *Server) throttle(w http.ResponseWriter, injected bool) {
	w.Header().Set("X-App-Usage", `{"call_count":100,"total_cputime":100,"total_time":100}`)
	status := http.StatusBadRequest
	if injected {
		status = http.StatusTooManyRequests
	}
	simcore.WriteJSON(w, status, graphError(4, "(#4) Application request limit reached", "", true))
}

// serverError is the simulator's simcore.Vendor.ServerError: code 1 "An unknown error occurred" or, for
// 503, code 2 "Service temporarily unavailable", both transient.
func (s *Server) serverError(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		simcore.WriteJSON(w, status, graphError(2, "Service temporarily unavailable", "", true))
		return
	}
	simcore.WriteJSON(w, status, graphError(1, "An unknown error occurred", "", true))
}

func traceID() string {
	var b [8]byte
	rand.Read(b[:])
	return "A" + hex.EncodeToString(b[:])
}
