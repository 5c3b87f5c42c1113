// Package salesforcesim is a simulated Salesforce REST API for tests:
// query and queryAll with SOQL filtered and ordered on SystemModstamp
// (relationship fields such as CampaignMember's Campaign.Name nested as the
// REST API nests them),
// nextRecordsUrl paging (a queryAll's locator reads /query/, as Salesforce's
// does), IsDeleted rows, error bodies ([{"message", "errorCode"}]), the
// Sforce-Limit-Info header with its "; "-separated fields, the org's daily
// allowance (REQUEST_LIMIT_EXCEEDED "TotalRequests" once it is used up), and
// a rolling per-window request limit, standing in for the concurrent request
// limit, that counts every request exceeding it. Fault modes inject
// concurrent-limit REQUEST_LIMIT_EXCEEDED storms, 5xx, slow and hung responses,
// truncated JSON, duplicates across pages, QUERY_TIMEOUT on wide queries,
// records modified mid-sync and deletions. Records deleted for good (Purge)
// leave queryAll and stay in the delete log that sObject Get Deleted reads,
// with its 15-day reach, purges and id limit. The OAuth 2.0 client
// credentials flow issues sessions that expire, as a connected app's do
// after the session timeout. It runs on loopback via httptest and imports
// only the standard library.
package salesforcesim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets the simulator's limits and faults.
type Config struct {
	Token             string        // default "test-token"
	APIVersion        string        // default v59.0
	RequestsPerWindow int           // default 10
	Window            time.Duration // default 1 s
	PageSize          int           // records per page; default 2000
	// DailyLimit is the org's allowance, reported in Sforce-Limit-Info
	// and enforced: a request beyond it is refused (default 15000, a
	// Developer Edition org's).
	DailyLimit  int64
	UsageOffset int64 // requests already used today
	// TimeoutAbove makes a query matching more records than this fail with
	// QUERY_TIMEOUT (0: never).
	TimeoutAbove int
	RetryAfter   time.Duration // sent with REQUEST_LIMIT_EXCEEDED; default none
	// MaxDeletedIDs is the most ids one sObject Get Deleted call returns
	// before failing with EXCEEDED_ID_LIMIT (default 600,000, the
	// documented limit).
	MaxDeletedIDs int
	Faults        Faults
	Seed          uint64
	// ConsumerKey and ConsumerSecret enable the client credentials flow
	// at /services/oauth2/token. SessionRequests is how many API requests
	// a session it issues answers before it expires (0: never); it stands
	// in for the session timeout, which is a matter of hours.
	ConsumerKey     string
	ConsumerSecret  string
	SessionRequests int
	// RESTRefused makes the REST API refuse every issued session, as it
	// does when the app's scopes leave out "api" (401 INVALID_SESSION_ID
	// "This session is not valid for use with the REST API", as reported
	// in tsmztech/mcp-server-salesforce issue 8).
	RESTRefused bool
}

// Faults inject failures by request number (1, 2, ...). Zero disables.
type Faults struct {
	StormFrom, StormLen int // REQUEST_LIMIT_EXCEEDED storm
	Every5xx            int
	EverySlow           int
	SlowDelay           time.Duration
	EveryHang           int
	HangDelay           time.Duration // default 5 s
	EveryTruncate       int
	EveryDuplicate      int // every n-th nextRecordsUrl page repeats the previous page's last record
	EveryMutate         int
	MutateCount         int
	EveryDelete         int
	DeleteCount         int
}

// Record is one simulated sObject row.
type Record struct {
	ID       string
	Object   string
	Fields   map[string]any // without Id, SystemModstamp, IsDeleted
	Modstamp time.Time
	Deleted  bool
	// Purged: deleted and gone from the Recycle Bin (emptied, or deleted
	// for good), so no query or queryAll returns it; only the delete log
	// still lists it.
	Purged  bool
	Version int
	Bad     bool // the loader must reject it
}

// Server is a running simulator.
type Server struct {
	*httptest.Server
	cfg Config

	mu       sync.Mutex
	objects  map[string][]*Record
	byID     map[string]*Record
	locators map[string]*locator
	nextLoc  int
	window   []time.Time
	rng      *rand.Rand

	// deleteLogFrom is the oldest deletion the delete log still holds
	// (zero: all of them).
	deleteLogFrom time.Time
	deleteLog     DeleteLog

	sessions map[string]int  // issued or allowed access token -> API requests it has left (-1: no end)
	revoked  map[string]bool // sessions RevokeToken ended
	issued   atomic.Int64

	requests atomic.Int64
	used     atomic.Int64 // requests counted against today's allowance
	exceeded atomic.Int64
	timeouts atomic.Int64
	queries  atomic.Int64
}

type locator struct {
	recs   []*Record
	fields []string
	pos    int
}

// New starts a simulator on loopback.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = "test-token"
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v59.0"
	}
	if cfg.RequestsPerWindow <= 0 {
		cfg.RequestsPerWindow = 10
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 2000
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = 15000
	}
	if cfg.MaxDeletedIDs <= 0 {
		cfg.MaxDeletedIDs = 600000
	}
	if cfg.Faults.HangDelay <= 0 {
		cfg.Faults.HangDelay = 5 * time.Second
	}
	s := &Server{cfg: cfg, objects: map[string][]*Record{"Lead": nil, "Contact": nil, "Opportunity": nil,
		"OpportunityContactRole": nil, "OpportunityHistory": nil, "CampaignMember": nil, "Account": nil}, byID: map[string]*Record{}, locators: map[string]*locator{}, sessions: map[string]int{}, revoked: map[string]bool{},
		rng: rand.New(rand.NewPCG(cfg.Seed, 11))}
	s.used.Store(cfg.UsageOffset)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetUsage sets the requests counted against today's allowance (0: a new
// day, as the rolling 24 hours move on).
func (s *Server) SetUsage(n int64) { s.used.Store(n) }

// Token is the bearer token accepted from the start.
func (s *Server) Token() string { return s.cfg.Token }

// AllowToken registers another session id Salesforce issued; it does not
// end by itself. A revoked one stays revoked.
func (s *Server) AllowToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[tok]; !ok {
		s.sessions[tok] = -1
	}
}

// RevokeToken ends a session, Config.Token or an issued one included, as
// an administrator revoking the connected app's tokens does: the REST API
// answers 401 INVALID_SESSION_ID to it from now on.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[tok] = true
}

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.HangDelay <= 0 {
		f.HangDelay = 5 * time.Second
	}
	s.cfg.Faults = f
}

// SetTimeoutAbove changes the QUERY_TIMEOUT threshold.
func (s *Server) SetTimeoutAbove(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.TimeoutAbove = n
}

// TokensIssued counts the access tokens the token endpoint issued.
func (s *Server) TokensIssued() int64 { return s.issued.Load() }

// Requests, Exceeded, Timeouts and Queries count what the server saw.
func (s *Server) Requests() int64 { return s.requests.Load() }
func (s *Server) Exceeded() int64 { return s.exceeded.Load() }
func (s *Server) Timeouts() int64 { return s.timeouts.Load() }
func (s *Server) Queries() int64  { return s.queries.Load() }

func sfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

func (s *Server) add(r *Record) {
	s.objects[r.Object] = append(s.objects[r.Object], r)
	s.byID[r.ID] = r
}

func sfID(prefix string, n int) string { return fmt.Sprintf("%s%012d", prefix, n) }

// Seed adds n Leads and m Opportunities, stamped over the 30 days before
// now. Lead i ≤ m was converted to Contact i and Opportunity i; each
// Opportunity has a primary OpportunityContactRole and two history rows.
// Every badEvery-th Lead has an unparseable CreatedDate and every
// badEvery-th Opportunity an unknown currency (0: none).
func (s *Server) Seed(n, m, badEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-30 * 24 * time.Hour)
	at := func(i, step int) time.Time {
		return base.Add(time.Duration(i*step) * time.Second % (29 * 24 * time.Hour))
	}
	bad := func(i int) bool { return badEvery > 0 && i%badEvery == 0 }
	for i := 1; i <= n; i++ {
		created := at(i, 13)
		f := map[string]any{
			"CreatedDate": sfTime(created), "LastModifiedDate": sfTime(created.Add(time.Hour)),
			"Email": fmt.Sprintf("Lead%d@Example.com", i), "Phone": nil, "FirstName": "Ann", "LastName": fmt.Sprintf("L%d", i),
			"Company": fmt.Sprintf("Co %d v1", i), "Status": "Open - Not Contacted", "LeadSource": "Web",
			"IsConverted": false, "ConvertedDate": nil, "ConvertedContactId": nil, "ConvertedOpportunityId": nil,
			"GA_Client_ID__c": fmt.Sprintf("GA1.1.%d.%d", 500000+i, 1700000000+i), "GCLID__c": nil,
			"Meta_Lead_ID__c": nil, "LI_FAT_ID__c": nil, "Ad_Consent__c": nil,
		}
		if i%5 == 0 {
			f["Meta_Lead_ID__c"] = fmt.Sprintf("ml-%d", i)
		}
		if i%7 == 0 {
			f["LI_FAT_ID__c"] = fmt.Sprintf("lf-%d", i)
		}
		switch {
		case i%13 == 0:
			f["Ad_Consent__c"] = "pending" // rejected when the field is read
		case i%2 == 0:
			f["Ad_Consent__c"] = "granted"
		case i%3 == 0:
			f["Ad_Consent__c"] = false // a checkbox field
		}
		if i%5 == 0 {
			f["GCLID__c"] = fmt.Sprintf("gclid-sf-%d", i)
		}
		if i <= m {
			f["IsConverted"], f["Status"] = true, "Closed - Converted"
			f["ConvertedDate"] = created.Add(48 * time.Hour).Format("2006-01-02")
			f["ConvertedContactId"], f["ConvertedOpportunityId"] = sfID("003", i), sfID("006", i)
		}
		if bad(i) {
			f["CreatedDate"] = "yesterday"
		}
		s.add(&Record{ID: sfID("00Q", i), Object: "Lead", Fields: f, Modstamp: created.Add(time.Hour), Version: 1, Bad: bad(i)})
	}
	for i := 1; i <= m; i++ {
		created := at(i, 13).Add(48 * time.Hour)
		s.add(&Record{ID: sfID("003", i), Object: "Contact", Version: 1, Modstamp: created.Add(time.Minute), Fields: map[string]any{
			"CreatedDate": sfTime(created), "LastModifiedDate": sfTime(created.Add(time.Minute)),
			"Email": fmt.Sprintf("Lead%d@Example.com", i), "Phone": nil, "FirstName": "Ann", "LastName": fmt.Sprintf("L%d v1", i),
			"LeadSource": "Web", "GA_Client_ID__c": nil, "GCLID__c": nil,
			"Meta_Lead_ID__c": nil, "LI_FAT_ID__c": nil, "Ad_Consent__c": nil, "AccountId": nil,
		}})
		stage := []string{"Prospecting", "Closed Won", "Closed Lost"}[i%3]
		cur := []string{"USD", "EUR", "GBP"}[i%3]
		if bad(i) {
			cur = "ZZZ"
		}
		s.add(&Record{ID: sfID("006", i), Object: "Opportunity", Version: 1, Modstamp: created.Add(2 * time.Minute), Bad: bad(i), Fields: map[string]any{
			"CreatedDate": sfTime(created), "LastModifiedDate": sfTime(created.Add(2 * time.Minute)),
			"StageName": stage, "Amount": json.Number(fmt.Sprintf("%d.5", 2000+i)), "CloseDate": created.Add(30 * 24 * time.Hour).Format("2006-01-02"),
			"IsClosed": stage != "Prospecting", "IsWon": stage == "Closed Won", "CurrencyIsoCode": cur,
			"AccountId": nil,
		}})
		s.add(&Record{ID: sfID("00K", i), Object: "OpportunityContactRole", Version: 1, Modstamp: created.Add(3 * time.Minute), Fields: map[string]any{
			"CreatedDate": sfTime(created), "OpportunityId": sfID("006", i), "ContactId": sfID("003", i),
			"Role": "Decision Maker v1", "IsPrimary": true,
		}})
		for k, st := range []string{"Prospecting", stage} {
			s.add(&Record{ID: sfID("008", 2*i+k), Object: "OpportunityHistory", Version: 1, Modstamp: created.Add(time.Duration(4+k) * time.Minute), Fields: map[string]any{
				"CreatedDate": sfTime(created.Add(time.Duration(k) * time.Hour)), "OpportunityId": sfID("006", i), "StageName": st,
			}})
		}
	}
}

// campaignTypes are values of Campaign.Type's standard picklist (Object
// Reference, Campaign).
var campaignTypes = []string{"Webinar", "Trade Show", "Email", "Direct Mail", "Advertisement"}

// SeedCampaignMembers adds k CampaignMembers of the seeded Leads 1..n,
// stamped over the 30 days before now, in five campaigns (one per
// campaignTypes entry). Member i has responded unless i%4 == 0; every
// badEvery-th member has an unparseable FirstRespondedDate (0: none).
// Campaign.Name and Campaign.Type are served through the relationship, nested
// as the REST API nests them.
func (s *Server) SeedCampaignMembers(k, n, badEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-30 * 24 * time.Hour)
	for i := 1; i <= k; i++ {
		at := base.Add(time.Duration(i*17) * time.Second % (29 * 24 * time.Hour))
		c := i % len(campaignTypes)
		f := map[string]any{
			"CreatedDate": sfTime(at), "LastModifiedDate": sfTime(at), "CampaignId": sfID("701", c+1),
			"LeadId": sfID("00Q", 1+(i-1)%max(n, 1)), "ContactId": nil, "Status": "Responded v1", "HasResponded": true,
			"FirstRespondedDate": at.Format("2006-01-02"),
			"Campaign.Name":      fmt.Sprintf("%s campaign %d", campaignTypes[c], c+1), "Campaign.Type": campaignTypes[c],
		}
		if i%4 == 0 {
			f["Status"], f["HasResponded"], f["FirstRespondedDate"] = "Sent", false, nil
		}
		bad := badEvery > 0 && i%badEvery == 0
		if bad {
			f["HasResponded"], f["FirstRespondedDate"] = true, "last week"
		}
		s.add(&Record{ID: sfID("00v", i), Object: "CampaignMember", Fields: f, Modstamp: at, Version: 1, Bad: bad})
	}
}

// websites are Account.Website values in the shapes orgs hold them.
var websites = []string{"https://www.acme%d.example/", "acme%d.example", "http://Acme%d.example:8080/about", "www.acme%d.example"}

// SeedAccounts adds k Accounts, stamped over the 30 days before now, and
// puts the seeded Contacts and Opportunities in them: Contact and
// Opportunity i in Account (i-1)%k+1, except every tenth, which has none
// (AccountId null, as an Opportunity without an account has). Websites come
// in the shapes orgs hold them (with scheme, www., port or path, or bare);
// every fifth Account has none. Every badEvery-th Account has an unparseable
// CreatedDate (0: none), which no later version fixes. Call it after Seed.
func (s *Server) SeedAccounts(k, badEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-30 * 24 * time.Hour)
	industries := []any{"Technology", "Finance", nil} // Industry is a picklist; it may be empty
	for i := 1; i <= k; i++ {
		at := base.Add(time.Duration(i*29) * time.Second % (29 * 24 * time.Hour))
		var website any = fmt.Sprintf(websites[i%len(websites)], i)
		if i%5 == 0 {
			website = nil
		}
		f := map[string]any{
			"CreatedDate": sfTime(at), "LastModifiedDate": sfTime(at), "Name": fmt.Sprintf("Acme %d v1", i),
			"Website": website, "Industry": industries[i%len(industries)],
		}
		bad := badEvery > 0 && i%badEvery == 0
		if bad {
			f["CreatedDate"] = "last Tuesday"
		}
		s.add(&Record{ID: sfID("001", i), Object: "Account", Fields: f, Modstamp: at, Version: 1, Bad: bad})
	}
	if k == 0 {
		return
	}
	for _, obj := range []string{"Contact", "Opportunity"} {
		for i, r := range s.objects[obj] {
			if (i+1)%10 != 0 {
				r.Fields["AccountId"] = sfID("001", i%k+1)
			}
		}
	}
}

// markerField is the field whose value names a record's version.
var markerField = map[string]string{
	"Lead": "Company", "Contact": "LastName", "Opportunity": "Amount", "OpportunityContactRole": "Role", "OpportunityHistory": "StageName",
	"CampaignMember": "Status", "Account": "Name",
}

func stamp(prev time.Time) time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	return t
}

func (s *Server) modify(r *Record) {
	r.Version++
	r.Modstamp = stamp(r.Modstamp)
	switch r.Object {
	case "Lead":
		r.Fields["Company"] = fmt.Sprintf("%s v%d", strings.SplitN(r.Fields["Company"].(string), " v", 2)[0], r.Version)
	case "Contact":
		r.Fields["LastName"] = fmt.Sprintf("%s v%d", strings.SplitN(r.Fields["LastName"].(string), " v", 2)[0], r.Version)
	case "Opportunity":
		r.Fields["Amount"] = json.Number(fmt.Sprintf("%d.%d", 3000+r.Version, r.Version%10))
	case "OpportunityContactRole":
		r.Fields["Role"] = fmt.Sprintf("Decision Maker v%d", r.Version)
	case "CampaignMember":
		r.Fields["Status"] = fmt.Sprintf("Responded v%d", r.Version)
	case "Account":
		r.Fields["Name"] = fmt.Sprintf("%s v%d", strings.SplitN(r.Fields["Name"].(string), " v", 2)[0], r.Version)
	}
	// A Contact or Opportunity with an account moves to another one on
	// every second version, so account links change version too.
	if acc := s.objects["Account"]; len(acc) > 1 && r.Fields["AccountId"] != nil && r.Version%2 == 0 {
		r.Fields["AccountId"] = acc[(len(r.ID)+r.Version*7+int(r.Modstamp.UnixMilli()%97))%len(acc)].ID
	}
	r.Fields["LastModifiedDate"] = sfTime(r.Modstamp)
}

// Modify gives the records with these ids a new version.
func (s *Server) Modify(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if r := s.byID[id]; r != nil && !r.Deleted {
			s.modify(r)
		}
	}
}

// SetField sets a field of the record with this id (a relationship field
// by its path, such as Campaign.Name) to value: a string, bool,
// json.Number or nil. The record keeps its version. It gives a record
// values the seeded ones never hold, such as a NUL byte.
func (s *Server) SetField(id, field string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byID[id]; r != nil {
		r.Fields[field] = value
	}
}

// Delete soft-deletes the records with these ids (IsDeleted, still visible
// to queryAll).
func (s *Server) Delete(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if r := s.byID[id]; r != nil && !r.Deleted {
			r.Deleted, r.Modstamp = true, stamp(r.Modstamp)
		}
	}
}

// Purge deletes the records with these ids for good: deleted, then gone
// from the Recycle Bin, as when a user empties it or an admin hard-deletes.
// queryAll no longer returns them (it returns deleted records only while
// they are in the bin: REST API Developer Guide, QueryAll); the delete log
// that sObject Get Deleted reads still lists them.
func (s *Server) Purge(ids ...string) {
	s.PurgeAt(time.Time{}, ids...)
}

// PurgeAt is Purge with the deletion stamped at (zero: now) for records
// still live.
func (s *Server) PurgeAt(at time.Time, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		r := s.byID[id]
		if r == nil || r.Purged {
			continue
		}
		if !r.Deleted {
			r.Deleted, r.Modstamp = true, stamp(r.Modstamp)
			if !at.IsZero() {
				r.Modstamp = at.UTC()
			}
		}
		r.Purged = true
	}
}

// TrimDeleteLog drops the delete log's entries before t, as Salesforce's
// background process does when the log grows past its limit (getDeleted()
// in the SOAP API Developer Guide): sObject Get Deleted then refuses a
// window that starts before t with INVALID_REPLICATION_DATE.
func (s *Server) TrimDeleteLog(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLogFrom = t.UTC()
}

// DeleteLog sets how sObject Get Deleted departs from the plain answer,
// as the guides say it may.
type DeleteLog struct {
	// CoverLag holds latestDateCovered this long before the window's end,
	// and leaves out the deletions after it: deletions still under way at
	// the end, which Salesforce knowledge article 000199029 says can hold
	// it back for hours during long transactions.
	CoverLag time.Duration
	// Refuse answers every call INVALID_REPLICATION_DATE, as for a start
	// before the org's replication was enabled (jsforce issue 406).
	Refuse bool
}

// SetDeleteLog changes how Get Deleted answers from now on.
func (s *Server) SetDeleteLog(d DeleteLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLog = d
}

// Final is a record's final state.
type Final struct {
	Modified time.Time
	Deleted  bool
	Marker   string
	Bad      bool
	// AccountID is a Contact's or Opportunity's AccountId ("" for none).
	AccountID string
}

// Finals returns the final state of every record of an object by id.
func (s *Server) Finals(object string) map[string]Final {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Final{}
	for _, r := range s.objects[object] {
		acc, _ := r.Fields["AccountId"].(string)
		out[r.ID] = Final{Modified: r.Modstamp, Deleted: r.Deleted, Marker: fmt.Sprint(r.Fields[markerField[object]]), Bad: r.Bad, AccountID: acc}
	}
	return out
}

// ---- HTTP ----

type sfError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
}

func (s *Server) fail(w http.ResponseWriter, code int, errorCode, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode([]sfError{{Message: msg, ErrorCode: errorCode}})
}

var soqlRE = regexp.MustCompile(`(?i)^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+SystemModstamp\s*>=\s*(\S+)\s+AND\s+SystemModstamp\s*<\s*(\S+)\s+ORDER\s+BY\s+SystemModstamp\s+ASC\s*,\s*Id\s+ASC$`)

// oauthError is the OAuth endpoints' error body, {"error",
// "error_description"}, as restforce and forrest users quote it:
// invalid_client "invalid client credentials" for a wrong consumer key or
// secret, invalid_grant when the app cannot use the grant.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token answers the OAuth 2.0 client credentials flow (Salesforce Help,
// "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration":
// POST to the org's My Domain /services/oauth2/token, form-encoded
// grant_type=client_credentials, client_id and client_secret; the answer
// carries access_token, signature, scope, instance_url, id, token_type
// Bearer and issued_at in epoch milliseconds, and no refresh token or
// expiry: the session lasts the session timeout of the app's policy).
// Token requests are not REST API calls and count against no allowance.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(oauthError{code, desc})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		refuse("invalid_request", "must use HTTP POST")
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		refuse("unsupported_grant_type", "grant type not supported")
		return
	case s.cfg.ConsumerKey == "":
		refuse("invalid_grant", "no client credentials user enabled")
		return
	case r.PostForm.Get("client_id") != s.cfg.ConsumerKey || r.PostForm.Get("client_secret") != s.cfg.ConsumerSecret:
		refuse("invalid_client", "invalid client credentials")
		return
	}
	n := s.issued.Add(1)
	tok := fmt.Sprintf("00Dsim000000001!session-%d", n)
	left := s.cfg.SessionRequests
	if left <= 0 {
		left = -1
	}
	s.mu.Lock()
	s.sessions[tok] = left
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"access_token": tok, "signature": "c2lt", "scope": "api", "instance_url": s.URL,
		"id": s.URL + "/id/00Dsim000000001/005sim000000001", "token_type": "Bearer",
		"issued_at": strconv.FormatInt(time.Now().UnixMilli(), 10),
	})
}

// session reports whether an Authorization header carries a live session,
// counting the request against an issued session's remaining requests.
func (s *Server) session(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked[tok] {
		return false
	}
	if tok == s.cfg.Token {
		return true
	}
	left, ok := s.sessions[tok]
	switch {
	case !ok || left == 0:
		return false
	case left > 0:
		s.sessions[tok] = left - 1
	}
	return true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/services/oauth2/token" {
		s.token(w, r)
		return
	}
	n := s.requests.Add(1)
	s.mu.Lock()
	now := time.Now()
	i := 0
	for i < len(s.window) && !s.window[i].After(now.Add(-s.cfg.Window)) {
		i++
	}
	s.window = append(s.window[:0], s.window[i:]...)
	ok := len(s.window) < s.cfg.RequestsPerWindow
	s.window = append(s.window, now)
	f := s.cfg.Faults
	timeoutAbove := s.cfg.TimeoutAbove
	s.mu.Unlock()

	used := s.used.Add(1)
	// The REST API Developer Guide's Limit Info Header example, a second
	// field after "; " included.
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d; per-app-api-usage=%d/%d(appName=sam-sim)",
		used, s.cfg.DailyLimit, used, s.cfg.DailyLimit))
	if used > s.cfg.DailyLimit {
		s.fail(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	if !ok {
		s.exceeded.Add(1)
		s.limitExceeded(w)
		return
	}
	if !s.session(r.Header.Get("Authorization")) {
		// The REST API's answer to a session it does not honour (never
		// issued, timed out or revoked), as its error reference and
		// every client's users quote it.
		s.fail(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if s.cfg.RESTRefused && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		s.fail(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "This session is not valid for use with the REST API")
		return
	}
	every := func(k int) bool { return k > 0 && n%int64(k) == 0 }
	switch {
	case f.StormLen > 0 && n >= int64(f.StormFrom) && n < int64(f.StormFrom+f.StormLen):
		s.limitExceeded(w)
		return
	case every(f.Every5xx):
		s.fail(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
		return
	case every(f.EveryHang):
		select {
		case <-r.Context().Done():
		case <-time.After(f.HangDelay):
		}
		s.fail(w, http.StatusGatewayTimeout, "SERVER_UNAVAILABLE", "timeout")
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
	if every(f.EveryDelete) {
		s.mutate(f.DeleteCount, true)
	}

	prefix := "/services/data/" + s.cfg.APIVersion + "/"
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix) {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	var body any
	switch {
	case rest == "query" || rest == "queryAll":
		q := r.URL.Query().Get("q")
		// Both resources hand out locators under /query/ ("QueryAll More
		// Results": the nextRecordsUrl of a queryAll contains query, not
		// queryAll); either resource reads them.
		res, code, errCode, msg := s.query(q, rest == "queryAll", timeoutAbove, prefix+"query")
		if code != 200 {
			s.fail(w, code, errCode, msg)
			return
		}
		body = res
	case strings.HasPrefix(rest, "sobjects/") && strings.HasSuffix(strings.TrimSuffix(rest, "/"), "/deleted"):
		object := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(rest, "sobjects/"), "/"), "/deleted")
		res, code, errCode, msg := s.deleted(object, r.URL.Query().Get("start"), r.URL.Query().Get("end"))
		if code != 200 {
			s.fail(w, code, errCode, msg)
			return
		}
		body = res
	case strings.HasPrefix(rest, "query/") || strings.HasPrefix(rest, "queryAll/"):
		_, id, _ := strings.Cut(rest, "/")
		res, ok := s.page(id, prefix+"query", every(f.EveryDuplicate))
		if !ok {
			s.fail(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
			return
		}
		body = res
	default:
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	data, _ := json.Marshal(body)
	if every(f.EveryTruncate) {
		data = data[:len(data)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(data)
}

// limitExceeded refuses a request over the per-window limit the way
// Salesforce refuses one over the concurrent long-running request limit
// (API Request Limits and Allocations: REQUEST_LIMIT_EXCEEDED until fewer
// requests run), a limit that passes by itself.
func (s *Server) limitExceeded(w http.ResponseWriter) {
	if s.cfg.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatFloat(s.cfg.RetryAfter.Seconds(), 'f', -1, 64))
	}
	s.fail(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
}

func (s *Server) mutate(k int, del bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, obj := range []string{"Lead", "Contact", "Opportunity", "OpportunityContactRole", "CampaignMember", "Account"} {
		recs := s.objects[obj]
		for i := 0; i < k && len(recs) > 0; i++ {
			r := recs[s.rng.IntN(len(recs))]
			if r.Deleted {
				continue
			}
			if del {
				r.Deleted, r.Modstamp = true, stamp(r.Modstamp)
			} else {
				s.modify(r)
			}
		}
	}
}

// deletedAnswer is sObject Get Deleted's response body (REST API Developer
// Guide, "sObject Get Deleted" and "Get a List of Deleted Records Within a
// Given Timeframe").
type deletedAnswer struct {
	DeletedRecords        []deletedRecord `json:"deletedRecords"`
	EarliestDateAvailable string          `json:"earliestDateAvailable"`
	LatestDateCovered     string          `json:"latestDateCovered"`
}

type deletedRecord struct {
	ID          string `json:"id"`
	DeletedDate string `json:"deletedDate"`
}

// deleted answers sObject Get Deleted for [start, end] as getDeleted()'s
// rules in the SOAP API Developer Guide state them: start must precede end
// by more than a minute, results reach back no more than 15 days before the
// day of the call, a window reaching before what the delete log still holds
// is refused, all with INVALID_REPLICATION_DATE; more than 600,000 ids is
// EXCEEDED_ID_LIMIT. The seconds of start and end are ignored (salesforcer's
// sf_get_deleted notes it). deletedDate is the record's SystemModstamp.
func (s *Server) deleted(object, startParam, endParam string) (any, int, string, string) {
	start, err1 := time.Parse(time.RFC3339, startParam)
	end, err2 := time.Parse(time.RFC3339, endParam)
	if err1 != nil || err2 != nil {
		return nil, 400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times"
	}
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	if end.Sub(start) <= time.Minute {
		return nil, 400, "INVALID_REPLICATION_DATE", "startDate must be more than one minute before endDate"
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if start.Before(today.AddDate(0, 0, -15)) {
		return nil, 400, "INVALID_REPLICATION_DATE", "startDate is more than 15 days before today"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, ok := s.objects[object]
	if !ok {
		return nil, 404, "NOT_FOUND", "The requested resource does not exist"
	}
	if s.deleteLog.Refuse {
		return nil, 400, "INVALID_REPLICATION_DATE", "startDate before org replication enabled date"
	}
	if start.Before(s.deleteLogFrom) {
		return nil, 400, "INVALID_REPLICATION_DATE", "the delete log was purged after startDate"
	}
	covered := end.Add(-s.deleteLog.CoverLag)
	out := deletedAnswer{DeletedRecords: []deletedRecord{}, LatestDateCovered: sfTime(covered)}
	earliest := s.deleteLogFrom
	if earliest.IsZero() {
		earliest = today.AddDate(0, 0, -15)
	}
	out.EarliestDateAvailable = sfTime(earliest)
	for _, r := range recs {
		if r.Deleted && !r.Modstamp.Before(start) && !r.Modstamp.After(covered) {
			out.DeletedRecords = append(out.DeletedRecords, deletedRecord{ID: r.ID, DeletedDate: sfTime(r.Modstamp)})
		}
	}
	if len(out.DeletedRecords) > s.cfg.MaxDeletedIDs {
		return nil, 400, "EXCEEDED_ID_LIMIT", "too many ids; choose start and end dates closer together"
	}
	return out, 200, "", ""
}

func parseLiteral(v string) (time.Time, error) {
	return time.Parse(time.RFC3339, v)
}

type queryResult struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl,omitempty"`
	Records        []row  `json:"records"`
}

func (s *Server) query(q string, all bool, timeoutAbove int, base string) (any, int, string, string) {
	s.queries.Add(1)
	m := soqlRE.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return nil, 400, "MALFORMED_QUERY", "simulator understands only SELECT … FROM x WHERE SystemModstamp >= t AND SystemModstamp < t ORDER BY SystemModstamp ASC, Id ASC"
	}
	fields := strings.Split(m[1], ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	lo, err1 := parseLiteral(m[3])
	hi, err2 := parseLiteral(m[4])
	if err1 != nil || err2 != nil {
		return nil, 400, "MALFORMED_QUERY", "bad datetime literal"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, ok := s.objects[m[2]]
	if !ok {
		return nil, 400, "INVALID_TYPE", "sObject type '" + m[2] + "' is not supported."
	}
	var match []*Record
	for _, r := range recs {
		if (all || !r.Deleted) && !r.Purged && !r.Modstamp.Before(lo) && r.Modstamp.Before(hi) {
			match = append(match, r)
		}
	}
	if timeoutAbove > 0 && len(match) > timeoutAbove {
		s.timeouts.Add(1)
		return nil, 400, "QUERY_TIMEOUT", "Your query request was running for too long."
	}
	for _, f := range fields {
		if f == "Id" || f == "SystemModstamp" || f == "IsDeleted" {
			continue
		}
		if len(recs) == 0 {
			break
		}
		if _, ok := recs[0].Fields[f]; !ok {
			return nil, 400, "INVALID_FIELD", "No such column '" + f + "' on entity '" + m[2] + "'."
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		if !match[i].Modstamp.Equal(match[j].Modstamp) {
			return match[i].Modstamp.Before(match[j].Modstamp)
		}
		return match[i].ID < match[j].ID
	})
	s.nextLoc++
	id := fmt.Sprintf("01gSIM%09d", s.nextLoc)
	loc := &locator{recs: match, fields: fields}
	s.locators[id] = loc
	return s.render(loc, id, base, fields, false), 200, "", ""
}

// render returns the locator's next page and advances it. Callers hold s.mu.
func (s *Server) render(loc *locator, id, base string, fields []string, duplicate bool) queryResult {
	end := min(loc.pos+s.cfg.PageSize, len(loc.recs))
	out := queryResult{TotalSize: len(loc.recs), Records: []row{}}
	if duplicate && loc.pos > 0 {
		out.Records = append(out.Records, s.row(loc.recs[loc.pos-1], fields))
	}
	for _, r := range loc.recs[loc.pos:end] {
		out.Records = append(out.Records, s.row(r, fields))
	}
	loc.pos = end
	if end < len(loc.recs) {
		out.NextRecordsURL = fmt.Sprintf("%s/%s-%d", base, id, end)
	} else {
		// The locator stays valid, as Salesforce's do for a while, so a
		// client may fetch a page again after a failed read.
		out.Done = true
	}
	return out
}

// row is one record as the REST API renders it, fields in SELECT order.
type row struct {
	object, url string
	fields      []string
	vals        []any
}

// MarshalJSON writes the row directly; maps would sort keys and dominate
// the simulator's time.
func (r row) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 96+32*len(r.fields))
	b = append(b, `{"attributes":{"type":`...)
	b = appendString(b, r.object)
	b = append(b, `,"url":`...)
	b = appendString(b, r.url)
	b = append(b, '}')
	rel := ""
	for i, f := range r.fields {
		// A relationship field (Campaign.Name) nests under its relationship,
		// as {"Campaign":{"attributes":{...},"Name":...}}; the simulator
		// expects a relationship's fields next to each other.
		if prefix, field, ok := strings.Cut(f, "."); ok {
			if prefix != rel {
				if rel != "" {
					b = append(b, '}')
				}
				rel = prefix
				b = append(b, ',')
				b = appendString(b, prefix)
				b = append(b, `:{"attributes":{"type":`...)
				b = appendString(b, prefix)
				b = append(b, '}')
			}
			f = field
		} else if rel != "" {
			b = append(b, '}')
			rel = ""
		}
		b = append(b, ',')
		b = appendString(b, f)
		b = append(b, ':')
		switch v := r.vals[i].(type) {
		case nil:
			b = append(b, "null"...)
		case string:
			b = appendString(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case json.Number:
			b = append(b, v...)
		default:
			return nil, fmt.Errorf("salesforcesim: field %s has type %T", f, v)
		}
	}
	if rel != "" {
		b = append(b, '}')
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

func (s *Server) row(r *Record, fields []string) row {
	out := row{object: r.Object, url: "/services/data/" + s.cfg.APIVersion + "/sobjects/" + r.Object + "/" + r.ID,
		fields: fields, vals: make([]any, len(fields))}
	for i, f := range fields {
		switch f {
		case "Id":
			out.vals[i] = r.ID
		case "SystemModstamp":
			out.vals[i] = sfTime(r.Modstamp)
		case "IsDeleted":
			out.vals[i] = r.Deleted
		default:
			out.vals[i] = r.Fields[f]
		}
	}
	return out
}

func (s *Server) page(rest, base string, duplicate bool) (any, bool) {
	id, posText, ok := strings.Cut(rest, "-")
	if !ok {
		return nil, false
	}
	pos, err := strconv.Atoi(posText)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	loc, ok := s.locators[id]
	if !ok || pos > len(loc.recs) {
		return nil, false
	}
	loc.pos = pos // a retried page request reads the same page again
	return s.render(loc, id, base, loc.fields, duplicate), true
}
