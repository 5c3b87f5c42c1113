// Package activation_test holds the activation layer's crash tests: the
// runner, delivering to all four destinations' simulators with its ledger
// in a DuckDB file, is killed with SIGKILL, or stopped with SIGTERM, at
// random requests and rerun.
package activation_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	activationga4 "github.com/sam-attribution/sam/activation/ga4"
	"github.com/sam-attribution/sam/activation/googleads"
	"github.com/sam-attribution/sam/activation/linkedin"
	"github.com/sam-attribution/sam/activation/meta"
	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/tests/googleadssim"
	"github.com/sam-attribution/sam/tests/linkedinsim"
	"github.com/sam-attribution/sam/tests/metasim"
	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/tests/simcore"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

const (
	envChild = "SAM_ACTIVATION_CRASH_CHILD"
	envDB    = "SAM_ACTIVATION_CRASH_DB"
	envURLs  = "SAM_ACTIVATION_CRASH_URL_" // + GA4, ADS, META, LINKEDIN

	clients        = 20
	eventsPerLead  = 2 // sql and won
	leadsPerClient = 5
	events         = clients * leadsPerClient * eventsPerLead // 200
	concurrency    = 4
	smallBatch     = 10 // ad platforms' requests, so kills land in them too
)

// TestCrashChild is the process the crash tests kill or stop; it does
// nothing unless started by one of them. Like cmd/sam, it takes SIGTERM as
// a request to stop.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("child process of TestKillNineDuringActivation")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	db, err := duckdb.Open(ctx, os.Getenv(envDB), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := func(name string) string { return os.Getenv(envURLs + name) }
	ga4, err := activationga4.New(activationga4.Options{MeasurementID: "G-CRASH0001", APISecret: "s", Endpoint: url("GA4"), RatePerSecond: 100000, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	ads, err := googleads.New(googleads.Options{CustomerID: "1234567890", AccessToken: "t", Endpoint: url("ADS"),
		ConversionActions: map[string]string{"sql": "7003", "won": "7005"}, MaxBatch: 100,
		StatusWait: 2 * time.Second, StatusPoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := meta.New(meta.Options{AccessToken: "t", DatasetID: "123456789012345", EventNames: meta.DefaultEventNames(),
		LeadEventSource: "SAM", BaseURL: url("META"), MaxBatch: smallBatch, RequestsPerSecond: 10000, Burst: 100, RequireConsent: true})
	if err != nil {
		t.Fatal(err)
	}
	li, err := linkedin.New(linkedin.Options{AccessToken: "t", Conversions: map[string]string{"sql": "9003", "won": "9005"},
		BaseURL: url("LINKEDIN") + "/rest", MaxBatch: smallBatch, RequestsPerSecond: 10000, Burst: 100, RequireConsent: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &activation.Runner{Ledger: activation.NewWarehouseLedger(db), Events: activation.WarehouseEvents{WH: db},
		Destinations: []activation.Destination{ga4, ads, mt, li}, Concurrency: concurrency}
	rep, err := r.Run(ctx, "child")
	if err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		t.Fatal(err)
	}
	// A rerun may end with keys in GA4's crash window: that is reported,
	// and it is what the parent checks.
	t.Logf("child done: %+v", rep)
}

// TestKillNineDuringActivation kills the runner at 20 random requests
// (SAM_ACTIVATION_KILLS to change), each time on a fresh ledger and fresh
// simulators, after the destination has processed the request and before
// the runner hears back, then reruns it. No destination may take effect
// twice; every event reaches the dedup destinations in the end; GA4's
// events either arrived once or wait in its crash window, which holds no
// more than the requests in flight (concurrency × 25).
func TestKillNineDuringActivation(t *testing.T) {
	kills, killed := signalRuns(t, syscall.SIGKILL, "SAM_ACTIVATION_KILLS", 20, 7)
	t.Logf("%d of %d runs were killed mid-activation; no destination took an effect twice", killed, kills)
}

// TestSIGTERMDuringActivation stops the runner with SIGTERM (Cloud Run at
// a task's timeout) at 10 random requests (SAM_ACTIVATION_STOPS to change),
// answered a moment after the signal, then reruns it. The requests under
// way finish within the stop grace, so beyond what the kill test checks,
// GA4's crash window stays empty: every GA4 event arrived exactly once.
func TestSIGTERMDuringActivation(t *testing.T) {
	signalRuns(t, syscall.SIGTERM, "SAM_ACTIVATION_STOPS", 10, 11)
}

// signalRuns runs crashOnce with sig at a random request, runs times (the
// variable env changes it), drawing from the test seed's stream; it
// returns the runs and how many the signal ended.
func signalRuns(t *testing.T, sig syscall.Signal, env string, runs int, stream uint64) (int, int) {
	if os.Getenv(envChild) == "1" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skipf("spawns %d processes", 2*runs)
	}
	if s := os.Getenv(env); s != "" {
		fmt.Sscan(s, &runs)
	}
	rng := rand.New(rand.NewPCG(samtest.Seed(t), stream))
	ended := 0
	for k := range runs {
		at := int64(1 + rng.IntN(60))
		if crashOnce(t, k, at, sig) {
			ended++
		}
		if t.Failed() {
			t.Fatalf("run %d, %v at request %d, failed (replay with the seed above)", k+1, sig, at)
		}
	}
	return runs, ended
}

type sims struct {
	ga4  *ga4sink.Sink
	ads  *googleadssim.Server
	meta *metasim.Server
	li   *linkedinsim.Server
}

// crashOnce runs one kill (SIGKILL) or stop (SIGTERM) and a rerun; it
// reports whether the signal ended the first run.
func crashOnce(t *testing.T, k int, killAt int64, sig syscall.Signal) bool {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "activation.duckdb")
	db, err := duckdb.Open(ctx, dbPath, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, eventsSQL); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var s sims
	if s.ga4, err = ga4sink.New(""); err != nil {
		t.Fatal(err)
	}
	fast := simcore.Limit{Rate: 100000, Burst: 1000}
	if s.ads, err = googleadssim.New(""); err != nil {
		t.Fatal(err)
	}
	s.ads.SetLimit(fast)
	if s.meta, err = metasim.New(""); err != nil {
		t.Fatal(err)
	}
	s.meta.SetLimit(fast)
	if s.li, err = linkedinsim.New(""); err != nil {
		t.Fatal(err)
	}
	s.li.SetLimit(fast)
	// The child's token, the one each simulator honours.
	s.ads.AllowToken("t")
	s.meta.AllowToken("t")
	s.li.AllowToken("t")
	defer s.ads.Close()
	defer s.meta.Close()
	defer s.li.Close()

	// Every request to any destination counts. Request killAt is
	// processed, then the child is killed before it hears the answer; or
	// the child is stopped and the request answered a moment later.
	var requests, childPID atomic.Int64
	killAtN := killAt
	wrap := func(h http.Handler) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == killAtN {
				if sig == syscall.SIGTERM {
					if pid := childPID.Load(); pid > 0 {
						_ = syscall.Kill(int(pid), syscall.SIGTERM)
					}
					time.Sleep(100 * time.Millisecond)
					h.ServeHTTP(w, r)
					return
				}
				h.ServeHTTP(httptest.NewRecorder(), r)
				if pid := childPID.Load(); pid > 0 {
					_ = syscall.Kill(int(pid), syscall.SIGKILL)
				}
				panic(http.ErrAbortHandler)
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	urls := map[string]string{
		"GA4": wrap(s.ga4.Handler()).URL, "ADS": wrap(s.ads.Handler()).URL,
		"META": wrap(s.meta.Handler()).URL, "LINKEDIN": wrap(s.li.Handler()).URL,
	}
	var childOut []byte
	runChild := func() error {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.count=1", "-test.v")
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		defer func() { childOut = []byte(out.String()) }()
		cmd.Env = append(os.Environ(), envChild+"=1", envDB+"="+dbPath)
		for name, u := range urls {
			cmd.Env = append(cmd.Env, envURLs+name+"="+u)
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		childPID.Store(int64(cmd.Process.Pid))
		err := cmd.Wait()
		childPID.Store(0)
		return err
	}
	err = runChild()
	var exit *exec.ExitError
	wasKilled := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled()
	if sig == syscall.SIGTERM {
		// The child stops cleanly: Run returns and the test passes.
		wasKilled = requests.Load() >= killAt
		if err != nil {
			t.Fatalf("run %d: the stopped child failed: %v\n%s", k+1, err, childOut)
		}
	}
	if err != nil && !wasKilled {
		t.Fatalf("run %d: child failed without the kill: %v\n%s", k+1, err, childOut)
	}
	killAtN = -1 // the rerun runs to the end
	if err := runChild(); err != nil {
		t.Fatalf("run %d: rerun failed: %v\n%s", k+1, err, childOut)
	}

	db, err = duckdb.Open(ctx, dbPath, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ledger := activation.NewWarehouseLedger(db)
	for _, d := range []struct {
		name  string
		stats func() simcore.Stats
	}{{"google_ads", s.ads.Stats}, {"meta", s.meta.Stats}, {"linkedin", s.li.Stats}} {
		st := d.stats()
		if len(st.DoubleEffects) > 0 {
			t.Errorf("run %d: %s took effect twice for %v", k+1, d.name, st.DoubleEffects)
		}
		states, err := ledger.States(ctx, d.name)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, ks := range states {
			if ks.Done() && !ks.Open {
				done++
			}
		}
		if done != events || st.Effects != events {
			t.Errorf("run %d: %s: %d of %d events done in the ledger, %d took effect", k+1, d.name, done, events, st.Effects)
		}
	}
	states, err := ledger.States(ctx, "ga4")
	if err != nil {
		t.Fatal(err)
	}
	received := s.ga4.Counts()
	open := 0
	for key, n := range received {
		if n > 1 {
			t.Errorf("run %d: GA4 received %s %d times", k+1, key, n)
		}
	}
	for key, ks := range states {
		switch {
		case ks.Open:
			open++
		case received[key] != 1:
			t.Errorf("run %d: GA4 key %s is %s in the ledger but arrived %d times", k+1, key, ks.Last, received[key])
		}
	}
	if len(states) != events {
		t.Errorf("run %d: the GA4 ledger knows %d of %d events", k+1, len(states), events)
	}
	if sig == syscall.SIGTERM && open > 0 {
		t.Errorf("run %d: %d GA4 keys in the crash window after a SIGTERM, want none", k+1, open)
	}
	if open > concurrency*activationga4.MaxEventsPerRequest {
		t.Errorf("run %d: %d GA4 keys in the crash window, more than %d requests of 25 in flight", k+1, open, concurrency)
	}
	t.Logf("run %d: %v at request %d (ended the run: %v); GA4 crash window %d; requests %d", k+1, sig, killAt, wasKilled, open, requests.Load())
	return wasKilled
}

// eventsSQL is the activation_events table of the crash test: 100 leads of
// 20 clients with an sql and a won event each, recent enough for every
// destination's window, consented, with a gclid and hashed emails.
const eventsSQL = `CREATE TABLE activation_events AS
SELECT
  md5('crash-' || i) AS event_key,
  'L' || (i // 2) AS lead_id,
  CASE WHEN i % 2 = 0 THEN 'sql' ELSE 'won' END AS stage,
  now()::TIMESTAMP - INTERVAL 1 HOUR AS event_at,
  now()::TIMESTAMP - INTERVAL 2 HOUR AS lead_created_at,
  CAST(100 + i AS DECIMAL(38, 9)) AS value,
  'USD' AS currency,
  CASE WHEN i % 2 = 0 THEN 'predicted' ELSE 'actual' END AS value_kind,
  CAST(NULL AS VARCHAR) AS reason,
  (500000 + (i // 10)) || '.' || (1700000000 + (i // 10)) AS client_key,
  CAST(NULL AS BIGINT) AS ga_session_id,
  now()::TIMESTAMP - INTERVAL 1 HOUR AS last_session_at,
  'Cj0KCQiA' || lpad(CAST(i // 2 AS VARCHAR), 8, '0') AS gclid,
  now()::TIMESTAMP - INTERVAL 3 HOUR AS click_at,
  CAST(100000000000000 + (i // 2) AS VARCHAR) AS meta_lead_id,
  CAST(NULL AS VARCHAR) AS li_fat_id,
  sha256('lead' || (i // 2) || '@example.com') AS email_sha256,
  sha256('lead' || (i // 2) || '@example.com') AS email_sha256_google,
  'granted' AS ad_consent,
  CAST(NULL AS VARCHAR) AS gbraid,
  CAST(NULL AS VARCHAR) AS wbraid,
  CAST(NULL AS VARCHAR) AS former_lead_ids
FROM range(` + "200" + `) AS t(i)`
