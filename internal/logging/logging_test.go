package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestJSONUsesCloudLoggingFields(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, Options{Format: "json", Level: "info"})
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("stage done", "rows", 42)
	log.Debug("hidden")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", buf.String(), err)
	}
	if rec["severity"] != "WARNING" || rec["message"] != "stage done" || rec["rows"] != float64(42) {
		t.Fatalf("unexpected record %v", rec)
	}
	if _, ok := rec["level"]; ok {
		t.Fatalf("level key should be renamed: %v", rec)
	}
}

// A duration reads the same in every JSON line. Before, slog wrote
// time.Duration as integer nanoseconds ("duration":522000000 for a model
// built), beside the stage summary's "980ms".
func TestJSONWritesDurationsAsText(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, Options{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("model built", "duration", 522*time.Millisecond, slog.Group("g", "elapsed", 1500*time.Millisecond))
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", buf.String(), err)
	}
	if rec["duration"] != "522ms" {
		t.Errorf("duration %#v, want \"522ms\"", rec["duration"])
	}
	if g, _ := rec["g"].(map[string]any); g["elapsed"] != "1.5s" {
		t.Errorf("group %#v, want elapsed \"1.5s\"", rec["g"])
	}
}

func TestAutoIsJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, Options{Format: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Fatalf("want JSON, got %q", buf.String())
	}
}

func TestRejectsUnknownLevel(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Level: "loud"}); err == nil {
		t.Fatal("want error for unknown level")
	}
}
