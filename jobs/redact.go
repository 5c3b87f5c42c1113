package jobs

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Redactor returns a function that replaces every non-empty secret in a
// string with [redacted], in each form it may take on the way to a log: as
// is, query- and path-escaped (URLs in net/http errors), and JSON-escaped
// (a vendor echoing it in a JSON error body).
func Redactor(secrets ...string) func(string) string {
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), jsonEscape(s)} {
			if !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, "[redacted]")
			}
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	return strings.NewReplacer(pairs...).Replace
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
