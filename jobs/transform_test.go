package jobs

import (
	"strings"
	"testing"

	"github.com/sam-attribution/sam/transform"
)

// The test stage's summary says how many tests it could not run after the
// warehouse became unusable, beside those it ran.
func TestTestResultCountsTestsNotAttempted(t *testing.T) {
	rep := &transform.TestReport{
		Tests:        []transform.TestResult{{Name: "not_null(a.id)", Status: transform.TestError}},
		NotAttempted: []string{"unique(a.id)", "not_null(b.id)"},
	}
	got := testResult(rep).Detail
	if want := "tests passed 0 of 1; 2 not attempted (the warehouse became unusable)"; got != want {
		t.Errorf("detail %q, want %q", got, want)
	}
	if strings.Contains(testResult(&transform.TestReport{}).Detail, "not attempted") {
		t.Error("a report with every test run says some were not attempted")
	}
}
