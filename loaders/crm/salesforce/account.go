package salesforce

import (
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// accountFields are the Account fields SAM reads (Salesforce Field
// Reference, Account: Name string, Website url, Industry picklist,
// LastModifiedDate datetime). Website is kept as the org holds it; staging
// reduces it to a domain.
var accountFields = []string{"LastModifiedDate", "Name", "Website", "Industry"}

// accountIDField is the lookup from Contact and from Opportunity to their
// Account (Salesforce Field Reference, Contact and Opportunity: AccountId,
// reference, 18). It is a field of the record, so the link it makes is
// versioned with the Contact or Opportunity and an empty value unlinks.
const accountIDField = "AccountId"

func (s *Source) mapAccount(r map[string]any, id string, base record.Account, v *record.Fields, b *record.Batch) {
	a := base
	a.ID = id
	a.Name = strings.TrimSpace(v.Text("Name", str(r, "Name")))
	a.Domain = strings.TrimSpace(v.Text("Website", str(r, "Website")))
	a.Industry = strings.TrimSpace(v.Text("Industry", str(r, "Industry")))
	a.UpdatedAt = v.Time("LastModifiedDate", str(r, "LastModifiedDate"))
	if v.Err != nil {
		s.reject(b, "Account", r, v.Err)
		return
	}
	b.Accounts = append(b.Accounts, a)
}

// accountLink records the account a Contact (objectType record.LinkLead) or
// Opportunity (record.LinkDeal) names; callers add it only beside a record
// that loaded, so a rejected record links nothing, and check the field with
// the record's others.
func accountLink(b *record.Batch, r map[string]any, objectType, id string, deleted bool, modified time.Time) {
	b.AccountLinks = append(b.AccountLinks, record.FieldLink(objectType, id, strings.TrimSpace(str(r, accountIDField)), deleted, modified))
}
