package ga4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/internal/retry"
)

// outcome is what one request came to after its retries.
type outcome int

const (
	outcomeSent    outcome = iota // 2xx
	outcomeFailed                 // definitely not recorded: safe to send again
	outcomeUnknown                // may or may not have been recorded
)

// ValidationMessage is one problem reported by /debug/mp/collect.
type ValidationMessage struct {
	FieldPath      string `json:"fieldPath"`
	Description    string `json:"description"`
	ValidationCode string `json:"validationCode"`
}

// client posts payloads to one Measurement Protocol endpoint.
type client struct {
	http      *http.Client
	endpoint  string // base URL, no trailing slash
	path      string // /mp/collect or /debug/mp/collect
	measureID string
	secret    string
	limiter   *rate.Limiter
	retry     retry.Policy // the attempts after one that did not reach GA4
	timeout   time.Duration
	grace     time.Duration // how long a request under way may finish once the run stops
}

// target is the full URL with the secret; it must never be logged.
func (c *client) target() string {
	q := url.Values{}
	q.Set("measurement_id", c.measureID)
	if c.secret != "" {
		q.Set("api_secret", c.secret)
	}
	return c.endpoint + c.path + "?" + q.Encode()
}

// redactedURL is the URL as it may appear in logs and errors.
func (c *client) redactedURL() string {
	q := url.Values{}
	q.Set("measurement_id", c.measureID)
	if c.secret != "" {
		q.Set("api_secret", "REDACTED")
	}
	return c.endpoint + c.path + "?" + q.Encode()
}

// redact removes the secret from an error's text. net/http's *url.Error
// quotes the request URL, secret included, so it is rebuilt rather than
// wrapped; anything else that still mentions the secret is flattened.
func (c *client) redact(err error) error {
	if err == nil || c.secret == "" {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: c.redactedURL(), Err: ue.Err}
	}
	msg := err.Error()
	if strings.Contains(msg, c.secret) || strings.Contains(msg, url.QueryEscape(c.secret)) {
		msg = strings.ReplaceAll(msg, c.secret, "REDACTED")
		msg = strings.ReplaceAll(msg, url.QueryEscape(c.secret), "REDACTED")
		return errors.New(msg)
	}
	return err
}

// result of one post.
type result struct {
	outcome  outcome
	attempts int
	messages []ValidationMessage // validate mode
	err      error               // last error, redacted
}

// post sends body once, and again only while every earlier attempt
// provably did not reach GA4 (see the package doc): Measurement Protocol
// does not deduplicate, so a request the server may have read is never
// sent a second time, and its outcome is unknown.
func (c *client) post(ctx context.Context, body []byte) result {
	var res result
	p := c.retry
	p.Retryable = func(err error) (bool, time.Duration) {
		var nr *notReceived
		if errors.As(err, &nr) {
			return true, nr.after
		}
		return false, 0
	}
	err := retry.Do(ctx, p, func(ctx context.Context) error {
		if err := c.limiter.Wait(ctx); err != nil {
			// Nothing was sent for this attempt; the earlier attempts
			// (none, or refused ones) decide the outcome.
			res.outcome = outcomeFailed
			return fmt.Errorf("waiting for the rate limit: %w", err)
		}
		res.attempts++
		status, retryAfter, msgs, err := c.once(ctx, body)
		switch {
		case err == nil && status/100 == 2:
			res.outcome, res.messages = outcomeSent, msgs
			return nil
		case err == nil && status == http.StatusTooManyRequests:
			// GA4 refused the request before processing it.
			res.outcome = outcomeFailed
			return &notReceived{fmt.Errorf("POST %s: HTTP %d", c.redactedURL(), status), retryAfter}
		case err == nil && status/100 == 5:
			// The server read the request and failed somewhere: it may
			// have recorded the events.
			res.outcome = outcomeUnknown
			return fmt.Errorf("POST %s: HTTP %d", c.redactedURL(), status)
		case err == nil:
			// 4xx: the request was read and refused; resending it as is
			// would be refused again.
			res.outcome = outcomeFailed
			return fmt.Errorf("POST %s: HTTP %d", c.redactedURL(), status)
		case notSent(err):
			res.outcome = outcomeFailed
			return &notReceived{c.redact(err), 0}
		default:
			// A timeout or a broken connection after the request may have
			// been written: the server may have read it.
			res.outcome = outcomeUnknown
			return c.redact(err)
		}
	})
	res.err = err
	return res
}

// notReceived is a failed attempt that provably did not reach GA4, so it
// is safe to make again.
type notReceived struct {
	err   error
	after time.Duration // the server's Retry-After
}

func (e *notReceived) Error() string { return e.err.Error() }
func (e *notReceived) Unwrap() error { return e.err }

// once makes one attempt.
func (c *client) once(ctx context.Context, body []byte) (status int, retryAfter time.Duration, msgs []ValidationMessage, err error) {
	ctx, cancel := retry.InFlight(ctx, c.timeout, c.grace)
	defer cancel()
	if err := ctx.Err(); err != nil {
		// The run stopped before the attempt began (InFlight's context has
		// ended only then). Go's transport would return before asking for
		// a connection, which the trace cannot tell from a request written.
		return 0, 0, nil, &noConnError{fmt.Errorf("the run stopped before the request was sent: %w", context.Cause(ctx))}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, c.redact(err)
	}
	req.Header.Set("Content-Type", "application/json")
	var conn connTrace
	req = req.WithContext(httptrace.WithClientTrace(ctx, conn.trace()))
	resp, err := c.http.Do(req)
	if err != nil {
		if conn.asked.Load() && !conn.got.Load() {
			// The transport never had a connection to write to.
			err = &noConnError{err}
		}
		return 0, 0, nil, err // redacted by the caller, which still needs its type
	}
	defer resp.Body.Close()
	retryAfter = retry.RetryAfter(resp.Header, time.Now())
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return resp.StatusCode, retryAfter, nil, nil
	}
	if c.path == debugPath && resp.StatusCode/100 == 2 {
		var vr struct {
			ValidationMessages []ValidationMessage `json:"validationMessages"`
		}
		if err := json.Unmarshal(data, &vr); err != nil {
			return resp.StatusCode, 0, nil, fmt.Errorf("validation server answered with something other than validationMessages: %w", err)
		}
		msgs = vr.ValidationMessages
	}
	return resp.StatusCode, retryAfter, msgs, nil
}

const (
	collectPath = "/mp/collect"
	debugPath   = "/debug/mp/collect"
)

// connTrace notes whether the transport asked for a connection and got
// one. A transport that reports neither (a test's RoundTripper) proves
// nothing either way.
type connTrace struct{ asked, got atomic.Bool }

func (t *connTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { t.asked.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { t.got.Store(true) },
	}
}

// noConnError is a request that failed before it had a connection.
type noConnError struct{ err error }

func (e *noConnError) Error() string { return e.err.Error() }
func (e *noConnError) Unwrap() error { return e.err }

// notSent reports whether a transport error proves the request never
// reached the server: no connection was had (a DNS failure, a refused or
// failed dial, a failed TLS handshake). Go's transport itself resends a
// request it knows it wrote nothing of on a reused connection; what it
// returns is never known to be unsent, so it is not retried here.
func notSent(err error) bool {
	var nc *noConnError
	if errors.As(err, &nc) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
