package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/loaders/ga4"
)

// TestGA4SessionsGetGA4sChannel builds GA4 staging over a handmade export
// day (testdata/ga4_reality) holding what real exports carry and the
// generator does not: a Performance Max click, a Merchant Center free
// listing, a self-referral on an export without device.web_info.hostname,
// an app session, a direct visit GA4 credits to an earlier organic one,
// and Google Ads' iOS click ids with ads consent denied.
func TestGA4SessionsGetGA4sChannel(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: "testdata/ga4_reality"}, db, nil).Load(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	// The build must succeed: a disagreement with GA4 is a warning.
	build(t, db, ga4Project(t))

	got := queryStrings(t, db, `SELECT client_key || ' ' || channel || ' ' || coalesce(export_channel_group, '-') || ' ' || source || '/' || medium || ' ' || coalesce(campaign, '-') || ' ' || cast(is_engaged as varchar)
		FROM stg_ga4__sessions ORDER BY client_key`)
	want := []string{
		// Performance Max: the gclid is google/cpc, GA4's group knows the campaign type.
		"1111111111.1740790000 Cross-network Cross-network google/cpc pmax_all_products true",
		// Free listing: google/organic on Shopping Free Listings, even without the export's group.
		"2222222222.1740791000 Organic Shopping Organic Shopping google/organic Shopping Free Listings true",
		// Self-referral without hostname: the page's own host is not a referrer.
		"3333333333.1740792000 Direct Direct (direct)/(none) (direct) true",
		// Direct visit: collected source, GA4's last non-direct kept beside it.
		"5555555555.1740794000 Direct Organic Search (direct)/(none) (direct) true",
		"6666666666.1740795000 Organic Search - bing/organic (organic) true",
		// App stream: engaged through engaged_session_event.
		"c8f1e2d3a4b5c6d7e8f9a0b1c2d3e4f5 Direct Direct (direct)/(none) (direct) true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sessions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := queryStrings(t, db, `SELECT rules_channel FROM stg_ga4__sessions WHERE client_key = '2222222222.1740791000'`); len(got) != 1 || got[0] != "Organic Shopping" {
		t.Errorf("free listing by SAM's rules = %v, want Organic Shopping", got)
	}
	if got := queryStrings(t, db, `SELECT export_source || '/' || export_medium FROM stg_ga4__sessions WHERE client_key = '5555555555.1740794000'`); len(got) != 1 || got[0] != "google/organic" {
		t.Errorf("GA4's attributed source of the direct visit = %v, want google/organic kept", got)
	}
	if got := queryStrings(t, db, `SELECT gbraid || ' ' || wbraid || ' ' || ads_consent FROM stg_ga4__sessions WHERE client_key = '6666666666.1740795000'`); len(got) != 1 || got[0] != "0AAAAA-gb1 CjkKwb1 denied" {
		t.Errorf("click ids and consent = %v", got)
	}
	if got := queryStrings(t, db, `SELECT DISTINCT ads_consent FROM stg_ga4__sessions WHERE client_key != '6666666666.1740795000'`); len(got) != 1 || got[0] != "granted" {
		t.Errorf("ads consent of the other sessions = %v, want granted", got)
	}
}
