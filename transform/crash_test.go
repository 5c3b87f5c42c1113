package transform

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// The kill -9 test runs builds in a child process (this test binary, with
// crashChildEnv set), kills it with SIGKILL while it builds, and checks that
// the database it leaves behind pairs every published table with its state
// row: fct_channel carries the generation it was built for, and its state
// row must name the same generation.
const crashChildEnv = "SAM_TRANSFORM_CRASH_CHILD_DB"

func crashProject(t testing.TB) *Project {
	fsys := dirFS(t, "testdata/basic")
	src := string(fsys["marts/fct_channel.sql"].Data)
	fsys["marts/fct_channel.sql"].Data = []byte(strings.Replace(src, "select\n", "select\n  {{ var \"gen\" }} as gen,\n", 1))
	return mustLoad(t, fsys)
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestKillDuringBuild")
	}
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, path, duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := crashProject(t)
	start, _ := strconv.Atoi(os.Getenv(crashChildEnv + "_GEN"))
	for gen := start; ; gen++ {
		// A new day of raw data each round makes stg_events run
		// incrementally and int_daily rebuild, besides the version change.
		day := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, gen%300)
		if _, err := wh.Exec(ctx, fmt.Sprintf("INSERT INTO raw_app__events VALUES ('g%d', DATE '%s', 'u', 'email', 1.0)", gen, day.Format(time.DateOnly))); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		r := &Runner{WH: wh, Project: p, Vars: Vars{"gen": gen, "reporting_currency": "USD"}, RunID: fmt.Sprintf("gen%d", gen), Parallelism: 2}
		if _, err := r.Build(ctx, Selection{}, BuildOptions{}); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("built gen %d in %v\n", gen, time.Since(t0).Round(time.Millisecond))
	}
}

func TestKillDuringBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.duckdb")
	wh, err := duckdb.Open(ctx, path, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Exec(ctx, rawEvents); err != nil {
		t.Fatal(err)
	}
	wh.Close()

	// Kill at different moments of a build; the assertions hold wherever
	// the kill lands.
	for round, ms := range []time.Duration{0, 17, 37, 59, 83, 110, 173} {
		delay := ms * time.Millisecond
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashChildEnv+"_GEN="+strconv.Itoa(round*1000))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child exited before its first build", round)
		}
		last := make(chan string, 1)
		go func() {
			line := lines.Text()
			for lines.Scan() {
				line = lines.Text()
			}
			last <- line
		}()
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		lastLine := <-last

		wh, err := duckdb.Open(ctx, path, duckdb.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		f := &fixture{t: t, ctx: ctx, wh: wh}
		st := f.state()["fct_channel"]
		gens := f.rows("SELECT DISTINCT gen FROM fct_channel")
		if len(gens) != 1 || "gen"+gens[0][0] != st.RunID {
			t.Errorf("round %d: fct_channel holds generation %v but its state names %s", round, gens, st.RunID)
		}
		t.Logf("round %d: child's last line %q; after kill -9 fct_channel is at %s", round, lastLine, st.RunID)
		if dup := f.rows("SELECT COUNT(*) - COUNT(DISTINCT event_id) FROM stg_events"); dup[0][0] != "0" {
			t.Errorf("round %d: stg_events has %s duplicate rows", round, dup[0][0])
		}
		// The next run recovers: it builds whatever the kill interrupted.
		r := &Runner{WH: wh, Project: crashProject(t), Vars: Vars{"gen": -1, "reporting_currency": "USD"}, RunID: fmt.Sprintf("recover%d", round)}
		if _, err := r.Build(ctx, Selection{}, BuildOptions{}); err != nil {
			t.Errorf("round %d: build after kill: %v", round, err)
		}
		if err := wh.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
