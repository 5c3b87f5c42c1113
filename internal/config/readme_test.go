package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestREADMEConfigurationIsCurrent keeps the README's configuration table
// equal to what the struct says. Regenerate with:
//
//	SAM_UPDATE_README=1 go test ./internal/config -run README
func TestREADMEConfigurationIsCurrent(t *testing.T) {
	const begin, end = "<!-- config:begin -->\n", "<!-- config:end -->"
	path := "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := Usage(&want); err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	have := s[i+len(begin) : j]
	if have == want.String() {
		return
	}
	if os.Getenv("SAM_UPDATE_README") == "1" {
		updated := s[:i+len(begin)] + want.String() + s[j:]
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's configuration table is stale; run SAM_UPDATE_README=1 go test ./internal/config -run README")
}

// The README says which settings are secrets, never in logs, errors or the
// ledger; it named four of the seven.
func TestREADMEListsEverySecret(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "Secrets (")
	if i < 0 {
		t.Fatal(`README.md has no list of secrets, "Secrets (…)"`)
	}
	list := s[i : i+strings.Index(s[i:], ")")]
	for _, v := range secretSettings(t) {
		if !strings.Contains(list, "`"+v+"`") {
			t.Errorf("README.md's list of secrets lacks %s", v)
		}
	}
}
