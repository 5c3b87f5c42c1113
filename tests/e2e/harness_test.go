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

// mustRun runs `sam run` in w and stops the test, with the output's tail,
// when it fails.
func mustRun(t *testing.T, w *samtest.Workspace) {
	t.Helper()
	if stdout, stderr, err := w.Run("run"); err != nil {
		t.Fatalf("sam run: %v\n%s\n%s", err, samtest.Tail(stdout, 40), samtest.Tail(stderr, 40))
	}
}
