package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// Options configure a Source. Zero tuning values take production defaults.
type Options struct {
	// InstanceURL is the org's URL, such as https://example.my.salesforce.com.
	InstanceURL string
	// AccessToken is a ready session. It lasts the session timeout (two
	// hours by default), so a scheduled job logs in itself instead, with
	// ConsumerKey and ConsumerSecret: the external client app's OAuth
	// client credentials flow, run against InstanceURL (the org's My
	// Domain, the only host that serves that flow). Set one or the other.
	AccessToken    option.Secret
	ConsumerKey    string
	ConsumerSecret option.Secret
	// APIVersion is the REST API version, such as v59.0.
	APIVersion string
	// ClientIDField and GclidField are the Lead/Contact fields holding the
	// hidden-field GA client id and gclid.
	ClientIDField string
	GclidField    string
	// UserIDField is the Lead/Contact field holding the site's user id
	// (matched to GA4 user_id); empty leaves user_id NULL.
	UserIDField string
	// MetaLeadIDField, LiFatIDField and AdConsentField are the Lead/Contact
	// fields holding a Meta lead ad's lead id, LinkedIn's li_fat_id and
	// consent to use the data for ads; empty is not read.
	MetaLeadIDField string
	LiFatIDField    string
	AdConsentField  string
	// CurrencyField is the Opportunity currency field: CurrencyIsoCode in
	// multi-currency orgs; empty (single-currency org) uses DefaultCurrency.
	CurrencyField   string
	DefaultCurrency string
	// RequestsPerWindow limits requests per Window.
	RequestsPerWindow int
	// Overlap re-reads records modified this long before the cursor.
	Overlap time.Duration
	// BatchSize is records per batch (default 1000).
	BatchSize int

	HTTPClient *http.Client
	Logger     *slog.Logger
	// Window is the span of RequestsPerWindow (default 1 s).
	Window  time.Duration
	Backoff retry.Policy
	// MinWindow is the narrowest time window a timed-out query is split to
	// before the sync gives up (default 1 s).
	MinWindow time.Duration
	SlowDelay time.Duration // see ClientOptions
	Now       func() time.Time
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	err := func() error {
		switch {
		case o.InstanceURL == "":
			return option.Invalid("InstanceURL", "", "is not set")
		case o.AccessToken == "" && o.ConsumerKey == "" && o.ConsumerSecret == "":
			return option.Invalid("AccessToken", "", "is not set, nor are ConsumerKey and ConsumerSecret")
		case o.AccessToken != "" && (o.ConsumerKey != "" || o.ConsumerSecret != ""):
			return option.Invalid("AccessToken", "", "is set with ConsumerKey or ConsumerSecret; set the token or the consumer key and secret")
		case o.AccessToken == "" && o.ConsumerKey == "":
			return option.Invalid("ConsumerKey", "", "is not set, while ConsumerSecret is")
		case o.AccessToken == "" && o.ConsumerSecret == "":
			return option.Invalid("ConsumerSecret", "", "is not set, while ConsumerKey is")
		case o.APIVersion == "":
			return option.Invalid("APIVersion", "", "is not set")
		case o.RequestsPerWindow <= 0:
			return option.Invalid("RequestsPerWindow", fmt.Sprint(o.RequestsPerWindow), "is not positive")
		case o.Overlap < 0:
			return option.Invalid("Overlap", o.Overlap.String(), "is negative")
		case o.BatchSize < 0:
			return option.Invalid("BatchSize", fmt.Sprint(o.BatchSize), "is negative")
		case o.CurrencyField == "" && o.DefaultCurrency != "" && !record.ValidCurrency(o.DefaultCurrency):
			return option.Invalid("DefaultCurrency", o.DefaultCurrency, "is not ISO 4217")
		}
		for _, f := range []struct{ name, v string }{{"ClientIDField", o.ClientIDField}, {"GclidField", o.GclidField},
			{"CurrencyField", o.CurrencyField}, {"UserIDField", o.UserIDField}, {"MetaLeadIDField", o.MetaLeadIDField},
			{"LiFatIDField", o.LiFatIDField}, {"AdConsentField", o.AdConsentField}} {
			if f.v != "" && !fieldName(f.v) {
				return option.Invalid(f.name, f.v, "is not a field name")
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("salesforce: %w", err)
	}
	return nil
}

// Source reads Salesforce Leads and Contacts (as leads), Opportunities (as
// deals), OpportunityContactRoles (deal↔lead), OpportunityHistory (stage
// history), CampaignMembers (touches) and Accounts, with the account links
// of Contact.AccountId and Opportunity.AccountId.
type Source struct {
	c         *Client
	o         Options
	overlap   time.Duration
	batchSize int
	log       *slog.Logger
}

// NewSource returns a Salesforce source.
func NewSource(o Options) (*Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MinWindow <= 0 {
		o.MinWindow = time.Second
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1000
	}
	co := ClientOptions{
		HTTPClient: o.HTTPClient, Logger: o.Logger, RequestsPerWindow: o.RequestsPerWindow, Window: o.Window,
		Backoff: o.Backoff, SlowDelay: o.SlowDelay,
	}
	if o.ConsumerKey != "" {
		co.Login = &ClientCredentials{ConsumerKey: o.ConsumerKey, ConsumerSecret: o.ConsumerSecret.Reveal()}
	}
	c := NewClient(o.InstanceURL, o.APIVersion, o.AccessToken.Reveal(), co)
	return &Source{c: c, o: o, overlap: o.Overlap, batchSize: o.BatchSize, log: o.Logger}, nil
}

// fieldName accepts API names such as GA_Client_ID__c; they go into SOQL.
func fieldName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// Client returns the source's API client (API usage readings).
func (s *Source) Client() *Client { return s.c }

// System implements crm.Source.
func (s *Source) System() string { return "salesforce" }

// Streams implements crm.Source: each object's records by SystemModstamp,
// then the deletions of those that can be deleted on their own.
func (s *Source) Streams() []string {
	streams := []string{"Lead", "Contact", "Opportunity", "OpportunityContactRole", "OpportunityHistory", "CampaignMember", "Account"}
	for _, o := range deletable {
		streams = append(streams, o+deletedSuffix)
	}
	return streams
}

// deletable are the objects a deletions stream reads from the delete log.
// An OpportunityHistory row goes with its Opportunity.
var deletable = []string{"Lead", "Contact", "Opportunity", "OpportunityContactRole", "CampaignMember", "Account"}

// deletedSuffix names an object's deletions stream.
const deletedSuffix = "_deleted"

// deleteLogReach is how far back a deletions stream reads: sObject Get
// Deleted answers for no more than 15 days before the day of the call
// (getDeleted() in the SOAP API Developer Guide); 14 keeps clear of that
// day's boundary.
const deleteLogReach = 14 * 24 * time.Hour

func (s *Source) fields(object string) []string {
	base := []string{"Id", "CreatedDate", "SystemModstamp", "IsDeleted"}
	custom := func() []string {
		var f []string
		for _, c := range []string{s.o.ClientIDField, s.o.GclidField, s.o.UserIDField,
			s.o.MetaLeadIDField, s.o.LiFatIDField, s.o.AdConsentField} {
			if c != "" {
				f = append(f, c)
			}
		}
		return f
	}
	switch object {
	case "Lead":
		return append(append(base, "LastModifiedDate", "Email", "Phone", "FirstName", "LastName", "Company", "Status",
			"LeadSource", "IsConverted", "ConvertedDate", "ConvertedContactId", "ConvertedOpportunityId"), custom()...)
	case "Contact":
		return append(append(base, "LastModifiedDate", "Email", "Phone", "FirstName", "LastName", "LeadSource", accountIDField), custom()...)
	case "Opportunity":
		f := append(base, "LastModifiedDate", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", accountIDField)
		if s.o.CurrencyField != "" {
			f = append(f, s.o.CurrencyField)
		}
		return f
	case "OpportunityContactRole":
		return append(base, "OpportunityId", "ContactId", "Role", "IsPrimary")
	case "OpportunityHistory":
		return append(base, "OpportunityId", "StageName")
	case "CampaignMember":
		return append(base, campaignMemberFields...)
	case "Account":
		return append(base, accountFields...)
	}
	return nil
}

// cursor is a stream's resume point: Since is where the last complete sweep
// ended; during a sweep, Start is its upper bound and From (inclusive) how
// far the durable batches reach in SystemModstamp order.
type cursor struct {
	Since   time.Time `json:"since,omitzero"`
	Start   time.Time `json:"start,omitzero"`
	From    time.Time `json:"from,omitzero"`
	InSweep bool      `json:"in_sweep,omitempty"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// soqlTime renders a SOQL datetime literal (second precision).
func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// epoch is the lower bound of a first sync.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Read implements crm.Source. It sweeps [since − overlap, start) in
// SystemModstamp order; a query that times out is retried on the first half
// of its window, and the window grows again after successes.
func (s *Source) Read(ctx context.Context, stream, cur string, emit func(context.Context, *record.Batch) error) error {
	if object, ok := strings.CutSuffix(stream, deletedSuffix); ok && slices.Contains(deletable, object) {
		return s.readDeleted(ctx, object, cur, emit)
	}
	fields := s.fields(stream)
	if fields == nil {
		return fmt.Errorf("salesforce: unknown stream %q", stream)
	}
	var c cursor
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			return fmt.Errorf("salesforce: bad %s cursor %q: %w", stream, cur, err)
		}
	}
	if !c.InSweep {
		c = cursor{Since: c.Since, Start: s.o.Now().UTC().Truncate(time.Second), InSweep: true}
		c.From = epoch
		if !c.Since.IsZero() {
			c.From = c.Since.Add(-s.overlap)
		}
	}
	c.From = c.From.Truncate(time.Second)
	var b record.Batch
	span := c.Start.Sub(c.From)
	for c.From.Before(c.Start) {
		hi := c.From.Add(span)
		if hi.After(c.Start) || span <= 0 {
			hi = c.Start
		}
		soql := fmt.Sprintf("SELECT %s FROM %s WHERE SystemModstamp >= %s AND SystemModstamp < %s ORDER BY SystemModstamp ASC, Id ASC",
			strings.Join(fields, ", "), stream, soqlTime(c.From), soqlTime(hi))
		res, err := s.c.QueryAll(ctx, soql)
		// reached is how far, in SystemModstamp order, the records read so
		// far (emitted or in b) go: a resume point, inclusive.
		reached := c.From
		if errors.Is(err, ErrQueryTimeout) {
			half := hi.Sub(c.From) / 2
			if half < s.o.MinWindow {
				return fmt.Errorf("salesforce: %s: query times out even over %s: %w", stream, hi.Sub(c.From), err)
			}
			span = half.Truncate(time.Second)
			s.log.Info("salesforce query timed out; halving window", "stream", stream, "from", c.From, "span", span)
			continue
		}
		if err != nil {
			return s.stop(ctx, c, &b, err, emit)
		}
		for {
			for _, r := range res.Records {
				s.mapRecord(stream, r, &b)
				reached = stampOf(r, reached)
				if b.Len() >= s.batchSize {
					// Resume inclusively at this stamp: records sharing it
					// are read again rather than skipped.
					c.From = stampOf(r, c.From)
					b.Cursor = c.String()
					if err := emit(ctx, &b); err != nil {
						return err
					}
					b.Reset()
				}
			}
			if res.Done || res.NextRecordsURL == "" {
				break
			}
			if res, err = s.c.More(ctx, res.NextRecordsURL); err != nil {
				c.From = reached
				return s.stop(ctx, c, &b, err, emit)
			}
		}
		c.From = hi
		span *= 2 // try wider again after a narrowed window succeeded
	}
	b.Cursor = cursor{Since: c.Start}.String()
	return emit(ctx, &b)
}

// readDeleted reads the deletions of object from the org's delete log
// (sObject Get Deleted), from where the last read ended, less the overlap,
// to now. queryAll returns a deleted record only while it is in the
// Recycle Bin: one deleted and emptied from the bin between two syncs, or
// deleted for good, is seen only here. Each deletion loads as a version of
// the record with nothing but its id, is_deleted and the deletion's time.
func (s *Source) readDeleted(ctx context.Context, object, cur string, emit func(context.Context, *record.Batch) error) error {
	var c cursor
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			return fmt.Errorf("salesforce: bad %s%s cursor %q: %w", object, deletedSuffix, cur, err)
		}
	}
	end := s.o.Now().UTC().Truncate(time.Minute)
	reach := end.Add(-deleteLogReach)
	from := reach // a first read takes all the log still holds
	switch {
	case c.Since.IsZero():
	case c.Since.Before(reach):
		s.log.Error("salesforce deletions older than the delete log's 15 days cannot be read: records of this object deleted and emptied from the Recycle Bin in this time stay live in SAM",
			"object", object, "from", c.Since, "to", reach)
	default:
		// The overlap reaches back no further than the log.
		from = maxTime(c.Since.Add(-s.overlap), reach)
	}
	from = from.Truncate(time.Minute)
	// resume is where the next read must start when it is before where
	// this one stops: the earliest latestDateCovered (deletions under way
	// at a window's end come after it, and it can lag for hours), or a
	// window Salesforce refused.
	var resume time.Time
	lower := func(t time.Time) {
		if resume.IsZero() || t.Before(resume) {
			resume = t
		}
	}
	since := func(stop time.Time) cursor {
		if !resume.IsZero() && resume.Before(stop) {
			return cursor{Since: resume}
		}
		return cursor{Since: stop}
	}
	var b record.Batch
	span := end.Sub(from)
	// Get Deleted refuses a window of a minute or less.
windows:
	for end.Sub(from) > time.Minute {
		to := from.Add(span)
		if to.After(end) || end.Sub(to) <= time.Minute || to.Sub(from) <= time.Minute {
			to = end
		}
		res, err := s.c.Deleted(ctx, object, from, to)
		switch {
		case errors.Is(err, ErrTooManyDeleted):
			if half := (to.Sub(from) / 2).Truncate(time.Minute); half > time.Minute {
				span = half
				continue
			}
			// More deletions in two minutes than one call returns: no
			// window is narrower.
			s.log.Error("salesforce lists too many deletions even for this window: records of this object deleted and emptied from the Recycle Bin in it stay live in SAM until they are reloaded",
				"object", object, "from", from, "to", to, "error", err)
			from, span = to, end.Sub(to)
			continue
		case errors.Is(err, ErrReplicationDate):
			start, ok, cerr := s.earliestCovered(ctx, object, from, to)
			if cerr != nil {
				return s.stop(ctx, since(from), &b, cerr, emit)
			}
			if !ok {
				// Not even the window's last minutes are answered, which
				// no purge of the log explains (it drops entries over two
				// hours old): the next run asks again.
				s.log.Error("salesforce refuses to list this window's deletions; the next run asks again",
					"object", object, "from", from, "to", to, "error", err)
				lower(from)
				break windows
			}
			// The log was purged after from: what it lost, nothing can
			// recover; the rest is read from the earliest start it answers.
			s.log.Error("salesforce's delete log no longer covers this window: records of this object deleted and emptied from the Recycle Bin in it stay live in SAM until they are reloaded",
				"object", object, "from", from, "to", start, "error", err)
			from = start
			continue
		case err != nil:
			return s.stop(ctx, since(from), &b, err, emit)
		}
		for _, d := range res.DeletedRecords {
			s.mapDeletion(object, d, &b)
		}
		if t, err := record.ParseTime(res.LatestDateCovered); err == nil && !t.IsZero() && t.Before(to) {
			lower(t.Truncate(time.Minute))
		}
		from, span = to, span*2
		if b.Len() >= s.batchSize {
			b.Cursor = since(from).String()
			if err := emit(ctx, &b); err != nil {
				return err
			}
			b.Reset()
		}
	}
	b.Cursor = since(from).String()
	return emit(ctx, &b)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earliestCovered finds, to the minute, the earliest start after from for
// which Get Deleted answers the window ending at to (the delete log was
// purged after from); ok is false when no window of over a minute is
// answered. It bisects: about 15 requests over the log's 15 days.
func (s *Source) earliestCovered(ctx context.Context, object string, from, to time.Time) (time.Time, bool, error) {
	covered := func(start time.Time) (bool, error) {
		_, err := s.c.Deleted(ctx, object, start, to)
		switch {
		case errors.Is(err, ErrReplicationDate):
			return false, nil
		case err == nil || errors.Is(err, ErrTooManyDeleted):
			return true, nil
		}
		return false, err
	}
	lo, hi := from, to.Add(-2*time.Minute)
	if !hi.After(lo) {
		return time.Time{}, false, nil
	}
	if ok, err := covered(hi); !ok || err != nil {
		return time.Time{}, false, err
	}
	for {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
		if !mid.After(lo) {
			return hi, true, nil
		}
		ok, err := covered(mid)
		if err != nil {
			return time.Time{}, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
}

// mapDeletion maps one deletion onto the record's raw table: a version
// with only the id, is_deleted and the deletion's time, which staging
// takes over every earlier version. A Contact's or Opportunity's account
// link goes with it.
func (s *Source) mapDeletion(object string, d DeletedRecord, b *record.Batch) {
	var v record.Fields
	id := v.Require("id", d.ID)
	at := v.Time("deletedDate", v.Require("deletedDate", d.DeletedDate))
	if v.Err != nil {
		s.reject(b, object+deletedSuffix, map[string]any{"id": d.ID, "deletedDate": d.DeletedDate}, v.Err)
		return
	}
	// A microsecond before the deletion: when queryAll has loaded the
	// deleted record, with all its fields, at the same SystemModstamp,
	// that version stays the latest (a deleted converted Lead keeps its
	// converted Contact), and every version before the deletion, stamped
	// to the millisecond, is still older.
	at = at.Add(-time.Microsecond)
	switch object {
	case "Lead", "Contact":
		b.Leads = append(b.Leads, record.Lead{ID: id, RecordType: strings.ToLower(object), IsDeleted: true, ModifiedAt: at})
		if object == "Contact" {
			b.AccountLinks = append(b.AccountLinks, record.FieldLink(record.LinkLead, id, "", true, at))
		}
	case "Opportunity":
		b.Deals = append(b.Deals, record.Deal{ID: id, IsDeleted: true, ModifiedAt: at})
		b.AccountLinks = append(b.AccountLinks, record.FieldLink(record.LinkDeal, id, "", true, at))
	case "OpportunityContactRole":
		b.DealContacts = append(b.DealContacts, record.DealContact{ID: id, IsDeleted: true, ModifiedAt: at})
	case "CampaignMember":
		b.Touches = append(b.Touches, record.Touch{ID: id, Type: record.CampaignTouchType(""), IsDeleted: true, ModifiedAt: at})
	case "Account":
		b.Accounts = append(b.Accounts, record.Account{ID: id, IsDeleted: true, ModifiedAt: at})
	}
}

// stop ends a sweep on err. When the org's daily allowance is used up, the
// records already read are kept with a cursor at c, so the next run resumes
// where this one stopped instead of starting the window again.
func (s *Source) stop(ctx context.Context, c cursor, b *record.Batch, err error, emit func(context.Context, *record.Batch) error) error {
	if !errors.Is(err, ErrDailyLimit) {
		return err
	}
	s.log.Error("salesforce daily API allowance used up; stopping the sync, which resumes from its cursor", "cursor", c.String())
	b.Cursor = c.String()
	if eerr := emit(ctx, b); eerr != nil {
		return errors.Join(err, eerr)
	}
	return err
}

func stampOf(r map[string]any, def time.Time) time.Time {
	t, err := record.ParseTime(str(r, "SystemModstamp"))
	if err != nil || t.IsZero() {
		return def
	}
	return t.Truncate(time.Second)
}

// str reads a field as text: strings as they are, numbers in their JSON
// spelling, booleans as true/false, null and absent as "".
func str(r map[string]any, field string) string {
	switch v := r[field].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func (s *Source) reject(b *record.Batch, object string, r map[string]any, err error) {
	raw, _ := json.Marshal(r)
	b.Rejects = append(b.Rejects, loaders.Reject{Source: "salesforce", Object: object, Reason: err.Error(), Raw: string(raw)})
}

// conversionTime places a Lead's conversion, whose ConvertedDate is a date
// without a time ("ConvertedDate doesn't include the time", Change Data
// Capture developer guide, lead conversion) in the converting user's time
// zone. A converted Lead is locked against edits, so a last modification
// within a day of that date is the conversion itself; otherwise the date's
// start, but never before the Lead was created.
func conversionTime(created, modified, day time.Time) time.Time {
	if day.IsZero() {
		return day
	}
	if !modified.Before(day.Add(-24*time.Hour)) && modified.Before(day.Add(48*time.Hour)) && !modified.Before(created) {
		return modified
	}
	if day.Before(created) {
		return created
	}
	return day
}

func (s *Source) mapRecord(object string, r map[string]any, b *record.Batch) {
	var v record.Fields
	id := v.Require("Id", str(r, "Id"))
	created := v.Time("CreatedDate", str(r, "CreatedDate"))
	modified := v.Time("SystemModstamp", str(r, "SystemModstamp"))
	deleted := v.Bool("IsDeleted", str(r, "IsDeleted"))
	switch object {
	case "Lead", "Contact":
		l := record.Lead{
			ID: id, RecordType: strings.ToLower(object), CreatedAt: created,
			UpdatedAt:       v.Time("LastModifiedDate", str(r, "LastModifiedDate")),
			Email:           v.Text("Email", str(r, "Email")),
			Phone:           v.Text("Phone", str(r, "Phone")),
			FirstName:       v.Text("FirstName", str(r, "FirstName")),
			LastName:        v.Text("LastName", str(r, "LastName")),
			Company:         v.Text("Company", str(r, "Company")),
			AnalyticsSource: v.Text("LeadSource", str(r, "LeadSource")),
			LifecycleStage:  "lead",
			IsDeleted:       deleted, ModifiedAt: modified,
		}
		if f := s.o.ClientIDField; f != "" {
			l.GAClientID = strings.TrimSpace(v.Text(f, str(r, f)))
		}
		if f := s.o.GclidField; f != "" {
			l.Gclid = strings.TrimSpace(v.Text(f, str(r, f)))
		}
		if f := s.o.UserIDField; f != "" {
			l.UserID = strings.TrimSpace(v.Text(f, str(r, f)))
		}
		if f := s.o.MetaLeadIDField; f != "" {
			l.MetaLeadID = strings.TrimSpace(v.Text(f, str(r, f)))
		}
		if f := s.o.LiFatIDField; f != "" {
			l.LiFatID = strings.TrimSpace(v.Text(f, str(r, f)))
		}
		if object == "Contact" {
			v.Text(accountIDField, str(r, accountIDField)) // accountLink writes it
		}
		if f := s.o.AdConsentField; f != "" {
			l.AdConsent = v.Consent(f, str(r, f))
		}
		if object == "Lead" {
			converted := v.Bool("IsConverted", str(r, "IsConverted"))
			convertedAt := v.Time("ConvertedDate", str(r, "ConvertedDate"))
			l.ConvertedContactID = v.Text("ConvertedContactId", str(r, "ConvertedContactId"))
			l.ConvertedDealID = v.Text("ConvertedOpportunityId", str(r, "ConvertedOpportunityId"))
			status := v.Text("Status", str(r, "Status"))
			switch {
			case converted && l.ConvertedDealID != "":
				// The opportunity stage is the opportunity's own creation,
				// which its deal rows carry; the date alone would guess it.
				l.LifecycleStage, l.SQLAt = "opportunity", conversionTime(created, l.UpdatedAt, convertedAt)
			case converted:
				l.LifecycleStage, l.SQLAt = "sql", conversionTime(created, l.UpdatedAt, convertedAt)
			case isDisqualified(status):
				// Salesforce keeps no disqualification date; the last
				// modification is the closest fact.
				l.LifecycleStage, l.DisqualifiedAt, l.DisqualificationReason = "disqualified", l.UpdatedAt, status
			case strings.Contains(strings.ToLower(status), "qualified"):
				l.LifecycleStage = "mql"
			}
		}
		if v.Err != nil {
			s.reject(b, object, r, v.Err)
			return
		}
		b.Leads = append(b.Leads, l)
		if object == "Contact" {
			accountLink(b, r, record.LinkLead, id, deleted, modified)
		}
	case "Opportunity":
		closed := v.Bool("IsClosed", str(r, "IsClosed"))
		won := v.Bool("IsWon", str(r, "IsWon"))
		currency := s.o.DefaultCurrency
		if s.o.CurrencyField != "" {
			currency = str(r, s.o.CurrencyField)
		}
		d := record.Deal{
			ID: id, CreatedAt: created, UpdatedAt: v.Time("LastModifiedDate", str(r, "LastModifiedDate")),
			Stage: v.Text("StageName", str(r, "StageName")), Amount: v.Amount("Amount", str(r, "Amount")),
			Currency: v.Currency(s.o.CurrencyField, currency), IsWon: won, IsLost: closed && !won,
			IsDeleted: deleted, ModifiedAt: modified,
		}
		closeDate := v.Time("CloseDate", str(r, "CloseDate"))
		v.Text(accountIDField, str(r, accountIDField)) // accountLink writes it
		if closed {
			d.ClosedAt = closeDate
		}
		if v.Err != nil {
			s.reject(b, object, r, v.Err)
			return
		}
		b.Deals = append(b.Deals, d)
		accountLink(b, r, record.LinkDeal, id, deleted, modified)
	case "OpportunityContactRole":
		dc := record.DealContact{
			ID: id, DealID: v.Require("OpportunityId", str(r, "OpportunityId")), LeadID: v.Require("ContactId", str(r, "ContactId")),
			Role: v.Text("Role", str(r, "Role")), IsPrimary: v.Bool("IsPrimary", str(r, "IsPrimary")), IsDeleted: deleted, ModifiedAt: modified,
		}
		if v.Err != nil {
			s.reject(b, object, r, v.Err)
			return
		}
		b.DealContacts = append(b.DealContacts, dc)
	case "OpportunityHistory":
		raw := v.Text("StageName", str(r, "StageName"))
		sc := record.StageChange{
			ID: id, ObjectType: "deal", RecordID: v.Require("OpportunityId", str(r, "OpportunityId")),
			Stage: dealStage(raw), StageRaw: raw, EnteredAt: created, IsDeleted: deleted, ModifiedAt: modified,
		}
		if v.Err != nil {
			s.reject(b, object, r, v.Err)
			return
		}
		b.Stages = append(b.Stages, sc)
	case "CampaignMember":
		s.mapCampaignMember(r, id, record.Touch{IsDeleted: deleted, ModifiedAt: modified}, &v, b)
	case "Account":
		s.mapAccount(r, id, record.Account{CreatedAt: created, IsDeleted: deleted, ModifiedAt: modified}, &v, b)
	}
}

func isDisqualified(status string) bool {
	s := strings.ToLower(status)
	return strings.Contains(s, "not converted") || strings.Contains(s, "unqualified") || strings.Contains(s, "disqualified")
}

// dealStage normalises an opportunity stage name: the standard picklist's
// Closed Won and Closed Lost, everything else open.
func dealStage(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "won"):
		return "won"
	case strings.Contains(n, "lost"):
		return "lost"
	}
	return "opportunity"
}
