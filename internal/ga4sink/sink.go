// Package ga4sink owns a local stand-in for the GA4 Measurement Protocol
// collection servers. It serves /mp/collect (always 204, like production,
// keeping the events it would accept) and /debug/mp/collect (a JSON body of
// validationMessages, like the validation server), counts received events by
// the idempotency key SAM sends in the event parameter KeyParam, and detects
// keys received more than once. Given a file path it appends every accepted
// event to an NDJSON file and reloads that file on start, so two `sam run`
// invocations against the same file show whether the second sent anything
// again.
//
// Tests use it through Handler with net/http/httptest; `sam run` in local
// mode uses Start. It imports only the standard library and
// internal/journal (its file): it must judge payloads independently of the
// writer it checks.
package ga4sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/journal"
)

// KeyParam is the event parameter carrying SAM's idempotency key.
const KeyParam = "sam_event_key"

// Received is one accepted event as the sink recorded it (and as one NDJSON
// line of its file).
type Received struct {
	ReceivedAt      time.Time      `json:"received_at"`
	MeasurementID   string         `json:"measurement_id"`
	ClientID        string         `json:"client_id"`
	Name            string         `json:"name"`
	Key             string         `json:"key,omitempty"`
	TimestampMicros int64          `json:"timestamp_micros,omitempty"`
	Params          map[string]any `json:"params,omitempty"`
}

// Stats summarises what the sink has seen since it was created (including
// events reloaded from its file).
type Stats struct {
	Requests      int      `json:"requests"`       // requests to /mp/collect
	DebugRequests int      `json:"debug_requests"` // requests to /debug/mp/collect
	Events        int      `json:"events"`         // accepted events
	Dropped       int      `json:"dropped"`        // events production would silently drop
	Injected      int      `json:"injected"`       // requests answered with an injected failure
	Keys          int      `json:"keys"`           // distinct idempotency keys
	Duplicates    []string `json:"duplicates"`     // keys received more than once, sorted
}

// Sink records Measurement Protocol traffic. It is safe for concurrent use.
type Sink struct {
	mu      sync.Mutex
	counts  map[string]int
	events  []Received
	stats   Stats
	inject  []int            // statuses for the next requests to /mp/collect
	journal *journal.Journal // nil without a file
	keepAll bool
	srv     *http.Server
	// stopOnCancel unregisters the ctx hook of Start.
	stopOnCancel func() bool
	ln           net.Listener
	serveErr     chan error
	now          func() time.Time
}

// New returns a sink. When path is not empty, events already in the NDJSON
// file at path are reloaded (so duplicates across processes are detected)
// and new ones are appended to it.
func New(path string) (*Sink, error) {
	s := &Sink{counts: map[string]int{}, now: time.Now, keepAll: true}
	j, err := journal.Open(path, func(_ int, b []byte) error {
		var rec Received
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		s.record(rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ga4sink: %w", err)
	}
	s.journal = j
	return s, nil
}

// Start listens on addr (for example "127.0.0.1:0"), serves the sink until
// ctx ends or Close is called, and persists to path when it is not empty.
func Start(ctx context.Context, addr, path string) (*Sink, error) {
	s, err := New(path)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		s.closeFile()
		return nil, fmt.Errorf("ga4sink: listen on %s: %w", addr, err)
	}
	s.ln = ln
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- srv.Serve(ln) }()
	// Stop serving when ctx ends; Close still flushes the file.
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	s.stopOnCancel = stop
	return s, nil
}

// URL is the base URL of a started sink ("http://127.0.0.1:port"), the
// value for the writer's endpoint.
func (s *Sink) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops a started sink and flushes and closes its file.
func (s *Sink) Close() error {
	var errs []error
	if s.stopOnCancel != nil {
		s.stopOnCancel()
		s.stopOnCancel = nil
	}
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-s.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		s.srv = nil
	}
	errs = append(errs, s.closeFile())
	return errors.Join(errs...)
}

func (s *Sink) closeFile() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.journal.Close()
	s.journal = nil
	if err != nil {
		return fmt.Errorf("ga4sink: close file: %w", err)
	}
	return nil
}

// KeepEvents says whether the sink keeps every accepted event in memory for
// Events (default true). Benchmarks turn it off; counts are always kept.
func (s *Sink) KeepEvents(keep bool) {
	s.mu.Lock()
	s.keepAll = keep
	s.mu.Unlock()
}

// InjectFailures makes the next n requests to /mp/collect fail with status
// (for example 503 or 429) without recording their events, to exercise a
// client's retries.
func (s *Sink) InjectFailures(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.inject = append(s.inject, status)
	}
}

// Count returns how many times the event with idempotency key key was
// accepted.
func (s *Sink) Count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key]
}

// Counts returns a copy of the per-key counts.
func (s *Sink) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Events returns a copy of the accepted events in arrival order.
func (s *Sink) Events() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.events...)
}

// Stats returns the current statistics.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Keys = len(s.counts)
	st.Duplicates = nil
	for k, n := range s.counts {
		if n > 1 {
			st.Duplicates = append(st.Duplicates, k)
		}
	}
	sort.Strings(st.Duplicates)
	return st
}

// record adds one accepted event; the caller holds mu (or is reloading).
func (s *Sink) record(r Received) {
	s.stats.Events++
	if r.Key != "" {
		s.counts[r.Key]++
	}
	if s.keepAll {
		s.events = append(s.events, r)
	}
}

// Handler serves /mp/collect, /debug/mp/collect and, for people running
// `sam run` locally, GET /sink/stats.
func (s *Sink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mp/collect", s.collect)
	mux.HandleFunc("POST /debug/mp/collect", s.debug)
	mux.HandleFunc("GET /sink/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// maxBody bounds what the sink reads; Measurement Protocol bodies are small.
const maxBody = 1 << 20

func (s *Sink) collect(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	if len(s.inject) > 0 {
		status := s.inject[0]
		s.inject = s.inject[1:]
		s.stats.Injected++
		s.mu.Unlock()
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		return
	}
	s.mu.Unlock()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		// Production answers 2xx whatever it makes of a request.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	mid := r.URL.Query().Get("measurement_id")
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.ClientID == "" || mid == "" {
		s.mu.Lock()
		s.stats.Dropped += max(1, len(p.Events))
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range p.Events {
		if len(validateEvent(i, e)) > 0 || i >= MaxEvents {
			s.stats.Dropped++
			continue
		}
		rec := Received{ReceivedAt: now, MeasurementID: mid, ClientID: p.ClientID, Name: e.Name, TimestampMicros: e.TimestampMicros, Params: e.Params}
		if k, ok := e.Params[KeyParam].(string); ok {
			rec.Key = k
		}
		s.record(rec)
		s.journal.Append(rec)
	}
	// Flush per request: a sink that loses what it acknowledged would make
	// the writer's crash tests meaningless.
	s.journal.Flush()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sink) debug(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.DebugRequests++
	s.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	msgs := []ValidationMessage{}
	if err != nil {
		msgs = append(msgs, ValidationMessage{FieldPath: "", Description: "Unable to read request body.", ValidationCode: CodeValueInvalid})
	} else {
		msgs = append(msgs, Validate(r.URL.Query().Get("measurement_id"), body)...)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ValidationResponse{ValidationMessages: msgs})
}
