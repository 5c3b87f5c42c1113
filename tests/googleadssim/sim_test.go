package googleadssim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixed is the simulator's clock in these tests.
var fixed = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

func newSim(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return fixed })
	s.SetLimit(Limit{})
	s.AllowToken("test")
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func call(t *testing.T, client *http.Client, method, url, body string) (reply, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode, Header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.Body)
	return r, nil
}

func ingest(t *testing.T, srv *httptest.Server, body string) reply {
	t.Helper()
	r, err := call(t, srv.Client(), "POST", srv.URL+"/v1/events:ingest", body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func status(t *testing.T, srv *httptest.Server, id string) []any {
	t.Helper()
	r, err := call(t, srv.Client(), "GET", srv.URL+"/v1/requestStatus:retrieve?requestId="+id, "")
	if err != nil || r.Status != 200 {
		t.Fatalf("requestStatus: %v %+v", err, r)
	}
	return r.Body["requestStatusPerDestination"].([]any)
}

// sampleRequest is the first two events of googleads/data-manager-python
// samples/sampledata/events_1.json as samples/events/ingest_events.py turns
// them into an IngestEventsRequest: hex-encoded SHA-256 of the formatted
// emails/phones, transactionId, gclid, value, currency, consent granted.
// Hashes: sha256 of "dana@example.com", "danam@example.com",
// "alexf@example.com" and "+18005550100" (the last is published in the
// official client's tests).
const sampleRequest = `{
 "destinations":[{"operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1234567890"},"productDestinationId":"987654321"}],
 "consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_GRANTED"},
 "encoding":"HEX",
 "events":[
  {"eventTimestamp":"2025-06-05T23:10:12-05:00","transactionId":"ABC1234567","eventSource":"WEB","conversionValue":5.31,"currency":"USD",
   "userData":{"userIdentifiers":[{"emailAddress":"%s"},{"emailAddress":"%s"}]}},
  {"eventTimestamp":"2025-06-06T16:45:09.333Z","transactionId":"DEF987654321","eventSource":"WEB","conversionValue":1.99,"currency":"USD",
   "adIdentifiers":{"gclid":"GCLID123"},
   "userData":{"userIdentifiers":[{"emailAddress":"%s"},{"phoneNumber":"fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30"}]}}
 ]}`

func sample() string {
	return fmt.Sprintf(sampleRequest, sha("dana@example.com"), sha("danam@example.com"), sha("alexf@example.com"))
}

func TestDocumentedSampleIsAccepted(t *testing.T) {
	s, srv := newSim(t)
	r := ingest(t, srv, sample())
	id, _ := r.Body["requestId"].(string)
	if r.Status != 200 || id == "" {
		t.Fatalf("ingest = %+v, want 200 with requestId", r)
	}
	pd := status(t, srv, id)[0].(map[string]any)
	if pd["requestStatus"] != "SUCCESS" || pd["eventsIngestionStatus"].(map[string]any)["recordCount"] != "2" {
		t.Errorf("status = %v", pd)
	}
	if k := s.Key("1234567890/987654321/ABC1234567"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("key = %+v", k)
	}
}

func TestValidateOnlyHasNoEffect(t *testing.T) {
	s, srv := newSim(t)
	body := strings.Replace(sample(), `"encoding":"HEX",`, `"encoding":"HEX","validateOnly":true,`, 1)
	if r := ingest(t, srv, body); r.Status != 200 || r.Body["requestId"] != nil {
		t.Fatalf("validateOnly = %+v", r)
	}
	if st := s.Stats(); st.Events != 0 {
		t.Errorf("validateOnly took effect: %+v", st)
	}
}

// Documented invalid requests fail whole, with google.rpc.Status and the
// Data Manager ErrorReason, and nothing in them takes effect.
func TestInvalidRequestsFailFast(t *testing.T) {
	many := strings.Repeat(`{"eventTimestamp":"2025-06-05T00:00:00Z","adIdentifiers":{"gclid":"g"}},`, MaxEvents+1)
	cases := []struct{ name, body, reason string }{
		{"clear email", strings.Replace(sample(), sha("dana@example.com"), "dana@example.com", 1), "INVALID_SHA256_FORMAT"},
		{"upper-case hex", strings.Replace(sample(), sha("dana@example.com"), strings.ToUpper(sha("dana@example.com")), 1), "INVALID_HEX_ENCODING"},
		{"no encoding", strings.Replace(sample(), `"encoding":"HEX",`, "", 1), "REQUIRED_FIELD_MISSING"},
		{"no timestamp", strings.Replace(sample(), `"eventTimestamp":"2025-06-05T23:10:12-05:00",`, "", 1), "REQUIRED_FIELD_MISSING"},
		{"bad timestamp", strings.Replace(sample(), `2025-06-05T23:10:12-05:00`, `2025-06-05 23:10`, 1), "INVALID_FORMAT"},
		{"future", strings.Replace(sample(), `2025-06-05T23:10:12-05:00`, `2025-07-05T23:10:12Z`, 1), "EVENT_TIME_INVALID"},
		{"currency", strings.Replace(sample(), `"USD"`, `"usd"`, 1), "INVALID_CURRENCY_CODE"},
		{"conversion action", strings.Replace(sample(), `"987654321"`, `"stage_mql"`, 1), "INVALID_CONVERSION_ACTION_ID"},
		{"unknown field", strings.Replace(sample(), `"encoding":"HEX",`, `"encoding":"HEX","orderId":"x",`, 1), "INVALID_ARGUMENT"},
		{"too many events", `{"destinations":[{"operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1"},"productDestinationId":"2"}],"events":[` + strings.TrimSuffix(many, ",") + `]}`, "TOO_MANY_EVENTS"},
		{"no identifier", `{"destinations":[{"operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1"},"productDestinationId":"2"}],"events":[{"eventTimestamp":"2025-06-05T00:00:00Z","transactionId":"t"}]}`, "INVALID_EVENT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv := newSim(t)
			r := ingest(t, srv, c.body)
			e, _ := r.Body["error"].(map[string]any)
			if r.Status != 400 || e == nil || e["status"] != "INVALID_ARGUMENT" || e["code"] != 400.0 {
				t.Fatalf("reply = %d %v, want 400 INVALID_ARGUMENT", r.Status, r.Body)
			}
			info := e["details"].([]any)[0].(map[string]any)
			if info["reason"] != c.reason || info["domain"] != "datamanager.googleapis.com" {
				t.Errorf("ErrorInfo = %v, want reason %s", info, c.reason)
			}
			if st := s.Stats(); st.Events != 0 || st.Rejected != 1 {
				t.Errorf("stats = %+v, want nothing processed", st)
			}
		})
	}
}

func TestUnauthenticated(t *testing.T) {
	_, srv := newSim(t)
	resp, err := http.Post(srv.URL+"/v1/events:ingest", "application/json", strings.NewReader(sample()))
	if err != nil {
		t.Fatal(err)
	}
	var body googleError
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Error.Code != 401 || body.Error.Status != "UNAUTHENTICATED" || errorInfoReason(body) != "CREDENTIALS_MISSING" {
		t.Errorf("no token: %d %+v, want 401 UNAUTHENTICATED, reason CREDENTIALS_MISSING", resp.StatusCode, body)
	}
}

func errorInfoReason(e googleError) string {
	for _, d := range e.Error.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			r, _ := d["reason"].(string)
			return r
		}
	}
	return ""
}

// A token Google did not issue, or one revoked (a service account removed,
// its key deleted), is refused whole, for ingest and for status reads,
// with nothing recorded.
func TestUnknownAndRevokedTokensAreRefused(t *testing.T) {
	s, srv := newSim(t)
	id := ingest(t, srv, sample()).Body["requestId"].(string)
	s.AllowToken("other")
	s.RevokeToken("test")
	for _, tok := range []string{"test", "never-issued"} {
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/v1/events:ingest", sample()},
			{"GET", "/v1/requestStatus:retrieve?requestId=" + id, ""},
		} {
			r, _ := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
			r.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			var body googleError
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 401 || body.Error.Code != 401 || body.Error.Status != "UNAUTHENTICATED" || errorInfoReason(body) != "ACCESS_TOKEN_EXPIRED" {
				t.Errorf("%s %s with token %s: %d %+v, want 401 UNAUTHENTICATED", req.method, req.path, tok, resp.StatusCode, body)
			}
		}
	}
	if st := s.Stats(); st.Requests != 1 || st.Events != 2 {
		t.Errorf("stats %+v: a refused request was counted", st)
	}
}

// transactionId deduplicates per conversion action: the second arrival is
// counted as received, takes no effect, and requestStatus reports it.
func TestDuplicateTransactionID(t *testing.T) {
	s, srv := newSim(t)
	ingest(t, srv, sample())
	r := ingest(t, srv, sample())
	pd := status(t, srv, r.Body["requestId"].(string))[0].(map[string]any)
	counts := pd["errorInfo"].(map[string]any)["errorCounts"].([]any)
	if pd["requestStatus"] != "FAILED" || counts[0].(map[string]any)["reason"] != "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID" {
		t.Errorf("status = %v", pd)
	}
	k := s.Key("1234567890/987654321/ABC1234567")
	st := s.Stats()
	if k != (KeyStats{Received: 2, Effective: 1}) || len(st.DoubleEffects) != 0 || len(st.Duplicates) != 2 {
		t.Errorf("key = %+v, stats = %+v", k, st)
	}
	// Another conversion action is another key.
	ingest(t, srv, strings.Replace(sample(), `"987654321"`, `"987654322"`, 1))
	if k := s.Key("1234567890/987654322/ABC1234567"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("other action key = %+v", k)
	}
}

func TestWindowAndConsent(t *testing.T) {
	s, srv := newSim(t)
	old := strings.Replace(sample(), `2025-06-05T23:10:12-05:00`, `2025-03-01T00:00:00Z`, 1)
	old = strings.Replace(old, `"adUserData":"CONSENT_GRANTED"`, `"adUserData":"CONSENT_DENIED"`, 1)
	old = strings.Replace(old, `"adIdentifiers"`, `"consent":{"adUserData":"CONSENT_GRANTED"},"adIdentifiers"`, 1)
	r := ingest(t, srv, old)
	pd := status(t, srv, r.Body["requestId"].(string))[0].(map[string]any)
	// Event 1 is older than 90 days; event 2 overrides the request's denied
	// consent with its own grant and takes effect.
	if pd["requestStatus"] != "PARTIAL_SUCCESS" || fmt.Sprint(pd["errorInfo"]) != "map[errorCounts:[map[reason:PROCESSING_ERROR_REASON_EVENT_TOO_OLD recordCount:1]]]" {
		t.Errorf("status = %v", pd)
	}
	denied := strings.Replace(sample(), `"adUserData":"CONSENT_GRANTED"`, `"adUserData":"CONSENT_DENIED"`, 1)
	r = ingest(t, srv, strings.ReplaceAll(denied, "ABC1234567", "NEW1"))
	pd = status(t, srv, r.Body["requestId"].(string))[0].(map[string]any)
	if !strings.Contains(fmt.Sprint(pd["errorInfo"]), "PROCESSING_ERROR_REASON_DENIED_CONSENT recordCount:2") {
		t.Errorf("status = %v", pd)
	}
	if s.Key("1234567890/987654321/NEW1").Effective != 0 {
		t.Error("denied consent took effect")
	}
}

// The documented ceiling answers RESOURCE_EXHAUSTED with HTTP 429 and no
// Retry-After; tokens come back at 5 a second.
func TestRateCeiling(t *testing.T) {
	s, srv := newSim(t)
	now := fixed
	s.SetClock(func() time.Time { return now })
	s.SetLimit(DefaultLimit)
	for i := range DefaultLimit.Burst {
		if r := ingest(t, srv, strings.ReplaceAll(sample(), "ABC1234567", fmt.Sprint("T", i))); r.Status != 200 {
			t.Fatalf("request %d = %d", i, r.Status)
		}
	}
	r := ingest(t, srv, sample())
	e, _ := r.Body["error"].(map[string]any)
	if r.Status != 429 || e["status"] != "RESOURCE_EXHAUSTED" || r.Header.Get("Retry-After") != "" {
		t.Fatalf("over the ceiling = %d %v %v", r.Status, r.Body, r.Header)
	}
	now = now.Add(time.Second)
	if r := ingest(t, srv, sample()); r.Status != 200 {
		t.Errorf("after a second = %d", r.Status)
	}
	if st := s.Stats(); st.Throttled != 1 {
		t.Errorf("throttled = %d", st.Throttled)
	}
}

func TestFaults(t *testing.T) {
	key := "1234567890/987654321/ABC1234567"
	t.Run("reset after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: ResetAfterRead})
		if _, err := call(t, srv.Client(), "POST", srv.URL+"/v1/events:ingest", sample()); err == nil {
			t.Fatal("no error after a reset")
		}
		if k := s.Key(key); k != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v: the request should have taken effect", k)
		}
	})
	t.Run("timeout after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: TimeoutAfterRead, Delay: 300 * time.Millisecond})
		c := &http.Client{Timeout: 50 * time.Millisecond}
		if _, err := call(t, c, "POST", srv.URL+"/v1/events:ingest", sample()); err == nil {
			t.Fatal("no timeout")
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.Key(key).Effective == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if k := s.Key(key); k != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v: the late request should have taken effect", k)
		}
	})
	t.Run("5xx after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: ServerErrorAfterRead, Status: 503})
		r := ingest(t, srv, sample())
		if e := r.Body["error"].(map[string]any); r.Status != 503 || e["status"] != "UNAVAILABLE" {
			t.Errorf("reply = %+v", r)
		}
		if k := s.Key(key); k != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v", k)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: TooManyRequests, RetryAfter: 2 * time.Second})
		r := ingest(t, srv, sample())
		if r.Status != 429 || r.Header.Get("Retry-After") != "2" {
			t.Errorf("reply = %d %v", r.Status, r.Header)
		}
		if k := s.Key(key); k != (KeyStats{}) {
			t.Errorf("key = %+v: a 429 must not take effect", k)
		}
		if r := ingest(t, srv, sample()); r.Status != 200 {
			t.Errorf("second request = %d", r.Status)
		}
	})
	t.Run("partial failure", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: PartialFailure})
		r := ingest(t, srv, sample())
		pd := status(t, srv, r.Body["requestId"].(string))[0].(map[string]any)
		if r.Status != 200 || pd["requestStatus"] != "PARTIAL_SUCCESS" {
			t.Errorf("status = %v", pd)
		}
		if s.Key(key).Effective != 0 || s.Key("1234567890/987654321/DEF987654321").Effective != 1 {
			t.Errorf("keys = %v", s.Keys())
		}
	})
	t.Run("fraction is deterministic", func(t *testing.T) {
		pick := func() []int {
			s, _ := New("")
			s.AllowToken("test")
			s.InjectFraction(0.3, 7, Fault{Kind: TooManyRequests})
			h := s.Handler()
			var got []int
			for n := 1; n <= 50; n++ {
				// The fault is picked before the body is judged, so an
				// empty body numbers a request as well as a valid one.
				req := httptest.NewRequest("POST", "/v1/events:ingest", nil)
				req.Header.Set("Authorization", "Bearer test")
				before := s.Stats().Injected
				h.ServeHTTP(httptest.NewRecorder(), req)
				if s.Stats().Injected > before {
					got = append(got, n)
				}
			}
			return got
		}
		a, b := pick(), pick()
		if fmt.Sprint(a) != fmt.Sprint(b) || len(a) < 5 || len(a) > 25 {
			t.Errorf("picks %v and %v", a, b)
		}
	})
}

func TestStartPersistsAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "googleads.ndjson")
	s, err := Start(context.Background(), "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return fixed })
	s.AllowToken("test")
	if r, err := call(t, http.DefaultClient, "POST", s.URL()+"/v1/events:ingest", sample()); err != nil || r.Status != 200 {
		t.Fatalf("ingest: %v %+v", err, r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if k := again.Key("1234567890/987654321/ABC1234567"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("reloaded key = %+v", k)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Status reads have their own ceiling of 300 a minute (limits page:
// IngestionService reads are counted apart from mutations).
func TestReadCeiling(t *testing.T) {
	s, srv := newSim(t)
	id := ingest(t, srv, sample()).Body["requestId"].(string)
	now := fixed
	s.SetClock(func() time.Time { return now })
	s.SetLimit(DefaultLimit)
	for range DefaultLimit.Burst {
		status(t, srv, id)
	}
	r, err := call(t, srv.Client(), "GET", srv.URL+"/v1/requestStatus:retrieve?requestId="+id, "")
	if err != nil || r.Status != 429 {
		t.Fatalf("read over the ceiling = %v %+v", err, r)
	}
	now = now.Add(time.Second)
	status(t, srv, id)
}

// A token reaches the accounts granted to it and no other: a request
// naming another operating account, or a login account the token is not a
// user of, is refused whole with 403 PERMISSION_DENIED, before validation
// and with nothing recorded.
func TestAccountAccess(t *testing.T) {
	const other = "1111111111"
	viaManager := strings.Replace(sample(), `"operatingAccount"`, `"loginAccount":{"accountType":"GOOGLE_ADS","accountId":"9999999999"},"operatingAccount"`, 1)
	invalid := strings.Replace(sample(), sha("dana@example.com"), "dana@example.com", 1)
	validateOnly := strings.Replace(sample(), `"encoding":"HEX",`, `"encoding":"HEX","validateOnly":true,`, 1)
	cases := []struct {
		name   string
		setup  func(*Server)
		body   string
		status int
	}{
		{"no grants: every account", func(*Server) {}, sample(), 200},
		{"granted", func(s *Server) { s.GrantAccess("test", "1234567890") }, sample(), 200},
		{"another account granted", func(s *Server) { s.GrantAccess("test", other) }, sample(), 403},
		{"revoked", func(s *Server) { s.GrantAccess("test", "1234567890"); s.RevokeAccess("test", "1234567890") }, sample(), 403},
		{"revoked without grants", func(s *Server) { s.RevokeAccess("test", "1234567890") }, sample(), 403},
		{"another revoked without grants", func(s *Server) { s.RevokeAccess("test", other) }, sample(), 200},
		{"another token's grants", func(s *Server) { s.AllowToken("u"); s.GrantAccess("u", other) }, sample(), 200},
		{"granted again", func(s *Server) {
			s.GrantAccess("test", "1234567890")
			s.RevokeAccess("test", "1234567890")
			s.GrantAccess("test", "1234567890")
		}, sample(), 200},
		{"manager and account granted", func(s *Server) { s.GrantAccess("test", "9999999999", "1234567890") }, viaManager, 200},
		{"manager not granted", func(s *Server) { s.GrantAccess("test", "1234567890") }, viaManager, 403},
		{"manager no longer reaches the account", func(s *Server) {
			s.GrantAccess("test", "9999999999", "1234567890")
			s.RevokeAccess("test", "1234567890")
		}, viaManager, 403},
		{"denied before validation", func(s *Server) { s.GrantAccess("test", other) }, invalid, 403},
		{"invalid when granted", func(s *Server) { s.GrantAccess("test", "1234567890") }, invalid, 400},
		{"validateOnly denied", func(s *Server) { s.GrantAccess("test", other) }, validateOnly, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv := newSim(t)
			c.setup(s)
			r := ingest(t, srv, c.body)
			if r.Status != c.status {
				t.Fatalf("reply = %d %v, want %d", r.Status, r.Body, c.status)
			}
			if c.status != 403 {
				return
			}
			e, _ := r.Body["error"].(map[string]any)
			if e == nil || e["code"] != 403.0 || e["status"] != "PERMISSION_DENIED" {
				t.Fatalf("error = %v, want 403 PERMISSION_DENIED", r.Body)
			}
			info := e["details"].([]any)[0].(map[string]any)
			if info["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" || info["reason"] != "PERMISSION_DENIED" || info["domain"] != "datamanager.googleapis.com" {
				t.Errorf("ErrorInfo = %v, want reason PERMISSION_DENIED of datamanager.googleapis.com", info)
			}
			if st := s.Stats(); st.Events != 0 || st.Effects != 0 || st.Rejected != 0 || len(s.Keys()) != 0 {
				t.Errorf("stats = %+v, keys %v: a denied request was processed", st, s.Keys())
			}
		})
	}
}

// Credentials come before permissions: a token Google does not honour is
// 401 whatever it was granted.
func TestUnauthenticatedBeforePermission(t *testing.T) {
	s, srv := newSim(t)
	s.GrantAccess("test", "1111111111")
	s.RevokeToken("test")
	if r := ingest(t, srv, sample()); r.Status != 401 {
		t.Errorf("revoked token without access = %d %v, want 401", r.Status, r.Body)
	}
}

// A token minted without the API's scope, and any token while the API is
// disabled in the credentials' project, are refused whole with 403 by
// Google's front end, for ingest and status reads, with nothing recorded.
func TestScopeAndDisabledAPIAreRefused(t *testing.T) {
	s, srv := newSim(t)
	id := ingest(t, srv, sample()).Body["requestId"].(string)
	call := func(method, path, body string) (int, googleError) {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer test")
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e googleError
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	consumer := func(e googleError) any {
		for _, d := range e.Error.Details {
			if m, ok := d["metadata"].(map[string]any); ok {
				return m["consumer"]
			}
		}
		return nil
	}
	for _, c := range []struct {
		name, reason string
		consumer     any
		set          func()
	}{
		{"token without the scope", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", nil, func() {
			s.SetScopes("test", "https://www.googleapis.com/auth/cloud-platform")
		}},
		{"API disabled", "SERVICE_DISABLED", "projects/sam-prod", func() {
			s.SetScopes("test", "https://www.googleapis.com/auth/cloud-platform", Scope)
			s.DisableAPI("sam-prod")
		}},
	} {
		c.set()
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/v1/events:ingest", sample()},
			{"GET", "/v1/requestStatus:retrieve?requestId=" + id, ""},
		} {
			code, e := call(req.method, req.path, req.body)
			if code != 403 || e.Error.Status != "PERMISSION_DENIED" || errorInfoReason(e) != c.reason || consumer(e) != c.consumer {
				t.Errorf("%s: %s %s: %d %+v, want 403 PERMISSION_DENIED, reason %s, consumer %v", c.name, req.method, req.path, code, e, c.reason, c.consumer)
			}
		}
	}
	s.EnableAPI()
	if code, e := call("POST", "/v1/events:ingest", sample()); code != 200 {
		t.Errorf("with the API enabled again: %d %+v", code, e)
	}
	if st := s.Stats(); st.Requests != 2 {
		t.Errorf("stats %+v: a refused request was counted", st)
	}
}
