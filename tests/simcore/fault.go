package simcore

import (
	"net/http"
	"time"
)

// FaultKind names a failure a simulator can inject into an ingestion
// request after it has read the request body.
type FaultKind int

const (
	// ResetAfterRead processes the request (its business effect happens)
	// and then resets the TCP connection instead of answering.
	ResetAfterRead FaultKind = iota + 1
	// TimeoutAfterRead sleeps for Fault.Delay after reading, then processes
	// the request and answers, as a slow real server would: a client that
	// gave up meanwhile does not learn that its request took effect.
	TimeoutAfterRead
	// ServerErrorAfterRead processes the request and then answers
	// Fault.Status (500 by default) with the vendor's error body.
	ServerErrorAfterRead
	// TooManyRequests answers 429 with a Retry-After header and the
	// vendor's throttling body, without processing.
	TooManyRequests
	// PartialFailure processes the request but rejects every
	// Fault.RejectEvery-th event (the first, then every RejectEvery after
	// it) the way the vendor reports rejected events.
	PartialFailure
)

// Fault is one injected failure.
type Fault struct {
	Kind        FaultKind
	Delay       time.Duration // TimeoutAfterRead; default 30s
	Status      int           // ServerErrorAfterRead; default 500
	RetryAfter  time.Duration // TooManyRequests; default 1s
	RejectEvery int           // PartialFailure; default 2
}

func (f Fault) withDefaults() Fault {
	if f.Delay <= 0 {
		f.Delay = 30 * time.Second
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	if f.RejectEvery <= 0 {
		f.RejectEvery = 2
	}
	return f
}

type fractionRule struct {
	p    float64
	seed uint64
	f    Fault
}

// nextRequest numbers a request and picks its fault, if any.
func (c *Core) nextRequest() (Fault, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Requests++
	n := c.stats.Requests
	if f, ok := c.nth[n]; ok {
		c.stats.Injected++
		return f, true
	}
	for _, r := range c.fractions {
		if unitHash(r.seed, uint64(n)) < r.p {
			c.stats.Injected++
			return r.f, true
		}
	}
	return Fault{}, false
}

// unitHash maps (seed, n) to [0, 1) with splitmix64.
func unitHash(seed, n uint64) float64 {
	z := seed ^ (n * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}
