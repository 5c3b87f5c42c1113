// Package linkedinsim owns a local stand-in for LinkedIn's Conversions API:
// POST /rest/conversionEvents, one event or a BATCH_CREATE of many. It
// judges payloads by LinkedIn's published contract, independently of SAM's
// client, and counts every dedup key (conversion rule URN, eventId): how
// often it arrived and how often it took effect.
//
// The contract, with its sources (LinkedIn Marketing API docs on
// learn.microsoft.com, "Conversions API"; the request example mirrored in
// api-evangelist/linkedin json-schema StreamMultipleConversionEventsRequest;
// the per-element response StreamMultipleConversionEventsResponse200):
//   - Headers: Authorization Bearer, LinkedIn-Version (YYYYMM) and
//     X-Restli-Protocol-Version: 2.0.0; a batch adds
//     X-RestLi-Method: BATCH_CREATE and sends {"elements":[...]}.
//   - Element: conversion "urn:lla:llaPartnerConversion:{id}";
//     conversionHappenedAt epoch milliseconds, within the last 90 days
//     (older events are rejected); conversionValue {currencyCode, amount
//     as a string}; user.userIds required (SHA256_EMAIL is the SHA-256 hex
//     of the email, LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID the li_fat_id),
//     user.userInfo optional; eventId for dedup, at most 64 characters
//     (Salesforce Data Cloud's LinkedIn connector, attribute table).
//   - Batches: up to 5,000 elements (LinkedIn's limit as partners document
//     it). A single create answers 201 with no body; a batch answers 200
//     with one {"status":...} per element in order, failed elements
//     carrying an error, so one request can partly fail.
//   - Errors: {"status","serviceErrorCode","code","message"}.
//   - Rate: LinkedIn shows an application's limits only in its developer
//     portal; partners document 600 requests a minute (Salesforce Data
//     Cloud LinkedIn connector). DefaultLimit uses that figure. Throttling
//     answers 429; LinkedIn documents no Retry-After, so none is sent
//     except for an injected 429.
//   - Tokens: the refresh-token exchange at /oauth/v2/accessToken, and
//     401 for an access token that has ended, was revoked or was never
//     issued (token.go has the contract).
//   - Permissions: a call succeeds when the token has the rw_conversions
//     scope and the member who authorized it holds ACCOUNT_BILLING_ADMIN,
//     ACCOUNT_MANAGER, CAMPAIGN_MANAGER or CREATIVE_MANAGER on the ad
//     account (Conversions API docs, Permissions; Authorize). Otherwise
//     the whole request is refused with LinkedIn's permission error, 403
//     serviceErrorCode 100 ACCESS_DENIED "Not enough permissions to
//     access: <resource>.<method>.<version>", the shape versioned
//     Marketing APIs answer (quoted in public integrations' code for other
//     resources). Unconfirmed: that a missing role gives the same answer
//     as a missing scope, and that this comes after the header checks.
//   - Dedup window: not found in LinkedIn's material. A finite window is the
//     stricter assumption: DedupWindow, 48 hours by default, configurable.
//
// Tests use Server.Handler with net/http/httptest; `sam run` in local mode
// uses Start, which persists every judged event to an NDJSON file and
// reloads it on start. It imports only the standard library and
// tests/simcore, which owns what the destination simulators share.
package linkedinsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
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
	// MaxElements is the BATCH_CREATE limit.
	MaxElements = 5000
	// MaxEventAge is how old conversionHappenedAt may be.
	MaxEventAge = 90 * 24 * time.Hour
	// MaxEventID is the longest eventId.
	MaxEventID = 64
)

// DefaultLimit is 600 requests a minute, with a second's worth of burst.
var DefaultLimit = Limit{Rate: 10, Burst: 10}

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	*simcore.Core
	// DedupWindow is how long an eventId deduplicates per conversion rule.
	DedupWindow time.Duration
	// AccessTokenTTL is the expires_in of the access tokens the token
	// endpoint issues; DefaultAccessTokenTTL from New. Set it before the
	// simulator serves.
	AccessTokenTTL time.Duration

	tokens tokens
}

// New returns a simulator with DefaultLimit. When path is not empty, records
// already in the NDJSON file at path are reloaded and new ones appended.
func New(path string) (*Server, error) {
	c, err := simcore.New(DefaultLimit, path)
	if err != nil {
		return nil, fmt.Errorf("linkedinsim: %w", err)
	}
	return &Server{Core: c, DedupWindow: 48 * time.Hour, AccessTokenTTL: DefaultAccessTokenTTL, tokens: newTokens()}, nil
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
		return nil, fmt.Errorf("linkedinsim: %w", err)
	}
	return s, nil
}

// Handler serves /rest/conversionEvents, the token endpoint
// /oauth/v2/accessToken and GET /sim/stats.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	v := simcore.Vendor{Process: s.process, Throttle: s.throttle, ServerError: s.serverError}
	mux.HandleFunc("POST /rest/conversionEvents", func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || strings.TrimSpace(tok) == "" {
			simcore.WriteJSON(w, http.StatusUnauthorized, liError(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"))
			return
		}
		if !s.checkAccess(w, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
			return
		}
		if !versionRE.MatchString(r.Header.Get("LinkedIn-Version")) {
			simcore.WriteJSON(w, http.StatusBadRequest, liError(400, 0, "VERSION_MISSING", "A version must be present. Please specify a version by adding the LinkedIn-Version header."))
			return
		}
		if r.Header.Get("X-Restli-Protocol-Version") != "2.0.0" {
			simcore.WriteJSON(w, http.StatusBadRequest, liError(400, 0, "INVALID_PROTOCOL_VERSION", "X-Restli-Protocol-Version must be 2.0.0."))
			return
		}
		if !s.permitted(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
			method := "CREATE"
			if strings.EqualFold(r.Header.Get("X-RestLi-Method"), "BATCH_CREATE") {
				method = "BATCH_CREATE"
			}
			simcore.WriteJSON(w, http.StatusForbidden, liError(403, 100, "ACCESS_DENIED",
				"Not enough permissions to access: conversionEvents."+method+"."+r.Header.Get("LinkedIn-Version")))
			return
		}
		s.Serve(w, r, v)
	})
	mux.HandleFunc("POST "+TokenPath, s.serveToken)
	mux.HandleFunc("GET /sim/stats", s.ServeStats)
	return mux
}

var (
	versionRE    = regexp.MustCompile(`^20[0-9]{2}(0[1-9]|1[0-2])$`)
	conversionRE = regexp.MustCompile(`^urn:lla:llaPartnerConversion:[0-9]+$`)
	sha256RE     = regexp.MustCompile(`^[a-f0-9]{64}$`)
	currencyRE   = regexp.MustCompile(`^[A-Z]{3}$`)
	amountRE     = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	idTypes      = map[string]bool{"SHA256_EMAIL": true, "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID": true, "ACXIOM_ID": true, "ORACLE_MOAT_ID": true}
)

type element struct {
	Conversion           string `json:"conversion"`
	ConversionHappenedAt *int64 `json:"conversionHappenedAt"`
	ConversionValue      *struct {
		CurrencyCode string `json:"currencyCode"`
		Amount       string `json:"amount"`
	} `json:"conversionValue"`
	User *struct {
		UserIDs *[]struct {
			IDType  string `json:"idType"`
			IDValue string `json:"idValue"`
		} `json:"userIds"`
		UserInfo *struct {
			FirstName   string `json:"firstName"`
			LastName    string `json:"lastName"`
			Title       string `json:"title"`
			CompanyName string `json:"companyName"`
			CountryCode string `json:"countryCode"`
		} `json:"userInfo"`
	} `json:"user"`
	EventID string `json:"eventId"`
}

// elementStatus is one entry of a BATCH_CREATE response.
type elementStatus struct {
	Status int      `json:"status"`
	Error  *liBody  `json:"error,omitempty"`
	raw    []byte   // the element, for the record
	parsed *element // nil when it did not parse
}

// process is the simulator's simcore.Vendor.Process.
func (s *Server) process(r *http.Request, body []byte, rejectEvery int) (int, http.Header, any) {
	batch := strings.EqualFold(r.Header.Get("X-RestLi-Method"), "BATCH_CREATE")
	var raws []json.RawMessage
	if batch {
		var b struct {
			Elements []json.RawMessage `json:"elements"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.Elements == nil {
			s.CountRejected()
			return http.StatusBadRequest, nil, liError(400, 0, "INVALID_BODY", "A BATCH_CREATE body is {\"elements\":[...]}.")
		}
		if len(b.Elements) > MaxElements {
			s.CountRejected()
			return http.StatusBadRequest, nil, liError(400, 0, "TOO_MANY_ELEMENTS", fmt.Sprintf("At most %d elements per batch, got %d.", MaxElements, len(b.Elements)))
		}
		raws = b.Elements
	} else {
		raws = []json.RawMessage{body}
	}
	now := s.Now()
	statuses := make([]elementStatus, len(raws))
	for i, raw := range raws {
		st := &statuses[i]
		st.raw = raw
		var e element
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			st.Status, st.Error = 400, ptr(liError(400, 0, "INVALID_BODY", "The element does not parse: "+err.Error()))
			continue
		}
		st.parsed = &e
		if msg := checkElement(&e, now); msg != "" {
			st.Status, st.Error = 422, ptr(liError(422, 0, "UNPROCESSABLE_ENTITY", msg))
			continue
		}
		if rejectEvery > 0 && i%rejectEvery == 0 {
			st.Status, st.Error = 500, ptr(liError(500, 0, "INTERNAL_SERVER_ERROR", "Internal Server Error"))
			continue
		}
		st.Status = 201
	}
	s.Update(func(l *simcore.Ledger) {
		for _, st := range statuses {
			if st.parsed == nil {
				continue
			}
			rec := Record{ReceivedAt: now, Event: st.raw}
			if st.parsed.EventID != "" {
				rec.Key = st.parsed.Conversion + "/" + st.parsed.EventID
			}
			at, seen := l.LastEffect(rec.Key)
			switch {
			case st.Status != 201:
				rec.Reason = st.Error.Code
			case rec.Key != "" && seen && now.Sub(at) < s.DedupWindow:
				// Accepted, but deduplicated: LinkedIn answers 201 either way.
				rec.Reason = "deduplicated"
			default:
				rec.Effect = true
			}
			l.Record(rec)
		}
	})
	if !batch {
		if statuses[0].Status != 201 {
			if statuses[0].parsed == nil || statuses[0].Status == 422 {
				s.CountRejected()
			}
			return statuses[0].Status, nil, statuses[0].Error
		}
		return http.StatusCreated, nil, nil
	}
	return http.StatusOK, nil, map[string]any{"elements": statuses}
}

func ptr[T any](v T) *T { return &v }

func checkElement(e *element, now time.Time) string {
	if !conversionRE.MatchString(e.Conversion) {
		return "conversion must be a urn:lla:llaPartnerConversion URN."
	}
	if e.ConversionHappenedAt == nil {
		return "conversionHappenedAt is required."
	}
	at := time.UnixMilli(*e.ConversionHappenedAt)
	switch {
	case *e.ConversionHappenedAt < 1e12:
		// Seconds sent for milliseconds land in 1970 and would be "too old";
		// name the likelier mistake.
		return "conversionHappenedAt must be epoch milliseconds."
	case at.After(now):
		return "conversionHappenedAt is in the future."
	case now.Sub(at) > MaxEventAge:
		return "conversionHappenedAt is more than 90 days in the past."
	}
	if v := e.ConversionValue; v != nil {
		if !currencyRE.MatchString(v.CurrencyCode) || !amountRE.MatchString(v.Amount) {
			return "conversionValue needs an ISO 4217 currencyCode and a decimal amount string."
		}
	}
	if len(e.EventID) > MaxEventID {
		return fmt.Sprintf("eventId is longer than %d characters.", MaxEventID)
	}
	if e.User == nil || e.User.UserIDs == nil {
		return "user.userIds is required."
	}
	for _, id := range *e.User.UserIDs {
		if !idTypes[id.IDType] {
			return "user.userIds: unknown idType " + id.IDType + "."
		}
		if id.IDType == "SHA256_EMAIL" && !sha256RE.MatchString(id.IDValue) {
			return "user.userIds: SHA256_EMAIL must be a lower-case hex SHA-256."
		}
		if id.IDValue == "" {
			return "user.userIds: idValue is required."
		}
	}
	info := e.User.UserInfo
	if len(*e.User.UserIDs) == 0 && (info == nil || info.FirstName == "" || info.LastName == "") {
		return "user needs at least one userId, or userInfo with firstName and lastName."
	}
	return ""
}

// liBody is LinkedIn's error body.
type liBody struct {
	Status           int    `json:"status"`
	ServiceErrorCode int    `json:"serviceErrorCode,omitempty"`
	Code             string `json:"code,omitempty"`
	Message          string `json:"message"`
}

func liError(status, service int, code, msg string) liBody {
	return liBody{Status: status, ServiceErrorCode: service, Code: code, Message: msg}
}

// throttle is the simulator's simcore.Vendor.Throttle; it answers the same
// whether the ceiling or an injected fault throttled.
func (s *Server) throttle(w http.ResponseWriter, injected bool) {
	simcore.WriteJSON(w, http.StatusTooManyRequests, liError(429, 101, "TOO_MANY_REQUESTS", "Resource level throttle APPLICATION MINUTE limit for calls to this resource is reached."))
}

// serverError is the simulator's simcore.Vendor.ServerError.
func (s *Server) serverError(w http.ResponseWriter, status int) {
	simcore.WriteJSON(w, status, liError(status, 0, "", http.StatusText(status)))
}
