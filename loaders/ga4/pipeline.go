package ga4

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sam-attribution/sam/loaders"
)

// The NDJSON load runs as a pipeline: one reader cuts the batch's files
// into chunks of lines, workers (one per core) validate the chunks and turn
// them into Arrow record batches or cleaned lines, and the consumer takes the chunks back
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
	suffix    []byte // the loader's columns as JSON members, NDJSON mode
	firstLine int
	buf       []byte
	lines     [][]byte // into buf; an empty line holds a line number
	// err is the error that ended reading the file after these lines.
	err error

	done    chan struct{}
	rec     arrow.RecordBatch // Arrow mode
	out     []byte            // NDJSON mode: the lines to load
	rejects []loaders.Reject
	counts  loaders.Counts
}

// pipeline reads, validates and converts the files of one batch.
type pipeline struct {
	l        *FileLoader
	batch    []exportTable
	schema   *arrow.Schema // Arrow mode: record batches of this schema, else NDJSON lines
	loadedAt time.Time     // the loaded_at of every row
	chunks   chan *chunk
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	readErr  error // set by the reader before it closes chunks
}

// startPipeline starts the reader and the workers; stop releases them.
func (l *FileLoader) startPipeline(ctx context.Context, batch []exportTable, schema *arrow.Schema, loadedAt time.Time) *pipeline {
	ctx, cancel := context.WithCancel(ctx)
	workers := runtime.GOMAXPROCS(0)
	p := &pipeline{l: l, batch: batch, schema: schema, loadedAt: loadedAt, cancel: cancel,
		chunks: make(chan *chunk, 2*workers+2)}
	work := make(chan *chunk, 2*workers+2)
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var rb *array.RecordBuilder
			if schema != nil {
				rb = array.NewRecordBuilder(memory.DefaultAllocator, schema)
				defer func() { rb.Release() }()
			}
			for c := range work {
				rb = p.process(c, rb)
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
	}()
	return p
}

// next returns the next chunk in file order, processed, or nil after the
// last; a read error comes with the chunk of the lines before it.
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
	var left []*chunk
	for c := range p.chunks { // unblock the reader
		left = append(left, c)
	}
	p.wg.Wait()
	for _, c := range left {
		select {
		case <-c.done:
			if c.rec != nil {
				c.rec.Release()
			}
		default: // never handed to a worker
		}
	}
}

// read cuts every file of the batch into chunks and hands each to both the
// workers and the consumer.
func (p *pipeline) read(ctx context.Context, work chan<- *chunk) error {
	send := func(c *chunk) error {
		select {
		case p.chunks <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i, t := range p.batch {
		for _, f := range t.files {
			c := &chunk{table: i, t: t, file: f, firstLine: 1}
			if len(t.files) > 1 {
				c.prefix = f.path[strings.LastIndexByte(f.path, '/')+1:] + " " // which shard a line number is in
			}
			if p.schema == nil {
				c.suffix = fmt.Appendf(nil, `,"export_date":"%s","export_table":"%s","loaded_at":"%s"`,
					t.day.Format(time.DateOnly), t.name, p.loadedAt.Format(time.RFC3339Nano))
				if f.property != "" {
					c.suffix = fmt.Appendf(c.suffix, `,"property_id":%q`, f.property)
				}
				c.suffix = append(c.suffix, '}')
			}
			if err := p.readFile(*c, send); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFile reads one file into chunks, copies of base.
func (p *pipeline) readFile(base chunk, send func(*chunk) error) error {
	var readErr error
	fresh := func() *chunk {
		c := base
		c.done = make(chan struct{})
		return &c
	}
	cur := fresh()
	err := p.l.openExport(base.t, base.file, func(r io.Reader) error {
		br := bufio.NewReaderSize(r, 1<<20)
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
			if trimmed := trimEOL(line); len(trimmed) > 0 || !errors.Is(err, io.EOF) {
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
	}
	return send(cur)
}

// process validates a chunk's lines and converts the valid ones: into a
// record batch built with rb, or NDJSON when rb is nil. It returns the
// builder to use for the next chunk.
func (p *pipeline) process(c *chunk, rb *array.RecordBuilder) *array.RecordBuilder {
	defer func() { c.buf, c.lines = nil, nil }()
	if rb == nil {
		p.convert(c, nil, false)
		return nil
	}
	// Lines are appended as they are validated; a bad line leaves part of
	// itself in the builders, which cannot take it back, so a chunk with
	// one is built again in a fresh builder, each line checked before it
	// is appended.
	if !p.convert(c, rb, true) {
		rb.Release()
		rb = array.NewRecordBuilder(memory.DefaultAllocator, p.schema)
		c.rejects = nil
		c.counts = loaders.Counts{Bytes: c.counts.Bytes}
		p.convert(c, rb, false)
	}
	c.rec = rb.NewRecordBatch()
	return rb
}

// convert validates and converts the lines of c. With optimistic, it
// appends each line while validating it and gives up (false) at the first
// bad one.
func (p *pipeline) convert(c *chunk, rb *array.RecordBuilder, optimistic bool) bool {
	for k, line := range c.lines {
		if len(line) == 0 {
			continue
		}
		lineNo := c.firstLine + k
		c.counts.Read++
		var reason string
		var out []byte
		switch {
		case rb == nil:
			reason, out = p.one(c, line, nil)
		case optimistic:
			if reason, _ = p.one(c, line, rb); reason != "" {
				return false
			}
		default:
			if reason, _ = p.one(c, line, nil); reason == "" {
				p.one(c, line, rb) // valid, so it appends all of itself
			}
		}
		if reason != "" {
			c.counts.Rejected++
			c.rejects = append(c.rejects, p.l.reject(c, line, lineNo, reason))
			continue
		}
		c.counts.Loaded++
		if rb != nil {
			p.appendLoaderColumns(c, rb)
			continue
		}
		c.out = append(c.out, out...)
		c.out = append(c.out, c.suffix...)
		c.out = append(c.out, '\n')
	}
	return true
}

// appendLoaderColumns appends export_date, export_table, loaded_at and
// property_id, the last columns of RawSchema, to rb.
func (p *pipeline) appendLoaderColumns(c *chunk, rb *array.RecordBuilder) {
	n := len(p.l.v.root.fields)
	rb.Field(n).(*array.Date32Builder).Append(arrow.Date32FromTime(c.t.day))
	rb.Field(n + 1).(*array.StringBuilder).Append(c.t.name)
	rb.Field(n + 2).(*array.TimestampBuilder).Append(arrow.Timestamp(p.loadedAt.UnixMicro()))
	if c.file.property != "" {
		rb.Field(n + 3).(*array.StringBuilder).Append(c.file.property)
	} else {
		rb.Field(n + 3).AppendNull()
	}
}

// one checks a line, appending its export columns to rb if set; it returns
// why the line is rejected, or, without rb, the JSON object to load
// without its closing brace.
func (p *pipeline) one(c *chunk, line []byte, rb *array.RecordBuilder) (reason string, out []byte) {
	l := p.l
	if len(line) > l.maxLine {
		return fmt.Sprintf("line longer than %d bytes", l.maxLine), nil
	}
	var info Line
	var err error
	if rb != nil {
		info, err = l.v.appendLine(line, rb)
	} else {
		info, err = l.v.Check(line)
	}
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
	if p.schema != nil {
		return "", nil
	}
	out = line[:info.End]
	if len(info.Unknown) > 0 {
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
	rawText := string(raw)
	if !utf8.ValidString(rawText) {
		// The rejects table holds text; keep every valid byte and mark
		// the invalid ones rather than lose the line.
		rawText = strings.ToValidUTF8(rawText, "\uFFFD")
	}
	return loaders.Reject{Source: Source, Object: c.t.name, Reason: fmt.Sprintf("%sline %d: %s", c.prefix, lineNo, reason), Raw: rawText}
}
