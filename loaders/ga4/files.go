package ga4

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// FileLoader loads export files from a directory (Options.ExportDir): one
// file per export table, named like the table, as NDJSON (optionally
// gzipped) or Parquet. Each day's partition of raw_ga4__events is replaced
// in one step, so reruns are idempotent.
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

var fileRE = regexp.MustCompile(`^events_(intraday_)?(\d{8})\.(json|ndjson|jsonl|json\.gz|ndjson\.gz|jsonl\.gz|parquet)$`)

// scanDir lists the export files in dir by day. fresh_ tables (the 360
// fresh-daily export) and unknown files are skipped.
func (l *FileLoader) scanDir() (map[time.Time]exportTable, error) {
	entries, err := os.ReadDir(l.cfg.ExportDir)
	if err != nil {
		return nil, fmt.Errorf("ga4: read export dir: %w", err)
	}
	out := map[time.Time]exportTable{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		m := fileRE.FindStringSubmatch(name)
		if m == nil {
			l.log.Debug("ga4: skipping file", "file", name, "why", skipReason(name))
			continue
		}
		d, ok := parseDay([]byte(m[2]))
		if !ok {
			l.log.Warn("ga4: skipping file with an impossible date", "file", name)
			continue
		}
		t := exportTable{day: d, intraday: m[1] != "", name: "events_" + m[1] + m[2], path: filepath.Join(l.cfg.ExportDir, name)}
		prev, seen := out[d]
		switch {
		case !seen, prev.intraday && !t.intraday:
			out[d] = t
		case prev.intraday == t.intraday:
			// The same table twice (say .json and .json.gz): take the first
			// name in directory order, which is sorted, and say so.
			l.log.Warn("ga4: export table present in two files; using the first", "used", filepath.Base(prev.path), "ignored", name)
		}
	}
	return out, nil
}

func skipReason(name string) string {
	if strings.HasPrefix(name, "fresh_") || strings.HasPrefix(name, "events_fresh_") {
		return "fresh export tables are not loaded; the daily table is authoritative"
	}
	return "not an export table file"
}

// Load implements Loader.
func (l *FileLoader) Load(ctx context.Context, runID string) (Result, error) {
	var res Result
	available, err := l.scanDir()
	if err != nil {
		return res, err
	}
	chosen, err := tablesToLoad(ctx, l.wh, l.cfg, l.shard, available)
	if err != nil {
		return res, err
	}
	for _, batch := range l.batches(chosen) {
		var counts []loaders.Counts
		if len(batch) == 1 && strings.HasSuffix(batch[0].path, ".parquet") {
			c, err := l.loadParquet(ctx, runID, batch[0])
			if err != nil {
				return res, err
			}
			counts = []loaders.Counts{c}
		} else if counts, err = l.loadNDJSON(ctx, runID, batch); err != nil {
			return res, err
		}
		for i, t := range batch {
			c := counts[i]
			res.Counts.Add(c)
			res.Days = append(res.Days, t.day)
			res.Tables = append(res.Tables, t.name)
			l.log.Info("ga4: loaded export day", "table", t.name, "read", c.Read, "loaded", c.Loaded, "rejected", c.Rejected)
		}
	}
	return res, nil
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
		if strings.HasSuffix(t.path, ".parquet") {
			if len(cur) > 0 {
				out, cur, size = append(out, cur), nil, 0
			}
			out = append(out, []exportTable{t})
			continue
		}
		var n int64
		if st, err := os.Stat(t.path); err == nil {
			n = st.Size()
			if strings.HasSuffix(t.path, ".gz") {
				n *= 8 // the warehouse spools the uncompressed lines; JSON gzips about 8:1
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

// filterFile opens one export file and filters it into w.
func (l *FileLoader) filterFile(t exportTable, w io.Writer, loadedAt string, c *loaders.Counts, rj *rejectBuffer) error {
	f, err := os.Open(t.path)
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(t.path, ".gz") {
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return fmt.Errorf("ga4: %s: %w", t.path, err)
		}
		defer gz.Close()
		r = gz
	}
	suffix := fmt.Appendf(nil, `,"export_date":"%s","export_table":"%s","loaded_at":"%s"}`, t.day.Format(time.DateOnly), t.name, loadedAt)
	if err := l.filter(r, w, suffix, t, c, rj); err != nil {
		return fmt.Errorf("ga4: read %s: %w", t.path, err)
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
func (l *FileLoader) filter(r io.Reader, w io.Writer, suffix []byte, t exportTable, c *loaders.Counts, rejects *rejectBuffer) error {
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
				if werr := l.one(bw, trimmed, suffix, t, lineNo, c, rejects); werr != nil {
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

func (l *FileLoader) one(w *bufio.Writer, line, suffix []byte, t exportTable, lineNo int, c *loaders.Counts, rejects *rejectBuffer) error {
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
		return rejects.add(loaders.Reject{Source: Source, Object: t.name, Reason: fmt.Sprintf("line %d: %s", lineNo, reason), Raw: rawText})
	}
	if len(line) > l.maxLine {
		return reject(fmt.Sprintf("line longer than %d bytes", l.maxLine))
	}
	info, err := l.v.Check(line)
	if err != nil {
		return reject(err.Error())
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
