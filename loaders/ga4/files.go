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
	"unicode/utf8"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// FileLoader loads export files from a directory (Options.ExportDir): one
// file per export table, or the numbered shards `bq extract` writes, named
// like the table in any letter case, as NDJSON (optionally gzipped) or
// Parquet. Each day's partition of raw_ga4__events is replaced in one step,
// so reruns are idempotent. Files it cannot use (misnamed, named for a
// future day, damaged) are warned about and listed in Result.Skipped; a
// damaged file is also a row in load_rejects, and the other days load.
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
	chosen, err := tablesToLoad(ctx, l.wh, l.cfg, l.shard, available, latestDay(l.now()))
	if err != nil {
		return res, err
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
			for i, t := range batch {
				c := counts[i]
				res.Counts.Add(c)
				res.Days = append(res.Days, t.day)
				res.Tables = append(res.Tables, t.name)
				l.log.Info("ga4: loaded export day", "table", t.name, "read", c.Read, "loaded", c.Loaded, "rejected", c.Rejected)
			}
			break
		}
	}
	return res, nil
}

func (l *FileLoader) loadBatch(ctx context.Context, runID string, batch []exportTable) ([]loaders.Counts, error) {
	if len(batch) == 1 && batch[0].files[0].parquet {
		c, err := l.loadParquet(ctx, runID, batch[0])
		return []loaders.Counts{c}, err
	}
	return l.loadNDJSON(ctx, runID, batch)
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

// loadNDJSON streams a batch of files through the validator into the
// warehouse in one load that replaces the batch's days: valid lines get
// export_date, export_table and loaded_at appended and go to Load through a
// pipe; bad lines become rejects. Memory stays bounded by the longest line
// plus a batch of rejects. It returns the counts per table.
func (l *FileLoader) loadNDJSON(ctx context.Context, runID string, batch []exportTable) ([]loaders.Counts, error) {
	counts := make([]loaders.Counts, len(batch))
	days := make([]time.Time, len(batch))
	names := make([]string, len(batch))
	for i, t := range batch {
		days[i], names[i] = t.day, t.name
	}
	loadedAt := l.now().UTC().Format(time.RFC3339Nano)
	pr, pw := io.Pipe()
	rj := &rejectBuffer{ctx: ctx, wh: l.wh, runID: runID}
	done := make(chan error, 1)
	go func() {
		var err error
		for i, t := range batch {
			if err = l.filterFile(t, pw, loadedAt, &counts[i], rj); err != nil {
				break
			}
		}
		pw.CloseWithError(err)
		done <- err
	}()
	lr, loadErr := l.wh.Load(ctx, warehouse.LoadRequest{
		Table:      RawTable,
		Schema:     RawSchema(),
		Mode:       warehouse.ReplacePartitions,
		Partitions: days,
		NDJSON:     pr,
		JobID:      jobID(runID, names[0]+"_"+strconv.Itoa(len(batch))),
		Labels:     map[string]string{"sam_source": Source},
	})
	// Unblock the reader if Load stopped reading early.
	pr.CloseWithError(errors.New("load finished"))
	if err := <-done; err != nil {
		return counts, err
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

// filterFile filters the files of one export table into w.
func (l *FileLoader) filterFile(t exportTable, w io.Writer, loadedAt string, c *loaders.Counts, rj *rejectBuffer) error {
	for _, f := range t.files {
		suffix := fmt.Appendf(nil, `,"export_date":"%s","export_table":"%s","loaded_at":"%s"`, t.day.Format(time.DateOnly), t.name, loadedAt)
		if f.property != "" {
			suffix = fmt.Appendf(suffix, `,"property_id":%q`, f.property)
		}
		suffix = append(suffix, '}')
		if err := l.filterOne(t, f, w, suffix, c, rj); err != nil {
			return err
		}
	}
	return nil
}

func (l *FileLoader) filterOne(t exportTable, f exportFile, w io.Writer, suffix []byte, c *loaders.Counts, rj *rejectBuffer) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	defer fh.Close()
	var r io.Reader = fh
	if f.gz {
		gz, err := gzip.NewReader(bufio.NewReaderSize(fh, 1<<20))
		if err != nil {
			return fmt.Errorf("ga4: %s: %w", f.path, asBadFile(f.path, err))
		}
		defer gz.Close()
		r = gz
	}
	prefix := ""
	if len(t.files) > 1 {
		prefix = filepath.Base(f.path) + " " // which shard a line number is in
	}
	if err := l.filter(r, w, suffix, t, prefix, c, rj); err != nil {
		if f.gz {
			err = asBadFile(f.path, err)
		}
		return fmt.Errorf("ga4: read %s: %w", f.path, err)
	}
	return nil
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

// filter copies valid lines from r to w and collects the rest as rejects.
func (l *FileLoader) filter(r io.Reader, w io.Writer, suffix []byte, t exportTable, linePrefix string, c *loaders.Counts, rejects *rejectBuffer) error {
	br := bufio.NewReaderSize(r, 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	var long []byte
	lineNo := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to maxLine.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if len(long) <= l.maxLine {
					long = append(long, line...)
				}
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		c.Bytes += int64(len(line))
		if trimmed := trimEOL(line); len(trimmed) > 0 || !errors.Is(err, io.EOF) {
			lineNo++
			if len(trimmed) > 0 {
				if werr := l.one(bw, trimmed, suffix, t, linePrefix, lineNo, c, rejects); werr != nil {
					return werr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return bw.Flush()
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (l *FileLoader) one(w *bufio.Writer, line, suffix []byte, t exportTable, linePrefix string, lineNo int, c *loaders.Counts, rejects *rejectBuffer) error {
	c.Read++
	reject := func(reason string) error {
		c.Rejected++
		raw := line
		if len(raw) > l.maxLine {
			raw = raw[:l.maxLine] // what was read of it; the rest was never held
		}
		rawText := string(raw)
		if !utf8.ValidString(rawText) {
			// The rejects table holds text; keep every valid byte and mark
			// the invalid ones rather than lose the line.
			rawText = strings.ToValidUTF8(rawText, "\uFFFD")
		}
		return rejects.add(loaders.Reject{Source: Source, Object: t.name, Reason: fmt.Sprintf("%sline %d: %s", linePrefix, lineNo, reason), Raw: rawText})
	}
	if len(line) > l.maxLine {
		return reject(fmt.Sprintf("line longer than %d bytes", l.maxLine))
	}
	info, err := l.v.Check(line)
	if err != nil {
		return reject(err.Error())
	}
	if !info.EventDate.Equal(t.day) {
		// GA4 writes each event to the table of its event_date, late
		// events included (export schema docs, "Tables"), and the models
		// rebuild a day from the table of that day: an event filed under
		// another day would be kept by a full build and lost by an
		// incremental one.
		return reject(fmt.Sprintf("event_date %s is not the table's day %s; GA4 files every event under its own date, so this line is not that table's",
			info.EventDate.Format("20060102"), t.day.Format("20060102")))
	}
	out := line[:info.End]
	if len(info.Unknown) > 0 {
		clean, err := l.v.dropUnknown(line)
		if err != nil {
			return reject("malformed JSON: " + err.Error())
		}
		l.log.Debug("ga4: dropped columns the export schema does not know", "table", t.name, "line", lineNo, "columns", info.Unknown)
		out = clean[:len(clean)-1]
	}
	c.Loaded++
	if _, err := w.Write(out); err != nil {
		return err
	}
	if _, err := w.Write(suffix); err != nil {
		return err
	}
	return w.WriteByte('\n')
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
