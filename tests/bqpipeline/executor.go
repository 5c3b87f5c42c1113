// Package bqpipeline runs SAM's whole BigQuery pipeline offline: the real
// sam binary in BigQuery mode talks to the fake BigQuery API (tests/bqfake),
// and an Executor installed as the fake's query handler executes what SAM
// sends, with ZetaSQL's reference evaluator (tools/zetasql) answering
// every query.
//
// The Executor splits a script into statements and implements the
// statement kinds SAM issues: queries; CREATE [OR REPLACE] TABLE with
// columns or AS SELECT (PARTITION BY, CLUSTER BY and OPTIONS are accepted;
// a DATE partitioning column is recorded); CREATE [OR REPLACE] VIEW (a view
// is evaluated whenever a query reads it); INSERT with a query or VALUES;
// DELETE; UPDATE; TRUNCATE; DROP TABLE and VIEW; ALTER TABLE RENAME TO;
// BEGIN, COMMIT and ROLLBACK TRANSACTION (a transaction's tables are
// snapshotted and restored when a statement fails, so a failed script
// changes nothing); and reads of a dataset's INFORMATION_SCHEMA.TABLES and
// COLUMNS. Tables live in the fake, so load jobs and queries see the same
// data. It is generic: nothing in it knows SAM's table names.
//
// Each query sees the tables its text names by a qualified path (`p.d.t`,
// `p.d`.t, `p`.`d`.`t`, p.d.t) with their current rows; a wildcard path
// (`p.d.events_*`) is the union of the matching tables with the
// _TABLE_SUFFIX pseudo-column. Paths are rewritten to the one quoted
// identifier form the evaluator resolves.
//
// The test in this package builds the sam binary, seeds a GA4 export
// dataset in the fake from generated data, runs `sam run` and checks every
// stage, the published models and the GA4 events sent back; then it
// interrupts runs with SIGTERM at random moments and checks that no
// published table is partial and that a retry completes the run.
package bqpipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/sam-attribution/sam/tests/bqfake"
	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
)

// Executor executes SQL against the tables of a fake BigQuery server.
// Its Handle method is a bqfake.QueryHandler. Statements run one at a
// time: a query job holds the executor until it is done, as if BigQuery
// serialized every job, which keeps every statement atomic.
type Executor struct {
	fake   *bqfake.Server
	client *zetasql.Client

	// Timeout bounds one statement's evaluation (default 5 minutes).
	Timeout time.Duration
	// Log, when set, is told about every statement and its outcome.
	Log func(format string, args ...any)

	mu        sync.Mutex
	stats     Stats
	beforeJob func(n int)
}

// SetBeforeJob installs f (nil removes it), called with the job's number
// (from 1) as each query job starts, before it runs, so that a test can
// interrupt the client at a precise point.
func (e *Executor) SetBeforeJob(f func(n int)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.beforeJob = f
}

// Stats counts what an Executor did.
type Stats struct {
	Jobs, Statements, Evaluations int
	EvalTime                      time.Duration
	// Kinds counts the statements run by statement type.
	Kinds map[string]int
}

// NewExecutor returns an executor over fake's tables that evaluates
// queries with client.
func NewExecutor(fake *bqfake.Server, client *zetasql.Client) *Executor {
	return &Executor{fake: fake, client: client, Timeout: 5 * time.Minute}
}

// Stats returns the counts so far.
func (e *Executor) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.stats
	st.Kinds = maps.Clone(e.stats.Kinds)
	return st
}

// tableKey names a table of the fake.
type tableKey struct{ project, dataset, table string }

func (k tableKey) String() string { return k.project + "." + k.dataset + "." + k.table }

// scope is what one job's statements share: how unqualified names
// resolve, and the open transaction's snapshots.
type scope struct {
	project, dataset string
	// tx holds, for each table written since BEGIN TRANSACTION, its state
	// before the first write (nil: it did not exist). nil outside a
	// transaction.
	tx map[tableKey]*bqfake.Table
	// bytes is the job's bytes processed so far.
	bytes int64
}

// stmtResult is one executed statement's outcome.
type stmtResult struct {
	kind     string // BigQuery statement type
	affected int64
	cols     []warehouse.Column
	rows     [][]any
}

// Handle executes a query job. It is a bqfake.QueryHandler.
func (e *Executor) Handle(q bqfake.Query) bqfake.QueryResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Jobs++
	if e.beforeJob != nil {
		e.beforeJob(e.stats.Jobs)
	}
	sc := &scope{project: q.ProjectID}
	if q.Config != nil && q.Config.DefaultDataset != nil {
		d := q.Config.DefaultDataset
		sc.project, sc.dataset = d.ProjectId, d.DatasetId
	}
	sql := q.SQL
	if len(q.Params) > 0 {
		bound, err := bindParams(sql, q.Params)
		if err != nil {
			return errResult(err)
		}
		sql = bound
	}
	stmts := splitScript(sql)
	if len(stmts) == 0 {
		return errResult(errors.New("Syntax error: empty query"))
	}
	if q.DryRun {
		// Estimate without executing: the size of the tables named.
		var n int64
		for _, s := range stmts {
			_, _, b, err := e.catalog(context.Background(), sc, s, 0)
			if err == nil {
				n += b
			}
		}
		return bqfake.QueryResult{StatementType: statementKind(stmts[0]), BytesProcessed: n}
	}
	var results []stmtResult
	for _, s := range stmts {
		e.stats.Statements++
		start := time.Now()
		r, err := e.exec(sc, s)
		if e.stats.Kinds == nil {
			e.stats.Kinds = map[string]int{}
		}
		e.stats.Kinds[r.kind]++
		if e.Log != nil {
			e.Log("bq exec %s (%s, %d rows) %v: %.120q", r.kind, time.Since(start).Round(time.Millisecond), r.affected+int64(len(r.rows)), err, s)
		}
		if err != nil {
			if sc.tx != nil {
				e.restore(sc.tx)
			}
			return errResult(err)
		}
		results = append(results, r)
	}
	if sc.tx != nil {
		// A script that ends inside a transaction rolls it back.
		e.restore(sc.tx)
		return errResult(errors.New("Transaction is still active at the end of the script"))
	}
	if len(results) == 1 {
		r := results[0]
		out := bqfake.QueryResult{StatementType: r.kind, DMLAffectedRows: r.affected, BytesProcessed: sc.bytes, BytesBilled: sc.bytes}
		if r.kind == "SELECT" {
			out.Schema, out.Rows = resultSet(r)
		}
		return out
	}
	out := bqfake.QueryResult{StatementType: "SCRIPT", BytesProcessed: sc.bytes, BytesBilled: sc.bytes}
	for _, r := range results {
		child := bqfake.QueryResult{StatementType: r.kind, DMLAffectedRows: r.affected}
		if r.kind == "SELECT" {
			child.Schema, child.Rows = resultSet(r)
		}
		out.Children = append(out.Children, child)
	}
	// A script's result is its last statement's.
	if last := results[len(results)-1]; last.kind == "SELECT" {
		out.Schema, out.Rows = resultSet(last)
	}
	return out
}

func errResult(err error) bqfake.QueryResult {
	reason := "invalidQuery"
	var nf *notFoundError
	switch {
	case errors.As(err, &nf):
		reason = "notFound"
	case strings.HasPrefix(err.Error(), "Already Exists"):
		reason = "duplicate"
	}
	return bqfake.QueryResult{Error: &bq.ErrorProto{Reason: reason, Message: err.Error()}}
}

type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return "Not found: " + e.what }

// resultSet converts a query's typed rows to the fake's result form.
func resultSet(r stmtResult) (*bq.TableSchema, [][]any) {
	cols := slices.Clone(r.cols)
	for i := range cols {
		if strings.HasPrefix(cols[i].Name, "$") || cols[i].Name == "" {
			cols[i].Name = fmt.Sprintf("f%d_", i)
		}
	}
	rows := make([][]any, len(r.rows))
	for i, row := range r.rows {
		out := make([]any, len(row))
		for j, v := range row {
			out[j] = wire(cols[j], v)
		}
		rows[i] = out
	}
	return &bq.TableSchema{Fields: fields(cols)}, rows
}

// statementKind guesses a statement's type from its first words.
func statementKind(stmt string) string {
	toks := lex(stmt)
	if len(toks) == 0 {
		return "SELECT"
	}
	switch w := toks[0].upper(); w {
	case "INSERT", "DELETE", "UPDATE", "MERGE":
		return w
	case "CREATE":
		if findTop(toks, 1, "VIEW") > 0 {
			return "CREATE_VIEW"
		}
		if findTop(toks, 1, "AS") > 0 {
			return "CREATE_TABLE_AS_SELECT"
		}
		return "CREATE_TABLE"
	case "DROP":
		return "DROP_TABLE"
	}
	return "SELECT"
}

// resolve completes a path with the scope's defaults.
func (sc *scope) resolve(parts []string) (tableKey, error) {
	switch len(parts) {
	case 3:
		return tableKey{parts[0], parts[1], parts[2]}, nil
	case 2:
		return tableKey{sc.project, parts[0], parts[1]}, nil
	case 1:
		if sc.dataset == "" {
			return tableKey{}, fmt.Errorf("Table %q must be qualified with a dataset (e.g. dataset.table)", parts[0])
		}
		return tableKey{sc.project, sc.dataset, parts[0]}, nil
	}
	return tableKey{}, fmt.Errorf("invalid table name %q", strings.Join(parts, "."))
}

// table reads a table of the fake with its columns.
func (e *Executor) table(k tableKey) (bqfake.Table, []warehouse.Column, bool, error) {
	t, ok := e.fake.Table(k.project, k.dataset, k.table)
	if !ok {
		return t, nil, false, nil
	}
	if t.Meta.Schema == nil {
		return t, nil, true, nil
	}
	cols, err := columns(t.Meta.Schema.Fields)
	return t, cols, true, err
}

// write replaces a table's metadata and rows, snapshotting it first inside
// a transaction.
func (e *Executor) write(sc *scope, k tableKey, meta *bq.Table, rows []map[string]any) {
	e.touch(sc, k)
	e.fake.PutTable(k.project, k.dataset, k.table, meta, rows)
}

// remove deletes a table, snapshotting it first inside a transaction.
func (e *Executor) remove(sc *scope, k tableKey) bool {
	e.touch(sc, k)
	return e.fake.DeleteTable(k.project, k.dataset, k.table)
}

func (e *Executor) touch(sc *scope, k tableKey) {
	if sc.tx == nil {
		return
	}
	if _, done := sc.tx[k]; done {
		return
	}
	if t, ok := e.fake.Table(k.project, k.dataset, k.table); ok {
		sc.tx[k] = &t
	} else {
		sc.tx[k] = nil
	}
}

// restore puts back the tables a failed transaction wrote.
func (e *Executor) restore(tx map[tableKey]*bqfake.Table) {
	for k, t := range tx {
		if t == nil {
			e.fake.DeleteTable(k.project, k.dataset, k.table)
			continue
		}
		e.fake.RestoreTable(k.project, k.dataset, k.table, *t)
	}
}

// exec runs one statement.
func (e *Executor) exec(sc *scope, stmt string) (stmtResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.Timeout)
	defer cancel()
	toks := lex(stmt)
	first := toks[0].upper()
	if toks[0].kind == tokPunct && toks[0].text == "(" {
		first = "SELECT"
	}
	switch first {
	case "SELECT", "WITH":
		cols, rows, err := e.query(ctx, sc, stmt)
		return stmtResult{kind: "SELECT", cols: cols, rows: rows}, err
	case "CREATE":
		return e.create(ctx, sc, stmt, toks)
	case "INSERT":
		return e.insert(ctx, sc, stmt, toks)
	case "DELETE":
		return e.delete(ctx, sc, stmt, toks)
	case "UPDATE":
		return e.update(ctx, sc, stmt, toks)
	case "TRUNCATE":
		return e.truncate(sc, toks)
	case "DROP":
		return e.drop(sc, toks)
	case "ALTER":
		return e.alter(sc, toks)
	case "BEGIN":
		if sc.tx != nil {
			return stmtResult{kind: "BEGIN_TRANSACTION"}, errors.New("Transaction is already active")
		}
		sc.tx = map[tableKey]*bqfake.Table{}
		return stmtResult{kind: "BEGIN_TRANSACTION"}, nil
	case "COMMIT":
		if sc.tx == nil {
			return stmtResult{kind: "COMMIT_TRANSACTION"}, errors.New("COMMIT TRANSACTION without an active transaction")
		}
		sc.tx = nil
		return stmtResult{kind: "COMMIT_TRANSACTION"}, nil
	case "ROLLBACK":
		if sc.tx == nil {
			return stmtResult{kind: "ROLLBACK_TRANSACTION"}, errors.New("ROLLBACK TRANSACTION without an active transaction")
		}
		e.restore(sc.tx)
		sc.tx = nil
		return stmtResult{kind: "ROLLBACK_TRANSACTION"}, nil
	}
	return stmtResult{kind: "UNKNOWN"}, fmt.Errorf("the bqpipeline executor does not run %s statements: %.80q", first, stmt)
}

// words reports whether toks from i on start with the given upper-case
// words, and the index after them.
func words(toks []token, i int, ws ...string) (int, bool) {
	for _, w := range ws {
		if i >= len(toks) || toks[i].upper() != w {
			return i, false
		}
		i++
	}
	return i, true
}

func (e *Executor) create(ctx context.Context, sc *scope, stmt string, toks []token) (stmtResult, error) {
	i := 1
	replace := false
	if j, ok := words(toks, i, "OR", "REPLACE"); ok {
		i, replace = j, true
	}
	if j, ok := words(toks, i, "TEMP"); ok {
		i = j
	} else if j, ok := words(toks, i, "TEMPORARY"); ok {
		i = j
	}
	var view bool
	switch toks[i].upper() {
	case "TABLE":
	case "VIEW":
		view = true
	default:
		return stmtResult{kind: "CREATE"}, fmt.Errorf("the bqpipeline executor does not run CREATE %s", toks[i].text)
	}
	i++
	ifNotExists := false
	if j, ok := words(toks, i, "IF", "NOT", "EXISTS"); ok {
		i, ifNotExists = j, true
	}
	p, ok := readPath(toks, i)
	if !ok {
		return stmtResult{kind: "CREATE"}, errors.New("CREATE: missing name")
	}
	k, err := sc.resolve(p.parts)
	if err != nil {
		return stmtResult{kind: "CREATE"}, err
	}
	kind := "CREATE_TABLE"
	if view {
		kind = "CREATE_VIEW"
	}
	old, _, exists, err := e.table(k)
	if err != nil {
		return stmtResult{kind: kind}, err
	}
	if exists && ifNotExists {
		return stmtResult{kind: kind}, nil
	}
	if exists && !replace {
		what := "Table"
		if old.Meta.View != nil {
			what = "View"
		}
		return stmtResult{kind: kind}, fmt.Errorf("Already Exists: %s %s:%s.%s", what, k.project, k.dataset, k.table)
	}
	as := findTop(toks, p.next, "AS")
	meta := &bq.Table{}
	if view {
		if as < 0 {
			return stmtResult{kind: kind}, errors.New("CREATE VIEW: missing AS query")
		}
		body := strings.TrimSpace(stmt[toks[as].end:])
		cols, _, err := e.query(ctx, sc, body)
		if err != nil {
			return stmtResult{kind: kind}, err
		}
		meta.Schema = &bq.TableSchema{Fields: fields(cols)}
		meta.View = &bq.ViewDefinition{Query: body}
		e.write(sc, k, meta, nil)
		return stmtResult{kind: kind}, nil
	}
	end := len(toks)
	if as >= 0 {
		end = as
	}
	var cols []warehouse.Column
	if p.next < len(toks) && toks[p.next].text == "(" && toks[p.next].kind == tokPunct {
		cl := matchClose(toks, p.next)
		cols, err = e.columnDefs(ctx, stmt, toks, p.next+1, cl)
		if err != nil {
			return stmtResult{kind: kind}, err
		}
	}
	if j := findTop(toks, p.next, "PARTITION"); j >= 0 && j < end {
		meta.TimePartitioning = partitioning(toks, j+2)
	}
	if j := findTop(toks, p.next, "CLUSTER"); j >= 0 && j < end {
		c := &bq.Clustering{}
		for k := j + 2; k < end; k++ {
			t := toks[k]
			if t.kind == tokWord && (t.upper() == "OPTIONS" || t.upper() == "AS") {
				break
			}
			if t.kind == tokWord || t.kind == tokQuoted {
				c.Fields = append(c.Fields, t.ident())
			}
		}
		meta.Clustering = c
	}
	var rows []map[string]any
	var n int64
	if as >= 0 {
		kind = "CREATE_TABLE_AS_SELECT"
		qcols, qrows, err := e.query(ctx, sc, strings.TrimSpace(stmt[toks[as].end:]))
		if err != nil {
			return stmtResult{kind: kind}, err
		}
		for _, c := range qcols {
			if strings.HasPrefix(c.Name, "$") {
				return stmtResult{kind: kind}, errors.New("CREATE TABLE AS SELECT: every column needs a name")
			}
		}
		cols = qcols
		for _, r := range qrows {
			rows = append(rows, storedRow(cols, r))
		}
		n = int64(len(rows))
	}
	if cols == nil {
		return stmtResult{kind: kind}, errors.New("CREATE TABLE needs columns or AS SELECT")
	}
	if tp := meta.TimePartitioning; tp != nil && old.Meta != nil && exists && replace {
		if op := old.Meta.TimePartitioning; op == nil || op.Field != tp.Field {
			return stmtResult{kind: kind}, fmt.Errorf("Cannot replace a table with a different partitioning spec. Instead, DROP the table, and then recreate it. New partitioning spec is %s and existing spec is %v", tp.Field, op)
		}
	}
	meta.Schema = &bq.TableSchema{Fields: fields(cols)}
	e.write(sc, k, meta, rows)
	return stmtResult{kind: kind, affected: n}, nil
}

// partitioning reads a PARTITION BY expression starting at toks[i]: col,
// DATE(col), TIMESTAMP_TRUNC(col, DAY) and the like.
func partitioning(toks []token, i int) *bq.TimePartitioning {
	if i >= len(toks) {
		return nil
	}
	if i+2 < len(toks) && toks[i+1].text == "(" && (toks[i+2].kind == tokWord || toks[i+2].kind == tokQuoted) {
		if u := toks[i].upper(); u == "RANGE_BUCKET" {
			return nil
		}
		return &bq.TimePartitioning{Type: "DAY", Field: toks[i+2].ident()}
	}
	if toks[i].kind == tokWord || toks[i].kind == tokQuoted {
		return &bq.TimePartitioning{Type: "DAY", Field: toks[i].ident()}
	}
	return nil
}

// columnDefs reads the column definitions between toks[i] and toks[j]
// (exclusive) by having the analyzer type CAST(NULL AS type) for each.
func (e *Executor) columnDefs(ctx context.Context, stmt string, toks []token, i, j int) ([]warehouse.Column, error) {
	defs := splitTop(stmt, toks, i, j, true)
	sel := make([]string, 0, len(defs))
	for _, d := range defs {
		dt := lex(d)
		if len(dt) < 2 {
			return nil, fmt.Errorf("column definition %q has no type", d)
		}
		end := len(dt)
		if k := findTop(dt, 1, "OPTIONS", "NOT", "DEFAULT"); k > 0 {
			end = k
		}
		typ := d[dt[1].start:dt[end-1].end]
		sel = append(sel, "CAST(NULL AS "+typ+") AS `"+dt[0].ident()+"`")
	}
	cols, err := e.client.Analyze(ctx, "SELECT "+strings.Join(sel, ", "), zetasql.NewCatalog())
	if err != nil {
		return nil, fmt.Errorf("column definitions: %w", err)
	}
	return cols, nil
}

// target reads the table a DML statement writes, after the optional
// keyword (INTO or FROM), and an alias.
func target(sc *scope, toks []token, i int, optional string) (tableKey, path, string, error) {
	if optional != "" && toks[i].upper() == optional {
		i++
	}
	p, ok := readPath(toks, i)
	if !ok {
		return tableKey{}, p, "", errors.New("missing table name")
	}
	k, err := sc.resolve(p.parts)
	alias := ""
	n := p.next
	if n < len(toks) && toks[n].upper() == "AS" {
		n++
	}
	if n < len(toks) && toks[n].kind == tokWord {
		switch toks[n].upper() {
		case "WHERE", "SET", "SELECT", "WITH", "VALUES":
		default:
			alias = toks[n].text
			n++
		}
	}
	p.next = n
	return k, p, alias, err
}

func (e *Executor) insert(ctx context.Context, sc *scope, stmt string, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "INSERT"}
	if toks[1].upper() == "INTO" {
		toks = slices.Delete(slices.Clone(toks), 1, 2)
	}
	p, ok := readPath(toks, 1)
	if !ok {
		return res, errors.New("INSERT: missing table name")
	}
	k, err := sc.resolve(p.parts)
	if err != nil {
		return res, err
	}
	t, cols, exists, err := e.table(k)
	if err != nil {
		return res, err
	}
	if !exists || t.Meta.View != nil {
		return res, &notFoundError{"Table " + k.project + ":" + k.dataset + "." + k.table}
	}
	targets := cols
	i := p.next
	if i < len(toks) && toks[i].kind == tokPunct && toks[i].text == "(" {
		cl := matchClose(toks, i)
		targets = nil
		for _, name := range splitTop(stmt, toks, i+1, cl, false) {
			name = strings.Trim(name, "`")
			c, ok := columnByName(cols, name)
			if !ok {
				return res, fmt.Errorf("Column %s is not present in table %s", name, k)
			}
			targets = append(targets, c)
		}
		i = cl + 1
	}
	if i >= len(toks) {
		return res, errors.New("INSERT: missing values")
	}
	var vals [][]any
	var srcCols []warehouse.Column
	if toks[i].upper() == "VALUES" {
		for j := i + 1; j < len(toks); j++ {
			if toks[j].kind != tokPunct || toks[j].text != "(" {
				continue
			}
			cl := matchClose(toks, j)
			exprs := splitTop(stmt, toks, j+1, cl, false)
			qcols, rows, err := e.query(ctx, sc, "SELECT "+strings.Join(exprs, ", "))
			if err != nil {
				return res, err
			}
			srcCols = qcols
			vals = append(vals, rows...)
			j = cl
		}
	} else {
		qcols, rows, err := e.query(ctx, sc, stmt[toks[i].start:])
		if err != nil {
			return res, err
		}
		srcCols, vals = qcols, rows
	}
	// BigQuery coerces a STRUCT into a column by position, not by field
	// name: a record whose fields come in another order lands shuffled, one
	// with another number of fields is refused.
	if len(srcCols) == len(targets) {
		for _, v := range vals {
			for ci := range targets {
				x, err := byPosition(srcCols[ci], targets[ci], v[ci])
				if err != nil {
					return res, fmt.Errorf("Query column %d %w which cannot be inserted into column %s", ci+1, err, targets[ci].Name)
				}
				v[ci] = x
			}
		}
	}
	rows := slices.Clone(t.Rows)
	for _, v := range vals {
		if len(v) != len(targets) {
			return res, fmt.Errorf("Inserted row has wrong column count; Has %d, expected %d", len(v), len(targets))
		}
		r := make(map[string]any, len(cols))
		for ci, c := range targets {
			x, err := typed(c, v[ci])
			if err != nil {
				return res, err
			}
			r[c.Name] = stored(c, x)
		}
		rows = append(rows, r)
	}
	e.write(sc, k, t.Meta, rows)
	res.affected = int64(len(vals))
	return res, nil
}

// byPosition renames a record value's fields from the source column's
// order to the target's, as BigQuery's STRUCT coercion does; other values
// pass unchanged.
func byPosition(src, dst warehouse.Column, v any) (any, error) {
	if src.Type != warehouse.Record || dst.Type != warehouse.Record || v == nil {
		return v, nil
	}
	if len(src.Fields) != len(dst.Fields) {
		return nil, fmt.Errorf("has a STRUCT of %d fields (the column has %d)", len(src.Fields), len(dst.Fields))
	}
	one := func(x any) (any, error) {
		m, ok := x.(map[string]any)
		if !ok {
			return x, nil
		}
		out := make(map[string]any, len(dst.Fields))
		for i, df := range dst.Fields {
			sf := src.Fields[i]
			y, err := byPosition(sf, df, m[sf.Name])
			if err != nil {
				return nil, err
			}
			out[df.Name] = y
		}
		return out, nil
	}
	if list, ok := v.([]any); ok && src.Repeated {
		out := make([]any, len(list))
		for i, x := range list {
			y, err := one(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return one(v)
}

func columnByName(cols []warehouse.Column, name string) (warehouse.Column, bool) {
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return warehouse.Column{}, false
}

// dmlTarget reads the table a DML statement changes (which must exist and
// not be a view), with its alias, contents and columns.
func (e *Executor) dmlTarget(sc *scope, toks []token, i int, optional string) (tableKey, path, string, bqfake.Table, []warehouse.Column, error) {
	k, p, alias, err := target(sc, toks, i, optional)
	if err != nil {
		return k, p, alias, bqfake.Table{}, nil, err
	}
	t, cols, exists, err := e.table(k)
	if err != nil {
		return k, p, alias, t, nil, err
	}
	if !exists || t.Meta.View != nil {
		return k, p, alias, t, nil, &notFoundError{"Table " + k.project + ":" + k.dataset + "." + k.table}
	}
	return k, p, alias, t, cols, nil
}

func (e *Executor) delete(ctx context.Context, sc *scope, stmt string, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "DELETE"}
	k, p, alias, t, cols, err := e.dmlTarget(sc, toks, 1, "FROM")
	if err != nil {
		return res, err
	}
	w := p.next
	if w >= len(toks) || toks[w].upper() != "WHERE" {
		return res, errors.New("DELETE must have a WHERE clause")
	}
	cond := stmt[toks[w].end:]
	from := "`" + k.String() + "` " + alias
	_, kept, err := e.query(ctx, sc, fmt.Sprintf("SELECT * FROM %s WHERE NOT (%s) OR (%s) IS NULL", from, cond, cond))
	if err != nil {
		return res, err
	}
	rows := make([]map[string]any, len(kept))
	for i, r := range kept {
		rows[i] = storedRow(cols, r)
	}
	res.affected = int64(len(t.Rows) - len(kept))
	if res.affected > 0 {
		e.write(sc, k, t.Meta, rows)
	}
	return res, nil
}

func (e *Executor) update(ctx context.Context, sc *scope, stmt string, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "UPDATE"}
	k, p, alias, t, cols, err := e.dmlTarget(sc, toks, 1, "")
	if err != nil {
		return res, err
	}
	s := p.next
	if s >= len(toks) || toks[s].upper() != "SET" {
		return res, errors.New("UPDATE: missing SET")
	}
	w := findTop(toks, s, "WHERE")
	if w < 0 {
		return res, errors.New("UPDATE must have a WHERE clause")
	}
	cond := stmt[toks[w].end:]
	var repl []string
	for _, a := range splitTop(stmt, toks, s+1, w, false) {
		lhs, rhs, ok := strings.Cut(a, "=")
		if !ok {
			return res, fmt.Errorf("UPDATE: bad assignment %q", a)
		}
		col := strings.Trim(strings.TrimSpace(lhs), "`")
		if alias != "" {
			col = strings.TrimPrefix(col, alias+".")
		}
		repl = append(repl, fmt.Sprintf("IF(COALESCE(%s, FALSE), %s, %s) AS `%s`", cond, rhs, col, col))
	}
	from := "`" + k.String() + "` " + alias
	_, n, err := e.query(ctx, sc, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s", from, cond))
	if err != nil {
		return res, err
	}
	_, all, err := e.query(ctx, sc, fmt.Sprintf("SELECT * REPLACE (%s) FROM %s", strings.Join(repl, ", "), from))
	if err != nil {
		return res, err
	}
	rows := make([]map[string]any, len(all))
	for i, r := range all {
		rows[i] = storedRow(cols, r)
	}
	res.affected = n[0][0].(int64)
	if res.affected > 0 {
		e.write(sc, k, t.Meta, rows)
	}
	return res, nil
}

func (e *Executor) truncate(sc *scope, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "TRUNCATE_TABLE"}
	k, _, _, t, _, err := e.dmlTarget(sc, toks, 1, "TABLE")
	if err != nil {
		return res, err
	}
	res.affected = int64(len(t.Rows))
	e.write(sc, k, t.Meta, nil)
	return res, nil
}

func (e *Executor) drop(sc *scope, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "DROP_TABLE"}
	i := 1
	switch toks[i].upper() {
	case "TABLE":
	case "VIEW":
		res.kind = "DROP_VIEW"
	default:
		return res, fmt.Errorf("the bqpipeline executor does not run DROP %s", toks[i].text)
	}
	i++
	ifExists := false
	if j, ok := words(toks, i, "IF", "EXISTS"); ok {
		i, ifExists = j, true
	}
	p, ok := readPath(toks, i)
	if !ok {
		return res, errors.New("DROP: missing name")
	}
	k, err := sc.resolve(p.parts)
	if err != nil {
		return res, err
	}
	t, _, exists, err := e.table(k)
	if err != nil {
		return res, err
	}
	if !exists {
		if ifExists {
			return res, nil
		}
		return res, &notFoundError{"Table " + k.project + ":" + k.dataset + "." + k.table}
	}
	if isView := t.Meta.View != nil; isView != (res.kind == "DROP_VIEW") {
		return res, fmt.Errorf("%s is a %s; use DROP %s", k, map[bool]string{true: "view", false: "table"}[isView], map[bool]string{true: "VIEW", false: "TABLE"}[isView])
	}
	e.remove(sc, k)
	return res, nil
}

func (e *Executor) alter(sc *scope, toks []token) (stmtResult, error) {
	res := stmtResult{kind: "ALTER_TABLE"}
	i := 1
	if toks[i].upper() != "TABLE" {
		return res, fmt.Errorf("the bqpipeline executor does not run ALTER %s", toks[i].text)
	}
	i++
	ifExists := false
	if j, ok := words(toks, i, "IF", "EXISTS"); ok {
		i, ifExists = j, true
	}
	p, ok := readPath(toks, i)
	if !ok {
		return res, errors.New("ALTER TABLE: missing name")
	}
	k, err := sc.resolve(p.parts)
	if err != nil {
		return res, err
	}
	t, _, exists, err := e.table(k)
	if err != nil {
		return res, err
	}
	if !exists {
		if ifExists {
			return res, nil
		}
		return res, &notFoundError{"Table " + k.project + ":" + k.dataset + "." + k.table}
	}
	if _, ok := words(toks, p.next, "SET", "OPTIONS"); ok {
		return res, nil
	}
	j, ok := words(toks, p.next, "RENAME", "TO")
	if !ok || j >= len(toks) {
		return res, fmt.Errorf("the bqpipeline executor runs ALTER TABLE … RENAME TO and SET OPTIONS only")
	}
	to := tableKey{k.project, k.dataset, toks[j].ident()}
	if _, _, taken, _ := e.table(to); taken {
		return res, fmt.Errorf("Already Exists: Table %s", to)
	}
	e.remove(sc, k)
	e.write(sc, to, t.Meta, t.Rows)
	return res, nil
}

// Query evaluates a query over the fake's current tables, as a query job
// would, and returns typed rows (see zetasql.Result). It lets a test read
// views.
func (e *Executor) Query(ctx context.Context, project, sql string) ([]warehouse.Column, [][]any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.query(ctx, &scope{project: project}, sql)
}
