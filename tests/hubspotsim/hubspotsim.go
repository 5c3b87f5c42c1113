// Package hubspotsim is a simulated HubSpot CRM API for tests: the v3
// objects search (at most 200 a page) and list (100) endpoints, v4
// association batch reads (at most 100 inputs; 207 Multi-Status with
// numErrors and errors[] when some inputs fail or have nothing associated),
// the 10,000-results-per-query search cap, full error bodies (category,
// subCategory, errors, context, links, correlationId), the
// X-HubSpot-RateLimit-* headers, a daily limit (429 DAILY), and
// rolling-window rate limits that count every request exceeding them. Fault modes inject
// 429 storms, 5xx, slow and hung responses, truncated JSON, duplicates
// across pages, records modified mid-sync and deletions (archiving). It is
// an httptest server on loopback, seeded with N contacts and deals, and
// reusable from any package's tests. SeedAccounts adds companies (with
// their contacts and deals), meetings and calls (with their contacts),
// served by the same endpoints and faults. SetAssociations changes links
// without a new version of either record, and Merge merges two contacts or
// deals as HubSpot does. It imports the standard library and tests/simcore
// (the tokens it honours) only.
package hubspotsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sam-attribution/sam/tests/simcore"
)

// Config sets the simulator's limits and faults.
type Config struct {
	Token string // required bearer token; default "test-token"
	// RequestsPerWindow per Window limit every request (default 100 per
	// 10 s); SearchPerWindow per SearchWindow limit search requests
	// (default 4 per 1 s).
	RequestsPerWindow int
	Window            time.Duration
	SearchPerWindow   int
	SearchWindow      time.Duration
	MaxPageSize       int // list page maximum; default 100
	MaxSearchPageSize int // search page maximum; default 200
	// DailyLimit is the account's requests a day, reported in
	// X-HubSpot-RateLimit-Daily(-Remaining) and enforced with 429 DAILY
	// (0: unlimited and unreported, as for an OAuth app).
	DailyLimit int64
	SearchCap  int           // results one search query can page through; default 10,000
	RetryAfter time.Duration // sent with 429s; default 1 s
	Faults     Faults
	Seed       uint64 // RNG seed for mutations
}

// Faults inject failures by request number (1, 2, ...), so runs are
// repeatable. Zero disables a fault.
type Faults struct {
	StormFrom, StormLen int           // requests StormFrom..StormFrom+StormLen-1 get 429
	Every5xx            int           // every n-th request gets 502/503
	EverySlow           int           // every n-th request waits SlowDelay first
	SlowDelay           time.Duration //
	EveryHang           int           // every n-th request hangs until the client gives up (or HangDelay)
	HangDelay           time.Duration // default 5 s
	EveryTruncate       int           // every n-th response body is cut in half
	EveryDuplicate      int           // every n-th page also repeats a record of the previous page
	EveryMutate         int           // every n-th request modifies MutateCount live records
	MutateCount         int
	EveryArchive        int // every n-th request archives ArchiveCount live records
	ArchiveCount        int
	EveryAssocError     int // every n-th association batch read fails its first input (207)
}

// Contact is a simulated contact. Company carries the version so tests can
// check that the final version was loaded.
type Contact struct {
	ID         int64
	Created    time.Time
	Modified   time.Time
	Version    int
	Email      string
	Lifecycle  string
	ClientID   string
	Gclid      string
	BadDate    bool // createdate is unparseable: the loader must reject it
	Archived   bool
	ArchivedAt time.Time
	// MergedInto is the contact this one was merged into (0: none);
	// Merged the ids merged into this one.
	MergedInto int64
	Merged     []int64
}

// Company is the contact's company property, which names its version.
func (c *Contact) Company() string { return fmt.Sprintf("Co %d v%d", c.ID, c.Version) }

// Deal is a simulated deal. Amount carries the version.
type Deal struct {
	ID         int64
	Created    time.Time
	Modified   time.Time
	Version    int
	Currency   string
	Stage      string
	Contacts   []int64
	BadAmount  bool
	Archived   bool
	ArchivedAt time.Time
	MergedInto int64 // as on Contact
	Merged     []int64
}

// Amount is the deal's amount property, which names its version.
func (d *Deal) Amount() string {
	if d.BadAmount {
		return "12,5"
	}
	return fmt.Sprintf("%d.%02d", 1000+d.ID, d.Version%100)
}

// Company is a simulated company. Its name carries the version.
type Company struct {
	ID         int64
	Created    time.Time
	Modified   time.Time
	Version    int
	Contacts   []int64
	Deals      []int64
	Archived   bool
	ArchivedAt time.Time
}

// Name is the company's name property, which names its version.
func (c *Company) Name() string { return fmt.Sprintf("Company %d v%d", c.ID, c.Version) }

// Domain is the company's domain property.
func (c *Company) Domain() string { return fmt.Sprintf("company%d.example", c.ID) }

// Engagement is a simulated meeting or call.
type Engagement struct {
	ID         int64
	Kind       string // "meetings" or "calls"
	Created    time.Time
	Modified   time.Time
	Timestamp  time.Time
	Version    int
	Contacts   []int64
	BadTime    bool // hs_timestamp is unparseable: the loader must reject it
	Archived   bool
	ArchivedAt time.Time
}

// meetingOutcomes are hs_meeting_outcome's values (HubSpot's Meetings API
// guide).
var meetingOutcomes = []string{"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"}

// callDispositions are the internal ids of HubSpot's default call
// outcomes, which hs_call_disposition holds (Calls API guide; GET
// /calling/v1/dispositions lists them with their labels, and public
// integrations map the same ids to the same labels).
var callDispositions = []string{
	"f240bbac-87c9-4f6e-bf70-924b57d47db7", // Connected
	"73a0d17f-1163-4015-bdd5-ec830791da20", // No answer
	"b2cf5968-551e-4856-9783-52b3da59a7d0", // Left voicemail
	"a4c4c377-d246-4b32-a13b-75a56a4cd0ff", // Left live message
	"9d9162e7-6cf3-4944-bf63-4dff82258764", // Busy
	"17b47fee-58de-441e-a44c-c6300d46f273", // Wrong number
}

// Status is the meeting's outcome or the call's disposition; it changes
// with the version.
func (e *Engagement) Status() string {
	if e.Kind == "meetings" {
		return meetingOutcomes[(e.ID+int64(e.Version))%int64(len(meetingOutcomes))]
	}
	return callDispositions[(e.ID+int64(e.Version))%int64(len(callDispositions))]
}

// Server is a running simulator.
type Server struct {
	*httptest.Server
	cfg Config

	mu        sync.Mutex
	contacts  []*Contact    // by id
	deals     []*Deal       // by id
	companies []*Company    // by id
	meetings  []*Engagement // by id
	calls     []*Engagement // by id
	rng       *rand.Rand
	general   []time.Time // receipt times inside the rolling window
	search    []time.Time
	// tokens are the bearer tokens honoured: Config.Token and those
	// AllowToken adds, less the ones RevokeToken ended.
	tokens simcore.Tokens
	// set holds the values SetProperty gave: object type → id → property.
	set map[string]map[int64]map[string]string

	requests       atomic.Int64
	dailyUsed      atomic.Int64
	dailyLimit     atomic.Int64 // Config.DailyLimit, which SetDailyLimit changes
	assocReads     atomic.Int64
	searches       atomic.Int64
	exceeded       atomic.Int64
	searchExceeded atomic.Int64
	capErrors      atomic.Int64
}

// New starts a simulator on loopback. Close it when done.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = "test-token"
	}
	if cfg.RequestsPerWindow <= 0 {
		cfg.RequestsPerWindow = 100
	}
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.SearchPerWindow <= 0 {
		cfg.SearchPerWindow = 4
	}
	if cfg.SearchWindow <= 0 {
		cfg.SearchWindow = time.Second
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 100
	}
	if cfg.MaxSearchPageSize <= 0 {
		cfg.MaxSearchPageSize = 200
	}
	if cfg.SearchCap <= 0 {
		cfg.SearchCap = 10000
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Faults.HangDelay <= 0 {
		cfg.Faults.HangDelay = 5 * time.Second
	}
	s := &Server{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 7))}
	s.tokens.AllowToken(cfg.Token)
	s.dailyLimit.Store(cfg.DailyLimit)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetDailyLimit changes the account's requests a day (0: unlimited).
func (s *Server) SetDailyLimit(n int64) { s.dailyLimit.Store(n) }

// SetDailyUsed sets the requests counted against today's limit (0: a new
// day).
func (s *Server) SetDailyUsed(n int64) { s.dailyUsed.Store(n) }

// Token is the bearer token the simulator accepts from the start.
func (s *Server) Token() string { return s.cfg.Token }

// AllowToken registers another bearer token HubSpot issued (a private
// app's rotated token, another app's). A revoked token stays revoked.
func (s *Server) AllowToken(tok string) { s.tokens.AllowToken(tok) }

// RevokeToken ends tok, Config.Token included, as rotating a private app's
// token or deleting the app does: every request carrying it is refused
// with 401 INVALID_AUTHENTICATION from now on.
func (s *Server) RevokeToken(tok string) { s.tokens.RevokeToken(tok) }

// authorized reports whether an Authorization header carries a token the
// simulator honours.
func (s *Server) authorized(header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	return ok && s.tokens.TokenState(tok) == simcore.TokenValid
}

// SetFaults replaces the fault settings (between syncs).
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.HangDelay <= 0 {
		f.HangDelay = 5 * time.Second
	}
	s.cfg.Faults = f
}

// Requests is the number of requests received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Searches is the number of search requests received.
func (s *Server) Searches() int64 { return s.searches.Load() }

// Exceeded is the number of requests that arrived when the rolling window
// already held its limit (general or search).
func (s *Server) Exceeded() int64 { return s.exceeded.Load() + s.searchExceeded.Load() }

// CapErrors counts searches refused for paging past the search cap.
func (s *Server) CapErrors() int64 { return s.capErrors.Load() }

// Seed adds n contacts and m deals, modified over the 30 days before now.
// Every badEvery-th contact has an unparseable createdate and every
// badEvery-th deal a non-numeric amount (0: none). Each deal is associated
// with one or two contacts.
func (s *Server) Seed(n, m, badEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-30 * 24 * time.Hour)
	stages := []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"}
	first := int64(len(s.contacts)) + 1
	for i := 0; i < n; i++ {
		id := first + int64(i)
		created := base.Add(time.Duration(id) * 17 * time.Second % (29 * 24 * time.Hour))
		c := &Contact{ID: id, Created: created, Modified: created.Add(time.Hour), Version: 1,
			Email: fmt.Sprintf(" User%d@Example.COM ", id), Lifecycle: stages[id%int64(len(stages))],
			ClientID: fmt.Sprintf("GA1.1.%d.%d", 100000+id, 1700000000+id), BadDate: badEvery > 0 && id%int64(badEvery) == 0}
		if id%3 == 0 {
			c.Gclid = fmt.Sprintf("gclid-%d", id)
		}
		s.contacts = append(s.contacts, c)
	}
	currencies := []string{"USD", "EUR", "GBP"}
	firstDeal := int64(len(s.deals)) + 1
	for i := 0; i < m; i++ {
		id := firstDeal + int64(i)
		created := base.Add(time.Duration(id) * 23 * time.Second % (29 * 24 * time.Hour))
		d := &Deal{ID: id, Created: created, Modified: created.Add(2 * time.Hour), Version: 1,
			Currency: currencies[id%3], Stage: []string{"appointmentscheduled", "closedwon", "closedlost"}[id%3],
			BadAmount: badEvery > 0 && id%int64(badEvery) == 0}
		if len(s.contacts) > 0 {
			c := (id*7)%int64(len(s.contacts)) + 1
			d.Contacts = []int64{c}
			if id%4 == 0 {
				d.Contacts = append(d.Contacts, c%int64(len(s.contacts))+1)
			}
		}
		s.deals = append(s.deals, d)
	}
}

// SeedAccounts adds companies, meetings and calls, modified over the 30
// days before now, after Seed's contacts and deals. Each contact belongs to
// one company (round robin) and each deal to its first contact's company;
// every 9th meeting or call has no contact, every 4th two. Every
// badEvery-th meeting and call has an unparseable hs_timestamp (0: none).
func (s *Server) SeedAccounts(companies, meetings, calls, badEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-30 * 24 * time.Hour)
	first := int64(len(s.companies)) + 1
	for i := 0; i < companies; i++ {
		id := first + int64(i)
		created := base.Add(time.Duration(id) * 29 * time.Second % (29 * 24 * time.Hour))
		s.companies = append(s.companies, &Company{ID: id, Created: created, Modified: created.Add(3 * time.Hour), Version: 1})
	}
	if n := int64(len(s.companies)); n > 0 {
		for _, c := range s.contacts {
			co := s.companies[(c.ID-1)%n]
			co.Contacts = append(co.Contacts, c.ID)
		}
		for _, d := range s.deals {
			if len(d.Contacts) > 0 {
				co := s.companies[(d.Contacts[0]-1)%n]
				co.Deals = append(co.Deals, d.ID)
			}
		}
	}
	seed := func(list *[]*Engagement, kind string, k int, step time.Duration) {
		first := int64(len(*list)) + 1
		for i := 0; i < k; i++ {
			id := first + int64(i)
			created := base.Add(time.Duration(id) * step % (29 * 24 * time.Hour))
			e := &Engagement{ID: id, Kind: kind, Created: created, Modified: created.Add(time.Hour), Timestamp: created.Add(-time.Hour),
				Version: 1, BadTime: badEvery > 0 && id%int64(badEvery) == 0}
			if nc := int64(len(s.contacts)); nc > 0 && id%9 != 0 {
				c := (id*11)%nc + 1
				e.Contacts = []int64{c}
				if id%4 == 0 {
					e.Contacts = append(e.Contacts, c%nc+1)
				}
			}
			*list = append(*list, e)
		}
	}
	seed(&s.meetings, "meetings", meetings, 31*time.Second)
	seed(&s.calls, "calls", calls, 37*time.Second)
}

// stamp returns a modification time after prev (the simulated clock never
// stands still for a record).
func stamp(prev time.Time) time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	return t
}

// Modify gives the contacts and deals with the listed ids a new version.
func (s *Server) Modify(contactIDs, dealIDs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range contactIDs {
		if c := s.contact(id); c != nil && !c.Archived {
			c.Version++
			c.Modified = stamp(c.Modified)
		}
	}
	for _, id := range dealIDs {
		if d := s.deal(id); d != nil && !d.Archived {
			d.Version++
			d.Modified = stamp(d.Modified)
		}
	}
}

// SetAssociations replaces the toType records ("contacts", or "deals"
// from companies) associated with record id of fromType ("deals",
// "companies", "meetings" or "calls") and leaves both records' modification
// times as they were: HubSpot moves neither record's hs_lastmodifieddate for
// an association (users of Airbyte's HubSpot connector found incremental
// syncs missing association changes, airbyte issues 27199 and 44554, and its
// association streams are full refresh).
func (s *Server) SetAssociations(fromType string, id int64, toType string, ids []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.associated(fromType, toType, id); !ok {
		return
	}
	ids = append([]int64(nil), ids...)
	switch fromType + "/" + toType {
	case "deals/contacts":
		s.deals[id-1].Contacts = ids
	case "companies/contacts":
		s.companies[id-1].Contacts = ids
	case "companies/deals":
		s.companies[id-1].Deals = ids
	case "meetings/contacts":
		s.meetings[id-1].Contacts = ids
	case "calls/contacts":
		s.calls[id-1].Contacts = ids
	}
}

// SetProperty makes record id of objectType ("contacts", "deals",
// "companies", "meetings" or "calls") return value for property whenever
// the property is asked for, in place of what the simulator renders; the
// record keeps its version. It gives a record values the seeded ones never
// hold, such as a NUL byte.
func (s *Server) SetProperty(objectType string, id int64, property, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]map[int64]map[string]string{}
	}
	if s.set[objectType] == nil {
		s.set[objectType] = map[int64]map[string]string{}
	}
	if s.set[objectType][id] == nil {
		s.set[objectType][id] = map[string]string{}
	}
	s.set[objectType][id][property] = value
}

// Merge merges two contacts or two deals (objectType "contacts" or
// "deals") the way HubSpot does now: a new record with a new id takes the
// primary's property values, and both ids point to it (developer
// changelog, "Updated merge functionality for contacts and companies",
// which brings them in line with the other objects). The new record's
// hs_merged_object_ids lists both, and whatever was merged into them. The
// two originals are neither returned by search nor listed, live or
// archived (merged contacts are not flagged deleted: fivetran/dbt_hubspot
// issue 46; dbt_hubspot reads hs_merged_object_ids to drop them, issue
// 168); their associations move to the new record without changing any
// record's modification time. Merge returns the new record's id (0 when
// nothing merged).
func (s *Server) Merge(objectType string, primary, secondary int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var merged int64
	move := func(ids []int64) []int64 {
		out := ids[:0:0]
		for _, id := range ids {
			if id == primary || id == secondary {
				id = merged
			}
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	switch objectType {
	case "contacts":
		p, o := s.contact(primary), s.contact(secondary)
		if p == nil || o == nil || p == o || p.MergedInto != 0 || o.MergedInto != 0 || p.Archived || o.Archived {
			return 0
		}
		merged = int64(len(s.contacts)) + 1
		c := *p
		c.ID, c.Version, c.Modified = merged, 1, stamp(now)
		c.Merged = append(append([]int64{primary, secondary}, p.Merged...), o.Merged...)
		s.contacts = append(s.contacts, &c)
		p.MergedInto, o.MergedInto = merged, merged
		for _, d := range s.deals {
			d.Contacts = move(d.Contacts)
		}
		for _, co := range s.companies {
			co.Contacts = move(co.Contacts)
		}
		for _, e := range append(slices.Clone(s.meetings), s.calls...) {
			e.Contacts = move(e.Contacts)
		}
	case "deals":
		p, o := s.deal(primary), s.deal(secondary)
		if p == nil || o == nil || p == o || p.MergedInto != 0 || o.MergedInto != 0 || p.Archived || o.Archived {
			return 0
		}
		merged = int64(len(s.deals)) + 1
		d := *p
		d.ID, d.Version, d.Modified = merged, 1, stamp(now)
		d.Merged = append(append([]int64{primary, secondary}, p.Merged...), o.Merged...)
		d.Contacts = append(slices.Clone(p.Contacts), o.Contacts...)
		s.deals = append(s.deals, &d)
		p.MergedInto, o.MergedInto = merged, merged
		d.Contacts = slices.Compact(d.Contacts)
		for _, co := range s.companies {
			co.Deals = move(co.Deals)
		}
	}
	return merged
}

// Archive deletes (archives) the listed contacts and deals.
func (s *Server) Archive(contactIDs, dealIDs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range contactIDs {
		if c := s.contact(id); c != nil && !c.Archived {
			c.Archived, c.ArchivedAt = true, stamp(c.Modified)
		}
	}
	for _, id := range dealIDs {
		if d := s.deal(id); d != nil && !d.Archived {
			d.Archived, d.ArchivedAt = true, stamp(d.Modified)
		}
	}
}

func (s *Server) contact(id int64) *Contact {
	if id < 1 || id > int64(len(s.contacts)) {
		return nil
	}
	return s.contacts[id-1]
}

func (s *Server) deal(id int64) *Deal {
	if id < 1 || id > int64(len(s.deals)) {
		return nil
	}
	return s.deals[id-1]
}

// Final is a record's final state as a loader should have it.
type Final struct {
	Modified time.Time
	Deleted  bool
	Marker   string // contact: company; deal: amount
	Bad      bool   // the loader must reject it
}

// contactFinalStamp is the modification time of the last version of the
// contact id lives on in, following merges. Callers hold s.mu.
func (s *Server) contactFinalStamp(id int64) time.Time {
	c := s.contact(id)
	for c.MergedInto != 0 {
		c = s.contact(c.MergedInto)
	}
	if c.Archived {
		return c.ArchivedAt
	}
	return c.Modified
}

// dealFinalStamp is contactFinalStamp for deals.
func (s *Server) dealFinalStamp(id int64) time.Time {
	d := s.deal(id)
	for d.MergedInto != 0 {
		d = s.deal(d.MergedInto)
	}
	if d.Archived {
		return d.ArchivedAt
	}
	return d.Modified
}

// Contacts returns every contact's final state by id.
func (s *Server) Contacts() map[string]Final {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Final, len(s.contacts))
	for _, c := range s.contacts {
		f := Final{Modified: c.Modified, Deleted: c.Archived, Marker: c.Company(), Bad: c.BadDate}
		if c.Archived {
			f.Modified = c.ArchivedAt
		}
		if c.MergedInto != 0 {
			// Deleted as of the version of the contact it lives on in.
			f.Deleted, f.Modified, f.Marker = true, s.contactFinalStamp(c.MergedInto), ""
		}
		out[strconv.FormatInt(c.ID, 10)] = f
	}
	return out
}

// Deals returns every deal's final state by id.
func (s *Server) Deals() map[string]Final {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Final, len(s.deals))
	for _, d := range s.deals {
		f := Final{Modified: d.Modified, Deleted: d.Archived, Marker: d.Amount(), Bad: d.BadAmount}
		if d.Archived {
			f.Modified = d.ArchivedAt
		}
		if d.MergedInto != 0 {
			f.Deleted, f.Modified, f.Marker = true, s.dealFinalStamp(d.MergedInto), ""
		}
		out[strconv.FormatInt(d.ID, 10)] = f
	}
	return out
}

// Companies returns every company's final state by id (Marker: name).
func (s *Server) Companies() map[string]Final {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Final, len(s.companies))
	for _, c := range s.companies {
		f := Final{Modified: c.Modified, Deleted: c.Archived, Marker: c.Name()}
		if c.Archived {
			f.Modified = c.ArchivedAt
		}
		out[strconv.FormatInt(c.ID, 10)] = f
	}
	return out
}

// Engagements returns every meeting's or call's final state by id
// (objectType "meetings" or "calls"; Marker: status).
func (s *Server) Engagements(objectType string) map[string]Final {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.meetings
	if objectType == "calls" {
		list = s.calls
	}
	out := make(map[string]Final, len(list))
	for _, e := range list {
		f := Final{Modified: e.Modified, Deleted: e.Archived, Marker: e.Status(), Bad: e.BadTime}
		if e.Archived {
			f.Modified = e.ArchivedAt
		}
		out[strconv.FormatInt(e.ID, 10)] = f
	}
	return out
}

// Associated returns the ids associated from each record of fromType
// ("deals", "companies", "meetings" or "calls") to toType ("contacts", or
// "deals" from companies).
func (s *Server) Associated(fromType, toType string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for id := int64(1); ; id++ {
		ids, ok := s.associated(fromType, toType, id)
		if !ok {
			return out
		}
		for _, to := range ids {
			out[strconv.FormatInt(id, 10)] = append(out[strconv.FormatInt(id, 10)], strconv.FormatInt(to, 10))
		}
	}
}

// associated returns a record's associated ids; ok is false past the last
// record. Callers hold s.mu.
func (s *Server) associated(fromType, toType string, id int64) (ids []int64, ok bool) {
	at := func(n int) bool { return id >= 1 && id <= int64(n) }
	switch fromType + "/" + toType {
	case "deals/contacts":
		if !at(len(s.deals)) {
			return nil, false
		}
		return s.deals[id-1].Contacts, true
	case "companies/contacts", "companies/deals":
		if !at(len(s.companies)) {
			return nil, false
		}
		if toType == "deals" {
			return s.companies[id-1].Deals, true
		}
		return s.companies[id-1].Contacts, true
	case "meetings/contacts":
		if !at(len(s.meetings)) {
			return nil, false
		}
		return s.meetings[id-1].Contacts, true
	case "calls/contacts":
		if !at(len(s.calls)) {
			return nil, false
		}
		return s.calls[id-1].Contacts, true
	}
	return nil, false
}

// associationTypes are the HUBSPOT_DEFINED association type ids (v4) the
// simulator labels its associations with: deal→contact 3,
// company→contact 280, company→deal 342, call→contact 194,
// meeting→contact 200 (HubSpot's association type id tables).
var associationTypes = map[string]int{
	"deals/contacts": 3, "companies/contacts": 280, "companies/deals": 342,
	"calls/contacts": 194, "meetings/contacts": 200,
}

// archivedFrom reports whether record id of objectType is archived (or
// does not exist). Callers hold s.mu.
func (s *Server) archivedFrom(objectType string, id int64) bool {
	v, ok := s.view(objectType)
	if !ok || id < 1 || id > int64(v.n) {
		return true
	}
	return v.at(int(id - 1)).archived
}

// DealContacts returns each live deal's associated contact ids.
func (s *Server) DealContacts() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, d := range s.deals {
		for _, c := range d.Contacts {
			out[strconv.FormatInt(d.ID, 10)] = append(out[strconv.FormatInt(d.ID, 10)], strconv.FormatInt(c, 10))
		}
	}
	return out
}

// ---- HTTP ----

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// apiError is HubSpot's error body: the Error model of its OpenAPI specs
// (message, correlationId, category, subCategory, errors, context, links),
// plus errorType and policyName on 429s.
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId,omitempty"`
	Category      string              `json:"category,omitempty"`
	SubCategory   string              `json:"subCategory,omitempty"`
	Errors        []errorDetail       `json:"errors,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Links         map[string]string   `json:"links,omitempty"`
	ErrorType     string              `json:"errorType,omitempty"`
	PolicyName    string              `json:"policyName,omitempty"`
}

// errorDetail is the ErrorDetail model.
type errorDetail struct {
	Message     string              `json:"message"`
	Code        string              `json:"code,omitempty"`
	In          string              `json:"in,omitempty"`
	SubCategory string              `json:"subCategory,omitempty"`
	Context     map[string][]string `json:"context,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, code int, e apiError) {
	e.Status = "error"
	e.CorrelationID = fmt.Sprintf("0a1b2c3d-sim-%d", s.requests.Load())
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(e)
}

func (s *Server) rateLimited(w http.ResponseWriter, policy string) {
	w.Header().Set("Retry-After", strconv.FormatFloat(s.cfg.RetryAfter.Seconds(), 'f', -1, 64))
	s.writeError(w, http.StatusTooManyRequests, apiError{
		Message: "You have reached your " + strings.ToLower(policy) + " limit.", ErrorType: "RATE_LIMIT", PolicyName: policy,
	})
}

// admit records a request in a rolling window and reports whether it was
// within the limit.
func admit(window *[]time.Time, now time.Time, span time.Duration, limit int) bool {
	w := *window
	i := 0
	for i < len(w) && !w[i].After(now.Add(-span)) {
		i++
	}
	w = append(w[:0], w[i:]...)
	ok := len(w) < limit
	*window = append(w, now)
	return ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	// Read the body first: the server notices a client that hung up only
	// once the body is consumed, and a hung request must end when it does.
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	isSearch := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/search")
	if isSearch {
		s.searches.Add(1)
	}
	s.mu.Lock()
	now := time.Now()
	okGeneral := admit(&s.general, now, s.cfg.Window, s.cfg.RequestsPerWindow)
	okSearch := true
	if isSearch {
		okSearch = admit(&s.search, now, s.cfg.SearchWindow, s.cfg.SearchPerWindow)
	}
	remaining := s.cfg.RequestsPerWindow - len(s.general)
	f := s.cfg.Faults
	s.mu.Unlock()

	used := s.dailyUsed.Add(1)
	daily := s.dailyLimit.Load()
	if daily > 0 && !isSearch { // search responses carry no rate-limit headers
		w.Header().Set("X-HubSpot-RateLimit-Daily", strconv.FormatInt(daily, 10))
		w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.FormatInt(max(daily-used, 0), 10))
	}
	if daily > 0 && used > daily {
		s.rateLimited(w, "DAILY")
		return
	}
	if !okGeneral {
		s.exceeded.Add(1)
		s.rateLimited(w, "TEN_SECONDLY_ROLLING")
		return
	}
	if !okSearch {
		s.searchExceeded.Add(1)
		s.rateLimited(w, "SECONDLY")
		return
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		// HubSpot's answer to a token it does not honour, as users quote
		// it (HubSpot Community, "Improvements to authentication errors
		// for V3 endpoints"; private app tokens refused the same way).
		s.writeError(w, http.StatusUnauthorized, apiError{Message: "Authentication credentials not found.", Category: "INVALID_AUTHENTICATION"})
		return
	}
	if !isSearch {
		w.Header().Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.cfg.RequestsPerWindow))
		w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
		w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.cfg.Window.Milliseconds(), 10))
	}
	every := func(k int) bool { return k > 0 && n%int64(k) == 0 }
	switch {
	case f.StormLen > 0 && n >= int64(f.StormFrom) && n < int64(f.StormFrom+f.StormLen):
		s.rateLimited(w, "TEN_SECONDLY_ROLLING")
		return
	case every(f.Every5xx):
		s.writeError(w, http.StatusBadGateway+int(n%2), apiError{Message: "internal error", Category: "INTERNAL_ERROR"})
		return
	case every(f.EveryHang):
		select {
		case <-r.Context().Done():
		case <-time.After(f.HangDelay):
		}
		s.writeError(w, http.StatusGatewayTimeout, apiError{Message: "timeout", Category: "TIMEOUT"})
		return
	case every(f.EverySlow):
		select {
		case <-r.Context().Done():
			return
		case <-time.After(f.SlowDelay):
		}
	}
	if every(f.EveryMutate) {
		s.mutate(f.MutateCount, false)
	}
	if every(f.EveryArchive) {
		s.mutate(f.ArchiveCount, true)
	}

	var body any
	var code int
	var apiErr *apiError
	switch {
	case isSearch:
		body, code, apiErr = s.handleSearch(r, every(f.EveryDuplicate))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/crm/v3/objects/"):
		body, code, apiErr = s.handleList(r, every(f.EveryDuplicate))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/crm/v4/associations/") && strings.HasSuffix(r.URL.Path, "/batch/read"):
		body, code, apiErr = s.handleAssociations(r)
	default:
		code, apiErr = http.StatusNotFound, &apiError{Message: "not found: " + r.URL.Path, Category: "OBJECT_NOT_FOUND"}
	}
	if apiErr != nil {
		s.writeError(w, code, *apiErr)
		return
	}
	data, _ := json.Marshal(body)
	if every(f.EveryTruncate) {
		data = data[:len(data)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// mutate modifies or archives k random live records of each type.
func (s *Server) mutate(k int, archive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.mutateAccounts(k, archive)
	for i := 0; i < k && len(s.contacts) > 0; i++ {
		c := s.contacts[s.rng.IntN(len(s.contacts))]
		if c.Archived {
			continue
		}
		if archive {
			c.Archived, c.ArchivedAt = true, stamp(c.Modified)
		} else {
			c.Version++
			c.Modified = stamp(c.Modified)
		}
	}
	for i := 0; i < k && len(s.deals) > 0; i++ {
		d := s.deals[s.rng.IntN(len(s.deals))]
		if d.Archived {
			continue
		}
		if archive {
			d.Archived, d.ArchivedAt = true, stamp(d.Modified)
		} else {
			d.Version++
			d.Modified = stamp(d.Modified)
		}
	}
}

// mutateAccounts modifies or archives k random live companies, meetings
// and calls. Callers hold s.mu.
func (s *Server) mutateAccounts(k int, archive bool) {
	for i := 0; i < k && len(s.companies) > 0; i++ {
		c := s.companies[s.rng.IntN(len(s.companies))]
		if c.Archived {
			continue
		}
		if archive {
			c.Archived, c.ArchivedAt = true, stamp(c.Modified)
		} else {
			c.Version++
			c.Modified = stamp(c.Modified)
		}
	}
	for _, list := range [][]*Engagement{s.meetings, s.calls} {
		for i := 0; i < k && len(list) > 0; i++ {
			e := list[s.rng.IntN(len(list))]
			if e.Archived {
				continue
			}
			if archive {
				e.Archived, e.ArchivedAt = true, stamp(e.Modified)
			} else {
				e.Version++
				e.Modified = stamp(e.Modified)
			}
		}
	}
}

type object struct {
	ID         string
	Properties []prop // in request order; nil value = JSON null
	CreatedAt  string
	UpdatedAt  string
	Archived   bool
	ArchivedAt string
}

type prop struct {
	name  string
	value *string
}

// MarshalJSON writes the v3 object shape directly: the simulator renders
// hundreds of thousands of objects per test, and maps would dominate.
func (o object) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+48*len(o.Properties))
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"properties":{`...)
	for i, p := range o.Properties {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.name)
		b = append(b, ':')
		if p.value == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *p.value)
		}
	}
	b = append(b, `},"createdAt":`...)
	b = appendString(b, o.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = appendString(b, o.UpdatedAt)
	b = append(b, `,"archived":`...)
	b = strconv.AppendBool(b, o.Archived)
	if o.ArchivedAt != "" {
		b = append(b, `,"archivedAt":`...)
		b = appendString(b, o.ArchivedAt)
	}
	return append(b, '}'), nil
}

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

type page struct {
	Total   int      `json:"total,omitempty"`
	Results []object `json:"results"`
	Paging  *paging  `json:"paging,omitempty"`
}

type paging struct {
	Next struct {
		After string `json:"after"`
	} `json:"next"`
}

func sp(s string) *string { return &s }

// record is what search and list see of a contact or deal.
type record struct {
	id       int64
	created  time.Time
	modified time.Time
	archived bool
	merged   bool // merged into another record: neither live nor archived
}

// view gives search and list uniform access to one object type. Callers
// hold s.mu.
type view struct {
	n      int
	at     func(i int) record
	render func(i int, props []string) object
}

func (s *Server) view(objectType string) (view, bool) {
	v, ok := s.baseView(objectType)
	if set := s.set[objectType]; ok && len(set) > 0 {
		render := v.render
		v.render = func(i int, props []string) object {
			o := render(i, props)
			id, _ := strconv.ParseInt(o.ID, 10, 64)
			for j, p := range o.Properties {
				if val, ok := set[id][p.name]; ok {
					o.Properties[j].value = sp(val)
				}
			}
			return o
		}
	}
	return v, ok
}

func (s *Server) baseView(objectType string) (view, bool) {
	switch objectType {
	case "contacts":
		return view{len(s.contacts), func(i int) record {
			c := s.contacts[i]
			return record{c.ID, c.Created, c.Modified, c.Archived, c.MergedInto != 0}
		}, func(i int, props []string) object { return s.renderContact(s.contacts[i], props) }}, true
	case "deals":
		return view{len(s.deals), func(i int) record {
			d := s.deals[i]
			return record{d.ID, d.Created, d.Modified, d.Archived, d.MergedInto != 0}
		}, func(i int, props []string) object { return s.renderDeal(s.deals[i], props) }}, true
	case "companies":
		return view{len(s.companies), func(i int) record {
			c := s.companies[i]
			return record{c.ID, c.Created, c.Modified, c.Archived, false}
		}, func(i int, props []string) object { return s.renderCompany(s.companies[i], props) }}, true
	case "meetings", "calls":
		list := s.meetings
		if objectType == "calls" {
			list = s.calls
		}
		return view{len(list), func(i int) record {
			e := list[i]
			return record{e.ID, e.Created, e.Modified, e.Archived, false}
		}, func(i int, props []string) object { return renderEngagement(list[i], props) }}, true
	}
	return view{}, false
}

// newObject renders one CRM object as the v3 API does: the envelope, then
// the requested properties in order, each from value (nil: the property is
// null).
func newObject(id int64, created, modified time.Time, archived bool, archivedAt time.Time, props []string,
	value func(o *object, p string) *string) object {
	o := object{ID: strconv.FormatInt(id, 10), CreatedAt: ts(created), UpdatedAt: ts(modified), Archived: archived,
		Properties: make([]prop, 0, len(props))}
	if archived {
		o.ArchivedAt = ts(archivedAt)
	}
	for _, p := range props {
		o.Properties = append(o.Properties, prop{p, value(&o, p)})
	}
	return o
}

func (s *Server) renderContact(c *Contact, props []string) object {
	return newObject(c.ID, c.Created, c.Modified, c.Archived, c.ArchivedAt, props, func(o *object, p string) (v *string) {
		switch p {
		case "hs_object_id":
			v = sp(o.ID)
		case "email":
			v = sp(c.Email)
		case "firstname":
			v = sp("First")
		case "lastname":
			v = sp("Last" + o.ID)
		case "phone":
			v = sp("+1555" + o.ID)
		case "company":
			v = sp(c.Company())
		case "createdate":
			v = sp(ts(c.Created))
			if c.BadDate {
				v = sp("31/12/2024 noon")
			}
		case "lastmodifieddate":
			v = sp(o.UpdatedAt)
		case "lifecyclestage":
			v = sp(c.Lifecycle)
		case "hs_lifecyclestage_lead_date":
			v = sp(ts(c.Created))
		case "hs_lifecyclestage_marketingqualifiedlead_date":
			if c.Lifecycle == "marketingqualifiedlead" || c.Lifecycle == "salesqualifiedlead" || c.Lifecycle == "customer" {
				v = sp(ts(c.Created.Add(24 * time.Hour)))
			}
		case "hs_analytics_source":
			v = sp("ORGANIC_SEARCH")
		case "hs_analytics_source_data_1":
			v = sp("google")
		case "ga_client_id":
			v = sp(c.ClientID)
		case "gclid":
			if c.Gclid != "" {
				v = sp(c.Gclid)
			}
		case "meta_lead_id":
			if c.ID%5 == 0 {
				v = sp("ml-" + o.ID)
			}
		case "li_fat_id":
			if c.ID%7 == 0 {
				v = sp("lf-" + o.ID)
			}
		case "ad_consent":
			// Read only when asked for, so Final.Bad holds without it.
			switch {
			case c.ID%13 == 0:
				v = sp("pending")
			case c.ID%2 == 0:
				v = sp("granted")
			case c.ID%3 == 0:
				v = sp("No")
			}
		case "site_user_id":
			if c.ID%4 == 0 {
				v = sp("u-" + o.ID)
			}
		case "hs_merged_object_ids":
			v = mergedIDs(c.Merged)
		}
		return v
	})
}

func (s *Server) renderDeal(d *Deal, props []string) object {
	won, closed := d.Stage == "closedwon", d.Stage != "appointmentscheduled"
	return newObject(d.ID, d.Created, d.Modified, d.Archived, d.ArchivedAt, props, func(o *object, p string) (v *string) {
		switch p {
		case "hs_object_id":
			v = sp(o.ID)
		case "dealname":
			v = sp("Deal " + o.ID)
		case "amount":
			v = sp(d.Amount())
		case "dealstage":
			v = sp(d.Stage)
		case "pipeline":
			v = sp("default")
		case "closedate":
			v = sp(ts(d.Created.Add(72 * time.Hour)))
		case "hs_is_closed_won":
			v = sp(strconv.FormatBool(won))
		case "hs_is_closed":
			v = sp(strconv.FormatBool(closed))
		case "deal_currency_code":
			v = sp(d.Currency)
		case "createdate":
			v = sp(ts(d.Created))
		case "hs_lastmodifieddate":
			v = sp(o.UpdatedAt)
		case "hs_merged_object_ids":
			v = mergedIDs(d.Merged)
		}
		return v
	})
}

// mergedIDs renders hs_merged_object_ids: the ids merged into a record,
// separated by semicolons as HubSpot writes multi-value properties (nil:
// none).
func mergedIDs(ids []int64) *string {
	if len(ids) == 0 {
		return nil
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return sp(strings.Join(parts, ";"))
}

func (s *Server) renderCompany(c *Company, props []string) object {
	return newObject(c.ID, c.Created, c.Modified, c.Archived, c.ArchivedAt, props, func(o *object, p string) (v *string) {
		switch p {
		case "hs_object_id":
			v = sp(o.ID)
		case "name":
			v = sp(c.Name())
		case "domain":
			v = sp(c.Domain())
		case "industry":
			if c.ID%3 != 0 {
				v = sp([]string{"COMPUTER_SOFTWARE", "FINANCIAL_SERVICES"}[c.ID%2])
			}
		case "createdate":
			v = sp(ts(c.Created))
		case "hs_lastmodifieddate":
			v = sp(o.UpdatedAt)
		}
		return v
	})
}

func renderEngagement(e *Engagement, props []string) object {
	return newObject(e.ID, e.Created, e.Modified, e.Archived, e.ArchivedAt, props, func(o *object, p string) (v *string) {
		switch p {
		case "hs_object_id":
			v = sp(o.ID)
		case "hs_timestamp":
			v = sp(ts(e.Timestamp))
			if e.BadTime {
				v = sp("yesterday at noon")
			}
		case "hs_meeting_start_time":
			if e.Kind == "meetings" {
				v = sp(ts(e.Timestamp))
			}
		case "hs_meeting_outcome", "hs_call_disposition":
			if (p == "hs_meeting_outcome") == (e.Kind == "meetings") {
				v = sp(e.Status())
			}
		case "hs_createdate":
			v = sp(ts(e.Created))
		case "hs_lastmodifieddate":
			v = sp(o.UpdatedAt)
		}
		return v
	})
}

type searchRequest struct {
	FilterGroups []struct {
		Filters []struct {
			PropertyName string `json:"propertyName"`
			Operator     string `json:"operator"`
			Value        string `json:"value"`
		} `json:"filters"`
	} `json:"filterGroups"`
	Sorts []struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	} `json:"sorts"`
	Properties []string `json:"properties"`
	Limit      int      `json:"limit"`
	After      string   `json:"after"`
}

func parseValue(v string) (int64, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UnixMilli(), true
	}
	return 0, false
}

func (s *Server) handleSearch(r *http.Request, duplicate bool) (any, int, *apiError) {
	objectType := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/crm/v3/objects/"), "/search")
	var req searchRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, 400, &apiError{Message: "invalid JSON body: " + err.Error(), Category: "VALIDATION_ERROR"}
	}
	if req.Limit <= 0 {
		req.Limit = 10
	}
	if req.Limit > s.cfg.MaxSearchPageSize {
		return nil, 400, invalidInput(fmt.Sprintf("limit must be at most %d", s.cfg.MaxSearchPageSize), "limit")
	}
	offset := 0
	if req.After != "" {
		var err error
		if offset, err = strconv.Atoi(req.After); err != nil || offset < 0 {
			return nil, 400, &apiError{Message: "invalid after", Category: "VALIDATION_ERROR"}
		}
	}
	if offset+req.Limit > s.cfg.SearchCap {
		s.capErrors.Add(1)
		return nil, 400, &apiError{Message: fmt.Sprintf("paging past %d results is not allowed", s.cfg.SearchCap), Category: "VALIDATION_ERROR"}
	}
	for _, so := range req.Sorts {
		if so.PropertyName != "hs_object_id" || so.Direction != "ASCENDING" {
			return nil, 400, &apiError{Message: "simulator sorts by hs_object_id ASCENDING only", Category: "VALIDATION_ERROR"}
		}
	}
	type pred func(rec *record) bool
	var groups [][]pred
	for _, g := range req.FilterGroups {
		var ps []pred
		for _, f := range g.Filters {
			val, ok := parseValue(f.Value)
			if !ok {
				return nil, 400, &apiError{Message: "bad filter value " + f.Value, Category: "VALIDATION_ERROR"}
			}
			var get func(rec *record) int64
			switch f.PropertyName {
			case "hs_object_id":
				get = func(rec *record) int64 { return rec.id }
			case "lastmodifieddate", "hs_lastmodifieddate":
				get = func(rec *record) int64 { return rec.modified.UnixMilli() }
			case "createdate", "hs_createdate":
				get = func(rec *record) int64 { return rec.created.UnixMilli() }
			default:
				return nil, 400, &apiError{Message: "simulator cannot filter on " + f.PropertyName, Category: "VALIDATION_ERROR"}
			}
			var cmp func(a int64) bool
			switch f.Operator {
			case "GT":
				cmp = func(a int64) bool { return a > val }
			case "GTE":
				cmp = func(a int64) bool { return a >= val }
			case "LT":
				cmp = func(a int64) bool { return a < val }
			case "LTE":
				cmp = func(a int64) bool { return a <= val }
			case "EQ":
				cmp = func(a int64) bool { return a == val }
			default:
				return nil, 400, &apiError{Message: "unknown operator " + f.Operator, Category: "VALIDATION_ERROR"}
			}
			ps = append(ps, func(rec *record) bool { return cmp(get(rec)) })
		}
		groups = append(groups, ps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.view(objectType)
	if !ok {
		return nil, 404, &apiError{Message: "unknown object type " + objectType, Category: "OBJECT_NOT_FOUND"}
	}
	match := func(rec *record) bool {
		if rec.archived || rec.merged {
			return false // search never returns archived or merged-away records
		}
		if len(groups) == 0 {
			return true
		}
		for _, g := range groups {
			all := true
			for _, p := range g {
				if !p(rec) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
		return false
	}
	// Ids are dense and ascending, so a lower bound on hs_object_id in
	// every group lets the scan start there.
	first := 0
	if lo, ok := idLowerBound(req); ok {
		first = max(0, min(int(lo)-1, v.n))
	}
	var out page
	total := 0
	prev := -1
	for i := first; i < v.n; i++ {
		rec := v.at(i)
		if !match(&rec) {
			continue
		}
		if total == offset-1 {
			prev = i
		}
		if total >= offset && total < offset+req.Limit {
			out.Results = append(out.Results, v.render(i, req.Properties))
		}
		total++
	}
	out.Total = total
	if offset+req.Limit < total {
		out.Paging = &paging{}
		out.Paging.Next.After = strconv.Itoa(offset + req.Limit)
	}
	if duplicate && prev < 0 && offset == 0 && first > 0 && !v.at(first-1).archived {
		// Keyset paging (an id filter instead of an offset): repeat the
		// record just before the window.
		prev = first - 1
	}
	if duplicate && prev >= 0 {
		// Repeat the record just before this page, as a search whose
		// results shifted would.
		out.Results = append([]object{v.render(prev, req.Properties)}, out.Results...)
	}
	return out, 200, nil
}

// idLowerBound returns the smallest hs_object_id any filter group admits,
// when every group bounds it from below.
func idLowerBound(req searchRequest) (int64, bool) {
	if len(req.FilterGroups) == 0 {
		return 0, false
	}
	var lo int64 = -1
	for _, g := range req.FilterGroups {
		var glo int64 = -1
		for _, f := range g.Filters {
			if f.PropertyName != "hs_object_id" {
				continue
			}
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil {
				continue
			}
			switch f.Operator {
			case "GT":
				glo = max(glo, n+1)
			case "GTE", "EQ":
				glo = max(glo, n)
			}
		}
		if glo < 0 {
			return 0, false
		}
		if lo < 0 || glo < lo {
			lo = glo
		}
	}
	return lo, true
}

func (s *Server) handleList(r *http.Request, duplicate bool) (any, int, *apiError) {
	objectType := strings.TrimPrefix(r.URL.Path, "/crm/v3/objects/")
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 10
	}
	if limit > s.cfg.MaxPageSize {
		return nil, 400, &apiError{Message: fmt.Sprintf("limit must be at most %d", s.cfg.MaxPageSize), Category: "VALIDATION_ERROR"}
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	archived := q.Get("archived") == "true"
	var props []string
	if p := q.Get("properties"); p != "" {
		props = strings.Split(p, ",")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.view(objectType)
	if !ok {
		return nil, 404, &apiError{Message: "unknown object type " + objectType, Category: "OBJECT_NOT_FOUND"}
	}
	start := sort.Search(v.n, func(i int) bool { return v.at(i).id > after })
	var out page
	for i := start; i < v.n; i++ {
		if v.at(i).archived != archived || v.at(i).merged {
			continue
		}
		if len(out.Results) == limit {
			out.Paging = &paging{}
			out.Paging.Next.After = out.Results[len(out.Results)-1].ID
			break
		}
		out.Results = append(out.Results, v.render(i, props))
	}
	if duplicate && after > 0 {
		for i := start - 1; i >= 0; i-- {
			if v.at(i).archived == archived {
				out.Results = append([]object{v.render(i, props)}, out.Results...)
				break
			}
		}
	}
	return out, 200, nil
}

func (s *Server) handleAssociations(r *http.Request) (any, int, *apiError) {
	pair := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/crm/v4/associations/"), "/batch/read")
	fromType, toType, _ := strings.Cut(pair, "/")
	typeID, ok := associationTypes[pair]
	if !ok {
		return nil, 400, &apiError{Message: "simulator has no associations " + pair, Category: "VALIDATION_ERROR"}
	}
	var req struct {
		Inputs []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, 400, &apiError{Message: "invalid JSON body", Category: "VALIDATION_ERROR"}
	}
	// HubSpot changelog: the associations batch read takes at most 100
	// inputs from 6 January 2024.
	if len(req.Inputs) > 100 {
		return nil, 400, invalidInput(fmt.Sprintf("Batch input size %d is over the limit of 100", len(req.Inputs)), "inputs")
	}
	failFirst := s.cfg.Faults.EveryAssocError > 0 && s.assocReads.Add(1)%int64(s.cfg.Faults.EveryAssocError) == 0
	type assocType struct {
		Category string  `json:"category"`
		TypeID   int     `json:"typeId"`
		Label    *string `json:"label"`
	}
	type to struct {
		ToObjectID       int64       `json:"toObjectId"`
		AssociationTypes []assocType `json:"associationTypes"`
	}
	type result struct {
		From struct {
			ID string `json:"id"`
		} `json:"from"`
		To []to `json:"to"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// BatchResponsePublicAssociationMulti(WithErrors) of the associations
	// v4 spec: 207 when errors is not empty.
	type batch struct {
		Status      string     `json:"status"`
		Results     []result   `json:"results"`
		NumErrors   int        `json:"numErrors,omitempty"`
		Errors      []apiError `json:"errors,omitempty"`
		StartedAt   string     `json:"startedAt"`
		CompletedAt string     `json:"completedAt"`
	}
	now := ts(time.Now())
	out := batch{Status: "COMPLETE", Results: []result{}, StartedAt: now, CompletedAt: now}
	for i, in := range req.Inputs {
		if i == 0 && failFirst {
			out.Errors = append(out.Errors, apiError{Status: "error", Category: "INTERNAL_ERROR",
				Message: "An internal error occurred reading the associations of " + singular(fromType) + " " + in.ID + ".",
				Context: map[string][]string{"fromObjectId": {in.ID}}})
			continue
		}
		id, _ := strconv.ParseInt(in.ID, 10, 64)
		ids, _ := s.associated(fromType, toType, id)
		if s.archivedFrom(fromType, id) || len(ids) == 0 {
			// What HubSpot answers for an input with nothing associated.
			out.Errors = append(out.Errors, apiError{Status: "error", Category: "OBJECT_NOT_FOUND",
				SubCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
				Message:     "No " + singular(toType) + " is associated with " + singular(fromType) + " " + in.ID + ".",
				Context:     map[string][]string{"fromObjectId": {in.ID}, "fromObjectType": {singular(fromType)}, "toObjectType": {singular(toType)}}})
			continue
		}
		var res result
		res.From.ID = in.ID
		for _, c := range ids {
			res.To = append(res.To, to{ToObjectID: c, AssociationTypes: []assocType{{Category: "HUBSPOT_DEFINED", TypeID: typeID}}})
		}
		out.Results = append(out.Results, res)
	}
	if out.NumErrors = len(out.Errors); out.NumErrors > 0 {
		return out, http.StatusMultiStatus, nil
	}
	return out, 200, nil
}

// singular is an object type's name in error messages ("companies":
// "company").
func singular(objectType string) string {
	if objectType == "companies" {
		return "company"
	}
	return strings.TrimSuffix(objectType, "s")
}

// invalidInput is a 400 in the full error shape.
func invalidInput(msg, field string) *apiError {
	return &apiError{Message: msg, Category: "VALIDATION_ERROR", SubCategory: "crm.INVALID_INPUT",
		Errors:  []errorDetail{{Message: msg, In: field, Code: "INVALID_INPUT"}},
		Context: map[string][]string{"field": {field}},
		Links:   map[string]string{"knowledge-base": "https://sim.invalid/docs/errors"}}
}
