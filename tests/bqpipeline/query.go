package bqpipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
)

// maxViewDepth bounds views reading views.
const maxViewDepth = 16

// query evaluates a query over the fake's current tables.
func (e *Executor) query(ctx context.Context, sc *scope, sql string) ([]warehouse.Column, [][]any, error) {
	return e.queryDepth(ctx, sc, sql, 0)
}

func (e *Executor) queryDepth(ctx context.Context, sc *scope, sql string, depth int) ([]warehouse.Column, [][]any, error) {
	rewritten, cat, bytes, err := e.catalog(ctx, sc, sql, depth)
	if err != nil {
		return nil, nil, err
	}
	sc.bytes += bytes
	start := time.Now()
	res, err := e.client.EvaluateQuery(ctx, rewritten, cat)
	e.stats.Evaluations++
	e.stats.EvalTime += time.Since(start)
	if err != nil {
		return nil, nil, err
	}
	return res.Columns, res.Rows, nil
}

// catalog finds the tables a query names, rewrites their paths to the one
// quoted identifier form and returns a catalog holding them with their
// rows, and the bytes they hold (roughly).
func (e *Executor) catalog(ctx context.Context, sc *scope, sql string, depth int) (string, *zetasql.Catalog, int64, error) {
	cat := zetasql.NewCatalog()
	toks := lex(sql)
	var b strings.Builder
	last := 0
	var bytes int64
	added := map[string]bool{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokWord && t.kind != tokQuoted {
			continue
		}
		if i > 0 && toks[i-1].kind == tokPunct && toks[i-1].text == "." && toks[i-1].end == t.start {
			continue // inside a path that did not name a table
		}
		p, _ := readPath(toks, i)
		if len(p.parts) < 2 || len(p.parts) == 2 && t.kind == tokWord {
			continue
		}
		name, tbl, n, ok, err := e.lookup(ctx, sc, p.parts, depth)
		if err != nil {
			return "", nil, 0, err
		}
		if !ok {
			continue
		}
		if !added[name] {
			if err := cat.Add(tbl); err != nil {
				return "", nil, 0, err
			}
			added[name] = true
			bytes += n
		}
		b.WriteString(sql[last:p.start])
		b.WriteString("`" + name + "`")
		last = p.end
		i = p.next - 1
	}
	b.WriteString(sql[last:])
	return b.String(), cat, bytes, nil
}

// lookup resolves a path to a catalog table with its rows: a table, a view
// (evaluated), a wildcard table or an INFORMATION_SCHEMA view. ok is false
// when the path names none of them.
func (e *Executor) lookup(ctx context.Context, sc *scope, parts []string, depth int) (string, zetasql.Table, int64, bool, error) {
	if n := len(parts); n >= 3 && strings.EqualFold(parts[n-2], "INFORMATION_SCHEMA") {
		ds := parts[:n-2]
		k, err := sc.resolve(append(append([]string(nil), ds...), "x"))
		if err != nil {
			return "", zetasql.Table{}, 0, false, nil
		}
		t, ok := e.infoSchema(k.project, k.dataset, strings.ToUpper(parts[n-1]))
		return t.Name(), t, 0, ok, nil
	}
	if len(parts) > 3 {
		return "", zetasql.Table{}, 0, false, nil
	}
	k, err := sc.resolve(parts)
	if err != nil {
		return "", zetasql.Table{}, 0, false, nil
	}
	path := []string{k.project, k.dataset, k.table}
	if prefix, ok := strings.CutSuffix(k.table, "*"); ok {
		t, n, ok, err := e.wildcard(k, prefix)
		t.Path = path
		return t.Name(), t, n, ok, err
	}
	tb, cols, exists, err := e.table(k)
	if err != nil || !exists {
		return "", zetasql.Table{}, 0, false, err
	}
	zt := zetasql.Table{Path: path, Columns: cols}
	if tb.Meta.View != nil {
		if depth >= maxViewDepth {
			return "", zt, 0, false, fmt.Errorf("view %s: views nest too deeply", k)
		}
		vcols, rows, err := e.queryDepth(ctx, sc, tb.Meta.View.Query, depth+1)
		if err != nil {
			return "", zt, 0, false, fmt.Errorf("view %s: %w", k, err)
		}
		zt.Columns, zt.Rows = vcols, rows
		return zt.Name(), zt, 0, true, nil
	}
	for _, r := range tb.Rows {
		row, err := typedRow(cols, r)
		if err != nil {
			return "", zt, 0, false, fmt.Errorf("table %s: %w", k, err)
		}
		zt.Rows = append(zt.Rows, row)
	}
	return zt.Name(), zt, int64(len(tb.Rows) * len(cols) * 8), true, nil
}

// wildcard is the union of the tables whose names start with prefix, with
// the _TABLE_SUFFIX pseudo-column; its schema is the newest table's (the
// last by name), as BigQuery's.
func (e *Executor) wildcard(k tableKey, prefix string) (zetasql.Table, int64, bool, error) {
	var names []string
	for _, id := range e.fake.TableIDs(k.project, k.dataset) {
		if strings.HasPrefix(id, prefix) {
			names = append(names, id)
		}
	}
	if len(names) == 0 {
		return zetasql.Table{}, 0, false, nil
	}
	_, cols, _, err := e.table(tableKey{k.project, k.dataset, names[len(names)-1]})
	if err != nil {
		return zetasql.Table{}, 0, false, err
	}
	zt := zetasql.Table{Columns: cols, PseudoColumns: []warehouse.Column{{Name: "_TABLE_SUFFIX", Type: warehouse.String}}}
	var n int64
	for _, name := range names {
		tb, _, _, err := e.table(tableKey{k.project, k.dataset, name})
		if err != nil {
			return zt, 0, false, err
		}
		suffix := strings.TrimPrefix(name, prefix)
		for _, r := range tb.Rows {
			row, err := typedRow(cols, r)
			if err != nil {
				return zt, 0, false, fmt.Errorf("table %s: %w", name, err)
			}
			zt.Rows = append(zt.Rows, append(row, suffix))
		}
		n += int64(len(tb.Rows) * len(cols) * 8)
	}
	return zt, n, true, nil
}

// infoSchema answers a dataset's INFORMATION_SCHEMA.TABLES or COLUMNS
// from the fake's table list.
func (e *Executor) infoSchema(project, dataset, view string) (zetasql.Table, bool) {
	str := func(n string) warehouse.Column { return warehouse.Column{Name: n, Type: warehouse.String} }
	t := zetasql.Table{Path: []string{project, dataset, "INFORMATION_SCHEMA", view}}
	switch view {
	case "TABLES":
		t.Columns = []warehouse.Column{str("table_catalog"), str("table_schema"), str("table_name"), str("table_type")}
	case "COLUMNS":
		t.Columns = []warehouse.Column{str("table_catalog"), str("table_schema"), str("table_name"), str("column_name"),
			{Name: "ordinal_position", Type: warehouse.Int64}, str("is_nullable"), str("data_type")}
	case "PARTITIONS":
		t.Columns = []warehouse.Column{str("table_catalog"), str("table_schema"), str("table_name"), str("partition_id"),
			{Name: "total_rows", Type: warehouse.Int64}, {Name: "last_modified_time", Type: warehouse.Timestamp}}
	default:
		return t, false
	}
	for _, id := range e.fake.TableIDs(project, dataset) {
		if view == "PARTITIONS" {
			t.Rows = append(t.Rows, e.partitions(tableKey{project, dataset, id})...)
			continue
		}
		tb, cols, _, err := e.table(tableKey{project, dataset, id})
		if err != nil {
			continue
		}
		if view == "TABLES" {
			typ := "BASE TABLE"
			if tb.Meta.View != nil {
				typ = "VIEW"
			}
			t.Rows = append(t.Rows, []any{project, dataset, id, typ})
			continue
		}
		for i, c := range cols {
			nullable := "YES"
			if c.Required {
				nullable = "NO"
			}
			t.Rows = append(t.Rows, []any{project, dataset, id, c.Name, int64(i + 1), nullable, zetasql.TypeString(c)})
		}
	}
	return t, true
}

// partitions returns a table's INFORMATION_SCHEMA.PARTITIONS rows: one
// per day (YYYYMMDD, or __NULL__) of a time-partitioned table, one with a
// NULL partition_id for another table. The fake keeps one last write per
// table, so every partition of a table shows it: a partition may look
// written to when it was not, never the other way round.
func (e *Executor) partitions(k tableKey) [][]any {
	tb, cols, _, err := e.table(k)
	if err != nil || tb.Meta.View != nil {
		return nil
	}
	modified := time.UnixMilli(int64(tb.Meta.LastModifiedTime)).UTC()
	tp := tb.Meta.TimePartitioning
	if tp == nil || tp.Field == "" {
		return [][]any{{k.project, k.dataset, k.table, nil, int64(len(tb.Rows)), modified}}
	}
	c, ok := columnByName(cols, tp.Field)
	if !ok {
		return nil
	}
	counts := map[string]int64{}
	for _, r := range tb.Rows {
		id := "__NULL__"
		if v, err := typed(c, r[c.Name]); err == nil && v != nil {
			if d, ok := v.(time.Time); ok {
				id = d.Format("20060102")
			}
		}
		counts[id]++
	}
	var out [][]any
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, []any{k.project, k.dataset, k.table, id, counts[id], modified})
	}
	return out
}
