package linkedin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// maxAnswer bounds what is read of one response (5,000 element statuses
// with errors fit easily).
const maxAnswer = 8 << 20

// Send implements activation.Destination: one BATCH_CREATE for the batch,
// retried for the events whose fate is open, and one outcome per event.
// The package doc has the mapping.
func (d *Destination) Send(ctx context.Context, batch []activation.Event) []activation.Outcome {
	out := make([]activation.Outcome, len(batch))
	els := make([]element, len(batch))
	var pending []int // indexes of events still without an outcome
	now := d.opts.Now()
	for i, e := range batch {
		el, dec := d.build(e, now)
		switch {
		case dec.Send():
			els[i] = el
			pending = append(pending, i)
		case dec.Status == activation.StatusRejected:
			out[i] = activation.Outcome{Status: activation.StatusRejected, Detail: dec.Reason}
		default:
			// Checked by the runner but no longer sendable (it expired
			// while queued): not sent, and the next run records why.
			out[i] = activation.Outcome{Status: activation.StatusFailed, Detail: "not sent: " + dec.Reason}
		}
	}
	if len(pending) == 0 {
		return out
	}
	if d.opts.ValidateOnly {
		detail := "validate mode: payload valid; not sent (LinkedIn has no test mode)"
		if _, err := json.Marshal(batchBody{Elements: pick(els, pending)}); err != nil {
			detail = "validate mode: payload does not encode"
		}
		for _, i := range pending {
			out[i] = activation.Outcome{Status: activation.StatusFailed, Detail: detail}
		}
		return out
	}

	maybe := make([]bool, len(batch)) // an attempt may have delivered the event
	last := make([]string, len(batch))
	tok, err := d.tokens.token(ctx)
	if err != nil {
		for _, i := range pending {
			out[i] = activation.Outcome{Status: activation.StatusFailed, Detail: "not sent: no access token: " + err.Error()}
		}
		return out
	}
	attempts := 0
	renewed := false
	p := d.opts.Retry
	p.Retryable = retryable
	err = retry.Do(ctx, p, func(ctx context.Context) error {
		attempts++
		a := d.attempt(ctx, tok, pick(els, pending))
		// A 401 refuses the request whole, before anything of it is
		// processed (settle), so it is sent again once with a new token.
		if a.status == http.StatusUnauthorized && d.tokens.renews() && !renewed {
			renewed = true
			fresh, err := d.tokens.renew(ctx, tok)
			if err != nil {
				for _, i := range pending {
					last[i] = "refused: " + describe("HTTP", a.status, &a.body) + "; no new access token: " + err.Error()
				}
				return &attemptErr{msg: err.Error()}
			}
			tok = fresh
			a = d.attempt(ctx, tok, pick(els, pending))
		}
		var err error
		pending, err = d.settle(a, pending, out, maybe, last)
		return err
	})
	if err != nil && len(pending) > 0 && ctx.Err() != nil {
		for _, i := range pending {
			if last[i] == "" {
				last[i] = "not sent"
			}
			last[i] += "; the run was stopped"
		}
	}
	for _, i := range pending {
		st := activation.StatusFailed
		if maybe[i] {
			st = activation.StatusUnknown
		}
		detail := last[i]
		if attempts > 1 {
			detail = fmt.Sprintf("%s (after %d attempts)", detail, attempts)
		}
		out[i] = activation.Outcome{Status: st, Detail: detail}
	}
	return out
}

func pick(els []element, idx []int) []element {
	out := make([]element, len(idx))
	for j, i := range idx {
		out[j] = els[i]
	}
	return out
}

// answer is what one attempt learnt.
type answer struct {
	wrote    bool // the request went out: it may have arrived
	status   int  // 0 without a response
	header   http.Header
	elements []elementStatus // a readable BATCH_CREATE answer
	body     errorBody       // an error answer, if readable
	err      error           // no (complete) answer
}

// elementStatus is one entry of a BATCH_CREATE answer.
type elementStatus struct {
	Status int        `json:"status"`
	Error  *errorBody `json:"error"`
}

// errorBody is LinkedIn's error shape.
type errorBody struct {
	Status           int    `json:"status"`
	ServiceErrorCode int    `json:"serviceErrorCode"`
	Code             string `json:"code"`
	Message          string `json:"message"`
}

// attempt makes one request for els, after the limiter allows it.
func (d *Destination) attempt(ctx context.Context, token string, els []element) answer {
	body, err := json.Marshal(batchBody{Elements: els})
	if err != nil {
		return answer{err: fmt.Errorf("encode the request: %w", err)}
	}
	if err := d.limiter.Wait(ctx); err != nil {
		return answer{err: fmt.Errorf("wait for the rate limiter: %w", err)}
	}
	ctx, cancel := retry.InFlight(ctx, d.opts.Timeout, d.opts.StopGrace)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.opts.BaseURL+"/conversionEvents", bytes.NewReader(body))
	if err != nil {
		return answer{err: fmt.Errorf("build the request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("LinkedIn-Version", d.opts.Version)
	req.Header.Set("X-Restli-Protocol-Version", "2.0.0")
	req.Header.Set("X-RestLi-Method", "BATCH_CREATE")
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.opts.HTTPClient.Do(req)
	if err != nil {
		return answer{wrote: wrote.Load(), err: transportErr(err, d.opts.Timeout)}
	}
	defer resp.Body.Close()
	a := answer{wrote: true, status: resp.StatusCode, header: resp.Header}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		a.err = fmt.Errorf("HTTP %d, then %w", resp.StatusCode, transportErr(err, d.opts.Timeout))
		return a
	}
	if resp.StatusCode == http.StatusOK {
		var b struct {
			Elements []elementStatus `json:"elements"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || len(b.Elements) != len(els) {
			a.err = fmt.Errorf("HTTP 200 with an unreadable answer for %d events", len(els))
			return a
		}
		a.elements = b.Elements
		return a
	}
	_ = json.Unmarshal(raw, &a.body) // the status says enough when it is not JSON
	return a
}

// transportErr describes a failed round trip without the URL (and so
// without anything but the host).
func transportErr(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded)
		}
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded)
	}
	return err
}

// attemptErr says what the retry predicate needs to know about an attempt
// that left events open.
type attemptErr struct {
	retry bool
	after time.Duration
	msg   string
}

func (e *attemptErr) Error() string { return e.msg }

func retryable(err error) (bool, time.Duration) {
	var a *attemptErr
	if errors.As(err, &a) {
		return a.retry, a.after
	}
	return false, 0
}

// settle records what attempt a decided for the pending events and returns
// the ones still open, with an error saying whether to try them again.
// Retrying an event that may already have arrived is safe because LinkedIn
// deduplicates its eventId.
func (d *Destination) settle(a answer, pending []int, out []activation.Outcome, maybe []bool, last []string) ([]int, error) {
	all := func(detail string, mayHaveArrived bool) {
		for _, i := range pending {
			last[i] = detail
			maybe[i] = maybe[i] || mayHaveArrived
		}
	}
	switch {
	case a.elements != nil:
		var open []int
		for j, i := range pending {
			es := a.elements[j]
			switch {
			case es.Status/100 == 2:
				out[i] = activation.Outcome{Status: activation.StatusAccepted}
			case es.Status == http.StatusTooManyRequests:
				last[i] = describe("element", es.Status, es.Error)
				open = append(open, i)
			case es.Status >= 500:
				last[i] = describe("element", es.Status, es.Error)
				maybe[i] = true
				open = append(open, i)
			default:
				out[i] = activation.Outcome{Status: activation.StatusRejected, Detail: describe("element", es.Status, es.Error)}
			}
		}
		if len(open) == 0 {
			return nil, nil
		}
		return open, &attemptErr{retry: true, msg: fmt.Sprintf("%d events without a definite answer", len(open))}
	case a.err != nil:
		if !a.wrote {
			all("not sent: "+a.err.Error(), false)
		} else {
			all("may have arrived: "+a.err.Error(), true)
		}
		return pending, &attemptErr{retry: true, msg: a.err.Error()}
	case a.status == http.StatusTooManyRequests:
		detail := describe("HTTP", a.status, &a.body)
		all(detail, false)
		// LinkedIn's throttling message names the window that ran out; a
		// day's limit does not lift within a run.
		day := strings.Contains(a.body.Message, " DAY ")
		return pending, &attemptErr{retry: !day, after: retry.RetryAfter(a.header, d.opts.Now()), msg: detail}
	case a.status >= 500:
		detail := describe("HTTP", a.status, &a.body)
		all("may have arrived: "+detail, true)
		return pending, &attemptErr{retry: true, msg: detail}
	default:
		// Refused whole before anything was processed (401, 403, 400...).
		detail := describe("HTTP", a.status, &a.body)
		if a.status == http.StatusForbidden {
			detail += noPermission
		}
		all("refused: "+detail, false)
		return pending, &attemptErr{msg: detail}
	}
}

// noPermission says what a 403 asks of the operator. The Conversions API
// takes a call on two conditions (its documentation, Permissions), and
// LinkedIn's 403 ("Not enough permissions to access") does not say which
// one failed.
const noPermission = "; the token needs the scopes rw_conversions and r_ads, and the member who authorized it one of the roles" +
	" ACCOUNT_BILLING_ADMIN, ACCOUNT_MANAGER, CAMPAIGN_MANAGER or CREATIVE_MANAGER on the ad account of the conversion rules" +
	" (VIEWER is not enough): authorize SAM again as such a member, with those scopes"

// describe renders LinkedIn's answer for the ledger: status, code and the
// message with anything that could identify a person taken out.
func describe(what string, status int, b *errorBody) string {
	s := fmt.Sprintf("%s %d", what, status)
	if b == nil {
		return s
	}
	if b.Code != "" {
		s += " " + b.Code
	}
	if m := redact(b.Message); m != "" {
		s += ": " + m
	}
	return s
}

var identifierLike = []*regexp.Regexp{
	regexp.MustCompile(`\S*@\S*`),                       // emails, written any way with an @
	regexp.MustCompile(`[0-9A-Fa-f-]{16,}`),             // hashes, UUIDs
	regexp.MustCompile(`\+?[0-9][0-9 ().\-/]{5,}[0-9]`), // phone numbers, long ids
	regexp.MustCompile(`(?i)bearer\s+\S+`),              // a token echoed back
}

// redact drops identifier-like runs from a vendor message and bounds it.
func redact(m string) string {
	for _, re := range identifierLike {
		m = re.ReplaceAllString(m, "…")
	}
	m = strings.Join(strings.Fields(m), " ")
	if r := []rune(m); len(r) > 200 {
		m = string(r[:200]) + "…"
	}
	return m
}
