package record

import "time"

// MergesTable is the raw table of merges.
const MergesTable = "raw_crm__merges"

// Merge says that a record was merged into another. A CRM that merges
// gives the merged record's id to nothing else, while deals, touches and
// accounts loaded before may still name it; staging points them at the
// record it was merged into.
type Merge struct {
	ObjectType string // LinkLead, LinkDeal or "account"
	MergedID   string
	IntoID     string
	ModifiedAt time.Time // the version of IntoID that names the merge
}

// MergeAccount is the ObjectType of a merge of two accounts.
const MergeAccount = "account"

// MergesSchema is raw_crm__merges.
var MergesSchema = schema("merged_id", str("object_type"), str("merged_id"), str("into_id"))

// Row renders m positionally as MergesSchema.
func (m *Merge) Row(meta Meta) []any {
	r := []any{meta.System, m.ObjectType, m.MergedID, m.IntoID}
	return meta.tail(r, false, m.ModifiedAt)
}
