package httpx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is an exponential backoff with full jitter.
type Backoff struct {
	Base     time.Duration // first delay's upper bound
	Max      time.Duration // cap on any one delay
	Attempts int           // total tries, the first included
}

// DefaultBackoff suits production APIs.
var DefaultBackoff = Backoff{Base: 500 * time.Millisecond, Max: 30 * time.Second, Attempts: 12}

// Delay is the wait before retry number attempt (1 = the first retry): a
// uniform draw from [0, min(Max, Base·2^(attempt-1))], or at least the
// server's Retry-After when it said one.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	ceil := b.Base << min(attempt-1, 30)
	if ceil <= 0 || ceil > b.Max {
		ceil = b.Max
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if retryAfter > d {
		// A little jitter on top keeps many clients from returning at once.
		d = retryAfter + time.Duration(rand.Int64N(int64(retryAfter)/10+1))
	}
	return d
}

// RetryableError marks a failure worth retrying; After is the server's
// Retry-After, or zero.
type RetryableError struct {
	Err   error
	After time.Duration
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err as retryable.
func Retryable(err error, after time.Duration) error { return &RetryableError{Err: err, After: after} }

// Do runs op until it succeeds, fails with an error that is not a
// *RetryableError, the attempts run out, or ctx ends. onRetry, if set, is
// told about each retry (for logging).
func Do(ctx context.Context, b Backoff, op func(ctx context.Context) error, onRetry func(attempt int, wait time.Duration, err error)) error {
	attempts := max(b.Attempts, 1)
	var err error
	for attempt := 1; ; attempt++ {
		err = op(ctx)
		if err == nil {
			return nil
		}
		var re *RetryableError
		if !errors.As(err, &re) || ctx.Err() != nil {
			return err
		}
		if attempt >= attempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempts, err)
		}
		wait := b.Delay(attempt, re.After)
		if onRetry != nil {
			onRetry(attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// Zero when absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TransientStatus reports whether an HTTP status is worth retrying.
func TransientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}
