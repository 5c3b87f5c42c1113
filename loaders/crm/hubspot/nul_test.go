package hubspot_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/tests/hubspotsim"
)

// TestANULValueIsAReject: DuckDB cuts text at a NUL byte, so a property
// "Acme\u0000 GmbH" (valid JSON) loaded as "Acme". Each record holding one
// in a property SAM reads is a reject naming the property, with the
// personal data in its JSON masked; the others load, and a NUL in a
// property SAM does not read (dealname) costs its deal nothing.
func TestANULValueIsAReject(t *testing.T) {
	sim := newSim(t, hubspotsim.Faults{})
	sim.Seed(30, 6, 0)
	sim.SeedAccounts(5, 5, 5, 0)
	const nul = "Acme\x00 GmbH"
	type nulIn struct {
		object string
		id     int64
		prop   string
	}
	var rejected []nulIn
	for i, p := range []string{"email", "phone", "firstname", "lastname", "company", "ga_client_id", "gclid",
		"site_user_id", "meta_lead_id", "li_fat_id", "hs_analytics_source", "hs_analytics_source_data_1",
		"hs_analytics_source_data_2", "lifecyclestage", "hs_lead_status"} {
		rejected = append(rejected, nulIn{"contacts", int64(i + 1), p})
	}
	rejected = append(rejected, nulIn{"deals", 1, "dealstage"}, nulIn{"deals", 2, "pipeline"},
		nulIn{"companies", 1, "name"}, nulIn{"companies", 2, "domain"}, nulIn{"companies", 4, "industry"},
		nulIn{"meetings", 1, "hs_meeting_outcome"}, nulIn{"calls", 1, "hs_call_disposition"})
	for _, r := range rejected {
		sim.SetProperty(r.object, r.id, r.prop, nul)
	}
	sim.SetProperty("deals", 3, "dealname", nul)

	src := newSource(t, sim, 5*time.Second, func(o *hubspot.Options) {
		o.UserIDProperty, o.MetaLeadIDProperty, o.LiFatIDProperty = "site_user_id", "meta_lead_id", "li_fat_id"
	})
	wh := memwh.New()
	counts, err := crm.Sync(t.Context(), wh, src, crm.Options{RunID: "test", Cursors: memwh.NewCursors(), Links: memwh.Links{W: wh}})
	if err != nil {
		t.Fatalf("a NUL value stopped the sync: %v", err)
	}

	reasons := map[string]string{} // object/id → reason
	for _, row := range wh.Table(loaders.RejectsTable).Rows {
		raw := row[4].(string)
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			t.Fatalf("reject raw %q is not the record's JSON: %v", raw, err)
		}
		if strings.Contains(raw, "Example.COM") || strings.Contains(raw, `"Last`+o.ID+`"`) || strings.ContainsRune(raw, 0) {
			t.Errorf("reject raw %q keeps an email, a name or a NUL byte", raw)
		}
		reasons[row[2].(string)+"/"+o.ID] = row[3].(string)
	}
	loaded := map[string]map[string]memwh.Row{
		"contacts":  wh.Latest(record.LeadsTable, "lead_id"),
		"deals":     wh.Latest(record.DealsTable, "deal_id"),
		"companies": wh.Latest(record.AccountsTable, "account_id"),
	}
	touches := wh.Latest(record.TouchesTable, "touch_id")
	key := func(object string, id int64) (string, bool) {
		sid := strconv.FormatInt(id, 10)
		switch object {
		case "meetings":
			_, ok := touches["meeting:"+sid]
			return sid, ok
		case "calls":
			_, ok := touches["call:"+sid]
			return sid, ok
		}
		_, ok := loaded[object][sid]
		return sid, ok
	}
	for _, r := range rejected {
		id, ok := key(r.object, r.id)
		if ok {
			t.Errorf("%s %s, with a NUL in %s, was loaded", r.object, id, r.prop)
		}
		reason, ok := reasons[r.object+"/"+id]
		if !ok {
			t.Errorf("%s %s, with a NUL in %s, is not in load_rejects", r.object, id, r.prop)
			continue
		}
		if !strings.Contains(reason, r.prop) || !strings.Contains(reason, "NUL") {
			t.Errorf("%s %s: reason %q does not name %s and the NUL byte", r.object, id, reason, r.prop)
		}
	}
	if _, ok := loaded["deals"]["3"]; !ok {
		t.Error("deal 3, with a NUL in dealname, which SAM does not read, was not loaded")
	}
	if got, want := len(reasons), len(rejected); got != want {
		t.Errorf("%d rejects, want %d: %v", got, want, reasons)
	}
	for object, want := range map[string]int{"contacts": 30 - 15, "deals": 6 - 2, "companies": 5 - 3} {
		if got := len(loaded[object]); got != want {
			t.Errorf("%d %s loaded, want %d", got, object, want)
		}
	}
	if got := len(touches); got != 2*(5-1) {
		t.Errorf("%d meetings and calls loaded, want %d", got, 2*(5-1))
	}
	if counts.Rejected != int64(len(rejected)) || counts.Read != counts.Loaded+counts.Rejected {
		t.Errorf("counts %+v: want %d rejected, and read = loaded + rejected", counts, len(rejected))
	}
}
