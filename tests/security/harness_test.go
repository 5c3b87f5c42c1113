// Package security_test checks what SAM promises about secrets, SQL
// identifiers from configuration, personal data and file permissions, by
// driving the real sam binary on the embedded engine.
package security_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/samtest"
)

var samBin string

func TestMain(m *testing.M) { os.Exit(samtest.Main(m, &samBin)) }

// workspace runs sam with extra environment and a SIGTERM deadline on top
// of the shared harness's workspace.
type workspace struct{ *samtest.Workspace }

// newWorkspace returns a workspace with days of sample data; its GA4 sink
// keeps its file outside the data folder, so tests can search each apart.
func newWorkspace(t *testing.T, days int) *workspace {
	t.Helper()
	w := &workspace{samtest.New(t, samBin)}
	w.Env = append(w.Env, "SAM_GA4_SINK_FILE="+w.Path("sink/ga4sink.ndjson"))
	if days > 0 {
		w.Generate(days, 600, 11)
	}
	return w
}

// result is one finished sam command.
type result struct {
	args           []string
	stdout, stderr string
	err            error
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("sam %s: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.err, samtest.Tail(r.stdout, 3000), samtest.Tail(r.stderr, 3000))
}

// sam runs the binary with the workspace's environment plus extra. A
// command still running after stopAfter (when set) gets SIGTERM, as a
// scheduler would send it, then is killed if it does not stop.
func (w *workspace) samStop(extra []string, stopAfter time.Duration, args ...string) result {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if stopAfter > 0 {
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), stopAfter)
	}
	defer cancel()
	cmd := w.Command(ctx, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(append([]string(nil), w.Env...), extra...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{args: args, stdout: o.String(), stderr: e.String(), err: err}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}

func (w *workspace) sam(extra []string, args ...string) result {
	w.T.Helper()
	return w.samStop(extra, 0, args...)
}

func (w *workspace) mustSam(extra []string, args ...string) result {
	w.T.Helper()
	r := w.sam(extra, args...)
	if r.err != nil {
		w.T.Fatal(r)
	}
	return r
}
