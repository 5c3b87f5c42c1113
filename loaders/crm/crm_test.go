package crm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/record"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// openDuck opens an in-memory DuckDB warehouse with SAM's own tables, as
// jobs makes sure of before any loader runs; it closes with the test.
func openDuck(t *testing.T) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(t.Context(), "", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := systables.New(db).Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// fixtures copies the file source's named test files into a fresh
// directory.
func fixtures(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("file", "testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func query(t *testing.T, wh warehouse.Warehouse, sql string) [][]any {
	t.Helper()
	rows, err := wh.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFileToStagingOnDuckDB loads the export fixtures through Sync into
// DuckDB (real cursor and rejects tables), builds the CRM staging models and
// int_lead_identity with the transform runner, and checks what BI relies on.
func TestFileToStagingOnDuckDB(t *testing.T) {
	ctx := t.Context()
	db := openDuck(t)

	dir := fixtures(t, "leads.csv", "deals.csv")
	o := crm.SourceOptions{Source: crm.SourceFile, File: file.Options{Dir: dir, Overlap: 10 * time.Minute, BatchSize: 2}}
	src, err := crm.NewSource(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crm.Sync(ctx, db, src, crm.Options{RunID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 11 || c.Loaded != 6 || c.Rejected != 5 {
		t.Errorf("counts = %+v, want read 11 = loaded 6 + rejected 5", c)
	}
	if got := query(t, db, "SELECT count(*) FROM load_rejects WHERE run_id = 'run-1' AND source = 'file'"); got[0][0] != int64(5) {
		t.Errorf("load_rejects holds %v rows, want 5", got[0][0])
	}
	// Cursors are durable in the warehouse: the same files load nothing.
	c, err = crm.Sync(ctx, db, src, crm.Options{RunID: "run-2"})
	if err != nil || c.Read != 0 {
		t.Errorf("second sync: %+v, %v; want nothing read", c, err)
	}
	cur, err := loaders.NewCursors(db).Get(ctx, "file", "leads")
	if err != nil || cur == "" {
		t.Errorf("leads cursor = %q, %v", cur, err)
	}

	standInGA4(t, db)

	p, err := transform.LoadProject(transform.ProjectFS(sqlmodels.FS, ""))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := transform.ParseSelection("stg_crm__merges,stg_crm__leads,stg_crm__deals,stg_crm__lead_stage_history,int_client_ids_daily,int_lead_identity")
	if err != nil {
		t.Fatal(err)
	}
	r := &transform.Runner{WH: db, Project: p, Parallelism: 1, Vars: transform.Vars{
		"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD",
		"prediction_maturity_days": 180, "prediction_prior_strength": 20.0,
	}}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}

	hash := sha256.Sum256([]byte("ann@example.com"))
	leads := query(t, db, "SELECT lead_id, email_sha256, ga_client_id, is_deleted FROM stg_crm__leads ORDER BY lead_id")
	want := [][]any{
		{"L1", hex.EncodeToString(hash[:]), "111.222", false},
		{"L2", nil, "333.444", false},
		{"L3", nil, nil, true},
	}
	leads[1][1], leads[2][1] = nil, nil // only L1's hash is checked by value
	if !equalRows(leads, want) {
		t.Errorf("stg_crm__leads = %v, want %v", leads, want)
	}
	deals := query(t, db, "SELECT deal_id, lead_id, CAST(amount AS VARCHAR), currency, is_won, is_deleted FROM stg_crm__deals ORDER BY deal_id")
	wantDeals := [][]any{
		{"D1", "L1", "12500.500000000", "EUR", true, false},
		{"D2", "L2", nil, nil, false, false},
		{"D5", "L2", "900.000000000", "USD", false, true},
	}
	if !equalRows(deals, wantDeals) {
		t.Errorf("stg_crm__deals = %v, want %v", deals, wantDeals)
	}
	stages := query(t, db, "SELECT lead_id, stage FROM stg_crm__lead_stage_history ORDER BY lead_id, stage")
	wantStages := [][]any{{"L1", "lead"}, {"L1", "mql"}, {"L1", "opportunity"}, {"L1", "sql"}, {"L1", "won"}, {"L2", "lead"}}
	if !equalRows(stages, wantStages) {
		t.Errorf("stg_crm__lead_stage_history = %v, want %v", stages, wantStages)
	}
	ids := query(t, db, "SELECT lead_id, client_key, link_type FROM int_lead_identity ORDER BY lead_id, link_type, client_key")
	wantIDs := [][]any{{"L1", "111.222", "client_id"}, {"L1", "999.000", "user_id"}, {"L2", "333.444", "client_id"}, {"L2", "777.888", "gclid"}}
	if !equalRows(ids, wantIDs) {
		t.Errorf("int_lead_identity = %v, want %v", ids, wantIDs)
	}
	// No personal data in staging.
	for _, m := range []string{"stg_crm__leads", "stg_crm__deals", "stg_crm__lead_stage_history", "int_lead_identity"} {
		s, err := db.Describe(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"email", "phone", "first_name", "last_name"} {
			if _, ok := s.Column(col); ok {
				t.Errorf("%s has personal column %s", m, col)
			}
		}
	}
	rep, err := r.Test(ctx, sel)
	if err != nil {
		t.Fatalf("data tests: %v", err)
	}
	if f := rep.Failed(); len(f) > 0 {
		t.Errorf("data tests failed: %v", f)
	}
}

func equalRows(a, b [][]any) bool {
	return slices.EqualFunc(a, b, func(x, y []any) bool { return slices.Equal(x, y) })
}

// batchSource emits fixed batches: raw tables shaped as the API sources
// write them, without a simulator.
type batchSource struct {
	system  string
	batches []record.Batch
}

func (s *batchSource) System() string    { return s.system }
func (s *batchSource) Streams() []string { return []string{"all"} }
func (s *batchSource) Read(ctx context.Context, _, _ string, emit func(context.Context, *record.Batch) error) error {
	for i := range s.batches {
		if err := emit(ctx, &s.batches[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestStagingResolvesLeadsAndAssociations checks the staging rules that
// only API sources exercise: a Salesforce Contact converted from a Lead is
// that Lead, an Opportunity's lead is found through conversion or its
// primary contact role, OpportunityHistory feeds the lead's stage history,
// and a HubSpot deal's associations are the set of its latest version.
func TestStagingResolvesLeadsAndAssociations(t *testing.T) {
	ctx := t.Context()
	db := openDuck(t)
	t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	sf := &batchSource{system: "salesforce", batches: []record.Batch{{
		Leads: []record.Lead{
			{ID: "00Q1", RecordType: "lead", CreatedAt: at(0), LifecycleStage: "opportunity", ConvertedContactID: "0031", ConvertedDealID: "0061", GAClientID: "GA1.2.10.20", ModifiedAt: at(1)},
			{ID: "0031", RecordType: "contact", CreatedAt: at(1), LifecycleStage: "lead", ModifiedAt: at(1)},
			{ID: "0039", RecordType: "contact", CreatedAt: at(2), LifecycleStage: "lead", Email: " X@Y.com", ModifiedAt: at(2)},
		},
		Deals: []record.Deal{
			{ID: "0061", CreatedAt: at(1), Stage: "Closed Won", Amount: "100", Currency: "EUR", IsWon: true, ClosedAt: at(5), ModifiedAt: at(5)},
			{ID: "0069", CreatedAt: at(3), Stage: "Prospecting", Amount: "7.25", Currency: "USD", ModifiedAt: at(3)},
		},
		DealContacts: []record.DealContact{
			{ID: "00K9", DealID: "0069", LeadID: "0039", IsPrimary: true, ModifiedAt: at(3)},
			{ID: "00K8", DealID: "0069", LeadID: "0031", IsPrimary: false, ModifiedAt: at(3)},
		},
		Stages: []record.StageChange{
			{ID: "0081", ObjectType: "deal", RecordID: "0061", Stage: "opportunity", StageRaw: "Prospecting", EnteredAt: at(1), ModifiedAt: at(1)},
			{ID: "0082", ObjectType: "deal", RecordID: "0061", Stage: "won", StageRaw: "Closed Won", EnteredAt: at(5), ModifiedAt: at(5)},
		},
	}}}
	hs := &batchSource{system: "hubspot", batches: []record.Batch{
		{
			Leads: []record.Lead{{ID: "501", RecordType: "contact", CreatedAt: at(0), LifecycleStage: "lead", ModifiedAt: at(0)},
				{ID: "502", RecordType: "contact", CreatedAt: at(0), LifecycleStage: "lead", ModifiedAt: at(0)}},
			Deals: []record.Deal{{ID: "H1", LeadID: "501", CreatedAt: at(0), ModifiedAt: at(1)}},
			DealContacts: []record.DealContact{
				{ID: "H1:501", DealID: "H1", LeadID: "501", IsPrimary: true, Snapshot: true, ModifiedAt: at(1)},
				{ID: "H1:502", DealID: "H1", LeadID: "502", Snapshot: true, ModifiedAt: at(1)},
			},
		},
		{ // contact 501 was removed from the deal: the new version names only 502
			Deals:        []record.Deal{{ID: "H1", CreatedAt: at(0), ModifiedAt: at(2)}},
			DealContacts: []record.DealContact{{ID: "H1:502", DealID: "H1", LeadID: "502", IsPrimary: true, Snapshot: true, ModifiedAt: at(2)}},
		},
	}}
	for _, src := range []crm.Source{sf, hs} {
		if _, err := crm.Sync(ctx, db, src, crm.Options{RunID: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := transform.LoadProject(transform.ProjectFS(sqlmodels.FS, ""))
	if err != nil {
		t.Fatal(err)
	}
	// int_lead_identity is built too: its relationship test reads stg_crm__leads.
	standInGA4(t, db)
	sel, _ := transform.ParseSelection("stg_crm__merges,stg_crm__leads,stg_crm__deals,stg_crm__lead_stage_history,int_client_ids_daily,int_lead_identity")
	r := &transform.Runner{WH: db, Project: p, Parallelism: 1, Vars: transform.Vars{
		"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD",
		"prediction_maturity_days": 180, "prediction_prior_strength": 20.0,
	}}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	if got, want := query(t, db, "SELECT lead_id, ga_client_id FROM stg_crm__leads ORDER BY lead_id"),
		[][]any{{"0039", nil}, {"00Q1", "10.20"}, {"501", nil}, {"502", nil}}; !equalRows(got, want) {
		t.Errorf("stg_crm__leads = %v, want %v (converted contact 0031 folded into its lead)", got, want)
	}
	if got, want := query(t, db, "SELECT deal_id, lead_id FROM stg_crm__deals ORDER BY deal_id"),
		[][]any{{"0061", "00Q1"}, {"0069", "0039"}, {"H1", "502"}}; !equalRows(got, want) {
		t.Errorf("stg_crm__deals = %v, want %v", got, want)
	}
	if got, want := query(t, db, "SELECT stage, entered_at FROM stg_crm__lead_stage_history WHERE lead_id = '00Q1' ORDER BY entered_at"),
		[][]any{{"lead", at(0)}, {"opportunity", at(1)}, {"won", at(5)}}; !equalRows(got, want) {
		t.Errorf("stage history of 00Q1 = %v, want %v", got, want)
	}
}

// standInGA4 creates the two GA4 staging tables int_lead_identity reads
// (events through int_client_ids_daily) with a few rows.
func standInGA4(t *testing.T, db warehouse.Warehouse) {
	t.Helper()
	ctx := t.Context()
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ga := []struct {
		name string
		cols []warehouse.Column
		rows [][]any
	}{
		{"stg_ga4__events", []warehouse.Column{{Name: "event_date", Type: warehouse.Date}, {Name: "client_key", Type: warehouse.String}, {Name: "gclid", Type: warehouse.String}, {Name: "user_id", Type: warehouse.String}},
			[][]any{{day, "777.888", "Cj0KCQ-gclid-2", nil}, {day, "999.000", nil, "u-1"}}},
		{"stg_ga4__sessions", []warehouse.Column{{Name: "client_key", Type: warehouse.String}, {Name: "gclid", Type: warehouse.String}},
			[][]any{{"777.888", "Cj0KCQ-gclid-2"}}},
	}
	for _, g := range ga {
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: g.name, Schema: warehouse.Schema{Columns: g.cols}, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(g.rows)}); err != nil {
			t.Fatal(err)
		}
	}

}

// A raw table an earlier SAM created has no version_hash: Sync adds the
// column, the older rows keep NULL, and the rows it loads have theirs.
func TestSyncAddsVersionHashToOlderTables(t *testing.T) {
	ctx := t.Context()
	db := openDuck(t)
	old := record.LeadsSchema
	old.Columns = slices.DeleteFunc(slices.Clone(old.Columns), func(c warehouse.Column) bool { return c.Name == "version_hash" })
	row := (&record.Lead{ID: "old"}).Row(record.Meta{System: "file", LoadedAt: time.Now(), RunID: "r0"})
	_, err := db.Load(ctx, warehouse.LoadRequest{Table: record.LeadsTable, Schema: old, Mode: warehouse.Append,
		Rows: warehouse.NewSliceRows([][]any{row[:len(row)-1]})})
	if err != nil {
		t.Fatal(err)
	}

	dir := fixtures(t, "leads.csv")
	src, err := crm.NewSource(crm.SourceOptions{Source: crm.SourceFile, File: file.Options{Dir: dir}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crm.Sync(ctx, db, src, crm.Options{RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT count(*) FILTER (WHERE lead_id = 'old' AND version_hash IS NULL),
		count(*) FILTER (WHERE lead_id <> 'old' AND length(version_hash) = 32), count(*) FROM raw_crm__leads`)
	if n, hashed, all := got[0][0], got[0][1], got[0][2]; n != int64(1) || hashed != all.(int64)-1 {
		t.Errorf("older rows without a hash %v, loaded rows with one %v, of %v rows", n, hashed, all)
	}
}

// A stream's sync says how far it got as its batches are written, at most
// every ProgressEvery: a first sync of a large CRM reads for minutes.
func TestASyncLogsItsProgressByBatch(t *testing.T) {
	db := openDuck(t)
	src, err := crm.NewSource(crm.SourceOptions{Source: crm.SourceFile, File: file.Options{Dir: fixtures(t, "leads.csv"), BatchSize: 2}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := crm.Sync(t.Context(), db, src, crm.Options{RunID: "run-1", Streams: []string{"leads"}, Logger: log, ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	done := ""
	for l := range strings.Lines(logs.String()) {
		switch {
		case strings.Contains(l, `msg="crm sync progress" source=file stream=leads `):
			lines = append(lines, l)
		case strings.Contains(l, `msg="crm sync done"`):
			done = l
		}
	}
	// Each batch written, the last one (its cursor) included.
	want := fmt.Sprintf(" batches=%d read=%d loaded=%d rejected=%d ", len(lines), c.Read, c.Loaded, c.Rejected)
	if len(lines) < 3 || !strings.Contains(lines[0], " batches=1 read=2 ") || !strings.Contains(lines[len(lines)-1], want) || !strings.Contains(done, want) {
		t.Fatalf("%d progress lines for %d records in batches of 2, want one a batch, the last with%s as the sync's end says:\n%s", len(lines), c.Read, want, logs.String())
	}
}
