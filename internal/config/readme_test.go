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
