package salesforcesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// Fixtures from Salesforce's own material; the simulator must answer in the
// same shapes.
var (
	// REST API Developer Guide, Limit Info Header: "api-usage=10018/100000;
	// api-bursts=1/750", "api-usage=25/5000;
	// per-app-api-usage=17/250(appName=sample-connected-app)".
	limitInfoRE = regexp.MustCompile(`^api-usage=\d+/\d+(; [a-z-]+=\d+/\d+(\([^)]*\))?)*$`)
	// REST API Developer Guide, QueryAll More Results: a queryAll's
	// nextRecordsUrl is "/services/data/v61.0/query/01g5e00001AH2dOAAT-4000".
	nextRecordsRE = regexp.MustCompile(`^/services/data/v\d+\.\d+/query/[0-9A-Za-z]+-\d+$`)
)

func get(t *testing.T, s *salesforcesim.Server, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

const soql = "SELECT Id, Company FROM Lead WHERE SystemModstamp >= 2000-01-01T00:00:00Z AND SystemModstamp < 2100-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC"

func TestQueryAllLocatorIsUnderQuery(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{PageSize: 3})
	defer s.Close()
	s.Seed(7, 0, 0)
	s.Delete("00Q000000000005")
	resp, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql))
	if resp.StatusCode != 200 {
		t.Fatalf("queryAll: HTTP %d %s", resp.StatusCode, body)
	}
	if h := resp.Header.Get("Sforce-Limit-Info"); !limitInfoRE.MatchString(h) {
		t.Errorf("Sforce-Limit-Info %q is not in the documented shape", h)
	}
	var page struct {
		TotalSize      int               `json:"totalSize"`
		Done           bool              `json:"done"`
		NextRecordsURL string            `json:"nextRecordsUrl"`
		Records        []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	if page.TotalSize != 7 || page.Done || len(page.Records) != 3 {
		t.Fatalf("first page: totalSize=%d done=%v records=%d", page.TotalSize, page.Done, len(page.Records))
	}
	if !nextRecordsRE.MatchString(page.NextRecordsURL) {
		t.Fatalf("nextRecordsUrl %q: a queryAll's locator is under /query/", page.NextRecordsURL)
	}
	// Either resource reads the locator.
	queryAll := regexp.MustCompile(`/query/`).ReplaceAllString(page.NextRecordsURL, "/queryAll/")
	if resp, body := get(t, s, queryAll); resp.StatusCode != 200 {
		t.Errorf("GET %s: HTTP %d %s", queryAll, resp.StatusCode, body)
	}
	// Following the /query/ locator as given, the rest still holds the
	// deleted Lead.
	var seen bool
	for next := page.NextRecordsURL; next != ""; {
		resp, body := get(t, s, next)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: HTTP %d %s", next, resp.StatusCode, body)
		}
		seen = seen || regexp.MustCompile(`00Q000000000005`).Match(body)
		page.NextRecordsURL = ""
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		next = page.NextRecordsURL
	}
	if !seen {
		t.Error("the deleted Lead is missing from the queryAll's later pages")
	}
}

func TestDailyAllowanceRefused(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{DailyLimit: 100, UsageOffset: 100})
	defer s.Close()
	resp, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql))
	// REST API Developer Guide, Status Codes and Error Responses: 403 with
	// [{"message": "...", "errorCode": "REQUEST_LIMIT_EXCEEDED"}];
	// "TotalRequests Limit exceeded." is the daily allowance.
	var errs []struct{ Message, ErrorCode string }
	if err := json.Unmarshal(body, &errs); err != nil || resp.StatusCode != 403 || len(errs) != 1 ||
		errs[0].ErrorCode != "REQUEST_LIMIT_EXCEEDED" || errs[0].Message != "TotalRequests Limit exceeded." {
		t.Fatalf("over the allowance: HTTP %d %s", resp.StatusCode, body)
	}
	if h := resp.Header.Get("Sforce-Limit-Info"); !regexp.MustCompile(`^api-usage=101/100;`).MatchString(h) {
		t.Errorf("Sforce-Limit-Info %q", h)
	}
	s.SetUsage(0)
	if resp, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql)); resp.StatusCode != 200 {
		t.Errorf("after a new day: HTTP %d %s", resp.StatusCode, body)
	}
}

// TestAccountShapes: Accounts come as the REST API renders an Account
// record (attributes type and sobjects url, Name, Website as the org holds
// it, Industry null when empty), and Contacts and Opportunities carry
// AccountId, a reference that is null when the record has no account.
func TestAccountShapes(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{})
	defer s.Close()
	s.Seed(10, 10, 0)
	s.SeedAccounts(3, 0)
	q := func(fields, object string) []map[string]any {
		t.Helper()
		soql := "SELECT " + fields + " FROM " + object +
			" WHERE SystemModstamp >= 2000-01-01T00:00:00Z AND SystemModstamp < 2100-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC"
		resp, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: HTTP %d %s", object, resp.StatusCode, body)
		}
		var page struct{ Records []map[string]any }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		return page.Records
	}
	accounts := q("Id, SystemModstamp, IsDeleted, CreatedDate, LastModifiedDate, Name, Website, Industry", "Account")
	if len(accounts) != 3 {
		t.Fatalf("%d accounts, want 3", len(accounts))
	}
	byID := map[string]map[string]any{}
	for _, a := range accounts {
		attr, _ := a["attributes"].(map[string]any)
		if attr["type"] != "Account" || !regexp.MustCompile(`^/services/data/v59\.0/sobjects/Account/001\w+$`).MatchString(attr["url"].(string)) {
			t.Errorf("attributes %v", attr)
		}
		byID[a["Id"].(string)] = a
	}
	if a := byID["001000000000002"]; a["Name"] != "Acme 2 v1" || a["Website"] != "http://Acme2.example:8080/about" || a["Industry"] != nil {
		t.Errorf("account 2 = %v", a)
	}
	for _, object := range []string{"Contact", "Opportunity"} {
		recs := q("Id, AccountId", object)
		if len(recs) != 10 {
			t.Fatalf("%d %ss, want 10", len(recs), object)
		}
		for _, r := range recs {
			id := r["Id"].(string)
			want := any("001000000000001") // record 1 is in account 1; record 10 in none
			switch id[len(id)-2:] {
			case "10":
				want = nil
			case "01":
			default:
				continue
			}
			if r["AccountId"] != want {
				t.Errorf("%s %s AccountId = %v, want %v", object, id, r["AccountId"], want)
			}
		}
	}
	if resp, body := get(t, s, "/services/data/v59.0/query?q="+url.QueryEscape("SELECT Id, Employees FROM Account WHERE SystemModstamp >= 2000-01-01T00:00:00Z AND SystemModstamp < 2100-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")); resp.StatusCode != 400 {
		t.Errorf("unknown Account field: HTTP %d %s, want INVALID_FIELD", resp.StatusCode, body)
	}
}

// The client credentials flow: a token for the right consumer key and
// secret, OAuth's error body for a wrong one, and a session that ends.
func TestClientCredentialsSessionsExpire(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{ConsumerKey: "key", ConsumerSecret: "secret", SessionRequests: 2})
	defer s.Close()
	post := func(form url.Values) (int, map[string]string) {
		resp, err := http.PostForm(s.URL+"/services/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	code, body := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"wrong"}})
	if code != http.StatusBadRequest || body["error"] != "invalid_client" || body["error_description"] != "invalid client credentials" {
		t.Fatalf("wrong secret: %d %v", code, body)
	}
	code, body = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"secret"}})
	if code != http.StatusOK || body["token_type"] != "Bearer" || body["instance_url"] != s.URL || body["access_token"] == "" {
		t.Fatalf("token: %d %v", code, body)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Fatalf("the client credentials flow issues no refresh token: %v", body)
	}
	query := func() int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v59.0/queryAll?q="+url.QueryEscape(soql), nil)
		req.Header.Set("Authorization", "Bearer "+body["access_token"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusUnauthorized} {
		if got := query(); got != want {
			t.Fatalf("request %d: status %d, want %d", i+1, got, want)
		}
	}
	if s.TokensIssued() != 1 {
		t.Fatalf("tokens issued %d, want 1", s.TokensIssued())
	}
}

// TestGetDeleted follows sObject Get Deleted's contract (REST API Developer
// Guide; getDeleted() in the SOAP API Developer Guide): a record deleted
// for good leaves queryAll and stays in the delete log, listed with its
// deletedDate; a window of a minute or less, or starting more than 15 days
// before today, is refused with INVALID_REPLICATION_DATE in the REST error
// shape.
func TestGetDeleted(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{})
	defer s.Close()
	s.Seed(7, 0, 0)
	s.Purge("00Q000000000005")
	_, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql))
	if regexp.MustCompile(`00Q000000000005`).Match(body) {
		t.Error("queryAll returned a record purged from the Recycle Bin")
	}
	now := time.Now().UTC()
	window := func(from, to time.Time) string {
		return "/services/data/v59.0/sobjects/Lead/deleted/?start=" + url.QueryEscape(from.Format(time.RFC3339)) + "&end=" + url.QueryEscape(to.Format(time.RFC3339))
	}
	resp, body := get(t, s, window(now.Add(-time.Hour), now.Add(time.Hour)))
	var res struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		EarliestDateAvailable string `json:"earliestDateAvailable"`
		LatestDateCovered     string `json:"latestDateCovered"`
	}
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("Get Deleted: HTTP %d %s (%v)", resp.StatusCode, body, err)
	}
	if len(res.DeletedRecords) != 1 || res.DeletedRecords[0].ID != "00Q000000000005" || res.DeletedRecords[0].DeletedDate == "" ||
		res.EarliestDateAvailable == "" || res.LatestDateCovered == "" {
		t.Errorf("Get Deleted answered %s", body)
	}
	for name, path := range map[string]string{
		"a one-minute window":   window(now.Add(-time.Minute), now),
		"a start 16 days ago":   window(now.Add(-16*24*time.Hour), now),
		"a start after its end": window(now, now.Add(-time.Hour)),
	} {
		resp, body := get(t, s, path)
		var errs []struct{ ErrorCode, Message string }
		if err := json.Unmarshal(body, &errs); err != nil || resp.StatusCode != 400 || len(errs) != 1 || errs[0].ErrorCode != "INVALID_REPLICATION_DATE" {
			t.Errorf("%s: HTTP %d %s, want 400 INVALID_REPLICATION_DATE", name, resp.StatusCode, body)
		}
	}
}

// SetField's value is what a query returns for the field, escaped as JSON
// escapes it.
func TestSetFieldIsReturned(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{})
	defer s.Close()
	s.Seed(3, 0, 0)
	s.SetField("00Q000000000002", "Company", "Acme\x00 GmbH")
	_, body := get(t, s, "/services/data/v59.0/queryAll?q="+url.QueryEscape(soql))
	var res struct {
		Records []struct{ Id, Company string }
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Records {
		got[r.Id] = r.Company
	}
	if got["00Q000000000002"] != "Acme\x00 GmbH" || got["00Q000000000001"] != "Co 1 v1" {
		t.Errorf("Company by Id = %q, want Lead 2's set value and Lead 1's own", got)
	}
}

// Salesforce honours only sessions it issued and not once revoked (an
// administrator revoking the connected app's token, or a session ended):
// any other is refused with 401 INVALID_SESSION_ID "Session expired or
// invalid", in the REST error shape.
func TestUnknownAndRevokedSessionsAreRefused(t *testing.T) {
	s := salesforcesim.New(salesforcesim.Config{})
	defer s.Close()
	s.AllowToken("second-session")
	query := func(token string) (int, []map[string]string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v59.0/queryAll?q="+url.QueryEscape(soql), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body []map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := query("second-session"); code != 200 {
		t.Fatalf("an allowed session: HTTP %d %v", code, body)
	}
	s.RevokeToken(s.Token())
	s.RevokeToken("second-session")
	s.AllowToken("second-session")
	for _, tok := range []string{s.Token(), "second-session", "never-issued"} {
		code, body := query(tok)
		if code != 401 || len(body) != 1 || body[0]["errorCode"] != "INVALID_SESSION_ID" || body[0]["message"] != "Session expired or invalid" {
			t.Errorf("token %s: HTTP %d %v, want 401 INVALID_SESSION_ID", tok, code, body)
		}
	}
}
