package activation_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/googleads"
	"github.com/sam-attribution/sam/activation/linkedin"
	"github.com/sam-attribution/sam/activation/meta"
	"github.com/sam-attribution/sam/tests/googleadssim"
	"github.com/sam-attribution/sam/tests/linkedinsim"
	"github.com/sam-attribution/sam/tests/metasim"
	"github.com/sam-attribution/sam/tests/simcore"
)

// Each platform stops honouring SAM's credentials in the middle of a run,
// as it does when a Meta system user's token is revoked, the Google
// service account is removed or its key deleted, or a LinkedIn member
// revokes the application. The simulators refuse the token as the
// platforms do, whole and before anything of the request is processed.
// The destination's events from then on fail (not unknown: nothing was
// recorded), each refused request is made once (a refusal is not retried
// in a loop), the destination is given up for the run after the breaker's
// requests in a row, the run says so, the other destinations deliver
// everything, and the next run, with credentials the platform honours,
// sends exactly the events the ledger did not record delivered.
func TestCredentialsRevokedMidRun(t *testing.T) {
	for _, victim := range []string{"google_ads", "meta", "linkedin", "linkedin_refresh"} {
		t.Run(victim, func(t *testing.T) { revokedMidRun(t, victim) })
	}
}

const (
	credLeads  = 100 // an sql and a won event each
	credEvents = 2 * credLeads
	credBatch  = 5 // 40 requests of the victim: the breaker trips
	// credConc is one sender a destination: the breaker counts failures in
	// the order requests end, so with more senders a request answered
	// before the revocation but counted after some refusals restarts the
	// count, and the refusals the simulator sees vary from run to run.
	credConc       = 1
	credRevokeAt   = 6 // the victim's request that meets the revoked token
	credClientID   = "sam-test"
	credClientSecr = "client-secret"
	// adsCustomer is the Google Ads account the conversions go to.
	adsCustomer = "1234567890"
)

// credEventsList is the run's events: recent, consented, with a gclid, a
// Meta lead id and a hashed email, so every destination takes all of them.
func credEventsList() activation.SliceEvents {
	now := time.Now().UTC()
	var out activation.SliceEvents
	for i := range credEvents {
		lead := i / 2
		stage, kind := activation.StageSQL, activation.ValuePredicted
		if i%2 == 1 {
			stage, kind = activation.StageWon, activation.ValueActual
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("lead%d@example.com", lead)))
		email := hex.EncodeToString(sum[:])
		key := sha256.Sum256([]byte(fmt.Sprint("cred-", i))) // a hex fingerprint, as the model's keys are
		out = append(out, activation.Event{
			Key: hex.EncodeToString(key[:16]), LeadID: fmt.Sprintf("L%d", lead), Stage: stage,
			EventAt: now.Add(-time.Hour), LeadAt: now.Add(-2 * time.Hour), Value: float64(100 + i), Currency: "USD", ValueKind: kind,
			ClientKey: fmt.Sprintf("%d.%d", 500000+lead/10, 1700000000+lead/10), LastSessionAt: now.Add(-time.Hour),
			Gclid: fmt.Sprintf("Cj0KCQiA%08d", lead), ClickAt: now.Add(-3 * time.Hour),
			MetaLeadID: fmt.Sprint(100000000000000 + lead), EmailSHA256: email, EmailSHA256Google: email,
			AdUserData: activation.ConsentGranted, AdPersonalization: activation.ConsentGranted,
		})
	}
	return out
}

// revoker wraps a simulator: the ingestion request number at is refused,
// and every one after it, because revoke ends the token it carries first
// (or, for Google Ads, the token's access to the account). It counts the
// requests refused and how often each body came.
type revoker struct {
	next   http.Handler
	ingest func(*http.Request) bool
	at     int
	revoke func(token string)

	mu      sync.Mutex
	n       int
	revoked bool
	refused int
	bodies  map[string]int // refused request bodies, by hash
}

func (rv *revoker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !rv.ingest(r) {
		rv.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	rec := httptest.NewRecorder()
	rv.mu.Lock()
	rv.n++
	if rv.n == rv.at && !rv.revoked {
		rv.revoked = true
		rv.revoke(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	rv.mu.Unlock()
	rv.next.ServeHTTP(rec, r)
	if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden || strings.Contains(rec.Body.String(), `"code":190`) {
		sum := sha256.Sum256(body)
		rv.mu.Lock()
		rv.refused++
		rv.bodies[hex.EncodeToString(sum[:])]++
		rv.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// credSims are the three platforms' simulators, each honouring token.
type credSims struct {
	ads  *googleadssim.Server
	meta *metasim.Server
	li   *linkedinsim.Server
	urls map[string]string
	rv   *revoker
	// adsLogin is the Google Ads destination's LoginCustomerID.
	adsLogin string
}

func newCredSims(t *testing.T, token, victim string) *credSims {
	t.Helper()
	s := &credSims{urls: map[string]string{}}
	var err error
	fast := simcore.Limit{Rate: 100000, Burst: 1000}
	if s.ads, err = googleadssim.New(""); err != nil {
		t.Fatal(err)
	}
	if s.meta, err = metasim.New(""); err != nil {
		t.Fatal(err)
	}
	if s.li, err = linkedinsim.New(""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface {
		SetLimit(simcore.Limit)
		AllowToken(string)
		Close() error
	}{s.ads, s.meta, s.li} {
		c.SetLimit(fast)
		c.AllowToken(token)
		t.Cleanup(func() { c.Close() })
	}
	s.li.AddClient(credClientID, credClientSecr)
	handlers := map[string]http.Handler{"google_ads": s.ads.Handler(), "meta": s.meta.Handler(), "linkedin": s.li.Handler()}
	ingest := map[string]func(*http.Request) bool{
		"google_ads": func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/events:ingest") },
		"meta":       func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/events") },
		"linkedin":   func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/conversionEvents") },
	}
	revoke := map[string]func(string){"google_ads": s.ads.RevokeToken, "meta": s.meta.RevokeToken, "linkedin": s.li.RevokeToken}
	platform := strings.TrimSuffix(victim, "_refresh")
	for name, h := range handlers {
		if name == platform {
			s.rv = &revoker{next: h, ingest: ingest[name], at: credRevokeAt, revoke: revoke[name], bodies: map[string]int{}}
			h = s.rv
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		s.urls[name] = srv.URL
	}
	return s
}

// destinations builds the three destinations with token; LinkedIn takes
// refresh when it is set (the refresh flow), else token. The victim sends
// small requests, so that it makes many; the others large ones (Google's
// quota is 300 requests a minute, which the destination keeps to).
func (s *credSims) destinations(t *testing.T, victim, token, refresh string) []activation.Destination {
	t.Helper()
	batch := func(name string) int {
		if name == strings.TrimSuffix(victim, "_refresh") {
			return credBatch
		}
		return 100
	}
	ads, err := googleads.New(googleads.Options{CustomerID: adsCustomer, LoginCustomerID: s.adsLogin, AccessToken: token, Endpoint: s.urls["google_ads"] + "/",
		ConversionActions: map[string]string{"sql": "7003", "won": "7005"}, MaxBatch: batch("google_ads"),
		StatusWait: 2 * time.Second, StatusPoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := meta.New(meta.Options{AccessToken: token, DatasetID: "123456789012345", EventNames: meta.DefaultEventNames(),
		LeadEventSource: "SAM", BaseURL: s.urls["meta"], MaxBatch: batch("meta"), RequestsPerSecond: 10000, Burst: 100, RequireConsent: true})
	if err != nil {
		t.Fatal(err)
	}
	lo := linkedin.Options{AccessToken: token, Conversions: map[string]string{"sql": "9003", "won": "9005"},
		BaseURL: s.urls["linkedin"] + "/rest", MaxBatch: batch("linkedin"), RequestsPerSecond: 10000, Burst: 100, RequireConsent: true}
	if refresh != "" {
		lo.AccessToken, lo.ClientID, lo.ClientSecret, lo.RefreshToken = "", credClientID, credClientSecr, refresh
		lo.TokenURL = s.urls["linkedin"] + linkedinsim.TokenPath
	}
	li, err := linkedin.New(lo)
	if err != nil {
		t.Fatal(err)
	}
	return []activation.Destination{ads, mt, li}
}

func revokedMidRun(t *testing.T, victim string) {
	ctx := context.Background()
	s := newCredSims(t, "token-1", victim)
	platform := strings.TrimSuffix(victim, "_refresh")
	var refresh string
	if victim == "linkedin_refresh" {
		// The member revokes the application: its access token and its
		// refresh token end together.
		refresh = s.li.IssueRefreshToken(credClientID, 365*24*time.Hour)
		s.rv.revoke = func(access string) { s.li.RevokeToken(access); s.li.RevokeToken(refresh) }
	}
	ledger := &activation.MemoryLedger{}
	evs := credEventsList()
	r := &activation.Runner{Ledger: ledger, Events: evs, Destinations: s.destinations(t, victim, "token-1", refresh), Concurrency: credConc}
	rep, err := r.Run(ctx, "run1")
	if err != nil {
		t.Fatal(err)
	}
	delivered, failed := givenUpAfterRefusals(t, rep, s.rv, platform)
	// The run says the events failed, that the destination was given up,
	// and why: the platform's refusal of the credentials.
	refusal := map[string]string{"google_ads": "HTTP 401 ACCESS_TOKEN_EXPIRED", "meta": "Graph error code 190", "linkedin": "HTTP 401 REVOKED_ACCESS_TOKEN"}[platform]
	err = rep.Err()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%s: %d event(s) failed", platform, failed)) || !strings.Contains(err.Error(), "given up") ||
		!strings.Contains(err.Error(), "the last failure: ") || !strings.Contains(err.Error(), refusal) {
		t.Errorf("the run's error %v, want it to say %s's events failed, it was given up, and the last failure was %q", err, platform, refusal)
	}
	stats := map[string]func() simcore.Stats{"google_ads": s.ads.Stats, "meta": s.meta.Stats, "linkedin": s.li.Stats}
	if st := stats[platform](); st.Effects != delivered {
		t.Errorf("%s took %d effects, the ledger says %d delivered", platform, st.Effects, delivered)
	}

	// New credentials, and the next run.
	s.ads.AllowToken("token-2")
	s.meta.AllowToken("token-2")
	s.li.AllowToken("token-2")
	if refresh != "" {
		refresh = s.li.IssueRefreshToken(credClientID, 365*24*time.Hour)
	}
	r.Destinations = s.destinations(t, victim, "token-2", refresh)
	rep, err = r.Run(ctx, "run2")
	if err != nil {
		t.Fatal(err)
	}
	sendsTheRest(t, rep, platform, delivered)
	for name, st := range stats {
		if got := st(); got.Effects != credEvents || len(got.DoubleEffects) > 0 {
			t.Errorf("%s: %d of %d events took effect, twice: %v", name, got.Effects, credEvents, got.DoubleEffects)
		}
	}
}

// givenUpAfterRefusals checks the first run of a test in which platform
// refuses every request from one on, whole, before processing it: its
// events failed (none unknown) and are all accounted for, each refused
// request was made once, the destination was given up after the
// breaker's 16 refusals in a row, and every other destination accepted
// every event. It returns platform's delivered and failed counts.
func givenUpAfterRefusals(t *testing.T, rep activation.Report, rv *revoker, platform string) (delivered, failed int) {
	t.Helper()
	var dr activation.DestinationReport
	for _, d := range rep.Destinations {
		if d.Destination == platform {
			dr = d
		} else if n := d.Counts[activation.StatusAccepted]; n != credEvents {
			t.Errorf("%s accepted %d of %d events while %s refused the requests (counts %v)", d.Destination, n, credEvents, platform, d.Counts)
		}
	}
	delivered = dr.Counts[activation.StatusAccepted] + dr.Counts[activation.StatusSent]
	failed = dr.Counts[activation.StatusFailed]
	t.Logf("%s, first run: counts %v, %d not attempted, %d requests; the simulator refused %d", platform, dr.Counts, dr.NotAttempted, dr.Requests, rv.refused)
	if n := dr.Counts[activation.StatusUnknown]; n > 0 {
		t.Errorf("%d event(s) unknown: a request refused whole was recorded as maybe delivered", n)
	}
	if failed == 0 || delivered+failed+dr.NotAttempted != credEvents {
		t.Errorf("%d delivered, %d failed, %d not attempted; want failures, and the %d events accounted for", delivered, failed, dr.NotAttempted, credEvents)
	}
	if dr.NotAttempted == 0 {
		t.Errorf("every remaining request was made although the platform refuses them; want the destination given up for the run")
	}
	if rv.refused != 16 {
		t.Errorf("the simulator refused %d requests, want the breaker's 16 in a row", rv.refused)
	}
	for body, n := range rv.bodies {
		if n > 1 {
			t.Errorf("a refused request was made %d times (body %s…): a refusal is not worth a retry", n, body[:8])
		}
	}
	return delivered, failed
}

// sendsTheRest checks the run after such a refusal: without an error,
// platform accepted every event not delivered before, and the other
// destinations found theirs done.
func sendsTheRest(t *testing.T, rep activation.Report, platform string, delivered int) {
	t.Helper()
	if err := rep.Err(); err != nil {
		t.Errorf("second run: %v", err)
	}
	for _, dr := range rep.Destinations {
		want := 0
		if dr.Destination == platform {
			want = credEvents - delivered
		}
		if n := dr.Counts[activation.StatusAccepted]; n != want || dr.Done != credEvents-want {
			t.Errorf("second run, %s: %d accepted and %d done before, want %d and %d (counts %v)", dr.Destination, n, dr.Done, want, credEvents-want, dr.Counts)
		}
	}
}
