package hubspot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// TestAdIdentifiersAndConsent reads the Meta lead id, li_fat_id and ad
// consent from the configured contact properties, as the file source reads
// its columns; a consent that is not granted or denied is a reject.
func TestAdIdentifiersAndConsent(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	sim.Seed(30, 0, 0)
	src := newSource(t, sim, 5*time.Second, func(o *hubspot.Options) {
		o.MetaLeadIDProperty, o.LiFatIDProperty, o.AdConsentProperty = "meta_lead_id", "li_fat_id", "ad_consent"
	})
	h := &harness{sim: sim, src: src, wh: memwh.New(), cursors: memwh.NewCursors()}
	if err := h.syncStreams(t, "contacts"); err != nil {
		t.Fatal(err)
	}
	leads := h.wh.Latest(record.LeadsTable, "lead_id")
	for id, want := range map[string]map[string]any{
		"10": {"meta_lead_id": "ml-10", "li_fat_id": nil, "ad_consent": "granted"},
		"14": {"meta_lead_id": nil, "li_fat_id": "lf-14", "ad_consent": "granted"},
		"9":  {"ad_consent": "denied"},
		"1":  {"meta_lead_id": nil, "li_fat_id": nil, "ad_consent": nil},
	} {
		for col, v := range want {
			if got := leads[id].Get(col); got != v {
				t.Errorf("contact %s: %s = %v, want %v", id, col, got, v)
			}
		}
	}
	if _, ok := leads["13"]; ok {
		t.Error(`contact 13 (ad_consent "pending") was loaded; consent is never guessed`)
	}
	var reason string
	for _, r := range h.wh.Table(loaders.RejectsTable).Rows {
		if strings.Contains(r[4].(string), `"id":"13"`) {
			reason = r[3].(string)
		}
	}
	if !strings.Contains(reason, "ad_consent") {
		t.Errorf("contact 13's reject reason = %q, want it to name ad_consent", reason)
	}

	// Not configured: not read.
	h2 := newHarness(t, 30, 0, 0, hubspotsim.Faults{}, 5*time.Second)
	if err := h2.syncStreams(t, "contacts"); err != nil {
		t.Fatal(err)
	}
	if got := h2.wh.Latest(record.LeadsTable, "lead_id")["10"].Get("meta_lead_id"); got != nil {
		t.Errorf("meta_lead_id = %v without the property configured", got)
	}
}
