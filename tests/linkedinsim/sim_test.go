package linkedinsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var fixed = time.UnixMilli(1695950057000 + 24*3600*1000).UTC()

func newSim(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return fixed })
	s.SetLimit(Limit{})
	s.AllowToken("tok")
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func send(c *http.Client, base, body string, batch bool) (reply, error) {
	req, _ := http.NewRequest("POST", base+"/rest/conversionEvents", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("LinkedIn-Version", "202601")
	req.Header.Set("X-Restli-Protocol-Version", "2.0.0")
	req.Header.Set("Content-Type", "application/json")
	if batch {
		req.Header.Set("X-RestLi-Method", "BATCH_CREATE")
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode, Header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.Body)
	return r, nil
}

func post(t *testing.T, srv *httptest.Server, body string, batch bool) reply {
	t.Helper()
	r, err := send(srv.Client(), srv.URL, body, batch)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// docExample is the documented batch example (StreamMultipleConversionEvents
// request), with its second SHA256_EMAIL replaced by a real digest: the
// example's "dsfgrtg56u..." is not hex, and LinkedIn asks for SHA-256.
const docExample = `{"elements":[
 {"conversion":"urn:lla:llaPartnerConversion:104012","conversionHappenedAt":1695739275000,"conversionValue":{"currencyCode":"USD","amount":"1500.0"},
  "user":{"userIds":[{"idType":"SHA256_EMAIL","idValue":"bad8677b6c86f5d308ee82786c183482a5995f066694246c58c4df37b0cc41f1"},{"idType":"LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID","idValue":"df5gf5-gh6t7-ph4j7h-fgf6n1"}],
   "userInfo":{"firstName":"mike","lastName":"smith","title":"software engineer","companyName":"microsoft","countryCode":"US"}},"eventId":"abc12345"},
 {"conversion":"urn:lla:llaPartnerConversion:104012","conversionHappenedAt":1695950057000,"conversionValue":{"currencyCode":"USD","amount":"2000.0"},
  "user":{"userIds":[{"idType":"SHA256_EMAIL","idValue":"509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"},{"idType":"LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID","idValue":"ufh8h5-gh6t7-ph4j7h-mkl86n1"}],
   "userInfo":{"firstName":"jason","lastName":"bourne","title":"tech lead","companyName":"linkedin","countryCode":"US"}},"eventId":"xyz345"}]}`

func one(eventID string, at time.Time) string {
	return fmt.Sprintf(`{"conversion":"urn:lla:llaPartnerConversion:104012","conversionHappenedAt":%d,"user":{"userIds":[{"idType":"SHA256_EMAIL","idValue":"509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"}]},"eventId":%q}`, at.UnixMilli(), eventID)
}

func TestDocumentedBatchIsAccepted(t *testing.T) {
	s, srv := newSim(t)
	r := post(t, srv, docExample, true)
	els, _ := r.Body["elements"].([]any)
	if r.Status != 200 || len(els) != 2 || els[0].(map[string]any)["status"] != 201.0 || els[1].(map[string]any)["status"] != 201.0 {
		t.Fatalf("reply = %+v", r)
	}
	if k := s.Key("urn:lla:llaPartnerConversion:104012/xyz345"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("key = %+v", k)
	}
	if r := post(t, srv, one("single", fixed.Add(-time.Hour)), false); r.Status != 201 {
		t.Errorf("single create = %+v", r)
	}
}

// Invalid elements fail on their own with per-element statuses; the rest of
// the batch takes effect.
func TestPerElementErrors(t *testing.T) {
	bad := []string{
		strings.Replace(one("a", fixed.Add(-time.Hour)), `"SHA256_EMAIL"`, `"EMAIL"`, 1),
		strings.Replace(one("b", fixed.Add(-time.Hour)), "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a", "jane@example.com", 1),
		one("c", fixed.Add(-91*24*time.Hour)),
		fmt.Sprintf(`{"conversion":"urn:lla:llaPartnerConversion:104012","conversionHappenedAt":%d,"user":{"userIds":[]},"eventId":"d"}`, fixed.Add(-time.Hour).Unix()),
		strings.Replace(one("e", fixed.Add(-time.Hour)), "llaPartnerConversion:104012", "conversionRule:1", 1),
		strings.Replace(one("f", fixed.Add(-time.Hour)), `,"user":{"userIds":[{"idType":"SHA256_EMAIL","idValue":"509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"}]}`, "", 1),
		one("ok", fixed.Add(-time.Hour)),
	}
	s, srv := newSim(t)
	r := post(t, srv, `{"elements":[`+strings.Join(bad, ",")+`]}`, true)
	els := r.Body["elements"].([]any)
	for i, e := range els[:len(els)-1] {
		m := e.(map[string]any)
		if m["status"] != 422.0 || m["error"] == nil {
			t.Errorf("element %d = %v, want 422 with an error", i, m)
		}
	}
	if last := els[len(els)-1].(map[string]any); last["status"] != 201.0 {
		t.Errorf("valid element = %v", last)
	}
	if st := s.Stats(); st.Effects != 1 {
		t.Errorf("stats = %+v", st)
	}
	many := strings.TrimSuffix(strings.Repeat(one("x", fixed.Add(-time.Hour))+",", MaxElements+1), ",")
	if r := post(t, srv, `{"elements":[`+many+`]}`, true); r.Status != 400 {
		t.Errorf("too many = %d", r.Status)
	}
}

func TestRequiredHeaders(t *testing.T) {
	_, srv := newSim(t)
	for _, drop := range []string{"Authorization", "LinkedIn-Version", "X-Restli-Protocol-Version"} {
		req, _ := http.NewRequest("POST", srv.URL+"/rest/conversionEvents", strings.NewReader(one("k", fixed.Add(-time.Hour))))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("LinkedIn-Version", "202601")
		req.Header.Set("X-Restli-Protocol-Version", "2.0.0")
		req.Header.Del(drop)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Errorf("without %s: %d", drop, resp.StatusCode)
		}
	}
}

func TestDedupAndThrottle(t *testing.T) {
	s, srv := newSim(t)
	ev := one("k", fixed.Add(-time.Hour))
	post(t, srv, ev, false)
	if r := post(t, srv, ev, false); r.Status != 201 {
		t.Errorf("duplicate answered %d, want 201", r.Status)
	}
	if k := s.Key("urn:lla:llaPartnerConversion:104012/k"); k != (KeyStats{Received: 2, Effective: 1}) {
		t.Errorf("key = %+v", k)
	}
	s.SetLimit(Limit{Rate: 1, Burst: 1})
	post(t, srv, one("a", fixed.Add(-time.Hour)), false)
	r := post(t, srv, one("b", fixed.Add(-time.Hour)), false)
	if r.Status != 429 || r.Body["status"] != 429.0 || r.Header.Get("Retry-After") != "" {
		t.Errorf("throttled = %+v", r)
	}
}

func TestFaults(t *testing.T) {
	ev := one("k", fixed.Add(-time.Hour))
	key := "urn:lla:llaPartnerConversion:104012/k"
	t.Run("reset after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: ResetAfterRead})
		if _, err := send(srv.Client(), srv.URL, ev, false); err == nil {
			t.Fatal("no error")
		}
		if s.Key(key) != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v", s.Key(key))
		}
	})
	t.Run("timeout after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: TimeoutAfterRead, Delay: 200 * time.Millisecond})
		if _, err := send(&http.Client{Timeout: 30 * time.Millisecond}, srv.URL, ev, false); err == nil {
			t.Fatal("no timeout")
		}
		for range 300 {
			if s.Key(key).Effective == 1 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if s.Key(key) != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v", s.Key(key))
		}
	})
	t.Run("5xx after read", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: ServerErrorAfterRead, Status: 503})
		if r := post(t, srv, ev, false); r.Status != 503 || s.Key(key) != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("reply = %+v key = %+v", r, s.Key(key))
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: TooManyRequests, RetryAfter: time.Second})
		if r := post(t, srv, ev, false); r.Status != 429 || r.Header.Get("Retry-After") != "1" || s.Key(key) != (KeyStats{}) {
			t.Errorf("reply = %+v", r)
		}
	})
	t.Run("partial failure", func(t *testing.T) {
		s, srv := newSim(t)
		s.InjectNth(1, Fault{Kind: PartialFailure})
		r := post(t, srv, `{"elements":[`+ev+`,`+one("k2", fixed.Add(-time.Hour))+`]}`, true)
		els := r.Body["elements"].([]any)
		if els[0].(map[string]any)["status"] != 500.0 || els[1].(map[string]any)["status"] != 201.0 {
			t.Errorf("elements = %v", els)
		}
		if s.Key(key).Effective != 0 || s.Key(key+"2").Effective != 1 {
			t.Errorf("keys = %v", s.Keys())
		}
	})
}

func TestStartPersistsAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkedin.ndjson")
	s, err := Start(context.Background(), "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return fixed })
	s.AllowToken("tok")
	if r, err := send(http.DefaultClient, s.URL(), one("k", fixed.Add(-time.Hour)), false); err != nil || r.Status != 201 {
		t.Fatalf("%v %+v", err, r)
	}
	s.Close()
	again, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if k := again.Key("urn:lla:llaPartnerConversion:104012/k"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("reloaded key = %+v", k)
	}
}

func TestLongEventIDIsRejected(t *testing.T) {
	s, srv := newSim(t)
	long := strings.Repeat("e", MaxEventID+1)
	r := post(t, srv, `{"elements":[`+one(long, fixed.Add(-time.Hour))+`,`+one(long[1:], fixed.Add(-time.Hour))+`]}`, true)
	els := r.Body["elements"].([]any)
	if els[0].(map[string]any)["status"] != 422.0 || els[1].(map[string]any)["status"] != 201.0 {
		t.Errorf("elements = %v", els)
	}
	if st := s.Stats(); st.Effects != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// exchange posts a refresh-token grant to the token endpoint as form.
func exchange(t *testing.T, srv *httptest.Server, form url.Values) reply {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+"/oauth/v2/accessToken", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode, Header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.Body)
	return r
}

func grant(refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"app"}, "client_secret": {"app-secret"}}
}

// The token endpoint answers a refresh-token grant with a new access token
// and the refresh token's remaining life, which refreshing does not extend.
func TestRefreshTokenExchange(t *testing.T) {
	s, srv := newSim(t)
	s.AddClient("app", "app-secret")
	rt := s.IssueRefreshToken("app", 365*24*time.Hour)
	r := exchange(t, srv, grant(rt))
	if r.Status != 200 || r.Body["access_token"] == "" || r.Body["expires_in"] != float64(60*24*3600) ||
		r.Body["refresh_token"] != rt || r.Body["refresh_token_expires_in"] != float64(365*24*3600) {
		t.Fatalf("exchange = %+v", r)
	}
	tok := r.Body["access_token"].(string)
	req, _ := http.NewRequest("POST", srv.URL+"/rest/conversionEvents", strings.NewReader(one("k", fixed.Add(-time.Hour))))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("LinkedIn-Version", "202601")
	req.Header.Set("X-Restli-Protocol-Version", "2.0.0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("with the issued token: %d", resp.StatusCode)
	}
	if s.Exchanges() != 1 {
		t.Errorf("exchanges = %d", s.Exchanges())
	}
	s.SetClock(func() time.Time { return fixed.Add(59 * 24 * time.Hour) })
	if r := exchange(t, srv, grant(rt)); r.Status != 200 || r.Body["refresh_token_expires_in"] != float64(306*24*3600) {
		t.Errorf("on day 59: %+v", r)
	}
}

func TestRefreshTokenExchangeRefusals(t *testing.T) {
	s, srv := newSim(t)
	s.AddClient("app", "app-secret")
	rt := s.IssueRefreshToken("app", 24*time.Hour)
	wrongSecret := grant(rt)
	wrongSecret.Set("client_secret", "other")
	noGrant := grant(rt)
	noGrant.Del("grant_type")
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		err    string
	}{
		"unknown refresh token": {grant("never-issued"), 400, "invalid_grant"},
		"wrong client secret":   {wrongSecret, 401, "invalid_client"},
		"no grant type":         {noGrant, 400, "invalid_request"},
	} {
		if r := exchange(t, srv, tc.form); r.Status != tc.status || r.Body["error"] != tc.err || r.Body["error_description"] == "" || r.Body["access_token"] != nil {
			t.Errorf("%s: %+v", name, r)
		}
	}
	s.SetClock(func() time.Time { return fixed.Add(25 * time.Hour) })
	if r := exchange(t, srv, grant(rt)); r.Status != 400 || r.Body["error"] != "invalid_grant" {
		t.Errorf("expired refresh token: %+v", r)
	}
	// The grant travels as a form, never as JSON or a query string.
	resp, err := srv.Client().Post(srv.URL+"/oauth/v2/accessToken", "application/json", strings.NewReader(`{"grant_type":"refresh_token"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("JSON body: %d", resp.StatusCode)
	}
	if s.Exchanges() != 0 {
		t.Errorf("exchanges = %d", s.Exchanges())
	}
}

// call posts one event with token.
func call(t *testing.T, srv *httptest.Server, token string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/rest/conversionEvents", strings.NewReader(one("k", fixed.Add(-time.Hour))))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("LinkedIn-Version", "202601")
	req.Header.Set("X-Restli-Protocol-Version", "2.0.0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode}
	json.NewDecoder(resp.Body).Decode(&r.Body)
	return r
}

// A token LinkedIn never issued is refused whole with 401
// INVALID_ACCESS_TOKEN; a revoked one, static or issued by the token
// endpoint, with 401 REVOKED_ACCESS_TOKEN; and a revoked refresh token
// exchanges for nothing (invalid_grant). Nothing refused takes effect.
func TestUnknownAndRevokedTokensAreRefused(t *testing.T) {
	s, srv := newSim(t)
	s.AddClient("app", "app-secret")
	refresh := s.IssueRefreshToken("app", 365*24*time.Hour)
	issued := exchange(t, srv, grant(refresh)).Body["access_token"].(string)
	want := func(token string, service float64, code string) {
		t.Helper()
		r := call(t, srv, token)
		if r.Status != 401 || r.Body["status"] != 401.0 || r.Body["serviceErrorCode"] != service || r.Body["code"] != code {
			t.Errorf("token %s: %+v, want 401 %v %s", token, r, service, code)
		}
	}
	want("never-issued", 65600, "INVALID_ACCESS_TOKEN")
	s.RevokeToken("tok")
	s.RevokeToken(issued)
	want("tok", 65601, "REVOKED_ACCESS_TOKEN")
	want(issued, 65601, "REVOKED_ACCESS_TOKEN")
	s.AllowToken("tok")
	want("tok", 65601, "REVOKED_ACCESS_TOKEN")
	if r := call(t, srv, exchange(t, srv, grant(refresh)).Body["access_token"].(string)); r.Status != 201 {
		t.Errorf("a new access token from the refresh token: %+v", r)
	}
	s.RevokeToken(refresh)
	if r := exchange(t, srv, grant(refresh)); r.Status != 400 || r.Body["error"] != "invalid_grant" {
		t.Errorf("revoked refresh token: %+v, want 400 invalid_grant", r)
	}
	if k := s.Key("urn:lla:llaPartnerConversion:104012/k"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("key %+v: want the one accepted request only", k)
	}
}

// An expired access token is refused whole with 401, the ones issued by
// the token endpoint and the ones registered with AllowToken alike.
func TestExpiredAccessTokenIsRefused(t *testing.T) {
	s, srv := newSim(t)
	s.AddClient("app", "app-secret")
	tok := exchange(t, srv, grant(s.IssueRefreshToken("app", 365*24*time.Hour))).Body["access_token"].(string)
	if r := call(t, srv, "tok"); r.Status != 201 {
		t.Fatalf("static token: %+v", r)
	}
	s.ExpireAccessTokens()
	for _, token := range []string{tok, "tok"} {
		if r := call(t, srv, token); r.Status != 401 || r.Body["status"] != 401.0 {
			t.Errorf("expired %s: %+v", token, r)
		}
	}
	if k := s.Key("urn:lla:llaPartnerConversion:104012/k"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("a refused request took effect: %+v", k)
	}
	// The clock ends an access token too.
	tok = exchange(t, srv, grant(s.IssueRefreshToken("app", 365*24*time.Hour))).Body["access_token"].(string)
	s.SetClock(func() time.Time { return fixed.Add(61 * 24 * time.Hour) })
	if r := call(t, srv, tok); r.Status != 401 {
		t.Errorf("after 61 days: %+v", r)
	}
}

// The Conversions API takes a call when the token has rw_conversions and
// the member who authorized it a role on the ad account that may create
// conversions; otherwise the request is refused whole with 403 ACCESS_DENIED
// and nothing takes effect. Access tokens inherit their refresh token's
// authorization.
func TestPermissionsAreChecked(t *testing.T) {
	s, srv := newSim(t)
	s.AddClient("app", "app-secret")
	viewer := s.IssueRefreshToken("app", 365*24*time.Hour)
	s.Authorize(viewer, "VIEWER", "rw_conversions", "r_ads")
	s.AllowToken("no-scope")
	s.Authorize("no-scope", "CAMPAIGN_MANAGER", "r_ads")
	s.AllowToken("manager")
	s.Authorize("manager", "CAMPAIGN_MANAGER", "rw_conversions", "r_ads")
	for _, tok := range []string{exchange(t, srv, grant(viewer)).Body["access_token"].(string), "no-scope"} {
		r := call(t, srv, tok)
		if r.Status != 403 || r.Body["serviceErrorCode"] != 100.0 || r.Body["code"] != "ACCESS_DENIED" ||
			r.Body["message"] != "Not enough permissions to access: conversionEvents.CREATE.202601" {
			t.Errorf("token %s: %+v, want 403 100 ACCESS_DENIED", tok, r)
		}
	}
	if s.Stats().Requests != 0 {
		t.Errorf("stats %+v: a refused request was processed", s.Stats())
	}
	if r := call(t, srv, "manager"); r.Status != 201 {
		t.Errorf("a campaign manager's token with rw_conversions: %+v, want 201", r)
	}
}
