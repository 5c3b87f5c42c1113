package salesforce_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/internal/memwh"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/salesforcesim"
)

// TestANULValueIsAReject: DuckDB cuts text at a NUL byte, so a field
// "Acme\u0000 GmbH" (valid JSON) loaded as "Acme". Each record holding one
// in a field SAM reads is a reject naming the field, with the personal data
// in its JSON masked, and a Contact or Opportunity rejected links no
// account; the others load.
func TestANULValueIsAReject(t *testing.T) {
	h := newHarnessWith(t, 30, 10, 0, salesforcesim.Config{}, 5*time.Second, func(o *salesforce.Options) {
		o.MetaLeadIDField, o.LiFatIDField = "Meta_Lead_ID__c", "LI_FAT_ID__c"
	})
	h.sim.SeedCampaignMembers(10, 30, 0)
	h.sim.SeedAccounts(5, 0)
	const nul = "Acme\x00 GmbH"
	type nulIn struct{ object, id, field string }
	rejected := []nulIn{
		// Leads 1 to 10 were converted.
		{"Lead", "00Q000000000001", "ConvertedContactId"}, {"Lead", "00Q000000000002", "ConvertedOpportunityId"},
		{"Contact", "003000000000003", "LastName"}, {"Contact", "003000000000004", "AccountId"},
		{"Opportunity", "006000000000001", "StageName"}, {"Opportunity", "006000000000002", "AccountId"},
		{"OpportunityContactRole", "00K000000000001", "Role"}, {"OpportunityContactRole", "00K000000000002", "ContactId"},
		{"OpportunityHistory", "008000000000002", "StageName"},
		{"CampaignMember", "00v000000000001", "Status"}, {"CampaignMember", "00v000000000002", "Campaign.Name"},
		{"CampaignMember", "00v000000000003", "LeadId"}, {"CampaignMember", "00v000000000005", "Campaign.Type"},
		{"Account", "001000000000001", "Name"}, {"Account", "001000000000002", "Website"}, {"Account", "001000000000003", "Industry"},
	}
	for i, f := range []string{"Email", "Phone", "FirstName", "LastName", "Company", "Status", "LeadSource",
		"GA_Client_ID__c", "GCLID__c", "Meta_Lead_ID__c", "LI_FAT_ID__c"} {
		rejected = append(rejected, nulIn{"Lead", fmt.Sprintf("00Q%012d", 11+i), f})
	}
	for _, r := range rejected {
		h.sim.SetField(r.id, r.field, nul)
	}

	counts, err := h.sync(t.Context())
	if err != nil {
		t.Fatalf("a NUL value stopped the sync: %v", err)
	}
	reasons := map[string]string{} // object/Id → reason
	for _, row := range h.wh.Table(loaders.RejectsTable).Rows {
		raw := row[4].(string)
		var r struct{ Id string }
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatalf("reject raw %q is not the record's JSON: %v", raw, err)
		}
		if strings.Contains(raw, "@Example.com") || strings.Contains(raw, `"Ann"`) || strings.ContainsRune(raw, 0) {
			t.Errorf("reject raw %q keeps an email, a name or a NUL byte", raw)
		}
		reasons[row[2].(string)+"/"+r.Id] = row[3].(string)
	}
	tables := map[string]struct {
		rows  map[string]memwh.Row
		count int // records seeded
	}{
		"Lead":                   {h.wh.Latest(record.LeadsTable, "lead_id"), 30 + 10},
		"Contact":                {h.wh.Latest(record.LeadsTable, "lead_id"), 30 + 10},
		"Opportunity":            {h.wh.Latest(record.DealsTable, "deal_id"), 10},
		"OpportunityContactRole": {h.wh.Latest(record.DealContactsTable, "association_id"), 10},
		"OpportunityHistory":     {h.wh.Latest(record.StageHistoryTable, "history_id"), 20},
		"CampaignMember":         {h.wh.Latest(record.TouchesTable, "touch_id"), 10},
		"Account":                {h.wh.Latest(record.AccountsTable, "account_id"), 5},
	}
	links := h.wh.Latest(record.AccountLinksTable, "link_id")
	rejectedIn := map[string]int{}
	for _, r := range rejected {
		tbl := tables[r.object]
		if _, ok := tbl.rows[r.id]; ok {
			t.Errorf("%s %s, with a NUL in %s, was loaded", r.object, r.id, r.field)
		}
		reason, ok := reasons[r.object+"/"+r.id]
		if !ok {
			t.Errorf("%s %s, with a NUL in %s, is not in load_rejects", r.object, r.id, r.field)
		} else if !strings.Contains(reason, r.field) || !strings.Contains(reason, "NUL") {
			t.Errorf("%s %s: reason %q does not name %s and the NUL byte", r.object, r.id, reason, r.field)
		}
		if _, ok := links["lead:"+r.id]; ok {
			t.Errorf("%s %s was rejected, yet links an account", r.object, r.id)
		}
		if _, ok := links["deal:"+r.id]; ok {
			t.Errorf("%s %s was rejected, yet links an account", r.object, r.id)
		}
		if r.object == "Contact" {
			rejectedIn["Lead"]++ // one table
		} else {
			rejectedIn[r.object]++
		}
	}
	for object, tbl := range tables {
		if object == "Contact" {
			continue
		}
		if got, want := len(tbl.rows), tbl.count-rejectedIn[object]; got != want {
			t.Errorf("%s: %d loaded, want %d", object, got, want)
		}
	}
	if got, want := len(reasons), len(rejected); got != want {
		t.Errorf("%d rejects, want %d: %v", got, want, reasons)
	}
	if counts.Rejected != int64(len(rejected)) || counts.Read != counts.Loaded+counts.Rejected {
		t.Errorf("counts %+v: want %d rejected, and read = loaded + rejected", counts, len(rejected))
	}
}
