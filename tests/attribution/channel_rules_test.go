package attribution_test

import (
	"io/fs"
	"strings"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
)

// Spend and sessions must land in the same channels, or cost per lead
// divides one channel's spend by another's leads.
func TestSpendUsesSessionChannelRules(t *testing.T) {
	block := func(file string) string {
		b, err := fs.ReadFile(sqlmodels.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.Index(s, "-- channel rules: begin")
		j := strings.Index(s, "-- channel rules: end")
		if i < 0 || j < i {
			t.Fatalf("%s lacks the channel rules markers", file)
		}
		return s[i:j]
	}
	if spend, sessions := block("staging/stg_spend__daily.sql"), block("staging/stg_ga4__sessions.sql"); spend != sessions {
		t.Errorf("channel rules of stg_spend__daily differ from stg_ga4__sessions:\n%s\n---\n%s", spend, sessions)
	}
}
