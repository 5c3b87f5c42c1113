package linkedin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/retry"
)

const (
	// renewBefore is how long before its expires_in an access token is
	// renewed; a shorter-lived token is renewed at half its life.
	renewBefore = 5 * time.Minute
	// warnRefreshWithin is when a refresh token's end is worth a warning on
	// every exchange: time enough to have the member authorise again.
	warnRefreshWithin = 30 * 24 * time.Hour
)

// tokens hands out the bearer token of the API requests: AccessToken as it
// is, or one exchanged for RefreshToken. It is safe for concurrent use; mu
// is held across an exchange, so that senders needing a token at once
// exchange once.
type tokens struct {
	static       string
	clientID     string
	clientSecret string
	url          string
	http         *http.Client
	now          func() time.Time
	timeout      time.Duration
	policy       retry.Policy
	log          *slog.Logger
	names        map[string]string

	mu      sync.Mutex
	refresh string // the refresh token in use (LinkedIn may hand back another)
	access  string
	renewAt time.Time
	refused error // LinkedIn refused the grant: it will not change this run
}

func newTokens(o Options) *tokens {
	p := o.Retry
	p.Retryable = nil // retry.Marked: what exchange marks as transient
	return &tokens{static: o.AccessToken, clientID: o.ClientID, clientSecret: o.ClientSecret, refresh: o.RefreshToken,
		url: o.TokenURL, http: o.HTTPClient, now: o.Now, timeout: o.Timeout, policy: p, log: o.Logger, names: o.FieldNames}
}

// renews reports whether the destination can get a new access token.
func (t *tokens) renews() bool { return t.static == "" }

// name is how the operator knows an Options field.
func (t *tokens) name(field string) string {
	if n, ok := t.names[field]; ok {
		return n
	}
	return field
}

// token returns a live access token, exchanging the refresh token first
// when there is none or it nears its end.
func (t *tokens) token(ctx context.Context) (string, error) {
	if !t.renews() {
		return t.static, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && t.now().Before(t.renewAt) {
		return t.access, nil
	}
	return t.exchange(ctx)
}

// renew replaces stale, an access token LinkedIn refused, unless another
// sender has replaced it already.
func (t *tokens) renew(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != stale && t.access != "" {
		return t.access, nil
	}
	return t.exchange(ctx)
}

// tokenAnswer is the token endpoint's answer: the tokens on success, error
// and error_description on failure (RFC 6749 §5.1, §5.2).
type tokenAnswer struct {
	AccessToken           string `json:"access_token"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	Error                 string `json:"error"`
	Description           string `json:"error_description"`
}

// exchange trades the refresh token for an access token, with mu held. The
// request is the one LinkedIn documents for programmatic refresh tokens
// (learn.microsoft.com/linkedin/shared/authentication/programmatic-refresh-tokens,
// and LinkedIn's client linkedin-developers/linkedin-api-python-client,
// exchange_refresh_token_for_access_token): a form POST of
// grant_type=refresh_token, refresh_token, client_id and client_secret to
// /oauth/v2/accessToken, answered with access_token and expires_in (60
// days), refresh_token and refresh_token_expires_in (what is left of its
// 365 days; refreshing does not extend it). A refresh token that expired
// or was revoked is answered 400 invalid_grant, and only the member
// authorising the application again mends it. Issuing a token changes
// nothing at LinkedIn, so a transport error or a 5xx is retried.
func (t *tokens) exchange(ctx context.Context) (string, error) {
	if t.refused != nil {
		return "", t.refused
	}
	var a tokenAnswer
	err := retry.Do(ctx, t.policy, func(ctx context.Context) error {
		var err error
		a, err = t.post(ctx)
		return err
	})
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			t.refused = err
			t.log.Error("linkedin: " + err.Error())
		}
		return "", err
	}
	now := t.now()
	life := time.Duration(a.ExpiresIn) * time.Second
	t.access, t.renewAt = a.AccessToken, now.Add(life-min(renewBefore, life/2))
	if a.RefreshToken != "" && a.RefreshToken != t.refresh {
		// LinkedIn documents no rotation; were it to rotate, the secret the
		// next run reads would hold a token it may no longer honour.
		t.log.Warn(fmt.Sprintf("linkedin: LinkedIn answered with a new refresh token, which SAM uses for this run but cannot store; if the next run's exchange is refused, have the member authorise the application again and store the new refresh token in %s",
			t.name("RefreshToken")))
		t.refresh = a.RefreshToken
	}
	if left := time.Duration(a.RefreshTokenExpiresIn) * time.Second; a.RefreshTokenExpiresIn > 0 && left < warnRefreshWithin {
		t.log.Warn(fmt.Sprintf("linkedin: the refresh token in %s ends in %d days; have the member authorise the application again and store the new refresh token there before then",
			t.name("RefreshToken"), int(left.Hours()/24)), "ends", now.Add(left).UTC().Format(time.DateOnly))
	}
	return t.access, nil
}

// refusal is LinkedIn refusing the exchange for good.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// post makes one exchange attempt. Its errors carry LinkedIn's status,
// error code and description, never the URL's query or the form.
func (t *tokens) post(ctx context.Context) (tokenAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.refresh},
		"client_id": {t.clientID}, "client_secret": {t.clientSecret}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form))
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("build the token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.http.Do(req)
	if err != nil {
		return tokenAnswer{}, retry.Mark(fmt.Errorf("exchange the refresh token: %w", transportErr(err, t.timeout)), 0)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenAnswer{}, retry.Mark(fmt.Errorf("exchange the refresh token: HTTP %d, then %w", resp.StatusCode, transportErr(err, t.timeout)), 0)
	}
	var a tokenAnswer
	_ = json.Unmarshal(raw, &a) // the status says enough when it is not JSON
	said := t.scrub(strings.TrimSpace(a.Error + ": " + a.Description))
	switch {
	case resp.StatusCode == http.StatusOK && a.AccessToken != "" && a.ExpiresIn > 0:
		return a, nil
	case resp.StatusCode == http.StatusOK:
		return tokenAnswer{}, retry.Mark(fmt.Errorf("exchange the refresh token: HTTP 200 without an access token and its expires_in (%d bytes)", len(raw)), 0)
	case retry.TransientStatus(resp.StatusCode):
		return tokenAnswer{}, retry.Mark(fmt.Errorf("exchange the refresh token: HTTP %d %s", resp.StatusCode, said), retry.RetryAfter(resp.Header, t.now()))
	case a.Error == "invalid_grant":
		return tokenAnswer{}, &refusal{fmt.Sprintf("LinkedIn refused %s (HTTP %d %s): the refresh token expired or was revoked; it must be renewed by re-authorising the application (LinkedIn's authorization code flow) and stored in %s",
			t.name("RefreshToken"), resp.StatusCode, said, t.name("RefreshToken"))}
	case a.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
		return tokenAnswer{}, &refusal{fmt.Sprintf("LinkedIn refused the application's credentials %s and %s (HTTP %d %s)",
			t.name("ClientID"), t.name("ClientSecret"), resp.StatusCode, said)}
	}
	return tokenAnswer{}, &refusal{fmt.Sprintf("LinkedIn refused to exchange %s (HTTP %d %s)", t.name("RefreshToken"), resp.StatusCode, said)}
}

// scrub bounds a vendor message and takes out the secrets it might echo.
func (t *tokens) scrub(m string) string {
	for _, s := range []string{t.refresh, t.clientSecret, t.access} {
		if s != "" {
			m = strings.ReplaceAll(m, s, "…")
		}
	}
	return redact(strings.TrimSuffix(m, ":"))
}
