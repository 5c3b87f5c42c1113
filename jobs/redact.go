package jobs

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Redactor returns a function that replaces every secret in a string with
// [redacted], in each form it may take on the way to a log: as is, query-
// and path-escaped (URLs in net/http errors), and JSON-escaped (a vendor
// echoing it in a JSON error body). The longest form is replaced first, so
// a secret that begins another hides none of it. A value shorter than
// minRedacted is no credential (a placeholder of an unused service's
// secret, " " or "x"): redacting it would write [redacted] for every such
// character in every log line, so it is left alone.
func Redactor(secrets ...string) func(string) string {
	var forms []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < minRedacted {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), jsonEscape(s)} {
			if !seen[form] {
				seen[form] = true
				forms = append(forms, form)
			}
		}
	}
	if len(forms) == 0 {
		return func(s string) string { return s }
	}
	// strings.Replacer takes, at each position, the first pair that
	// matches in argument order.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "[redacted]")
	}
	return strings.NewReplacer(pairs...).Replace
}

// minRedacted is the shortest value Redactor takes for a secret.
const minRedacted = 6

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
