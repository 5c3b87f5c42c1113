package salesforce

import (
	"strings"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// campaignMemberFields are the CampaignMember fields SAM reads (Object
// Reference, CampaignMember: CampaignId, LeadId, ContactId, Status,
// HasResponded, FirstRespondedDate, a date), with the campaign's Name and
// Type through the Campaign relationship of CampaignId.
var campaignMemberFields = []string{"LastModifiedDate", "CampaignId", "LeadId", "ContactId", "Status",
	"HasResponded", "FirstRespondedDate", "Campaign.Name", "Campaign.Type"}

// related reads a relationship field such as Campaign.Name: the REST API
// nests it as {"Campaign": {"attributes": ..., "Name": ...}}.
func related(r map[string]any, path string) string {
	rel, field, ok := strings.Cut(path, ".")
	if !ok {
		return str(r, path)
	}
	m, _ := r[rel].(map[string]any)
	return str(m, field)
}

// mapCampaignMember maps a campaign member onto a touch of its Lead (or
// Contact, which staging resolves to the Lead converted into it). A member
// that has not responded keeps a NULL touched_at: it is no touchpoint until
// it responds, and a later version that responds replaces it. The touch
// type follows the campaign's type (webinar, event, direct mail, call);
// other campaigns give plain campaign members.
func (s *Source) mapCampaignMember(r map[string]any, id string, base record.Touch, v *record.Fields, b *record.Batch) {
	t := base
	t.ID = id
	t.LeadID = v.Text("LeadId", str(r, "LeadId"))
	if t.LeadID == "" {
		t.LeadID = v.Require("LeadId or ContactId", str(r, "ContactId"))
	}
	v.Require("CampaignId", str(r, "CampaignId"))
	if v.Bool("HasResponded", str(r, "HasResponded")) {
		t.TouchedAt = v.Time("FirstRespondedDate", str(r, "FirstRespondedDate"))
	}
	t.Type = record.CampaignTouchType(v.Text("Campaign.Type", related(r, "Campaign.Type")))
	t.Campaign = v.Text("Campaign.Name", related(r, "Campaign.Name"))
	t.Status = v.Text("Status", str(r, "Status"))
	if v.Err != nil {
		s.reject(b, "CampaignMember", r, v.Err)
		return
	}
	b.Touches = append(b.Touches, t)
}
