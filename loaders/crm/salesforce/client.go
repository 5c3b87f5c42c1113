// Package salesforce owns the Salesforce CRM source: a REST client that runs
// SOQL through queryAll (deleted rows included) and follows nextRecordsUrl,
// keeps under a per-second request limit, backs off on the concurrent
// request limit, 5xx and timeouts (with jitter, honouring Retry-After),
// reads Sforce-Limit-Info to slow down near the org's daily allowance and
// stops, resumably, once it is used up, and a Source that sweeps Lead, Contact, Opportunity,
// OpportunityContactRole, OpportunityHistory, CampaignMember and Account by
// SystemModstamp, halving the time window when a query times out. It imports config, loaders,
// crm/record, crm/internal/httpx and internal/retry. The bearer token and
// the consumer secret are never logged.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm/internal/httpx"
)

// ErrQueryTimeout is Salesforce's QUERY_TIMEOUT: the query ran too long and
// should be narrowed, not repeated.
var ErrQueryTimeout = errors.New("salesforce: QUERY_TIMEOUT")

// ErrDailyLimit is REQUEST_LIMIT_EXCEEDED for the org's total API requests:
// the allowance is counted over a rolling 24 hours, so no backoff inside a
// run can wait it out. The sync stops; its cursor resumes it on a later run.
var ErrDailyLimit = errors.New("salesforce: the org's rolling 24-hour API request allowance is used up (REQUEST_LIMIT_EXCEEDED)")

// ErrReplicationDate is INVALID_REPLICATION_DATE from sObject Get Deleted:
// the window reaches back before what the org's delete log still holds
// (15 days at most, less once the log is purged), or is a minute or less.
var ErrReplicationDate = errors.New("salesforce: INVALID_REPLICATION_DATE")

// ErrTooManyDeleted is EXCEEDED_ID_LIMIT from sObject Get Deleted: more
// than 600,000 ids in the window, which must be narrowed.
var ErrTooManyDeleted = errors.New("salesforce: EXCEEDED_ID_LIMIT")

// APIError is a non-retryable error response.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("salesforce: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Client calls the Salesforce REST API.
type Client struct {
	base    string // instance URL
	version string
	login   *ClientCredentials
	http    *http.Client
	log     *slog.Logger
	limit   *httpx.Window
	retry   retry.Policy
	// slowDelay is added before each request while the org's daily API
	// usage is above slowAbove (a fraction of the allowance).
	slowDelay time.Duration
	slowAbove float64

	mu     sync.Mutex
	used   int64
	max    int64
	slowed bool

	// The session: token, and whether any request has succeeded with it
	// (a session the API refuses at once is not renewed). sessionMu is
	// held across a login, so that requests that all find the session
	// ended log in once.
	sessionMu sync.Mutex
	token     string
	served    bool
}

// ClientCredentials are an external client app's consumer key and secret,
// for the OAuth 2.0 client credentials flow.
type ClientCredentials struct {
	ConsumerKey    string
	ConsumerSecret string
}

// ClientOptions tune a Client; zero values take production defaults.
type ClientOptions struct {
	HTTPClient        *http.Client
	Logger            *slog.Logger
	RequestsPerWindow int           // default 10
	Window            time.Duration // default 1 s
	Backoff           retry.Policy
	SlowDelay         time.Duration // default 1 s
	SlowAbove         float64       // default 0.9
	// Login, when set, makes the client log in with the client
	// credentials flow: before its first request, and again when the
	// session ends.
	Login *ClientCredentials
}

// NewClient returns a client for the org at instanceURL.
func NewClient(instanceURL, apiVersion, token string, o ClientOptions) *Client {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 120 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestsPerWindow <= 0 {
		o.RequestsPerWindow = 10
	}
	if o.Window <= 0 {
		o.Window = time.Second
	}
	if o.Backoff.Attempts == 0 {
		o.Backoff = httpx.DefaultRetry()
	}
	if o.Backoff.Rand == nil {
		o.Backoff.Rand = retry.RandomSource()
	}
	if o.SlowDelay <= 0 {
		o.SlowDelay = time.Second
	}
	if o.SlowAbove <= 0 {
		o.SlowAbove = 0.9
	}
	return &Client{base: strings.TrimRight(instanceURL, "/"), version: apiVersion, token: token, login: o.Login, http: o.HTTPClient,
		log: o.Logger, limit: httpx.NewWindow(o.RequestsPerWindow, o.Window), retry: o.Backoff,
		slowDelay: o.SlowDelay, slowAbove: o.SlowAbove}
}

// QueryResult is one page of a query.
type QueryResult struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

// QueryAll starts a SOQL query that includes deleted and archived rows.
func (c *Client) QueryAll(ctx context.Context, soql string) (*QueryResult, error) {
	var out QueryResult
	if err := c.get(ctx, "/services/data/"+c.version+"/queryAll?q="+url.QueryEscape(soql), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletedResult is sObject Get Deleted's answer (REST API Developer Guide,
// "sObject Get Deleted"; the fields are getDeleted()'s GetDeletedResult).
type DeletedResult struct {
	DeletedRecords []DeletedRecord `json:"deletedRecords"`
	// EarliestDateAvailable is when the delete log was last purged of the
	// object's entries.
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	// LatestDateCovered is where the next window must start: deletions
	// still under way at the window's end come after it.
	LatestDateCovered string `json:"latestDateCovered"`
}

// DeletedRecord is one deletion: the record's id and SystemModstamp at
// deletion.
type DeletedRecord struct {
	ID          string `json:"id"`
	DeletedDate string `json:"deletedDate"`
}

// Deleted lists the records of object deleted in [start, end], whether
// still in the Recycle Bin or purged from it.
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) (*DeletedResult, error) {
	// ISO 8601 with an offset, as the guide's example writes it.
	const layout = "2006-01-02T15:04:05-07:00"
	path := "/services/data/" + c.version + "/sobjects/" + url.PathEscape(object) + "/deleted/?start=" +
		url.QueryEscape(start.UTC().Format(layout)) + "&end=" + url.QueryEscape(end.UTC().Format(layout))
	var out DeletedResult
	if err := c.get(ctx, path, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// More fetches the page a nextRecordsUrl names, as given: a queryAll's
// locator reads /query/, not /queryAll/, and still returns deleted rows (REST
// API Developer Guide, "QueryAll More Results").
func (c *Client) More(ctx context.Context, nextRecordsURL string) (*QueryResult, error) {
	if !strings.HasPrefix(nextRecordsURL, "/services/data/") {
		return nil, fmt.Errorf("salesforce: unexpected nextRecordsUrl %q", nextRecordsURL)
	}
	var out QueryResult
	if err := c.get(ctx, nextRecordsURL, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// APIUsage is the last Sforce-Limit-Info reading: requests used today and
// the allowance.
func (c *Client) APIUsage() (used, allowance int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.max
}

type sfError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
}

// get sends a GET and decodes a 200's body into out.
func (c *Client) get(ctx context.Context, path string, out any) error {
	op := func(ctx context.Context) error {
		if err := c.pace(ctx); err != nil {
			return err
		}
		release, err := c.limit.Acquire(ctx)
		if err != nil {
			return err
		}
		answered := false // a request without an answer may yet reach the server
		defer func() { release(answered) }()
		token, err := c.session(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
		if err != nil {
			return fmt.Errorf("salesforce: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return retry.Mark(fmt.Errorf("salesforce: GET %s: %w", shortPath(path), redact(err, token)), 0)
		}
		answered = true
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return retry.Mark(fmt.Errorf("salesforce: read %s: %w", shortPath(path), err), 0)
		}
		c.readUsage(resp.Header.Get("Sforce-Limit-Info"))
		if resp.StatusCode == http.StatusOK {
			c.sessionServed(token)
			// A body cut short on an earlier attempt may have half-filled
			// out, and decoding reuses what it finds there.
			reflect.ValueOf(out).Elem().SetZero()
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(out); err != nil {
				return retry.Mark(fmt.Errorf("salesforce: GET %s: bad JSON (%d bytes): %w", shortPath(path), len(data), err), 0)
			}
			return nil
		}
		var errs []sfError
		_ = json.Unmarshal(data, &errs)
		var e sfError
		if len(errs) > 0 {
			e = errs[0]
		}
		after := retry.RetryAfter(resp.Header, time.Now())
		switch {
		case e.ErrorCode == "INVALID_SESSION_ID" && c.sessionEnded(token):
			// A GET changes nothing: it is sent again in the new session.
			c.log.Info("salesforce session ended; logging in again")
			return retry.Mark(&APIError{Status: resp.StatusCode, Code: e.ErrorCode, Message: e.Message}, 0)
		case e.ErrorCode == "QUERY_TIMEOUT":
			return fmt.Errorf("%w: %s", ErrQueryTimeout, e.Message)
		case e.ErrorCode == "INVALID_REPLICATION_DATE":
			return fmt.Errorf("%w: %s", ErrReplicationDate, e.Message)
		case e.ErrorCode == "EXCEEDED_ID_LIMIT":
			return fmt.Errorf("%w: %s", ErrTooManyDeleted, e.Message)
		case e.ErrorCode == "REQUEST_LIMIT_EXCEEDED" && concurrencyLimit(e.Message):
			// Too many long-running requests at once: that passes as they end.
			c.log.Warn("salesforce concurrent request limit exceeded; backing off", "message", e.Message, "retry_after", after)
			return retry.Mark(&APIError{Status: resp.StatusCode, Code: e.ErrorCode, Message: e.Message}, after)
		case e.ErrorCode == "REQUEST_LIMIT_EXCEEDED":
			used, allowance := c.APIUsage()
			return fmt.Errorf("%w: %s (API usage %d/%d)", ErrDailyLimit, e.Message, used, allowance)
		case retry.TransientStatus(resp.StatusCode) || e.ErrorCode == "SERVER_UNAVAILABLE":
			return retry.Mark(&APIError{Status: resp.StatusCode, Code: e.ErrorCode, Message: e.Message}, after)
		}
		return &APIError{Status: resp.StatusCode, Code: e.ErrorCode, Message: e.Message}
	}
	return retry.Do(ctx, c.retryPolicy(), op)
}

// session returns the access token, logging in first when the client has
// credentials and no live session.
func (c *Client) session(ctx context.Context) (string, error) {
	c.sessionMu.Lock()
	defer c.sessionMu.Unlock()
	if c.token != "" || c.login == nil {
		return c.token, nil
	}
	tok, err := c.logIn(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.served = tok, false
	return tok, nil
}

// sessionServed notes that token's session answered a request.
func (c *Client) sessionServed(token string) {
	c.sessionMu.Lock()
	defer c.sessionMu.Unlock()
	if c.token == token {
		c.served = true
	}
}

// sessionEnded reports whether a request refused with INVALID_SESSION_ID
// should be sent again in a new session: the client can log in, and the
// refused session had answered before (or was already replaced). A new
// session refused at once means the app may not use the REST API.
func (c *Client) sessionEnded(token string) bool {
	c.sessionMu.Lock()
	defer c.sessionMu.Unlock()
	if c.login == nil {
		return false
	}
	if c.token != token {
		return true // another request already logged in again
	}
	if !c.served {
		return false
	}
	c.token = ""
	return true
}

// tokenAnswer is the token endpoint's answer: access_token on success,
// error and error_description on failure.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// logIn makes one attempt at the OAuth 2.0 client credentials flow
// (Salesforce Help, "OAuth 2.0 Client Credentials Flow for
// Server-to-Server Integration"): a form-encoded POST of grant_type,
// client_id and client_secret to the My Domain's /services/oauth2/token.
// It runs inside a request's retries: issuing a session changes no data,
// so a transport error or 5xx is marked to retry; an OAuth error (400,
// such as invalid_client) is not. The session has no stated expiry and no
// refresh token: it lasts the app's session timeout, and the client logs
// in again when the API says the session ended.
func (c *Client) logIn(ctx context.Context) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.login.ConsumerKey},
		"client_secret": {c.login.ConsumerSecret}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/services/oauth2/token", strings.NewReader(form))
	if err != nil {
		return "", fmt.Errorf("salesforce: log in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", retry.Mark(fmt.Errorf("salesforce: log in: %w", redact(err, c.login.ConsumerSecret)), 0)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", retry.Mark(fmt.Errorf("salesforce: log in: read the answer: %w", err), 0)
	}
	var a tokenAnswer
	_ = json.Unmarshal(data, &a)
	switch {
	case resp.StatusCode == http.StatusOK && a.AccessToken != "":
		c.log.Info("salesforce: logged in with the client credentials flow")
		return a.AccessToken, nil
	case retry.TransientStatus(resp.StatusCode):
		return "", retry.Mark(fmt.Errorf("salesforce: log in: HTTP %d", resp.StatusCode), retry.RetryAfter(resp.Header, time.Now()))
	case a.Error != "":
		return "", fmt.Errorf("salesforce: log in with the client credentials flow: HTTP %d %s: %s (check the consumer key and secret, that the app enables the client credentials flow with a run-as user, and that the instance URL is the org's My Domain)",
			resp.StatusCode, a.Error, a.Description)
	}
	return "", fmt.Errorf("salesforce: log in: HTTP %d without an access token (%d bytes)", resp.StatusCode, len(data))
}

// concurrencyLimit reports whether a REQUEST_LIMIT_EXCEEDED message names
// the concurrent long-running request limit ("ConcurrentPerOrgLongTxn Limit
// exceeded", "ConcurrentRequests (Concurrent API Requests) Limit
// exceeded"), the one REQUEST_LIMIT_EXCEEDED that ends by itself. Salesforce's
// API Request Limits and Allocations page gives the code to both limits;
// anything else (TotalRequests) is the daily allowance.
func concurrencyLimit(msg string) bool {
	return strings.HasPrefix(strings.TrimSpace(msg), "Concurrent")
}

// readUsage parses Sforce-Limit-Info and notes when usage crosses the
// slow-down threshold. The REST API Developer Guide's Limit Info Header page
// separates its fields with "; ", as in "api-usage=10018/100000;
// api-bursts=1/750" or "api-usage=25/5000;
// per-app-api-usage=17/250(appName=sample-connected-app)"; commas are
// accepted too.
func (c *Client) readUsage(h string) {
	fields := strings.FieldsFunc(h, func(r rune) bool { return r == ';' || r == ',' })
	for _, part := range fields {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "api-usage" {
			continue
		}
		u, m, ok := strings.Cut(v, "/")
		if !ok {
			continue
		}
		used, err1 := strconv.ParseInt(u, 10, 64)
		allowance, err2 := strconv.ParseInt(m, 10, 64)
		if err1 != nil || err2 != nil || allowance <= 0 {
			continue
		}
		c.mu.Lock()
		c.used, c.max = used, allowance
		slow := float64(used) >= c.slowAbove*float64(allowance)
		if slow != c.slowed {
			c.slowed = slow
			if slow {
				c.log.Warn("salesforce daily API usage high; slowing down", "used", used, "allowance", allowance)
			} else {
				c.log.Info("salesforce daily API usage back under threshold", "used", used, "allowance", allowance)
			}
		}
		c.mu.Unlock()
	}
}

// pace waits the slow-down delay while usage is high.
func (c *Client) pace(ctx context.Context) error {
	c.mu.Lock()
	slow := c.slowed
	c.mu.Unlock()
	if !slow {
		return nil
	}
	return retry.Wait(ctx, c.slowDelay)
}

// shortPath keeps SOQL text out of error messages' first line length.
func shortPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// redact removes the token from an error's text, in case a transport error
// ever echoes a header.
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[redacted]"))
}

// retryPolicy is the client's policy, logging each retry.
func (c *Client) retryPolicy() retry.Policy {
	p := c.retry
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		c.log.Debug("salesforce retry", "attempt", attempt, "wait", wait, "err", err)
	}
	return p
}
