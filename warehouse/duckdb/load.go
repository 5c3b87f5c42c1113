package duckdb

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// Load implements warehouse.Warehouse. Every mode runs in one transaction on
// one connection: a failed load changes nothing.
//
//   - Append adds rows, creating the table when absent.
//   - Replace swaps in a new table with req.Schema; readers see the old
//     table until the new one is complete.
//   - ReplacePartitions deletes the rows whose Schema.PartitionColumn is one
//     of req.Partitions and inserts the new rows; a new row outside those
//     partitions fails the load. Rows whose target has the schema's layout
//     are appended straight into it, checked one by one.
//
// req.Rows go through DuckDB's appender. req.NDJSON is spooled to a private
// temporary file (gzip input is recognised) and read with read_json using
// the schema's types, so INT64 values quoted as JSON strings load; req.Files
// are read the same way where they lie, with no copy. req.BeforeCommit runs
// inside the transaction, after the rows are in.
func (db *DB) Load(ctx context.Context, req warehouse.LoadRequest) (_ warehouse.LoadResult, err error) {
	defer func() { err = classify(err) }()
	if err := validateLoad(req); err != nil {
		return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s: %w", req.Table, err)
	}
	var src []warehouse.LoadFile // what read_json reads
	var size int64
	switch {
	case req.NDJSON != nil:
		f, err := spoolNDJSON(req.NDJSON)
		if err != nil {
			return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s: %w", req.Table, err)
		}
		defer f.remove()
		if f.size > 0 {
			src = []warehouse.LoadFile{{Path: f.path}}
		}
		size = f.size
	case req.Files != nil:
		src = req.Files
		for _, f := range req.Files {
			if st, err := os.Stat(f.Path); err == nil {
				size += st.Size()
			}
		}
	}
	defer db.lockTable(req.Table)()
	res := warehouse.LoadResult{JobID: req.JobID}
	for attempt := 1; ; attempt++ {
		err := db.withConn(ctx, func(conn *sql.Conn) error {
			n, err := db.load(ctx, conn, req, src)
			res.RowsLoaded = n
			return err
		})
		// A transaction conflict with another writer (e.g. a model being
		// rebuilt) rolled everything back; spooled NDJSON can be read again,
		// a consumed RowSource cannot.
		if err != nil && req.Rows == nil && attempt < maxLoadAttempts && isConflict(err) {
			db.log.WarnContext(ctx, "duckdb load conflicted; retrying", "table", req.Table, "attempt", attempt, "err", err)
			continue
		}
		if err != nil {
			return warehouse.LoadResult{}, fmt.Errorf("duckdb: load %s (%s): %w", req.Table, req.Mode, err)
		}
		break
	}
	if req.Rows == nil {
		res.Bytes = size
	}
	if err := db.protectFiles(); err != nil {
		return res, err
	}
	db.log.DebugContext(ctx, "duckdb load", "table", req.Table, "mode", req.Mode.String(), "rows", res.RowsLoaded)
	return res, nil
}

// maxLoadAttempts bounds retries of NDJSON loads after transaction
// conflicts.
const maxLoadAttempts = 3

// isConflict reports whether err is DuckDB's transaction conflict, after
// which the whole transaction has been rolled back and may be retried.
func isConflict(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "write-write conflict") || strings.Contains(msg, "Conflict on")
}

func validateLoad(req warehouse.LoadRequest) error {
	if err := warehouse.CheckIdentifier("table", req.Table); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{req.NDJSON != nil, req.Rows != nil, req.Files != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("exactly one of NDJSON, Rows and Files must be set")
	}
	if err := validateFiles(req); err != nil {
		return err
	}
	if len(req.Schema.Columns) == 0 {
		return errors.New("schema has no columns")
	}
	seen := map[string]bool{}
	for _, c := range req.Schema.Columns {
		if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
			return err
		}
		if seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("column %q appears twice", c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		if _, err := columnDDL(c); err != nil {
			return err
		}
	}
	switch req.Mode {
	case warehouse.Append, warehouse.Replace:
	case warehouse.ReplacePartitions:
		pc := req.Schema.PartitionColumn
		if pc == "" {
			return errors.New("replace-partitions needs Schema.PartitionColumn")
		}
		c, ok := req.Schema.Column(pc)
		if !ok {
			return fmt.Errorf("partition column %q is not in the schema", pc)
		}
		if c.Type != warehouse.Date || c.Repeated {
			return fmt.Errorf("partition column %q must be a DATE, not %s", pc, c.Type)
		}
	default:
		return fmt.Errorf("unknown load mode %s", req.Mode)
	}
	if pc := req.Schema.PartitionColumn; pc != "" {
		if _, ok := req.Schema.Column(pc); !ok {
			return fmt.Errorf("partition column %q is not in the schema", pc)
		}
	}
	return nil
}

// load runs one load inside a transaction on conn; the caller's withConn
// rolls back whatever is left open on error.
func (db *DB) load(ctx context.Context, conn *sql.Conn, req warehouse.LoadRequest, src []warehouse.LoadFile) (int64, error) {
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
		return nil
	}
	if err := exec("BEGIN TRANSACTION"); err != nil {
		return 0, err
	}
	target := quoteIdent(req.Table)
	createPrefix := "CREATE TABLE IF NOT EXISTS"
	if req.Mode == warehouse.Replace {
		createPrefix = "CREATE OR REPLACE TABLE"
	}
	existing, existingTypes, err := db.tableLayout(ctx, conn, req.Table)
	if err != nil {
		return 0, err
	}
	ddl, err := createTableDDL(createPrefix, quoteIdent(req.Table), req.Schema)
	if err != nil {
		return 0, err
	}
	if err := exec(ddl); err != nil {
		return 0, err
	}
	if pc := req.Schema.PartitionColumn; pc != "" && (existing == nil || req.Mode == warehouse.Replace) {
		if err := exec("COMMENT ON TABLE " + target + " IS " + quoteString(partitionComment+pc)); err != nil {
			return 0, err
		}
	}

	// Rows go straight into the target when its layout is the schema's;
	// otherwise into a staging table, then by column name into the target.
	// Rows replacing partitions are checked one by one as they go in, after
	// the delete, and a stray row rolls the transaction back.
	direct := existing == nil || req.Mode == warehouse.Replace || sameLayout(existing, existingTypes, req.Schema)
	if direct && req.Mode == warehouse.ReplacePartitions {
		if err := deletePartitions(ctx, conn, target, req); err != nil {
			return 0, err
		}
	}
	dest, destCatalog, destName := target, "", req.Table
	if !direct {
		destName = fmt.Sprintf("sam_load_%d", db.loadSeq.Add(1))
		destCatalog = "temp"
		dest = "temp.main." + quoteIdent(destName)
		stage, err := createTableDDL("CREATE TEMP TABLE", quoteIdent(destName), warehouse.Schema{Columns: req.Schema.Columns})
		if err != nil {
			return 0, err
		}
		if err := exec(stage); err != nil {
			return 0, err
		}
	}

	var n int64
	if req.Rows == nil {
		n, err = insertNDJSON(ctx, conn, dest, req.Schema, src, direct && req.Mode == warehouse.ReplacePartitions, req.Partitions)
	} else {
		var check partitionCheck
		if req.Mode == warehouse.ReplacePartitions {
			check = newPartitionCheck(req.Schema, req.Partitions)
		}
		n, err = appendRows(ctx, conn, destCatalog, destName, req.Schema, req.Rows, check)
	}
	if err != nil {
		return 0, err
	}

	if !direct {
		cols := columnList(req.Schema)
		if req.Mode == warehouse.ReplacePartitions {
			if err := checkPartitions(ctx, conn, dest, req.Schema.PartitionColumn, req.Partitions); err != nil {
				return 0, err
			}
			if err := deletePartitions(ctx, conn, target, req); err != nil {
				return 0, err
			}
		}
		if err := exec("INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM " + dest); err != nil {
			return 0, err
		}
		if err := exec("DROP TABLE " + dest); err != nil {
			return 0, err
		}
	}
	if req.BeforeCommit != nil {
		if err := req.BeforeCommit(); err != nil {
			return 0, err
		}
	}
	if err := exec("COMMIT"); err != nil {
		return 0, err
	}
	return n, nil
}

// partitionComment prefixes the table comment that records the partition
// column, so Describe can report it.
const partitionComment = "sam:partition_by="

func columnList(s warehouse.Schema) string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = quoteIdent(c.Name)
	}
	return strings.Join(names, ", ")
}

func dateList(days []time.Time) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = "DATE '" + d.UTC().Format(time.DateOnly) + "'"
	}
	return strings.Join(parts, ", ")
}

// deletePartitions deletes the rows of req.Partitions from target.
func deletePartitions(ctx context.Context, conn *sql.Conn, target string, req warehouse.LoadRequest) error {
	if len(req.Partitions) == 0 {
		return nil
	}
	del := "DELETE FROM " + target + " WHERE " + quoteIdent(req.Schema.PartitionColumn) +
		" IN (" + dateList(req.Partitions) + ")"
	_, err := conn.ExecContext(ctx, del)
	return err
}

// partitionCheck fails a row, given as the appender takes it, whose
// partition value is not one being replaced; nil checks nothing.
type partitionCheck func(row []driver.Value) error

func newPartitionCheck(s warehouse.Schema, days []time.Time) partitionCheck {
	col := 0
	for i, c := range s.Columns {
		if c.Name == s.PartitionColumn {
			col = i
		}
	}
	allowed := make(map[time.Time]bool, len(days))
	for _, d := range days {
		y, m, dd := d.UTC().Date()
		allowed[time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)] = true
	}
	return func(row []driver.Value) error {
		d, ok := row[col].(time.Time) // toDate gives midnight UTC
		if ok && allowed[d] {
			return nil
		}
		ex := "NULL"
		if ok {
			ex = d.Format(time.DateOnly)
		}
		return fmt.Errorf("the row lies outside the partitions being replaced (%s): %s = %s",
			dateList(days), s.PartitionColumn, ex)
	}
}

// checkPartitions fails when a staged row lies outside the listed
// partitions (or has no partition value).
func checkPartitions(ctx context.Context, conn *sql.Conn, stage, col string, days []time.Time) error {
	cond := "TRUE"
	if len(days) > 0 {
		cond = quoteIdent(col) + " IS NULL OR " + quoteIdent(col) + " NOT IN (" + dateList(days) + ")"
	}
	var n int64
	var example sql.NullString
	q := "SELECT count(*), CAST(min(" + quoteIdent(col) + ") AS VARCHAR) FROM " + stage + " WHERE " + cond
	if err := conn.QueryRowContext(ctx, q).Scan(&n, &example); err != nil {
		return fmt.Errorf("check partitions: %w", err)
	}
	if n > 0 {
		ex := "NULL"
		if example.Valid {
			ex = example.String
		}
		return fmt.Errorf("%d rows lie outside the partitions being replaced (%s), e.g. %s = %s",
			n, dateList(days), col, ex)
	}
	return nil
}

// tableColumns returns the columns of a main-schema table or view, or nil
// when it does not exist.
func (db *DB) tableColumns(ctx context.Context, conn *sql.Conn, table string) ([]warehouse.Column, error) {
	cols, _, err := db.tableLayout(ctx, conn, table)
	return cols, err
}

// tableLayout returns a table's columns and their DuckDB types, or nil when
// it does not exist. DESCRIBE looks the one table up; the
// information_schema.columns view it replaces lists every column of the
// database first, which cost milliseconds per call.
func (db *DB) tableLayout(ctx context.Context, conn *sql.Conn, table string) ([]warehouse.Column, []*dtype, error) {
	r, err := conn.QueryContext(ctx, "DESCRIBE "+quoteIdent(db.catalog)+".main."+quoteIdent(table))
	if isNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("describe %s: %w", table, err)
	}
	defer r.Close()
	var cols []warehouse.Column
	var types []*dtype
	for r.Next() {
		// column_name, column_type, null, key, default, extra
		var name, typ, nullable string
		var key, def, extra any
		if err := r.Scan(&name, &typ, &nullable, &key, &def, &extra); err != nil {
			return nil, nil, fmt.Errorf("describe %s: %w", table, err)
		}
		t, err := parseType(typ)
		if err != nil {
			return nil, nil, fmt.Errorf("describe %s: column %s: %w", table, name, err)
		}
		c := t.column(name)
		c.Required = nullable == "NO"
		cols = append(cols, c)
		types = append(types, t)
	}
	if err := r.Err(); err != nil {
		return nil, nil, fmt.Errorf("describe %s: %w", table, err)
	}
	return cols, types, nil
}

// isNotFound reports whether err is DuckDB's answer for a table that does
// not exist. A catalog error leaves an open transaction usable, so Load
// can ask inside its own.
func isNotFound(err error) bool {
	var de *duckdbdrv.Error
	return errors.As(err, &de) && de.Type == duckdbdrv.ErrorTypeCatalog && strings.Contains(de.Msg, "does not exist")
}

// sameLayout reports whether an existing table has exactly the schema's
// columns, in order and of exactly the DuckDB types Load would create, so
// the appender can write to it. (The appender does not convert: a BIGINT
// into an INTEGER column would wrap, a scale-9 decimal into DECIMAL(18,3)
// would be misread.)
func sameLayout(names []warehouse.Column, types []*dtype, s warehouse.Schema) bool {
	if len(names) != len(s.Columns) {
		return false
	}
	for i, c := range s.Columns {
		if names[i].Name != c.Name {
			return false
		}
		ddl, err := columnDDL(c)
		if err != nil {
			return false
		}
		want, err := parseType(ddl)
		if err != nil || !reflect.DeepEqual(types[i], want) {
			return false
		}
	}
	return true
}

// appendRows writes src through DuckDB's appender into catalog.main.table.
// check, when set, vets each converted row before it is appended.
func appendRows(ctx context.Context, conn *sql.Conn, catalog, table string, s warehouse.Schema, src warehouse.RowSource, check partitionCheck) (int64, error) {
	convs := make([]valueConverter, len(s.Columns))
	for i, c := range s.Columns {
		convs[i] = appendConverter(c)
	}
	var n int64
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		app, err := duckdbdrv.NewAppender(dconn, catalog, "main", table)
		if err != nil {
			return fmt.Errorf("create appender: %w", err)
		}
		vals := make([]driver.Value, len(convs))
		for {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					app.Close()
					return err
				}
			}
			row, err := src.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				app.Close()
				return fmt.Errorf("read row %d: %w", n+1, err)
			}
			if len(row) != len(convs) {
				app.Close()
				return fmt.Errorf("row %d has %d values, schema has %d columns", n+1, len(row), len(convs))
			}
			for i, v := range row {
				c, err := convs[i](v)
				if err != nil {
					app.Close()
					return fmt.Errorf("row %d, column %q: %w", n+1, s.Columns[i].Name, err)
				}
				vals[i] = c
			}
			if check != nil {
				if err := check(vals); err != nil {
					app.Close()
					return fmt.Errorf("row %d: %w", n+1, err)
				}
			}
			if err := app.AppendRow(vals...); err != nil {
				app.Close()
				return fmt.Errorf("row %d: %w", n+1, err)
			}
			n++
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush appender: %w", err)
		}
		return nil
	})
	return n, err
}

// ndjsonFile is NDJSON spooled to a private temporary file.
type ndjsonFile struct {
	path string
	size int64
}

func (f *ndjsonFile) remove() { os.Remove(f.path) }

// spoolNDJSON copies r to a temporary file that only the owner can read
// (os.CreateTemp uses 0600). Gzip input keeps its compression and gets a
// .gz name, which read_json recognises.
func spoolNDJSON(r io.Reader) (*ndjsonFile, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	pattern := "sam-load-*.ndjson"
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		pattern += ".gz"
	}
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, fmt.Errorf("spool NDJSON: %w", err)
	}
	n, err := io.Copy(f, br)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("spool NDJSON: %w", err)
	}
	return &ndjsonFile{path: f.Name(), size: n}, nil
}

// insertNDJSON inserts the NDJSON files of src (a spooled copy, or the
// caller's files with the values they lack) into dest. read_json gets explicit
// column types; TIMESTAMPs are read as TIMESTAMPTZ so that offsets in the
// text are honoured, then stored as UTC. BYTES arrive base64-encoded, as
// BigQuery exports them.
//
// With checkParts, a row whose partition value is not one of parts fails
// the statement (DuckDB's error()), as the appender's check does.
func insertNDJSON(ctx context.Context, conn *sql.Conn, dest string, s warehouse.Schema, src []warehouse.LoadFile, checkParts bool, parts []time.Time) (int64, error) {
	if len(src) == 0 {
		return 0, nil
	}
	// The columns the files lack come from a VALUES list joined on the
	// file name read_json reports.
	var fixed []string
	for _, f := range src {
		for name := range f.Values {
			if !slices.Contains(fixed, name) {
				fixed = append(fixed, name)
			}
		}
	}
	slices.Sort(fixed)
	var spec, sel []string
	for _, c := range s.Columns {
		readType, err := jsonReadType(c)
		if err != nil {
			return 0, err
		}
		want, _ := columnDDL(c)
		expr := "r." + quoteIdent(c.Name)
		if slices.Contains(fixed, c.Name) {
			expr = "f." + quoteIdent(c.Name)
		} else {
			spec = append(spec, quoteIdent(c.Name)+": "+quoteString(readType))
		}
		if c.Type == warehouse.Bytes && !c.Repeated {
			expr = "from_base64(" + expr + ")"
		}
		// A cast of nested values copies them, so cast only where the read
		// type differs from the stored one.
		if readType != want {
			expr = "CAST(" + expr + " AS " + want + ")"
		}
		if checkParts && c.Name == s.PartitionColumn {
			cond := "FALSE"
			if len(parts) > 0 {
				cond = expr + " IN (" + dateList(parts) + ")"
			}
			msg := "the row lies outside the partitions being replaced (" + dateList(parts) + "): " + c.Name + " = "
			expr = "CASE WHEN " + cond + " THEN " + expr + " ELSE error(" + quoteString(msg) +
				" || coalesce(CAST(" + expr + " AS VARCHAR), 'NULL')) END"
		}
		sel = append(sel, expr)
	}
	paths := make([]string, len(src))
	for i, f := range src {
		paths[i] = quoteString(f.Path)
	}
	from := "read_json([" + strings.Join(paths, ", ") + "], format = 'newline_delimited', columns = {" +
		strings.Join(spec, ", ") + "}"
	if len(fixed) == 0 {
		from += ") AS r"
	} else {
		from += ", filename = true) AS r JOIN " + fileValues(s, src, fixed) + " ON r.filename = f.sam_file"
	}
	q := "INSERT INTO " + dest + " (" + columnList(s) + ") SELECT " + strings.Join(sel, ", ") + " FROM " + from
	r, err := conn.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("read NDJSON: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("read NDJSON: %w", err)
	}
	return n, nil
}

// fileValues renders the VALUES list of each file's fixed columns, as
// read_json would read them from text (see jsonReadType).
func fileValues(s warehouse.Schema, src []warehouse.LoadFile, fixed []string) string {
	rows := make([]string, len(src))
	for i, f := range src {
		vals := []string{quoteString(f.Path)}
		for _, name := range fixed {
			c, _ := s.Column(name)
			readType, _ := jsonReadType(c)
			v, ok := f.Values[name]
			lit := "NULL"
			if ok {
				lit = quoteString(v)
			}
			vals = append(vals, "CAST("+lit+" AS "+readType+")")
		}
		rows[i] = "(" + strings.Join(vals, ", ") + ")"
	}
	cols := []string{"sam_file"}
	for _, name := range fixed {
		cols = append(cols, quoteIdent(name))
	}
	return "(VALUES " + strings.Join(rows, ", ") + ") AS f(" + strings.Join(cols, ", ") + ")"
}

// validateFiles checks that the values of a Files load are for scalar
// columns of the schema. A column one file gives a value for is NULL in
// the files that do not.
func validateFiles(req warehouse.LoadRequest) error {
	if req.Files == nil {
		return nil
	}
	if len(req.Files) == 0 {
		return errors.New("Files is empty")
	}
	if _, ok := req.Schema.Column("filename"); ok {
		return errors.New(`a Files load cannot fill a column named "filename": read_json reports the file there`)
	}
	for _, f := range req.Files {
		for name := range f.Values {
			c, ok := req.Schema.Column(name)
			switch {
			case !ok:
				return fmt.Errorf("file %s gives a value for %q, which is not in the schema", f.Path, name)
			case c.Repeated || c.Type == warehouse.Record || c.Type == warehouse.Bytes:
				return fmt.Errorf("file %s gives a value for %q, which is not a scalar", f.Path, name)
			}
		}
	}
	return nil
}

// jsonReadType is the type read_json parses a column as.
func jsonReadType(c warehouse.Column) (string, error) {
	switch {
	case c.Type == warehouse.Timestamp:
		t := "TIMESTAMPTZ"
		if c.Repeated {
			t += "[]"
		}
		return t, nil
	case c.Type == warehouse.Bytes && !c.Repeated:
		return "VARCHAR", nil
	case c.Type == warehouse.Record:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			t, err := jsonReadType(f)
			if err != nil {
				return "", err
			}
			parts[i] = quoteIdent(f.Name) + " " + t
		}
		t := "STRUCT(" + strings.Join(parts, ", ") + ")"
		if c.Repeated {
			t += "[]"
		}
		return t, nil
	}
	return columnDDL(c)
}

// Describe implements warehouse.Warehouse for tables and views of the main
// schema. A missing table is an error wrapping warehouse.ErrNotFound.
func (db *DB) Describe(ctx context.Context, table string) (_ warehouse.Schema, err error) {
	defer func() { err = classify(err) }()
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return warehouse.Schema{}, fmt.Errorf("duckdb: get connection: %w", err)
	}
	defer conn.Close()
	cols, err := db.tableColumns(ctx, conn, table)
	if err != nil {
		return warehouse.Schema{}, fmt.Errorf("duckdb: %w", err)
	}
	if cols == nil {
		return warehouse.Schema{}, fmt.Errorf("duckdb: describe %s: %w", table, warehouse.ErrNotFound)
	}
	s := warehouse.Schema{Columns: cols}
	var comment sql.NullString
	err = conn.QueryRowContext(ctx, `SELECT comment FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower(?)`, table).Scan(&comment)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// A view: DESCRIBE carries NOT NULL through from the tables it
		// reads, which the view itself does not promise.
		for i := range s.Columns {
			s.Columns[i].Required = false
		}
	case err != nil:
		return warehouse.Schema{}, fmt.Errorf("duckdb: describe %s: %w", table, err)
	}
	if pc, ok := strings.CutPrefix(comment.String, partitionComment); ok {
		if _, found := s.Column(pc); found {
			s.PartitionColumn = pc
		}
	}
	return s, nil
}
