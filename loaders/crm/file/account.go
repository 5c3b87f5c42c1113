package file

import (
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

func (rd *reading) account(b *record.Batch, f map[string]string, raw string) bool {
	var v record.Fields
	a := record.Account{
		ID:        v.Require("account_id", f["account_id"]),
		Name:      strings.TrimSpace(f["name"]),
		Domain:    strings.TrimSpace(f["domain"]),
		Industry:  strings.TrimSpace(f["industry"]),
		CreatedAt: v.Time("created_at", f["created_at"]),
		UpdatedAt: v.Time("updated_at", f["updated_at"]),
		IsDeleted: v.Bool("is_deleted", f["is_deleted"]),
	}
	rd.future(&v, "created_at", a.CreatedAt)
	rd.future(&v, "updated_at", a.UpdatedAt)
	spreadsheetNumbers(&v, f, "account_id")
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: rd.object, Reason: v.Err.Error(), Raw: raw})
		return false
	}
	a.ModifiedAt = firstSet(a.UpdatedAt, a.CreatedAt)
	b.Accounts = append(b.Accounts, a)
	return true
}

// accountLink records the account a lead or deal row names. A file without
// the account_id column says nothing about accounts, so it links nothing;
// an empty value says the record has no account (any more).
func accountLink(b *record.Batch, f map[string]string, objectType, id string, deleted bool, modified time.Time) {
	acc, ok := f["account_id"]
	if !ok {
		return
	}
	b.AccountLinks = append(b.AccountLinks, record.FieldLink(objectType, id, strings.TrimSpace(acc), deleted, modified))
}
