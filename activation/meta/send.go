package meta

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
	"strings"
	"sync/atomic"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// The CRM payload (Conversion Leads payload specification).
type payload struct {
	Data          []crmEvent `json:"data"`
	TestEventCode string     `json:"test_event_code,omitempty"`
}

type crmEvent struct {
	EventName    string     `json:"event_name"`
	EventTime    int64      `json:"event_time"`
	EventID      string     `json:"event_id"`
	ActionSource string     `json:"action_source"`
	UserData     userData   `json:"user_data"`
	CustomData   customData `json:"custom_data"`
}

type userData struct {
	// LeadID is a JSON number: the specification's lead_id is an integer,
	// and json.Number keeps all 16 digits.
	LeadID json.Number `json:"lead_id,omitempty"`
	Email  []string    `json:"em,omitempty"`
}

type customData struct {
	EventSource     string   `json:"event_source"`
	LeadEventSource string   `json:"lead_event_source"`
	Value           *float64 `json:"value,omitempty"`
	Currency        string   `json:"currency,omitempty"`
}

func (d *Destination) body(batch []activation.Event, idx []int) ([]byte, error) {
	p := payload{Data: make([]crmEvent, len(idx)), TestEventCode: d.opts.TestEventCode}
	for j, i := range idx {
		e := batch[i]
		ce := crmEvent{
			EventName:    d.opts.EventNames[e.Stage],
			EventTime:    e.EventAt.Unix(),
			EventID:      eventID(e.Key),
			ActionSource: "system_generated",
			UserData:     userData{LeadID: json.Number(e.MetaLeadID)},
			CustomData:   customData{EventSource: "crm", LeadEventSource: d.opts.LeadEventSource},
		}
		if e.EmailSHA256 != "" {
			ce.UserData.Email = []string{e.EmailSHA256}
		}
		if e.Currency != "" {
			v := e.Value
			ce.CustomData.Value, ce.CustomData.Currency = &v, e.Currency
		}
		p.Data[j] = ce
	}
	return json.Marshal(p)
}

// class is what one attempt, or a request after its retries, came to.
type class int

const (
	classOK        class = iota // 200: processed
	classInvalid                // the batch was refused as invalid; nothing processed
	classThrottled              // rate limited; nothing processed
	classRefused                // refused before processing (token, permission, path)
	classNotSent                // the request was never written
	classAmbiguous              // may have been processed
)

// attempt is one attempt's result; as an error it carries the retry
// decision for retry.Do.
type attempt struct {
	class    class
	after    time.Duration // the server's wait, when throttled
	detail   string
	received int // events_received of a 200
}

func (a *attempt) Error() string { return a.detail }

func retryable(err error) (bool, time.Duration) {
	var a *attempt
	if !errors.As(err, &a) {
		return false, 0
	}
	switch a.class {
	case classThrottled:
		return true, a.after
	case classAmbiguous, classNotSent:
		// Ambiguous is safe to repeat only because Meta deduplicates the
		// event_name + event_id this request carries.
		return true, 0
	}
	return false, 0
}

// Send implements activation.Destination.
func (d *Destination) Send(ctx context.Context, batch []activation.Event) []activation.Outcome {
	out := make([]activation.Outcome, len(batch))
	now := d.opts.Now()
	idx := make([]int, 0, len(batch))
	for i, e := range batch {
		if now.Sub(e.EventAt) > MaxEventAge {
			// One such event would sink the batch; the next run's Check
			// records it as expired.
			out[i] = activation.Outcome{Status: activation.StatusFailed, Detail: "event_time passed Meta's 7-day limit before the request; not sent"}
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) > 0 {
		d.deliver(ctx, batch, idx, out, false)
	}
	return out
}

// deliver sends the events batch[idx] and fills their outcomes. A batch
// Meta refuses as invalid is split in halves until the refused events
// stand alone. tainted says an earlier attempt for these events may have
// been processed, so no definite "not processed" may be reported for them.
func (d *Destination) deliver(ctx context.Context, batch []activation.Event, idx []int, out []activation.Outcome, tainted bool) {
	set := func(s activation.Status, detail string) {
		for _, i := range idx {
			out[i] = activation.Outcome{Status: s, Detail: detail}
		}
	}
	body, err := d.body(batch, idx)
	if err != nil {
		set(activation.StatusFailed, "meta: build the request: "+err.Error())
		return
	}
	a, ambiguous := d.post(ctx, body)
	tainted = tainted || ambiguous
	switch a.class {
	case classOK:
		if a.received != len(idx) {
			set(activation.StatusUnknown, fmt.Sprintf("meta: Meta reported %d of %d events received", a.received, len(idx)))
			return
		}
		detail := ""
		if d.opts.TestEventCode != "" {
			detail = "test event: validated by Meta, no business effect"
		}
		set(activation.StatusAccepted, detail)
	case classInvalid:
		if len(idx) > 1 && ctx.Err() == nil {
			h := len(idx) / 2
			d.deliver(ctx, batch, idx[:h], out, tainted)
			d.deliver(ctx, batch, idx[h:], out, tainted)
			return
		}
		if tainted {
			set(activation.StatusUnknown, a.detail+" after an attempt that may have been processed")
			return
		}
		set(activation.StatusRejected, a.detail)
	case classAmbiguous:
		set(activation.StatusUnknown, a.detail)
	default:
		if tainted {
			set(activation.StatusUnknown, a.detail+" after an attempt that may have been processed")
			return
		}
		set(activation.StatusFailed, a.detail)
	}
}

// post sends one request body with retries and returns the last attempt,
// and whether any attempt may have been processed without a definite
// answer.
func (d *Destination) post(ctx context.Context, body []byte) (*attempt, bool) {
	var (
		last      *attempt
		ambiguous bool
		n         int
	)
	p := d.opts.Retry
	p.Retryable = retryable
	err := retry.Do(ctx, p, func(ctx context.Context) error {
		n++
		last = d.once(ctx, body)
		if last.class == classAmbiguous {
			ambiguous = true
		}
		if last.class == classOK {
			return nil
		}
		return last
	})
	if last == nil {
		// retry.Do always calls op once; this guards a future change.
		last = &attempt{class: classNotSent, detail: "meta: no attempt was made"}
	}
	if err != nil && n > 1 {
		last = &attempt{class: last.class, after: last.after, detail: fmt.Sprintf("%s (attempt %d of %d)", last.detail, n, max(p.Attempts, 1)), received: last.received}
	}
	if err != nil && ctx.Err() != nil && last.class != classAmbiguous {
		last.detail += " (stopped: " + ctx.Err().Error() + ")"
	}
	return last, ambiguous
}

// once makes one attempt.
func (d *Destination) once(ctx context.Context, body []byte) *attempt {
	if err := d.limiter.Wait(ctx); err != nil {
		return &attempt{class: classNotSent, detail: "meta: request not sent: rate limiter: " + err.Error()}
	}
	actx, cancel := retry.InFlight(ctx, d.opts.Timeout, d.opts.StopGrace)
	defer cancel()
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return &attempt{class: classRefused, detail: "meta: build the request: " + transportError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.opts.AccessToken)
	resp, err := d.opts.HTTPClient.Do(req)
	if err != nil {
		if wrote.Load() {
			return &attempt{class: classAmbiguous, detail: "meta: no answer after the request was sent: " + transportError(err)}
		}
		return &attempt{class: classNotSent, detail: "meta: request not sent: " + transportError(err)}
	}
	defer resp.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return classify(resp, raw, rerr, d.opts.Now())
}

// graphError is the Graph API error object.
type graphError struct {
	Error struct {
		Code        int    `json:"code"`
		Subcode     int    `json:"error_subcode"`
		IsTransient bool   `json:"is_transient"`
		FbtraceID   string `json:"fbtrace_id"`
	} `json:"error"`
}

// classify maps one answer to an attempt.
func classify(resp *http.Response, raw []byte, readErr error, now time.Time) *attempt {
	status := resp.StatusCode
	if status == http.StatusOK {
		var ok struct {
			EventsReceived *int `json:"events_received"`
		}
		if readErr != nil || json.Unmarshal(raw, &ok) != nil || ok.EventsReceived == nil {
			return &attempt{class: classAmbiguous, detail: "meta: HTTP 200 with an unreadable answer"}
		}
		return &attempt{class: classOK, received: *ok.EventsReceived}
	}
	var ge graphError
	_ = json.Unmarshal(raw, &ge) // a missing error object leaves code 0
	g := ge.Error
	detail := fmt.Sprintf("meta: HTTP %d", status)
	if g.Code != 0 {
		detail += fmt.Sprintf(", Graph error code %d", g.Code)
		if g.Subcode != 0 {
			detail += fmt.Sprintf(" subcode %d", g.Subcode)
		}
	}
	if id := safeToken(g.FbtraceID); id != "" {
		detail += ", fbtrace_id " + id
	}
	switch {
	case status == http.StatusTooManyRequests || throttleCode(g.Code):
		return &attempt{class: classThrottled, after: max(retry.RetryAfter(resp.Header, now), regainAccess(resp.Header)), detail: detail + ": rate limited"}
	case status >= 500:
		return &attempt{class: classAmbiguous, detail: detail + ": server error"}
	case readErr != nil:
		return &attempt{class: classAmbiguous, detail: detail + ": answer unreadable"}
	case g.Code == 100 && g.Subcode == 33:
		// "Object with ID ... does not exist, cannot be loaded due to
		// missing permissions, or does not support this operation": the
		// dataset id or the token's access to it, not any event.
		return &attempt{class: classRefused, detail: detail + ": the dataset does not exist or the token may not write to it; check the dataset id and the token's access"}
	case g.Code == 100:
		return &attempt{class: classInvalid, detail: detail + ": invalid parameter, batch refused"}
	case authCode(g.Code):
		return &attempt{class: classRefused, detail: detail + ": access token or permission refused"}
	case g.IsTransient:
		return &attempt{class: classAmbiguous, detail: detail + ": transient error"}
	case status >= 400:
		return &attempt{class: classRefused, detail: detail + ": request refused"}
	}
	return &attempt{class: classAmbiguous, detail: detail + ": unexpected answer"}
}

// throttleCode reports the Graph API's rate-limit error codes: 4
// (application), 17 (user), 32 (page), 613 (custom) and 80000-80014
// (business use case limits); Graph API "Rate Limits" page.
func throttleCode(c int) bool {
	return c == 4 || c == 17 || c == 32 || c == 613 || (c >= 80000 && c <= 80014)
}

// authCode reports Graph errors that refuse the token or a permission:
// 10 and 200-299 (permission), 102 (session), 104 (token required), 190
// (token invalid or expired).
func authCode(c int) bool {
	return c == 10 || c == 102 || c == 104 || c == 190 || (c >= 200 && c <= 299)
}

// regainAccess reads estimated_time_to_regain_access (minutes) from the
// X-Business-Use-Case-Usage header Meta sends with business use case
// rate limits; the longest wait of any entry counts.
func regainAccess(h http.Header) time.Duration {
	v := h.Get("X-Business-Use-Case-Usage")
	if v == "" {
		return 0
	}
	var usage map[string][]struct {
		Minutes float64 `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(v), &usage) != nil {
		return 0
	}
	var d time.Duration
	for _, entries := range usage {
		for _, e := range entries {
			if e.Minutes > 0 && e.Minutes < 24*60 {
				d = max(d, time.Duration(e.Minutes*float64(time.Minute)))
			}
		}
	}
	return d
}

// transportError is err without the request URL net/http quotes.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// safeToken keeps an id from the server only when it is a plain token.
func safeToken(s string) string {
	if len(s) == 0 || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		return ""
	}
	return s
}
