// Package googleadssim owns a local stand-in for Google's Data Manager API
// as Google Ads offline conversion import uses it: POST /v1/events:ingest and
// GET /v1/requestStatus:retrieve. It judges requests by the published
// contract, independently of SAM's client, and counts every dedup key
// (operating account, conversion action, transactionId): how often it
// arrived and how often it took effect.
//
// The contract, with its sources:
//   - Shapes and field names: the discovery document shipped with
//     google.golang.org/api (datamanager/v1/datamanager-api.json, revision
//     20260605): IngestEventsRequest, Event, Destination, UserData,
//     IngestEventsResponse (only requestId), RetrieveRequestStatusResponse.
//   - Fast fail: one invalid record fails the whole request and nothing in
//     it is processed (developers.google.com/data-manager/api/devguides/
//     concepts/understand-errors, "Fast-fail model"). Errors are
//     google.rpc.Status JSON with ErrorInfo (domain
//     datamanager.googleapis.com, an ErrorReason) and BadRequest details.
//   - Per-record outcomes after a request is accepted are not in the ingest
//     response: they appear in requestStatus:retrieve as
//     SUCCESS / PARTIAL_SUCCESS / FAILED with errorInfo.errorCounts by
//     ProcessingErrorReason (discovery doc, RequestStatusPerDestination).
//     That is where duplicates, old events, denied consent and injected
//     partial failures show.
//   - Limits (developers.google.com/data-manager/api/devguides/limits):
//     2,000 events and 10 destinations a request, 10 user identifiers an
//     event; 300 requests a minute a project, past which RESOURCE_EXHAUSTED
//     and HTTP 429. Google documents no Retry-After for it, so none is sent.
//   - Credentials: the simulator honours only the tokens a test registers
//     (AllowToken) and not once revoked (RevokeToken), as Google honours
//     only tokens it issued and still stands by. A refusal is 401 with
//     google.rpc.Status UNAUTHENTICATED and an ErrorInfo of domain
//     googleapis.com (google/api/error_reason.proto: CREDENTIALS_MISSING
//     when no token came, ACCESS_TOKEN_EXPIRED for one Google no longer
//     honours, with metadata service and method; the message is the one
//     users quote from such 401s). Google does not tell a revoked token
//     from an expired or a foreign one, so neither does the simulator.
//   - Account access: the credentials' Google Account must be able to write
//     to each destination's operatingAccount, directly or through the
//     destination's loginAccount, which then needs write access to the
//     operating account, as its manager for example (discovery doc,
//     Destination.loginAccount; developers.google.com/data-manager/api/
//     devguides/concepts/destinations, "Direct access" and "Manager
//     access"). The simulator does not model the account hierarchy: a test
//     lists the accounts a token reaches (GrantAccess, RevokeAccess) and
//     every account a destination names must be among them; a token never
//     granted anything reaches every account. A refusal is 403
//     google.rpc.Status PERMISSION_DENIED with an ErrorInfo of domain
//     datamanager.googleapis.com and ErrorReason PERMISSION_DENIED, which
//     the ErrorReason reference (and googleapis google/ads/datamanager/v1/
//     error.proto) gives for a missing permission and for a resource not
//     found alike, so an account that does not exist is refused the same
//     way. Order: the 401 first (google.rpc.Code keeps PERMISSION_DENIED
//     for callers it could identify), then the project quota's 429 (judged
//     before any request content; reasoned, not documented), then this
//     check, then validation: AIP-211 has services check authorization
//     before they validate a request, and google.rpc.Code says
//     PERMISSION_DENIED implies nothing of the request's validity. Nothing
//     of a refused request is processed.
//   - API front end: a token minted without the datamanager scope
//     (SetScopes), and every token while the API is disabled in the
//     credentials' project (DisableAPI), are refused with 403 after the
//     401 and before anything else (Server.apiAllowed has the bodies and
//     their provenance).
//
// Tests use Server.Handler with net/http/httptest; `sam run` in local mode
// uses Start, which also persists every judged event to an NDJSON file and
// reloads it on start. It imports only the standard library and
// tests/simcore, which owns what the destination simulators share.
package googleadssim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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

// Limits from developers.google.com/data-manager/api/devguides/limits and
// the discovery document (IngestEventsRequest.events: "At most 2000").
const (
	MaxEvents          = 2000
	MaxDestinations    = 10
	MaxUserIdentifiers = 10
)

// DefaultLimit is the documented project quota for IngestionService
// mutations: 300 requests per minute (limits page, "Project limits"). The
// bucket holds one second's worth, which is stricter than a per-minute
// window and never below the documented average.
var DefaultLimit = Limit{Rate: 300.0 / 60, Burst: 5}

// DefaultMaxEventAge is how old a conversion may be. Google Ads accepts
// imported conversions within the conversion action's click-through window,
// at most 90 days (Google Ads API ConversionUploadError.EXPIRED_EVENT: "its
// click occurred before this conversion's click-through window"). The
// simulator cannot know the click time, so it applies 90 days to the event
// time itself; an older event is reported as
// PROCESSING_ERROR_REASON_EVENT_TOO_OLD.
const DefaultMaxEventAge = 90 * 24 * time.Hour

// MinClickAge is how old a click must be before a conversion for it is
// taken: the Google Ads API's ConversionUploadError.TOO_RECENT_EVENT says
// the click "occurred less than 6 hours ago, please retry after 6 hours
// have passed"; the Data Manager API reports it as
// PROCESSING_ERROR_REASON_TOO_RECENT_CLICK ("The click occurred too
// recently", discovery document).
const MinClickAge = 6 * time.Hour

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	*simcore.Core
	// Tokens are the bearer tokens the simulator honours: AllowToken,
	// RevokeToken.
	simcore.Tokens
	statusMu    sync.Mutex
	statuses    map[string]statusResponse
	MaxEventAge time.Duration
	// clicks are the click times the simulator knows (SetClick), by gclid;
	// converted are the (destination, gclid, conversion time) that took
	// effect, which PROCESSING_ERROR_REASON_DUPLICATE_GCLID refuses again
	// under another transactionId ("A conversion with the same GCLID and
	// conversion time already exists in the system").
	clickMu   sync.Mutex
	clicks    map[string]time.Time
	converted map[string]bool
	// reads is the ceiling of requestStatus reads: the limits page counts
	// IngestionService reads apart from mutations, also 300 a minute.
	readMu sync.Mutex
	reads  simcore.Bucket
	// access is the accounts each token reaches: GrantAccess,
	// RevokeAccess. A token not in it reaches every account.
	accessMu sync.Mutex
	access   map[string]*reach
	// disabledIn is the Google Cloud project the Data Manager API is
	// disabled in (DisableAPI), "" while it is enabled; scopes are the
	// OAuth scopes a token was minted with, for the tokens a test limited
	// (SetScopes).
	disabledIn string
	scopes     map[string][]string
}

// Scope is the OAuth scope every Data Manager method needs (discovery
// document, "scopes" of events.ingest and requestStatus.retrieve).
const Scope = "https://www.googleapis.com/auth/datamanager"

// DisableAPI makes the Data Manager API disabled in project, the Google
// Cloud project the credentials use, until EnableAPI: every request is
// refused with 403 SERVICE_DISABLED, as when nobody enabled the API there.
func (s *Server) DisableAPI(project string) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	s.disabledIn = project
}

// EnableAPI enables the Data Manager API again.
func (s *Server) EnableAPI() { s.DisableAPI("") }

// SetScopes says tok was minted with scopes only. A token without Scope
// is refused with 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT. Tokens never set
// have every scope.
func (s *Server) SetScopes(tok string, scopes ...string) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	if s.scopes == nil {
		s.scopes = map[string][]string{}
	}
	s.scopes[tok] = scopes
}

// reach is the accounts one token's Google Account can write to.
type reach struct {
	granted map[string]bool // nil: every account not revoked
	revoked map[string]bool
}

// GrantAccess lets tok write to accounts (Google Ads customer ids): its
// Google Account is a user of them, or of a manager account that manages
// them. The first grant limits tok to the accounts granted to it; before
// any, it reaches every account, so tests and `sam run` that leave
// permissions alone see no refusal.
func (s *Server) GrantAccess(tok string, accounts ...string) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	r := s.reachOf(tok)
	if r.granted == nil {
		r.granted = map[string]bool{}
	}
	for _, a := range accounts {
		r.granted[a] = true
		delete(r.revoked, a)
	}
}

// RevokeAccess takes accounts from tok, as when its service account or user
// is removed from a Google Ads account, or a manager account stops
// managing it. A token never granted anything keeps every other account.
func (s *Server) RevokeAccess(tok string, accounts ...string) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	r := s.reachOf(tok)
	for _, a := range accounts {
		delete(r.granted, a)
		r.revoked[a] = true
	}
}

// reachOf returns tok's reach, creating it; s.accessMu is held.
func (s *Server) reachOf(tok string) *reach {
	if s.access == nil {
		s.access = map[string]*reach{}
	}
	r, ok := s.access[tok]
	if !ok {
		r = &reach{revoked: map[string]bool{}}
		s.access[tok] = r
	}
	return r
}

// permitted reports whether tok reaches every account the destinations
// name. An account without an id is left to validation
// (REQUIRED_FIELD_MISSING).
func (s *Server) permitted(tok string, ds []destination) bool {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	r, ok := s.access[tok]
	if !ok {
		return true
	}
	for _, d := range ds {
		for _, a := range []*productAccount{d.OperatingAccount, d.LoginAccount, d.LinkedAccount} {
			if a == nil || a.AccountID == "" {
				continue
			}
			if r.revoked[a.AccountID] || r.granted != nil && !r.granted[a.AccountID] {
				return false
			}
		}
	}
	return true
}

// New returns a simulator with the documented ceiling. When path is not
// empty, records already in the NDJSON file at path are reloaded and new
// ones appended.
func New(path string) (*Server, error) {
	c, err := simcore.New(DefaultLimit, path)
	if err != nil {
		return nil, fmt.Errorf("googleadssim: %w", err)
	}
	return &Server{Core: c, statuses: map[string]statusResponse{}, MaxEventAge: DefaultMaxEventAge,
		reads: simcore.NewBucket(DefaultLimit), clicks: map[string]time.Time{}, converted: map[string]bool{}}, nil
}

// SetClick tells the simulator when the click of gclid happened, so that a
// conversion for it within MinClickAge is refused as too recent. A click
// it does not know passes (it cannot tell a click's time from its id).
func (s *Server) SetClick(gclid string, at time.Time) {
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	s.clicks[gclid] = at
}

// Start listens on addr (for example "127.0.0.1:0") and serves until ctx
// ends or Close is called, persisting to path when it is not empty.
func Start(ctx context.Context, addr, path string) (*Server, error) {
	s, err := New(path)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(ctx, addr, s.Handler()); err != nil {
		s.Close()
		return nil, fmt.Errorf("googleadssim: %w", err)
	}
	return s, nil
}

// Handler serves the Data Manager paths (as the generated client calls
// them: basePath "https://datamanager.googleapis.com/", path
// "v1/events:ingest") and GET /sim/stats for people running SAM locally.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	v := simcore.Vendor{Process: s.process, Throttle: s.throttle, ServerError: s.serverError}
	mux.HandleFunc("POST /v1/events:ingest", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(w, r, "IngestEvents") {
			return
		}
		s.Serve(w, r, v)
	})
	mux.HandleFunc("GET /v1/requestStatus:retrieve", s.retrieve)
	mux.HandleFunc("GET /sim/stats", s.ServeStats)
	return mux
}

// authorized answers 401 and reports false unless the request carries an
// OAuth bearer token the simulator honours; every Data Manager method
// needs one (discovery doc, "scopes"). method names the RPC in the
// ErrorInfo's metadata, as Google's 401s do.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, method string) bool {
	var msg, reason string
	switch s.TokenState(bearer(r)) {
	case simcore.TokenValid:
		return s.apiAllowed(w, bearer(r), method)
	case simcore.TokenMissing:
		msg, reason = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "CREDENTIALS_MISSING"
	default:
		msg, reason = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "ACCESS_TOKEN_EXPIRED"
	}
	_, _, body := statusBody(http.StatusUnauthorized, msg, "", nil)
	e := body.(googleError)
	e.Error.Details = []map[string]any{{
		"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
		"metadata": map[string]string{"service": "datamanager.googleapis.com", "method": "google.ads.datamanager.v1.IngestionService." + method},
	}}
	simcore.WriteJSON(w, http.StatusUnauthorized, e)
	return false
}

// apiAllowed answers 403 and reports false when tok's token lacks the
// API's scope or the API is disabled. Both are Google's API front end
// refusing the call before the service sees it, for every method and
// account alike (google/api/error_reason.proto, domain googleapis.com):
//   - ACCESS_TOKEN_SCOPE_INSUFFICIENT with metadata service and method;
//     the message is the one users quote from such 403s.
//   - SERVICE_DISABLED with metadata consumer ("projects/" and the
//     project), service, serviceTitle (the discovery document's title),
//     containerInfo and activationUrl, and a google.rpc.Help link to the
//     same page, as real refusals quoted in public issues show them
//     (google-gemini/gemini-cli#1343); the message has their form.
//
// Unconfirmed: the order of the two (scope first here: it is part of the
// token's authorization), and that both come before the project's quota.
func (s *Server) apiAllowed(w http.ResponseWriter, tok, method string) bool {
	s.accessMu.Lock()
	scopes, limited := s.scopes[tok]
	project := s.disabledIn
	s.accessMu.Unlock()
	service := "datamanager.googleapis.com"
	if limited && !slices.Contains(scopes, Scope) {
		_, _, body := statusBody(http.StatusForbidden, "Request had insufficient authentication scopes.", "", nil)
		e := body.(googleError)
		e.Error.Details = []map[string]any{{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
			"metadata": map[string]string{"service": service, "method": "google.ads.datamanager.v1.IngestionService." + method},
		}}
		simcore.WriteJSON(w, http.StatusForbidden, e)
		return false
	}
	if project != "" {
		url := "https://console.developers.google.com/apis/api/" + service + "/overview?project=" + project
		msg := "Data Manager API has not been used in project " + project + " before or it is disabled. Enable it by visiting " + url +
			" then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
		_, _, body := statusBody(http.StatusForbidden, msg, "", nil)
		e := body.(googleError)
		e.Error.Details = []map[string]any{{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
			"metadata": map[string]string{"consumer": "projects/" + project, "service": service, "serviceTitle": "Data Manager API",
				"containerInfo": project, "activationUrl": url},
		}, {
			"@type": "type.googleapis.com/google.rpc.Help",
			"links": []map[string]string{{"description": "Google developers console API activation", "url": url}},
		}}
		simcore.WriteJSON(w, http.StatusForbidden, e)
		return false
	}
	return true
}

// bearer is the OAuth access token r carries, or "".
func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(tok)
}

// Request shapes, field for field from the discovery document. Fields the
// simulator does not judge are kept raw so that unknown names can still be
// refused (the JSON-to-proto mapping rejects unknown fields with
// INVALID_ARGUMENT).
type (
	ingestRequest struct {
		Consent        *consent        `json:"consent"`
		Destinations   []destination   `json:"destinations"`
		Encoding       string          `json:"encoding"`
		EncryptionInfo json.RawMessage `json:"encryptionInfo"`
		Events         []event         `json:"events"`
		ValidateOnly   bool            `json:"validateOnly"`
	}
	consent struct {
		AdPersonalization string `json:"adPersonalization"`
		AdUserData        string `json:"adUserData"`
	}
	destination struct {
		LinkedAccount        *productAccount `json:"linkedAccount"`
		LoginAccount         *productAccount `json:"loginAccount"`
		OperatingAccount     *productAccount `json:"operatingAccount"`
		ProductDestinationID string          `json:"productDestinationId"`
		Reference            string          `json:"reference"`
	}
	productAccount struct {
		AccountID   string `json:"accountId"`
		AccountType string `json:"accountType"`
		Product     string `json:"product"`
	}
	event struct {
		AdIdentifiers             *adIdentifiers  `json:"adIdentifiers"`
		AdditionalEventParameters json.RawMessage `json:"additionalEventParameters"`
		AppInstanceID             string          `json:"appInstanceId"`
		CartData                  json.RawMessage `json:"cartData"`
		ClientID                  string          `json:"clientId"`
		Consent                   *consent        `json:"consent"`
		ConversionCount           *float64        `json:"conversionCount"`
		ConversionValue           *float64        `json:"conversionValue"`
		Currency                  string          `json:"currency"`
		CustomVariables           json.RawMessage `json:"customVariables"`
		DestinationReferences     []string        `json:"destinationReferences"`
		EventDeviceInfo           json.RawMessage `json:"eventDeviceInfo"`
		EventLocation             json.RawMessage `json:"eventLocation"`
		EventName                 string          `json:"eventName"`
		EventSource               string          `json:"eventSource"`
		EventTimestamp            string          `json:"eventTimestamp"`
		ExperimentalFields        json.RawMessage `json:"experimentalFields"`
		LastUpdatedTimestamp      string          `json:"lastUpdatedTimestamp"`
		ThirdPartyUserData        *userData       `json:"thirdPartyUserData"`
		TransactionID             string          `json:"transactionId"`
		UserData                  *userData       `json:"userData"`
		UserID                    string          `json:"userId"`
		UserProperties            json.RawMessage `json:"userProperties"`
	}
	adIdentifiers struct {
		Dclid                 string          `json:"dclid"`
		EncryptedUserIds      json.RawMessage `json:"encryptedUserIds"`
		Gbraid                string          `json:"gbraid"`
		Gclid                 string          `json:"gclid"`
		ImpressionID          string          `json:"impressionId"`
		LandingPageDeviceInfo json.RawMessage `json:"landingPageDeviceInfo"`
		MatchID               string          `json:"matchId"`
		MobileDeviceID        string          `json:"mobileDeviceId"`
		SessionAttributes     string          `json:"sessionAttributes"`
		Wbraid                string          `json:"wbraid"`
	}
	userData struct {
		UserIdentifiers []userIdentifier `json:"userIdentifiers"`
	}
	userIdentifier struct {
		Address      *addressInfo `json:"address"`
		EmailAddress string       `json:"emailAddress"`
		PhoneNumber  string       `json:"phoneNumber"`
	}
	addressInfo struct {
		FamilyName string `json:"familyName"`
		GivenName  string `json:"givenName"`
		PostalCode string `json:"postalCode"`
		RegionCode string `json:"regionCode"`
	}
)

// Enum values from the discovery document.
var (
	accountTypes   = set("GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER", "DISPLAY_VIDEO_ADVERTISER", "DATA_PARTNER", "GOOGLE_ANALYTICS_PROPERTY", "GOOGLE_AD_MANAGER_AUDIENCE_LINK", "FLOODLIGHT_CONFIG")
	consentValues  = set("", "CONSENT_STATUS_UNSPECIFIED", "CONSENT_GRANTED", "CONSENT_DENIED")
	encodingValues = set("", "ENCODING_UNSPECIFIED", "HEX", "BASE64")
	eventSources   = set("", "EVENT_SOURCE_UNSPECIFIED", "WEB", "APP", "IN_STORE", "PHONE", "MESSAGE", "OTHER")
	currencyRE     = regexp.MustCompile(`^[A-Z]{3}$`)
	digitsRE       = regexp.MustCompile(`^[0-9]+$`)
)

func set(v ...string) map[string]bool {
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}

// violation is one google.rpc.BadRequest.FieldViolation; reason is an
// ErrorReason from the Data Manager reference (ErrorReason enum).
type violation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Reason      string `json:"reason,omitempty"`
}

// process is the simulator's simcore.Vendor.Process.
func (s *Server) process(r *http.Request, body []byte, rejectEvery int) (int, http.Header, any) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var req ingestRequest
	if err := dec.Decode(&req); err != nil {
		s.CountRejected()
		return statusBody(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error(), "INVALID_ARGUMENT", nil)
	}
	// Authorization before validation (AIP-211); a body that does not parse
	// names no account to check, so it is refused above as malformed.
	if !s.permitted(bearer(r), req.Destinations) {
		// Unconfirmed: Google documents neither the message nor any
		// ErrorInfo metadata of this refusal. The message is the one Google
		// APIs commonly give PERMISSION_DENIED (as quoted in
		// googleapis/python-datacatalog#288), and no account is named, so a
		// client must say itself which account it asked for.
		return statusBody(http.StatusForbidden, "The caller does not have permission", "PERMISSION_DENIED", nil)
	}
	now := s.Now()
	if vs := validate(&req, now); len(vs) > 0 {
		s.CountRejected()
		return statusBody(http.StatusBadRequest, "There was a problem with the request.", vs[0].Reason, vs)
	}
	if req.ValidateOnly {
		// "If true, the request is validated but not executed. Only errors
		// are returned, not results."
		return http.StatusOK, nil, struct{}{}
	}
	id := newRequestID()
	st := statusResponse{}
	s.Update(func(l *simcore.Ledger) {
		for _, d := range req.Destinations {
			ds := destinationStatus{Destination: d, counts: map[string]int{}}
			for ei, e := range req.Events {
				if !targets(e, d) {
					continue
				}
				ds.records++
				raw, _ := json.Marshal(e)
				rec := Record{ReceivedAt: now, Event: raw}
				if e.TransactionID != "" {
					rec.Key = d.OperatingAccount.AccountID + "/" + d.ProductDestinationID + "/" + e.TransactionID
				}
				rec.Reason = s.judge(l, e, req.Consent, rec.Key, now, rejectEvery > 0 && ei%rejectEvery == 0)
				if rec.Reason == "" {
					rec.Reason = s.clickReason(d, e, now)
				}
				rec.Effect = rec.Reason == ""
				if !rec.Effect {
					ds.counts[rec.Reason]++
				}
				l.Record(rec)
			}
			st.PerDestination = append(st.PerDestination, ds)
		}
	})
	s.statusMu.Lock()
	s.statuses[id] = st
	s.statusMu.Unlock()
	return http.StatusOK, nil, map[string]string{"requestId": id}
}

// judge decides whether one event takes effect at one destination, against
// the counts in l. It returns a ProcessingErrorReason, or "" for an effect.
func (s *Server) judge(l *simcore.Ledger, e event, reqConsent *consent, key string, now time.Time, inject bool) string {
	ts, _ := time.Parse(time.RFC3339Nano, e.EventTimestamp)
	c := e.Consent
	if c == nil || c.AdUserData == "" {
		// "User-level consent overrides request-level consent" (discovery
		// doc, IngestEventsRequest.consent).
		c = reqConsent
	}
	switch {
	case inject:
		return "PROCESSING_ERROR_REASON_INTERNAL_ERROR"
	case s.MaxEventAge > 0 && now.Sub(ts) > s.MaxEventAge:
		return "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"
	case c != nil && c.AdUserData == "CONSENT_DENIED":
		return "PROCESSING_ERROR_REASON_DENIED_CONSENT"
	case key != "" && l.Key(key).Effective > 0:
		return "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"
	}
	return ""
}

// clickReason refuses a conversion whose click is too recent, or one of a
// gclid and conversion time that already took effect at d; otherwise it
// records the conversion and returns "".
func (s *Server) clickReason(d destination, e event, now time.Time) string {
	if e.AdIdentifiers == nil || e.AdIdentifiers.Gclid == "" {
		return ""
	}
	g := e.AdIdentifiers.Gclid
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	if at, ok := s.clicks[g]; ok && now.Sub(at) < MinClickAge {
		return "PROCESSING_ERROR_REASON_TOO_RECENT_CLICK"
	}
	conv := d.OperatingAccount.AccountID + "/" + d.ProductDestinationID + "/" + g + "/" + e.EventTimestamp
	if s.converted[conv] {
		return "PROCESSING_ERROR_REASON_DUPLICATE_GCLID"
	}
	s.converted[conv] = true
	return ""
}

// targets reports whether event e goes to destination d: "If empty, the
// event will be sent to all destinations in the request" (discovery doc,
// Event.destinationReferences).
func targets(e event, d destination) bool {
	if len(e.DestinationReferences) == 0 {
		return true
	}
	for _, ref := range e.DestinationReferences {
		if ref == d.Reference {
			return true
		}
	}
	return false
}

// validate applies the fast-fail checks and returns every violation.
func validate(req *ingestRequest, now time.Time) []violation {
	var vs []violation
	add := func(field, reason, desc string) {
		vs = append(vs, violation{Field: field, Reason: reason, Description: desc})
	}
	if len(req.Destinations) == 0 {
		add("destinations", "REQUIRED_FIELD_MISSING", "Required field is missing.")
	}
	if len(req.Destinations) > MaxDestinations {
		add("destinations", "TOO_MANY_DESTINATIONS", "Maximum number of destinations allowed per request is 10.")
	}
	if len(req.Events) == 0 {
		add("events", "REQUIRED_FIELD_MISSING", "Required field is missing.")
	}
	if len(req.Events) > MaxEvents {
		add("events", "TOO_MANY_EVENTS", "Maximum number of events allowed per request is 2000.")
		return vs
	}
	if !encodingValues[req.Encoding] {
		add("encoding", "INVALID_ENUM_VALUE", "Enum value cannot be used.")
	}
	if req.EncryptionInfo != nil {
		add("encryption_info", "ENCRYPTION_NOT_SUPPORTED", "Encryption is not supported by this simulator.")
	}
	vs = append(vs, checkConsent("consent", req.Consent)...)
	refs := map[string]bool{}
	for i, d := range req.Destinations {
		p := fmt.Sprintf("destinations[%d]", i)
		if d.Reference != "" {
			if refs[d.Reference] {
				add(p+".reference", "DUPLICATE_DESTINATION_REFERENCE", "Two or more destinations in the request have the same reference.")
			}
			refs[d.Reference] = true
		}
		if d.OperatingAccount == nil {
			add(p+".operating_account", "REQUIRED_FIELD_MISSING", "Required field is missing.")
		} else {
			vs = append(vs, checkAccount(p+".operating_account", d.OperatingAccount)...)
		}
		for name, a := range map[string]*productAccount{"login_account": d.LoginAccount, "linked_account": d.LinkedAccount} {
			if a != nil {
				vs = append(vs, checkAccount(p+"."+name, a)...)
			}
		}
		switch {
		case d.ProductDestinationID == "":
			add(p+".product_destination_id", "REQUIRED_FIELD_MISSING", "Required field is missing.")
		case d.OperatingAccount != nil && d.OperatingAccount.AccountType == "GOOGLE_ADS" && !digitsRE.MatchString(d.ProductDestinationID):
			// A Google Ads conversion action id is an int64.
			add(p+".product_destination_id", "INVALID_CONVERSION_ACTION_ID", "The conversion action ID is invalid.")
		}
	}
	for i, e := range req.Events {
		p := fmt.Sprintf("events[%d]", i)
		ts, err := time.Parse(time.RFC3339Nano, e.EventTimestamp)
		switch {
		case e.EventTimestamp == "":
			add(p+".event_timestamp", "REQUIRED_FIELD_MISSING", "Required field is missing.")
		case err != nil:
			add(p+".event_timestamp", "INVALID_FORMAT", "Format is invalid.")
		case ts.After(now):
			add(p+".event_timestamp", "EVENT_TIME_INVALID", "Event did not occur within the acceptable time window.")
		}
		if e.LastUpdatedTimestamp != "" {
			if _, err := time.Parse(time.RFC3339Nano, e.LastUpdatedTimestamp); err != nil {
				add(p+".last_updated_timestamp", "INVALID_FORMAT", "Format is invalid.")
			}
		}
		if e.Currency != "" && !currencyRE.MatchString(e.Currency) {
			add(p+".currency", "INVALID_CURRENCY_CODE", "The currency code is not supported.")
		}
		if e.ConversionValue != nil && *e.ConversionValue < 0 {
			add(p+".conversion_value", "INVALID_NUMBER_FORMAT", "The number format is invalid.")
		}
		if !eventSources[e.EventSource] {
			add(p+".event_source", "INVALID_ENUM_VALUE", "Enum value cannot be used.")
		}
		for _, ref := range e.DestinationReferences {
			if !refs[ref] {
				add(p+".destination_references", "INVALID_DESTINATION", "This Destination is not valid.")
			}
		}
		vs = append(vs, checkConsent(p+".consent", e.Consent)...)
		hasUser := false
		for name, ud := range map[string]*userData{"user_data": e.UserData, "third_party_user_data": e.ThirdPartyUserData} {
			if ud == nil {
				continue
			}
			hasUser = hasUser || len(ud.UserIdentifiers) > 0
			vs = append(vs, checkUserData(p+"."+name, ud, req.Encoding)...)
		}
		ai := e.AdIdentifiers
		hasClick := ai != nil && (ai.Gclid != "" || ai.Gbraid != "" || ai.Wbraid != "")
		// Stricter than documented: an event with neither a click id nor
		// user data can match no Google Ads click, so it is refused here
		// rather than silently counted.
		if !hasClick && !hasUser {
			add(p, "INVALID_EVENT", "This event is not valid: it has no ad identifier and no user data.")
		}
	}
	return vs
}

func checkAccount(p string, a *productAccount) []violation {
	var vs []violation
	if a.AccountID == "" {
		vs = append(vs, violation{p + ".account_id", "Required field is missing.", "REQUIRED_FIELD_MISSING"})
	}
	t := a.AccountType
	if t == "" {
		t = a.Product // deprecated alias; "If both are set, the values must match".
	}
	if !accountTypes[t] || (a.Product != "" && a.AccountType != "" && a.Product != a.AccountType) {
		vs = append(vs, violation{p + ".account_type", "Enum value cannot be used.", "INVALID_ENUM_VALUE"})
	}
	return vs
}

func checkConsent(p string, c *consent) []violation {
	if c == nil || consentValues[c.AdUserData] && consentValues[c.AdPersonalization] {
		return nil
	}
	return []violation{{p, "Enum value cannot be used.", "INVALID_ENUM_VALUE"}}
}

// checkUserData applies UserData's rules: at most 10 identifiers, exactly
// one attribute each, and hashed values in the request's encoding
// ("Encoding ... Required for UserData uploads"; formatting guide: "Hash
// using the SHA-256 algorithm. Encode the hash bytes using hex or Base64").
func checkUserData(p string, ud *userData, encoding string) []violation {
	var vs []violation
	if len(ud.UserIdentifiers) > MaxUserIdentifiers {
		vs = append(vs, violation{p + ".user_identifiers", "Maximum number of user identifiers allowed per record is 10.", "TOO_MANY_USER_IDENTIFIERS"})
	}
	if len(ud.UserIdentifiers) > 0 && (encoding == "" || encoding == "ENCODING_UNSPECIFIED") {
		vs = append(vs, violation{"encoding", "Required field is missing.", "REQUIRED_FIELD_MISSING"})
	}
	for j, id := range ud.UserIdentifiers {
		q := fmt.Sprintf("%s.user_identifiers[%d]", p, j)
		n := 0
		if id.EmailAddress != "" {
			n++
			vs = append(vs, checkHash(q+".email_address", id.EmailAddress, encoding)...)
		}
		if id.PhoneNumber != "" {
			n++
			vs = append(vs, checkHash(q+".phone_number", id.PhoneNumber, encoding)...)
		}
		if a := id.Address; a != nil {
			n++
			if a.GivenName == "" || a.FamilyName == "" || a.RegionCode == "" || a.PostalCode == "" {
				vs = append(vs, violation{q + ".address", "Required field is missing.", "REQUIRED_FIELD_MISSING"})
			}
			vs = append(vs, checkHash(q+".address.given_name", a.GivenName, encoding)...)
			vs = append(vs, checkHash(q+".address.family_name", a.FamilyName, encoding)...)
		}
		if n != 1 {
			vs = append(vs, violation{q, "Each UserIdentifier has exactly one attribute.", "INVALID_FORMAT"})
		}
	}
	return vs
}

// checkHash requires a SHA-256 digest in the declared encoding. Hex must be
// lower case here: Google does not say whether upper-case hex is accepted,
// so the stricter reading is enforced.
func checkHash(p, v, encoding string) []violation {
	if v == "" {
		return nil
	}
	switch encoding {
	case "HEX":
		if len(v) != 64 {
			return []violation{{p, "The SHA256 encoded value is malformed.", "INVALID_SHA256_FORMAT"}}
		}
		if _, err := hex.DecodeString(v); err != nil || strings.ToLower(v) != v {
			return []violation{{p, "The HEX encoded value is malformed.", "INVALID_HEX_ENCODING"}}
		}
	case "BASE64":
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return []violation{{p, "The base64 encoded value is malformed.", "INVALID_BASE64_ENCODING"}}
		}
		if len(b) != 32 {
			return []violation{{p, "The SHA256 encoded value is malformed.", "INVALID_SHA256_FORMAT"}}
		}
	}
	return nil
}

// Request status, as RetrieveRequestStatusResponse in the discovery doc.
type (
	statusResponse struct {
		PerDestination []destinationStatus
	}
	destinationStatus struct {
		Destination destination
		records     int
		counts      map[string]int
	}
)

// SetLimit replaces the ceiling of ingest requests and, separately, of
// status reads.
func (s *Server) SetLimit(l Limit) {
	s.Core.SetLimit(l)
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.reads = simcore.NewBucket(l)
}

// allowRead takes a token from the read ceiling's bucket.
func (s *Server) allowRead() bool {
	s.readMu.Lock()
	ok := s.reads.Allow(s.Now)
	s.readMu.Unlock()
	if !ok {
		s.CountThrottled()
	}
	return ok
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, "RetrieveRequestStatus") {
		return
	}
	if !s.allowRead() {
		s.throttle(w, false)
		return
	}
	id := r.URL.Query().Get("requestId")
	s.statusMu.Lock()
	st, ok := s.statuses[id]
	s.statusMu.Unlock()
	if !ok {
		writeStatus(w, http.StatusNotFound, "Resource not found.", "NOT_FOUND", nil)
		return
	}
	type errorCount struct {
		Reason      string `json:"reason"`
		RecordCount string `json:"recordCount"` // int64 fields are JSON strings
	}
	type perDest struct {
		Destination           destination       `json:"destination"`
		RequestStatus         string            `json:"requestStatus"`
		EventsIngestionStatus map[string]string `json:"eventsIngestionStatus"`
		ErrorInfo             *struct {
			ErrorCounts []errorCount `json:"errorCounts"`
		} `json:"errorInfo,omitempty"`
	}
	out := struct {
		RequestStatusPerDestination []perDest `json:"requestStatusPerDestination"`
	}{RequestStatusPerDestination: []perDest{}}
	for _, ds := range st.PerDestination {
		pd := perDest{Destination: ds.Destination, RequestStatus: "SUCCESS",
			EventsIngestionStatus: map[string]string{"recordCount": fmt.Sprint(ds.records)}}
		failed := 0
		if len(ds.counts) > 0 {
			pd.ErrorInfo = &struct {
				ErrorCounts []errorCount `json:"errorCounts"`
			}{}
			for _, reason := range sortedKeys(ds.counts) {
				pd.ErrorInfo.ErrorCounts = append(pd.ErrorInfo.ErrorCounts, errorCount{reason, fmt.Sprint(ds.counts[reason])})
				failed += ds.counts[reason]
			}
			pd.RequestStatus = "PARTIAL_SUCCESS"
			if failed == ds.records {
				pd.RequestStatus = "FAILED"
			}
		}
		out.RequestStatusPerDestination = append(out.RequestStatusPerDestination, pd)
	}
	simcore.WriteJSON(w, http.StatusOK, out)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// throttle is the simulator's simcore.Vendor.Throttle: RESOURCE_EXHAUSTED
// with the quota limit in ErrorInfo.metadata.quota_limit (limits page,
// "Quota names"). Retry-After comes only with an injected 429, which exists
// to test that path.
func (s *Server) throttle(w http.ResponseWriter, injected bool) {
	code, _, body := statusBody(http.StatusTooManyRequests, "Too many requests.", "RESOURCE_EXHAUSTED", nil)
	body.(googleError).Error.Details[0]["metadata"] = map[string]string{"quota_limit": "IngestionMutateRequestsPerMinutePerProject"}
	simcore.WriteJSON(w, code, body)
}

// serverError is the simulator's simcore.Vendor.ServerError.
func (s *Server) serverError(w http.ResponseWriter, status int) {
	reason := "INTERNAL_ERROR"
	if status == http.StatusBadRequest {
		reason = "INVALID_ARGUMENT"
	}
	writeStatus(w, status, "An internal error has occurred.", reason, nil)
}

// googleError is google.rpc.Status as REST APIs render it: error.code is the
// HTTP status, error.status the canonical code name (understand-errors:
// "If you use REST, the error code is in the error response at
// error.status, and the corresponding HTTP status is at error.code").
type googleError struct {
	Error struct {
		Code    int              `json:"code"`
		Message string           `json:"message"`
		Status  string           `json:"status"`
		Details []map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

var canonical = map[int]string{
	http.StatusBadRequest:          "INVALID_ARGUMENT",
	http.StatusUnauthorized:        "UNAUTHENTICATED",
	http.StatusForbidden:           "PERMISSION_DENIED",
	http.StatusNotFound:            "NOT_FOUND",
	http.StatusTooManyRequests:     "RESOURCE_EXHAUSTED",
	http.StatusInternalServerError: "INTERNAL",
	http.StatusServiceUnavailable:  "UNAVAILABLE",
	http.StatusGatewayTimeout:      "DEADLINE_EXCEEDED",
}

func statusBody(code int, msg, reason string, vs []violation) (int, http.Header, any) {
	var e googleError
	e.Error.Code, e.Error.Message, e.Error.Status = code, msg, canonical[code]
	if e.Error.Status == "" {
		e.Error.Status = "UNKNOWN"
	}
	if reason != "" {
		e.Error.Details = append(e.Error.Details, map[string]any{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": reason,
			"domain": "datamanager.googleapis.com",
		})
	}
	if len(vs) > 0 {
		e.Error.Details = append(e.Error.Details, map[string]any{
			"@type":           "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": vs,
		})
	}
	return code, nil, e
}

func writeStatus(w http.ResponseWriter, code int, msg, reason string, vs []violation) {
	c, _, body := statusBody(code, msg, reason, vs)
	simcore.WriteJSON(w, c, body)
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
