package googleads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	dm "google.golang.org/api/datamanager/v1"
	"google.golang.org/api/googleapi"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/retry"
)

// Google's names for the outcomes Send reads (discovery document,
// RequestStatusPerDestination.requestStatus and ErrorCount.reason).
const (
	statusSuccess   = "SUCCESS"
	statusFailed    = "FAILED"
	statusPartial   = "PARTIAL_SUCCESS"
	reasonDuplicate = "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"
	reasonInternal  = "PROCESSING_ERROR_REASON_INTERNAL_ERROR"
	// A conversion of the same gclid and time is already in Google Ads
	// (SAM's own earlier request under another key, or another upload):
	// its effect exists.
	reasonDuplicateGclid = "PROCESSING_ERROR_REASON_DUPLICATE_GCLID"
	// "The click occurred too recently": the Google Ads API's
	// TOO_RECENT_EVENT asks to retry once six hours have passed, so the
	// conversion is sent again by a later run.
	reasonTooRecentClick = "PROCESSING_ERROR_REASON_TOO_RECENT_CLICK"
)

// Send implements activation.Destination; see the package doc for how
// answers become outcomes.
func (d *Destination) Send(ctx context.Context, batch []activation.Event) []activation.Outcome {
	s := &sending{d: d, batch: batch, out: make([]activation.Outcome, len(batch)), budget: max(d.opts.MaxResolveRequests, 0)}
	idx := make([]int, len(batch))
	for i := range idx {
		idx[i] = i
	}
	s.deliver(ctx, idx, nil)
	for i, o := range s.out {
		if o.Status == "" {
			// Not reached by design; say nothing definite rather than guess.
			s.out[i] = activation.Outcome{Status: activation.StatusUnknown, Detail: "no outcome was determined"}
		}
	}
	return s.out
}

// sending is the state of one Send.
type sending struct {
	d      *Destination
	batch  []activation.Event
	out    []activation.Outcome
	budget int // extra ingest requests left to resolve partial failures
}

// group is the events of one stage in a request: one destination.
type group struct {
	stage string
	idx   []int // indices into batch, in request order
}

func (s *sending) set(idx []int, st activation.Status, detail string) {
	for _, i := range idx {
		s.out[i] = activation.Outcome{Status: st, Detail: detail}
	}
}

// deliver sends the events idx in one request and settles them. fallback,
// when set, is the outcome of events whose request already took effect
// (a request that only resolves a partial failure): if this one gets no
// answer, they keep it.
func (s *sending) deliver(ctx context.Context, idx []int, fallback *activation.Outcome) {
	// Fast fail refuses a whole request for one bad event and names it;
	// nothing was processed, so the rest goes again at once.
	for round := 0; len(idx) > 0; round++ {
		req, groups, order := s.request(idx)
		id, err := s.d.post(ctx, req)
		if err == nil {
			if s.d.opts.ValidateOnly {
				s.set(idx, activation.StatusFailed, "validate only: the request is valid; nothing was recorded")
				return
			}
			s.settle(ctx, id, groups, fallback)
			return
		}
		var ie *ingestError
		if !errors.As(err, &ie) {
			ie = &ingestError{maybe: true, detail: "no answer: " + errorKind(err)}
		}
		if len(ie.events) > 0 && !ie.maybe && round < 3 {
			var rest []int
			for pos, i := range order {
				if v, bad := ie.events[pos]; bad {
					st := activation.StatusRejected
					if s.d.opts.ValidateOnly {
						st = activation.StatusFailed
					}
					s.out[i] = activation.Outcome{Status: st, Detail: "google ads refused the event: " + v}
				} else {
					rest = append(rest, i)
				}
			}
			idx = rest
			continue
		}
		switch {
		case fallback != nil:
			s.set(idx, fallback.Status, fallback.Detail)
		case ie.maybe:
			s.set(idx, activation.StatusUnknown, ie.detail)
		default:
			s.set(idx, activation.StatusFailed, ie.detail)
		}
		return
	}
}

// request builds one IngestEventsRequest: a destination per stage present
// (its conversion action), each event pointing at its stage's destination.
func (s *sending) request(idx []int) (*dm.IngestEventsRequest, []group, []int) {
	req := &dm.IngestEventsRequest{Encoding: "HEX", ValidateOnly: s.d.opts.ValidateOnly}
	var groups []group
	for _, stage := range Stages {
		var g []int
		for _, i := range idx {
			if s.batch[i].Stage == stage {
				g = append(g, i)
			}
		}
		if len(g) == 0 {
			continue
		}
		dest := &dm.Destination{
			Reference:            stage,
			OperatingAccount:     &dm.ProductAccount{AccountType: "GOOGLE_ADS", AccountId: s.d.opts.CustomerID},
			ProductDestinationId: s.d.opts.ConversionActions[stage],
		}
		if s.d.opts.LoginCustomerID != "" {
			dest.LoginAccount = &dm.ProductAccount{AccountType: "GOOGLE_ADS", AccountId: s.d.opts.LoginCustomerID}
		}
		req.Destinations = append(req.Destinations, dest)
		groups = append(groups, group{stage: stage, idx: g})
	}
	var order []int
	for _, g := range groups {
		for _, i := range g.idx {
			req.Events = append(req.Events, event(s.batch[i], g.stage))
			order = append(order, i)
		}
	}
	return req, groups, order
}

// settle reads the request's status and turns it into outcomes.
func (s *sending) settle(ctx context.Context, id string, groups []group, fallback *activation.Outcome) {
	resp := s.d.status(ctx, id)
	var all []int
	for _, g := range groups {
		all = append(all, g.idx...)
	}
	if resp == nil {
		if fallback != nil {
			s.set(all, fallback.Status, fallback.Detail)
			return
		}
		s.set(all, activation.StatusSent, fmt.Sprintf("ingested as request %s; no final status within %s", code(id), s.d.opts.StatusWait))
		return
	}
	// "The order of the statuses matches the order of the destinations in
	// the original request" (RetrieveRequestStatusResponse).
	for gi, g := range groups {
		var pd *dm.RequestStatusPerDestination
		if gi < len(resp.RequestStatusPerDestination) {
			pd = resp.RequestStatusPerDestination[gi]
		}
		s.resolve(ctx, g, pd)
	}
}

// resolve settles one group from its destination's status.
func (s *sending) resolve(ctx context.Context, g group, pd *dm.RequestStatusPerDestination) {
	n := int64(len(g.idx))
	if pd == nil {
		s.set(g.idx, activation.StatusSent, "ingested; no status for the conversion action")
		return
	}
	// Duplicates are effects already in Google Ads; an internal error is
	// Google's and passes, a too recent click passes with time; any other
	// reason is the event's.
	var dup, perm, trans int64
	var reasons []string
	dupWhy := "duplicate transactionId of an earlier request"
	if pd.ErrorInfo != nil {
		for _, c := range pd.ErrorInfo.ErrorCounts {
			if c == nil {
				continue
			}
			switch c.Reason {
			case reasonDuplicate:
				dup += c.RecordCount
				continue
			case reasonDuplicateGclid:
				dup += c.RecordCount
				dupWhy = "a conversion of the same gclid and time is in Google Ads"
				continue
			case reasonInternal, reasonTooRecentClick:
				trans += c.RecordCount
			default:
				perm += c.RecordCount
			}
			reasons = append(reasons, fmt.Sprintf("%s x%d", code(c.Reason), c.RecordCount))
		}
	}
	slices.Sort(reasons)
	why := strings.Join(reasons, ", ")
	switch pd.RequestStatus {
	case statusSuccess:
		s.set(g.idx, activation.StatusAccepted, "")
		return
	case statusFailed, statusPartial:
	default:
		s.set(g.idx, activation.StatusSent, "ingested; status "+code(pd.RequestStatus))
		return
	}
	switch {
	case perm == 0 && trans == 0 && (dup > 0 || pd.RequestStatus == statusPartial):
		detail := ""
		if dup >= n {
			detail = "already recorded: " + dupWhy
		}
		if dup == 0 {
			// PARTIAL_SUCCESS without counts ("may not be populated").
			break
		}
		s.set(g.idx, activation.StatusAccepted, detail)
		return
	case perm >= n:
		s.set(g.idx, activation.StatusRejected, "google ads rejected the conversion: "+why)
		return
	case perm == 0 && trans == 0:
		s.set(g.idx, activation.StatusRejected, "google ads rejected the conversion without a reason")
		return
	}
	// Some were refused and Google does not say which. If none took
	// effect, all are failed (sent again next run, which is safe);
	// otherwise they were delivered with an unknown split.
	fallback := activation.Outcome{Status: activation.StatusSent,
		Detail: fmt.Sprintf("partial success: %d of %d not recorded (%s); Google does not say which", perm+trans, n, why)}
	if perm+trans >= n {
		fallback = activation.Outcome{Status: activation.StatusFailed, Detail: "google ads did not record the conversion (" + why + "); sent again next run"}
	}
	switch {
	case len(g.idx) == 1 && s.budget >= 1:
		s.budget--
		s.deliver(ctx, g.idx, &fallback)
	case len(g.idx) > 1 && s.budget >= 2:
		// Re-send each half with the same keys: what took effect comes
		// back as a duplicate, what was refused is refused again or now
		// accepted.
		s.budget -= 2
		h := len(g.idx) / 2
		s.deliver(ctx, g.idx[:h], &fallback)
		s.deliver(ctx, g.idx[h:], &fallback)
	default:
		s.set(g.idx, fallback.Status, fallback.Detail)
	}
}

// ingestError is a failed events:ingest, classified.
type ingestError struct {
	retry  bool          // safe and useful to try again
	after  time.Duration // the server's Retry-After
	maybe  bool          // the request may have been processed
	detail string
	events map[int]string // 400: request positions of the events at fault, with why
	err    error
}

func (e *ingestError) Error() string { return e.detail }
func (e *ingestError) Unwrap() error { return e.err }

// post sends one request, retrying what the dedup on transactionId makes
// safe to retry, and returns its requestId.
func (d *Destination) post(ctx context.Context, req *dm.IngestEventsRequest) (string, error) {
	var id string
	maybe := false
	p := d.opts.Retry
	p.Retryable = func(err error) (bool, time.Duration) {
		var ie *ingestError
		if errors.As(err, &ie) && ie.retry {
			return true, ie.after
		}
		return false, 0
	}
	err := retry.Do(ctx, p, func(ctx context.Context) error {
		if err := d.ingest.Wait(ctx); err != nil {
			return err // not sent
		}
		actx, cancel := retry.InFlight(ctx, d.opts.RequestTimeout, d.opts.StopGrace)
		defer cancel()
		resp, err := d.svc.Events.Ingest(req).Context(actx).Do()
		if err == nil {
			id = resp.RequestId
			return nil
		}
		ie := d.classify(ctx, err)
		maybe = maybe || ie.maybe
		return ie
	})
	if err == nil {
		return id, nil
	}
	var ie *ingestError
	if !errors.As(err, &ie) {
		// The context ended while waiting: this attempt was not sent.
		ie = &ingestError{detail: "stopped before the request was sent", err: err}
	}
	out := *ie
	out.maybe = maybe
	if maybe && !ie.maybe {
		out.detail = ie.detail + ", after an attempt that may have been processed"
	}
	return "", &out
}

// classify says what a failed attempt means. ctx is the call's, not the
// attempt's: its end stops the retries.
func (d *Destination) classify(ctx context.Context, err error) *ingestError {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		st := fmt.Sprintf("HTTP %d", ge.Code)
		info := errorInfoOf(ge)
		r, domain := info.reason, info.domain
		if r != "" {
			st += " " + r
		}
		switch {
		case ge.Code == 403 && r == "PERMISSION_DENIED" && domain == "datamanager.googleapis.com":
			// Google names no account in this refusal, and it may stop
			// every request until someone grants access: say which
			// account and whose access.
			return &ingestError{detail: "refused before processing: " + st + ": " + d.noAccess(), err: err}
		case ge.Code == 403 && domain == "googleapis.com":
			// Google's front end, before the service: the same for every
			// account and request until someone fixes the credentials or
			// the project (google/api/error_reason.proto).
			return &ingestError{detail: "refused before processing: " + st + frontEndAdvice(d.opts, info), err: err}
		case ge.Code == 429:
			return &ingestError{retry: true, after: retry.RetryAfter(ge.Header, time.Now()), detail: "throttled: " + st, err: err}
		case ge.Code == 408 || ge.Code >= 500:
			return &ingestError{retry: true, maybe: true, detail: "server error after the request was sent: " + st, err: err}
		case ge.Code == 400:
			return &ingestError{detail: "refused before processing: " + st, events: violations(ge), err: err}
		}
		return &ingestError{detail: "refused before processing: " + st, err: err}
	}
	if ctx.Err() != nil {
		return &ingestError{maybe: true, detail: "stopped while the request was in flight", err: err}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &ingestError{retry: true, detail: "could not connect", err: err}
	}
	return &ingestError{retry: true, maybe: true, detail: "no answer after the request was sent: " + errorKind(err), err: err}
}

// errorKind names a transport failure without its text (which may carry
// the URL).
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "transport error"
}

var (
	codeRE  = regexp.MustCompile(`^[A-Za-z0-9_.\[\]-]{1,100}$`)
	eventRE = regexp.MustCompile(`^events\[([0-9]+)\]\.?(.*)$`)
)

// code returns s when it has the shape of a code, so that no free text
// from an answer reaches a detail.
func code(s string) string {
	if codeRE.MatchString(s) {
		return s
	}
	return "(unrecognised)"
}

// errorInfo is what SAM reads of a google.rpc.ErrorInfo: its reason, the
// domain that reason belongs to, and the Google Cloud project it names
// (metadata "consumer", "projects/" and the project), each "" when absent
// or not shaped as one.
type errorInfo struct {
	reason, domain, project string
}

// projectRE is a Google Cloud project id or number.
var projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func errorInfoOf(ge *googleapi.Error) errorInfo {
	for _, d := range ge.Details {
		m, _ := d.(map[string]any)
		if t, _ := m["@type"].(string); !strings.HasSuffix(t, "google.rpc.ErrorInfo") {
			continue
		}
		r, _ := m["reason"].(string)
		if r == "" {
			continue
		}
		dom, _ := m["domain"].(string)
		info := errorInfo{reason: code(r), domain: code(dom)}
		md, _ := m["metadata"].(map[string]any)
		consumer, _ := md["consumer"].(string)
		if p, ok := strings.CutPrefix(consumer, "projects/"); ok && projectRE.MatchString(p) {
			info.project = p
		}
		return info
	}
	return errorInfo{}
}

// frontEndAdvice says what a 403 of Google's API front end asks of the
// operator, after a colon, or names the project it concerns.
func frontEndAdvice(o Options, info errorInfo) string {
	switch info.reason {
	case "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
		return ": " + noScope(o)
	case "SERVICE_DISABLED":
		project := "the Google Cloud project of the credentials"
		if info.project != "" {
			project = "Google Cloud project " + info.project + ", the project of the credentials"
		}
		return ": the Data Manager API is not enabled in " + project +
			"; enable datamanager.googleapis.com there, then allow a few minutes before the next run"
	}
	if info.project != "" {
		return " (Google Cloud project " + info.project + ")"
	}
	return ""
}

// noScope says what an ACCESS_TOKEN_SCOPE_INSUFFICIENT asks of the
// operator: every Data Manager method needs the datamanager scope
// (discovery document).
func noScope(o Options) string {
	need := "lacks the scope " + dm.DatamanagerScope + ", which the Data Manager API needs"
	switch {
	case o.CredentialsFile != "":
		// The client asks for the scope itself; this is not expected.
		return "the token of the key file's service account " + need
	case o.DefaultCredentials:
		return "the token of the Application Default Credentials " + need +
			"; a user's credentials get it at login: gcloud auth application-default login --scopes=" + dm.DatamanagerScope + ",https://www.googleapis.com/auth/cloud-platform"
	}
	return "the access token " + need + "; mint it with that scope"
}

// noAccess says what a PERMISSION_DENIED of the Data Manager API asks of
// the operator. The reason covers an account the credentials cannot write
// to and one that does not exist (ErrorReason reference).
func (d *Destination) noAccess() string {
	who, id, login := grantee(d.opts), d.opts.CustomerID, d.opts.LoginCustomerID
	if login == "" {
		return fmt.Sprintf("%s has no access to Google Ads account %s (or the account does not exist); add it as a user of account %s, or log in through a manager account of it that it is a user of", who, id, id)
	}
	return fmt.Sprintf("%s has no access to Google Ads account %s through manager account %s (or one of them does not exist); add it as a user of account %s, and check that %s manages %s", who, id, login, login, login, id)
}

// grantee names the Google Account the credentials of o act as.
func grantee(o Options) string {
	switch {
	case o.CredentialsFile != "":
		return "the service account of the key file"
	case o.DefaultCredentials:
		return "the service account or user of the Application Default Credentials"
	}
	return "the Google Account of the access token"
}

// violations maps the request positions of events named by a 400's
// google.rpc.BadRequest field violations to their reasons.
func violations(ge *googleapi.Error) map[int]string {
	out := map[int]string{}
	for _, d := range ge.Details {
		m, _ := d.(map[string]any)
		if t, _ := m["@type"].(string); !strings.HasSuffix(t, "google.rpc.BadRequest") {
			continue
		}
		fvs, _ := m["fieldViolations"].([]any)
		for _, fv := range fvs {
			f, _ := fv.(map[string]any)
			field, _ := f["field"].(string)
			reason, _ := f["reason"].(string)
			sub := eventRE.FindStringSubmatch(field)
			if sub == nil {
				// A request-level fault: no event is to blame.
				return nil
			}
			pos, err := strconv.Atoi(sub[1])
			if err != nil {
				return nil
			}
			why := code(reason)
			if sub[2] != "" {
				why += " at " + code(sub[2])
			}
			out[pos] = why
		}
	}
	return out
}

// status polls requestStatus:retrieve until every destination has a final
// status, or StatusWait passes (nil).
func (d *Destination) status(ctx context.Context, id string) *dm.RetrieveRequestStatusResponse {
	ctx, cancel := context.WithTimeout(ctx, d.opts.StatusWait)
	defer cancel()
	wait := d.opts.StatusPoll
	for {
		if err := d.reads.Wait(ctx); err != nil {
			return nil
		}
		actx, acancel := context.WithTimeout(ctx, d.opts.RequestTimeout)
		resp, err := d.svc.RequestStatus.Retrieve().RequestId(id).Context(actx).Do()
		acancel()
		if err == nil && final(resp) {
			return resp
		}
		var ge *googleapi.Error
		if errors.As(err, &ge) && (ge.Code == 400 || ge.Code == 401 || ge.Code == 403) {
			return nil
		}
		// A 404 may be a request not yet visible; a transient error or
		// PROCESSING: ask again later.
		if retry.Wait(ctx, wait) != nil {
			return nil
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func final(r *dm.RetrieveRequestStatusResponse) bool {
	if r == nil || len(r.RequestStatusPerDestination) == 0 {
		return false
	}
	for _, pd := range r.RequestStatusPerDestination {
		if pd == nil {
			return false
		}
		switch pd.RequestStatus {
		case statusSuccess, statusFailed, statusPartial:
		default:
			return false
		}
	}
	return true
}
