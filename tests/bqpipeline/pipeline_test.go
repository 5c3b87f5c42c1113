package bqpipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/tools/zetasql/zetasqltest"
	"github.com/sam-attribution/sam/warehouse"
)

const (
	project       = "sam-proj"
	dataset       = "sam"
	exportDataset = "analytics_123456"

	// trialsEnv sets how many SIGTERM trials run (default 1).
	trialsEnv = "SAM_BQ_PIPELINE_TRIALS"
	// logEnv=1 logs every statement the executor runs.
	logEnv = "SAM_BQ_PIPELINE_LOG"
	// afterEnv pins the number of query jobs before the SIGTERM.
	afterEnv = "SAM_BQ_PIPELINE_SIGTERM_AFTER"
)

var (
	env      *zetasqltest.Env
	workDir  string // holds the binary and the data
	samBin   string // the sam binary setup built
	dataDir  string // generated input data
	setupErr error
)

// setupOnce builds the sam binary and generates the data the first time a
// test needs them (not in TestMain, so that a skipped run costs nothing).
var setupOnce sync.Once

func TestMain(m *testing.M) {
	env = zetasqltest.Start()
	dir, err := os.MkdirTemp("", "bqpipeline")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	env.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup builds the sam binary and generates a small data set with it.
func setup(dir string) error {
	samBin = filepath.Join(dir, "sam")
	build := exec.Command("go", "build", "-o", samBin, "github.com/sam-attribution/sam/cmd/sam")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build sam: %v\n%s", err, out)
	}
	dataDir = filepath.Join(dir, "data")
	gen := exec.Command(samBin, "generate", "--out", dataDir, "--days", "2", "--seed", "7", "--events-per-day", "200")
	gen.Env = samEnv(nil)
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("sam generate: %v\n%s", err, out)
	}
	return nil
}

// samEnv is the environment without any SAM_ variable, plus extra.
func samEnv(extra []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAM_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the BigQuery pipeline test runs sam end to end (about a minute)")
	}
}

// world is one fake BigQuery with an executor and the export seeded.
type world struct {
	fake *bqfake.Server
	exec *Executor
	dir  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, nil)
}

// newWorldWith is newWorld with the export tables' schema changed by
// schema, when it is not nil.
func newWorldWith(t *testing.T, schema func(*bq.TableSchema)) *world {
	t.Helper()
	client := env.Client(t)
	setupOnce.Do(func() { setupErr = setup(workDir) })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	fake := bqfake.Start(t)
	fake.AddDataset(project, dataset, "US")
	fake.AddDataset(project, exportDataset, "US")
	x := NewExecutor(fake, client)
	if os.Getenv(logEnv) == "1" {
		x.Log = t.Logf
	}
	fake.SetQueryHandler(x.Handle)
	w := &world{fake: fake, exec: x, dir: t.TempDir()}
	w.seedExport(t, schema)
	return w
}

// seedExport creates events_YYYYMMDD in the export dataset from the
// generated NDJSON files.
func (w *world) seedExport(t *testing.T, change func(*bq.TableSchema)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "ga4", "events_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated GA4 export files in %s (%v)", dataDir, err)
	}
	schema := &bq.TableSchema{Fields: fields(ga4.ExportColumns())}
	if change != nil {
		change(schema)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber()
			var r map[string]any
			if err := d.Decode(&r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		w.fake.PutTable(project, exportDataset, name, &bq.Table{Schema: schema}, rows)
	}
}

func (w *world) env() []string {
	return samEnv([]string{
		"SAM_ENGINE=bigquery",
		"SAM_BQ_PROJECT=" + project,
		"SAM_BQ_DATASET=" + dataset,
		"SAM_BQ_ENDPOINT=" + w.fake.Endpoint(),
		"SAM_GA4_EXPORT_PROJECT=" + project,
		"SAM_GA4_EXPORT_DATASET=" + exportDataset,
		"SAM_CRM_SOURCE=file",
		"SAM_CRM_DIR=" + filepath.Join(dataDir, "crm"),
		"SAM_SPEND_DIR=" + filepath.Join(dataDir, "spend"),
		"SAM_FX_RATES_FILE=" + filepath.Join(dataDir, "fx_rates.csv"),
		"SAM_WRITEBACK_MODE=local",
		"SAM_GA4_SINK_FILE=" + w.sinkFile(),
		"SAM_LOG_FORMAT=text",
		"SAM_TRANSFORM_PARALLELISM=2",
	})
}

func (w *world) sinkFile() string { return filepath.Join(w.dir, "ga4sink.ndjson") }

// samCmd prepares `sam args...` against the world's fake.
func (w *world) samCmd(ctx context.Context, out *bytes.Buffer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, samBin, args...)
	cmd.Env = w.env()
	cmd.Dir = w.dir
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// run runs sam to completion and returns its exit code.
func (w *world) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := w.samCmd(ctx, &out, args...).Run()
	return exitCode(t, err), out.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run sam: %v", err)
	return -1
}

// latestStages returns each stage's latest ledger status for every run.
func (w *world) latestStages(t *testing.T) map[string]map[string]string {
	t.Helper()
	tb, ok := w.fake.Table(project, dataset, "sam_run_ledger")
	if !ok {
		return nil
	}
	type rec struct {
		status string
		at     string
	}
	latest := map[string]map[string]rec{}
	for _, r := range tb.Rows {
		run, stage := fmt.Sprint(r["run_id"]), fmt.Sprint(r["stage"])
		at := fmt.Sprint(r["recorded_at"])
		if latest[run] == nil {
			latest[run] = map[string]rec{}
		}
		if prev, ok := latest[run][stage]; !ok || timeKey(at) >= timeKey(prev.at) {
			latest[run][stage] = rec{fmt.Sprint(r["status"]), at}
		}
	}
	out := map[string]map[string]string{}
	for run, stages := range latest {
		out[run] = map[string]string{}
		for s, r := range stages {
			out[run][s] = r.status
		}
	}
	return out
}

func timeKey(s string) string {
	t, err := parseTime(s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02T15:04:05.000000000")
}

// published are the tables the issue names; every model is checked too.
var published = []string{"fct_lead_revenue", "attribution_touchpoints", "channel_performance", "writeback_queue",
	"int_attribution_paths", "int_markov_removal_effects", "int_shapley_path_credits"}

// checksums maps every table of SAM's dataset to a checksum of its rows
// (order-independent), leaving out columns that record when or by which run
// a row was written.
func (w *world) checksums(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range w.fake.TableIDs(project, dataset) {
		cols, rows, kind := w.contents(t, id)
		var lines []string
		for _, r := range rows {
			var b strings.Builder
			for i, c := range cols {
				if volatileColumn(c.Name) {
					continue
				}
				j, _ := json.Marshal(stored(c, r[i]))
				b.WriteString(c.Name + "=" + string(j) + ";")
			}
			lines = append(lines, b.String())
		}
		slices.Sort(lines)
		h := sha256.New()
		for _, l := range lines {
			h.Write([]byte(l + "\n"))
		}
		out[id] = fmt.Sprintf("%s:%d:%s", kind, len(lines), hex.EncodeToString(h.Sum(nil))[:16])
	}
	return out
}

// contents returns a table's columns and typed rows, or a view's as
// evaluated now, and which of the two it is.
func (w *world) contents(t *testing.T, id string) ([]warehouse.Column, [][]any, string) {
	t.Helper()
	tb, ok := w.fake.Table(project, dataset, id)
	if !ok {
		return nil, nil, "absent"
	}
	if tb.Meta.View != nil {
		cols, rows, err := w.exec.Query(context.Background(), project, "SELECT * FROM `"+project+"."+dataset+"."+id+"`")
		if err != nil {
			t.Fatalf("read view %s: %v", id, err)
		}
		return cols, rows, "view"
	}
	cols, err := columns(tb.Meta.Schema.Fields)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, len(tb.Rows))
	for i, r := range tb.Rows {
		if rows[i], err = typedRow(cols, r); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	return cols, rows, "table"
}

// volatileColumn reports columns whose values depend on when or in which
// run a row was written.
func volatileColumn(name string) bool {
	switch name {
	case "run_id", "loaded_at", "built_at", "recorded_at", "started_at", "ended_at", "sent_at", "created_at", "updated_at", "synced_at", "_loaded_at", "bytes_processed", "bytes_billed", "detail", "error", "job_id", "inputs", "definition":
		return true
	}
	return strings.HasSuffix(name, "_at") || strings.HasSuffix(name, "_run_id")
}

func sinkEvents(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("GA4 sink file: %v", err)
	}
	return bytes.Count(data, []byte("\n"))
}

// cleanRun runs the whole pipeline once on a fresh fake and checks it.
func cleanRun(t *testing.T) (*world, map[string]string) {
	t.Helper()
	w := newWorld(t)
	start := time.Now()
	code, out := w.run(t, "run")
	st := w.exec.Stats()
	t.Logf("sam run: exit %d in %s; %d jobs, %d statements %v, %d evaluations (%s evaluating)",
		code, time.Since(start).Round(time.Millisecond), st.Jobs, st.Statements, st.Kinds, st.Evaluations, st.EvalTime.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("sam run exited %d:\n%s", code, out)
	}
	runs := w.latestStages(t)
	if len(runs) != 1 {
		t.Fatalf("ledger holds %d runs, want 1: %v", len(runs), runs)
	}
	for run, stages := range runs {
		if len(stages) == 0 {
			t.Fatalf("run %s recorded no stages", run)
		}
		for s, status := range stages {
			if status != "succeeded" {
				t.Errorf("run %s stage %s: %s, want succeeded", run, s, status)
			}
		}
		t.Logf("run %s stages: %v", run, stages)
	}
	for _, name := range published {
		_, rows, kind := w.contents(t, name)
		switch {
		case kind == "absent":
			t.Errorf("%s was not published", name)
		case len(rows) == 0 && name != "writeback_queue":
			// The queue excludes what writeback sent; it is checked
			// before writeback below.
			t.Errorf("%s %s is empty", kind, name)
		}
	}
	// The queue view leaves out what was sent: after a run that sent
	// everything it is empty, and the send log and the sink hold the events.
	_, sent, _ := w.contents(t, "raw_writeback__send_log")
	n := sinkEvents(t, w.sinkFile())
	if n == 0 || len(sent) == 0 {
		t.Errorf("writeback sent nothing: the local GA4 sink received %d events, the send log holds %d rows", n, len(sent))
	}
	t.Logf("GA4 sink received %d events; send log %d rows", n, len(sent))
	if t.Failed() {
		t.Logf("sam output:\n%s", out)
	}
	return w, w.checksums(t)
}

// clean is what a clean run produced: the reference TestSIGTERM compares
// interrupted runs with. (The run's fake and files belong to the test that
// made it and are gone after it.)
type clean struct {
	sums   map[string]string // checksums of every table
	models map[string]bool   // the tables and views models publish
	jobs   int               // query jobs the run made
	sent   int               // events the GA4 sink received
}

var cleanRef *clean

// reference returns the clean run, making it if no test has.
func reference(t *testing.T) *clean {
	t.Helper()
	if cleanRef == nil {
		w, sums := cleanRun(t)
		cleanRef = &clean{sums: sums, models: modelTables(t, w), jobs: w.exec.Stats().Jobs, sent: sinkEvents(t, w.sinkFile())}
	}
	return cleanRef
}

func TestPipeline(t *testing.T) {
	skipIfShort(t)
	ref := reference(t)
	for _, id := range slices.Sorted(maps.Keys(ref.sums)) {
		t.Logf("%-40s %s", id, ref.sums[id])
	}
}

// TestSIGTERM interrupts runs at random moments: each must exit 3 and
// leave every published table either absent or complete (as a clean run
// builds it), with no temporary table left under a model's name; a retry
// must then complete and publish what a clean run publishes.
func TestSIGTERM(t *testing.T) {
	skipIfShort(t)
	ref := reference(t)
	want := ref.sums
	isPublished := func(id string) bool { return ref.models[id] }
	trials := 1
	if s := os.Getenv(trialsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: %v", trialsEnv, err)
		}
		trials = n
	}
	rng := rand.New(rand.NewPCG(samtest.Seed(t), 1))
	for i := range trials {
		t.Run(fmt.Sprintf("trial%d", i), func(t *testing.T) {
			w := newWorld(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			// The executor sends the signal as the chosen query job starts,
			// so it lands while sam waits for that job.
			stopAt := jobsTarget(t, rng, ref.jobs, i, trials)
			var pid atomic.Int64
			w.exec.SetBeforeJob(func(n int) {
				if p := pid.Load(); n == stopAt && p > 0 {
					syscall.Kill(int(p), syscall.SIGTERM)
				}
			})
			var out bytes.Buffer
			cmd := w.samCmd(ctx, &out, "run")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid.Store(int64(cmd.Process.Pid))
			err := cmd.Wait()
			w.exec.SetBeforeJob(nil)
			code := exitCode(t, err)
			t.Logf("SIGTERM as query job %d of %d started: exit %d", stopAt, ref.jobs, code)
			// The interrupted run's ledger (when it got as far as writing
			// one) leaves no stage running.
			before := w.latestStages(t)
			for run, stages := range before {
				t.Logf("interrupted run %s: %v", run, stages)
				for s, status := range stages {
					if status == "running" {
						t.Errorf("interrupted run %s left stage %s running", run, s)
					}
				}
			}
			if code != 0 && code != 3 {
				t.Fatalf("interrupted sam run exited %d, want 3:\n%s", code, out.String())
			}
			if code == 0 {
				t.Logf("the run finished despite the signal:\n%s", tail(out.String(), 3000))
			}
			got := w.checksums(t)
			for id, sum := range got {
				if strings.Contains(id, "__sam_tmp") {
					continue // a temporary table, not published under a model's name
				}
				if strings.HasPrefix(sum, "view:") {
					// A view holds no data, so it cannot be partial; its
					// rows depend on the tables it reads.
					continue
				}
				if isPublished(id) && want[id] != sum {
					t.Errorf("after SIGTERM, %s is %s; a clean run has %s", id, sum, want[id])
				}
			}
			code, rout := w.run(t, "run")
			if code != 0 {
				t.Fatalf("retry exited %d:\n%s", code, rout)
			}
			for run, stages := range w.latestStages(t) {
				if _, old := before[run]; old {
					continue
				}
				for s, status := range stages {
					if status != "succeeded" {
						t.Errorf("retry run %s stage %s: %s, want succeeded", run, s, status)
					}
				}
			}
			got = w.checksums(t)
			for id, sum := range want {
				if !isPublished(id) {
					continue
				}
				if got[id] != sum {
					t.Errorf("after the retry, %s is %s; a clean run has %s", id, got[id], sum)
				}
			}
			for id := range got {
				if strings.Contains(id, "__sam_tmp") {
					t.Errorf("the retry left temporary table %s", id)
				}
			}
			// Between them, the interrupted run and the retry sent every
			// event once.
			if n := sinkEvents(t, w.sinkFile()); n != ref.sent {
				t.Errorf("the GA4 sink received %d events over the interrupted run and the retry; a clean run sends %d", n, ref.sent)
			}
		})
	}
}

// jobsTarget picks how many query jobs to let run before the signal:
// $SAM_BQ_PIPELINE_SIGTERM_AFTER when set, else a random number in trial
// i's share of the clean run's jobs, so that more trials spread the signal
// over the whole run.
func jobsTarget(t *testing.T, rng *rand.Rand, n, i, trials int) int {
	t.Helper()
	if s := os.Getenv(afterEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: %v", afterEnv, err)
		}
		return n
	}
	lo, hi := i*n/trials, (i+1)*n/trials
	return 1 + lo + rng.IntN(max(hi-lo-1, 1))
}

// modelTables returns the tables and views the transform publishes: the
// models the clean run recorded in its state table.
func modelTables(t *testing.T, w *world) map[string]bool {
	t.Helper()
	tb, ok := w.fake.Table(project, dataset, "sam_model_state")
	if !ok {
		t.Fatal("the clean run left no sam_model_state table")
	}
	out := map[string]bool{}
	for _, r := range tb.Rows {
		out[fmt.Sprint(r["model"])] = true
	}
	return out
}

// tail returns the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// A GA4 export dataset in another location than SAM's dataset cannot be
// read by SAM's jobs. Before, the load stage of a started run failed on
// BigQuery's "Not found"; sam now stops before any work, naming the
// variable.
func TestExportDatasetInAnotherLocationStopsBeforeWork(t *testing.T) {
	w := newWorld(t)
	w.fake.AddDataset(project, exportDataset, "EU")
	code, out := w.run(t, "run", "--stages", "load_ga4")
	if code != 2 || !strings.Contains(out, "SAM_GA4_EXPORT_DATASET") || !strings.Contains(out, "is in location EU") {
		t.Fatalf("exit %d, output:\n%s\nwant exit 2 naming SAM_GA4_EXPORT_DATASET and the location", code, out)
	}
}

// GA4 export tables do not all order a record's fields alike: a real
// table-creation audit log has geo as continent, country, region, city,
// sub_continent, metro. Before, the copy inserted each record whole, which
// BigQuery matches by position: geo.city of the raw table held the
// continent, and a nested field GA4 adds would fail every copy.
func TestExportRecordsAreCopiedByFieldName(t *testing.T) {
	skipIfShort(t)
	w := newWorldWith(t, func(s *bq.TableSchema) {
		for _, f := range s.Fields {
			if f.Name != "geo" {
				continue
			}
			by := map[string]*bq.TableFieldSchema{}
			for _, g := range f.Fields {
				by[g.Name] = g
			}
			var order []*bq.TableFieldSchema
			for _, n := range []string{"continent", "country", "region", "city", "sub_continent", "metro"} {
				order = append(order, by[n])
				delete(by, n)
			}
			for _, g := range f.Fields {
				if by[g.Name] != nil {
					order = append(order, g)
				}
			}
			f.Fields = order
		}
	})
	if code, out := w.run(t, "run", "--stages", "load_ga4"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	_, rows, err := w.exec.Query(context.Background(), project,
		"SELECT COUNTIF(geo.city = geo.continent), COUNTIF(geo.continent IN ('Europe', 'Americas', 'Asia', 'Oceania', 'Africa')), COUNT(*) FROM `"+project+"."+dataset+".raw_ga4__events`")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rows[0][0]) != "0" || fmt.Sprint(rows[0][1]) == "0" {
		t.Errorf("raw geo: %v rows whose city is their continent, %v with a continent, of %v", rows[0][0], rows[0][1], rows[0][2])
	}
}

// Every load_ga4 copied its whole lookback from the export again, changed
// or not. Now a daily table is copied again only once it was written to
// after its copy: the real sam, its real BigQuery client and the export
// tables' last_modified_time as INFORMATION_SCHEMA.PARTITIONS reports it.
func TestAnExportTableIsCopiedAgainOnlyOnceWritten(t *testing.T) {
	skipIfShort(t)
	w := newWorld(t)
	load := func() string {
		t.Helper()
		before := len(w.fake.RequestsFor("jobs.insert"))
		if code, out := w.run(t, "run", "--stages", "load_ga4"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		var copied []string
		for _, r := range w.fake.RequestsFor("jobs.insert")[before:] {
			if q := r.Job.Configuration.Query; q != nil && strings.Contains(q.Query, "BEGIN TRANSACTION") {
				copied = append(copied, regexp.MustCompile(`DATE '[0-9-]+'`).FindAllString(q.Query, -1)...)
			}
		}
		return strings.Join(copied, " ")
	}
	if load() == "" {
		t.Fatal("the first load copied nothing")
	}
	if got := load(); got != "" {
		t.Errorf("with no export table written to, the load copied %s", got)
	}
	names := w.fake.TableIDs(project, exportDataset)
	last := names[len(names)-1]
	// GA4 rewrites the day's table with as many rows: only its last write
	// tells.
	tb, _ := w.fake.Table(project, exportDataset, last)
	rows := slices.Clone(tb.Rows)
	rows[0] = rows[1]
	w.fake.PutTable(project, exportDataset, last, tb.Meta, rows)
	day := strings.TrimPrefix(last, "events_")
	if got, want := load(), "DATE '"+day[:4]+"-"+day[4:6]+"-"+day[6:]+"'"; got != want {
		t.Errorf("after GA4 wrote to %s, the load copied %q, want %s only", last, got, want)
	}
}
