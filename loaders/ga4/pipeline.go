package ga4

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/loaders"
)

// The NDJSON load runs as a pipeline: one reader cuts the batch's files
// into chunks of lines, workers (one per core) validate the chunks and turn
// them into cleaned lines, and the consumer takes the chunks back
// in file order. At most chunksInFlight chunks exist at once, which bounds
// memory whatever the files' size.

const (
	chunkBytes = 1 << 20 // lines read into one chunk, about
	chunkLines = 2048
)

// chunk is a run of lines of one file and, once done is closed, what the
// worker made of them.
type chunk struct {
	table     int // index in the batch
	t         exportTable
	file      exportFile
	prefix    string // names the shard in reject reasons
	suffix    []byte // the loader's columns as JSON members
	firstLine int
	buf       []byte
	lines     [][]byte // into buf; an empty line holds a line number
	// err is the error that ended reading the file after these lines.
	err error

	done    chan struct{}
	out     []byte // the lines to load
	rejects []loaders.Reject
	counts  loaders.Counts
}

// pipeline reads, validates and converts the files of one batch.
type pipeline struct {
	l        *FileLoader
	batch    []exportTable
	loadedAt time.Time // the loaded_at of every row
	// checkOnly validates without writing the lines to load: the warehouse
	// reads the files themselves (FileLoader.loadInPlace).
	checkOnly bool
	chunks    chan *chunk
	cancel    context.CancelFunc
	// free holds spare chunk buffers: reusing them keeps the garbage
	// collector from scanning and clearing a megabyte per chunk, which cost
	// about a fifth of the load's CPU.
	free    chan []byte
	wg      sync.WaitGroup
	readErr error // set by the reader before it closes chunks
}

// errStopped is what next returns once stop has ended the reading early.
var errStopped = errors.New("ga4: the pipeline was stopped")

// startPipeline starts the reader and the workers; stop releases them.
func (l *FileLoader) startPipeline(parent context.Context, batch []exportTable, loadedAt time.Time, checkOnly bool) *pipeline {
	ctx, cancel := context.WithCancel(parent)
	workers := runtime.GOMAXPROCS(0)
	p := &pipeline{l: l, batch: batch, loadedAt: loadedAt, checkOnly: checkOnly, cancel: cancel,
		chunks: make(chan *chunk, 2*workers+2), free: make(chan []byte, 4*workers+8)}
	work := make(chan *chunk, 2*workers+2)
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for c := range work {
				p.process(c)
				close(c.done)
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(work)
		defer close(p.chunks)
		p.readErr = p.read(ctx, work)
		if errors.Is(p.readErr, context.Canceled) && ctx.Err() != nil && parent.Err() == nil {
			p.readErr = errStopped // stop, not a failure to read
		}
	}()
	return p
}

// next returns the next chunk in file order, processed, or nil after the
// last; a read error comes with the chunk of the lines before it, and
// errStopped once stop has ended the reading early.
func (p *pipeline) next(ctx context.Context) (*chunk, error) {
	select {
	case c, ok := <-p.chunks:
		if !ok {
			return nil, p.readErr
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop ends the reader and the workers and waits for them.
func (p *pipeline) stop() {
	p.cancel()
	for range p.chunks { // unblock the reader
	}
	p.wg.Wait()
}

// read cuts every file of the batch into chunks and hands each to the
// workers, then to the consumer. In that order: a chunk the consumer holds
// is one a worker will finish, even when stop cancels the reading between
// the two hand-offs (the other order left the consumer waiting for ever).
func (p *pipeline) read(ctx context.Context, work chan<- *chunk) error {
	send := func(c *chunk) error {
		select {
		case work <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case p.chunks <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i, t := range p.batch {
		lines := 0 // of the table's files so far
		for j, f := range t.files {
			c := &chunk{table: i, t: t, file: f, firstLine: 1}
			if len(t.files) > 1 {
				c.prefix = f.path[strings.LastIndexByte(f.path, '/')+1:] + " " // which shard a line number is in
			}
			for _, kv := range loaderValues(t, f, p.loadedAt) {
				c.suffix = fmt.Appendf(c.suffix, `,%q:%q`, kv[0], kv[1]) // names and values are plain ASCII
			}
			c.suffix = append(c.suffix, '}')
			last := j == len(t.files)-1
			end := func(n int) error {
				lines += n
				if last && lines == 0 {
					return emptyTable(t)
				}
				return nil
			}
			if err := p.readFile(*c, send, end); err != nil {
				return err
			}
		}
	}
	return nil
}

// emptyTable is the error of an export table whose files hold no line.
// GA4 creates no daily table for a day without events, so an empty file is
// a copy that did not finish, and loading it would empty its day.
func emptyTable(t exportTable) error {
	reason := "empty file: GA4 exports no table for a day without events, so this is a copy that did not finish"
	if len(t.files) > 1 {
		reason = fmt.Sprintf("empty export table: none of its %d shards holds a line; GA4 exports no table for a day without events, so this is a copy that did not finish", len(t.files))
	}
	return &badFileError{t.files[0].path, reason}
}

// utf8BOM is the UTF-8 byte order mark.
const utf8BOM = "\xef\xbb\xbf"

// readFile reads one file into chunks, copies of base. end is given the
// number of lines that held something, and returns the error, if any, that
// the file's last chunk carries.
func (p *pipeline) readFile(base chunk, send func(*chunk) error, end func(lines int) error) error {
	var readErr error
	content := 0 // lines that are not blank
	fresh := func() *chunk {
		c := base
		c.done = make(chan struct{})
		c.buf = p.buffer()
		return &c
	}
	cur := fresh()
	err := p.l.openExport(base.t, base.file, func(r io.Reader) error {
		br := bufio.NewReaderSize(r, 1<<20)
		if head, _ := br.Peek(4); !base.file.gz && len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
			readErr = &badFileError{base.file.path, "a gzip file named " + filepath.Ext(base.file.path) + ": name it " + filepath.Ext(base.file.path) + ".gz"}
			return nil
		} else if string(head) == "PAR1" {
			readErr = &badFileError{base.file.path, "a Parquet file named " + filepath.Ext(base.file.path) + ": name it .parquet"}
			return nil
		} else if bytes.HasPrefix(head, []byte(utf8BOM)) {
			// An editor's byte order mark, which RFC 8259 lets a parser
			// ignore; it says nothing about the data.
			_, _ = br.Discard(len(utf8BOM))
		}
		var long []byte
		lineNo := 0
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A line longer than the buffer: gather it, up to maxLine.
				long = append(long[:0], line...)
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = br.ReadSlice('\n')
					if len(long) <= p.l.maxLine {
						long = append(long, line...)
					}
				}
				line = long
			}
			if err != nil && !errors.Is(err, io.EOF) {
				readErr = err
				return nil // the lines so far go out first, the error with them
			}
			cur.counts.Bytes += int64(len(line))
			trimmed := trimEOL(line)
			if len(trimmed) > 0 {
				content++
			}
			if errors.Is(err, io.EOF) && len(trimmed) > 0 && !json.Valid(trimmed) {
				// The last line has no newline and is not whole JSON: the
				// copy was cut off, and what came before it is not the day.
				readErr = &badFileError{base.file.path, fmt.Sprintf("truncated file: its last line (line %d) ends without a newline and is not whole JSON", lineNo+1)}
			}
			if len(trimmed) > 0 || !errors.Is(err, io.EOF) {
				lineNo++
				if len(cur.lines) == 0 {
					cur.firstLine = lineNo
				}
				start := len(cur.buf)
				cur.buf = append(cur.buf, trimmed...)
				cur.lines = append(cur.lines, cur.buf[start:len(cur.buf):len(cur.buf)])
				if len(cur.buf) >= chunkBytes || len(cur.lines) >= chunkLines {
					if err := send(cur); err != nil {
						return err
					}
					cur = fresh()
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
		}
	})
	if err != nil {
		return err
	}
	if readErr != nil {
		cur.err = p.l.readError(base.file, readErr)
	} else {
		cur.err = end(content)
	}
	return send(cur)
}

// process validates a chunk's lines and converts the valid ones.
func (p *pipeline) process(c *chunk) {
	for k, line := range c.lines {
		if len(line) == 0 {
			continue
		}
		lineNo := c.firstLine + k
		c.counts.Read++
		reason, out := p.one(c, line)
		if reason != "" {
			c.counts.Rejected++
			c.rejects = append(c.rejects, p.l.reject(c, line, lineNo, reason))
			continue
		}
		c.counts.Loaded++
		if p.checkOnly {
			continue
		}
		if c.out == nil {
			c.out = p.buffer()
		}
		c.out = append(c.out, out...)
		c.out = append(c.out, c.suffix...)
		c.out = append(c.out, '\n')
	}
	p.recycle(c.buf)
	c.buf, c.lines = nil, nil
}

// buffer returns an empty buffer for a chunk, a spare one when there is.
func (p *pipeline) buffer() []byte {
	select {
	case b := <-p.free:
		return b[:0]
	default:
		return make([]byte, 0, chunkBytes+chunkBytes/4)
	}
}

// recycle keeps b for a later chunk, unless enough are kept or it grew
// around an unusually long line.
func (p *pipeline) recycle(b []byte) {
	if b == nil || cap(b) > 4*chunkBytes {
		return
	}
	select {
	case p.free <- b:
	default:
	}
}

// one checks a line; it returns why it is rejected, or the JSON object to
// load without its closing brace.
func (p *pipeline) one(c *chunk, line []byte) (reason string, out []byte) {
	l := p.l
	if len(line) > l.maxLine {
		return fmt.Sprintf("line longer than %d bytes", l.maxLine), nil
	}
	info, err := l.v.Check(line)
	if err != nil {
		return err.Error(), nil
	}
	if !info.EventDate.Equal(c.t.day) {
		// GA4 writes each event to the table of its event_date, late
		// events included (export schema docs, "Tables"), and the models
		// rebuild a day from the table of that day: an event filed under
		// another day would be kept by a full build and lost by an
		// incremental one.
		return fmt.Sprintf("event_date %s is not the table's day %s; GA4 files every event under its own date, so this line is not that table's",
			info.EventDate.Format("20060102"), c.t.day.Format("20060102")), nil
	}
	if len(info.Unknown) > 0 {
		l.log.Debug("ga4: dropped columns the export schema does not know", "table", c.t.name, "columns", info.Unknown)
	}
	out = line[:info.End]
	if len(info.Unknown) > 0 && !p.checkOnly { // read_json skips them by itself
		clean, err := l.v.dropUnknown(line)
		if err != nil {
			return "malformed JSON: " + err.Error(), nil
		}
		out = clean[:len(clean)-1]
	}
	return "", out
}

// reject makes the load_rejects row of a bad line.
func (l *FileLoader) reject(c *chunk, line []byte, lineNo int, reason string) loaders.Reject {
	raw := line
	if len(raw) > l.maxLine {
		raw = raw[:l.maxLine] // what was read of it; the rest was never held
	}
	// The rejects table holds text: bytes that are not UTF-8 show as \xNN.
	return loaders.Reject{Source: Source, Object: c.t.name, Reason: fmt.Sprintf("%sline %d: %s", c.prefix, lineNo, reason), Raw: loaders.RawText(string(raw))}
}
