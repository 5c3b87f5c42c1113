package simcore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Vendor is what a simulator adds to the core for its ingestion endpoint.
// It is a set of functions, not an interface, so that a Server need not
// export them.
type Vendor struct {
	// Process validates and applies one request; rejectEvery > 0 asks it
	// to reject every rejectEvery-th event as a partial failure.
	Process func(r *http.Request, body []byte, rejectEvery int) (status int, header http.Header, resp any)
	// Throttle answers "slow down"; injected tells an injected
	// TooManyRequests (whose Retry-After header is already set) from the
	// rate ceiling.
	Throttle func(w http.ResponseWriter, injected bool)
	// ServerError answers status with the vendor's error body.
	ServerError func(w http.ResponseWriter, status int)
}

// maxBody bounds what a simulator reads from one request.
const maxBody = 32 << 20

// Serve runs one ingestion request through injected faults, the rate
// ceiling and the vendor's judgement.
func (c *Core) Serve(w http.ResponseWriter, r *http.Request, v Vendor) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		v.ServerError(w, http.StatusBadRequest)
		return
	}
	f, faulted := c.nextRequest()
	if faulted && f.Kind == TooManyRequests {
		// No vendor documents a Retry-After for its own throttling; an
		// injected 429 carries one to test that path of a client.
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
		v.Throttle(w, true)
		return
	}
	if !c.allow() {
		v.Throttle(w, false)
		return
	}
	rejectEvery := 0
	if faulted && f.Kind == PartialFailure {
		rejectEvery = f.RejectEvery
	}
	if faulted && f.Kind == TimeoutAfterRead {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
		}
	}
	status, header, resp := v.Process(r, body, rejectEvery)
	if faulted {
		switch f.Kind {
		case ResetAfterRead:
			resetConn(w)
			return
		case ServerErrorAfterRead:
			v.ServerError(w, f.Status)
			return
		}
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	WriteJSON(w, status, resp)
}

// allow takes one token from the ceiling; it reports false (and counts a
// throttled request) when none is left.
func (c *Core) allow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ceiling.Allow(c.now) {
		c.stats.Throttled++
		return false
	}
	return true
}

// resetConn closes the connection with an RST instead of an answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// WriteJSON answers status with v as a JSON body (none when v is nil).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// ServeStats answers with Stats as JSON; simulators route GET /sim/stats
// to it for people running SAM locally.
func (c *Core) ServeStats(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, c.Stats())
}

// Listen serves h on addr until ctx ends or Close is called.
func (c *Core) Listen(ctx context.Context, addr string, h http.Handler) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	c.ln = ln
	c.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	c.serveErr = make(chan error, 1)
	srv := c.srv
	go func() { c.serveErr <- srv.Serve(ln) }()
	c.stop = context.AfterFunc(ctx, func() { srv.Close() })
	return nil
}

// URL is the base URL of a started simulator ("http://127.0.0.1:port").
func (c *Core) URL() string {
	if c.ln == nil {
		return ""
	}
	return "http://" + c.ln.Addr().String()
}

// Close stops a started simulator, ends injected sleeps, and flushes and
// closes its file.
func (c *Core) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	var errs []error
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	if c.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-c.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		c.srv = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.journal.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close file: %w", err))
	}
	c.journal = nil
	return errors.Join(errs...)
}

// StopMidRequest wraps a simulator's handler for tests of a stopped run:
// each request, once read, calls stop (the run's SIGTERM), and next
// answers it only if the client is still waiting a moment later. A client
// that lets the request under way finish gets its answer; one that cuts
// the request leaves nothing to answer.
func StopMidRequest(stop func(), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		stop()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		next.ServeHTTP(w, r)
	})
}
