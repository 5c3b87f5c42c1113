// Package hubspot owns the HubSpot CRM source: a client for the CRM v3
// objects API (search and list) and v4 associations that keeps under the
// account's rolling 10-second limit and the search endpoint's per-second
// limit, retries 429s (honouring Retry-After), 5xx, timeouts and truncated
// bodies with backoff and jitter, and a Source that maps contacts and deals
// to crm/record shapes. It imports config, loaders, crm/record,
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
	"strings"
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
}

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

// APIError is a non-retryable error response.
type APIError struct {
	Status   int
	Category string
	Message  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("hubspot: HTTP %d %s: %s", e.Status, e.Category, e.Message)
}

// errorBody is HubSpot's error shape (429s add errorType and policyName).
type errorBody struct {
	Status     string `json:"status"`
	Message    string `json:"message"`
	Category   string `json:"category"`
	ErrorType  string `json:"errorType"`
	PolicyName string `json:"policyName"`
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
		defer release()
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
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return retry.Mark(fmt.Errorf("hubspot: read %s: %w", path, err), 0)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if err := json.Unmarshal(data, out); err != nil {
				// A cut-off body decodes as an error; the data is there to fetch again.
				return retry.Mark(fmt.Errorf("hubspot: %s %s: bad JSON (%d bytes): %w", method, path, len(data), err), 0)
			}
			return nil
		}
		var eb errorBody
		_ = json.Unmarshal(data, &eb)
		if retry.TransientStatus(resp.StatusCode) {
			after := retry.RetryAfter(resp.Header, time.Now())
			if resp.StatusCode == http.StatusTooManyRequests {
				c.log.Warn("hubspot rate limited", "path", path, "policy", eb.PolicyName, "retry_after", after)
			}
			return retry.Mark(fmt.Errorf("hubspot: %s %s: HTTP %d %s", method, path, resp.StatusCode, eb.Message), after)
		}
		return &APIError{Status: resp.StatusCode, Category: eb.Category, Message: eb.Message}
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

// Associations reads the associations of many records of fromType to
// toType (v4 batch read): from id → to ids.
func (c *Client) Associations(ctx context.Context, fromType, toType string, ids []string) (map[string][]string, error) {
	type input struct {
		ID string `json:"id"`
	}
	body := struct {
		Inputs []input `json:"inputs"`
	}{}
	for _, id := range ids {
		body.Inputs = append(body.Inputs, input{ID: id})
	}
	var resp struct {
		Results []struct {
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
	if err := c.do(ctx, http.MethodPost, "/crm/v4/associations/"+fromType+"/"+toType+"/batch/read", body, false, &resp); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(resp.Results))
	for _, r := range resp.Results {
		for _, t := range r.To {
			out[r.From.ID] = append(out[r.From.ID], t.ToObjectID.String())
		}
		if r.Paging != nil && r.Paging.Next != nil {
			more, err := c.moreAssociations(ctx, fromType, toType, r.From.ID, r.Paging.Next.After)
			if err != nil {
				return nil, err
			}
			out[r.From.ID] = append(out[r.From.ID], more...)
		}
	}
	return out, nil
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
