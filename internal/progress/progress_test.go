package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestProgressRecordsBecomeOneLine(t *testing.T) {
	var logs, term bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&logs, nil), &term)).With("stage", "transform")
	log.Info("model built", "model", "stg_ga4__events", "rows", 100)
	log.Info("model built", "model", "stg_ga4__sessions", "rows", 20)
	log.Info("stage done", "rows", 120)
	if strings.Contains(logs.String(), "model built") {
		t.Fatalf("per-model records should not scroll the terminal: %q", logs.String())
	}
	if !strings.Contains(logs.String(), "stage done") {
		t.Fatalf("other records pass through: %q", logs.String())
	}
	if !strings.Contains(term.String(), "building models: 1 built (stg_ga4__events), 100 rows") {
		t.Fatalf("progress line missing: %q", term.String())
	}
	if !strings.HasSuffix(term.String(), "\r\033[K") {
		t.Fatalf("the progress line must be cleared before other output: %q", term.String())
	}
}

func TestGA4DaysAreCounted(t *testing.T) {
	var logs, term bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&logs, nil), &term))
	log.Info("ga4: loaded export day", "table", "events_20260101", "read", 10, "loaded", 9, "rejected", 1)
	if !strings.Contains(term.String(), "1 days, 9 events loaded, 1 rejected") {
		t.Fatalf("progress line: %q", term.String())
	}
}

// The records a long stage logs while under way redraw the line too.
func TestWorkUnderWayRedrawsTheLine(t *testing.T) {
	for _, c := range []struct {
		log  func(*slog.Logger)
		want string
	}{
		{func(l *slog.Logger) { l.Info("ga4: loading the export", "days_checked", 120, "days", 365) },
			"loading GA4 export: 120 of 365 days checked"},
		{func(l *slog.Logger) {
			l.Info("crm sync progress", "source", "hubspot", "stream", "leads", "batches", 3, "read", 60000, "loaded", 59990, "rejected", 10)
		}, "syncing CRM: 0 streams done; leads: 60000 records read"},
		{func(l *slog.Logger) {
			l.With("destination", "ga4").Info("delivering", "events_read", 3903, "requests_answered", 1943, "events_answered", 3874, "requests_per_second", 194.3)
		}, "sending to ga4: 1943 requests answered (194.3 a second), 3903 events read"},
	} {
		var logs, term bytes.Buffer
		c.log(slog.New(New(slog.NewTextHandler(&logs, nil), &term)))
		if logs.Len() != 0 || !strings.Contains(term.String(), c.want) {
			t.Errorf("logged %q, drew %q; want only the line %q", logs.String(), term.String(), c.want)
		}
	}
}
