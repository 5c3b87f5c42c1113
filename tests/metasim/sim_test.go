package metasim

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

var fixed = time.Unix(1700000000, 0).UTC()

func newSim(t *testing.T) (*Server, *httptest.Server, *time.Time) {
	t.Helper()
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	now := fixed
	s.SetClock(func() time.Time { return now })
	s.SetLimit(Limit{})
	s.AllowToken("tok")
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv, &now
}

type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, body string) reply {
	t.Helper()
	r, err := postWith(srv.Client(), srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func postWith(c *http.Client, base, body string) (reply, error) {
	resp, err := c.Post(base+"/v21.0/1234567890/events?access_token=tok", "application/json", strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{Status: resp.StatusCode, Header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.Body)
	return r, nil
}

// crmEvent follows the payload specification's CRM event: a stage name,
// event_time in seconds, action_source system_generated, the 16-digit lead
// id unhashed, custom_data.event_source "crm" and lead_event_source.
func crmEvent(name, id string, age time.Duration) string {
	return fmt.Sprintf(`{"event_name":%q,"event_time":%d,"event_id":%q,"action_source":"system_generated",
 "user_data":{"lead_id":1234567890123456,"em":["309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd"]},
 "custom_data":{"event_source":"crm","lead_event_source":"SAM","value":100.2,"currency":"usd"}}`, name, fixed.Add(-age).Unix(), id)
}

func batch(events ...string) string { return `{"data":[` + strings.Join(events, ",") + `]}` }

func TestDocumentedCRMEventIsAccepted(t *testing.T) {
	s, srv, _ := newSim(t)
	r := post(t, srv, batch(crmEvent("Marketing Qualified Lead", "k1", time.Hour), crmEvent("Sales Opportunity", "k2", 2*time.Hour)))
	if r.Status != 200 || r.Body["events_received"] != 2.0 || r.Body["fbtrace_id"] == "" {
		t.Fatalf("reply = %+v", r)
	}
	if k := s.Key("1234567890/Marketing Qualified Lead/k1"); k != (KeyStats{Received: 1, Effective: 1}) {
		t.Errorf("key = %+v", k)
	}
	// The form encoding of Meta's curl examples works too.
	form := url.Values{"data": {"[" + crmEvent("Converted", "k3", time.Minute) + "]"}, "access_token": {"tok"}}
	resp, err := http.PostForm(srv.URL+"/v21.0/1234567890/events", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || s.Key("1234567890/Converted/k3").Effective != 1 {
		t.Errorf("form post = %d", resp.StatusCode)
	}
}

// One invalid event rejects the batch with the Graph API error object, and
// nothing in it takes effect.
func TestInvalidBatchesAreRejectedWhole(t *testing.T) {
	good := crmEvent("Lead", "g", time.Hour)
	many := strings.TrimSuffix(strings.Repeat(good+",", MaxEvents+1), ",")
	cases := []struct{ name, body string }{
		{"clear email", batch(good, strings.Replace(crmEvent("Lead", "x", time.Hour), `["309a`, `["jane@example.com","309a`, 1))},
		{"hashed lead id", batch(strings.Replace(good, `1234567890123456`, `"`+strings.Repeat("a", 64)+`"`, 1))},
		{"too old", batch(crmEvent("Lead", "x", 8*24*time.Hour))},
		{"future", batch(crmEvent("Lead", "x", -time.Hour))},
		{"website source", batch(strings.Replace(good, "system_generated", "website", 1))},
		{"no crm source", batch(strings.Replace(good, `"event_source":"crm",`, "", 1))},
		{"no lead_event_source", batch(strings.Replace(good, `"lead_event_source":"SAM",`, "", 1))},
		{"no identifier", batch(strings.Replace(strings.Replace(good, `"lead_id":1234567890123456,`, "", 1), `"em":["309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd"]`, "", 1))},
		{"too many", batch(many)},
		{"empty", batch()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv, _ := newSim(t)
			r := post(t, srv, c.body)
			e, _ := r.Body["error"].(map[string]any)
			if r.Status != 400 || e == nil || e["code"] != 100.0 || e["type"] != "OAuthException" || e["fbtrace_id"] == "" {
				t.Fatalf("reply = %d %v", r.Status, r.Body)
			}
			if st := s.Stats(); st.Events != 0 || st.Rejected != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestAccessTokenRequired(t *testing.T) {
	_, srv, _ := newSim(t)
	resp, err := http.Post(srv.URL+"/v21.0/1/events", "application/json", strings.NewReader(batch(crmEvent("Lead", "k", time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body["error"]["code"] != 104.0 {
		t.Errorf("reply = %d %v", resp.StatusCode, body)
	}
}

// A token Meta did not issue, or one revoked (a system user's token
// revoked, or the system user removed from the business), is refused with
// OAuthException code 190 and HTTP 400, whether it comes in the query, the
// body or the Authorization header; nothing of the request is recorded.
func TestUnknownAndRevokedTokensAreRefused(t *testing.T) {
	s, srv, _ := newSim(t)
	s.RevokeToken("tok")
	refused := func(what string, req *http.Request) {
		t.Helper()
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body graphErrorBody
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body.Error.Code != 190 || body.Error.Type != "OAuthException" || body.Error.IsTransient {
			t.Errorf("%s: %d %+v, want 400 OAuthException code 190", what, resp.StatusCode, body)
		}
	}
	ev := batch(crmEvent("Lead", "k", time.Hour))
	req, _ := http.NewRequest("POST", srv.URL+"/v21.0/1234567890/events?access_token=tok", strings.NewReader(ev))
	req.Header.Set("Content-Type", "application/json")
	refused("revoked, in the query", req)
	req, _ = http.NewRequest("POST", srv.URL+"/v21.0/1234567890/events", strings.NewReader(ev))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer never-issued")
	refused("unknown, in the header", req)
	form := url.Values{"data": {"[" + crmEvent("Lead", "k", time.Hour) + "]"}, "access_token": {"never-issued"}}
	req, _ = http.NewRequest("POST", srv.URL+"/v21.0/1234567890/events", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	refused("unknown, in the form", req)
	if st := s.Stats(); st.Events != 0 || st.Effects != 0 {
		t.Errorf("stats %+v: a refused request was recorded", st)
	}
}

// event_name + event_id count once within 48 hours; after that a repeat
// takes effect again; test events never take effect.
func TestDedupWindowAndTestEvents(t *testing.T) {
	s, srv, now := newSim(t)
	ev := crmEvent("Lead", "k", time.Hour)
	post(t, srv, batch(ev))
	*now = now.Add(47 * time.Hour)
	post(t, srv, batch(strings.Replace(ev, fmt.Sprint(fixed.Add(-time.Hour).Unix()), fmt.Sprint(now.Add(-time.Hour).Unix()), 1)))
	key := "1234567890/Lead/k"
	if k := s.Key(key); k != (KeyStats{Received: 2, Effective: 1}) {
		t.Fatalf("within 48h: key = %+v", k)
	}
	*now = now.Add(2 * time.Hour)
	post(t, srv, batch(strings.Replace(ev, fmt.Sprint(fixed.Add(-time.Hour).Unix()), fmt.Sprint(now.Add(-time.Hour).Unix()), 1)))
	if k := s.Key(key); k != (KeyStats{Received: 3, Effective: 2}) || len(s.Stats().DoubleEffects) != 1 {
		t.Errorf("after 48h: key = %+v", k)
	}
	r := post(t, srv, `{"test_event_code":"TEST123",`+batch(crmEvent("Lead", "t", time.Minute))[1:])
	*now = fixed
	if r.Status != 200 || s.Key("1234567890/Lead/t") != (KeyStats{Received: 1, Effective: 0}) {
		t.Errorf("test event: %d %+v", r.Status, s.Key("1234567890/Lead/t"))
	}
}

func TestThrottle(t *testing.T) {
	s, srv, _ := newSim(t)
	s.SetLimit(Limit{Rate: 1, Burst: 1})
	post(t, srv, batch(crmEvent("Lead", "a", time.Hour)))
	r := post(t, srv, batch(crmEvent("Lead", "b", time.Hour)))
	e, _ := r.Body["error"].(map[string]any)
	if r.Status != 400 || e["code"] != 4.0 || e["is_transient"] != true || r.Header.Get("X-App-Usage") == "" || r.Header.Get("Retry-After") != "" {
		t.Errorf("throttled reply = %d %v %v", r.Status, r.Body, r.Header)
	}
	if s.Key("1234567890/Lead/b") != (KeyStats{}) {
		t.Error("a throttled event was counted")
	}
}

func TestFaults(t *testing.T) {
	ev := batch(crmEvent("Lead", "k", time.Hour))
	key := "1234567890/Lead/k"
	t.Run("reset after read", func(t *testing.T) {
		s, srv, _ := newSim(t)
		s.InjectNth(1, Fault{Kind: ResetAfterRead})
		if _, err := postWith(srv.Client(), srv.URL, ev); err == nil {
			t.Fatal("no error")
		}
		if s.Key(key) != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("key = %+v", s.Key(key))
		}
	})
	t.Run("timeout after read", func(t *testing.T) {
		s, srv, _ := newSim(t)
		s.InjectNth(1, Fault{Kind: TimeoutAfterRead, Delay: 200 * time.Millisecond})
		if _, err := postWith(&http.Client{Timeout: 30 * time.Millisecond}, srv.URL, ev); err == nil {
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
		s, srv, _ := newSim(t)
		s.InjectNth(1, Fault{Kind: ServerErrorAfterRead})
		r := post(t, srv, ev)
		if r.Status != 500 || r.Body["error"].(map[string]any)["is_transient"] != true || s.Key(key) != (KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("reply = %+v, key = %+v", r, s.Key(key))
		}
		// The retry with the same event_id is deduplicated.
		post(t, srv, ev)
		if s.Key(key) != (KeyStats{Received: 2, Effective: 1}) {
			t.Errorf("after retry key = %+v", s.Key(key))
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		s, srv, _ := newSim(t)
		s.InjectNth(1, Fault{Kind: TooManyRequests, RetryAfter: 3 * time.Second})
		r := post(t, srv, ev)
		if r.Status != 429 || r.Header.Get("Retry-After") != "3" || s.Key(key) != (KeyStats{}) {
			t.Errorf("reply = %+v", r)
		}
	})
	t.Run("partial failure rejects the batch", func(t *testing.T) {
		s, srv, _ := newSim(t)
		s.InjectNth(1, Fault{Kind: PartialFailure})
		r := post(t, srv, ev)
		if r.Status != 400 || s.Key(key) != (KeyStats{}) {
			t.Errorf("reply = %+v", r)
		}
	})
}

func TestStartPersistsAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.ndjson")
	s, err := Start(context.Background(), "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return fixed })
	s.AllowToken("tok")
	if r, err := postWith(http.DefaultClient, s.URL(), batch(crmEvent("Lead", "k", time.Hour))); err != nil || r.Status != 200 {
		t.Fatalf("%v %+v", err, r)
	}
	s.Close()
	again, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	again.SetClock(func() time.Time { return fixed.Add(time.Hour) })
	again.AllowToken("tok")
	srv := httptest.NewServer(again.Handler())
	defer srv.Close()
	postWith(srv.Client(), srv.URL, batch(crmEvent("Lead", "k", 0)))
	// The reloaded effect still deduplicates the repeat.
	if k := again.Key("1234567890/Lead/k"); k != (KeyStats{Received: 2, Effective: 1}) {
		t.Errorf("reloaded key = %+v", k)
	}
}
