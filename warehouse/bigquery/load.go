package bigquery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/sam-attribution/sam/warehouse"
)

// body is the data of one load job.
type body struct {
	// open returns the data from its start.
	open func(ctx context.Context) (io.Reader, error)
	// done is called once the upload ended (either way) and reports an
	// error of the data's producer, which explains a failed upload better
	// than the upload's own error.
	done func() error
	// replay reports whether open may be called again.
	replay bool
}

// Load implements warehouse.Warehouse.
//
// Append and Replace run one load job (WRITE_APPEND, WRITE_TRUNCATE) that
// creates the table from req.Schema when absent. ReplacePartitions creates
// the table first (day-partitioned on Schema.PartitionColumn) and then
// replaces each listed partition with its own load job into
// table$YYYYMMDD (WRITE_TRUNCATE), after spooling the rows per partition
// to temporary files; listed partitions without rows are emptied with one
// DELETE. Each partition is replaced atomically; a rerun with the same
// JobID attaches to the partition jobs that already ran and does the rest.
func (db *DB) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	if err := warehouse.CheckIdentifier("table", req.Table); err != nil {
		return warehouse.LoadResult{}, err
	}
	if req.Files != nil || req.BeforeCommit != nil {
		// Features().LocalFiles is false: a load job cannot read this
		// machine's files, nor be held open for the caller's verdict.
		return warehouse.LoadResult{}, fmt.Errorf("load %s: BigQuery takes NDJSON or Rows, not local Files or BeforeCommit", req.Table)
	}
	if (req.NDJSON == nil) == (req.Rows == nil) {
		return warehouse.LoadResult{}, fmt.Errorf("load %s: exactly one of NDJSON and Rows must be set", req.Table)
	}
	if len(req.Schema.Columns) == 0 {
		return warehouse.LoadResult{}, fmt.Errorf("load %s: the schema has no columns", req.Table)
	}
	var res warehouse.LoadResult
	var err error
	switch req.Mode {
	case warehouse.Append, warehouse.Replace:
		wd := bigquery.WriteAppend
		if req.Mode == warehouse.Replace {
			wd = bigquery.WriteTruncate
		}
		id := jobIDText(req.JobID)
		if id == "" {
			id = newJobID("load")
		}
		res, err = db.loadJob(ctx, req, req.Table, db.sourceBody(req), wd, false, id)
	case warehouse.ReplacePartitions:
		res, err = db.loadPartitions(ctx, req)
	default:
		err = fmt.Errorf("unknown load mode %v", req.Mode)
	}
	if err != nil {
		return res, fmt.Errorf("load %s (%s): %w", db.QualifiedName(req.Table), req.Mode, err)
	}
	return res, nil
}

// sourceBody streams the request's data. NDJSON from a seekable reader can
// be sent again; rows are encoded on the fly through a pipe, so memory
// stays bounded by the upload chunk, and cannot.
func (db *DB) sourceBody(req warehouse.LoadRequest) body {
	if req.NDJSON != nil {
		if rs, ok := req.NDJSON.(io.ReadSeeker); ok {
			if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
				return body{
					open: func(context.Context) (io.Reader, error) {
						if _, err := rs.Seek(start, io.SeekStart); err != nil {
							return nil, fmt.Errorf("rewind NDJSON: %w", err)
						}
						return rs, nil
					},
					done:   func() error { return nil },
					replay: true,
				}
			}
		}
		return body{
			open: func(context.Context) (io.Reader, error) { return req.NDJSON, nil },
			done: func() error { return nil },
		}
	}
	return rowsBody(req.Rows, req.Schema.Columns)
}

var errUploadEnded = errors.New("upload ended")

// rowsBody encodes rows as NDJSON in a goroutine feeding a pipe.
func rowsBody(src warehouse.RowSource, cols []warehouse.Column) body {
	var (
		pr      *io.PipeReader
		doneCh  chan struct{}
		prodErr error
	)
	return body{
		open: func(ctx context.Context) (io.Reader, error) {
			var pw *io.PipeWriter
			pr, pw = io.Pipe()
			doneCh = make(chan struct{})
			go func() {
				defer close(doneCh)
				prodErr = encodeRows(ctx, src, cols, pw)
				if prodErr != nil {
					pw.CloseWithError(prodErr)
					return
				}
				pw.Close()
			}()
			return pr, nil
		},
		done: func() error {
			if pr == nil {
				return nil
			}
			pr.CloseWithError(errUploadEnded) // unblocks a producer the upload abandoned
			<-doneCh
			if errors.Is(prodErr, errUploadEnded) {
				return nil
			}
			return prodErr
		},
	}
}

func encodeRows(ctx context.Context, src warehouse.RowSource, cols []warehouse.Column, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for n := 1; ; n++ {
		row, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return bw.Flush()
		}
		if err != nil {
			return fmt.Errorf("read row %d: %w", n, err)
		}
		if line, err = appendRow(line[:0], cols, row); err != nil {
			return fmt.Errorf("encode row %d: %w", n, err)
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
}

// loadJob runs one load job into dest (a table, or table$YYYYMMDD when
// decorated is set: the table then exists and must not be created).
func (db *DB) loadJob(ctx context.Context, req warehouse.LoadRequest, dest string, b body, wd bigquery.TableWriteDisposition, decorated bool, id string) (warehouse.LoadResult, error) {
	schema, err := toBQSchema(req.Schema.Columns)
	if err != nil {
		return warehouse.LoadResult{}, err
	}
	tp, cl := partitioning(req.Schema)
	job, st, err := db.run(ctx, jobRun{
		kind:   "load",
		id:     id,
		media:  true,
		replay: b.replay,
		insert: func(ctx context.Context, id string) (*bigquery.Job, error) {
			rd, err := b.open(ctx)
			if err != nil {
				return nil, err
			}
			src := bigquery.NewReaderSource(rd)
			src.SourceFormat = bigquery.JSON
			src.Schema = schema
			l := db.tableRef(dest).LoaderFrom(src)
			l.WriteDisposition = wd
			l.CreateDisposition = bigquery.CreateIfNeeded
			if decorated {
				l.CreateDisposition = bigquery.CreateNever
			} else {
				l.TimePartitioning, l.Clustering = tp, cl
			}
			l.Labels = db.labels(req.Labels)
			l.Location = db.opts.Location
			l.JobTimeout = db.opts.JobTimeout
			l.JobIDConfig = bigquery.JobIDConfig{JobID: id, AddJobIDSuffix: false}
			if db.opts.UploadChunkSize > 0 {
				l.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(db.opts.UploadChunkSize)}
			}
			job, err := l.Run(ctx)
			if perr := b.done(); perr != nil {
				return nil, perr
			}
			return job, err
		},
		same: func(c bigquery.JobConfig) bool {
			lc, ok := c.(*bigquery.LoadConfig)
			return ok && lc.Dst != nil && lc.Dst.TableID == dest
		},
	})
	if err != nil {
		return warehouse.LoadResult{}, err
	}
	res := warehouse.LoadResult{JobID: job.ID()}
	if st.Statistics != nil {
		if ls, ok := st.Statistics.Details.(*bigquery.LoadStatistics); ok {
			res.RowsLoaded, res.Bytes = ls.OutputRows, ls.InputFileBytes
		}
	}
	return res, nil
}

// loadPartitions implements ReplacePartitions.
func (db *DB) loadPartitions(ctx context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	col := req.Schema.PartitionColumn
	if col == "" {
		return warehouse.LoadResult{}, errors.New("replacing partitions needs Schema.PartitionColumn")
	}
	c, ok := req.Schema.Column(col)
	if !ok || (c.Type != warehouse.Date && c.Type != warehouse.Timestamp) || c.Repeated {
		return warehouse.LoadResult{}, fmt.Errorf("partition column %s must be a DATE or TIMESTAMP column of the schema", col)
	}
	if len(req.Partitions) == 0 {
		return warehouse.LoadResult{}, errors.New("replacing partitions needs the list of partitions")
	}
	want := map[string]time.Time{}
	for _, p := range req.Partitions {
		d := p.UTC()
		want[d.Format("20060102")] = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	have, err := db.ensureTable(ctx, req.Table, req.Schema)
	if err != nil {
		return warehouse.LoadResult{}, err
	}
	if have.PartitionColumn != col {
		return warehouse.LoadResult{}, fmt.Errorf("table is partitioned by %q, not %q; partitions cannot be replaced", have.PartitionColumn, col)
	}
	sp, err := spool(ctx, req, want)
	if sp != nil {
		defer sp.cleanup()
	}
	if err != nil {
		return warehouse.LoadResult{}, err
	}
	base := jobIDText(req.JobID)
	if base == "" {
		base = newJobID("load")
	}
	res := warehouse.LoadResult{JobID: base}
	var empty []time.Time
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := sp.files[k]
		if f == nil {
			empty = append(empty, want[k])
			continue
		}
		r, err := db.loadJob(ctx, req, req.Table+"$"+k, fileBody(f), bigquery.WriteTruncate, true, base+"_"+k)
		if err != nil {
			return res, fmt.Errorf("replace partition %s: %w", want[k].Format(time.DateOnly), err)
		}
		res.RowsLoaded += r.RowsLoaded
		res.Bytes += r.Bytes
	}
	if len(empty) > 0 {
		// No rows for these days: empty them, all in one statement.
		q := fmt.Sprintf("DELETE FROM %s WHERE %s", db.QualifiedName(req.Table), partitionFilter(c, empty))
		if _, _, err := db.runQuery(ctx, q, nil, warehouse.ExecOptions{JobID: base + "_empty", Labels: req.Labels}); err != nil {
			return res, fmt.Errorf("empty partitions without rows: %w", err)
		}
	}
	db.log.InfoContext(ctx, "replaced bigquery partitions", "table", req.Table, "partitions", len(want), "rows", res.RowsLoaded)
	return res, nil
}

// partitionFilter renders "col IN (DATE '…', …)" for a DATE column, or the
// same on the column's day for a TIMESTAMP column.
func partitionFilter(c warehouse.Column, days []time.Time) string {
	lits := make([]string, len(days))
	for i, d := range days {
		lits[i] = "DATE '" + d.Format(time.DateOnly) + "'"
	}
	expr := "`" + c.Name + "`"
	if c.Type == warehouse.Timestamp {
		expr = "DATE(" + expr + ")"
	}
	return expr + " IN (" + strings.Join(lits, ", ") + ")"
}

func fileBody(f *os.File) body {
	return body{
		open: func(context.Context) (io.Reader, error) {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, fmt.Errorf("rewind spooled partition: %w", err)
			}
			return f, nil
		},
		done:   func() error { return nil },
		replay: true,
	}
}

// spooled holds rows split per partition in temporary files.
type spooled struct {
	dir   string
	files map[string]*os.File
}

func (s *spooled) cleanup() {
	for _, f := range s.files {
		f.Close()
	}
	os.RemoveAll(s.dir)
}

// spool splits the request's rows per partition day (YYYYMMDD) into NDJSON
// temporary files. A row outside the wanted days is an error: replacing
// partitions must not touch others.
func spool(ctx context.Context, req warehouse.LoadRequest, want map[string]time.Time) (*spooled, error) {
	dir, err := os.MkdirTemp("", "sam-bq-partitions-")
	if err != nil {
		return nil, fmt.Errorf("spool partitions: %w", err)
	}
	sp := &spooled{dir: dir, files: map[string]*os.File{}}
	writers := map[string]*bufio.Writer{}
	writer := func(key string) (*bufio.Writer, error) {
		if w, ok := writers[key]; ok {
			return w, nil
		}
		f, err := os.Create(fmt.Sprintf("%s/%s.ndjson", dir, key))
		if err != nil {
			return nil, err
		}
		sp.files[key] = f
		w := bufio.NewWriterSize(f, 64<<10)
		writers[key] = w
		return w, nil
	}
	put := func(n int, key string, line []byte) error {
		if _, ok := want[key]; !ok {
			return fmt.Errorf("row %d: %s %s is not among the partitions being replaced", n, req.Schema.PartitionColumn, key)
		}
		w, err := writer(key)
		if err != nil {
			return fmt.Errorf("spool partitions: %w", err)
		}
		_, err = w.Write(line)
		return err
	}
	col := req.Schema.PartitionColumn
	if req.NDJSON != nil {
		err = spoolNDJSON(ctx, req.NDJSON, col, put)
	} else {
		err = spoolRows(ctx, req.Rows, req.Schema, put)
	}
	if err != nil {
		return sp, err
	}
	for k, w := range writers {
		if err := w.Flush(); err != nil {
			return sp, fmt.Errorf("spool partition %s: %w", k, err)
		}
	}
	return sp, nil
}

func spoolNDJSON(ctx context.Context, r io.Reader, col string, put func(int, string, []byte) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	for n := 1; ; n++ {
		if n%10000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var obj map[string]json.RawMessage
			if jerr := json.Unmarshal(line, &obj); jerr != nil {
				return fmt.Errorf("NDJSON line %d: %w", n, jerr)
			}
			var s string
			raw, ok := obj[col]
			if !ok || string(raw) == "null" || json.Unmarshal(raw, &s) != nil {
				return fmt.Errorf("NDJSON line %d: partition column %s is missing, NULL or not a string", n, col)
			}
			key, kerr := dayKey(s)
			if kerr != nil {
				return fmt.Errorf("NDJSON line %d: %w", n, kerr)
			}
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			if perr := put(n, key, line); perr != nil {
				return perr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read NDJSON: %w", err)
		}
	}
}

func spoolRows(ctx context.Context, src warehouse.RowSource, s warehouse.Schema, put func(int, string, []byte) error) error {
	idx := slices.IndexFunc(s.Columns, func(c warehouse.Column) bool { return c.Name == s.PartitionColumn })
	var line []byte
	for n := 1; ; n++ {
		row, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read row %d: %w", n, err)
		}
		if len(row) != len(s.Columns) {
			return fmt.Errorf("row %d has %d values for %d columns", n, len(row), len(s.Columns))
		}
		var key string
		switch v := row[idx].(type) {
		case time.Time:
			key = v.UTC().Format("20060102")
		case string:
			if key, err = dayKey(v); err != nil {
				return fmt.Errorf("row %d: %w", n, err)
			}
		default:
			return fmt.Errorf("row %d: partition column %s holds %T, want a date", n, s.PartitionColumn, v)
		}
		if line, err = appendRow(line[:0], s.Columns, row); err != nil {
			return fmt.Errorf("encode row %d: %w", n, err)
		}
		if err := put(n, key, line); err != nil {
			return err
		}
	}
}

// dayKey turns a DATE or TIMESTAMP text into the UTC day as YYYYMMDD.
func dayKey(s string) (string, error) {
	if len(s) == 10 {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t.Format("20060102"), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 MST", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format("20060102"), nil
		}
	}
	return "", fmt.Errorf("%q is not a date", s)
}
