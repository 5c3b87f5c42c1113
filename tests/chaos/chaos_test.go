package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/samtest"
)

// stages of `sam run`, in order. A stage starts when the one before it logs
// "stage done" (the first when the run logs "run started").
var stages = []string{"load_ga4", "load_crm", "load_spend", "transform", "test", "writeback"}

// modelPrefixes select the staging, intermediate and mart tables and views
// whose content must not depend on how many times a run was killed.
var modelPrefixes = []string{"stg_", "int_", "fct_", "attribution_", "channel_", "writeback_queue", "seed_", "activation_events"}

// stageTrigger reports the stage whose start l announces, or -1.
func stageTrigger(l logLine) int {
	if l.Message == "run started" {
		return 0
	}
	if l.Message == "stage done" {
		for i, s := range stages[:len(stages)-1] {
			if l.Stage == s {
				return i + 1
			}
		}
	}
	return -1
}

// chaosRuns is SAM_CHAOS_RUNS, default 3.
func chaosRuns(t *testing.T) int {
	s := os.Getenv("SAM_CHAOS_RUNS")
	if s == "" {
		return 3
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("SAM_CHAOS_RUNS=%q: want a positive integer", s)
	}
	return n
}

// chaosSeed is SAM_CHAOS_SEED (to replay a failure), else random.
func chaosSeed(t *testing.T) uint64 {
	if s := os.Getenv("SAM_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SAM_CHAOS_SEED=%q: want an unsigned integer", s)
		}
		return n
	}
	return rand.Uint64()
}

// timedRun is `sam run` observed from outside: when each stage started,
// relative to the process start, and how the process ended.
type timedRun struct {
	starts  [6]time.Duration // -1: the stage never started
	elapsed time.Duration
	killed  bool
	err     error
	stderr  string
}

// durations returns how long each stage of a finished run took.
func (r timedRun) durations(t *testing.T) []time.Duration {
	t.Helper()
	d := make([]time.Duration, len(stages))
	for i, s := range r.starts {
		if s < 0 {
			t.Fatalf("stage %s never started (no start log line)", stages[i])
		}
		end := r.elapsed
		if i+1 < len(stages) {
			end = r.starts[i+1]
		}
		d[i] = max(end-s, time.Millisecond)
	}
	return d
}

// kill says when runSam kills the run: Delay after stage Stage started
// (Stage -1: never), or, when Growth names a file, as soon as that file
// grows after the stage started (at most Delay after it).
type kill struct {
	Stage  int
	Delay  time.Duration
	Growth string
}

var noKill = kill{Stage: -1}

// size is a file's size, 0 when it does not exist.
func size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// runSam runs `sam run` in w and sends it SIGKILL as k says (if the run
// gets that far and is still alive then).
func runSam(t *testing.T, w *workspace, k kill) timedRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		mu        sync.Mutex
		res       timedRun
		start     = time.Now()
		triggered = make(chan struct{})
		once      sync.Once
	)
	for i := range res.starts {
		res.starts[i] = -1
	}
	cmd, wait := w.watch(ctx, func(l logLine) {
		i := stageTrigger(l)
		if i < 0 {
			return
		}
		mu.Lock()
		res.starts[i] = time.Since(start)
		mu.Unlock()
		if i == k.Stage {
			once.Do(func() { close(triggered) })
		}
	}, "run")
	type exit struct {
		stderr string
		err    error
	}
	exited := make(chan exit, 1)
	go func() {
		s, err := wait()
		exited <- exit{s, err}
	}()
	var e exit
	select {
	case <-triggered:
		timer := time.NewTimer(k.Delay)
		var grew <-chan time.Time // ticks while watching k.Growth
		var from int64
		if k.Growth != "" {
			from = size(k.Growth)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			grew = tick.C
		}
	wait:
		for {
			select {
			case <-grew:
				if size(k.Growth) == from {
					continue
				}
			case <-timer.C:
			case e = <-exited:
				timer.Stop()
				break wait
			}
			_ = cmd.Process.Signal(syscall.SIGKILL) // kill -9
			e = <-exited
			break wait
		}
	case e = <-exited:
	}
	mu.Lock()
	defer mu.Unlock()
	res.elapsed = time.Since(start)
	res.err, res.stderr = e.err, e.stderr
	var ee *exec.ExitError
	if errors.As(e.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			res.killed = true
		}
	}
	return res
}

// crashWindow lists the keys the send log holds as in doubt: an intent
// without an outcome (the writer never resends them by itself).
func crashWindow(t *testing.T, w *workspace) map[string]bool {
	t.Helper()
	db := w.Open()
	defer db.Close()
	keys := samtest.QueryStrings(t, db, `SELECT idempotency_key FROM raw_writeback__send_log
		WHERE coalesce(destination, 'ga4') = 'ga4' GROUP BY idempotency_key
		HAVING sum(CASE WHEN status IN ('sent', 'accepted', 'rejected') THEN 1 ELSE 0 END) = 0
		   AND sum(CASE WHEN status = 'intent' THEN 1 WHEN status IN ('failed', 'released') THEN -1 ELSE 0 END) > 0`)
	out := map[string]bool{}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// inCrashWindow reports whether a run's failure is the one a crash window
// left by an earlier kill causes: exit 1 naming GA4 keys that may or may
// not have arrived, with such keys in the send log.
func inCrashWindow(t *testing.T, w *workspace, r timedRun) bool {
	return strings.Contains(r.stderr, "may or may not have arrived") && len(crashWindow(t, w)) > 0
}

// TestKillNineAnywhereThenRerun kills `sam run` with SIGKILL at random
// points of every stage in turn (SAM_CHAOS_RUNS times, default 3; a first
// run's writeback is killed the moment the sink receives its first request,
// since sending takes milliseconds), reruns it cleanly after every kill,
// and checks after every rerun that the models equal a clean run's and that
// the local GA4 sink never received an idempotency key twice. Every event
// of the clean run reached the sink exactly once or is reported in the
// writer's crash window. SAM_CHAOS_SEED replays a failed sequence.
func TestKillNineAnywhereThenRerun(t *testing.T) {
	runs := chaosRuns(t)
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("SAM_CHAOS_SEED=%d SAM_CHAOS_RUNS=%d", seed, runs)

	// The reference: one uninterrupted run, timed per stage so kill points
	// can be spread over each stage's real duration.
	ref := newWorkspace(t)
	clean := runSam(t, ref, noKill)
	if clean.err != nil {
		t.Fatalf("clean sam run: %v\n%s", clean.err, samtest.Tail(clean.stderr, 4000))
	}
	coldDurations := clean.durations(t)
	t.Logf("clean run %v; stage durations %v", clean.elapsed.Round(time.Millisecond), coldDurations)
	db := ref.Open()
	want := samtest.Checksums(t, db, modelPrefixes...)
	db.Close()
	if len(want) < 15 {
		t.Fatalf("too few models to compare: %v", want)
	}
	wantKeys := samtest.SinkCounts(t, ref.Path("data/ga4sink.ndjson"))
	if len(wantKeys) == 0 {
		t.Fatal("the clean run sent no events to the sink; nothing to check")
	}
	for k, n := range wantKeys {
		if n != 1 {
			t.Errorf("clean run: sink received key %s %d times", k, n)
		}
	}

	// Runs 1, 3, 5, … start on a fresh workspace (a first run: everything
	// is loaded, built and sent, timed by the clean run); runs 2, 4, …
	// continue the previous workspace (an incremental run with little to
	// do, timed by the rerun before it).
	var (
		w             *workspace
		warmDurations []time.Duration
		first         = rng.IntN(len(stages))
		killed        int
	)
	for k := range runs {
		durations := warmDurations
		kind := "warm"
		if k%2 == 0 {
			w, durations, kind = newWorkspace(t), coldDurations, "cold"
		}
		// Every stage in turn from a random one, each killed once in a
		// cold run and once in the warm run after it.
		stage := (first + k/2) % len(stages)
		delay := time.Duration(rng.Int64N(int64(durations[stage])))
		how := kill{Stage: stage, Delay: delay}
		if stages[stage] == "writeback" && kind == "cold" {
			// Sending takes milliseconds; kill in the middle of it, the
			// moment the sink has received a first request.
			how = kill{Stage: stage, Delay: durations[stage], Growth: w.Path("data/ga4sink.ndjson")}
		}
		r := runSam(t, w, how)
		switch {
		case r.killed:
			killed++
			when := fmt.Sprintf("%v into %s", delay.Round(time.Millisecond), stages[stage])
			if how.Growth != "" {
				when = "in " + stages[stage] + " when the sink received a first request"
			}
			t.Logf("run %d (%s): killed %s; the sink then had %d of the clean run's %d events",
				k+1, kind, when, len(samtest.SinkCounts(t, w.Path("data/ga4sink.ndjson"))), len(wantKeys))
		case r.err != nil && !inCrashWindow(t, w, r):
			t.Fatalf("run %d: sam run failed without being killed: %v\n%s", k+1, r.err, samtest.Tail(r.stderr, 4000))
		default:
			t.Logf("run %d (%s): finished before the kill (%v into %s)", k+1, kind, delay.Round(time.Millisecond), stages[stage])
		}

		// A rerun after a kill in writeback exits 1 while keys wait in
		// GA4's crash window: it must say so, and fail for nothing else.
		rerun := runSam(t, w, noKill)
		if rerun.err != nil && !inCrashWindow(t, w, rerun) {
			t.Fatalf("run %d: rerun after the kill failed: %v\nstderr:\n%s", k+1, rerun.err, samtest.Tail(rerun.stderr, 4000))
		}
		warmDurations = rerun.durations(t)

		db := w.Open()
		got := samtest.Checksums(t, db, modelPrefixes...)
		db.Close()
		var diff []string
		for name, sum := range want {
			if got[name] != sum {
				diff = append(diff, fmt.Sprintf("%s: after kill and rerun %s, clean run %s", name, got[name], sum))
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				diff = append(diff, name+": exists after the kill but not after a clean run")
			}
		}
		sort.Strings(diff)
		if len(diff) > 0 {
			db, refDB := w.Open(), ref.Open()
			for name, sum := range want {
				if got[name] != sum && got[name] != "" {
					diff = append(diff, name+":\n"+samtest.RowDiff(t, refDB, db, name, 5))
				}
			}
			db.Close()
			refDB.Close()
			t.Fatalf("run %d (killed %v into %s, seed %d): the state differs from a clean run's:\n%s",
				k+1, delay, stages[stage], seed, strings.Join(diff, "\n"))
		}

		gotKeys := samtest.SinkCounts(t, w.Path("data/ga4sink.ndjson"))
		window := crashWindow(t, w)
		for key, n := range gotKeys {
			if n > 1 {
				t.Errorf("run %d: the sink received key %s %d times", k+1, key, n)
			}
			if _, ok := wantKeys[key]; !ok {
				t.Errorf("run %d: the sink received key %s, which a clean run never sends", k+1, key)
			}
		}
		for key := range wantKeys {
			if gotKeys[key] == 0 && !window[key] {
				t.Errorf("run %d: key %s was neither sent nor reported in the crash window", k+1, key)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		// The crash window is the requests in flight: at most the
		// runner's default 8 senders × 25 events per GA4 request.
		if len(window) > 8*25 {
			t.Errorf("run %d: %d keys in the crash window, more than the bound of 200", k+1, len(window))
		}
		if len(window) > 0 {
			t.Logf("run %d: %d key(s) in the crash window (reported, not resent); the sink has %d of the clean run's %d", k+1, len(window), len(gotKeys), len(wantKeys))
		}
	}
	t.Logf("%d of %d runs killed; every rerun matched the clean run", killed, runs)
}
