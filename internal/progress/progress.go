// Package progress shows a live progress line on a terminal while long
// stages run: export days and rows loaded, CRM streams synced, models built,
// events sent.
// It is a slog.Handler wrapper: the loaders and the transform runner only
// log, and when a person is watching, this handler turns their per-item
// records into one line redrawn in place instead of a scroll of log lines.
// JSON logs (Cloud Run) never use it. It imports no SAM package.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Handler forwards records to the wrapped handler, except per-item progress
// records, which it counts and shows as a single redrawn line.
type Handler struct {
	next  slog.Handler
	state *state
	attrs []slog.Attr
}

type state struct {
	mu       sync.Mutex
	w        io.Writer
	line     string
	days     int
	events   int64
	rejected int64
	streams  int
	records  int64
	models   int
	rows     int64
	drawn    bool
	last     time.Time
}

// New wraps next; progress lines go to w (the terminal).
func New(next slog.Handler, w io.Writer) *Handler {
	return &Handler{next: next, state: &state{w: w}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	attrs := map[string]slog.Value{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value
	}
	r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
	s := h.state
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Message {
	case "ga4: loaded export day":
		s.days++
		s.events += intAttr(attrs["loaded"])
		s.rejected += intAttr(attrs["rejected"])
		s.draw(fmt.Sprintf("loading GA4 export: %d days, %d events loaded, %d rejected", s.days, s.events, s.rejected))
		return nil
	case "ga4: loading the export":
		s.draw(fmt.Sprintf("loading GA4 export: %d of %d days checked", intAttr(attrs["days_checked"]), intAttr(attrs["days"])))
		return nil
	case "crm sync progress":
		s.draw(fmt.Sprintf("syncing CRM: %d streams done; %s: %d records read", s.streams, attrs["stream"], intAttr(attrs["read"])))
		return nil
	case "delivering":
		s.draw(fmt.Sprintf("sending to %s: %d requests answered (%s a second), %d events read",
			attrs["destination"], intAttr(attrs["requests_answered"]), attrs["requests_per_second"], intAttr(attrs["events_read"])))
		return nil
	case "crm sync done":
		s.streams++
		s.records += intAttr(attrs["loaded"])
		s.draw(fmt.Sprintf("syncing CRM: %d streams done", s.streams))
		return nil
	case "model built":
		s.models++
		s.rows += intAttr(attrs["rows"])
		s.draw(fmt.Sprintf("building models: %d built (%s), %d rows", s.models, attrs["model"].String(), s.rows))
		return nil
	}
	// Any other record: clear the progress line, print the record, and
	// let the next progress record draw again.
	s.clear()
	if r.Message == "stage done" || r.Message == "stage failed" || r.Message == "stage interrupted" {
		s.reset()
	}
	return h.next.Handle(ctx, r)
}

func intAttr(v slog.Value) int64 {
	switch v.Kind() {
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return int64(v.Uint64())
	case slog.KindFloat64:
		return int64(v.Float64())
	}
	return 0
}

func (s *state) draw(line string) {
	s.line = line
	// Redraw at most ten times a second: a terminal is slower than DuckDB.
	if time.Since(s.last) < 100*time.Millisecond && s.drawn {
		return
	}
	s.last = time.Now()
	fmt.Fprintf(s.w, "\r\033[K%s", line)
	s.drawn = true
}

func (s *state) clear() {
	if s.drawn {
		fmt.Fprint(s.w, "\r\033[K")
		s.drawn = false
	}
}

func (s *state) reset() {
	s.days, s.events, s.rejected, s.streams, s.records, s.models, s.rows = 0, 0, 0, 0, 0, 0, 0
	s.line = ""
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state, attrs: h.attrs}
}
