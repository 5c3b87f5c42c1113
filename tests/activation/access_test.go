package activation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/activation"
)

// Google Ads stops letting SAM's credentials write to the account in the
// middle of a run: the service account is removed from the account, or
// the manager account SAM logs in through no longer manages it. The token
// is still honoured, so each request is refused 403 PERMISSION_DENIED
// before anything of it is processed. The destination's events from then
// on fail (not unknown), each refused request is made once, the
// destination is given up for the run after the breaker's requests in a
// row, the run's error says why, the other destinations deliver
// everything, and once access is granted again the next run sends exactly
// the events the ledger did not record delivered.
func TestAccessRevokedMidRun(t *testing.T) {
	const manager = "9876543210"
	cases := []struct {
		name    string
		login   string   // the destination's LoginCustomerID
		reaches []string // the accounts the token reaches before
		revoke  string   // the account it loses
	}{
		{"service account removed from the account", "", []string{adsCustomer}, adsCustomer},
		{"manager account no longer manages the account", manager, []string{manager, adsCustomer}, adsCustomer},
		{"service account removed from the manager account", manager, []string{manager, adsCustomer}, manager},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			accessRevokedMidRun(t, c.login, c.reaches, c.revoke)
		})
	}
}

func accessRevokedMidRun(t *testing.T, login string, reaches []string, revoke string) {
	ctx := context.Background()
	const token = "token-1"
	s := newCredSims(t, token, "google_ads")
	s.adsLogin = login
	s.ads.GrantAccess(token, reaches...)
	s.rv.revoke = func(tok string) { s.ads.RevokeAccess(tok, revoke) }
	ledger := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: ledger, Events: credEventsList(), Destinations: s.destinations(t, "google_ads", token, ""), Concurrency: credConc}
	rep, err := r.Run(ctx, "run1")
	if err != nil {
		t.Fatal(err)
	}
	delivered, failed := givenUpAfterRefusals(t, rep, s.rv, "google_ads")
	// The ledger holds the refused events as failed, with the refusal.
	nFailed := 0
	for _, e := range ledger.Entries() {
		if e.Destination != "google_ads" || e.Status != activation.StatusFailed {
			continue
		}
		nFailed++
		if !strings.Contains(e.Detail, "HTTP 403 PERMISSION_DENIED") {
			t.Errorf("ledger: %s failed with %q, want the 403 named", e.Key, e.Detail)
		}
	}
	if nFailed != failed {
		t.Errorf("ledger: %d google_ads event(s) failed, the report says %d", nFailed, failed)
	}
	// The run's error says which account refused and what to grant.
	account, grantOn := "Google Ads account "+adsCustomer+" (", "add it as a user of account "+adsCustomer
	if login != "" {
		account, grantOn = "Google Ads account "+adsCustomer+" through manager account "+login, "add it as a user of account "+login
	}
	err = rep.Err()
	for _, want := range []string{fmt.Sprintf("google_ads: %d event(s) failed", failed), "given up", "the last failure: ", "HTTP 403 PERMISSION_DENIED", account, grantOn} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the run's error %v, want it to say %q", err, want)
		}
	}
	if st := s.ads.Stats(); st.Effects != delivered {
		t.Errorf("Google Ads took %d effects, the ledger says %d delivered", st.Effects, delivered)
	}

	// Access granted again, and the next run, in large requests.
	s.ads.GrantAccess(token, revoke)
	r.Destinations = s.destinations(t, "", token, "")
	rep, err = r.Run(ctx, "run2")
	if err != nil {
		t.Fatal(err)
	}
	sendsTheRest(t, rep, "google_ads", delivered)
	if st := s.ads.Stats(); st.Effects != credEvents || len(st.DoubleEffects) > 0 {
		t.Errorf("Google Ads: %d of %d events took effect, twice: %v", st.Effects, credEvents, st.DoubleEffects)
	}
}
