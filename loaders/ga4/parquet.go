package ga4

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// loadParquet loads one Parquet export file. Parquet is typed already, so
// DuckDB reads it directly; the row checks the NDJSON path makes in Go
// (event_timestamp present, event_date a YYYYMMDD day) run as SQL, and the
// partition replacement and the rejects are one transaction.
func (l *FileLoader) loadParquet(ctx context.Context, runID string, t exportTable) (loaders.Counts, error) {
	var c loaders.Counts
	what := t.name + " (" + filepath.Base(t.files[0].path) + ")"
	if len(t.files) > 1 {
		what = fmt.Sprintf("%s (%d shards)", t.name, len(t.files))
	}
	if !l.wh.Dialect().Features().LocalFiles {
		return c, fmt.Errorf("ga4: %s: Parquet export files need the duckdb engine", what)
	}
	lit := l.wh.Dialect().StringLiteral
	paths := make([]string, len(t.files))
	for i, f := range t.files {
		if err := checkParquetFrame(f.path); err != nil {
			return c, err
		}
		abs, err := filepath.Abs(f.path)
		if err != nil {
			return c, fmt.Errorf("ga4: %w", err)
		}
		paths[i] = lit(abs)
	}
	// The script refers to the raw table, which may not exist yet (the
	// rejects table is SAM's own and exists from the start).
	if _, err := l.wh.Load(ctx, warehouse.LoadRequest{Table: RawTable, Schema: RawSchema(), Mode: warehouse.Append, NDJSON: strings.NewReader("")}); err != nil {
		return c, fmt.Errorf("ga4: create %s: %w", RawTable, err)
	}
	src := "read_parquet(" + paths[0] + ")"
	if len(paths) > 1 {
		// The shards of one table; filename names the shard in a reject's raw.
		src = "read_parquet([" + strings.Join(paths, ", ") + "], filename = true)"
	}
	cols, err := l.parquetColumns(ctx, src)
	if err != nil {
		return c, err
	}
	var sel []string
	for _, col := range ExportColumns() {
		if cols[col.Name] {
			sel = append(sel, `"`+col.Name+`"`)
		}
	}
	if !cols["event_timestamp"] || !cols["event_date"] {
		return c, &badFileError{t.files[0].path, "not a GA4 export: it has no event_timestamp or event_date column"}
	}
	// As for NDJSON (see one), an event must be filed under its own date.
	ymd := t.day.Format("20060102")
	valid := "(event_timestamp IS NOT NULL AND event_timestamp > 0 AND try_strptime(CAST(event_date AS VARCHAR), '%Y%m%d') IS NOT NULL AND CAST(event_date AS VARCHAR) = " + lit(ymd) + ")"
	rows, err := l.wh.Query(ctx, fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s) FROM %s", valid, src))
	if err != nil {
		return c, fmt.Errorf("ga4: count %s: %w", what, err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil || len(all) != 1 {
		return c, fmt.Errorf("ga4: count %s: %v", what, err)
	}
	if err := warehouse.ConvertAssign(&c.Read, all[0][0]); err != nil {
		return c, err
	}
	if err := warehouse.ConvertAssign(&c.Loaded, all[0][1]); err != nil {
		return c, err
	}
	c.Rejected = c.Read - c.Loaded
	if c.Read > 0 && c.Loaded == 0 {
		// Not this day's export: loading it would empty the day.
		return loaders.Counts{}, &badFileError{t.files[0].path, fmt.Sprintf("every one of its %d rows was rejected, so it is not this day's export", c.Read)}
	}
	now, day := l.now().UTC(), t.day.Format(time.DateOnly)
	raw, rejects := l.wh.QualifiedName(RawTable), l.wh.QualifiedName(loaders.RejectsTable)
	script := l.wh.Dialect().Transaction(
		"DELETE FROM "+raw+" WHERE export_date = CAST(? AS DATE)",
		fmt.Sprintf("INSERT INTO %s BY NAME SELECT %s, CAST(? AS DATE) AS export_date, CAST(? AS VARCHAR) AS export_table, CAST(? AS TIMESTAMP) AS loaded_at, CAST(? AS VARCHAR) AS property_id FROM %s WHERE %s",
			raw, strings.Join(sel, ", "), src, valid),
		fmt.Sprintf(`INSERT INTO %s (run_id, source, object, reason, raw, rejected_at)
SELECT CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR),
  CASE WHEN event_timestamp IS NULL THEN 'missing event_timestamp'
       WHEN event_timestamp <= 0 THEN 'bad event_timestamp'
       WHEN try_strptime(CAST(event_date AS VARCHAR), '%%Y%%m%%d') IS NULL THEN 'bad event_date ' || coalesce(CAST(event_date AS VARCHAR), 'NULL')
       ELSE 'event_date ' || CAST(event_date AS VARCHAR) || ' is not the table''s day %s; GA4 files every event under its own date, so this row is not that table''s' END,
  CAST(to_json(p) AS VARCHAR), CAST(? AS TIMESTAMP)
FROM %s AS p WHERE NOT coalesce(%s, false)`, rejects, ymd, src, valid),
	)
	var property any // NULL when the folder names no property
	if p := t.files[0].property; p != "" {
		property = p
	}
	args := []any{day, day, t.name, now, property, runID, Source, t.name, now}
	if _, err := l.wh.Exec(ctx, script, append(args, warehouse.WithJobID(jobID(runID, t.name)))...); err != nil {
		return c, fmt.Errorf("ga4: load %s: %w", t.name, err)
	}
	return c, nil
}

func (l *FileLoader) parquetColumns(ctx context.Context, src string) (map[string]bool, error) {
	rows, err := l.wh.Query(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		return nil, fmt.Errorf("ga4: describe %s: %w", src, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// checkParquetFrame rejects a file that cannot be a whole Parquet file: one
// that does not start and end with the magic "PAR1", or whose footer length
// (the 4 little-endian bytes before the closing magic) is more than the
// file holds (Apache Parquet format specification, "File Format"). An
// interrupted copy fails here, as the file's fault, before the warehouse
// is asked to read it.
func checkParquetFrame(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	const magic = "PAR1"
	size := st.Size()
	if size < 12 {
		return &badFileError{path, fmt.Sprintf("not a Parquet file: %d bytes, fewer than the 12 of a Parquet file's frame", size)}
	}
	head, tail := make([]byte, 4), make([]byte, 8)
	if _, err := f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("ga4: read %s: %w", path, err)
	}
	if _, err := f.ReadAt(tail, size-8); err != nil {
		return fmt.Errorf("ga4: read %s: %w", path, err)
	}
	switch {
	case string(head) != magic:
		return &badFileError{path, "not a Parquet file: it does not start with PAR1"}
	case string(tail[4:]) != magic:
		return &badFileError{path, "truncated Parquet file: it does not end with PAR1, so its footer is missing"}
	case int64(binary.LittleEndian.Uint32(tail[:4])) > size-12:
		return &badFileError{path, fmt.Sprintf("damaged Parquet file: its footer is %d bytes, more than the file holds", binary.LittleEndian.Uint32(tail[:4]))}
	}
	return nil
}
