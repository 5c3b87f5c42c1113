package hubspot

import (
	"context"
	"slices"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// engagement describes a HubSpot activity object read as touches.
//
// Meetings: hs_timestamp places the meeting on the timeline (the Meetings
// API guide; from 12 November 2024 HubSpot sets it to
// hs_meeting_start_time when a meeting is created without it, per its
// changelog), hs_meeting_outcome is SCHEDULED, COMPLETED, RESCHEDULED,
// NO_SHOW or CANCELED. Calls: hs_timestamp is required and is the call's
// time (Calls API guide); hs_call_disposition is the call's outcome as the
// internal id of a disposition (the calling dispositions endpoints list
// their labels), kept as it is. Both object types are searchable by
// hs_lastmodifieddate like the CRM objects.
type engagement struct {
	touchType string
	start     string // the property standing in for a missing hs_timestamp
	status    string
}

var engagements = map[string]engagement{
	"meetings": {touchType: record.TouchMeeting, start: "hs_meeting_start_time", status: "hs_meeting_outcome"},
	"calls":    {touchType: record.TouchCall, status: "hs_call_disposition"},
}

func engagementProperties(objectType string) []string {
	e := engagements[objectType]
	props := []string{"hs_timestamp", e.status, "hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
	if e.start != "" {
		props = append(props, e.start)
	}
	return props
}

func (s *Source) mapEngagement(objectType string, o *Object, archived bool, b *record.Batch) {
	e := engagements[objectType]
	var v record.Fields
	id := v.Require("id", o.ID)
	t := record.Touch{
		// Meetings and calls are both engagements; the prefix keeps their
		// ids apart from each other and from other sources' touches.
		ID:        e.touchType + ":" + id,
		Type:      e.touchType,
		TouchedAt: v.Time("hs_timestamp", firstNonEmpty(o.Prop("hs_timestamp"), o.Prop(e.start))),
		Status:    v.Text(e.status, o.Prop(e.status)),
		IsDeleted: archived || o.Archived,
	}
	updated := v.Time("hs_lastmodifieddate", firstNonEmpty(o.Prop("hs_lastmodifieddate"), o.UpdatedAt))
	archivedAt := v.Time("archivedAt", o.ArchivedAt)
	if v.Err != nil {
		s.reject(b, objectType, o, v.Err)
		return
	}
	t.ModifiedAt = latest(updated, archivedAt)
	b.Touches = append(b.Touches, t)
}

// touchLeads sets the lead of the live touches mapped since index first
// from their associated contacts (associations v4 batch read,
// meetings→contacts and calls→contacts). A touch is one row whatever its
// attendees: the oldest (lowest id) associated contact stands for the lead,
// as on deals, so a meeting with three contacts of one account is one
// account touch, not three. A touch with no contact keeps an empty lead.
func (s *Source) touchLeads(ctx context.Context, objectType string, first int, b *record.Batch) error {
	prefix := len(engagements[objectType].touchType) + 1
	ids := make([]string, 0, len(b.Touches)-first)
	for _, t := range b.Touches[first:] {
		ids = append(ids, t.ID[prefix:])
	}
	assoc, err := s.c.Associations(ctx, objectType, "contacts", ids)
	if err != nil {
		return err
	}
	for i := first; i < len(b.Touches); i++ {
		t := &b.Touches[i]
		if contacts := assoc[t.ID[prefix:]]; len(contacts) > 0 {
			t.LeadID = slices.MinFunc(contacts, compareIDs)
		}
	}
	return nil
}
