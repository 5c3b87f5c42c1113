package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// Options configure a Source. Zero tuning values take production defaults;
// tests shorten the windows and enlarge the pages.
type Options struct {
	// Token is the private app access token.
	Token   option.Secret
	BaseURL string
	// ClientIDProperty and GclidProperty are the contact properties holding
	// the hidden-field GA client id and gclid.
	ClientIDProperty string
	GclidProperty    string
	// UserIDProperty is the contact property holding the site's user id
	// (matched to GA4 user_id); empty leaves user_id NULL.
	UserIDProperty string
	// MetaLeadIDProperty, LiFatIDProperty and AdConsentProperty are the
	// contact properties holding a Meta lead ad's lead id, LinkedIn's
	// li_fat_id and consent to use the data for ads; empty is not read.
	MetaLeadIDProperty string
	LiFatIDProperty    string
	AdConsentProperty  string
	// RequestsPerWindow limits requests per Window; SearchPerWindow search
	// requests per SearchWindow.
	RequestsPerWindow int
	SearchPerWindow   int
	// Overlap re-reads records modified this long before the cursor.
	Overlap time.Duration
	// BatchSize is records per batch (default 1000).
	BatchSize int
	// Objects are the object types to sync, a subset of AllObjects (empty:
	// all). Each has a live and an archived stream; all but contacts also a
	// links stream.
	Objects []string
	// LinkWindow bounds the links streams to records created this long
	// before the sync (0: every live record). HubSpot changes no record's
	// hs_lastmodifieddate for an association, so those streams re-read the
	// associations of every record in the window each sync.
	LinkWindow time.Duration

	HTTPClient *http.Client
	Logger     *slog.Logger
	// Window is the span of RequestsPerWindow (default 10 s);
	// SearchWindow the span of SearchPerWindow (default 1 s).
	Window       time.Duration
	SearchWindow time.Duration
	// PageSize is records per list request (default 100, the objects
	// API's maximum); SearchPageSize per search request (default 200, the
	// search API's maximum: "Search the CRM", Limitations).
	PageSize       int
	SearchPageSize int
	Backoff        retry.Policy
	// Now is the clock that stamps sweeps (default time.Now).
	Now func() time.Time
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	var err error
	switch {
	case o.Token == "":
		err = option.Invalid("Token", "", "is not set")
	case o.BaseURL == "":
		err = option.Invalid("BaseURL", "", "is not set")
	case !validProperty(o.ClientIDProperty):
		err = option.Invalid("ClientIDProperty", o.ClientIDProperty, "is not a property name")
	case !validProperty(o.GclidProperty):
		err = option.Invalid("GclidProperty", o.GclidProperty, "is not a property name")
	case o.UserIDProperty != "" && !validProperty(o.UserIDProperty):
		err = option.Invalid("UserIDProperty", o.UserIDProperty, "is not a property name")
	case o.MetaLeadIDProperty != "" && !validProperty(o.MetaLeadIDProperty):
		err = option.Invalid("MetaLeadIDProperty", o.MetaLeadIDProperty, "is not a property name")
	case o.LiFatIDProperty != "" && !validProperty(o.LiFatIDProperty):
		err = option.Invalid("LiFatIDProperty", o.LiFatIDProperty, "is not a property name")
	case o.AdConsentProperty != "" && !validProperty(o.AdConsentProperty):
		err = option.Invalid("AdConsentProperty", o.AdConsentProperty, "is not a property name")
	case o.RequestsPerWindow <= 0:
		err = option.Invalid("RequestsPerWindow", fmt.Sprint(o.RequestsPerWindow), "is not positive")
	case o.SearchPerWindow <= 0:
		err = option.Invalid("SearchPerWindow", fmt.Sprint(o.SearchPerWindow), "is not positive")
	case o.Overlap < 0:
		err = option.Invalid("Overlap", o.Overlap.String(), "is negative")
	case o.BatchSize < 0:
		err = option.Invalid("BatchSize", fmt.Sprint(o.BatchSize), "is negative")
	case o.LinkWindow < 0:
		err = option.Invalid("LinkWindow", o.LinkWindow.String(), "is negative")
	case slices.ContainsFunc(o.Objects, func(ob string) bool { return !slices.Contains(AllObjects, ob) }):
		err = option.Invalid("Objects", strings.Join(o.Objects, ","), "is not a subset of %s", strings.Join(AllObjects, ","))
	case o.SearchPageSize < 0 || o.SearchPageSize > maxSearchPage:
		err = option.Invalid("SearchPageSize", fmt.Sprint(o.SearchPageSize), "is not between 1 and %d", maxSearchPage)
	}
	if err != nil {
		return fmt.Errorf("hubspot: %w", err)
	}
	return nil
}

// AllObjects are the object types a Source reads.
var AllObjects = []string{"contacts", "deals", "companies", "meetings", "calls"}

// maxSearchPage is the most results one search request may ask for.
const maxSearchPage = 200

// Source reads HubSpot contacts (as leads), deals, companies (as accounts)
// and meetings and calls (as touches).
type Source struct {
	c          *Client
	o          Options
	userIDProp string
	overlap    time.Duration
	batchSize  int
	pageSize   int
	now        func() time.Time
	log        *slog.Logger
}

// NewSource returns a HubSpot source.
func NewSource(o Options) (*Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.SearchPageSize == 0 {
		o.SearchPageSize = maxSearchPage
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := NewClient(o.BaseURL, o.Token.Reveal(), ClientOptions{
		HTTPClient: o.HTTPClient, Logger: o.Logger,
		RequestsPerWindow: o.RequestsPerWindow, Window: o.Window,
		SearchPerWindow: o.SearchPerWindow, SearchWindow: o.SearchWindow,
		Backoff: o.Backoff,
	})
	return &Source{c: c, o: o, userIDProp: o.UserIDProperty, overlap: o.Overlap,
		batchSize: o.BatchSize, pageSize: o.PageSize, now: o.Now, log: o.Logger}, nil
}

// System implements crm.Source.
func (s *Source) System() string { return "hubspot" }

// Streams implements crm.Source: live records by modification date, then
// archived (deleted) ones, then the links of deals, companies, meetings and
// calls.
func (s *Source) Streams() []string {
	objects := s.o.Objects
	if len(objects) == 0 {
		objects = AllObjects
	}
	streams := slices.Clone(objects)
	for _, o := range objects {
		streams = append(streams, o+"_archived")
	}
	for _, o := range objects {
		if linked(o) {
			streams = append(streams, o+linksSuffix)
		}
	}
	return streams
}

// linksSuffix names an object's links stream.
const linksSuffix = "_links"

// linked reports whether objectType's records carry links a links stream
// re-reads: a deal its contacts, a meeting or call its attendee, a company
// its contacts and deals.
func linked(objectType string) bool {
	return objectType != "contacts"
}

// linkedObject names what a links stream of objectType compares in the
// LinkLog.
func linkedObject(objectType string) string {
	switch objectType {
	case "deals":
		return record.LinkedDeals
	case "companies":
		return record.LinkedAccounts
	}
	// Meetings and calls each read only their own touches.
	return record.LinkedTouchesOf(engagements[objectType].touchType)
}

// cursor is a stream's resume point. Since is where the last complete sweep
// started (records modified from then on, less the overlap, are re-read);
// during a sweep, Start is when it started and AfterID/After how far it got.
type cursor struct {
	Since   time.Time `json:"since,omitzero"`
	Start   time.Time `json:"start,omitzero"`
	AfterID int64     `json:"after_id,omitempty"` // search sweeps: last durable hs_object_id
	After   string    `json:"after,omitempty"`    // archived listings: paging token
	InSweep bool      `json:"in_sweep,omitempty"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Read implements crm.Source. The links streams need ReadRefreshing.
func (s *Source) Read(ctx context.Context, stream, cur string, emit func(context.Context, *record.Batch) error) error {
	return s.ReadRefreshing(ctx, stream, cur, nil, emit)
}

// ReadRefreshing implements crm.LinkRefresher.
func (s *Source) ReadRefreshing(ctx context.Context, stream, cur string, loaded func(context.Context, string) (map[string][]string, error), emit func(context.Context, *record.Batch) error) error {
	var c cursor
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			return fmt.Errorf("hubspot: bad %s cursor %q: %w", stream, cur, err)
		}
	}
	if !c.InSweep {
		c = cursor{Since: c.Since, Start: s.now().UTC(), InSweep: true}
	}
	switch stream {
	case "contacts", "deals", "companies", "meetings", "calls":
		return s.sweep(ctx, stream, c, nil, emit)
	case "contacts_archived", "deals_archived", "companies_archived", "meetings_archived", "calls_archived":
		return s.archived(ctx, strings.TrimSuffix(stream, "_archived"), c, emit)
	case "deals_links", "companies_links", "meetings_links", "calls_links":
		if loaded == nil {
			return fmt.Errorf("hubspot: stream %s compares links with those loaded: read it with ReadRefreshing", stream)
		}
		objectType := strings.TrimSuffix(stream, linksSuffix)
		links, err := loaded(ctx, linkedObject(objectType))
		if err != nil {
			return fmt.Errorf("hubspot: %s: %w", stream, err)
		}
		return s.sweep(ctx, objectType, c, &linkCheck{loaded: links}, emit)
	}
	return fmt.Errorf("hubspot: unknown stream %q", stream)
}

func (s *Source) modifiedProperty(objectType string) string {
	if objectType == "contacts" {
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

// createdProperty names the property holding a record's creation time:
// createdate on CRM objects, hs_createdate on engagements.
func createdProperty(objectType string) string {
	if _, ok := engagements[objectType]; ok {
		return "hs_createdate"
	}
	return "createdate"
}

func (s *Source) properties(objectType string) []string {
	switch objectType {
	case "companies":
		return companyProperties
	case "meetings", "calls":
		return engagementProperties(objectType)
	}
	if objectType == "contacts" {
		props := []string{"email", "firstname", "lastname", "phone", "company", "createdate", "lastmodifieddate",
			"lifecyclestage", "hs_lead_status",
			"hs_lifecyclestage_lead_date", "hs_lifecyclestage_marketingqualifiedlead_date",
			"hs_lifecyclestage_salesqualifiedlead_date", "hs_lifecyclestage_opportunity_date",
			"hs_lifecyclestage_customer_date",
			"hs_analytics_source", "hs_analytics_source_data_1", "hs_analytics_source_data_2",
			s.o.ClientIDProperty, s.o.GclidProperty, "hs_object_id", mergedProperty}
		for _, p := range []string{s.userIDProp, s.o.MetaLeadIDProperty, s.o.LiFatIDProperty, s.o.AdConsentProperty} {
			if p != "" {
				props = append(props, p)
			}
		}
		return props
	}
	return []string{"dealname", "amount", "dealstage", "pipeline", "closedate", "hs_is_closed_won", "hs_is_closed",
		"deal_currency_code", "createdate", "hs_lastmodifieddate", "hs_object_id", mergedProperty}
}

// sweep reads every live record modified since the cursor, in
// hs_object_id order, one keyset page at a time: each request filters
// hs_object_id > the last id seen instead of paging with an offset. That
// sidesteps the search endpoint's 10,000-results-per-query cap, and a record
// archived mid-sweep cannot shift later records past an offset.
//
// With links set, it is a links stream instead: it reads every live record
// created within Options.LinkWindow, whatever its modification date, and
// keeps only those whose links differ from the loaded ones.
func (s *Source) sweep(ctx context.Context, objectType string, c cursor, links *linkCheck, emit func(context.Context, *record.Batch) error) error {
	var b, page record.Batch
	pages := 0
	filterProp, from := s.modifiedProperty(objectType), time.Time{}
	switch {
	case links != nil:
		filterProp = createdProperty(objectType)
		if s.o.LinkWindow > 0 {
			from = c.Start.Add(-s.o.LinkWindow)
		}
	case !c.Since.IsZero():
		from = c.Since.Add(-s.overlap)
	}
	props := s.properties(objectType)
	for {
		var filters []Filter
		if !from.IsZero() {
			filters = append(filters, Filter{PropertyName: filterProp, Operator: "GTE", Value: strconv.FormatInt(from.UnixMilli(), 10)})
		}
		if c.AfterID > 0 {
			filters = append(filters, Filter{PropertyName: "hs_object_id", Operator: "GT", Value: strconv.FormatInt(c.AfterID, 10)})
		}
		req := SearchRequest{Sorts: []Sort{{PropertyName: "hs_object_id", Direction: "ASCENDING"}}, Properties: props, Limit: s.o.SearchPageSize}
		if len(filters) > 0 {
			req.FilterGroups = []FilterGroup{{Filters: filters}}
		}
		found, err := s.c.Search(ctx, objectType, req)
		if err != nil {
			return s.stop(ctx, c, &b, err, emit)
		}
		last := c.AfterID
		for i := range found.Results {
			o := &found.Results[i]
			if id, err := strconv.ParseInt(o.ID, 10, 64); err == nil && id > last {
				last = id
			}
		}
		// A page joins the batch whole: one whose associations read fails
		// (the daily limit) is read again from c, which is still before it.
		page.Reset()
		if err := s.mapPage(ctx, objectType, found.Results, false, &page); err != nil {
			return s.stop(ctx, c, &b, err, emit)
		}
		if links == nil {
			b.Append(&page)
		} else {
			links.keepChanged(&page, &b)
		}
		pages++
		done := found.NextAfter() == "" || last == c.AfterID
		c.AfterID = last
		if done {
			if links != nil {
				s.log.Info("hubspot links re-read", "object", objectType, "records", links.read, "changed", links.changed)
			}
			b.Cursor = cursor{Since: c.Start}.String()
			return emit(ctx, &b)
		}
		// A links sweep keeps few records: its progress is saved by pages.
		if b.Len() >= s.batchSize || (links != nil && pages%linksPagesPerCursor == 0) {
			b.Cursor = c.String()
			if err := emit(ctx, &b); err != nil {
				return err
			}
			b.Reset()
		}
	}
}

// linksPagesPerCursor is how many pages a links sweep reads between saved
// cursors.
const linksPagesPerCursor = 20

// archived lists archived records. The listing cannot filter by date, so it
// walks all of them and keeps those archived since the last sweep (less the
// overlap); a first sync keeps them all.
func (s *Source) archived(ctx context.Context, objectType string, c cursor, emit func(context.Context, *record.Batch) error) error {
	var b record.Batch
	from := time.Time{}
	if !c.Since.IsZero() {
		from = c.Since.Add(-s.overlap)
	}
	props := s.properties(objectType)
	for {
		page, err := s.c.List(ctx, objectType, props, s.pageSize, c.After, true)
		if err != nil {
			return s.stop(ctx, c, &b, err, emit)
		}
		keep := page.Results[:0]
		for _, o := range page.Results {
			at, err := record.ParseTime(o.ArchivedAt)
			if err != nil || at.IsZero() || from.IsZero() || !at.Before(from) {
				keep = append(keep, o)
			}
		}
		if err := s.mapPage(ctx, objectType, keep, true, &b); err != nil {
			return err
		}
		c.After = page.NextAfter()
		if c.After == "" {
			b.Cursor = cursor{Since: c.Start}.String()
			return emit(ctx, &b)
		}
		if b.Len() >= s.batchSize {
			b.Cursor = c.String()
			if err := emit(ctx, &b); err != nil {
				return err
			}
			b.Reset()
		}
	}
}

// stop ends a sweep on err, between pages. When the daily limit is used up,
// the pages already read are kept with a cursor at c, so the next run
// resumes where this one stopped.
func (s *Source) stop(ctx context.Context, c cursor, b *record.Batch, err error, emit func(context.Context, *record.Batch) error) error {
	if !errors.Is(err, ErrDailyLimit) {
		return err
	}
	s.log.Error("hubspot daily API limit used up; stopping the sync, which resumes from its cursor", "cursor", c.String())
	b.Cursor = c.String()
	if eerr := emit(ctx, b); eerr != nil {
		return errors.Join(err, eerr)
	}
	return err
}

func (s *Source) mapPage(ctx context.Context, objectType string, objs []Object, archived bool, b *record.Batch) error {
	switch objectType {
	case "contacts":
		for i := range objs {
			s.mapContact(&objs[i], archived, b)
		}
		return nil
	case "companies":
		first := len(b.Accounts)
		var merged []record.Account
		for i := range objs {
			for _, id := range s.mapCompany(&objs[i], archived, b) {
				merged = append(merged, record.Account{ID: id, IsDeleted: true, ModifiedAt: b.Accounts[len(b.Accounts)-1].ModifiedAt})
			}
		}
		// The merged-away go in after the links read, which is of live
		// companies.
		defer func() { b.Accounts = append(b.Accounts, merged...) }()
		if archived || len(b.Accounts) == first {
			return nil
		}
		return s.companyLinks(ctx, first, b)
	case "meetings", "calls":
		first := len(b.Touches)
		for i := range objs {
			s.mapEngagement(objectType, &objs[i], archived, b)
		}
		if archived || len(b.Touches) == first {
			return nil
		}
		return s.touchLeads(ctx, objectType, first, b)
	}
	first := len(b.Deals)
	var merged []record.Deal
	for i := range objs {
		for _, id := range s.mapDeal(&objs[i], archived, b) {
			merged = append(merged, record.Deal{ID: id, IsDeleted: true, ModifiedAt: b.Deals[len(b.Deals)-1].ModifiedAt})
		}
	}
	// The merged-away go in after the associations read, which is of live
	// deals.
	defer func() { b.Deals = append(b.Deals, merged...) }()
	if archived || len(b.Deals) == first {
		return nil
	}
	// Associations of the deals just mapped: their full set as of this version.
	ids := make([]string, 0, len(b.Deals)-first)
	for _, d := range b.Deals[first:] {
		ids = append(ids, d.ID)
	}
	assoc, err := s.c.Associations(ctx, "deals", "contacts", ids)
	if err != nil {
		return err
	}
	for i := first; i < len(b.Deals); i++ {
		d := &b.Deals[i]
		contacts := assoc[d.ID]
		slices.SortFunc(contacts, compareIDs)
		contacts = slices.Compact(contacts)
		for j, lead := range contacts {
			if j == 0 {
				// HubSpot has no primary contact on a deal; the oldest
				// (lowest id) associated contact stands for the lead.
				d.LeadID = lead
			}
			b.DealContacts = append(b.DealContacts, record.DealContact{
				ID: d.ID + ":" + lead, DealID: d.ID, LeadID: lead, IsPrimary: j == 0, Snapshot: true,
				ModifiedAt: d.ModifiedAt,
			})
		}
	}
	return nil
}

func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func (s *Source) reject(b *record.Batch, objectType string, o *Object, err error) {
	raw, _ := json.Marshal(o)
	b.Rejects = append(b.Rejects, loaders.Reject{Source: "hubspot", Object: objectType, Reason: err.Error(), Raw: string(raw)})
}

// lifecycle maps HubSpot's lifecyclestage values onto SAM's stages.
func lifecycle(stage, leadStatus string) string {
	switch strings.ToLower(stage) {
	case "marketingqualifiedlead":
		return "mql"
	case "salesqualifiedlead":
		return "sql"
	case "opportunity":
		return "opportunity"
	case "customer":
		return "customer"
	}
	if strings.EqualFold(leadStatus, "UNQUALIFIED") {
		return "disqualified"
	}
	// subscriber, lead, evangelist, other and custom stages.
	return "lead"
}

func (s *Source) mapContact(o *Object, archived bool, b *record.Batch) {
	var v record.Fields
	l := record.Lead{
		ID:                   v.Require("id", o.ID),
		RecordType:           "contact",
		CreatedAt:            v.Time("createdate", firstNonEmpty(o.Prop("createdate"), o.CreatedAt)),
		UpdatedAt:            v.Time("lastmodifieddate", firstNonEmpty(o.Prop("lastmodifieddate"), o.UpdatedAt)),
		Email:                v.Text("email", o.Prop("email")),
		Phone:                v.Text("phone", o.Prop("phone")),
		FirstName:            v.Text("firstname", o.Prop("firstname")),
		LastName:             v.Text("lastname", o.Prop("lastname")),
		Company:              v.Text("company", o.Prop("company")),
		GAClientID:           strings.TrimSpace(v.Text(s.o.ClientIDProperty, o.Prop(s.o.ClientIDProperty))),
		Gclid:                strings.TrimSpace(v.Text(s.o.GclidProperty, o.Prop(s.o.GclidProperty))),
		UserID:               strings.TrimSpace(v.Text(s.userIDProp, o.Prop(s.userIDProp))),
		LifecycleStage:       lifecycle(v.Text("lifecyclestage", o.Prop("lifecyclestage")), v.Text("hs_lead_status", o.Prop("hs_lead_status"))),
		MQLAt:                v.Time("hs_lifecyclestage_marketingqualifiedlead_date", o.Prop("hs_lifecyclestage_marketingqualifiedlead_date")),
		SQLAt:                v.Time("hs_lifecyclestage_salesqualifiedlead_date", o.Prop("hs_lifecyclestage_salesqualifiedlead_date")),
		OpportunityAt:        v.Time("hs_lifecyclestage_opportunity_date", o.Prop("hs_lifecyclestage_opportunity_date")),
		WonAt:                v.Time("hs_lifecyclestage_customer_date", o.Prop("hs_lifecyclestage_customer_date")),
		AnalyticsSource:      v.Text("hs_analytics_source", o.Prop("hs_analytics_source")),
		AnalyticsSourceData1: v.Text("hs_analytics_source_data_1", o.Prop("hs_analytics_source_data_1")),
		AnalyticsSourceData2: v.Text("hs_analytics_source_data_2", o.Prop("hs_analytics_source_data_2")),
		IsDeleted:            archived || o.Archived,
	}
	if p := s.o.MetaLeadIDProperty; p != "" {
		l.MetaLeadID = strings.TrimSpace(v.Text(p, o.Prop(p)))
	}
	if p := s.o.LiFatIDProperty; p != "" {
		l.LiFatID = strings.TrimSpace(v.Text(p, o.Prop(p)))
	}
	if p := s.o.AdConsentProperty; p != "" {
		l.AdConsent = v.Consent(p, o.Prop(p))
	}
	archivedAt := v.Time("archivedAt", o.ArchivedAt)
	merged := mergedAway(o, &v)
	if v.Err != nil {
		s.reject(b, "contacts", o, v.Err)
		return
	}
	l.ModifiedAt = latest(l.UpdatedAt, archivedAt)
	b.Leads = append(b.Leads, l)
	for _, id := range merged {
		b.Leads = append(b.Leads, record.Lead{ID: id, RecordType: "contact", IsDeleted: true, ModifiedAt: l.ModifiedAt})
		b.Merges = append(b.Merges, record.Merge{ObjectType: record.LinkLead, MergedID: id, IntoID: l.ID, ModifiedAt: l.ModifiedAt})
	}
}

// mergedProperty lists the records merged into a contact, deal or company,
// separated by semicolons. HubSpot neither lists a merged-away record nor
// flags it archived: it only disappears (fivetran/dbt_hubspot issue 46),
// and dbt_hubspot drops the ids this property names (issue 168: it is more
// complete than calculated_merged_vids).
const mergedProperty = "hs_merged_object_ids"

// mergedAway returns the ids o's hs_merged_object_ids names: each loads as
// deleted, with a merge into o, so that staging points what names it at o.
// An entry that is not a record id makes the record a reject: SAM would not
// know what to delete.
func mergedAway(o *Object, v *record.Fields) []string {
	var ids []string
	for _, p := range strings.Split(o.Prop(mergedProperty), ";") {
		p = strings.TrimSpace(p)
		if p == "" || p == o.ID {
			continue
		}
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			if v.Err == nil {
				v.Err = fmt.Errorf("%s: %q is not a record id", mergedProperty, p)
			}
			return nil
		}
		ids = append(ids, p)
	}
	return ids
}

// mapDeal maps a deal, and returns the ids of the deals merged into it.
func (s *Source) mapDeal(o *Object, archived bool, b *record.Batch) (merged []string) {
	var v record.Fields
	closed := v.Bool("hs_is_closed", o.Prop("hs_is_closed"))
	won := v.Bool("hs_is_closed_won", o.Prop("hs_is_closed_won"))
	d := record.Deal{
		ID:        v.Require("id", o.ID),
		CreatedAt: v.Time("createdate", firstNonEmpty(o.Prop("createdate"), o.CreatedAt)),
		UpdatedAt: v.Time("hs_lastmodifieddate", firstNonEmpty(o.Prop("hs_lastmodifieddate"), o.UpdatedAt)),
		Stage:     v.Text("dealstage", o.Prop("dealstage")),
		Pipeline:  v.Text("pipeline", o.Prop("pipeline")),
		Amount:    v.Amount("amount", o.Prop("amount")),
		Currency:  v.Currency("deal_currency_code", o.Prop("deal_currency_code")),
		IsWon:     won,
		IsLost:    closed && !won,
		IsDeleted: archived || o.Archived,
	}
	closeDate := v.Time("closedate", o.Prop("closedate"))
	archivedAt := v.Time("archivedAt", o.ArchivedAt)
	merged = mergedAway(o, &v)
	if v.Err != nil {
		s.reject(b, "deals", o, v.Err)
		return nil
	}
	if closed || won {
		// Open deals carry an expected close date; only a closed deal's is a fact.
		d.ClosedAt = closeDate
	}
	d.ModifiedAt = latest(d.UpdatedAt, archivedAt)
	b.Deals = append(b.Deals, d)
	for _, id := range merged {
		b.Merges = append(b.Merges, record.Merge{ObjectType: record.LinkDeal, MergedID: id, IntoID: d.ID, ModifiedAt: d.ModifiedAt})
	}
	return merged
}

// validProperty accepts HubSpot internal property names (they go into a
// query string unescaped).
func validProperty(p string) bool {
	for _, r := range p {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return p != ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
