// Package chaos_test kills the real sam binary with SIGKILL at random points
// of `sam run` on the embedded engine, reruns it, and checks that the
// warehouse ends where a clean run ends and that the local GA4 sink never
// received an event twice.
package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

var samBin string

func TestMain(m *testing.M) { os.Exit(samtest.Main(m, &samBin)) }

// Sizes of the generated data: small enough that one run takes seconds.
const (
	genDays         = 7
	genEventsPerDay = 600
	genSeed         = 7
)

// workspace adds log watching to the shared harness's workspace.
type workspace struct{ *samtest.Workspace }

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := samtest.New(t, samBin)
	w.Generate(genDays, genEventsPerDay, genSeed)
	return &workspace{w}
}

// logLine is the part of a JSON log line the chaos test steers by.
type logLine struct {
	Message string `json:"message"`
	Stage   string `json:"stage"`
}

// watch starts `sam args...` and calls onLine with every JSON log line of
// its stderr as it arrives; the returned wait function returns the exit
// error and the whole stderr.
func (w *workspace) watch(ctx context.Context, onLine func(logLine), args ...string) (cmd *exec.Cmd, wait func() (string, error)) {
	w.T.Helper()
	cmd = w.Command(ctx, args...)
	cmd.Stdout = io.Discard
	pr, err := cmd.StderrPipe()
	if err != nil {
		w.T.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.T.Fatal(err)
	}
	var all bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			all.Write(sc.Bytes())
			all.WriteByte('\n')
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				onLine(l)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	return cmd, func() (string, error) {
		<-done // the pipe must be drained before Wait closes it
		err := cmd.Wait()
		return all.String(), err
	}
}
