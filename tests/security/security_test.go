package security_test

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"

	"github.com/sam-attribution/sam/tests/samtest"
)

// secret is a distinctive value for one secret setting. Fragment is a run
// of letters and digits inside it that every encoding leaves alone, so a
// leak is found however it was escaped or cut.
type secret struct {
	env, value, fragment string
}

// The values hold characters every escaping treats differently, but no
// blank: SAM refuses a secret with one before it starts.
var secrets = []secret{
	{"SAM_HUBSPOT_TOKEN", "pat-na1-hsQ7f3a9cK+tok/en=&x", "hsQ7f3a9cK"},
	{"SAM_SALESFORCE_ACCESS_TOKEN", "00Dsf9B2e1dZ!AQ+tok/en=", "sf9B2e1dZ"},
	{"SAM_GA4_API_SECRET", "ga4C8d7eX-sec+ret/&=?#", "ga4C8d7eX"},
	{"SAM_SALESFORCE_CONSUMER_SECRET", "csK7q2Wm9+con/sumer=&", "csK7q2Wm9"},
}

func secretEnv() []string {
	var env []string
	for _, s := range secrets {
		env = append(env, s.env+"="+s.value)
	}
	return env
}

// forms are the ways a value can show up in text.
func forms(v string) []string {
	js, _ := json.Marshal(v)
	return []string{v, url.QueryEscape(v), url.PathEscape(v), strings.Trim(string(js), `"`)}
}

// leaks reports every secret text holds, in any form.
func leaks(text string) []string {
	var out []string
	for _, s := range secrets {
		for _, f := range append(forms(s.value), s.fragment) {
			if strings.Contains(text, f) {
				out = append(out, s.env+" as "+f)
				break
			}
		}
	}
	return out
}

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// validationServer is the local GA4 sink serving /debug/mp/collect, and
// remembers every request URL and body it was sent.
type validationServer struct {
	*httptest.Server
	mu     sync.Mutex
	urls   []string
	bodies []string
}

func newValidationServer(t *testing.T) *validationServer {
	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	v := &validationServer{}
	h := sink.Handler()
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v.mu.Lock()
		v.urls = append(v.urls, r.URL.String())
		v.bodies = append(v.bodies, string(body))
		v.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(v.Close)
	return v
}

// TestSecretsNeverShown runs every command that touches configuration with
// the secrets set to distinctive values, including runs that fail
// against unreachable CRM and GA4 endpoints, and searches everything the
// commands printed, and the warehouse file, for the secrets.
func TestSecretsNeverShown(t *testing.T) {
	w := newWorkspace(t, 7)
	w.Env = append(w.Env, secretEnv()...)
	var results []result
	do := func(extra []string, args ...string) result {
		t.Helper()
		r := w.sam(extra, args...)
		results = append(results, r)
		return r
	}
	must := func(extra []string, args ...string) result {
		t.Helper()
		r := do(extra, args...)
		if r.err != nil {
			t.Fatal(r)
		}
		return r
	}

	must(nil, "run", "--stages", "load_ga4,load_crm,load_spend,transform,test")
	must(nil, "writeback", "--dry-run")

	// --validate against the local validation server: the secret must
	// reach it (it is how GA4 authenticates) and nowhere else.
	vs := newValidationServer(t)
	do([]string{"SAM_GA4_MP_ENDPOINT=" + vs.URL}, "writeback", "--validate")
	vs.mu.Lock()
	reached := len(vs.urls) > 0 && strings.Contains(vs.urls[0], "api_secret="+url.QueryEscape(secrets[2].value))
	vs.mu.Unlock()
	if !reached {
		t.Errorf("writeback --validate did not reach the validation server with the api_secret: %v", vs.urls)
	}

	// Sending to a GA4 endpoint nobody listens on: every request fails
	// with a transport error, which quotes the request URL.
	down := do([]string{"SAM_WRITEBACK_MODE=send", "SAM_GA4_MP_ENDPOINT=" + closedPort(t)}, "writeback")
	if !strings.Contains(down.stderr, "connection refused") {
		t.Errorf("writeback to a closed port reported no transport error, so the redaction of URLs in errors went untested:\n%s", down)
	}

	must(nil, "run")
	must(nil, "load")
	must(nil, "transform")
	must(nil, "plan")
	must(nil, "test")
	must(nil, "runs")
	must(nil, "query", "--format", "csv", "SELECT * FROM sam_run_ledger")
	must(nil, "query", "--format", "json", "SELECT * FROM raw_writeback__send_log")
	must(nil, "query", "SELECT * FROM load_rejects")
	must(nil, "config")
	must(nil, "version")
	must(nil, "report", "--out", w.Path("report.html"))
	must(nil, "compile", "--dialect", "bigquery")

	// CRM APIs that cannot be reached: the loaders retry, log each retry
	// at debug level, and are stopped by SIGTERM as a scheduler would.
	debug := "SAM_LOG_LEVEL=debug"
	for _, extra := range [][]string{
		{"SAM_CRM_SOURCE=hubspot", "SAM_HUBSPOT_BASE_URL=" + closedPort(t), debug},
		{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=" + closedPort(t), "SAM_SALESFORCE_CONSUMER_SECRET=", debug},
		// The client credentials flow posts the consumer secret.
		{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=" + closedPort(t), "SAM_SALESFORCE_ACCESS_TOKEN=",
			"SAM_SALESFORCE_CONSUMER_KEY=3MVG9sam", debug},
	} {
		r := w.samStop(extra, 5*time.Second, "load")
		results = append(results, r)
		if r.err == nil || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("load against an unreachable CRM did not fail with a transport error:\n%s", r)
		}
	}

	// A configuration error next to the secrets.
	if r := do([]string{"SAM_CRM_SOURCE=bogus"}, "run"); r.code != 2 {
		t.Errorf("bad configuration: want exit 2\n%s", r)
	}

	for _, r := range results {
		if l := leaks(r.stdout + r.stderr); len(l) > 0 {
			t.Errorf("secret shown (%s) by:\n%s", strings.Join(l, ", "), r)
		}
	}
	for _, name := range []string{"sam.duckdb", "sam.duckdb.wal", "sink/ga4sink.ndjson", "report.html"} {
		data, err := os.ReadFile(w.Path(name))
		if err != nil {
			continue
		}
		if l := leaks(string(data)); len(l) > 0 {
			t.Errorf("%s holds a secret: %s", name, strings.Join(l, ", "))
		}
	}
}

// TestInjectedIdentifiersRefused sets configuration that ends up in SQL
// (or in CRM queries) to values that would break out of an identifier, and
// expects SAM to refuse before doing any work, naming the variable.
func TestInjectedIdentifiersRefused(t *testing.T) {
	w := newWorkspace(t, 0)
	cases := []struct {
		vars []string
		name string // the variable the error must name
	}{
		{[]string{"SAM_BQ_DATASET=sam`; DROP TABLE fct_lead_revenue; --"}, "SAM_BQ_DATASET"},
		{[]string{"SAM_BQ_DATASET=sam.other"}, "SAM_BQ_DATASET"},
		{[]string{"SAM_ENGINE=bigquery", "SAM_BQ_PROJECT=proj`.x; SELECT 1; --", "SAM_GA4_EXPORT_DATASET=analytics_1"}, "SAM_BQ_PROJECT"},
		{[]string{"SAM_ENGINE=bigquery", "SAM_BQ_PROJECT=my-project", "SAM_GA4_EXPORT_DATASET=analytics_1` UNION ALL SELECT * FROM secrets --"}, "SAM_GA4_EXPORT_DATASET"},
		{[]string{"SAM_ENGINE=bigquery", "SAM_BQ_PROJECT=my-project", "SAM_GA4_EXPORT_DATASET=analytics_1", "SAM_GA4_EXPORT_PROJECT=p'; DROP SCHEMA x; --"}, "SAM_GA4_EXPORT_PROJECT"},
		{[]string{"SAM_GA4_EXPORT_DATASET=analytics_1\"; DROP TABLE x; --"}, "SAM_GA4_EXPORT_DATASET"},
		{[]string{"SAM_HUBSPOT_CLIENT_ID_PROPERTY=ga_client_id\" OR 1=1 --"}, "SAM_HUBSPOT_CLIENT_ID_PROPERTY"},
		{[]string{"SAM_HUBSPOT_GCLID_PROPERTY=gclid,email,phone"}, "SAM_HUBSPOT_GCLID_PROPERTY"},
		{[]string{"SAM_REPORTING_CURRENCY=USD'; DROP TABLE x; --"}, "SAM_REPORTING_CURRENCY"},
		// Salesforce field names go into SOQL.
		{[]string{"SAM_SALESFORCE_CLIENT_ID_FIELD=GA_Client_ID__c FROM Lead WHERE Id != null--"}, "SAM_SALESFORCE_CLIENT_ID_FIELD"},
		{[]string{"SAM_SALESFORCE_GCLID_FIELD=GCLID__c,(SELECT Id FROM Contacts)"}, "SAM_SALESFORCE_GCLID_FIELD"},
		{[]string{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=https://example.my.salesforce.com",
			"SAM_SALESFORCE_USER_ID_FIELD=Id FROM User--"}, "SAM_SALESFORCE_USER_ID_FIELD"},
		{[]string{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=https://example.my.salesforce.com",
			"SAM_SALESFORCE_CURRENCY_FIELD=CurrencyIsoCode, Owner.Email"}, "SAM_SALESFORCE_CURRENCY_FIELD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := w.Path(c.name + ".duckdb")
			r := w.sam(append(c.vars, "SAM_DUCKDB_PATH="+db), "plan")
			if r.code != 2 {
				t.Fatalf("want exit 2 (configuration error)\n%s", r)
			}
			if !strings.Contains(r.stderr, c.name) {
				t.Errorf("error does not name %s:\n%s", c.name, r)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("the warehouse file was created although the configuration was refused")
			}
		})
	}
}

// crmPersonalData returns the emails, phone numbers and full names of the
// generated CRM leads file.
func crmPersonalData(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	nonDigit := regexp.MustCompile(`[^0-9]`)
	var out []string
	for _, r := range recs[1:] {
		if len(r) != len(recs[0]) {
			continue // the generator plants malformed rows
		}
		if e := strings.TrimSpace(r[col["email"]]); strings.Contains(e, "@") {
			out = append(out, e, strings.ToLower(e))
		}
		if p := strings.TrimSpace(r[col["phone"]]); p != "" {
			out = append(out, p)
			if d := nonDigit.ReplaceAllString(p, ""); len(d) >= 7 {
				out = append(out, d)
			}
		}
		if fn, ln := strings.TrimSpace(r[col["first_name"]]), strings.TrimSpace(r[col["last_name"]]); fn != "" && ln != "" {
			out = append(out, fn+" "+ln)
		}
	}
	if len(out) == 0 {
		t.Fatal("the generated CRM file holds no personal data to look for")
	}
	return out
}

var anyEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// TestNoPersonalDataInPayloads prints every GA4 payload of a run
// (writeback --dry-run), sends them to the local sink, and looks for the
// CRM's emails, phone numbers and names in both.
func TestNoPersonalDataInPayloads(t *testing.T) {
	w := newWorkspace(t, 7)
	w.Env = append(w.Env, secretEnv()...)
	w.mustSam(nil, "run", "--stages", "load_ga4,load_crm,load_spend,transform,test")
	dry := w.mustSam(nil, "writeback", "--dry-run")
	payloads := 0
	for _, line := range strings.Split(dry.stdout, "\n") {
		var p struct {
			ClientID string            `json:"client_id"`
			Events   []json.RawMessage `json:"events"`
		}
		if json.Unmarshal([]byte(line), &p) == nil && p.ClientID != "" && len(p.Events) > 0 {
			payloads++
		}
	}
	if payloads == 0 {
		t.Fatalf("writeback --dry-run printed no payload:\n%s", dry)
	}
	w.mustSam(nil, "run", "--stages", "writeback")
	sink, err := os.ReadFile(w.Path("sink/ga4sink.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	pd := crmPersonalData(t, w.Path("data/crm/leads.csv"))
	for what, text := range map[string]string{"writeback --dry-run output": dry.stdout, "local GA4 sink": string(sink)} {
		for _, v := range pd {
			if strings.Contains(text, v) {
				t.Errorf("%s contains personal data %q", what, v)
			}
		}
		if m := anyEmail.FindString(text); m != "" {
			t.Errorf("%s contains an email address %q", what, m)
		}
	}
	t.Logf("%d payloads printed, %d bytes received by the sink; %d personal values searched", payloads, len(sink), len(pd))
}

// TestFilesOwnerOnly checks that the DuckDB file (which holds the send log
// and raw CRM data), its WAL and the local sink's file are created readable
// by the owner only, whatever the umask of the shell that started sam.
func TestFilesOwnerOnly(t *testing.T) {
	w := newWorkspace(t, 7)
	w.mustSam(nil, "run")
	checked := 0
	for _, name := range []string{"sam.duckdb", "sam.duckdb.wal", "sink/ga4sink.ndjson"} {
		st, err := os.Stat(w.Path(name))
		if os.IsNotExist(err) && name == "sam.duckdb.wal" {
			continue // checkpointed away on close
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checked++
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want -rw------- (0600)", name, perm)
		}
	}
	db := w.Open()
	n := samtest.QueryInt(t, db, "SELECT count(*) FROM raw_writeback__send_log")
	db.Close()
	if n == 0 {
		t.Error("the send log is empty; the run sent nothing")
	}
	if checked < 2 {
		t.Fatalf("checked %d files", checked)
	}
}

// echoServer answers every request with status and a body whose error
// message repeats the request's credentials, as misconfigured gateways and
// some APIs do. It records whether a credential arrived.
func echoServer(t *testing.T, status int, body func(credential string) string) (srv *httptest.Server, got func() bool) {
	t.Helper()
	var mu sync.Mutex
	seen := false
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := r.Header.Get("Authorization")
		if cred == "" {
			cred = r.URL.Query().Get("api_secret")
		}
		if cred == "" && r.ParseForm() == nil {
			cred = r.PostForm.Get("client_secret") // an OAuth token request
		}
		mu.Lock()
		seen = seen || cred != ""
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body(cred))
	}))
	t.Cleanup(srv.Close)
	return srv, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestSecretsEchoedByServersNeverShown points the CRM sources and the GA4
// validation endpoint at servers that repeat the credentials they receive
// in their error messages, and expects no secret in anything sam prints,
// at any log level.
// Every log line passes a redacting handler, so even a secret a vendor
// repeats in its own error text never reaches the output.
func TestSecretsEchoedByServersNeverShown(t *testing.T) {
	w := newWorkspace(t, 7)
	w.Env = append(w.Env, secretEnv()...)
	hs, hsGot := echoServer(t, http.StatusServiceUnavailable, func(c string) string {
		b, _ := json.Marshal(map[string]string{"status": "error", "category": "UNAVAILABLE", "message": "try again, " + c})
		return string(b)
	})
	sf, sfGot := echoServer(t, http.StatusServiceUnavailable, func(c string) string {
		b, _ := json.Marshal([]map[string]string{{"errorCode": "SERVER_UNAVAILABLE", "message": "try again, " + c}})
		return string(b)
	})
	sfLogin, sfLoginGot := echoServer(t, http.StatusBadRequest, func(c string) string {
		b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "invalid client credentials " + c})
		return string(b)
	})
	ga, gaGot := echoServer(t, http.StatusOK, func(c string) string {
		b, _ := json.Marshal(map[string]any{"validationMessages": []map[string]string{
			{"fieldPath": "api_secret", "description": "unknown api_secret " + c, "validationCode": "VALUE_INVALID"}}})
		return string(b)
	})
	debug := "SAM_LOG_LEVEL=debug"
	results := []result{
		w.samStop([]string{"SAM_CRM_SOURCE=hubspot", "SAM_HUBSPOT_BASE_URL=" + hs.URL, debug}, 4*time.Second, "load"),
		w.samStop([]string{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=" + sf.URL, "SAM_SALESFORCE_CONSUMER_SECRET=", debug}, 4*time.Second, "load"),
		w.samStop([]string{"SAM_CRM_SOURCE=salesforce", "SAM_SALESFORCE_INSTANCE_URL=" + sfLogin.URL, "SAM_SALESFORCE_ACCESS_TOKEN=",
			"SAM_SALESFORCE_CONSUMER_KEY=3MVG9sam", debug}, 4*time.Second, "load"),
		w.mustSam(nil, "run", "--stages", "load_ga4,load_crm,load_spend,transform"),
		w.sam([]string{"SAM_GA4_MP_ENDPOINT=" + ga.URL, debug}, "writeback", "--validate"),
	}
	for name, got := range map[string]func() bool{"HubSpot": hsGot, "Salesforce": sfGot, "Salesforce login": sfLoginGot, "GA4 validation": gaGot} {
		if !got() {
			t.Errorf("the %s server never received a credential; the test proves nothing", name)
		}
	}
	for _, r := range results {
		if l := leaks(r.stdout + r.stderr); len(l) > 0 {
			t.Errorf("secret shown (%s) by:\n%s", strings.Join(l, ", "), r)
		}
	}
}
