// Package e2e_test drives the real sam binary end to end on the embedded
// engine: generated sample data, a DuckDB file, the local GA4 sink.
package e2e_test

import (
	"os"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

var samBin string

func TestMain(m *testing.M) { os.Exit(samtest.Main(m, &samBin)) }

// newWorkspace returns a workspace with days of sample data (seed 7).
func newWorkspace(t *testing.T, days int) *samtest.Workspace {
	t.Helper()
	w := samtest.New(t, samBin)
	if days > 0 {
		w.Generate(days, 0, 7)
	}
	return w
}
