package salesforce_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestAdIdentifiersAndConsent reads the Meta lead id, li_fat_id and ad
// consent from the configured Lead/Contact fields; a consent that is not
// granted or denied is a reject.
func TestAdIdentifiersAndConsent(t *testing.T) {
	h := newHarness(t, 30, 0, 0, salesforcesim.Config{}, 5*time.Second)
	src, err := salesforce.NewSource(salesforce.Options{InstanceURL: h.sim.URL, AccessToken: option.Secret(h.sim.Token()),
		APIVersion: "v59.0", ClientIDField: "GA_Client_ID__c", MetaLeadIDField: "Meta_Lead_ID__c", LiFatIDField: "LI_FAT_ID__c",
		AdConsentField: "Ad_Consent__c", RequestsPerWindow: testPerWindow, Window: testWindow,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Backoff: retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 20},
		Now: func() time.Time { return time.Now().Add(time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	if _, err := h.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	leads := h.wh.Latest(record.LeadsTable, "lead_id")
	for id, want := range map[string]map[string]any{
		"00Q000000000010": {"meta_lead_id": "ml-10", "li_fat_id": nil, "ad_consent": "granted"},
		"00Q000000000014": {"meta_lead_id": nil, "li_fat_id": "lf-14", "ad_consent": "granted"},
		"00Q000000000009": {"ad_consent": "denied"},
		"00Q000000000001": {"meta_lead_id": nil, "li_fat_id": nil, "ad_consent": nil},
	} {
		for col, v := range want {
			if got := leads[id].Get(col); got != v {
				t.Errorf("%s: %s = %v, want %v", id, col, got, v)
			}
		}
	}
	if _, ok := leads["00Q000000000013"]; ok {
		t.Error(`Lead 13 (Ad_Consent__c "pending") was loaded; consent is never guessed`)
	}
	var reason string
	for _, r := range h.wh.Table(loaders.RejectsTable).Rows {
		if strings.Contains(r[4].(string), "00Q000000000013") {
			reason = r[3].(string)
		}
	}
	if !strings.Contains(reason, "Ad_Consent__c") {
		t.Errorf("Lead 13's reject reason = %q, want it to name Ad_Consent__c", reason)
	}
	// The default harness does not configure the fields: not read.
	h2 := newHarness(t, 30, 0, 0, salesforcesim.Config{}, 5*time.Second)
	if _, err := h2.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h2.wh.Latest(record.LeadsTable, "lead_id")["00Q000000000010"].Get("meta_lead_id"); got != nil {
		t.Errorf("meta_lead_id = %v without the field configured", got)
	}
}
