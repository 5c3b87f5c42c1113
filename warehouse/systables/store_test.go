package systables_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

func open(t *testing.T) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), "", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scalar(t *testing.T, wh warehouse.Warehouse, q string) any {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil || len(data) != 1 {
		t.Fatalf("%s: %v %v", q, data, err)
	}
	return data[0][0]
}

func TestEnsureCreatesAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	for range 2 {
		if err := systables.New(db).Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tb := range systables.All() {
		got, err := db.Describe(ctx, tb.Name)
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		if len(got.Columns) != len(tb.Schema.Columns) {
			t.Errorf("%s has %d columns, want %d", tb.Name, len(got.Columns), len(tb.Schema.Columns))
		}
	}
	if n := scalar(t, db, "SELECT COUNT(*) FROM "+db.QualifiedName(systables.VersionTable)); n != int64(1) {
		t.Errorf("version rows = %v, want 1", n)
	}
}

// An older SAM created the ledger without "error"; Ensure adds it and keeps
// the rows.
func TestEnsureAddsMissingColumns(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	old := systables.Ledger()
	old.Schema.Columns = old.Schema.Columns[:10]
	if err := systables.New(db).Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO "+db.QualifiedName(old.Name)+" (run_id) VALUES (?)", "r0"); err != nil {
		t.Fatal(err)
	}
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := db.Describe(ctx, old.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Column("error"); !ok {
		t.Errorf("column error not added: %+v", s.Columns)
	}
	if n := scalar(t, db, "SELECT COUNT(*) FROM "+db.QualifiedName(old.Name)); n != int64(1) {
		t.Errorf("rows = %v, want 1", n)
	}
}

func TestEnsureRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO "+db.QualifiedName(systables.VersionTable)+" VALUES (?, ?)", int64(systables.Version+1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := systables.New(db).Ensure(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Ensure = %v, want a newer-version error", err)
	}
}

// A batch larger than one statement holds is split, and values needing
// escapes round-trip.
func TestInsertChunks(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	st := systables.New(db)
	if err := st.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	var rows [][]any
	for i := range 1203 {
		rows = append(rows, []any{"run", "ga4", "events", "bad ' \\ ? ;", fmt.Sprintf(`{"i":%d}`, i), now})
	}
	if err := st.Insert(ctx, systables.Rejects(), rows); err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, db, "SELECT COUNT(*) FROM "+db.QualifiedName("load_rejects")+" WHERE reason = 'bad '' \\ ? ;'"); n != int64(1203) {
		t.Errorf("rows = %v, want 1203", n)
	}
	// The ledger's "rows" column is a reserved word in GoogleSQL.
	sql, _, err := systables.InsertSQL(db.Dialect(), "t", systables.Ledger(), [][]any{make([]any, 12)})
	if err != nil || !strings.Contains(sql, `"rows"`) {
		t.Errorf("InsertSQL = %s, %v; want \"rows\" quoted", sql, err)
	}
	if _, _, err := systables.InsertSQL(db.Dialect(), "t", systables.Ledger(), [][]any{{1}}); err == nil {
		t.Error("a short row was accepted")
	}
}
