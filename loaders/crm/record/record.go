// Package record owns the CRM-neutral record shapes every CRM source maps
// into (leads, deals, deal↔lead associations, stage changes), the raw table
// schemas they are written to, and the field checks that decide whether a
// source record is loaded or rejected. It is the vocabulary shared by
// loaders/crm and its source subpackages (hubspot, salesforce, file), so it
// imports only loaders, warehouse and internal/iso4217 (the currency codes
// every loader shares).
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// Raw table names. Every row is one version of a record; staging keeps the
// latest version per id.
const (
	LeadsTable        = "raw_crm__leads"
	DealsTable        = "raw_crm__deals"
	DealContactsTable = "raw_crm__deal_contacts"
	StageHistoryTable = "raw_crm__stage_history"
)

// The records whose links a source may compare with the loaded ones (see
// crm.LinkLog).
const (
	LinkedDeals    = "deals"    // a deal's contacts: the snapshot stored with its latest version
	LinkedAccounts = "accounts" // an account's leads and deals: the snapshot stored with its latest version
)

// LinkedTouches prefixes LinkedTouchesOf.
const LinkedTouches = "touches"

// LinkedTouchesOf names, for a LinkLog, the touches of one touch type
// (TouchMeeting, …): each one's lead, as its latest version names it.
func LinkedTouchesOf(touchType string) string { return LinkedTouches + ":" + touchType }

// Lead is a person record: a HubSpot contact, a Salesforce Lead or Contact,
// or a row of the leads export file. Empty strings and zero times are NULL.
type Lead struct {
	ID                     string
	RecordType             string // lead or contact (Salesforce keeps both)
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Email                  string
	Phone                  string
	FirstName              string
	LastName               string
	Company                string
	GAClientID             string // as captured; staging normalises to x.y
	Gclid                  string
	UserID                 string
	LifecycleStage         string // lead, mql, sql, opportunity, customer, lost, disqualified
	MQLAt                  time.Time
	SQLAt                  time.Time
	OpportunityAt          time.Time
	WonAt                  time.Time
	LostAt                 time.Time
	DisqualifiedAt         time.Time
	DisqualificationReason string
	AnalyticsSource        string
	AnalyticsSourceData1   string
	AnalyticsSourceData2   string
	ConvertedContactID     string // Salesforce: the Contact this Lead became
	ConvertedDealID        string // Salesforce: the Opportunity this Lead became
	MetaLeadID             string // the lead id a Meta lead ad issued
	LiFatID                string // LinkedIn's first-party ad tracking id (li_fat_id)
	AdConsent              string // granted, denied or empty (unknown): consent to use the data for ads
	IsDeleted              bool
	ModifiedAt             time.Time // the version: latest wins in staging
}

// Deal is an opportunity with an amount.
type Deal struct {
	ID         string
	LeadID     string // the deal's primary lead when the CRM says; else staging derives it
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ClosedAt   time.Time
	Stage      string
	Pipeline   string
	Amount     string // decimal text, validated by ParseAmount
	Currency   string // ISO 4217, validated by ValidCurrency
	IsWon      bool
	IsLost     bool
	IsDeleted  bool
	ModifiedAt time.Time
}

// DealContact links a deal to a lead.
//
// Snapshot associations (HubSpot) are the deal's full association set as of
// ModifiedAt: staging keeps the set with the deal's latest ModifiedAt, so an
// association removed in the CRM disappears. Non-snapshot associations
// (Salesforce OpportunityContactRole) are records in their own right, versioned
// by ID.
type DealContact struct {
	ID         string
	DealID     string
	LeadID     string
	Role       string
	IsPrimary  bool
	Snapshot   bool
	IsDeleted  bool
	ModifiedAt time.Time
}

// StageChange is one entry of a record's stage history.
type StageChange struct {
	ID         string
	ObjectType string // lead or deal
	RecordID   string
	Stage      string // normalised: lead, mql, sql, opportunity, won, lost, disqualified
	StageRaw   string // as the CRM names it
	EnteredAt  time.Time
	IsDeleted  bool
	ModifiedAt time.Time
}

// Batch is what a source hands to the sync engine: a bounded set of records
// plus the rejects found while reading them, and the cursor that is true once
// all of them are durable.
type Batch struct {
	Leads        []Lead
	Deals        []Deal
	DealContacts []DealContact
	Stages       []StageChange
	Touches      []Touch
	Accounts     []Account
	AccountLinks []AccountLink
	Merges       []Merge
	Rejects      []loaders.Reject
	// SourceRows name the source rows this batch loads, from sources that
	// recognise rows by content (export files); Sync records them once the
	// batch is durable.
	SourceRows []SourceRow
	// Cursor is saved after the batch is durable; empty keeps the previous one.
	Cursor string
}

// Len is the number of records read into the batch, rejects included.
func (b *Batch) Len() int {
	return len(b.Leads) + len(b.Deals) + len(b.DealContacts) + len(b.Stages) + len(b.Touches) + len(b.Accounts) + len(b.AccountLinks) +
		len(b.Merges) + len(b.Rejects)
}

// Append adds o's records, rejects and row hashes to b.
func (b *Batch) Append(o *Batch) {
	b.Leads = append(b.Leads, o.Leads...)
	b.Deals = append(b.Deals, o.Deals...)
	b.DealContacts = append(b.DealContacts, o.DealContacts...)
	b.Stages = append(b.Stages, o.Stages...)
	b.Touches = append(b.Touches, o.Touches...)
	b.Accounts = append(b.Accounts, o.Accounts...)
	b.AccountLinks = append(b.AccountLinks, o.AccountLinks...)
	b.Merges = append(b.Merges, o.Merges...)
	b.Rejects = append(b.Rejects, o.Rejects...)
	b.SourceRows = append(b.SourceRows, o.SourceRows...)
}

// Reset empties the batch, keeping its storage for reuse.
func (b *Batch) Reset() {
	b.Leads = b.Leads[:0]
	b.Deals = b.Deals[:0]
	b.DealContacts = b.DealContacts[:0]
	b.Stages = b.Stages[:0]
	b.Touches = b.Touches[:0]
	b.Accounts = b.Accounts[:0]
	b.AccountLinks = b.AccountLinks[:0]
	b.Merges = b.Merges[:0]
	b.Rejects = b.Rejects[:0]
	b.SourceRows = b.SourceRows[:0]
	b.Cursor = ""
}

// Columns every raw table ends with. version_hash tells apart two versions
// of a record with the same modified_at loaded in the same batch: it is the
// same for identical copies, and staging breaks the tie on it, so the pick
// is the same on every engine and in every run.
var versionColumns = []warehouse.Column{
	{Name: "is_deleted", Type: warehouse.Bool},
	{Name: "modified_at", Type: warehouse.Timestamp},
	{Name: "loaded_at", Type: warehouse.Timestamp},
	{Name: "run_id", Type: warehouse.String},
	{Name: "version_hash", Type: warehouse.String},
}

func schema(cluster string, cols ...warehouse.Column) warehouse.Schema {
	all := append([]warehouse.Column{{Name: "source_system", Type: warehouse.String}}, cols...)
	all = append(all, versionColumns...)
	return warehouse.Schema{Columns: all, ClusterBy: []string{cluster}}
}

func str(name string) warehouse.Column { return warehouse.Column{Name: name, Type: warehouse.String} }
func ts(name string) warehouse.Column  { return warehouse.Column{Name: name, Type: warehouse.Timestamp} }
func boolean(name string) warehouse.Column {
	return warehouse.Column{Name: name, Type: warehouse.Bool}
}

// LeadsSchema is raw_crm__leads.
var LeadsSchema = schema("lead_id",
	str("lead_id"), str("record_type"), ts("created_at"), ts("updated_at"),
	str("email"), str("phone"), str("first_name"), str("last_name"), str("company"),
	str("ga_client_id"), str("gclid"), str("user_id"), str("lifecycle_stage"),
	ts("mql_at"), ts("sql_at"), ts("opportunity_at"), ts("won_at"), ts("lost_at"),
	ts("disqualified_at"), str("disqualification_reason"),
	str("analytics_source"), str("analytics_source_data_1"), str("analytics_source_data_2"),
	str("converted_contact_id"), str("converted_deal_id"),
	str("meta_lead_id"), str("li_fat_id"), str("ad_consent"),
)

// DealsSchema is raw_crm__deals.
var DealsSchema = schema("deal_id",
	str("deal_id"), str("lead_id"), ts("created_at"), ts("updated_at"), ts("closed_at"),
	str("stage"), str("pipeline"), warehouse.Column{Name: "amount", Type: warehouse.Numeric},
	str("currency"), boolean("is_won"), boolean("is_lost"),
)

// DealContactsSchema is raw_crm__deal_contacts.
var DealContactsSchema = schema("deal_id",
	str("association_id"), str("deal_id"), str("lead_id"), str("role"),
	boolean("is_primary"), boolean("is_snapshot"),
)

// StageHistorySchema is raw_crm__stage_history.
var StageHistorySchema = schema("record_id",
	str("history_id"), str("object_type"), str("record_id"), str("stage"), str("stage_raw"),
	ts("entered_at"),
)

// Meta is what the sync engine adds to every row.
type Meta struct {
	System   string
	LoadedAt time.Time
	RunID    string
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// tail appends the version columns to r, a record's own columns.
func (m Meta) tail(r []any, deleted bool, modified time.Time) []any {
	r = append(r, deleted, nullTime(modified))
	h := versionHash(r)
	return append(r, m.LoadedAt, m.RunID, h)
}

// versionHash identifies a version by its content: the hex of the first 16
// bytes of the SHA-256 of values (nil, bool, string, time.Time), each with
// its kind and, for a string, its length, so no two lists of values share
// an encoding. Times count to the microsecond, as the warehouses keep them.
// Rows record it in version_hash without loaded_at and run_id, which tell
// when a version was loaded, not what it says.
func versionHash(values []any) string {
	h := sha256.New()
	var buf [9]byte
	for _, v := range values {
		switch v := v.(type) {
		case nil:
			h.Write([]byte{'n'})
		case bool:
			buf[0], buf[1] = 'b', 0
			if v {
				buf[1] = 1
			}
			h.Write(buf[:2])
		case string:
			buf[0] = 's'
			binary.BigEndian.PutUint64(buf[1:], uint64(len(v)))
			h.Write(buf[:])
			io.WriteString(h, v)
		case time.Time:
			buf[0] = 't'
			binary.BigEndian.PutUint64(buf[1:], uint64(v.UnixMicro()))
			h.Write(buf[:])
		default:
			s := fmt.Sprintf("%T %v", v, v)
			buf[0] = '?'
			binary.BigEndian.PutUint64(buf[1:], uint64(len(s)))
			h.Write(buf[:])
			io.WriteString(h, s)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Row renders l positionally as LeadsSchema.
func (l *Lead) Row(m Meta) []any {
	r := []any{m.System, l.ID, nullStr(l.RecordType), nullTime(l.CreatedAt), nullTime(l.UpdatedAt),
		nullStr(l.Email), nullStr(l.Phone), nullStr(l.FirstName), nullStr(l.LastName), nullStr(l.Company),
		nullStr(l.GAClientID), nullStr(l.Gclid), nullStr(l.UserID), nullStr(l.LifecycleStage),
		nullTime(l.MQLAt), nullTime(l.SQLAt), nullTime(l.OpportunityAt), nullTime(l.WonAt), nullTime(l.LostAt),
		nullTime(l.DisqualifiedAt), nullStr(l.DisqualificationReason),
		nullStr(l.AnalyticsSource), nullStr(l.AnalyticsSourceData1), nullStr(l.AnalyticsSourceData2),
		nullStr(l.ConvertedContactID), nullStr(l.ConvertedDealID),
		nullStr(l.MetaLeadID), nullStr(l.LiFatID), nullStr(l.AdConsent)}
	return m.tail(r, l.IsDeleted, l.ModifiedAt)
}

// Row renders d positionally as DealsSchema.
func (d *Deal) Row(m Meta) []any {
	r := []any{m.System, d.ID, nullStr(d.LeadID), nullTime(d.CreatedAt), nullTime(d.UpdatedAt), nullTime(d.ClosedAt),
		nullStr(d.Stage), nullStr(d.Pipeline), nullStr(d.Amount), nullStr(d.Currency), d.IsWon, d.IsLost}
	return m.tail(r, d.IsDeleted, d.ModifiedAt)
}

// Row renders c positionally as DealContactsSchema.
func (c *DealContact) Row(m Meta) []any {
	r := []any{m.System, c.ID, c.DealID, c.LeadID, nullStr(c.Role), c.IsPrimary, c.Snapshot}
	return m.tail(r, c.IsDeleted, c.ModifiedAt)
}

// Row renders s positionally as StageHistorySchema.
func (s *StageChange) Row(m Meta) []any {
	r := []any{m.System, s.ID, s.ObjectType, s.RecordID, nullStr(s.Stage), nullStr(s.StageRaw), nullTime(s.EnteredAt)}
	return m.tail(r, s.IsDeleted, s.ModifiedAt)
}
