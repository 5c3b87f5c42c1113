package googleads

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/googleadssim"
)

// A 403 PERMISSION_DENIED is Google Ads refusing the credentials' access to
// the account: every event fails (nothing was processed, the next run
// sends it again), the request is made once, and the detail names the
// account, the manager account logged in through, and what to grant.
func TestPermissionDeniedNamesTheAccount(t *testing.T) {
	cases := []struct {
		name    string
		login   string
		reaches []string
		want    string
	}{
		{"direct", "", []string{"5555555555"},
			"refused before processing: HTTP 403 PERMISSION_DENIED: the Google Account of the access token has no access to Google Ads account 1234567890 (or the account does not exist); add it as a user of account 1234567890, or log in through a manager account of it that it is a user of"},
		{"through a manager account", "9876543210", []string{customer},
			"refused before processing: HTTP 403 PERMISSION_DENIED: the Google Account of the access token has no access to Google Ads account 1234567890 through manager account 9876543210 (or one of them does not exist); add it as a user of account 9876543210, and check that 9876543210 manages 1234567890"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, srv := newSim(t)
			sim.GrantAccess("test-token", c.reaches...)
			refusedOnce(t, sim, srv, func(o *Options) { o.LoginCustomerID = c.login }, c.want)
		})
	}
}

// Google's front end refuses a token without the API's scope, and every
// token while the API is disabled in the credentials' project, with a 403
// that names no account. The events fail, the request is made once, and
// the detail says what to fix. Before, it said only the reason.
func TestAPIRefusalsSayWhatToFix(t *testing.T) {
	cases := []struct {
		name string
		set  func(*googleadssim.Server)
		want string
	}{
		{"a token without the scope", func(s *googleadssim.Server) {
			s.SetScopes("test-token", "https://www.googleapis.com/auth/cloud-platform")
		},
			"refused before processing: HTTP 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT: the access token lacks the scope https://www.googleapis.com/auth/datamanager, which the Data Manager API needs; mint it with that scope"},
		{"the API disabled", func(s *googleadssim.Server) { s.DisableAPI("sam-prod") },
			"refused before processing: HTTP 403 SERVICE_DISABLED: the Data Manager API is not enabled in Google Cloud project sam-prod, the project of the credentials; enable datamanager.googleapis.com there, then allow a few minutes before the next run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, srv := newSim(t)
			c.set(sim)
			refusedOnce(t, sim, srv, nil, c.want)
		})
	}
}

// refusedOnce sends a batch through a destination built with mod and
// checks that every event failed with detail want, that the one ingest
// request was made once (refusals are not retried), and that nothing took
// effect.
func refusedOnce(t *testing.T, sim *googleadssim.Server, srv *httptest.Server, mod func(*Options), want string) {
	t.Helper()
	ingests := 0
	d := newDest(t, srv, func(o *Options) {
		if mod != nil {
			mod(o)
		}
		o.HTTPClient = &http.Client{Transport: recorder(srv.Client().Transport, func(r *http.Request, _ []byte) {
			if strings.HasSuffix(r.URL.Path, "events:ingest") {
				ingests++
			}
		})}
	})
	out := d.Send(context.Background(), batchOf(6))
	wantAll(t, out, activation.StatusFailed)
	for i, o := range out {
		if o.Detail != want {
			t.Errorf("event %d: detail %q,\nwant %q", i, o.Detail, want)
		}
	}
	if st := sim.Stats(); ingests != 1 || st.Effects != 0 {
		t.Errorf("%d ingest requests, stats %+v: want the refused request made once, with no effect", ingests, st)
	}
}

// A missing scope is fixed where the credentials come from.
func TestNoScopeAdvice(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{CredentialsFile: "/secrets/sa.json"}, "the token of the key file's service account lacks the scope https://www.googleapis.com/auth/datamanager, which the Data Manager API needs"},
		{Options{DefaultCredentials: true}, "the token of the Application Default Credentials lacks the scope https://www.googleapis.com/auth/datamanager, which the Data Manager API needs; a user's credentials get it at login: gcloud auth application-default login --scopes=https://www.googleapis.com/auth/datamanager,https://www.googleapis.com/auth/cloud-platform"},
	}
	for _, c := range cases {
		if got := noScope(c.opts); got != c.want {
			t.Errorf("noScope(%+v) = %q,\nwant %q", c.opts, got, c.want)
		}
	}
}

// The detail says whose access is missing as the operator configured it.
func TestGrantee(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{CredentialsFile: "/secrets/sa.json"}, "the service account of the key file"},
		{Options{DefaultCredentials: true}, "the service account or user of the Application Default Credentials"},
		{Options{AccessToken: "t"}, "the Google Account of the access token"},
	}
	for _, c := range cases {
		if got := grantee(c.opts); got != c.want {
			t.Errorf("grantee(%+v) = %q, want %q", c.opts, got, c.want)
		}
	}
}
