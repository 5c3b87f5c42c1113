// Package iso4217 knows the active ISO 4217 currency codes (codes.txt,
// whose header says where the list comes from). It imports nothing of
// SAM's.
package iso4217

import (
	_ "embed"
	"strings"
)

//go:embed codes.txt
var codes string

// active is the set of codes; built once and never written again.
var active = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(codes, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, c := range strings.Fields(line) {
			m[c] = true
		}
	}
	return m
}()

// Active reports whether code is an active ISO 4217 currency code, in
// capitals.
func Active(code string) bool { return active[code] }
