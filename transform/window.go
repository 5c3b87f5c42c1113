package transform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// A full build in windows (full_build_window_days) runs an incremental
// model's own incremental query once per window of partitions, each
// bounded above as well as below, into one temporary table, filled in one
// transaction, that the build then publishes as any table build does.
// Readers see the old table until the swap, and a crash leaves it as it
// was. It is for engines that run queries within this process's memory
// (Features.InProcess): there an aggregate whose states cannot spill
// (DuckDB's first-row aggregates) needs the memory of a window, not of the
// whole history. Elsewhere the build is one query.
//
// The windows cut the days the model's partitioned inputs hold; the first
// window has no lower bound and the last no upper bound, so a row outside
// that range still lands in exactly one window. Each window's rows must lie
// within it, as an incremental run's must: a model that ignores the upper
// bound fails rather than publish a row twice.

// window is one slice of a full build: partitions from since (zero: from
// the first) to before until (zero: through the last).
type window struct{ since, until time.Time }

func (w window) String() string {
	day := func(t time.Time) string {
		if t.IsZero() {
			return "…"
		}
		return t.Format(time.DateOnly)
	}
	return fmt.Sprintf("[%s, %s)", day(w.since), day(w.until))
}

// buildsInWindows reports whether a full build of a model configured as c
// goes by windows on dialect d.
func buildsInWindows(c Config, d warehouse.Dialect) bool {
	if c.FullBuildWindowDays == 0 || c.Materialized != Incremental || !d.Features().InProcess {
		return false
	}
	// Without a DELETE of copies after the fill, copies of a key in two
	// windows would both be published.
	return c.DeduplicateBy == "" || d.DeleteCopies("t", c.UniqueKey, c.DeduplicateBy) != ""
}

// windows splits a full build of b's model by its full_build_window_days
// over the days its inputs hold. Nil means one query for the whole table.
func (b *builder) windows(ctx context.Context) ([]window, error) {
	if !buildsInWindows(b.m.Config, b.d) {
		return nil, nil
	}
	days := b.m.Config.FullBuildWindowDays
	first, last, err := b.inputDays(ctx)
	if err != nil || first.IsZero() {
		return nil, err
	}
	var (
		ws    []window
		since time.Time
	)
	for until := first.AddDate(0, 0, days); !until.After(last); until = until.AddDate(0, 0, days) {
		ws = append(ws, window{since: since, until: until})
		since = until
	}
	if len(ws) == 0 {
		return nil, nil
	}
	return append(ws, window{since: since}), nil
}

// inputDays returns the first and last partitions of the partitioned
// models b's model refs, or zero times when none has a row.
func (b *builder) inputDays(ctx context.Context) (first, last time.Time, err error) {
	for _, ref := range b.m.Refs {
		up := b.r.Project.Models[ref]
		if up == nil || up.Config.PartitionBy == "" {
			continue
		}
		col := b.d.QuoteIdent(up.Config.PartitionBy)
		data, err := b.query(ctx, fmt.Sprintf("SELECT MIN(%s), MAX(%s) FROM %s", col, col, b.r.WH.QualifiedName(ref)))
		if err != nil {
			return first, last, fmt.Errorf("the days %s holds, to split the full build in windows: %w", ref, err)
		}
		if len(data) != 1 || len(data[0]) != 2 {
			return first, last, fmt.Errorf("the days %s holds: unexpected result", ref)
		}
		lo, okLo := data[0][0].(time.Time)
		hi, okHi := data[0][1].(time.Time)
		if !okLo || !okHi {
			continue // no rows
		}
		if first.IsZero() || lo.Before(first) {
			first = lo
		}
		if hi.After(last) {
			last = hi
		}
	}
	return first, last, nil
}

// windowColumn numbers the window each row of the temporary table came
// from, for the check; the publish drops it.
const windowColumn = "sam_window__"

// fillWindows fills the temporary table with every window in one
// transaction (a commit per window made DuckDB checkpoint the database
// each time: 2.5 s more over 13 windows at 10M events), checks that every
// row lies in its window, and returns the table, its row count (zero when
// deduplicate_by removed copies: the caller counts) and the statement that
// drops the window column, for the publish's transaction.
func (b *builder) fillWindows(ctx context.Context, ws []window) (qt string, rows int64, dropColumn string, err error) {
	qt = b.r.WH.QualifiedName(b.tmpName())
	start := time.Now()
	stmts := make([]string, len(ws))
	for i, w := range ws {
		sql, err := render(b.m.File, b.m.SQL, b.r.Project.macros, renderEnv{dialect: b.d, qualify: b.r.WH.QualifiedName, vars: b.r.Vars, since: w.since, until: w.until})
		if err != nil {
			return qt, 0, "", err
		}
		// The model's first line stays on its statement's line 1.
		fill := fmt.Sprintf("SELECT *, %d AS %s FROM (%s\n) AS w", i, windowColumn, sql)
		if i == 0 {
			stmts[i] = "CREATE OR REPLACE TABLE " + qt + b.d.ScratchTableOptions() + " AS " + fill
		} else {
			stmts[i] = "INSERT INTO " + qt + " " + fill
		}
	}
	defer b.dropTmpOnError(ctx, qt, &err)
	if _, err := b.exec(ctx, "fill_windows", b.transaction(stmts...)); err != nil {
		return qt, 0, "", err
	}
	if rows, err = b.checkWindows(ctx, qt, ws); err != nil {
		return qt, 0, "", err
	}
	cuts := make([]string, len(ws)-1)
	for i, w := range ws[1:] {
		cuts[i] = w.since.Format(time.DateOnly)
	}
	b.r.logger().Info("full build in windows", "model", b.m.Name, "windows", len(ws), "days", b.m.Config.FullBuildWindowDays,
		"cuts", strings.Join(cuts, ","), "rows", rows, "seconds", time.Since(start).Seconds())
	if c := b.m.Config; c.DeduplicateBy != "" {
		if err := b.removeCopies(ctx, b.d.DeleteCopies(qt, c.UniqueKey, c.DeduplicateBy)); err != nil {
			return qt, 0, "", err
		}
		rows = 0
	}
	return qt, rows, "ALTER TABLE " + qt + " DROP COLUMN " + windowColumn, nil
}

// checkWindows counts the rows of table qt and fails when any row lies
// outside the window that produced it.
func (b *builder) checkWindows(ctx context.Context, qt string, ws []window) (int64, error) {
	col := b.d.QuoteIdent(b.m.Config.PartitionBy)
	outside := "CASE " + windowColumn
	for i, w := range ws {
		cond := col + " IS NULL"
		if !w.since.IsZero() {
			cond += fmt.Sprintf(" OR %s < %s", col, b.d.DateLiteral(w.since))
		}
		if !w.until.IsZero() {
			cond += fmt.Sprintf(" OR %s >= %s", col, b.d.DateLiteral(w.until))
		}
		outside += fmt.Sprintf(" WHEN %d THEN %s", i, cond)
	}
	outside += " END"
	data, err := b.query(ctx, fmt.Sprintf("SELECT %s, COUNT(*), SUM(CASE WHEN %s THEN 1 ELSE 0 END) FROM %s GROUP BY %s ORDER BY %s",
		windowColumn, outside, qt, windowColumn, windowColumn))
	if err != nil {
		return 0, fmt.Errorf("counting the rows of each window: %w", err)
	}
	var rows int64
	for _, row := range data {
		var n [3]int64
		if len(row) != len(n) {
			return 0, fmt.Errorf("counting the rows of each window: unexpected result %v", row)
		}
		for i, v := range row {
			if n[i], err = toInt(v); err != nil {
				return 0, fmt.Errorf("counting the rows of each window: %w", err)
			}
		}
		if n[0] < 0 || n[0] >= int64(len(ws)) {
			return 0, fmt.Errorf("counting the rows of each window: no window %d", n[0])
		}
		if n[2] > 0 {
			return 0, fmt.Errorf("full build window %s produced %d row(s) outside it in %s: bound the query with {{ incremental_filter %q }} (full_build_window_days)",
				ws[n[0]], n[2], b.m.Config.PartitionBy, b.m.Config.PartitionBy)
		}
		rows += n[1]
	}
	return rows, nil
}
