package ga4

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// FileLoader loads export files from a directory (Options.ExportDir): one
// file per export table, or the numbered shards `bq extract` writes, named
// like the table in any letter case, as NDJSON (optionally gzipped) or
// Parquet. Each day's partition of raw_ga4__events is replaced in one step,
// so reruns are idempotent; a day of the lookback whose files are as they
// were at its load (path, size and modification time) is not loaded again.
// Files it cannot use (misnamed, named for a future day, damaged) are
// warned about and listed in Result.Skipped; a damaged file (a gzip or
// Parquet file that cannot be read whole, an export table without a line
// or without a line to load, a last line cut off) is also a row in
// load_rejects, its day keeps what it held, and the other days load.
//
// Lines are validated in parallel workers (pipeline.go). Where the
// warehouse reads local files (DuckDB), it reads the export files as they
// are while the workers check the same lines, and the load commits only if
// none is to be rejected (loadInPlace); otherwise, and on BigQuery, the
// validated lines are what is loaded (loadNDJSON).
type FileLoader struct {
	shard Shard
	cfg   Options
	wh    warehouse.Warehouse
	log   *slog.Logger
	v     *Validator
	now   func() time.Time
	// maxLine bounds a line's length; a longer line is rejected, so one bad
	// line cannot exhaust memory.
	maxLine int
	// batchBytes bounds the file bytes of one load (see batches).
	batchBytes int64
}

// NewFileLoader returns a loader for cfg.ExportDir; cfg is expected to have
// passed Validate. log may be nil.
func NewFileLoader(cfg Options, wh warehouse.Warehouse, log *slog.Logger) *FileLoader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FileLoader{cfg: cfg, wh: wh, log: log, v: NewValidator(), now: time.Now, maxLine: 16 << 20, batchBytes: batchBytes}
}

// Load implements Loader.
func (l *FileLoader) Load(ctx context.Context, runID string) (Result, error) {
	var res Result
	available, skipped, err := l.scanDir()
	if err != nil {
		return res, err
	}
	res.Skipped = skipped
	chosen, loaded, err := tablesToLoad(ctx, l.wh, l.cfg, l.shard, available, latestDay(l.now()))
	if err != nil {
		return res, err
	}
	cursor := l.prints()
	was, err := cursor.read(ctx)
	if err != nil {
		return res, err
	}
	prints := filePrints(chosen)
	chosen = skipUnchanged(l.log, chosen, loaded, was, prints)
	res, err = l.load(ctx, runID, chosen, res)
	// What was loaded before an error is recorded too.
	return res, errors.Join(err, cursor.save(ctx, was, prints, res, latestDay(l.now())))
}

// load loads the chosen tables.
func (l *FileLoader) load(ctx context.Context, runID string, chosen []exportTable, res Result) (Result, error) {
	var err error
	if l.wh.Dialect().Features().LocalFiles {
		markFiles(chosen)
		if chosen, err = l.loadAllInPlace(ctx, runID, chosen, &res); err != nil {
			return res, err
		}
	}
	for _, batch := range l.batches(chosen) {
		for len(batch) > 0 {
			counts, err := l.loadBatch(ctx, runID, batch)
			var bad *badFileError
			if errors.As(err, &bad) {
				// Nothing of the batch was loaded: reject the file, leave
				// its day as it was, and load the rest again.
				if batch, err = l.rejectFile(ctx, runID, batch, bad, &res); err != nil {
					return res, err
				}
				continue
			}
			if err != nil {
				return res, err
			}
			l.record(&res, batch, counts)
			break
		}
	}
	return res, nil
}

// loadAllInPlace loads every NDJSON table in one in-place load when they
// would otherwise take several batches, and returns the tables left to
// load: the Parquet ones, or all of them when a line is to be rejected or
// a file is damaged (the batches then sort that out, one by one).
//
// One load instead of one per batch, because DuckDB's checkpoint after
// each committed append merges the append's partly filled row groups with
// their neighbours, rewriting about three row groups of the wide export
// rows every time: 2 loads of 780k events spent 3 s of 14 s in those
// merges (DuckDB 1.4.3, row_group_collection.cpp, ScheduleVacuumTasks).
func (l *FileLoader) loadAllInPlace(ctx context.Context, runID string, tables []exportTable, res *Result) ([]exportTable, error) {
	var lines, rest []exportTable
	for _, t := range tables {
		if t.files[0].parquet {
			rest = append(rest, t)
		} else {
			lines = append(lines, t)
		}
	}
	if len(l.batches(lines)) < 2 || anyMarked(lines) {
		return tables, nil
	}
	counts, ok, err := l.loadInPlace(ctx, runID, lines)
	var bad *badFileError
	switch {
	case errors.As(err, &bad):
		return tables, nil
	case err != nil:
		return nil, err
	case !ok:
		return tables, nil
	}
	l.record(res, lines, counts)
	return rest, nil
}

// record adds a loaded batch's counts, days and tables to res and logs
// each table.
func (l *FileLoader) record(res *Result, batch []exportTable, counts []loaders.Counts) {
	for i, t := range batch {
		c := counts[i]
		res.Counts.Add(c)
		res.Days = append(res.Days, t.day)
		res.Tables = append(res.Tables, t.name)
		l.log.Info("ga4: loaded export day", "table", t.name, "read", c.Read, "loaded", c.Loaded, "rejected", c.Rejected)
	}
}

func (l *FileLoader) loadBatch(ctx context.Context, runID string, batch []exportTable) ([]loaders.Counts, error) {
	if len(batch) == 1 && batch[0].files[0].parquet {
		c, err := l.loadParquet(ctx, runID, batch[0])
		return []loaders.Counts{c}, err
	}
	if l.wh.Dialect().Features().LocalFiles && !anyMarked(batch) {
		counts, ok, err := l.loadInPlace(ctx, runID, batch)
		if ok || err != nil {
			return counts, err
		}
		// A line to reject, or a file the warehouse could not read: the
		// validator's output, line by line, is loaded instead.
	}
	if err := l.checkEveryTableLoads(ctx, batch); err != nil {
		return nil, err
	}
	return l.loadNDJSON(ctx, runID, batch)
}

// checkEveryTableLoads validates the batch's lines without loading them and
// returns a badFileError for a table none of whose lines would load: such a
// file is not its day's export (another day's file under its name, or no
// export at all), and loading it would empty the day. It also returns a
// damaged file's error, which loadNDJSON would meet. The pass costs one more
// validation of a batch that holds a line to reject, which is rare.
func (l *FileLoader) checkEveryTableLoads(ctx context.Context, batch []exportTable) error {
	p := l.startPipeline(ctx, batch, l.now().UTC(), true)
	defer p.stop()
	counts := make([]loaders.Counts, len(batch))
	first := make([]string, len(batch)) // the first reject's reason, per table
	for {
		c, err := p.next(ctx)
		if err != nil {
			return err
		}
		if c == nil {
			break
		}
		counts[c.table].Add(c.counts)
		if first[c.table] == "" && len(c.rejects) > 0 {
			first[c.table] = c.rejects[0].Reason
		}
		if c.err != nil {
			return c.err
		}
	}
	for i, t := range batch {
		if c := counts[i]; c.Read > 0 && c.Loaded == 0 {
			return &badFileError{t.files[0].path, fmt.Sprintf("every one of its %d lines was rejected (%s), so it is not this day's export", c.Read, first[i])}
		}
	}
	return nil
}

// errNotClean stops an in-place load whose files hold a line to reject.
var errNotClean = errors.New("ga4: a line of the batch is to be rejected")

// loadInPlace has the warehouse read the batch's files where they lie,
// while the pipeline checks the same lines in parallel: a clean batch (the
// usual case) is committed without its lines being copied, so the load
// costs little more than the warehouse's own read. A line to reject, or a
// file the warehouse fails on, rolls the load back and ok is false: the
// caller then loads the validated lines (loadNDJSON), which rejects them
// one by one. Members the export schema does not know are skipped by the
// warehouse as the validator drops them.
func (l *FileLoader) loadInPlace(ctx context.Context, runID string, batch []exportTable) (counts []loaders.Counts, ok bool, err error) {
	counts = make([]loaders.Counts, len(batch))
	req, names := batchRequest(runID, batch)
	loadedAt := l.now().UTC()
	for _, t := range batch {
		for _, f := range t.files {
			v := map[string]string{}
			for _, kv := range loaderValues(t, f, loadedAt) {
				v[kv[0]] = kv[1]
			}
			req.Files = append(req.Files, warehouse.LoadFile{Path: f.path, Values: v})
		}
	}
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	p := l.startPipeline(ctx, batch, loadedAt, true)
	defer p.stop()
	var verdict error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		progress := newProgress(l.log, len(batch))
		for {
			c, err := p.next(ctx)
			switch {
			case errors.Is(err, errStopped):
				return // the load ended first, and its outcome decides
			case err != nil:
				verdict = err
			case c == nil:
				return
			case len(c.rejects) > 0 || c.err != nil:
				verdict = errNotClean
			default:
				counts[c.table].Add(c.counts)
				progress.at(c.table)
				continue
			}
			cancelLoad() // no need to finish reading
			return
		}
	}()
	req.BeforeCommit = func() error { <-checked; return verdict }
	lr, loadErr := l.wh.Load(loadCtx, req)
	p.stop()
	<-checked
	switch {
	case ctx.Err() != nil:
		return counts, false, ctx.Err()
	case verdict != nil && !errors.Is(verdict, errNotClean):
		return counts, false, verdict
	case verdict != nil:
		return nil, false, nil
	case loadErr != nil:
		l.log.Warn("ga4: the warehouse could not read the export files as they are; loading their validated lines instead",
			"tables", strings.Join(names, ", "), "err", loadErr)
		return nil, false, nil
	}
	var sent int64
	for _, c := range counts {
		sent += c.Loaded
	}
	if lr.RowsLoaded != sent {
		return counts, false, fmt.Errorf("ga4: load %s: warehouse loaded %d rows, the files hold %d", strings.Join(names, ", "), lr.RowsLoaded, sent)
	}
	return counts, true, nil
}

// progress logs, at most every progressEvery, how many of a long load's
// days the validator has checked (chunks arrive in the batch's order), so
// a person watching a year of export load sees it move.
type progress struct {
	log         *slog.Logger
	days, table int
	last        time.Time
}

const progressEvery = 10 * time.Second

func newProgress(log *slog.Logger, days int) *progress {
	return &progress{log: log, days: days, last: time.Now()}
}

func (p *progress) at(table int) {
	if table == p.table || time.Since(p.last) < progressEvery {
		return
	}
	p.table, p.last = table, time.Now()
	p.log.Info("ga4: loading the export", "days_checked", table, "days", p.days)
}

// badFileError is a file whose content cannot be read at all (a damaged
// or truncated gzip file), as opposed to bad lines or a failing disk.
type badFileError struct {
	path   string
	reason string
}

func (e *badFileError) Error() string { return filepath.Base(e.path) + ": " + e.reason }

// asBadFile classifies an error reading path: decompression errors are the
// file's; anything else (the disk, the warehouse) is returned unchanged.
func asBadFile(path string, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &badFileError{path, "truncated gzip file: the data ends before the gzip stream does"}
	case errors.Is(err, gzip.ErrHeader):
		return &badFileError{path, "not a gzip file, or garbage after its gzip data (bad gzip header)"}
	case errors.Is(err, gzip.ErrChecksum):
		return &badFileError{path, "damaged gzip file: checksum mismatch"}
	case errors.As(err, &corrupt):
		return &badFileError{path, fmt.Sprintf("damaged gzip file: corrupt data at byte %d of the stream", int64(corrupt))}
	}
	return err
}

// rejectFile records a damaged file in load_rejects (one row: the file
// name as object and raw) and returns the batch without the file's table.
// Rejects the failed attempt already wrote for the batch's tables are
// removed first, since the next attempt writes them again.
func (l *FileLoader) rejectFile(ctx context.Context, runID string, batch []exportTable, bad *badFileError, res *Result) ([]exportTable, error) {
	names := make([]any, 0, len(batch)+2)
	names = append(names, runID, Source)
	var rest []exportTable
	var hit exportTable
	for _, t := range batch {
		names = append(names, t.name)
		if slices.ContainsFunc(t.files, func(f exportFile) bool { return f.path == bad.path }) {
			hit = t
			continue
		}
		rest = append(rest, t)
	}
	if hit.name == "" {
		return nil, fmt.Errorf("ga4: %w", bad) // not a file of this batch: cannot happen
	}
	q := fmt.Sprintf("DELETE FROM %s WHERE run_id = ? AND source = ? AND object IN (%s)",
		l.wh.QualifiedName(loaders.RejectsTable), strings.TrimSuffix(strings.Repeat("?, ", len(batch)), ", "))
	if _, err := l.wh.Exec(ctx, q, names...); err != nil {
		return nil, fmt.Errorf("ga4: clear rejects of a failed load: %w", err)
	}
	file := filepath.Base(bad.path)
	reason := bad.reason + "; the file was not loaded"
	if len(hit.files) > 1 {
		reason += fmt.Sprintf(", nor the other %d shards of %s", len(hit.files)-1, hit.name)
	}
	if err := loaders.WriteRejects(ctx, l.wh, runID, []loaders.Reject{{Source: Source, Object: file, Reason: reason, Raw: file}}); err != nil {
		return nil, fmt.Errorf("ga4: %w", err)
	}
	l.log.Warn("ga4: rejected a damaged export file; its day keeps what was loaded before", "file", file, "day", hit.day.Format(time.DateOnly), "why", reason)
	res.Skipped = append(res.Skipped, SkippedFile{File: file, Reason: reason})
	res.Counts.Add(loaders.Counts{Read: 1, Rejected: 1})
	return rest, nil
}

// batchBytes bounds the export bytes loaded in one warehouse load: days are
// loaded together, in one transaction, up to this size, which saves the
// per-load work (a spool file, a scan, a partition replacement) per day.
const batchBytes = 1 << 30

// batches groups NDJSON tables into loads of up to batchBytes of lines;
// a Parquet table is always a batch of its own.
func (l *FileLoader) batches(tables []exportTable) [][]exportTable {
	var out [][]exportTable
	var cur []exportTable
	var size int64
	for _, t := range tables {
		if t.files[0].parquet {
			if len(cur) > 0 {
				out, cur, size = append(out, cur), nil, 0
			}
			out = append(out, []exportTable{t})
			continue
		}
		var n int64
		for _, f := range t.files {
			if st, err := os.Stat(f.path); err == nil {
				if f.gz {
					n += 8 * st.Size() // the warehouse spools the uncompressed lines; JSON gzips about 8:1
				} else {
					n += st.Size()
				}
			}
		}
		if len(cur) > 0 && size+n > l.batchBytes {
			out, cur, size = append(out, cur), nil, 0
		}
		cur = append(cur, t)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// loadNDJSON loads a batch of files in one load that replaces the batch's
// days, validating their lines in parallel (see pipeline); bad lines become
// rejects. Valid lines go to Load as NDJSON through a pipe, with
// export_date, export_table and loaded_at appended.
// It returns the counts per table.
func (l *FileLoader) loadNDJSON(ctx context.Context, runID string, batch []exportTable) ([]loaders.Counts, error) {
	counts := make([]loaders.Counts, len(batch))
	req, names := batchRequest(runID, batch)
	p := l.startPipeline(ctx, batch, l.now().UTC(), false)
	defer p.stop()
	rj := &rejectBuffer{ctx: ctx, wh: l.wh, runID: runID}
	// take accounts for a processed chunk; it returns the chunk's read
	// error, if any, after its lines.
	take := func(c *chunk) error {
		counts[c.table].Add(c.counts)
		for _, r := range c.rejects {
			if err := rj.add(r); err != nil {
				return err
			}
		}
		return c.err
	}
	var srcErr error // why the lines ended early
	done := make(chan struct{})
	pr, pw := io.Pipe()
	req.NDJSON = pr
	go func() {
		defer close(done)
		srcErr = writeLines(ctx, p, pw, take)
		pw.CloseWithError(srcErr)
	}()
	lr, loadErr := l.wh.Load(ctx, req)
	pr.CloseWithError(errors.New("load finished")) // unblock the writer if Load stopped reading early
	<-done
	if srcErr != nil {
		return counts, srcErr
	}
	if loadErr != nil {
		return counts, fmt.Errorf("ga4: load %s: %w", strings.Join(names, ", "), loadErr)
	}
	var sent int64
	for _, c := range counts {
		sent += c.Loaded
	}
	if lr.RowsLoaded != 0 && lr.RowsLoaded != sent {
		return counts, fmt.Errorf("ga4: load %s: warehouse loaded %d rows, %d were sent", strings.Join(names, ", "), lr.RowsLoaded, sent)
	}
	if err := rj.flush(); err != nil {
		return counts, fmt.Errorf("ga4: %w", err)
	}
	return counts, nil
}

// writeLines writes the valid lines of every chunk to w, in file order.
func writeLines(ctx context.Context, p *pipeline, w io.Writer, take func(*chunk) error) error {
	for {
		c, err := p.next(ctx)
		if c == nil || err != nil {
			return err
		}
		if _, err := w.Write(c.out); err != nil {
			return err
		}
		if err := take(c); err != nil {
			return err
		}
		p.recycle(c.out)
		c.out = nil
	}
}

// openExport opens one export file, decompressing it if gzipped, and
// passes it to read.
func (l *FileLoader) openExport(t exportTable, f exportFile, read func(io.Reader) error) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	defer fh.Close()
	var r io.Reader = fh
	if f.gz {
		gz, err := gzip.NewReader(bufio.NewReaderSize(fh, 1<<20))
		if errors.Is(err, io.EOF) {
			return read(strings.NewReader("")) // no byte at all: a file without lines
		}
		if err != nil {
			return fmt.Errorf("ga4: %s: %w", f.path, asBadFile(f.path, err))
		}
		defer gz.Close()
		r = gz
	}
	return read(r)
}

// anyMarked reports whether a file of the batch starts with a UTF-8 byte
// order mark (markFiles). DuckDB refuses such a file ("byte order mark
// (BOM) is not supported"), so its lines load validated, without a failed
// in-place load first.
func anyMarked(batch []exportTable) bool {
	for _, t := range batch {
		for _, f := range t.files {
			if f.marked {
				return true
			}
		}
	}
	return false
}

// markFiles notes which NDJSON files of tables start with a byte order
// mark, reading each file's first bytes once. A file that cannot be read
// is not marked: loading it says why.
func markFiles(tables []exportTable) {
	for _, t := range tables {
		for i := range t.files {
			if f := &t.files[i]; !f.parquet {
				f.marked = startsWithBOM(f.path, f.gz)
			}
		}
	}
}

func startsWithBOM(path string, gz bool) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var r io.Reader = fh
	if gz {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	head := make([]byte, len(utf8BOM))
	n, _ := io.ReadFull(r, head)
	return string(head[:n]) == utf8BOM
}

// readError describes an error that ended reading f.
func (l *FileLoader) readError(f exportFile, err error) error {
	if f.gz {
		err = asBadFile(f.path, err)
	}
	return fmt.Errorf("ga4: read %s: %w", f.path, err)
}

// rejectBuffer collects rejects and writes them in batches, so a file full
// of bad lines cannot exhaust memory.
type rejectBuffer struct {
	ctx     context.Context
	wh      warehouse.Warehouse
	runID   string
	pending []loaders.Reject
}

const rejectBatch = 10000

func (b *rejectBuffer) add(r loaders.Reject) error {
	b.pending = append(b.pending, r)
	if len(b.pending) >= rejectBatch {
		return b.flush()
	}
	return nil
}

func (b *rejectBuffer) flush() error {
	if len(b.pending) == 0 {
		return nil
	}
	err := loaders.WriteRejects(b.ctx, b.wh, b.runID, b.pending)
	b.pending = b.pending[:0]
	return err
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// batchRequest is the load of a batch's days into raw_ga4__events, without
// its rows, and the batch's table names.
func batchRequest(runID string, batch []exportTable) (warehouse.LoadRequest, []string) {
	days := make([]time.Time, len(batch))
	names := make([]string, len(batch))
	for i, t := range batch {
		days[i], names[i] = t.day, t.name
	}
	return warehouse.LoadRequest{
		Table:      RawTable,
		Schema:     RawSchema(),
		Mode:       warehouse.ReplacePartitions,
		Partitions: days,
		JobID:      jobID(runID, names[0]+"_"+strconv.Itoa(len(batch))),
		Labels:     map[string]string{"sam_source": Source},
	}, names
}

// loaderValues are the columns the loader adds to every line of f, as
// name and text: the day and table it was exported to, when it was loaded
// and, for a property's folder, the property.
func loaderValues(t exportTable, f exportFile, loadedAt time.Time) [][2]string {
	out := [][2]string{
		{"export_date", t.day.Format(time.DateOnly)},
		{"export_table", t.name},
		{"loaded_at", loadedAt.Format(time.RFC3339Nano)},
	}
	if f.property != "" {
		out = append(out, [2]string{propertyColumn.Name, f.property})
	}
	return out
}

// jobID is deterministic per run and table, so a retried load is
// recognised rather than run twice.
func jobID(runID, table string) string {
	return "sam_ga4_" + sanitize(runID) + "_" + table
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// WithShard makes the loader load only the days of shard s (Cloud Run task
// parallelism); the zero Shard means every day.
func (l *FileLoader) WithShard(s Shard) *FileLoader {
	l.shard = s
	return l
}
