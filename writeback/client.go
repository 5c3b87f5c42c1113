package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"
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
	attempts  int
	base, cap time.Duration
	timeout   time.Duration
	sleep     func(context.Context, time.Duration) error
	jitter    func(time.Duration) time.Duration
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

// post sends body, retrying what is worth retrying.
func (c *client) post(ctx context.Context, body []byte) result {
	var res result
	for attempt := 1; ; attempt++ {
		res.attempts = attempt
		if err := c.limiter.Wait(ctx); err != nil {
			// Nothing was sent for this attempt; an earlier attempt's
			// outcome (if any) decides.
			if attempt == 1 {
				return result{outcome: outcomeFailed, attempts: attempt, err: fmt.Errorf("waiting for the rate limit: %w", err)}
			}
			res.err = fmt.Errorf("%w (after: %v)", err, res.err)
			return res
		}
		status, retryAfter, msgs, err := c.once(ctx, body)
		switch {
		case err == nil && status/100 == 2:
			return result{outcome: outcomeSent, attempts: attempt, messages: msgs}
		case err == nil && status != http.StatusTooManyRequests && status/100 != 5:
			// 4xx: the request was read and refused; resending it as is
			// would be refused again.
			return result{outcome: outcomeFailed, attempts: attempt, err: fmt.Errorf("POST %s: HTTP %d", c.redactedURL(), status)}
		case err == nil:
			// 5xx and 429: GA4 did not take the events.
			res.outcome = outcomeFailed
			res.err = fmt.Errorf("POST %s: HTTP %d", c.redactedURL(), status)
		case !retryable(err):
			res.outcome = outcomeUnknown
			if notSent(err) && attempt == 1 {
				res.outcome = outcomeFailed
			}
			res.err = c.redact(err)
			return res
		default:
			// Timeout or broken connection: the server may have read the
			// request. Unless it is known not to have, the outcome is
			// unknown until a later attempt succeeds.
			if !notSent(err) || res.outcome == outcomeUnknown {
				res.outcome = outcomeUnknown
			} else {
				res.outcome = outcomeFailed
			}
			res.err = c.redact(err)
		}
		if attempt >= c.attempts {
			return res
		}
		wait := c.backoff(attempt)
		if retryAfter > wait {
			wait = retryAfter
		}
		if err := c.sleep(ctx, wait); err != nil {
			res.err = fmt.Errorf("%w (after: %v)", err, res.err)
			return res
		}
	}
}

// backoff is exponential with full jitter: a random wait in
// [0, min(cap, base·2^(attempt-1))], so concurrent senders do not retry in
// step.
func (c *client) backoff(attempt int) time.Duration {
	d := c.base << (attempt - 1)
	if d <= 0 || d > c.cap {
		d = c.cap
	}
	return c.jitter(d)
}

func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once makes one attempt.
func (c *client) once(ctx context.Context, body []byte) (status int, retryAfter time.Duration, msgs []ValidationMessage, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, c.redact(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, nil, err // redacted by the caller, which still needs its type
	}
	defer resp.Body.Close()
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs > 0 {
			retryAfter = min(time.Duration(secs)*time.Second, c.cap)
		}
	}
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

// retryable reports whether a transport error is worth another attempt.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the run is stopping
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true // the per-attempt timeout
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

// notSent reports whether a transport error proves the request never
// reached the server (so the events were not recorded).
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
