// Package hubspot owns the HubSpot CRM source: a client for the CRM v3
// objects API (search and list) and v4 associations that keeps under the
// account's rolling 10-second limit and the search endpoint's per-second
// limit, retries the ten-secondly and secondly 429s (honouring Retry-After),
// 5xx, timeouts and truncated bodies with backoff and jitter, stops on the
// daily limit, reads the X-HubSpot-RateLimit-* headers, surfaces a batch
// read's per-input errors, and a Source that maps contacts, deals,
// companies (with their contacts and deals), meetings and calls to
// crm/record shapes. It imports config, loaders, crm/record,
// crm/internal/httpx and internal/retry.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm/internal/httpx"
)

// Client calls the HubSpot API. It is safe for concurrent use; all callers
// share its limiters.
type Client struct {
	base    string
	token   string
	http    *http.Client
	log     *slog.Logger
	general *httpx.Window // every request
	search  *httpx.Window // search requests, on top of general
	retry   retry.Policy

	mu       sync.Mutex
	rate     RateLimit
	dailyLow bool
}

// RateLimit is the last reading of the X-HubSpot-RateLimit-* headers (API
// usage guidelines); -1 is a header the response did not carry (search
// responses carry none, OAuth apps have no daily figures).
type RateLimit struct {
	Max, Remaining           int64 // requests per Interval, and left in it
	Interval                 time.Duration
	Daily, DailyRemaining    int64
	Secondly, SecondlyRemain int64
}

// ErrDailyLimit is a 429 with policyName DAILY: the account's daily request
// allowance is used up until midnight in its time zone, so retrying within
// the run cannot help (HubSpot's official Node client retries only
// TEN_SECONDLY_ROLLING and the secondly limit). The sync stops; its cursor
// resumes it on a later run.
var ErrDailyLimit = errors.New("hubspot: the account's daily API request limit is used up (429 DAILY)")

// ClientOptions tune a Client. Zero values take production defaults.
type ClientOptions struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	// RequestsPerWindow per Window (default 100 per 10 s) limit every
	// request; SearchPerWindow per SearchWindow (default 4 per 1 s) limit
	// search requests on top.
	RequestsPerWindow int
	Window            time.Duration
	SearchPerWindow   int
	SearchWindow      time.Duration
	Backoff           retry.Policy
}

// NewClient returns a client of the API at baseURL with a private app token.
func NewClient(baseURL, token string, o ClientOptions) *Client {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.SearchWindow <= 0 {
		o.SearchWindow = time.Second
	}
	if o.RequestsPerWindow <= 0 {
		o.RequestsPerWindow = 100
	}
	if o.SearchPerWindow <= 0 {
		o.SearchPerWindow = 4
	}
	if o.Backoff.Attempts == 0 {
		o.Backoff = httpx.DefaultRetry()
	}
	if o.Backoff.Rand == nil {
		o.Backoff.Rand = retry.RandomSource()
	}
	return &Client{
		base: strings.TrimRight(baseURL, "/"), token: token, http: o.HTTPClient, log: o.Logger,
		general: httpx.NewWindow(o.RequestsPerWindow, o.Window),
		search:  httpx.NewWindow(o.SearchPerWindow, o.SearchWindow),
		retry:   o.Backoff,
	}
}

// APIError is a non-retryable error response, with everything HubSpot's
// error body says (the Error model of its OpenAPI specs).
type APIError struct {
	Status        int
	Category      string
	SubCategory   string
	Message       string
	CorrelationID string
	Context       map[string][]string
	Errors        []ErrorDetail
	Links         map[string]string
	PolicyName    string // 429s
}

// ErrorDetail is one entry of an error body's errors list.
type ErrorDetail struct {
	Message     string              `json:"message"`
	Code        string              `json:"code,omitempty"`
	In          string              `json:"in,omitempty"`
	SubCategory string              `json:"subCategory,omitempty"`
	Context     map[string][]string `json:"context,omitempty"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("hubspot:")
	if e.Status != 0 { // a batch's per-input error has no status of its own
		fmt.Fprintf(&b, " HTTP %d", e.Status)
	}
	fmt.Fprintf(&b, " %s", e.Category)
	if e.SubCategory != "" {
		fmt.Fprintf(&b, " (%s)", e.SubCategory)
	}
	if e.PolicyName != "" {
		fmt.Fprintf(&b, " policy %s", e.PolicyName)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	for _, d := range e.Errors {
		fmt.Fprintf(&b, "; %s", d.Message)
		if d.In != "" {
			fmt.Fprintf(&b, " (in %s)", d.In)
		}
	}
	if len(e.Context) > 0 {
		fmt.Fprintf(&b, "; context %v", e.Context)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " [correlationId %s]", e.CorrelationID)
	}
	return b.String()
}

// errorBody is HubSpot's error shape; 429s add errorType and policyName.
type errorBody struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Category      string              `json:"category"`
	SubCategory   any                 `json:"subCategory"` // a string, though the batch error model types it "any"
	Context       map[string][]string `json:"context"`
	Errors        []ErrorDetail       `json:"errors"`
	Links         map[string]string   `json:"links"`
	ErrorType     string              `json:"errorType"`
	PolicyName    string              `json:"policyName"`
}

func (eb *errorBody) apiError(status int) *APIError {
	sub := ""
	if eb.SubCategory != nil {
		if str, ok := eb.SubCategory.(string); ok {
			sub = str
		} else {
			b, _ := json.Marshal(eb.SubCategory)
			sub = string(b)
		}
	}
	return &APIError{Status: status, Category: eb.Category, SubCategory: sub, Message: eb.Message,
		CorrelationID: eb.CorrelationID, Context: eb.Context, Errors: eb.Errors, Links: eb.Links, PolicyName: eb.PolicyName}
}

// secondlyMessage is how the official Node client (RetryDecorator) tells the
// secondly limit's 429, which it retries along with TEN_SECONDLY_ROLLING.
const secondlyMessage = "You have reached your secondly limit."

// RateLimit returns the last X-HubSpot-RateLimit-* reading.
func (c *Client) RateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// readRateLimit keeps the headers' reading and warns once when less than a
// tenth of the daily allowance is left.
func (c *Client) readRateLimit(h http.Header) {
	num := func(name string) int64 {
		v, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
		if err != nil {
			return -1
		}
		return v
	}
	r := RateLimit{Max: num("X-HubSpot-RateLimit-Max"), Remaining: num("X-HubSpot-RateLimit-Remaining"),
		Daily: num("X-HubSpot-RateLimit-Daily"), DailyRemaining: num("X-HubSpot-RateLimit-Daily-Remaining"),
		Secondly: num("X-HubSpot-RateLimit-Secondly"), SecondlyRemain: num("X-HubSpot-RateLimit-Secondly-Remaining")}
	if ms := num("X-HubSpot-RateLimit-Interval-Milliseconds"); ms >= 0 {
		r.Interval = time.Duration(ms) * time.Millisecond
	}
	if r.Max < 0 && r.Daily < 0 && r.Secondly < 0 {
		return // a response without the headers (search) tells nothing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate = r
	low := r.Daily > 0 && r.DailyRemaining >= 0 && r.DailyRemaining*10 < r.Daily
	if low && !c.dailyLow {
		c.log.Warn("hubspot daily API allowance nearly used up", "remaining", r.DailyRemaining, "daily", r.Daily)
	}
	c.dailyLow = low
}

// do sends one request (retrying as needed) and decodes a 2xx body into out.
func (c *Client) do(ctx context.Context, method, path string, body any, isSearch bool, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("hubspot: encode request: %w", err)
		}
	}
	limiters := []*httpx.Window{c.general}
	if isSearch {
		limiters = append(limiters, c.search)
	}
	op := func(ctx context.Context) error {
		release, err := httpx.Acquire(ctx, limiters...)
		if err != nil {
			return err
		}
		answered := false // a request without an answer may yet reach the server
		defer func() { release(answered) }()
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("hubspot: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Timeouts, resets, refused connections: worth another try.
			return retry.Mark(fmt.Errorf("hubspot: %s %s: %w", method, path, err), 0)
		}
		answered = true
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return retry.Mark(fmt.Errorf("hubspot: read %s: %w", path, err), 0)
		}
		c.readRateLimit(resp.Header)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if err := json.Unmarshal(data, out); err != nil {
				// A cut-off body decodes as an error; the data is there to fetch again.
				return retry.Mark(fmt.Errorf("hubspot: %s %s: bad JSON (%d bytes): %w", method, path, len(data), err), 0)
			}
			return nil
		}
		var eb errorBody
		_ = json.Unmarshal(data, &eb)
		after := retry.RetryAfter(resp.Header, time.Now())
		if resp.StatusCode == http.StatusTooManyRequests {
			switch {
			case eb.PolicyName == "TEN_SECONDLY_ROLLING" || eb.PolicyName == "SECONDLY" || eb.Message == secondlyMessage:
				c.log.Warn("hubspot rate limited", "path", path, "policy", eb.PolicyName, "retry_after", after)
				return retry.Mark(fmt.Errorf("hubspot: %s %s: HTTP 429 %s", method, path, eb.Message), after)
			case eb.PolicyName == "DAILY":
				return fmt.Errorf("%w: %s", ErrDailyLimit, eb.Message)
			}
			return eb.apiError(resp.StatusCode)
		}
		if retry.TransientStatus(resp.StatusCode) {
			return retry.Mark(fmt.Errorf("hubspot: %s %s: HTTP %d %s", method, path, resp.StatusCode, eb.Message), after)
		}
		return eb.apiError(resp.StatusCode)
	}
	return retry.Do(ctx, c.retryPolicy(), op)
}

// Object is one CRM record as the v3 API returns it. Property values are
// strings; null decodes as "" (the same NULL to SAM), which spares a
// pointer per value on the hot path.
type Object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"createdAt,omitempty"`
	UpdatedAt  string            `json:"updatedAt,omitempty"`
	Archived   bool              `json:"archived,omitempty"`
	ArchivedAt string            `json:"archivedAt,omitempty"`
}

// Prop returns a property value, "" for absent or null.
func (o *Object) Prop(name string) string { return o.Properties[name] }

// Filter is one search filter.
type Filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value,omitempty"`
}

// FilterGroup ANDs its filters; groups are ORed.
type FilterGroup struct {
	Filters []Filter `json:"filters"`
}

// Sort orders search results.
type Sort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// SearchRequest is the body of POST /crm/v3/objects/{type}/search.
type SearchRequest struct {
	FilterGroups []FilterGroup `json:"filterGroups,omitempty"`
	Sorts        []Sort        `json:"sorts,omitempty"`
	Properties   []string      `json:"properties,omitempty"`
	Limit        int           `json:"limit"`
	After        string        `json:"after,omitempty"`
}

// Page is a page of objects.
type Page struct {
	Total   int      `json:"total"`
	Results []Object `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

// NextAfter is the paging token of the next page, or "".
func (p *Page) NextAfter() string {
	if p.Paging == nil || p.Paging.Next == nil {
		return ""
	}
	return p.Paging.Next.After
}

// Search runs one search request.
func (c *Client) Search(ctx context.Context, objectType string, req SearchRequest) (*Page, error) {
	var p Page
	if err := c.do(ctx, http.MethodPost, "/crm/v3/objects/"+objectType+"/search", req, true, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// List reads one page of GET /crm/v3/objects/{type}; archived selects the
// archived (deleted) records instead of the live ones.
func (c *Client) List(ctx context.Context, objectType string, properties []string, limit int, after string, archived bool) (*Page, error) {
	q := fmt.Sprintf("/crm/v3/objects/%s?limit=%d&archived=%t&properties=%s", objectType, limit, archived, strings.Join(properties, ","))
	if after != "" {
		q += "&after=" + after
	}
	var p Page
	if err := c.do(ctx, http.MethodGet, q, nil, false, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// associationBatch is the most inputs a v4 associations batch read takes
// (HubSpot changelog, "Batch read limit for HubSpot associations API": 100
// from 6 January 2024).
const associationBatch = 100

// noAssociations is the subCategory of a batch read's error for an input
// with nothing associated: an answer ("none"), not a failure.
const noAssociations = "crm.associations.NO_ASSOCIATIONS_FOUND"

// BatchError is a batch read's 207 Multi-Status carrying errors other than
// "no associations": some inputs were not read, so their records must not be
// taken as having none.
type BatchError struct {
	Path      string
	NumErrors int
	Errors    []*APIError
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hubspot: POST %s: %d of the batch's inputs failed", e.Path, e.NumErrors)
	for i, x := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-i)
			break
		}
		fmt.Fprintf(&b, "; %s", strings.TrimPrefix(x.Error(), "hubspot: "))
	}
	return b.String()
}

// Associations reads the associations of many records of fromType to
// toType (v4 batch read, at most 100 inputs a request): from id → to ids.
// A record with no associations is absent from the map; any other per-input
// error fails the read with a *BatchError.
func (c *Client) Associations(ctx context.Context, fromType, toType string, ids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), associationBatch)
		if err := c.associations(ctx, fromType, toType, ids[:n], out); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

func (c *Client) associations(ctx context.Context, fromType, toType string, ids []string, out map[string][]string) error {
	type input struct {
		ID string `json:"id"`
	}
	body := struct {
		Inputs []input `json:"inputs"`
	}{}
	for _, id := range ids {
		body.Inputs = append(body.Inputs, input{ID: id})
	}
	// The 200 and 207 answers (BatchResponsePublicAssociationMulti and
	// ...WithErrors in HubSpot's associations v4 spec).
	var resp struct {
		Status    string      `json:"status"`
		NumErrors int         `json:"numErrors"`
		Errors    []errorBody `json:"errors"`
		Results   []struct {
			From struct {
				ID string `json:"id"`
			} `json:"from"`
			To []struct {
				ToObjectID json.Number `json:"toObjectId"`
			} `json:"to"`
			Paging *struct {
				Next *struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		} `json:"results"`
	}
	path := "/crm/v4/associations/" + fromType + "/" + toType + "/batch/read"
	if err := c.do(ctx, http.MethodPost, path, body, false, &resp); err != nil {
		return err
	}
	var failed []*APIError
	for i := range resp.Errors {
		if e := resp.Errors[i].apiError(0); e.SubCategory != noAssociations {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		return &BatchError{Path: path, NumErrors: max(resp.NumErrors, len(failed)), Errors: failed}
	}
	for _, r := range resp.Results {
		for _, t := range r.To {
			out[r.From.ID] = append(out[r.From.ID], t.ToObjectID.String())
		}
		if r.Paging != nil && r.Paging.Next != nil {
			more, err := c.moreAssociations(ctx, fromType, toType, r.From.ID, r.Paging.Next.After)
			if err != nil {
				return err
			}
			out[r.From.ID] = append(out[r.From.ID], more...)
		}
	}
	return nil
}

// moreAssociations pages GET /crm/v4/objects/{from}/{id}/associations/{to}
// for a record with more associations than a batch read returns.
func (c *Client) moreAssociations(ctx context.Context, fromType, toType, id, after string) ([]string, error) {
	var ids []string
	for after != "" {
		var resp struct {
			Results []struct {
				ToObjectID json.Number `json:"toObjectId"`
			} `json:"results"`
			Paging *struct {
				Next *struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		path := fmt.Sprintf("/crm/v4/objects/%s/%s/associations/%s?limit=500&after=%s", fromType, id, toType, after)
		if err := c.do(ctx, http.MethodGet, path, nil, false, &resp); err != nil {
			return nil, err
		}
		for _, r := range resp.Results {
			ids = append(ids, r.ToObjectID.String())
		}
		after = ""
		if resp.Paging != nil && resp.Paging.Next != nil {
			after = resp.Paging.Next.After
		}
	}
	return ids, nil
}

// IsAuthError reports whether err is HubSpot refusing the token.
func IsAuthError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

// retryPolicy is the client's policy, logging each retry.
func (c *Client) retryPolicy() retry.Policy {
	p := c.retry
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		c.log.Debug("hubspot retry", "attempt", attempt, "wait", wait, "err", err)
	}
	return p
}
