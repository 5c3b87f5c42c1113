package linkedin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
)

const (
	clientID     = "77app"
	clientSecret = "client-secret-value"
	TokenPath    = "/oauth/v2/accessToken"
)

// fieldNames are how jobs names the fields: the SAM_ variables.
var fieldNames = map[string]string{"RefreshToken": "SAM_LINKEDIN_REFRESH_TOKEN", "ClientID": "SAM_LINKEDIN_CLIENT_ID", "ClientSecret": "SAM_LINKEDIN_CLIENT_SECRET"}

// syncBuffer is a log destination safe for the senders' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// refreshHarness is a harness whose destination authenticates with a
// refresh token the simulator issued, valid for refreshTTL; mod adjusts
// the options further. It returns the refresh token and the log.
func refreshHarness(t *testing.T, refreshTTL time.Duration, mod func(*Options)) (*harness, string, *syncBuffer) {
	t.Helper()
	var rt string
	logs := &syncBuffer{}
	h := newSimHarness(t, func(h *harness, o *Options) {
		h.sim.AddClient(clientID, clientSecret)
		rt = h.sim.IssueRefreshToken(clientID, refreshTTL)
		o.AccessToken = ""
		o.ClientID, o.ClientSecret, o.RefreshToken = clientID, clientSecret, rt
		o.TokenURL = h.srv.URL + TokenPath
		o.FieldNames = fieldNames
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		if mod != nil {
			mod(o)
		}
	})
	return h, rt, logs
}

// tokenRequests are the recorded requests to the token endpoint.
func (h *harness) tokenRequests() []string {
	var out []string
	for _, r := range h.rec.requests() {
		if strings.Contains(r, "grant_type=") {
			out = append(out, r)
		}
	}
	return out
}

// The first send exchanges the refresh token, with the form LinkedIn
// documents, and sends with the access token it got; later sends reuse it.
func TestFirstSendExchangesTheRefreshToken(t *testing.T) {
	h, rt, logs := refreshHarness(t, 365*24*time.Hour, nil)
	if n := len(h.rec.requests()); n != 0 {
		t.Fatalf("New made %d requests", n)
	}
	if out := h.send(ev("a", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Fatalf("first send: %+v", out[0])
	}
	if out := h.send(ev("b", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Fatalf("second send: %+v", out[0])
	}
	if n := h.sim.Exchanges(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
	reqs := h.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("token requests: %q", reqs)
	}
	body := reqs[0][strings.LastIndex(reqs[0], "\n")+1:]
	form, err := url.ParseQuery(body)
	if err != nil || form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != rt ||
		form.Get("client_id") != clientID || form.Get("client_secret") != clientSecret {
		t.Errorf("token request body %q", body)
	}
	if !strings.Contains(reqs[0], "Content-Type: application/x-www-form-urlencoded") {
		t.Errorf("token request %q is not a form", reqs[0])
	}
	for _, r := range h.rec.requests() {
		if strings.Contains(r, "Bearer "+rt) || strings.Contains(r, "Bearer "+clientSecret) {
			t.Errorf("a request carries the refresh token or secret as its bearer: %q", r)
		}
	}
	if s := logs.String(); strings.Contains(s, rt) || strings.Contains(s, clientSecret) || strings.Contains(s, "WARN") {
		t.Errorf("log: %s", s)
	}
}

// An access token that LinkedIn stops honouring mid-run (401) is renewed
// once and the refused request sent again: a 401 refuses the request whole,
// so nothing of it took effect.
func TestUnauthorizedMidRunRefreshesOnce(t *testing.T) {
	h, _, _ := refreshHarness(t, 365*24*time.Hour, nil)
	if out := h.send(ev("a", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Fatalf("first send: %+v", out[0])
	}
	h.sim.ExpireAccessTokens()
	out := h.send(ev("b", activation.StageSQL), ev("c", activation.StageWon))
	for _, o := range out {
		if o.Status != activation.StatusAccepted {
			t.Errorf("after the token expired: %+v", o)
		}
	}
	if n := h.sim.Exchanges(); n != 2 {
		t.Errorf("%d exchanges, want 2", n)
	}
	if len(h.waits) != 0 {
		t.Errorf("the renewal waited as a retry: %v", h.waits)
	}
	if k := h.sim.Key(key(urnSQL, "b")); k.Received != 1 || k.Effective != 1 {
		t.Errorf("key b = %+v", k)
	}
	h.noDoubleEffect(t)
}

// A token LinkedIn refuses again right after a renewal is not renewed in a
// loop: the request fails, as any 401 does.
func TestUnauthorizedAfterRenewalFails(t *testing.T) {
	h, _, _ := refreshHarness(t, 365*24*time.Hour, func(o *Options) {
		o.HTTPClient = &http.Client{Transport: stripAuth{o.HTTPClient.Transport}}
	})
	out := h.send(ev("a", activation.StageSQL))
	if out[0].Status != activation.StatusFailed || !strings.Contains(out[0].Detail, "HTTP 401") {
		t.Errorf("%+v", out[0])
	}
	if n := h.sim.Exchanges(); n != 2 {
		t.Errorf("%d exchanges, want 2 (the first and one renewal)", n)
	}
}

// An access token near its expires_in is renewed before a request.
func TestAccessTokenNearItsEndIsRenewed(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	h, _, _ := refreshHarness(t, 365*24*time.Hour, func(o *Options) {
		o.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	})
	h.sim.AccessTokenTTL = time.Hour
	h.send(ev("a", activation.StageSQL))
	now.Store(testNow.Add(30 * time.Minute).UnixNano())
	h.send(ev("b", activation.StageSQL))
	if n := h.sim.Exchanges(); n != 1 {
		t.Errorf("%d exchanges with half the token's life left, want 1", n)
	}
	now.Store(testNow.Add(58 * time.Minute).UnixNano())
	if out := h.send(ev("c", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Errorf("%+v", out[0])
	}
	if n := h.sim.Exchanges(); n != 2 {
		t.Errorf("%d exchanges two minutes before the end, want 2", n)
	}
}

// A refresh token LinkedIn refuses (invalid_grant: expired, revoked or
// never valid) fails the destination: every event fails, the message names
// the variable and says how to renew it, and nothing secret is in it. It is
// not asked again: the answer will not change within the run.
func TestInvalidGrantFailsTheDestination(t *testing.T) {
	h, _, logs := refreshHarness(t, 365*24*time.Hour, func(o *Options) { o.RefreshToken = "AQW-expired-refresh-token" })
	for range 2 {
		for _, o := range h.send(threeEvents("g")...) {
			if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "SAM_LINKEDIN_REFRESH_TOKEN") ||
				!strings.Contains(o.Detail, "invalid_grant") || !strings.Contains(o.Detail, "re-authoris") {
				t.Errorf("%+v", o)
			}
			for _, secret := range []string{"AQW-expired-refresh-token", clientSecret} {
				if strings.Contains(o.Detail, secret) {
					t.Errorf("the detail shows a secret: %q", o.Detail)
				}
			}
		}
	}
	if n := len(h.tokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if h.sim.Stats().Events != 0 {
		t.Error("events reached LinkedIn without a token")
	}
	s := logs.String()
	if !strings.Contains(s, "SAM_LINKEDIN_REFRESH_TOKEN") || strings.Contains(s, "AQW-expired-refresh-token") || strings.Contains(s, clientSecret) {
		t.Errorf("log: %s", s)
	}
}

// Client credentials LinkedIn refuses name the client's variables.
func TestInvalidClientNamesTheClient(t *testing.T) {
	h, _, _ := refreshHarness(t, 365*24*time.Hour, func(o *Options) { o.ClientSecret = "wrong-secret" })
	out := h.send(ev("a", activation.StageSQL))
	if out[0].Status != activation.StatusFailed || !strings.Contains(out[0].Detail, "SAM_LINKEDIN_CLIENT_ID") ||
		!strings.Contains(out[0].Detail, "SAM_LINKEDIN_CLIENT_SECRET") || strings.Contains(out[0].Detail, "wrong-secret") {
		t.Errorf("%+v", out[0])
	}
}

// flaky fails the first n requests to the token endpoint before they are
// written, as a refused connection does.
type flaky struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == TokenPath && f.n.Add(-1) >= 0 {
		return nil, errors.New("connect: connection refused")
	}
	return f.next.RoundTrip(r)
}

// A network error on the way to the token endpoint is retried with the
// destination's retry policy.
func TestTokenExchangeRetriesNetworkErrors(t *testing.T) {
	t.Run("then answered", func(t *testing.T) {
		h, _, _ := refreshHarness(t, 365*24*time.Hour, func(o *Options) {
			f := &flaky{next: o.HTTPClient.Transport}
			f.n.Store(2)
			o.HTTPClient = &http.Client{Transport: f}
		})
		if out := h.send(ev("a", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
			t.Errorf("%+v", out[0])
		}
		if len(h.waits) != 2 {
			t.Errorf("waits %v, want 2", h.waits)
		}
	})
	t.Run("every attempt", func(t *testing.T) {
		h, _, _ := refreshHarness(t, 365*24*time.Hour, func(o *Options) {
			f := &flaky{next: o.HTTPClient.Transport}
			f.n.Store(100)
			o.HTTPClient = &http.Client{Transport: f}
		})
		out := h.send(ev("a", activation.StageSQL))
		if out[0].Status != activation.StatusFailed || !strings.Contains(out[0].Detail, "not sent") || !strings.Contains(out[0].Detail, "connection refused") {
			t.Errorf("%+v", out[0])
		}
		if len(h.waits) != 3 {
			t.Errorf("waits %v, want 3 (four attempts)", h.waits)
		}
		// Unlike a refusal, a network error is tried again by the next send.
		h.send(ev("b", activation.StageSQL))
		if len(h.waits) != 6 {
			t.Errorf("the next send did not try again: waits %v", h.waits)
		}
	})
}

// Under 30 days of the refresh token's life left, each exchange warns,
// naming the variable to renew; with more, it says nothing.
func TestRefreshTokenNearItsEndWarns(t *testing.T) {
	h, rt, logs := refreshHarness(t, 20*24*time.Hour, nil)
	if out := h.send(ev("a", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Fatalf("%+v", out[0])
	}
	s := logs.String()
	if !strings.Contains(s, "level=WARN") || !strings.Contains(s, "SAM_LINKEDIN_REFRESH_TOKEN") || !strings.Contains(s, "20 days") || strings.Contains(s, rt) {
		t.Errorf("log: %s", s)
	}
	h, _, logs = refreshHarness(t, 31*24*time.Hour, nil)
	h.send(ev("a", activation.StageSQL))
	if s := logs.String(); strings.Contains(s, "WARN") {
		t.Errorf("warned with 31 days left: %s", s)
	}
}

// Exactly one way to authenticate: an access token, or the three refresh
// settings together. Any one of them turns the destination on.
func TestOneWayToAuthenticate(t *testing.T) {
	refresh := Options{ClientID: clientID, ClientSecret: clientSecret, RefreshToken: "rt", Conversions: conversions()}
	if err := refresh.Validate(); err != nil {
		t.Errorf("the refresh settings: %v", err)
	}
	for _, o := range []Options{{ClientID: clientID}, {ClientSecret: "s"}, {RefreshToken: "rt"}, {TokenURL: "http://127.0.0.1:9/t"}} {
		if !o.Configured() {
			t.Errorf("%+v alone leaves the destination off", o.TokenURL)
		}
	}
	cases := []struct {
		name      string
		mod       func(*Options)
		want, not []string
	}{
		{"client id alone", func(o *Options) { o.ClientSecret, o.RefreshToken = "", "" }, []string{"ClientSecret is required", "RefreshToken is required"}, []string{"ClientID", "AccessToken"}},
		{"no client secret", func(o *Options) { o.ClientSecret = "" }, []string{"ClientSecret is required"}, []string{"ClientID", "RefreshToken", "AccessToken"}},
		{"refresh token alone", func(o *Options) { o.ClientID, o.ClientSecret = "", "" }, []string{"ClientID is required", "ClientSecret is required"}, []string{"RefreshToken", "AccessToken"}},
		{"both ways", func(o *Options) { o.AccessToken = token }, []string{"AccessToken", "RefreshToken"}, nil},
		{"token url with an access token", func(o *Options) {
			o.AccessToken, o.ClientID, o.ClientSecret, o.RefreshToken, o.TokenURL = token, "", "", "", "https://www.linkedin.com/oauth/v2/accessToken"
		}, []string{"TokenURL"}, nil},
		{"bad token url", func(o *Options) { o.TokenURL = "oauth/v2/accessToken" }, []string{"TokenURL"}, nil},
		{"blank in the refresh token", func(o *Options) { o.RefreshToken = "rt\n" }, []string{"RefreshToken contains whitespace"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := refresh
			c.mod(&o)
			err := o.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("%q names %s, which is set or not at fault", err, n)
				}
			}
			for _, secret := range []string{clientSecret, token} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%q shows a secret", err)
				}
			}
		})
	}
}

// rotating answers every exchange with another refresh token than the one
// sent, as an OAuth server that rotates refresh tokens would.
type rotating struct{ next http.RoundTripper }

func (r rotating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Path != TokenPath || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	resp.Body.Close()
	body["refresh_token"] = "rotated-refresh-token"
	b, _ := json.Marshal(body)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return resp, nil
}

// LinkedIn's documentation keeps a refresh token's life through exchanges
// and does not say it rotates. Should an exchange return another refresh
// token, SAM uses it for the run but cannot store it in the secret the next
// run reads, so it warns, naming the variable, without the token.
func TestARotatedRefreshTokenWarns(t *testing.T) {
	h, rt, logs := refreshHarness(t, 365*24*time.Hour, func(o *Options) {
		o.HTTPClient = &http.Client{Transport: rotating{next: o.HTTPClient.Transport}}
	})
	if out := h.send(ev("a", activation.StageSQL)); out[0].Status != activation.StatusAccepted {
		t.Fatalf("%+v", out[0])
	}
	s := logs.String()
	if !strings.Contains(s, "level=WARN") || !strings.Contains(s, "new refresh token") || !strings.Contains(s, "SAM_LINKEDIN_REFRESH_TOKEN") ||
		strings.Contains(s, rt) || strings.Contains(s, "rotated-refresh-token") {
		t.Errorf("log: %s", s)
	}
}
