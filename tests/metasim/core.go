package metasim

// This file is the part every destination simulator shares: request
// numbering, fault injection, the rate ceiling, per-key dedup counts and the
// NDJSON file. It is copied, not imported, into tests/metasim and
// tests/linkedinsim so each simulator depends on the standard library only.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// FaultKind names a failure the simulator can inject into an ingestion
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

// Limit is a rate ceiling: Rate requests per second on average, with bursts
// of up to Burst requests. A zero Rate means no ceiling.
type Limit struct {
	Rate  float64
	Burst int
}

// KeyStats counts one dedup key: how often it arrived and how often it took
// business effect (was counted by the destination).
type KeyStats struct {
	Received  int `json:"received"`
	Effective int `json:"effective"`
}

// Stats summarises what the simulator has seen since it was created,
// including records reloaded from its file.
type Stats struct {
	Requests      int      `json:"requests"`       // ingestion requests read
	Rejected      int      `json:"rejected"`       // requests refused whole by validation
	Throttled     int      `json:"throttled"`      // requests refused by the rate ceiling
	Injected      int      `json:"injected"`       // requests that met an injected fault
	Events        int      `json:"events"`         // events in processed requests (per destination)
	Effects       int      `json:"effects"`        // events that took business effect
	Keyless       int      `json:"keyless"`        // events without a dedup key
	Keys          int      `json:"keys"`           // distinct dedup keys
	Duplicates    []string `json:"duplicates"`     // keys received more than once, sorted
	DoubleEffects []string `json:"double_effects"` // keys that took effect more than once, sorted
}

// Record is one event as the simulator judged it, and one NDJSON line of its
// file.
type Record struct {
	ReceivedAt time.Time       `json:"received_at"`
	Key        string          `json:"key,omitempty"`
	Effect     bool            `json:"effect"`
	Reason     string          `json:"reason,omitempty"`
	Event      json.RawMessage `json:"event,omitempty"`
}

// core is embedded in Server.
type core struct {
	mu        sync.Mutex
	keys      map[string]KeyStats
	records   []Record
	keepAll   bool
	stats     Stats
	nth       map[int]Fault
	fractions []fractionRule
	limit     Limit
	tokens    float64
	last      time.Time
	now       func() time.Time
	file      *os.File
	buf       *bufio.Writer
	srv       *http.Server
	ln        net.Listener
	serveErr  chan error
	stop      func() bool
	closing   chan struct{}
	closeOnce sync.Once
}

func newCore(lim Limit) core {
	return core{keys: map[string]KeyStats{}, keepAll: true, nth: map[int]Fault{}, limit: lim,
		tokens: float64(max(lim.Burst, 1)), now: time.Now, closing: make(chan struct{})}
}

// InjectNth makes the n-th ingestion request (counted from 1 since the
// simulator was created) meet fault f.
func (c *core) InjectNth(n int, f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nth[n] = f.withDefaults()
}

// InjectFraction makes a deterministic fraction p of ingestion requests
// meet fault f: request n is chosen when a hash of (seed, n) falls below p,
// so the same seed picks the same request numbers in every run.
func (c *core) InjectFraction(p float64, seed uint64, f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fractions = append(c.fractions, fractionRule{p: p, seed: seed, f: f.withDefaults()})
}

// ClearFaults removes every injected fault.
func (c *core) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nth = map[int]Fault{}
	c.fractions = nil
}

// SetLimit replaces the rate ceiling.
func (c *core) SetLimit(l Limit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = l
	c.tokens = float64(max(l.Burst, 1))
	c.last = time.Time{}
}

// SetClock replaces the simulator's clock (windows, rate ceiling, dedup
// windows), for tests with fixed clocks.
func (c *core) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// KeepRecords says whether every judged event is kept in memory for
// Records (default true). Benchmarks turn it off; counts are always kept.
func (c *core) KeepRecords(keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepAll = keep
}

// Key returns the counts of one dedup key.
func (c *core) Key(k string) KeyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[k]
}

// Keys returns a copy of the per-key counts.
func (c *core) Keys() map[string]KeyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]KeyStats, len(c.keys))
	for k, v := range c.keys {
		out[k] = v
	}
	return out
}

// Records returns a copy of the judged events in arrival order.
func (c *core) Records() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.records...)
}

// Stats returns the current statistics.
func (c *core) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Keys = len(c.keys)
	st.Duplicates, st.DoubleEffects = []string{}, []string{}
	for k, n := range c.keys {
		if n.Received > 1 {
			st.Duplicates = append(st.Duplicates, k)
		}
		if n.Effective > 1 {
			st.DoubleEffects = append(st.DoubleEffects, k)
		}
	}
	sort.Strings(st.Duplicates)
	sort.Strings(st.DoubleEffects)
	return st
}

// record counts one judged event and appends it to the file; the caller
// holds mu (or is reloading).
func (c *core) record(r Record, persist bool) {
	c.stats.Events++
	if r.Effect {
		c.stats.Effects++
	}
	if r.Key == "" {
		c.stats.Keyless++
	} else {
		ks := c.keys[r.Key]
		ks.Received++
		if r.Effect {
			ks.Effective++
		}
		c.keys[r.Key] = ks
	}
	if c.keepAll {
		c.records = append(c.records, r)
	}
	if persist && c.buf != nil {
		if line, err := json.Marshal(r); err == nil {
			c.buf.Write(append(line, '\n'))
		}
	}
}

// flush writes the file buffer out; the caller holds mu. A simulator that
// lost what it acknowledged would make crash tests meaningless.
func (c *core) flush() {
	if c.buf != nil {
		c.buf.Flush()
	}
}

// nextRequest numbers a request and picks its fault, if any.
func (c *core) nextRequest() (Fault, bool) {
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

// allow takes one token from the ceiling's bucket; it reports false (and
// counts a throttled request) when none is left.
func (c *core) allow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit.Rate <= 0 {
		return true
	}
	now := c.now()
	burst := float64(max(c.limit.Burst, 1))
	if !c.last.IsZero() {
		c.tokens = math.Min(burst, c.tokens+now.Sub(c.last).Seconds()*c.limit.Rate)
	}
	c.last = now
	if c.tokens < 1 {
		c.stats.Throttled++
		return false
	}
	c.tokens--
	return true
}

// unitHash maps (seed, n) to [0, 1) with splitmix64.
func unitHash(seed, n uint64) float64 {
	z := seed ^ (n * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// vendor is what a simulator adds to the core: how it judges a request and
// how it says "slow down" and "server error".
type vendor interface {
	// process validates and applies one request; rejectEvery > 0 asks it
	// to reject every rejectEvery-th event as a partial failure.
	process(r *http.Request, body []byte, rejectEvery int) (status int, header http.Header, resp any)
	throttle(w http.ResponseWriter, retryAfter time.Duration, injected bool)
	serverError(w http.ResponseWriter, status int)
}

// maxBody bounds what a simulator reads from one request.
const maxBody = 32 << 20

// serve runs one ingestion request through faults, the ceiling and the
// vendor's judgement.
func (c *core) serve(w http.ResponseWriter, r *http.Request, v vendor) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		v.serverError(w, http.StatusBadRequest)
		return
	}
	f, faulted := c.nextRequest()
	if faulted && f.Kind == TooManyRequests {
		v.throttle(w, f.RetryAfter, true)
		return
	}
	if !c.allow() {
		v.throttle(w, 0, false)
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
	status, header, resp := v.process(r, body, rejectEvery)
	if faulted {
		switch f.Kind {
		case ResetAfterRead:
			resetConn(w)
			return
		case ServerErrorAfterRead:
			v.serverError(w, f.Status)
			return
		}
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	writeJSON(w, status, resp)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// openFile reloads the records of an earlier process from path and opens it
// for appending. A torn last line (the process died mid-write) is cut off;
// a bad complete line is corruption and an error.
func (c *core) openFile(path string) error {
	if path == "" {
		return nil
	}
	if err := c.reload(path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	c.file, c.buf = f, bufio.NewWriter(f)
	return nil
}

func (c *core) reload(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reload %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var good int64
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				if err := os.Truncate(path, good); err != nil {
					return fmt.Errorf("cut the torn last line of %s: %w", path, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reload %s: %w", path, err)
		}
		good += int64(len(b))
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("reload %s line %d: %w", path, line, err)
		}
		c.record(rec, false)
	}
}

// listen serves h on addr until ctx ends or Close is called.
func (c *core) listen(ctx context.Context, addr string, h http.Handler) error {
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
func (c *core) URL() string {
	if c.ln == nil {
		return ""
	}
	return "http://" + c.ln.Addr().String()
}

// Close stops a started simulator, ends injected sleeps, and flushes and
// closes its file.
func (c *core) Close() error {
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
	if c.file != nil {
		if err := errors.Join(c.buf.Flush(), c.file.Close()); err != nil {
			errs = append(errs, fmt.Errorf("close file: %w", err))
		}
		c.file, c.buf = nil, nil
	}
	return errors.Join(errs...)
}
