package transform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// rawEvents is the source of the basic test project: two channels over
// four days.
const rawEvents = `CREATE TABLE raw_app__events AS
SELECT event_id, event_date, user_id, channel, CAST(amount AS DOUBLE) AS amount FROM (VALUES
  ('e1', DATE '2024-01-01', 'u1', 'Email',  10.0),
  ('e2', DATE '2024-01-01', 'u2', 'search', 20.0),
  ('e3', DATE '2024-01-02', 'u1', 'email',   5.0),
  ('e4', DATE '2024-01-03', 'u3', 'search',  1.0),
  ('e5', DATE '2024-01-04', 'u3', 'search',  2.0)
) AS t(event_id, event_date, user_id, channel, amount)`

type fixture struct {
	t   *testing.T
	ctx context.Context
	wh  warehouse.Warehouse
	fs  fstest.MapFS
	run int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	f := &fixture{t: t, ctx: ctx, wh: wh, fs: dirFS(t, "testdata/basic")}
	f.exec(rawEvents)
	return f
}

func (f *fixture) exec(sql string) {
	f.t.Helper()
	if _, err := f.wh.Exec(f.ctx, sql); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

// rows returns a query's result with every value formatted.
func (f *fixture) rows(sql string) [][]string {
	f.t.Helper()
	r, err := f.wh.Query(f.ctx, sql)
	if err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	data, err := warehouse.CollectRows(r)
	if err != nil {
		f.t.Fatal(err)
	}
	var out [][]string
	for _, row := range data {
		var cells []string
		for _, v := range row {
			cells = append(cells, warehouse.Format(v))
		}
		out = append(out, cells)
	}
	return out
}

func (f *fixture) runner() *Runner {
	f.t.Helper()
	f.run++
	return &Runner{
		WH: f.wh, Project: mustLoad(f.t, f.fs), Vars: testVars, Parallelism: 2,
		RunID: fmt.Sprintf("run%d", f.run),
		Now:   func() time.Time { return time.Date(2024, 1, 10, 0, 0, f.run, 0, time.UTC) },
	}
}

func (f *fixture) build(sel string, opts BuildOptions) (*BuildReport, error) {
	f.t.Helper()
	s, err := ParseSelection(sel)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.runner().Build(f.ctx, s, opts)
}

func (f *fixture) mustBuild(sel string) *BuildReport {
	f.t.Helper()
	rep, err := f.build(sel, BuildOptions{})
	if err != nil {
		f.t.Fatalf("Build: %v", err)
	}
	return rep
}

func (f *fixture) state() map[string]State {
	f.t.Helper()
	st, err := LoadState(f.ctx, f.wh)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) edit(file, old, new string) {
	f.t.Helper()
	src := string(f.fs[file].Data)
	if !strings.Contains(src, old) {
		f.t.Fatalf("%s does not contain %q", file, old)
	}
	f.fs[file] = &fstest.MapFile{Data: []byte(strings.Replace(src, old, new, 1))}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func TestBuildFromScratchThenNothing(t *testing.T) {
	f := newFixture(t)
	rep := f.mustBuild("")
	want := []string{"fct_channel", "int_daily", "rpt_channel", "seed_channels", "stg_events"}
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, want) {
		t.Fatalf("built %v, want %v", got, want)
	}
	if got := f.rows("SELECT channel, priority, events, amount, currency, amount_per_event FROM rpt_channel JOIN fct_channel USING (channel, events, amount) ORDER BY channel"); !reflect.DeepEqual(got, [][]string{
		{"email", "1", "2", "15", "USD", "7.5"},
		{"search", "2", "3", "23", "USD", "7.666666666666667"},
	}) {
		t.Errorf("rpt_channel = %v", got)
	}
	if len(rep.Tests) == 0 {
		t.Error("no data tests ran")
	}
	for _, tr := range rep.Tests {
		if tr.Status != TestPass {
			t.Errorf("%s", tr)
		}
	}
	st := f.state()
	if st["stg_events"].Rows != 5 || st["stg_events"].Partitions != "all" || st["seed_channels"].Rows != 3 || st["fct_channel"].RunID != "run1" {
		t.Errorf("state = %+v", st)
	}

	rep = f.mustBuild("")
	if got := rep.Built(); len(got) != 0 {
		t.Errorf("second build rebuilt %v, want nothing", got)
	}
	for _, m := range rep.Models {
		if m.Status != StatusSkipped {
			t.Errorf("%s: %s, want skipped", m.Model, m.Status)
		}
	}
	if n := f.rows("SELECT COUNT(*) FROM sam_model_state")[0][0]; n != "5" {
		t.Errorf("state rows = %s, want 5 (one per model, second run recorded nothing)", n)
	}
}

func TestChangedModelRebuildsItAndDownstream(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	before := f.state()
	f.edit("intermediate/int_daily.sql", "sum(amount) as amount", "sum(amount) * 2 as amount")

	r := f.runner()
	plan, err := r.Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"int_daily", "fct_channel", "rpt_channel"}
	if got := plan.Rebuilds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan rebuilds %v, want %v", got, want)
	}
	for _, it := range plan.Items {
		switch it.Model {
		case "int_daily":
			if !reflect.DeepEqual(it.Reasons, []string{"SQL or config changed"}) {
				t.Errorf("int_daily reasons = %v", it.Reasons)
			}
		case "fct_channel":
			if !reflect.DeepEqual(it.Reasons, []string{"upstream changed: int_daily"}) {
				t.Errorf("fct_channel reasons = %v", it.Reasons)
			}
		}
	}

	rep, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, sorted(want)) {
		t.Errorf("built %v, want %v", got, want)
	}
	after := f.state()
	for _, m := range []string{"seed_channels", "stg_events"} {
		if after[m].RunID != before[m].RunID || after[m].Version != before[m].Version {
			t.Errorf("%s was rebuilt: %+v", m, after[m])
		}
	}
	for _, m := range want {
		if after[m].RunID != r.RunID || after[m].Version == before[m].Version {
			t.Errorf("%s state not updated: %+v", m, after[m])
		}
	}
	if got := f.rows("SELECT amount FROM fct_channel WHERE channel = 'email'"); got[0][0] != "30" {
		t.Errorf("email amount = %v, want 30", got)
	}
}

func TestIncrementalReplacesLookbackPartitionsOnly(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	// New day, a late change inside the lookback window (2024-01-03 is the
	// newest built day 2024-01-04 minus lookback_days 1), and a change to an
	// old day that an incremental run must not see.
	f.exec(`INSERT INTO raw_app__events VALUES ('e6', DATE '2024-01-05', 'u4', 'email', 100.0)`)
	f.exec(`UPDATE raw_app__events SET amount = 50.0 WHERE event_id = 'e4'`)
	f.exec(`UPDATE raw_app__events SET amount = 999.0 WHERE event_id = 'e1'`)

	r := f.runner()
	plan, err := r.Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Rebuilds(); !reflect.DeepEqual(got, []string{"stg_events", "int_daily", "fct_channel"}) {
		t.Errorf("plan rebuilds %v", got)
	}
	if it, _ := plan.Item("stg_events"); it.Action != ActionIncremental || !it.Since.Equal(time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("stg_events plan = %+v", it)
	}
	if _, err := r.Build(f.ctx, Selection{}, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.state()["stg_events"].Partitions; got != "2024-01-03,2024-01-04,2024-01-05" {
		t.Errorf("partitions built = %q", got)
	}
	got := f.rows("SELECT event_id, event_date, amount FROM stg_events ORDER BY event_id")
	want := [][]string{
		{"e1", "2024-01-01", "10"}, // outside the window: untouched
		{"e2", "2024-01-01", "20"},
		{"e3", "2024-01-02", "5"},
		{"e4", "2024-01-03", "50"}, // inside: replaced
		{"e5", "2024-01-04", "2"},
		{"e6", "2024-01-05", "100"}, // new
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stg_events = %v, want %v", got, want)
	}
	// The unchanged view reads the swapped-in fct_channel.
	if got := f.rows("SELECT amount FROM rpt_channel WHERE channel = 'email'"); got[0][0] != "115" {
		t.Errorf("rpt_channel email amount = %v, want 115", got)
	}

	// A full refresh sees the old day's change too.
	if _, err := f.build("stg_events", BuildOptions{FullRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.rows("SELECT amount FROM stg_events WHERE event_id = 'e1'"); got[0][0] != "999" {
		t.Errorf("after full refresh e1 amount = %v", got)
	}
}

func TestIncrementalRowsOutsideWindowFail(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.edit("staging/stg_events.sql", `where {{ incremental_filter "event_date" }}`, `where {{ if is_incremental }}TRUE{{ else }}{{ incremental_filter "event_date" }}{{ end }}`)
	// The edit changes the version; build once so the next run is incremental.
	f.mustBuild("")
	f.exec(`INSERT INTO raw_app__events VALUES ('e6', DATE '2024-01-05', 'u4', 'email', 100.0)`)
	_, err := f.build("stg_events", BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "staging/stg_events.sql") || !strings.Contains(err.Error(), "before the window starting 2024-01-03") {
		t.Fatalf("error = %v", err)
	}
	if n := f.rows("SELECT COUNT(*) FROM stg_events")[0][0]; n != "5" {
		t.Errorf("stg_events has %s rows, want the 5 published before", n)
	}
	if _, err := f.wh.Describe(f.ctx, "stg_events"+tmpSuffix); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("temporary table left behind: %v", err)
	}
}

func TestFailedModelSkipsDownstreamOnly(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.edit("intermediate/int_daily.sql", "  count(*) as events,", "  count(*) as events,\n  no_such_column as x,")
	f.edit("staging/stg_events.sql", "lower(channel) as channel", "lower(channel) as channel, 1 as v")
	rep, err := f.build("", BuildOptions{})
	var runErr *RunError
	if !errors.As(err, &runErr) {
		t.Fatalf("error = %v, want a *RunError", err)
	}
	msg := err.Error()
	for _, w := range []string{"model int_daily: intermediate/int_daily.sql:", "no_such_column", "model fct_channel: not built: upstream int_daily failed", "model rpt_channel: not built: upstream fct_channel was not built"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	status := map[string]ModelStatus{}
	for _, m := range rep.Models {
		status[m.Model] = m.Status
	}
	if !reflect.DeepEqual(status, map[string]ModelStatus{
		"seed_channels": StatusSkipped, "stg_events": StatusBuilt, "int_daily": StatusFailed,
		"fct_channel": StatusUpstreamFailed, "rpt_channel": StatusUpstreamFailed,
	}) {
		t.Errorf("statuses = %v", status)
	}
	// What was published before stays readable.
	if got := f.rows("SELECT SUM(events) FROM int_daily"); got[0][0] != "5" {
		t.Errorf("int_daily after failure = %v", got)
	}
	if got := f.rows("SELECT COUNT(*) FROM rpt_channel"); got[0][0] != "2" {
		t.Errorf("rpt_channel after failure = %v", got)
	}
	if _, err := f.wh.Describe(f.ctx, "int_daily"+tmpSuffix); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("temporary table left behind after a failed query: %v", err)
	}
}

func TestErrorNamesModelLine(t *testing.T) {
	f := newFixture(t)
	f.edit("marts/fct_channel.sql", "group by d.channel, c.priority", "group by d.channel, c.priority,,")
	_, err := f.build("", BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "model fct_channel: marts/fct_channel.sql:18: ") {
		t.Errorf("error = %v, want it to name marts/fct_channel.sql:18", err)
	}
}

// failingWH fails the publish transaction of one model just before COMMIT,
// after the old table was dropped and the new one renamed in its place.
type failingWH struct {
	warehouse.Warehouse
	model string
}

func (w failingWH) Exec(ctx context.Context, sql string, opts ...any) (warehouse.Result, error) {
	if strings.Contains(sql, "RENAME TO \""+w.model+"\"") {
		sql = strings.Replace(sql, ";\nCOMMIT", ";\nSELECT error('injected failure before commit');\nCOMMIT", 1)
	}
	return w.Warehouse.Exec(ctx, sql, opts...)
}

func TestPublishIsAtomic(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	before := f.state()["fct_channel"]
	f.edit("marts/fct_channel.sql", "sum(d.amount) as amount", "sum(d.amount) + 1000 as amount")
	r := f.runner()
	r.WH = failingWH{Warehouse: f.wh, model: "fct_channel"}
	_, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("error = %v", err)
	}
	if got := f.rows("SELECT amount FROM fct_channel WHERE channel = 'email'"); got[0][0] != "15" {
		t.Errorf("fct_channel after failed publish = %v, want the old 15", got)
	}
	if got := f.state()["fct_channel"]; got.Version != before.Version || got.RunID != before.RunID {
		t.Errorf("state changed by a failed publish: %+v", got)
	}
	if _, err := f.wh.Describe(f.ctx, "fct_channel"+tmpSuffix); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("temporary table left behind after a failed publish: %v", err)
	}
	// The next run publishes normally, replacing the leftover.
	f.mustBuild("")
	if got := f.rows("SELECT amount FROM fct_channel WHERE channel = 'email'"); got[0][0] != "1015" {
		t.Errorf("fct_channel after rebuild = %v", got)
	}
}

func TestDataTestFailureShowsRows(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO raw_app__events VALUES (NULL, DATE '2024-01-02', 'u9', 'email', -1.0), ('e7', DATE '2024-01-02', 'u9', 'tv', 3.0)`)
	rep, err := f.build("", BuildOptions{})
	if err == nil {
		t.Fatal("build succeeded, want failing tests")
	}
	msg := err.Error()
	for _, w := range []string{
		"test not_null(stg_events.event_id) (staging/stg_events.sql): 1 offending row(s)",
		"test tests/no_negative_amounts (tests/no_negative_amounts.sql): 1 offending row(s)",
		"NULL | -1",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	// stg_events failed its tests: it stays published, its downstream waits.
	status := map[string]ModelStatus{}
	for _, m := range rep.Models {
		status[m.Model] = m.Status
	}
	if status["stg_events"] != StatusBuilt || status["int_daily"] != StatusUpstreamFailed {
		t.Errorf("statuses = %v", status)
	}

	// Without the NULL and the negative amount, accepted_values catches 'tv'.
	// (A full refresh: the NULL row's day lies before the incremental window.)
	f.exec(`DELETE FROM raw_app__events WHERE event_id IS NULL`)
	_, err = f.build("", BuildOptions{FullRefresh: true})
	if err == nil || !strings.Contains(err.Error(), "test accepted_values(fct_channel.channel)") || !strings.Contains(err.Error(), "tv | 1") {
		t.Errorf("error = %v", err)
	}
	// Test reruns the tests alone.
	sel, _ := ParseSelection("fct_channel")
	trep, err := f.runner().Test(f.ctx, sel)
	if err == nil || len(trep.Failed()) != 2 {
		t.Errorf("Test: err %v, failed %v", err, trep.Failed())
	}
}

func TestSelectionBuildsOnlySelected(t *testing.T) {
	f := newFixture(t)
	rep := f.mustBuild("+int_daily")
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, []string{"int_daily", "stg_events"}) {
		t.Errorf("built %v", got)
	}
	if _, err := f.wh.Describe(f.ctx, "fct_channel"); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("fct_channel exists: %v", err)
	}
}

func TestModelSwitchesBetweenViewAndTable(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.edit("marts/rpt_channel.sql", "materialized: view", "materialized: table")
	f.mustBuild("")
	f.edit("marts/rpt_channel.sql", "materialized: table", "materialized: view")
	f.mustBuild("")
	if got := f.rows("SELECT table_type FROM information_schema.tables WHERE table_name = 'rpt_channel'"); got[0][0] != "VIEW" {
		t.Errorf("rpt_channel is %v", got)
	}
}

func TestPlanOnEmptyWarehouse(t *testing.T) {
	f := newFixture(t)
	plan, err := f.runner().Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		if it.Action != ActionBuild || !reflect.DeepEqual(it.Reasons, []string{"new"}) {
			t.Errorf("%s: %s %v", it.Model, it.Action, it.Reasons)
		}
	}
	if _, err := f.wh.Describe(f.ctx, StateTable); !errors.Is(err, warehouse.ErrNotFound) {
		t.Error("Plan wrote the state table")
	}
}

func TestUnselectedUpstreamKeepsBuiltVersion(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.edit("staging/stg_events.sql", "amount\nfrom", "amount * 10 as amount\nfrom")
	// int_daily alone: stg_events is not rebuilt, so int_daily reads what it
	// read before and is up to date.
	if got := f.mustBuild("int_daily").Built(); len(got) != 0 {
		t.Errorf("built %v, want nothing", got)
	}
	f.mustBuild("stg_events")
	r := f.runner()
	sel, _ := ParseSelection("int_daily")
	plan, err := r.Plan(f.ctx, sel, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := plan.Item("int_daily"); it.Action != ActionBuild || !reflect.DeepEqual(it.Reasons, []string{"upstream changed: stg_events"}) {
		t.Errorf("int_daily plan = %s %v", it.Action, it.Reasons)
	}
}

// recordingWH records the options of every statement.
type recordingWH struct {
	warehouse.Warehouse
	mu   *sync.Mutex
	opts *[]warehouse.ExecOptions
}

func (w recordingWH) Exec(ctx context.Context, sql string, opts ...any) (warehouse.Result, error) {
	w.mu.Lock()
	*w.opts = append(*w.opts, warehouse.CollectOptions(opts))
	w.mu.Unlock()
	return w.Warehouse.Exec(ctx, sql, opts...)
}

func TestJobIDsAndLabels(t *testing.T) {
	f := newFixture(t)
	var opts []warehouse.ExecOptions
	r := f.runner()
	r.WH = recordingWH{Warehouse: f.wh, mu: &sync.Mutex{}, opts: &opts}
	sel, _ := ParseSelection("+int_daily")
	if _, err := r.Build(f.ctx, sel, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	version := f.state()["int_daily"].Version[:12]
	var ids []string
	for _, o := range opts {
		if o.Labels["sam_model"] == "int_daily" {
			if o.Labels["sam_run"] != "run1" {
				t.Errorf("labels = %v", o.Labels)
			}
			ids = append(ids, o.JobID)
		}
	}
	want := []string{"sam_run1_int_daily_" + version + "_fill", "sam_run1_int_daily_" + version + "_swap"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("job ids = %v, want %v", ids, want)
	}
}

// gateWH holds every model's fill statement until the test releases it.
type gateWH struct {
	warehouse.Warehouse
	arrived chan string
	release chan struct{}
}

func (w gateWH) Exec(ctx context.Context, sql string, opts ...any) (warehouse.Result, error) {
	if o := warehouse.CollectOptions(opts); strings.HasSuffix(o.JobID, "_fill") {
		w.arrived <- o.Labels["sam_model"]
		<-w.release
	}
	return w.Warehouse.Exec(ctx, sql, opts...)
}

func TestLevelRunsInParallelUpToParallelism(t *testing.T) {
	f := newFixture(t)
	table := []byte("/*\nmaterialized: table\n*/\nselect 1 as x")
	f.fs = fstest.MapFS{
		"staging/a.sql": {Data: table}, "staging/b.sql": {Data: table}, "staging/c.sql": {Data: table},
		"marts/d.sql": {Data: []byte(`/*
materialized: table
*/
select * from {{ ref "a" }} union all select * from {{ ref "b" }} union all select * from {{ ref "c" }}`)},
	}
	gate := gateWH{Warehouse: f.wh, arrived: make(chan string, 4), release: make(chan struct{})}
	r := f.runner()
	r.WH, r.Parallelism = gate, 2
	done := make(chan error, 1)
	go func() {
		_, err := r.Build(f.ctx, Selection{}, BuildOptions{})
		done <- err
	}()
	// Two models of level 0 must be in flight together...
	for i := 0; i < 2; i++ {
		select {
		case <-gate.arrived:
		case err := <-done:
			t.Fatalf("build ended early: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the models of one level did not run in parallel")
		}
	}
	// ...and no third while both hold their slots.
	select {
	case m := <-gate.arrived:
		t.Fatalf("%s started beyond Parallelism 2", m)
	default:
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := f.rows("SELECT COUNT(*) FROM d"); got[0][0] != "3" {
		t.Errorf("d has %v rows", got)
	}
}

func TestDroppedTableIsRebuilt(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.exec("DROP TABLE int_daily")
	f.exec("DROP TABLE stg_events")
	rep := f.mustBuild("")
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, []string{"int_daily", "stg_events"}) {
		t.Errorf("built %v, want the dropped tables", got)
	}
	for _, m := range rep.Models {
		if m.Model == "int_daily" && !reflect.DeepEqual(m.Reasons, []string{"missing from the warehouse"}) {
			t.Errorf("int_daily reasons = %v", m.Reasons)
		}
	}
}

func TestTableAfterViewSettles(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{
		"staging/a.sql":      {Data: []byte("/*\nmaterialized: table\n*/\nselect event_id, amount from {{ source \"app\" \"events\" }}")},
		"intermediate/v.sql": {Data: []byte(`select event_id, amount from {{ ref "a" }}`)},
		"marts/t.sql":        {Data: []byte("/*\nmaterialized: table\n*/\nselect sum(amount) as total from {{ ref \"v\" }}")},
	}
	f.mustBuild("")
	f.edit("intermediate/v.sql", "amount from", "amount * 2 as amount from")
	if got := sorted(f.mustBuild("").Built()); !reflect.DeepEqual(got, []string{"t", "v"}) {
		t.Errorf("after editing v built %v, want [t v]", got)
	}
	if got := f.mustBuild("").Built(); len(got) != 0 {
		t.Errorf("next build rebuilt %v, want nothing", got)
	}
	f.exec(`INSERT INTO raw_app__events VALUES ('e9', DATE '2024-01-09', 'u', 'email', 1.0)`)
	if got := sorted(f.mustBuild("").Built()); !reflect.DeepEqual(got, []string{"a", "t"}) {
		t.Errorf("after new data built %v, want [a t] (the view reads live)", got)
	}
	if got := f.rows("SELECT total FROM t"); got[0][0] != "78" {
		t.Errorf("t = %v, want 2 * 39", got)
	}
}

func TestChangedSeedReloadsAndRebuildsReaders(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.edit("seeds/channels.csv", "email,1,Email", "email,5,Email")
	// A seed ships with the code: its content is part of every downstream
	// version, so readers rebuild in full (views included).
	rep := f.mustBuild("")
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, []string{"fct_channel", "rpt_channel", "seed_channels"}) {
		t.Errorf("built %v, want [fct_channel rpt_channel seed_channels]", got)
	}
	if got := f.rows("SELECT priority FROM rpt_channel JOIN fct_channel USING (channel) WHERE channel = 'email'"); got[0][0] != "5" {
		t.Errorf("priority = %v, want 5", got)
	}
	if got := f.rows("SELECT typeof(priority), count(*) FILTER (WHERE label IS NULL) FROM seed_channels GROUP BY 1"); !reflect.DeepEqual(got, [][]string{{"BIGINT", "1"}}) {
		t.Errorf("seed types = %v, want BIGINT priority and one NULL label", got)
	}
}

func TestSourceWithLoadedAtIsFingerprintedByLoads(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{
		"staging/s.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect id from {{ source \"crm\" \"leads\" }}")},
	}
	f.exec(`CREATE TABLE raw_crm__leads AS SELECT 'l1' AS id, TIMESTAMP '2024-01-01 00:00:00' AS loaded_at`)
	f.mustBuild("")
	if got := f.mustBuild("").Built(); len(got) != 0 {
		t.Errorf("rebuilt %v without a load", got)
	}
	f.exec(`INSERT INTO raw_crm__leads VALUES ('l2', TIMESTAMP '2024-01-02 00:00:00')`)
	if got := f.mustBuild("").Built(); !reflect.DeepEqual(got, []string{"s"}) {
		t.Errorf("after a load built %v, want [s]", got)
	}
	if got := f.state()["s"].Inputs["raw_crm__leads"]; got != "2:2024-01-02 00:00:00" {
		t.Errorf("fingerprint = %q", got)
	}
}

// cancelWH cancels the run when a model's publish step completes.
type cancelWH struct {
	warehouse.Warehouse
	model  string
	cancel context.CancelFunc
}

func (w cancelWH) Exec(ctx context.Context, sql string, opts ...any) (warehouse.Result, error) {
	res, err := w.Warehouse.Exec(ctx, sql, opts...)
	if o := warehouse.CollectOptions(opts); o.Labels["sam_model"] == w.model && strings.HasSuffix(o.JobID, "_swap") {
		w.cancel()
	}
	return res, err
}

func TestCancelStopsBetweenLevels(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	r := f.runner()
	// One at a time: seed_channels, then stg_events, whose publish cancels.
	r.WH, r.Parallelism = cancelWH{Warehouse: f.wh, model: "stg_events", cancel: cancel}, 1
	rep, err := r.Build(ctx, Selection{}, BuildOptions{})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped before level 1") {
		t.Fatalf("error = %v", err)
	}
	if got := sorted(rep.Built()); !reflect.DeepEqual(got, []string{"seed_channels", "stg_events"}) {
		t.Errorf("built %v, want level 0 only", got)
	}
	if got := f.state()["stg_events"].RunID; got != r.RunID {
		t.Errorf("stg_events state run = %q: level 0 was not published", got)
	}
}

// holdWH holds one model's fill until released and reports the models whose
// tests run.
type holdWH struct {
	warehouse.Warehouse
	hold    string
	release chan struct{}
	tested  chan string
}

func (w holdWH) Exec(ctx context.Context, sql string, opts ...any) (warehouse.Result, error) {
	if o := warehouse.CollectOptions(opts); o.Labels["sam_model"] == w.hold && strings.HasSuffix(o.JobID, "_fill") {
		<-w.release
	}
	return w.Warehouse.Exec(ctx, sql, opts...)
}

func (w holdWH) Query(ctx context.Context, sql string, opts ...any) (warehouse.Rows, error) {
	if strings.Contains(sql, failuresColumn) {
		w.tested <- warehouse.CollectOptions(opts).Labels["sam_model"]
	}
	return w.Warehouse.Query(ctx, sql, opts...)
}

func TestModelTestsRunRightAfterTheModel(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{
		"staging/a.sql": {Data: []byte("/*\nmaterialized: table\ntests:\n  not_null: [x]\n*/\nselect 1 as x")},
		"staging/b.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect 2 as x")},
	}
	w := holdWH{Warehouse: f.wh, hold: "b", release: make(chan struct{}), tested: make(chan string, 8)}
	r := f.runner()
	r.WH = w
	done := make(chan error, 1)
	go func() {
		_, err := r.Build(f.ctx, Selection{}, BuildOptions{})
		done <- err
	}()
	select {
	case m := <-w.tested:
		if m != "a" {
			t.Errorf("tested %q first, want a", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a's test did not run while b was still building")
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// noFingerprintWH answers the source fingerprint query with no rows.
type noFingerprintWH struct{ warehouse.Warehouse }

func (w noFingerprintWH) Query(ctx context.Context, sql string, opts ...any) (warehouse.Rows, error) {
	if strings.Contains(sql, "':'") {
		return &sliceRows{cols: []string{"fingerprint"}}, nil
	}
	return w.Warehouse.Query(ctx, sql, opts...)
}

func TestFingerprintWithoutARowSaysSo(t *testing.T) {
	f := newFixture(t)
	r := f.runner()
	r.WH = noFingerprintWH{f.wh}
	_, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if err == nil || strings.Contains(err.Error(), "<nil>") || !strings.Contains(err.Error(), "0 rows") {
		t.Fatalf("error = %v, want one saying the fingerprint query returned 0 rows", err)
	}
}

func TestWarnSeverityReportsRowsAndRunGoesOn(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO raw_app__events VALUES ('e7', DATE '2024-01-04', 'u9', 'email', -1.0)`)
	f.edit("tests/no_negative_amounts.sql", "-- amounts are never negative\n", "/*\ndescription: amounts are never negative\nseverity: warn\n*/\n")
	rep, err := f.build("", BuildOptions{})
	if err != nil {
		t.Fatalf("build with a warning test failed: %v", err)
	}
	w := rep.Warned()
	if len(w) != 1 || w[0].Name != "tests/no_negative_amounts" || w[0].Status != TestWarn || w[0].Failures != 1 {
		t.Fatalf("warned = %+v", w)
	}
	if !strings.Contains(w[0].String(), "e7 | -1") {
		t.Errorf("warning does not show the row: %s", w[0].String())
	}
	if got := f.rows("SELECT count(*) FROM fct_channel"); got[0][0] == "0" {
		t.Error("downstream of a warning test was not built")
	}
	sel, _ := ParseSelection("stg_events")
	trep, err := f.runner().Test(f.ctx, sel)
	if err != nil || len(trep.Failed()) != 0 || len(trep.Warned()) != 1 {
		t.Errorf("Test: err %v, failed %v, warned %v", err, trep.Failed(), trep.Warned())
	}

	// A header severity applies to the model's header tests.
	f.edit("staging/stg_events.sql", "materialized:", "severity: warn\nmaterialized:")
	f.exec(`INSERT INTO raw_app__events VALUES (NULL, DATE '2024-01-04', 'u9', 'email', 1.0)`)
	rep, err = f.build("", BuildOptions{FullRefresh: true})
	if err != nil {
		t.Fatalf("build with warning header tests failed: %v", err)
	}
	if len(rep.Warned()) != 2 {
		t.Errorf("warned = %+v", rep.Warned())
	}
}

func TestSeverityMustBeErrorOrWarn(t *testing.T) {
	_, err := parseHeader("tests/x.sql", "/*\nseverity: fatal\n*/\nselect 1")
	if err == nil || !strings.Contains(err.Error(), `tests/x.sql:2: bad header: severity "fatal": want error or warn`) {
		t.Errorf("err = %v", err)
	}
}

// countingWH records the queries a build sends.
type countingWH struct {
	warehouse.Warehouse
	mu      *sync.Mutex
	queries *[]string
}

func (w countingWH) Query(ctx context.Context, sql string, args ...any) (warehouse.Rows, error) {
	w.mu.Lock()
	*w.queries = append(*w.queries, sql)
	w.mu.Unlock()
	return w.Warehouse.Query(ctx, sql, args...)
}

// A table's row count comes from its fill where the engine reports it
// (DuckDB's CREATE TABLE AS); an empty result is counted, since zero may
// mean "not reported". Either way the report and the state agree with the
// table.
func TestTableRowsFromFill(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{
		"staging/full.sql":  {Data: []byte("/*\nmaterialized: table\n*/\nselect event_id from {{ source \"app\" \"events\" }}")},
		"staging/empty.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect event_id from {{ source \"app\" \"events\" }} where false")},
	}
	var queries []string
	r := f.runner()
	r.WH = countingWH{Warehouse: f.wh, mu: &sync.Mutex{}, queries: &queries}
	rep, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, m := range rep.Models {
		rows[m.Model] = m.Rows
	}
	want := map[string]int64{"full": 5, "empty": 0}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("reported rows = %v, want %v", rows, want)
	}
	st := f.state()
	for m, n := range want {
		if st[m].Rows != n {
			t.Errorf("state of %s records %d rows, want %d", m, st[m].Rows, n)
		}
		if got := f.rows("SELECT COUNT(*) FROM " + f.wh.QualifiedName(m))[0][0]; got != strconv.FormatInt(n, 10) {
			t.Errorf("%s holds %s rows, want %d", m, got, n)
		}
	}
	var counts []string
	for _, q := range queries {
		if strings.HasPrefix(q, "SELECT COUNT(*) FROM") {
			counts = append(counts, q)
		}
	}
	if want := []string{`SELECT COUNT(*) FROM "empty__sam_tmp"`}; !reflect.DeepEqual(counts, want) {
		t.Errorf("count queries = %q, want %q", counts, want)
	}
}

// remoteDialect is DuckDB's dialect with the features of an engine whose
// queries run elsewhere.
type remoteDialect struct{ duckdb.Dialect }

func (remoteDialect) Features() warehouse.Features { return warehouse.Features{} }

type remoteWH struct{ warehouse.Warehouse }

func (remoteWH) Dialect() warehouse.Dialect { return remoteDialect{} }

func TestDefaultParallelismFollowsTheEngine(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name     string
		wh       warehouse.Warehouse
		set      int
		inFlight int
	}{
		{"in-process engine: one at a time", f.wh, 0, 1},
		{"remote engine: four", remoteWH{f.wh}, 0, 4},
		{"set", f.wh, 3, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{WH: tt.wh, Parallelism: tt.set}
			if got := r.parallelism(); got != tt.inFlight {
				t.Errorf("parallelism %d, want %d", got, tt.inFlight)
			}
		})
	}
}

// brokenWH is a warehouse that becomes unusable at the first statement
// containing at, as DuckDB does after an internal error: that statement
// and every later one fail. It counts the statements sent after.
type brokenWH struct {
	warehouse.Warehouse
	at string

	mu     sync.Mutex
	broken bool
	after  []string
}

var errInvalidated = fmt.Errorf("FATAL Error: database has been invalidated: %w", warehouse.ErrUnusable)

func (w *brokenWH) fail(sql string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken {
		w.after = append(w.after, sql)
		return errInvalidated
	}
	if strings.Contains(sql, w.at) {
		w.broken = true
		return fmt.Errorf("INTERNAL Error: Attempted to dereference unique_ptr that is NULL: %w", warehouse.ErrUnusable)
	}
	return nil
}

func (w *brokenWH) Exec(ctx context.Context, sql string, args ...any) (warehouse.Result, error) {
	if err := w.fail(sql); err != nil {
		return warehouse.Result{}, err
	}
	return w.Warehouse.Exec(ctx, sql, args...)
}

func (w *brokenWH) Query(ctx context.Context, sql string, args ...any) (warehouse.Rows, error) {
	if err := w.fail(sql); err != nil {
		return nil, err
	}
	return w.Warehouse.Query(ctx, sql, args...)
}

// Once the warehouse says it cannot be used again, the build stops: no
// statement follows, the failed model carries the cause, and every model
// not yet built says it was not attempted and why, once.
func TestBuildStopsWhenTheWarehouseBecomesUnusable(t *testing.T) {
	f := newFixture(t)
	// Two models beside int_daily's chain, which nothing failed would hold
	// back; one model at a time keeps the order fixed (int_daily first).
	f.fs["intermediate/int_users.sql"] = &fstest.MapFile{Data: []byte("/*\nmaterialized: table\ntests:\n  unique: [user_id]\n*/\nselect distinct user_id from {{ ref \"stg_events\" }}")}
	f.fs["marts/fct_users.sql"] = &fstest.MapFile{Data: []byte("/*\nmaterialized: table\n*/\nselect user_id from {{ ref \"int_users\" }}")}
	rep, err := f.buildBreakingAt(`"int_daily__sam_tmp"`)
	status := map[string]ModelStatus{}
	for _, m := range rep.Models {
		status[m.Model] = m.Status
		if m.Status == StatusNotAttempted && !strings.Contains(m.Err.Error(), "int_daily") {
			t.Errorf("%s: %v, want the reason to name int_daily", m.Model, m.Err)
		}
	}
	want := map[string]ModelStatus{"seed_channels": StatusBuilt, "stg_events": StatusBuilt, "int_daily": StatusFailed,
		"int_users": StatusNotAttempted, "fct_users": StatusNotAttempted, "fct_channel": StatusNotAttempted, "rpt_channel": StatusNotAttempted}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("statuses = %v, want %v", status, want)
	}
	if msg := err.Error(); strings.Count(msg, "unique_ptr") != 1 || strings.Contains(msg, "invalidated") {
		t.Errorf("Build error names the cause %d times, or a later failure:\n%s", strings.Count(msg, "unique_ptr"), msg)
	}
}

// A data test can be what breaks the warehouse (the 10M-event case was
// unique(stg_ga4__events.event_key)); the build stops the same way.
func TestBuildStopsWhenATestMakesTheWarehouseUnusable(t *testing.T) {
	f := newFixture(t)
	rep, _ := f.buildBreakingAt("COUNT(*) OVER ()") // the first data test's query
	if len(rep.Tests) != 1 || rep.Tests[0].Status != TestError || !errors.Is(rep.Tests[0].Err, warehouse.ErrUnusable) {
		t.Fatalf("tests = %+v, want the one that broke the warehouse, as an error", rep.Tests)
	}
	cause := "test " + rep.Tests[0].Name
	for _, m := range rep.Models {
		if m.Status == StatusNotAttempted && !strings.Contains(m.Err.Error(), cause) {
			t.Errorf("%s: %v, want the reason to name %s", m.Model, m.Err, cause)
		}
		if m.Model == "int_daily" && m.Status != StatusNotAttempted {
			t.Errorf("int_daily: %s, want %s", m.Status, StatusNotAttempted)
		}
	}
}

// buildBreakingAt builds everything, one model at a time, on a warehouse
// that becomes unusable at the first statement containing at, and checks
// that the build says so and sends nothing after.
func (f *fixture) buildBreakingAt(at string) (*BuildReport, error) {
	f.t.Helper()
	r := f.runner()
	r.Parallelism = 1
	wh := &brokenWH{Warehouse: f.wh, at: at}
	r.WH = wh
	rep, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if !errors.Is(err, warehouse.ErrUnusable) {
		f.t.Fatalf("Build error = %v, want one wrapping warehouse.ErrUnusable", err)
	}
	if len(wh.after) != 0 {
		f.t.Errorf("%d statements sent after the warehouse became unusable, first: %.80q", len(wh.after), wh.after[0])
	}
	return rep, err
}

// A model whose raw table no load has written fails with that reason, not
// with the engine's binder error (DuckDB's named another table: "Did you
// mean raw_writeback__send_log?"), and its SQL is not run.
func TestModelOverAMissingSourceSaysNothingHasLoadedIt(t *testing.T) {
	f := newFixture(t)
	f.exec("DROP TABLE raw_app__events")
	_, err := f.build("", BuildOptions{})
	if err == nil {
		t.Fatal("the build succeeded without its source")
	}
	msg := err.Error()
	for _, w := range []string{"model stg_events: staging/stg_events.sql: source table raw_app__events does not exist: nothing has loaded it yet", "model int_daily: not built: upstream stg_events failed"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "Catalog Error") {
		t.Errorf("the error still carries the engine's binder error:\n%s", msg)
	}
}

// Plan says which raw table a model is missing instead of dry-running it
// into the engine's binder error.
func TestPlanNamesAMissingSource(t *testing.T) {
	f := newFixture(t)
	f.exec("DROP TABLE raw_app__events")
	plan, err := f.runner().Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	it, _ := plan.Item("stg_events")
	if want := "source table raw_app__events does not exist: nothing has loaded it yet"; it.EstimateErr != want {
		t.Errorf("stg_events: estimate error %q, want %q", it.EstimateErr, want)
	}
}

// On a warehouse where an upstream model is not built yet, Plan does not
// dry-run its dependents into "table not found": it says which upstream
// they wait for.
func TestPlanSaysWhichUpstreamAnEstimateWaitsFor(t *testing.T) {
	f := newFixture(t)
	plan, err := f.runner().Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stg, _ := plan.Item("stg_events")
	if stg.EstimateErr != "" || len(stg.EstimateAfter) != 0 {
		t.Errorf("stg_events: estimate error %q, after %v: its source is loaded", stg.EstimateErr, stg.EstimateAfter)
	}
	daily, _ := plan.Item("int_daily")
	if daily.EstimateErr != "" || !reflect.DeepEqual(daily.EstimateAfter, []string{"stg_events"}) {
		t.Errorf("int_daily: estimate error %q, after %v; want after [stg_events]", daily.EstimateErr, daily.EstimateAfter)
	}
}

// A data test that reads a model the build left out, and that was never
// built, waits for it: it is neither run (DuckDB's "table does not exist")
// nor a failure of the build. Before, it ran once any model it reads was
// settled, and a build of the staging models alone failed on a custom test
// that also read a mart.
func TestTestOfAModelNeverBuiltWaitsForIt(t *testing.T) {
	f := newFixture(t)
	f.fs["tests/events_have_a_channel.sql"] = &fstest.MapFile{Data: []byte(
		`select e.event_id from {{ ref "stg_events" }} as e where not exists (select 1 from {{ ref "fct_channel" }} as c where c.channel = lower(e.channel))`)}
	rep := f.mustBuild("stg_events")
	for _, tr := range rep.Tests {
		if tr.Name == "tests/events_have_a_channel" {
			t.Fatalf("the test ran before fct_channel was ever built: %+v", tr)
		}
	}
	// Testing the selection that was built leaves it out as well; a test
	// of a selected model that was never built is still an error.
	sel, _ := ParseSelection("stg_events")
	if tr, err := f.runner().Test(f.ctx, sel); err != nil {
		t.Fatalf("sam test --select stg_events: %v", err)
	} else {
		for _, res := range tr.Tests {
			if res.Name == "tests/events_have_a_channel" {
				t.Fatalf("the test ran before fct_channel was ever built: %+v", res)
			}
		}
	}
	sel, _ = ParseSelection("fct_channel")
	if _, err := f.runner().Test(f.ctx, sel); err == nil || !strings.Contains(err.Error(), "fct_channel is not built") {
		t.Fatalf("sam test --select fct_channel: err = %v, want the model named as not built", err)
	}
	rep = f.mustBuild("")
	ran := false
	for _, tr := range rep.Tests {
		ran = ran || tr.Name == "tests/events_have_a_channel"
	}
	if !ran {
		t.Error("the test did not run once fct_channel was built")
	}
}

// TestRunErrorSparesWhatItDoesNotReach: a failure spares a model only when
// it lies outside the model and everything the model is built from.
func TestRunErrorSparesWhatItDoesNotReach(t *testing.T) {
	p, err := LoadProject(fstest.MapFS{
		"staging/base.sql":     {Data: []byte("/*\nmaterialized: table\n*/\nselect 1 as k")},
		"marts/activation.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect k from {{ ref \"base\" }}")},
		"marts/dashboard.sql":  {Data: []byte("/*\nmaterialized: table\n*/\nselect k from {{ ref \"base\" }}")},
		"marts/queue.sql":      {Data: []byte("/*\nmaterialized: table\n*/\nselect k from {{ ref \"activation\" }}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	failed := func(model string, st ModelStatus) ModelResult {
		return ModelResult{Model: model, Status: st, Err: errors.New("x")}
	}
	for _, c := range []struct {
		name string
		err  RunError
		want bool
	}{
		{"a dashboard model failed", RunError{Models: []ModelResult{failed("dashboard", StatusFailed)}}, true},
		{"a dashboard test failed", RunError{Tests: []TestResult{{Name: "t", Model: "dashboard", Reads: []string{"dashboard"}, Status: TestFail}}}, true},
		{"a custom test of the dashboard failed", RunError{Tests: []TestResult{{Name: "t", Reads: []string{"dashboard"}, Status: TestFail}}}, true},
		{"the model failed", RunError{Models: []ModelResult{failed("activation", StatusFailed)}}, false},
		{"an upstream model failed", RunError{Models: []ModelResult{failed("base", StatusFailed)}}, false},
		{"an upstream test failed", RunError{Tests: []TestResult{{Name: "t", Model: "base", Reads: []string{"base"}, Status: TestFail}}}, false},
		{"a custom test across both failed", RunError{Tests: []TestResult{{Name: "t", Reads: []string{"dashboard", "base"}, Status: TestFail}}}, false},
		{"a custom test of sources only failed", RunError{Tests: []TestResult{{Name: "t", Status: TestFail}}}, false},
		// A check of what is built from the model guards its use: nothing
		// bound for a destination may look like an email.
		{"a test of a model built from it failed", RunError{Tests: []TestResult{{Name: "t", Reads: []string{"queue"}, Status: TestFail}}}, false},
		// A report of what was sent that fails to build changes nothing
		// that is sent.
		{"a model built from it failed", RunError{Models: []ModelResult{failed("queue", StatusFailed)}}, true},
		{"a dashboard model was not attempted", RunError{Models: []ModelResult{failed("dashboard", StatusNotAttempted)}}, false},
		{"the warehouse stopped", RunError{Models: []ModelResult{failed("dashboard", StatusFailed)}, Stopped: errors.New("gone")}, false},
	} {
		if got := c.err.Spares(p, "activation"); got != c.want {
			t.Errorf("%s: Spares = %v, want %v", c.name, got, c.want)
		}
	}
	if (&RunError{}).Spares(p, "no_such_model") {
		t.Error("a model the project lacks is spared")
	}
}

// A build times each model's own statements (its query, windows, removal of
// copies) apart from the runner's bookkeeping, and logs the sums: how the
// bench tells the runner's cost on SAM's models from the SQL's.
func TestABuildTimesItsModelsStatementsApart(t *testing.T) {
	var logs strings.Builder
	f := newFixture(t)
	f.fs["intermediate/int_user_visits.sql"] = &fstest.MapFile{Data: []byte(userVisits)}
	r := f.runner()
	r.Parallelism = 1
	r.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	rep, err := r.Build(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var statements, tests time.Duration
	for _, m := range rep.Models {
		statements += m.Statements
		model := r.Project.Models[m.Model]
		if model.Kind == Seed || model.Config.Materialized == View {
			if m.Statements != 0 {
				t.Errorf("%s: %v of its own statements, want none counted (a seed's load, a view's publish)", m.Model, m.Statements)
			}
			continue
		}
		if m.Statements <= 0 || m.Statements >= m.Duration {
			t.Errorf("%s: its own statements took %v of its %v, want a part", m.Model, m.Statements, m.Duration)
		}
	}
	for _, tr := range rep.Tests {
		tests += tr.Duration
	}
	want := fmt.Sprintf(" model_statements=%v data_tests=%v\n", statements.Round(time.Millisecond), tests.Round(time.Millisecond))
	if !strings.Contains(logs.String(), `msg="build done" `) || !strings.Contains(logs.String(), want) {
		t.Errorf("no build done line ending %q:\n%s", want, logs.String())
	}
}
