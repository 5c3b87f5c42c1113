package jobs

import (
	"strings"
	"testing"
)

// The deploy definitions make every job read every secret, so a HubSpot
// deployment fills sam-salesforce-consumer-secret with a placeholder. With
// "x" before the GA4 api_secret in the redactor's list, strings.Replacer
// matched the "x" first and the rest of the api_secret reached the logs.
func TestRedactorHidesALongerSecretWhole(t *testing.T) {
	redact := Redactor("x", "xK9fA2-ga4secret")
	got := redact("POST https://example/mp/collect?api_secret=xK9fA2-ga4secret: connection reset")
	if strings.Contains(got, "K9fA2") {
		t.Errorf("part of the api_secret is left: %q", got)
	}
	if !strings.Contains(got, "api_secret=[redacted]") {
		t.Errorf("the api_secret is not redacted: %q", got)
	}
}

// A placeholder of a character or two is no secret, and redacting it
// wrote [redacted] for every space (SAM_GA4_API_SECRET=" ") or every x
// in every log line.
func TestRedactorLeavesPlaceholdersAlone(t *testing.T) {
	redact := Redactor(" ", "x", "-", "secret-of-a-real-length")
	in := "run extra-long text with spaces; token secret-of-a-real-length"
	want := "run extra-long text with spaces; token [redacted]"
	if got := redact(in); got != want {
		t.Errorf("redact(%q) = %q, want %q", in, got, want)
	}
}
