package bigquery

import (
	"errors"
	"net/http"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/sam-attribution/sam/internal/retry"
)

// RetryPolicy bounds the retries this package adds to the client
// library's (see the package documentation).
type RetryPolicy struct {
	// MaxAttempts is how many times one step (an upload, a job that failed
	// transiently) is tried in all.
	MaxAttempts int
	// Initial and Max bound the pauses between attempts, drawn by
	// decorrelated jitter (internal/retry): each at random between Initial
	// and three times the one before, at most Max.
	Initial, Max time.Duration
	// CallTimeout bounds one API call including the client library's own
	// retries of it, which otherwise go on for as long as the context
	// allows.
	CallTimeout time.Duration
}

// DefaultRetryPolicy follows BigQuery's guidance for retrying: start at one
// second and double up to 32 seconds.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: 32 * time.Second, CallTimeout: 2 * time.Minute}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Initial <= 0 {
		p.Initial = d.Initial
	}
	if p.Max <= 0 {
		p.Max = d.Max
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = d.CallTimeout
	}
	return p
}

// retryPolicy is the policy in internal/retry's terms.
func (db *DB) retryPolicy() retry.Policy {
	return retry.Policy{Attempts: db.retry.MaxAttempts, Base: db.retry.Initial, Cap: db.retry.Max, Rand: db.rand}
}

// transientReasons are BigQuery error reasons worth another attempt. The
// job* reasons are how a job's own failure is reported when BigQuery says
// that running it again may succeed.
var transientReasons = map[string]bool{
	"backendError":         true,
	"rateLimitExceeded":    true,
	"internalError":        true,
	"jobRateLimitExceeded": true,
	"jobBackendError":      true,
	"jobInternalError":     true,
}

// retryableHTTP reports whether an API error is transient: HTTP 500, 502,
// 503, 504, or a transient reason (rate limits come as 403 or 429 with
// reason rateLimitExceeded).
func retryableHTTP(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	for _, e := range ge.Errors {
		if transientReasons[e.Reason] {
			return true
		}
	}
	return false
}

// isDuplicate reports whether jobs.insert refused a job id that exists.
func isDuplicate(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}
