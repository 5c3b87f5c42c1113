package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactCoversMessagesAttributesAndErrors(t *testing.T) {
	var buf bytes.Buffer
	hide := strings.NewReplacer("tok-123", "[redacted]").Replace
	log := slog.New(Redact(slog.NewJSONHandler(&buf, nil), hide)).With("base", "tok-123")
	log.Info("retrying: Bearer tok-123 refused",
		"error", errors.New("401: token tok-123 invalid"),
		slog.Group("req", "url", "https://x/?k=tok-123"),
		"n", 3)
	out := buf.String()
	if strings.Contains(out, "tok-123") {
		t.Fatalf("secret leaked: %s", out)
	}
	if strings.Count(out, "[redacted]") != 4 || !strings.Contains(out, `"n":3`) {
		t.Fatalf("want four redactions and other attributes intact: %s", out)
	}
}
