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
