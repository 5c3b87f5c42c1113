package hubspot

import (
	"context"
	"slices"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// companyProperties are the company properties an account needs. name,
// domain (the company's website domain, without the protocol), industry,
// createdate and hs_lastmodifieddate are HubSpot's default company
// properties ("Companies" CRM guide; the default properties list of the
// companies object).
var companyProperties = []string{"name", "domain", "industry", "createdate", "hs_lastmodifieddate", "hs_object_id", mergedProperty}

// mapCompany maps a company, and returns the ids of the companies merged
// into it.
func (s *Source) mapCompany(o *Object, archived bool, b *record.Batch) (merged []string) {
	var v record.Fields
	a := record.Account{
		ID:        v.Require("id", o.ID),
		Name:      v.Text("name", o.Prop("name")),
		Domain:    v.Text("domain", o.Prop("domain")),
		Industry:  v.Text("industry", o.Prop("industry")),
		CreatedAt: v.Time("createdate", firstNonEmpty(o.Prop("createdate"), o.CreatedAt)),
		UpdatedAt: v.Time("hs_lastmodifieddate", firstNonEmpty(o.Prop("hs_lastmodifieddate"), o.UpdatedAt)),
		IsDeleted: archived || o.Archived,
	}
	archivedAt := v.Time("archivedAt", o.ArchivedAt)
	merged = mergedAway(o, &v)
	if v.Err != nil {
		s.reject(b, "companies", o, v.Err)
		return nil
	}
	a.ModifiedAt = latest(a.UpdatedAt, archivedAt)
	b.Accounts = append(b.Accounts, a)
	for _, id := range merged {
		b.Merges = append(b.Merges, record.Merge{ObjectType: record.MergeAccount, MergedID: id, IntoID: a.ID, ModifiedAt: a.ModifiedAt})
	}
	return merged
}

// companyLinks reads the contacts and deals associated with the live
// companies mapped since index first, and stores each company's full set as
// snapshot links versioned with the company (the associations v4 batch
// read, companies→contacts and companies→deals). HubSpot does not move a
// company's hs_lastmodifieddate when only an association changes: the
// companies_links stream re-reads them. A contact's own company association
// is not read here.
func (s *Source) companyLinks(ctx context.Context, first int, b *record.Batch) error {
	ids := make([]string, 0, len(b.Accounts)-first)
	for _, a := range b.Accounts[first:] {
		ids = append(ids, a.ID)
	}
	for _, to := range []struct{ objectType, link string }{{"contacts", record.LinkLead}, {"deals", record.LinkDeal}} {
		assoc, err := s.c.Associations(ctx, "companies", to.objectType, ids)
		if err != nil {
			return err
		}
		for i := first; i < len(b.Accounts); i++ {
			a := &b.Accounts[i]
			linked := assoc[a.ID]
			slices.SortFunc(linked, compareIDs)
			for _, id := range slices.Compact(linked) {
				b.AccountLinks = append(b.AccountLinks, record.AccountLink{
					ID: "company:" + a.ID + ":" + to.link + ":" + id, ObjectType: to.link, RecordID: id, AccountID: a.ID,
					Snapshot: true, ModifiedAt: a.ModifiedAt,
				})
			}
		}
	}
	return nil
}
