package record

import "time"

// Raw tables of the account streams.
const (
	AccountsTable     = "raw_crm__accounts"
	AccountLinksTable = "raw_crm__account_links"
)

// Account is a company: a HubSpot company, a Salesforce Account or a row of
// the accounts export file.
type Account struct {
	ID         string
	Name       string
	Domain     string // the company's web domain, as the CRM holds it; staging normalises
	Industry   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	IsDeleted  bool
	ModifiedAt time.Time
}

// Objects an AccountLink links to an account.
const (
	LinkLead = "lead"
	LinkDeal = "deal"
)

// AccountLink puts a lead or a deal in an account.
//
// Snapshot links (HubSpot company associations) are the account's full set
// of links as of ModifiedAt, the account's version: staging keeps the set
// stored with the account's latest version. Non-snapshot links (Salesforce
// Contact.AccountId and Opportunity.AccountId, the export files' account_id
// column) are a field of the lead or deal, versioned with it by ID
// (ObjectType:RecordID); an empty AccountID says the record has no account
// now.
type AccountLink struct {
	ID         string
	ObjectType string // LinkLead or LinkDeal
	RecordID   string
	AccountID  string
	Snapshot   bool
	IsDeleted  bool
	ModifiedAt time.Time
}

// AccountsSchema is raw_crm__accounts.
var AccountsSchema = schema("account_id",
	str("account_id"), str("name"), str("domain"), str("industry"),
	ts("created_at"), ts("updated_at"),
)

// AccountLinksSchema is raw_crm__account_links.
var AccountLinksSchema = schema("record_id",
	str("link_id"), str("object_type"), str("record_id"), str("account_id"), boolean("is_snapshot"),
)

// Row renders a positionally as AccountsSchema.
func (a *Account) Row(m Meta) []any {
	r := []any{m.System, a.ID, nullStr(a.Name), nullStr(a.Domain), nullStr(a.Industry), nullTime(a.CreatedAt), nullTime(a.UpdatedAt)}
	return m.tail(r, a.IsDeleted, a.ModifiedAt)
}

// Row renders l positionally as AccountLinksSchema.
func (l *AccountLink) Row(m Meta) []any {
	r := []any{m.System, l.ID, l.ObjectType, l.RecordID, nullStr(l.AccountID), l.Snapshot}
	return m.tail(r, l.IsDeleted, l.ModifiedAt)
}

// FieldLink is the non-snapshot link a lead's or deal's account field
// makes, versioned with the record.
func FieldLink(objectType, recordID, accountID string, deleted bool, modified time.Time) AccountLink {
	return AccountLink{
		ID: objectType + ":" + recordID, ObjectType: objectType, RecordID: recordID, AccountID: accountID,
		IsDeleted: deleted, ModifiedAt: modified,
	}
}
