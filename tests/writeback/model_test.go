package writeback_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/writeback"
)

// fctSchema holds the fct_lead_revenue columns writeback_queue reads.
var fctSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "lead_id", Type: warehouse.String},
	{Name: "source_system", Type: warehouse.String},
	{Name: "created_at", Type: warehouse.Timestamp},
	{Name: "client_key", Type: warehouse.String},
	{Name: "lead_form_ga_session_id", Type: warehouse.Int64},
	{Name: "mql_at", Type: warehouse.Timestamp},
	{Name: "sql_at", Type: warehouse.Timestamp},
	{Name: "won_at", Type: warehouse.Timestamp},
	{Name: "lost_at", Type: warehouse.Timestamp},
	{Name: "disqualified_at", Type: warehouse.Timestamp},
	{Name: "disqualification_reason", Type: warehouse.String},
	{Name: "revenue_reporting", Type: warehouse.Numeric},
	{Name: "reporting_currency", Type: warehouse.String},
	{Name: "is_spam", Type: warehouse.Bool},
	{Name: "spam_reason", Type: warehouse.String},
}}

// TestQueueModelOnDuckDB builds the real writeback_queue model and its data
// tests with the transform runner over a hand-made fct_lead_revenue, sends
// the queue to the local sink, and checks that the rebuilt view then holds
// nothing.
func TestQueueModelOnDuckDB(t *testing.T) {
	ctx := context.Background()
	read := func(p string) *fstest.MapFile {
		b, err := os.ReadFile(filepath.Join("..", "..", "sql", p))
		if err != nil {
			t.Fatal(err)
		}
		return &fstest.MapFile{Data: b}
	}
	fsys := fstest.MapFS{
		"marts/fct_lead_revenue.sql":              {Data: []byte("select * from {{ source \"test\" \"fct_lead_revenue\" }}\n")},
		"marts/writeback_queue.sql":               read("marts/writeback_queue.sql"),
		"tests/writeback_value_has_currency.sql":  read("tests/writeback_value_has_currency.sql"),
		"tests/writeback_no_personal_data.sql":    read("tests/writeback_no_personal_data.sql"),
		"tests/writeback_queue_excludes_sent.sql": read("tests/writeback_queue_excludes_sent.sql"),
	}
	p, err := transform.LoadProject(fsys)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()

	now := time.Now().UTC().Truncate(time.Second)
	h := func(hours int) time.Time { return now.Add(time.Duration(-hours) * time.Hour) }
	sess := h(5).Unix()
	leads := [][]any{
		// lead, system, created, client, session, mql, sql, won, lost, disq, reason, revenue, cur, spam, spam reason
		{"A", "hubspot", h(100), "111.222", sess, h(90), h(80), h(2), nil, nil, nil, "1250.50", "EUR", false, nil}, // 3 events
		{"B", "hubspot", h(100), "333.444", nil, h(90), nil, nil, h(3), nil, nil, nil, "EUR", false, nil},          // mql + lost
		{"C", "hubspot", h(10), "555.666", nil, nil, nil, nil, nil, h(1), "No Budget", nil, "EUR", false, nil},     // disqualified
		{"D", "hubspot", h(10), "777.888", nil, h(9), nil, nil, nil, nil, nil, nil, "EUR", true, "honeypot field"}, // spam only
		{"E", "hubspot", h(10), nil, nil, h(9), nil, nil, nil, nil, nil, nil, "EUR", false, nil},                   // no client: none
	}
	if _, err := wh.Load(ctx, warehouse.LoadRequest{Table: "raw_test__fct_lead_revenue", Schema: fctSchema, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(leads)}); err != nil {
		t.Fatal(err)
	}
	// The view binds its tables when created, so the send log comes first.
	if err := writeback.EnsureSendLog(ctx, wh); err != nil {
		t.Fatal(err)
	}
	all, err := transform.ParseSelection("")
	if err != nil {
		t.Fatal(err)
	}
	r := &transform.Runner{WH: wh, Project: p, RunID: "t1"}
	if _, err := r.Build(ctx, all, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	if _, err := r.Test(ctx, all); err != nil {
		t.Fatalf("data tests: %v", err)
	}

	rows, err := wh.Query(ctx, `SELECT lead_id, event_name, lead_stage, CAST(value AS STRING), currency, reason, ga_session_id
FROM writeback_queue ORDER BY lead_id, event_ts`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"A|qualify_lead|mql||||" + itoa(sess),
		"A|qualify_lead|sql||||" + itoa(sess),
		"A|close_convert_lead|won|1250.500000000|EUR||" + itoa(sess),
		"B|qualify_lead|mql||||",
		"B|close_unconvert_lead|lost||||",
		"C|disqualify_lead|disqualified|||no budget|",
		"D|disqualify_lead|disqualified|||spam: honeypot field|",
	}
	if len(got) != len(want) {
		t.Fatalf("queue has %d rows, want %d: %v", len(got), len(want), got)
	}
	for i, r := range got {
		fields := make([]string, len(r))
		for j, v := range r {
			fields[j] = warehouse.Format(v)
		}
		line := strings.Join(fields, "|")
		if line != want[i] {
			t.Errorf("row %d = %q, want %q", i, line, want[i])
		}
	}

	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	cfg := writerConfig()
	w := writeback.New(wh, cfg, writeback.Options{LocalEndpoint: srv.URL})
	rep, err := w.Run(ctx, "run-1")
	if err != nil || rep.Sent != len(want) {
		t.Fatalf("run 1: %+v, %v; want %d sent", rep, err, len(want))
	}
	// Only A's recent events join its 5-hour-old session; the won event is
	// 2 hours old, so it keeps its timestamp.
	for _, e := range sink.Events() {
		_, hasSession := e.Params["session_id"]
		if hasSession != (e.ClientID == "111.222") {
			t.Errorf("%s for %s: session_id present = %v", e.Name, e.ClientID, hasSession)
		}
		if e.Name == writeback.EventCloseConvertLead && (e.Params["value"] != 1250.5 || e.TimestampMicros != h(2).UnixMicro()) {
			t.Errorf("close_convert_lead = %+v", e)
		}
		if e.Name == writeback.EventQualifyLead && e.ClientID == "111.222" && e.TimestampMicros != 0 {
			t.Errorf("an 80-hour-old event carries timestamp_micros %d", e.TimestampMicros)
		}
	}

	// The view now excludes everything sent; a rebuild and the data tests
	// agree, and a second writer run sends nothing.
	if _, err := r.Test(ctx, all); err != nil {
		t.Fatalf("data tests after sending: %v", err)
	}
	var n int64
	cnt, err := wh.Query(ctx, "SELECT count(*) FROM writeback_queue")
	if err != nil {
		t.Fatal(err)
	}
	cnt.Next()
	if err := cnt.Scan(&n); err != nil || n != 0 {
		t.Errorf("queue after sending has %d rows (%v), want 0", n, err)
	}
	cnt.Close()
	rep, err = w.Run(ctx, "run-2")
	if err != nil || rep.Sent != 0 || rep.Queued != 0 {
		t.Errorf("run 2: %+v, %v; want an empty queue", rep, err)
	}
	if st := sink.Stats(); st.Events != len(want) || len(st.Duplicates) != 0 {
		t.Errorf("sink = %+v", st)
	}
}

func itoa(n int64) string { return warehouse.Format(n) }
