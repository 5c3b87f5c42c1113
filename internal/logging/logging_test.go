package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
