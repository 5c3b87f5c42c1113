package transform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// How models are published, per engine:
//
//   - view: CREATE OR REPLACE VIEW. On DuckDB the view and its state row
//     commit in one transaction.
//   - table on DuckDB: the query fills <name>__sam_tmp; then one transaction
//     drops the old table, renames the new one into place and records the
//     state row. Readers see the old table until the commit; a crash before
//     it leaves the old table and state, a crash after it the new ones.
//   - table on BigQuery: CREATE OR REPLACE TABLE ... PARTITION BY ... CLUSTER
//     BY ... AS SELECT, which BigQuery publishes atomically; the state row
//     follows (BigQuery transactions cannot hold DDL), so a crash between
//     the two only makes the next run build the same version again.
//   - incremental run (both engines): the query, filtered by
//     incremental_filter, fills <name>__sam_tmp; every row must fall in the
//     window being replaced; then one transaction deletes the window's
//     partitions, inserts the new rows and records the state row.
//   - full build in windows (full_build_window_days, DuckDB; window.go):
//     the incremental query, once per window of partitions, fills
//     <name>__sam_tmp, which is published as a table is.
//   - deduplicate_by (table and incremental models): DuckDB deletes the
//     copies from the filled temporary table before publishing it; BigQuery
//     fills with the query wrapped in a window that keeps the first row of
//     each key.
//   - seed: a Replace load of the CSV, then the state row.
//   - go (both engines): the model's query is read, the Go model computes
//     the rows, a Replace load publishes them (atomic on both engines),
//     then the state row follows, as for a seed.

// tmpSuffix names the table a model is built into before it is published.
// A crash leaves it behind; the next build of the model replaces it.
const tmpSuffix = "__sam_tmp"

type buildOutput struct {
	Rows, Bytes int64
	Partitions  string
	// Statements is the time the model's own statements took (runsQuery).
	Statements time.Duration
}

func (r *Runner) buildModel(ctx context.Context, m *Model, it PlanItem, runID string) (buildOutput, error) {
	b := &builder{r: r, m: m, it: it, runID: runID, d: r.WH.Dialect(), q: r.WH.QualifiedName(m.Name)}
	var (
		out buildOutput
		err error
	)
	switch {
	case m.Kind == Seed:
		out, err = b.seed(ctx)
	case m.Config.Materialized == View:
		out, err = b.view(ctx)
	case m.Config.Materialized == Go:
		out, err = b.goModel(ctx)
	case it.Action == ActionIncremental:
		out, err = b.incremental(ctx)
	default:
		out, err = b.table(ctx)
	}
	out.Statements = b.statements
	var se *modelSQLError
	switch {
	case errors.As(err, &se):
		return out, withLine(m.File, se.err)
	case err != nil:
		return out, fmt.Errorf("%s: %w", m.File, err)
	}
	return out, nil
}

// modelSQLError marks a failure of a statement that embeds the model's SQL
// from its first line, where an engine's line number is a file line.
type modelSQLError struct{ err error }

func (e *modelSQLError) Error() string { return e.err.Error() }
func (e *modelSQLError) Unwrap() error { return e.err }

// isModelStep reports whether step's statement starts with the model's SQL
// on line 1, where an engine's line number is a file line.
func isModelStep(step string) bool {
	switch step {
	case "view", "fill", "create", "recreate":
		return true
	}
	return strings.HasPrefix(step, "fill_") // a window of a full build in windows
}

// runsQuery reports whether step runs the model's query, or removes its
// copies: the work the same SQL would do run by hand. A view's step is left
// out, its statement also writing the state row. The rest of a build
// (state, counts, the publish) is the runner's own.
func runsQuery(step string) bool {
	return step == "deduplicate" || step != "view" && isModelStep(step)
}

// builder carries one model's build.
type builder struct {
	r     *Runner
	m     *Model
	it    PlanItem
	runID string
	d     warehouse.Dialect
	q     string // qualified name
	bytes int64
	// statements sums the time of the steps that run the model's query.
	statements time.Duration
}

func (b *builder) exec(ctx context.Context, step, sql string, args ...any) (warehouse.Result, error) {
	start := time.Now()
	res, err := b.r.WH.Exec(ctx, sql, append(append([]any(nil), args...), b.r.execOptions(b.runID, b.m.Name, b.it.Version, step)...)...)
	if runsQuery(step) {
		b.statements += time.Since(start)
	}
	b.bytes += res.BytesProcessed
	if err != nil && isModelStep(step) {
		err = &modelSQLError{err}
	}
	return res, err
}

func (b *builder) query(ctx context.Context, sql string) ([][]any, error) {
	// Reads carry labels but no job id: a reused id would return the
	// earlier job's (possibly stale) result.
	rows, err := b.r.WH.Query(ctx, sql, warehouse.WithLabels(b.r.labels(b.runID, b.m.Name)))
	if err != nil {
		return nil, err
	}
	return warehouse.CollectRows(rows)
}

// state renders the state row's INSERT and its arguments.
func (b *builder) state(rows int64, partitions string) (string, []any, error) {
	return stateInsert(b.d, b.r.WH.QualifiedName(StateTable), State{
		Model: b.m.Name, Version: b.it.Version, Definition: b.it.definition, Materialized: b.it.Materialized, BuiltAt: b.r.now(),
		Rows: rows, Bytes: b.bytes, RunID: b.runID, Inputs: b.it.inputs, Partitions: partitions,
	})
}

// transaction wraps statements in the dialect's transaction script. The
// first statement shares line 1 with BEGIN so that a model's line numbers
// survive in engine errors.
func (b *builder) transaction(stmts ...string) string { return b.d.Transaction(stmts...) }

// dropOther removes an object of the other kind (view vs table) that a
// previous build left under the model's name.
func (b *builder) dropOther(wantView bool) string {
	prev := b.it.prevMaterialized
	switch {
	case prev == "":
		return ""
	case wantView && prev != string(View):
		return "DROP TABLE IF EXISTS " + b.q
	case !wantView && prev == string(View):
		return "DROP VIEW IF EXISTS " + b.q
	}
	return ""
}

func (b *builder) view(ctx context.Context) (buildOutput, error) {
	create := "CREATE OR REPLACE VIEW " + b.q + " AS " + b.it.sql + "\n"
	if !b.d.Features().TransactionalDDL {
		if drop := b.dropOther(true); drop != "" {
			if _, err := b.exec(ctx, "drop", drop); err != nil {
				return buildOutput{}, err
			}
		}
		if _, err := b.exec(ctx, "view", create); err != nil {
			return buildOutput{}, err
		}
		st, args, err := b.state(0, "")
		if err != nil {
			return buildOutput{}, err
		}
		_, err = b.exec(ctx, "state", st, args...)
		return buildOutput{Bytes: b.bytes}, err
	}
	st, args, err := b.state(0, "")
	if err != nil {
		return buildOutput{}, err
	}
	if drop := b.dropOther(true); drop != "" {
		create = drop + "; " + create // same line: keeps the model's line numbers
	}
	_, err = b.exec(ctx, "view", b.transaction(create, st), args...)
	return buildOutput{Bytes: b.bytes}, err
}

func (b *builder) tmpName() string { return b.m.Name + tmpSuffix }

// fillTmp runs the model's query into its temporary table and returns the
// table's name and the rows it holds, as far as the engine reports them.
func (b *builder) fillTmp(ctx context.Context) (qt string, rows int64, err error) {
	qt = b.r.WH.QualifiedName(b.tmpName())
	query, after := b.deduplicate(qt)
	create := "CREATE OR REPLACE TABLE " + qt + b.d.ScratchTableOptions()
	res, err := b.exec(ctx, "fill", create+" AS "+query+"\n")
	if err != nil || after == "" {
		return qt, res.RowsAffected, err
	}
	defer b.dropTmpOnError(ctx, qt, &err)
	// Zero makes the caller count what the deletion left.
	return qt, 0, b.removeCopies(ctx, after)
}

// deduplicate returns the query that fills table and the statement that
// then removes copies from it, per the model's deduplicate_by.
func (b *builder) deduplicate(table string) (query, after string) {
	c := b.m.Config
	if c.DeduplicateBy == "" {
		return b.it.sql, ""
	}
	if del := b.d.DeleteCopies(table, c.UniqueKey, c.DeduplicateBy); del != "" {
		return b.it.sql, del
	}
	return published(b.d, b.m, b.it.sql), ""
}

func (b *builder) removeCopies(ctx context.Context, after string) error {
	if _, err := b.exec(ctx, "deduplicate", after); err != nil {
		return fmt.Errorf("removing copies by deduplicate_by: %w", err)
	}
	return nil
}

func (b *builder) count(ctx context.Context, q string) (int64, error) {
	data, err := b.query(ctx, "SELECT COUNT(*) FROM "+q)
	if err != nil {
		return 0, err
	}
	if len(data) != 1 || len(data[0]) != 1 {
		return 0, fmt.Errorf("counting rows of %s: unexpected result", q)
	}
	return toInt(data[0][0])
}

func (b *builder) partitionLabel() string {
	if b.m.Config.Materialized == Incremental {
		return "all"
	}
	return ""
}

// dropTmpOnError removes the temporary table after a failed build, so a
// failure leaves no copy of the data behind. Best effort: the next build
// replaces a leftover anyway.
func (b *builder) dropTmpOnError(ctx context.Context, qt string, err *error) {
	if *err == nil {
		return
	}
	if _, derr := b.exec(context.WithoutCancel(ctx), "drop_tmp", "DROP TABLE IF EXISTS "+qt); derr != nil {
		b.r.logger().Warn("could not drop temporary table", "table", b.tmpName(), "err", derr)
	}
}

func (b *builder) table(ctx context.Context) (_ buildOutput, err error) {
	if !b.d.Features().TransactionalDDL {
		return b.tableReplace(ctx)
	}
	ws, err := b.windows(ctx)
	if err != nil {
		return buildOutput{}, err
	}
	var (
		qt         string
		rows       int64
		dropColumn string // a column the fill added, dropped as it is published
	)
	if ws != nil {
		qt, rows, dropColumn, err = b.fillWindows(ctx, ws)
	} else {
		qt, rows, err = b.fillTmp(ctx)
	}
	if err != nil {
		return buildOutput{}, err
	}
	defer b.dropTmpOnError(ctx, qt, &err)
	if rows == 0 {
		// Engines that report the rows a CREATE TABLE AS wrote (DuckDB)
		// spare the count; zero may mean "not reported".
		if rows, err = b.count(ctx, qt); err != nil {
			return buildOutput{}, err
		}
	}
	st, args, err := b.state(rows, b.partitionLabel())
	if err != nil {
		return buildOutput{}, err
	}
	drop := b.dropOther(false)
	if drop == "" {
		drop = "DROP TABLE IF EXISTS " + b.q
	}
	stmts := []string{drop, "ALTER TABLE " + qt + " RENAME TO " + b.d.QuoteIdent(b.m.Name), st}
	if dropColumn != "" {
		stmts = append([]string{dropColumn}, stmts...)
	}
	swap := b.transaction(stmts...)
	if _, err := b.exec(ctx, "swap", swap, args...); err != nil {
		return buildOutput{}, fmt.Errorf("publishing: %w", err)
	}
	return buildOutput{Rows: rows, Bytes: b.bytes, Partitions: b.partitionLabel()}, nil
}

// tableReplace publishes with one CREATE OR REPLACE TABLE, for engines
// that publish it atomically but cannot hold DDL in a transaction.
func (b *builder) tableReplace(ctx context.Context) (buildOutput, error) {
	if drop := b.dropOther(false); drop != "" {
		if _, err := b.exec(ctx, "drop", drop); err != nil {
			return buildOutput{}, err
		}
	}
	query, after := b.deduplicate(b.q)
	create := "CREATE OR REPLACE TABLE " + b.q + b.d.PartitionClause(b.m.Config.PartitionBy, b.m.Config.ClusterBy)
	if _, err := b.exec(ctx, "create", create+" AS "+query+"\n"); err != nil {
		if !strings.Contains(err.Error(), "different partitioning spec") && !strings.Contains(err.Error(), "different clustering spec") {
			return buildOutput{}, err
		}
		// BigQuery refuses to replace a table whose partitioning or
		// clustering changed; only then the table is dropped first.
		if _, err := b.exec(ctx, "drop_for_respec", "DROP TABLE IF EXISTS "+b.q); err != nil {
			return buildOutput{}, err
		}
		if _, err := b.exec(ctx, "recreate", create+" AS "+query+"\n"); err != nil {
			return buildOutput{}, err
		}
	}
	if after != "" {
		if err := b.removeCopies(ctx, after); err != nil {
			return buildOutput{}, err
		}
	}
	rows, err := b.count(ctx, b.q)
	if err != nil {
		return buildOutput{}, err
	}
	st, args, err := b.state(rows, b.partitionLabel())
	if err != nil {
		return buildOutput{}, err
	}
	if _, err := b.exec(ctx, "state", st, args...); err != nil {
		return buildOutput{}, err
	}
	return buildOutput{Rows: rows, Bytes: b.bytes, Partitions: b.partitionLabel()}, nil
}

func (b *builder) incremental(ctx context.Context) (_ buildOutput, err error) {
	col := b.m.Config.PartitionBy
	since := b.it.Since
	qt, _, err := b.fillTmp(ctx)
	if err != nil {
		return buildOutput{}, err
	}
	defer b.dropTmpOnError(ctx, qt, &err)
	data, err := b.query(ctx, fmt.Sprintf("SELECT %[1]s, COUNT(*) FROM %[2]s GROUP BY %[1]s ORDER BY %[1]s", col, qt))
	if err != nil {
		return buildOutput{}, err
	}
	merge := b.m.Config.IncrementalStrategy == StrategyMerge
	var rows int64
	var parts []string
	for _, row := range data {
		day, ok := row[0].(time.Time)
		if !merge && (!ok || day.Before(since)) {
			// Rows outside the window would be appended a second time.
			return buildOutput{}, fmt.Errorf("incremental run produced rows in partition %s=%s, before the window starting %s: filter the query with {{ incremental_filter %q }}",
				col, warehouse.Format(row[0]), since.Format(time.DateOnly), col)
		}
		n, err := toInt(row[1])
		if err != nil {
			return buildOutput{}, err
		}
		rows += n
		parts = append(parts, day.Format(time.DateOnly))
	}
	names, err := b.columns(ctx, qt)
	if err != nil {
		return buildOutput{}, err
	}
	colList := warehouse.QuoteList(b.d, names)
	partitions := strings.Join(parts, ",")
	st, args, err := b.state(rows, partitions)
	if err != nil {
		return buildOutput{}, err
	}
	del := fmt.Sprintf("DELETE FROM %s WHERE %s >= %s", b.q, col, b.d.DateLiteral(since))
	if merge {
		// The run's rows replace every row of their keys, in any partition.
		keys := make([]string, len(b.m.Config.UniqueKey))
		for i, k := range b.m.Config.UniqueKey {
			k = b.d.QuoteIdent(k)
			keys[i] = fmt.Sprintf("n.%s = t.%s", k, k)
		}
		del = fmt.Sprintf("DELETE FROM %s AS t WHERE EXISTS (SELECT 1 FROM %s AS n WHERE %s)", b.q, qt, strings.Join(keys, " AND "))
	}
	script := b.transaction(
		del,
		fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", b.q, colList, colList, qt),
		st,
	)
	if _, err := b.exec(ctx, "replace", script, args...); err != nil {
		return buildOutput{}, fmt.Errorf("replacing partitions from %s: %w", since.Format(time.DateOnly), err)
	}
	if _, err := b.exec(ctx, "cleanup", "DROP TABLE IF EXISTS "+qt); err != nil {
		b.r.logger().Warn("could not drop temporary table", "table", b.tmpName(), "err", err)
	}
	return buildOutput{Rows: rows, Bytes: b.bytes, Partitions: partitions}, nil
}

// columns lists the temporary table's columns, in order.
func (b *builder) columns(ctx context.Context, qt string) ([]string, error) {
	var cols []warehouse.Column
	if b.d.Features().BilledScans {
		// Table metadata is free; a query is billed.
		schema, err := b.r.WH.Describe(ctx, b.tmpName())
		if err != nil {
			return nil, err
		}
		cols = schema.Columns
	} else {
		// The result's columns need no type mapping, unlike Describe.
		rows, err := b.r.WH.Query(ctx, "SELECT * FROM "+qt+" LIMIT 0")
		if err != nil {
			return nil, err
		}
		cols = rows.Columns()
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names, nil
}

func (b *builder) seed(ctx context.Context) (buildOutput, error) {
	return b.publishRows(ctx, b.m.seed.schema, b.m.seed.rows)
}

// publishRows replaces the model's table with rows computed outside SQL (a
// seed's file, a Go model's result) and records the model's state.
func (b *builder) publishRows(ctx context.Context, schema warehouse.Schema, rows [][]any) (buildOutput, error) {
	res, err := b.r.WH.Load(ctx, warehouse.LoadRequest{
		Table: b.m.Name, Schema: schema, Mode: warehouse.Replace,
		Rows:   warehouse.NewSliceRows(rows),
		JobID:  b.r.jobID(b.runID, b.m.Name, b.it.Version, "load"),
		Labels: b.r.labels(b.runID, b.m.Name),
	})
	if err != nil {
		return buildOutput{}, fmt.Errorf("publishing: %w", err)
	}
	b.bytes += res.Bytes
	st, args, err := b.state(res.RowsLoaded, "")
	if err != nil {
		return buildOutput{}, err
	}
	if _, err := b.exec(ctx, "state", st, args...); err != nil {
		return buildOutput{}, err
	}
	return buildOutput{Rows: res.RowsLoaded, Bytes: b.bytes}, nil
}
