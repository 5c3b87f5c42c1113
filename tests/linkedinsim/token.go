package linkedinsim

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sam-attribution/sam/tests/simcore"
)

// The token endpoint, as LinkedIn documents it for approved Marketing
// Developer Platform partners ("Programmatic Refresh Tokens",
// learn.microsoft.com/linkedin/shared/authentication/programmatic-refresh-tokens;
// LinkedIn's own client, linkedin-developers/linkedin-api-python-client,
// AuthClient.exchange_refresh_token_for_access_token):
//   - POST /oauth/v2/accessToken, a form (application/x-www-form-urlencoded)
//     of grant_type=refresh_token, refresh_token, client_id, client_secret.
//   - 200: {"access_token","expires_in","refresh_token",
//     "refresh_token_expires_in"}, seconds. Access tokens last 60 days;
//     a refresh token lasts 365 days from the first authorisation, and
//     refreshing does not extend it (on day 59 it has 306 days left).
//   - A refresh token that is expired, revoked or unknown: 400
//     {"error":"invalid_grant","error_description":...} (the OAuth 2.0
//     error shape, RFC 6749 §5.2); wrong client credentials: 401
//     invalid_client; a missing parameter: 400 invalid_request.
//   - An API call with an expired or revoked access token: 401 (LinkedIn's
//     "Error Handling" page lists both as 401 cases). The bodies, as the
//     Conversions API answers them in an integration's recorded fixtures
//     (rudderlabs/rudder-transformer, linkedin_conversions_api proxy
//     tests): a token LinkedIn never issued, serviceErrorCode 65600 code
//     INVALID_ACCESS_TOKEN "Invalid access token"; a revoked one, 65601
//     REVOKED_ACCESS_TOKEN. Revoking the application ends its refresh
//     token too, which then exchanges for nothing (invalid_grant).
//   - The simulator honours only the access tokens its token endpoint
//     issued and the ones a test registers with AllowToken (standing for
//     a token from LinkedIn's developer portal), until RevokeToken,
//     ExpireAccessTokens or the clock ends them.

const (
	// DefaultAccessTokenTTL is an access token's life: 60 days.
	DefaultAccessTokenTTL = 60 * 24 * time.Hour
	// TokenPath is where the token endpoint answers, as LinkedIn's does.
	TokenPath = "/oauth/v2/accessToken"
)

// tokens is the simulator's record of clients and tokens.
type tokens struct {
	mu        sync.Mutex
	clients   map[string]string       // client id → secret
	refresh   map[string]refreshGrant // refresh token → its grant
	access    map[string]time.Time    // access token → expiry (zero: registered by AllowToken, no end)
	revoked   map[string]bool         // access and refresh tokens RevokeToken ended
	exchanges int
	// grants are what the member who authorized a token granted
	// (Authorize), by refresh or access token; from is the refresh token
	// each issued access token came from, whose grant it inherits.
	grants map[string]authorization
	from   map[string]string
}

// authorization is what a member granted: the OAuth scopes, and the
// member's role on the ad account that owns the conversion rules.
type authorization struct {
	scopes []string
	role   string
}

// The Conversions API's two conditions (LinkedIn Marketing API docs,
// "Conversions API", Permissions): the token's scopes include
// rw_conversions (the docs list r_ads too, for reading ad accounts, which
// a conversion does not), and the member who authorized it holds one of
// these roles on the ad account.
const ConversionsScope = "rw_conversions"

var conversionRoles = map[string]bool{"ACCOUNT_BILLING_ADMIN": true, "ACCOUNT_MANAGER": true, "CAMPAIGN_MANAGER": true, "CREATIVE_MANAGER": true}

// Authorize records what the member who authorized tok granted: role on
// the conversion rules' ad account (VIEWER, CAMPAIGN_MANAGER...) and the
// OAuth scopes. tok is a refresh token, whose access tokens inherit it,
// or an access token. A token never authorized this way passes both
// conditions.
func (s *Server) Authorize(tok, role string, scopes ...string) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.grants[tok] = authorization{scopes: scopes, role: role}
}

// permitted reports whether tok's grant meets the Conversions API's
// conditions.
func (s *Server) permitted(tok string) bool {
	t := &s.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.grants[tok]
	if !ok {
		g, ok = t.grants[t.from[tok]]
	}
	return !ok || slices.Contains(g.scopes, ConversionsScope) && conversionRoles[g.role]
}

type refreshGrant struct {
	client  string
	expires time.Time
}

// AddClient registers an application's client id and secret.
func (s *Server) AddClient(id, secret string) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.clients[id] = secret
}

// IssueRefreshToken returns a refresh token of client id valid for ttl from
// now, as the authorization code flow gives one.
func (s *Server) IssueRefreshToken(client string, ttl time.Duration) string {
	tok := "AQW" + randomHex()
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.refresh[tok] = refreshGrant{client: client, expires: s.Now().Add(ttl)}
	return tok
}

// AllowToken registers tok as an access token LinkedIn issued elsewhere
// (its developer portal's token generator): the API honours it until it
// is revoked or ExpireAccessTokens ends it. A revoked token stays revoked.
func (s *Server) AllowToken(tok string) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	if _, ok := s.tokens.access[tok]; !ok {
		s.tokens.access[tok] = time.Time{}
	}
}

// RevokeToken ends tok, an access token or a refresh token, as a member
// revoking the application's access does: the API answers 401
// REVOKED_ACCESS_TOKEN to the access token, and the token endpoint
// invalid_grant to the refresh token.
func (s *Server) RevokeToken(tok string) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.revoked[tok] = true
}

// ExpireAccessTokens ends every access token registered or issued so far:
// the API answers 401 to each of them from now on.
func (s *Server) ExpireAccessTokens() {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	now := s.Now()
	for tok := range s.tokens.access {
		s.tokens.access[tok] = now
	}
}

// Exchanges counts the refresh tokens exchanged for access tokens.
func (s *Server) Exchanges() int {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.exchanges
}

func randomHex() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// oauthError is the token endpoint's error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	simcore.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// serveToken answers a refresh-token grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request must be form encoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The form does not parse.")
		return
	}
	f := r.PostForm
	for _, p := range []string{"grant_type", "refresh_token", "client_id", "client_secret"} {
		if f.Get(p) == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "A required parameter is missing: "+p+".")
			return
		}
	}
	if f.Get("grant_type") != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The simulator exchanges refresh tokens only.")
		return
	}
	t := &s.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	if secret, ok := t.clients[f.Get("client_id")]; !ok || secret != f.Get("client_secret") {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	now := s.Now()
	g, ok := t.refresh[f.Get("refresh_token")]
	if !ok || g.client != f.Get("client_id") || !now.Before(g.expires) || t.revoked[f.Get("refresh_token")] {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is not valid: it expired, was revoked or was never issued.")
		return
	}
	tok := "AQV" + randomHex()
	ttl := s.AccessTokenTTL
	t.access[tok] = now.Add(ttl)
	t.from[tok] = f.Get("refresh_token")
	t.exchanges++
	simcore.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": int64(ttl / time.Second),
		"refresh_token": f.Get("refresh_token"), "refresh_token_expires_in": int64(g.expires.Sub(now) / time.Second),
	})
}

// checkAccess answers 401 and reports false for an access token the
// simulator neither issued nor was given, or one revoked or ended.
func (s *Server) checkAccess(w http.ResponseWriter, tok string) bool {
	t := &s.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, known := t.access[tok]
	switch {
	case t.revoked[tok]:
		simcore.WriteJSON(w, http.StatusUnauthorized, liError(401, 65601, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user"))
		return false
	case !known:
		simcore.WriteJSON(w, http.StatusUnauthorized, liError(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"))
		return false
	case exp.IsZero() || s.Now().Before(exp):
		return true
	}
	// The status is LinkedIn's; the code is the simulator's label.
	simcore.WriteJSON(w, http.StatusUnauthorized, liError(401, 0, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired."))
	return false
}

func newTokens() tokens {
	return tokens{clients: map[string]string{}, refresh: map[string]refreshGrant{}, access: map[string]time.Time{}, revoked: map[string]bool{},
		grants: map[string]authorization{}, from: map[string]string{}}
}
