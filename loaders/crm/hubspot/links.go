package hubspot

import (
	"slices"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// linkCheck is a links stream's comparison. HubSpot moves neither record's
// hs_lastmodifieddate when an association is added or removed (users of
// Airbyte's HubSpot connector found incremental syncs missing such changes,
// airbyte issues 27199 and 44554; its association streams are full refresh
// since), so a deal created before its contact was attached, or a meeting
// logged before its attendee was linked, would keep no lead for good.
type linkCheck struct {
	loaded        map[string][]string // record id → its links loaded (crm.LinkLog)
	read, changed int
}

// keepChanged moves into b the records of page (deals or companies with
// their snapshot associations, or touches) whose links differ from the
// loaded ones. A record never loaded is left to its own stream, and so are
// rejects and merged-away records: that stream has read the same record
// already.
func (lc *linkCheck) keepChanged(page, b *record.Batch) {
	lc.read += len(page.Deals) + len(page.Touches) + len(page.Accounts) + len(page.Rejects)
	if len(page.Deals) > 0 {
		contacts := map[string][]record.DealContact{}
		for _, dc := range page.DealContacts {
			contacts[dc.DealID] = append(contacts[dc.DealID], dc)
		}
		for _, d := range page.Deals {
			if d.IsDeleted {
				continue
			}
			leads := make([]string, 0, len(contacts[d.ID]))
			for _, dc := range contacts[d.ID] {
				leads = append(leads, dc.LeadID)
			}
			if lc.same(d.ID, leads) {
				continue
			}
			b.Deals = append(b.Deals, d)
			b.DealContacts = append(b.DealContacts, contacts[d.ID]...)
			lc.changed++
		}
	}
	if len(page.Accounts) > 0 {
		links := map[string][]record.AccountLink{}
		for _, l := range page.AccountLinks {
			links[l.AccountID] = append(links[l.AccountID], l)
		}
		for _, a := range page.Accounts {
			if a.IsDeleted {
				continue
			}
			linked := make([]string, 0, len(links[a.ID]))
			for _, l := range links[a.ID] {
				linked = append(linked, l.ObjectType+":"+l.RecordID)
			}
			if lc.same(a.ID, linked) {
				continue
			}
			b.Accounts = append(b.Accounts, a)
			b.AccountLinks = append(b.AccountLinks, links[a.ID]...)
			lc.changed++
		}
	}
	for _, t := range page.Touches {
		var leads []string
		if t.LeadID != "" {
			leads = []string{t.LeadID}
		}
		if lc.same(t.ID, leads) {
			continue
		}
		b.Touches = append(b.Touches, t)
		lc.changed++
	}
}

// same reports whether record id is loaded with exactly links, or not
// loaded at all (nothing to correct).
func (lc *linkCheck) same(id string, links []string) bool {
	loaded, ok := lc.loaded[id]
	if !ok {
		return true
	}
	if len(loaded) != len(links) {
		return false
	}
	a, b := slices.Clone(loaded), slices.Clone(links)
	slices.SortFunc(a, compareIDs)
	slices.SortFunc(b, compareIDs)
	return slices.Equal(a, b)
}
