package linkedinsim

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
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
//     "Error Handling" page lists both as 401 cases).

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
	access    map[string]time.Time    // access token → expiry (zero: seen, issued elsewhere)
	exchanges int
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

// ExpireAccessTokens ends every access token seen or issued so far: the API
// answers 401 to each of them from now on.
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
	if !ok || g.client != f.Get("client_id") || !now.Before(g.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is not valid: it expired, was revoked or was never issued.")
		return
	}
	tok := "AQV" + randomHex()
	ttl := s.AccessTokenTTL
	t.access[tok] = now.Add(ttl)
	t.exchanges++
	simcore.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": int64(ttl / time.Second),
		"refresh_token": f.Get("refresh_token"), "refresh_token_expires_in": int64(g.expires.Sub(now) / time.Second),
	})
}

// checkAccess answers 401 and reports false for an access token that has
// ended. A token the simulator did not issue stands for one from
// LinkedIn's developer portal: it is honoured until ExpireAccessTokens.
func (s *Server) checkAccess(w http.ResponseWriter, tok string) bool {
	t := &s.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, seen := t.access[tok]
	if !seen {
		t.access[tok] = time.Time{}
		return true
	}
	if exp.IsZero() || s.Now().Before(exp) {
		return true
	}
	// The status is LinkedIn's; the code is the simulator's label.
	simcore.WriteJSON(w, http.StatusUnauthorized, liError(401, 0, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired."))
	return false
}

func newTokens() tokens {
	return tokens{clients: map[string]string{}, refresh: map[string]refreshGrant{}, access: map[string]time.Time{}}
}
