package hubspotsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// The fixtures come from HubSpot's own material: the official Node client
// (src/services/decorators/RetryDecorator.ts: the policyName and secondly
// message it retries), the associations v4 OpenAPI models in that client
// (BatchResponsePublicAssociationMultiWithErrors, StandardError, Error,
// ErrorDetail), the changelog (batch read at most 100 inputs) and the
// "Search the CRM" guide (at most 200 results a page).

func call(t *testing.T, s *hubspotsim.Server, method, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object", method, path, data)
	}
	return resp, m
}

func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, m)
		}
	}
}

func TestAssociationsBatchRead207(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{})
	defer s.Close()
	s.Seed(3, 2, 0)
	s.Archive(nil, []int64{2})
	resp, m := call(t, s, "POST", "/crm/v4/associations/deals/contacts/batch/read", `{"inputs":[{"id":"1"},{"id":"2"}]}`)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("HTTP %d, want 207 for a batch with an input that has nothing associated", resp.StatusCode)
	}
	hasKeys(t, "207 body", m, "status", "results", "numErrors", "errors", "startedAt", "completedAt")
	if m["numErrors"] != 1.0 || m["status"] != "COMPLETE" {
		t.Errorf("numErrors = %v, status = %v", m["numErrors"], m["status"])
	}
	e := m["errors"].([]any)[0].(map[string]any)
	hasKeys(t, "StandardError", e, "status", "category", "subCategory", "message", "context")
	if e["subCategory"] != "crm.associations.NO_ASSOCIATIONS_FOUND" {
		t.Errorf("subCategory = %v", e["subCategory"])
	}
	for _, k := range []string{"startedAt", "completedAt"} {
		if _, err := time.Parse(time.RFC3339, m[k].(string)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	// 100 inputs at most.
	var in []string
	for i := 1; i <= 101; i++ {
		in = append(in, fmt.Sprintf(`{"id":"%d"}`, i))
	}
	if resp, m := call(t, s, "POST", "/crm/v4/associations/deals/contacts/batch/read", `{"inputs":[`+strings.Join(in, ",")+`]}`); resp.StatusCode != 400 {
		t.Errorf("101 inputs: HTTP %d %v, want 400", resp.StatusCode, m)
	}
}

func TestErrorBody(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{})
	defer s.Close()
	resp, m := call(t, s, "POST", "/crm/v3/objects/contacts/search", `{"limit":201}`)
	if resp.StatusCode != 400 {
		t.Fatalf("limit 201: HTTP %d, want 400", resp.StatusCode)
	}
	// The Error model: message and correlationId required; category,
	// subCategory, errors, context and links as HubSpot sends them.
	hasKeys(t, "error body", m, "status", "message", "correlationId", "category", "subCategory", "errors", "context", "links")
	d := m["errors"].([]any)[0].(map[string]any)
	hasKeys(t, "ErrorDetail", d, "message", "in")
	if resp, m := call(t, s, "POST", "/crm/v3/objects/contacts/search", `{"limit":200}`); resp.StatusCode != 200 {
		t.Errorf("limit 200: HTTP %d %v, want 200 (the search page maximum)", resp.StatusCode, m)
	}
	if resp, _ := call(t, s, "GET", "/crm/v3/objects/contacts?limit=101", ""); resp.StatusCode != 400 {
		t.Errorf("list limit 101: HTTP %d, want 400 (the list page maximum is 100)", resp.StatusCode)
	}
}

func TestRateLimit429s(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{RequestsPerWindow: 1, Window: time.Hour, SearchPerWindow: 1, SearchWindow: time.Hour, DailyLimit: 3})
	defer s.Close()
	resp, _ := call(t, s, "GET", "/crm/v3/objects/contacts?limit=1", "")
	for _, h := range []string{"X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Interval-Milliseconds",
		"X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("response lacks %s", h)
		}
	}
	// Requests 2 and 3 are over the ten-secondly limit; request 4 is over
	// the day's 3.
	for n := 2; n <= 4; n++ {
		policy, message := "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
		if n == 4 {
			policy, message = "DAILY", "You have reached your daily limit."
		}
		resp, m := call(t, s, "GET", "/crm/v3/objects/contacts?limit=1", "")
		if resp.StatusCode != 429 || m["policyName"] != policy || m["message"] != message || m["errorType"] != "RATE_LIMIT" {
			t.Errorf("request %d: HTTP %d %v, want 429 policyName %s", n, resp.StatusCode, m, policy)
		}
	}
}

func TestSecondly429(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{SearchPerWindow: 1, SearchWindow: time.Hour})
	defer s.Close()
	call(t, s, "POST", "/crm/v3/objects/contacts/search", `{}`)
	resp, m := call(t, s, "POST", "/crm/v3/objects/contacts/search", `{}`)
	// The official client recognises the secondly limit by this message.
	if resp.StatusCode != 429 || m["message"] != "You have reached your secondly limit." {
		t.Errorf("HTTP %d %v", resp.StatusCode, m)
	}
}

// SetProperty's value is what the API returns for the property, escaped as
// JSON escapes it; properties not asked for stay out.
func TestSetPropertyIsReturned(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{})
	defer s.Close()
	s.Seed(3, 0, 0)
	s.SetProperty("contacts", 2, "company", "Acme\x00 GmbH")
	_, m := call(t, s, "POST", "/crm/v3/objects/contacts/search", `{"properties":["company"]}`)
	results, _ := m["results"].([]any)
	got := map[string]any{}
	for _, r := range results {
		o, _ := r.(map[string]any)
		props, _ := o["properties"].(map[string]any)
		got[fmt.Sprint(o["id"])] = props["company"]
	}
	if got["2"] != "Acme\x00 GmbH" || got["1"] != "Co 1 v1" {
		t.Errorf("company by id = %q, want contact 2's set value and contact 1's own", got)
	}
}

// HubSpot honours only the tokens it issued and not once revoked (a private
// app's token rotated or the app deleted): any other is refused with 401
// and the error body of category INVALID_AUTHENTICATION.
func TestUnknownAndRevokedTokensAreRefused(t *testing.T) {
	s := hubspotsim.New(hubspotsim.Config{})
	defer s.Close()
	s.Seed(2, 0, 0)
	s.AllowToken("rotated-in")
	get := func(token string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/crm/v3/objects/contacts?limit=10", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := get("rotated-in"); code != 200 {
		t.Fatalf("an allowed token: HTTP %d %v", code, m)
	}
	old := s.Token()
	s.RevokeToken(old)
	for _, tok := range []string{old, "never-issued"} {
		code, m := get(tok)
		if code != 401 || m["category"] != "INVALID_AUTHENTICATION" || m["status"] != "error" {
			t.Errorf("token %s: HTTP %d %v, want 401 INVALID_AUTHENTICATION", tok, code, m)
		}
		hasKeys(t, "401 body", m, "message", "correlationId")
	}
}
