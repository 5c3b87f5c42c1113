package record

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// TouchesTable is raw_crm__touches: non-web touches (campaign responses,
// meetings, calls, events, webinars, direct mail) that staging turns into
// touchpoints beside GA4 sessions.
const TouchesTable = "raw_crm__touches"

// Touch types. A web session is the GA4 kind; the others come from CRMs
// and the offline touches file.
const (
	TouchEvent          = "event"
	TouchWebinar        = "webinar"
	TouchCall           = "call"
	TouchMeeting        = "meeting"
	TouchDirectMail     = "direct_mail"
	TouchCampaignMember = "campaign_member"
)

// Touch is one non-web touch of a lead: a Salesforce CampaignMember that
// responded, a HubSpot meeting or call, or a row of the offline touches
// file. It names its lead by LeadID or, from the file, by the SHA-256 of
// the lead's email. Empty strings and zero times are NULL; a zero
// TouchedAt (a campaign member that never responded) is no touchpoint.
type Touch struct {
	ID          string
	LeadID      string
	EmailSHA256 string
	Type        string
	TouchedAt   time.Time
	Channel     string // explicit channel; empty derives it in staging
	Source      string
	Medium      string
	Campaign    string
	Status      string // the CRM's status (CampaignMember.Status, meeting outcome, call disposition)
	IsDeleted   bool
	ModifiedAt  time.Time
}

// TouchesSchema is raw_crm__touches.
var TouchesSchema = schema("lead_id",
	str("touch_id"), str("lead_id"), str("email_sha256"), str("touch_type"), ts("touched_at"),
	str("channel"), str("source"), str("medium"), str("campaign"), str("status"),
)

// Row renders t positionally as TouchesSchema.
func (t *Touch) Row(m Meta) []any {
	r := []any{m.System, t.ID, nullStr(t.LeadID), nullStr(t.EmailSHA256), t.Type, nullTime(t.TouchedAt),
		nullStr(t.Channel), nullStr(t.Source), nullStr(t.Medium), nullStr(t.Campaign), nullStr(t.Status)}
	return m.tail(r, t.IsDeleted, t.ModifiedAt)
}

// ParseTouchType normalises a touch type ("Direct Mail" is direct_mail);
// an unknown type is an error.
func ParseTouchType(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.NewReplacer(" ", "_", "-", "_").Replace(t)
	switch t {
	case TouchEvent, TouchWebinar, TouchCall, TouchMeeting, TouchDirectMail, TouchCampaignMember:
		return t, nil
	case "":
		return "", fmt.Errorf("type is not set")
	}
	return "", fmt.Errorf("unknown type %q (event, webinar, call, meeting, direct_mail)", s)
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseEmailSHA256 checks a hashed email: 64 hex digits (case ignored),
// the SHA-256 of the trimmed, lower-cased address as staging computes it.
func ParseEmailSHA256(s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if h != "" && !sha256RE.MatchString(h) {
		return "", fmt.Errorf("email_sha256 is not 64 hex digits")
	}
	return h, nil
}

// touchTypeByCampaignType maps a Salesforce Campaign.Type (the standard
// picklist: Advertisement, Banner Ads, Conference, Direct Mail, Email,
// Other, Partners, Public Relations, Referral Program, Seminar / Conference,
// Telemarketing, Trade Show, Webinar) onto a touch type; the rest are plain
// campaign members.
var touchTypeByCampaignType = map[string]string{
	"webinar":              TouchWebinar,
	"conference":           TouchEvent,
	"seminar / conference": TouchEvent,
	"trade show":           TouchEvent,
	"event":                TouchEvent,
	"direct mail":          TouchDirectMail,
	"telemarketing":        TouchCall,
}

// CampaignTouchType is the touch type of a member of a campaign of this
// type.
func CampaignTouchType(campaignType string) string {
	if t, ok := touchTypeByCampaignType[strings.ToLower(strings.TrimSpace(campaignType))]; ok {
		return t
	}
	return TouchCampaignMember
}
