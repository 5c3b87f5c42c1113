package file

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// TouchColumns are the offline touches file's columns (README.md).
var TouchColumns = []string{"touch_id", "lead_id", "email_sha256", "touched_at", "type", "channel",
	"source", "medium", "campaign", "updated_at", "is_deleted"}

// touch maps a row of offline_touches. A row names its lead by lead_id or
// by the SHA-256 of its email; without touch_id its identity is the lead,
// the type and the time, so the same touch exported twice is one touch.
func (rd *reading) touch(b *record.Batch, f map[string]string, raw string) bool {
	var v record.Fields
	t := record.Touch{
		ID:        strings.TrimSpace(f["touch_id"]),
		LeadID:    strings.TrimSpace(f["lead_id"]),
		TouchedAt: v.Time("touched_at", f["touched_at"]),
		Channel:   strings.TrimSpace(f["channel"]),
		Source:    strings.TrimSpace(f["source"]),
		Medium:    strings.TrimSpace(f["medium"]),
		Campaign:  strings.TrimSpace(f["campaign"]),
		IsDeleted: v.Bool("is_deleted", f["is_deleted"]),
	}
	updated := v.Time("updated_at", f["updated_at"])
	if v.Err == nil {
		t.EmailSHA256, v.Err = record.ParseEmailSHA256(f["email_sha256"])
	}
	if v.Err == nil {
		t.Type, v.Err = record.ParseTouchType(f["type"])
	}
	switch {
	case v.Err != nil:
	case t.LeadID == "" && t.EmailSHA256 == "":
		v.Err = fmt.Errorf("neither lead_id nor email_sha256 is set")
	case t.TouchedAt.IsZero():
		v.Err = fmt.Errorf("touched_at is not set")
	case t.Type == record.TouchCampaignMember:
		v.Err = fmt.Errorf("type campaign_member comes from a CRM, not the file (event, webinar, call, meeting, direct_mail)")
	}
	rd.future(&v, "touched_at", t.TouchedAt)
	rd.future(&v, "updated_at", updated)
	spreadsheetNumbers(&v, f, "touch_id", "lead_id")
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: rd.object, Reason: v.Err.Error(), Raw: raw})
		return false
	}
	if t.ID == "" {
		h := sha256.Sum256([]byte(t.LeadID + "\x00" + t.EmailSHA256 + "\x00" + t.Type + "\x00" + t.TouchedAt.Format("2006-01-02T15:04:05.999999999Z")))
		t.ID = "h:" + hex.EncodeToString(h[:12])
	}
	t.ModifiedAt = firstSet(updated, t.TouchedAt)
	b.Touches = append(b.Touches, t)
	return true
}
