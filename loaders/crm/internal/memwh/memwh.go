// Package memwh is an in-memory warehouse.Warehouse for the CRM loader's
// tests and benchmarks: Load appends rows to per-table slices (or only counts
// them), and a cursor store keeps cursors in a map. It lets loader tests run
// without linking an engine; the SQL models are tested on DuckDB separately.
package memwh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// WH is an in-memory warehouse. The zero value is not usable; call New.
type WH struct {
	// Discard keeps no rows, only counts (memory benchmarks).
	Discard bool
	// FailAfter, when > 0, makes every Load with rows after that many fail,
	// simulating a crash mid-sync.
	FailAfter int
	// OnLoad, if set, is called after each successful Load with the number
	// of loads so far (tests cancel a sync from it).
	OnLoad func(loads int)

	mu     sync.Mutex
	tables map[string]*Table
	loads  int
}

// Table is one table's schema and rows.
type Table struct {
	Schema warehouse.Schema
	Rows   [][]any
	Count  int64
}

// ErrCrash is what a Load returns after FailAfter loads.
var ErrCrash = errors.New("memwh: simulated crash")

// New returns an empty warehouse.
func New() *WH { return &WH{tables: map[string]*Table{}} }

func (w *WH) Dialect() warehouse.Dialect    { return duckdb.Dialect{} }
func (w *WH) QualifiedName(t string) string { return `"` + t + `"` }
func (w *WH) DryRun(context.Context, string) (warehouse.Estimate, error) {
	return warehouse.Estimate{}, nil
}
func (w *WH) Close() error { return nil }

// Exec implements warehouse.Warehouse for the INSERTs of SAM's system
// tables (systables.Store.Insert): the rows are appended as a Load would.
// Other statements are not supported.
func (w *WH) Exec(_ context.Context, sql string, args ...any) (warehouse.Result, error) {
	table, rows, ok := warehousetest.ParseInsert(sql, args)
	if !ok {
		return warehouse.Result{}, errors.New("memwh: Exec supports the system tables' INSERT only")
	}
	schema := warehouse.Schema{}
	for _, t := range systables.All() {
		if t.Name == table {
			schema = t.Schema
		}
	}
	res, err := w.Load(context.Background(), warehouse.LoadRequest{Table: table, Schema: schema, Mode: warehouse.Append, Rows: warehouse.NewSliceRows(rows)})
	return warehouse.Result{RowsAffected: res.RowsLoaded}, err
}

func (w *WH) Query(context.Context, string, ...any) (warehouse.Rows, error) {
	return nil, errors.New("memwh: Query not supported")
}

// Describe implements warehouse.Warehouse.
func (w *WH) Describe(_ context.Context, table string) (warehouse.Schema, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.tables[table]
	if !ok {
		return warehouse.Schema{}, fmt.Errorf("%s: %w", table, warehouse.ErrNotFound)
	}
	return t.Schema, nil
}

// Load implements warehouse.Warehouse for Append loads from a RowSource.
func (w *WH) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	if req.Rows == nil || req.Mode != warehouse.Append {
		return warehouse.LoadResult{}, errors.New("memwh: only appends from Rows")
	}
	var rows [][]any
	var n int64
	for {
		r, err := req.Rows.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return warehouse.LoadResult{}, err
		}
		if len(r) != len(req.Schema.Columns) {
			return warehouse.LoadResult{}, fmt.Errorf("memwh: %s row has %d values, schema %d", req.Table, len(r), len(req.Schema.Columns))
		}
		n++
		if !w.Discard {
			rows = append(rows, append([]any(nil), r...))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		// Only loads with rows count: creating an empty table is setup.
		w.loads++
		if w.FailAfter > 0 && w.loads > w.FailAfter {
			return warehouse.LoadResult{}, ErrCrash
		}
	}
	t, ok := w.tables[req.Table]
	if !ok {
		t = &Table{Schema: req.Schema}
		w.tables[req.Table] = t
	}
	t.Rows = append(t.Rows, rows...)
	t.Count += n
	if w.OnLoad != nil && n > 0 {
		w.OnLoad(w.loads)
	}
	return warehouse.LoadResult{RowsLoaded: n}, nil
}

// SetFailAfter changes FailAfter between syncs (0 disables).
func (w *WH) SetFailAfter(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.FailAfter = n
	w.loads = 0
}

// Table returns a table, or nil.
func (w *WH) Table(name string) *Table {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tables[name]
}

// Row is one row with access by column name.
type Row struct {
	vals []any
	idx  map[string]int
}

// Get returns the named column's value (nil when absent).
func (r Row) Get(col string) any {
	i, ok := r.idx[col]
	if !ok {
		return nil
	}
	return r.vals[i]
}

// Latest returns, per value of idCol, the row with the greatest modified_at
// (ties: the later-loaded row), as staging's dedupe picks it.
func (w *WH) Latest(table, idCol string) map[string]Row {
	t := w.Table(table)
	out := map[string]Row{}
	if t == nil {
		return out
	}
	idx := map[string]int{}
	for i, c := range t.Schema.Columns {
		idx[c.Name] = i
	}
	id, mod := idx[idCol], idx["modified_at"]
	for _, r := range t.Rows {
		key, _ := r[id].(string)
		prev, ok := out[key]
		if !ok || !tsOf(prev.vals[mod]).After(tsOf(r[mod])) {
			out[key] = Row{vals: r, idx: idx}
		}
	}
	return out
}

func tsOf(v any) time.Time {
	t, _ := v.(time.Time)
	return t
}

// Cursors is an in-memory crm.CursorStore.
type Cursors struct {
	mu sync.Mutex
	m  map[string]string
}

// NewCursors returns an empty store.
func NewCursors() *Cursors { return &Cursors{m: map[string]string{}} }

// Get returns a saved cursor.
func (c *Cursors) Get(_ context.Context, source, object string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[source+"/"+object], nil
}

// Save stores a cursor.
func (c *Cursors) Save(_ context.Context, source, object, cursor string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[source+"/"+object] = cursor
	return nil
}

// Links is a crm.LinkLog over a WH's rows, choosing versions as
// crm.NewLinkLog's query does.
type Links struct{ W *WH }

// Loaded implements crm.LinkLog.
func (l Links) Loaded(_ context.Context, source, object string) (map[string][]string, error) {
	switch object {
	case "deals":
		return l.snapshots(source, "raw_crm__deals", "deal_id", "raw_crm__deal_contacts", "lead_id"), nil
	case "accounts":
		return l.snapshots(source, "raw_crm__accounts", "account_id", "raw_crm__account_links", "object_type", "record_id"), nil
	case "touches:meeting", "touches:call":
		touchType := strings.TrimPrefix(object, "touches:")
		out := map[string][]string{}
		for id, t := range l.W.Latest("raw_crm__touches", "touch_id") {
			if t.Get("source_system") != source || t.Get("touch_type") != touchType {
				continue
			}
			out[id] = []string{}
			if lead, _ := t.Get("lead_id").(string); lead != "" {
				out[id] = []string{lead}
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("memwh: no links are kept for %q", object)
}

// snapshots maps each record of table (keyed by key) to the snapshot rows
// of linkTable written with its latest version, each given as its cols
// joined by ":".
func (l Links) snapshots(source, table, key, linkTable string, cols ...string) map[string][]string {
	out := map[string][]string{}
	latest := l.W.Latest(table, key)
	for id, r := range latest {
		if r.Get("source_system") == source {
			out[id] = []string{}
		}
	}
	t := l.W.Table(linkTable)
	if t == nil {
		return out
	}
	idx := map[string]int{}
	for i, c := range t.Schema.Columns {
		idx[c.Name] = i
	}
	for _, vals := range t.Rows {
		link := Row{vals: vals, idx: idx}
		id, _ := link.Get(key).(string)
		r, ok := latest[id]
		if !ok || r.Get("source_system") != source || link.Get("source_system") != source ||
			link.Get("is_snapshot") != true || link.Get("is_deleted") == true ||
			!tsOf(link.Get("modified_at")).Equal(tsOf(r.Get("modified_at"))) || !tsOf(link.Get("loaded_at")).Equal(tsOf(r.Get("loaded_at"))) {
			continue
		}
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i], _ = link.Get(c).(string)
		}
		out[id] = append(out[id], strings.Join(parts, ":"))
	}
	return out
}
