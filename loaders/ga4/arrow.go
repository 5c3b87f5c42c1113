package ga4

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sam-attribution/sam/warehouse"
)

// arrowLoader is a warehouse that loads Arrow record batches as they are
// read from r (req has neither NDJSON nor Rows). Handing the embedded
// engine columns it need not parse again costs less than a text format.
type arrowLoader interface {
	LoadArrow(ctx context.Context, req warehouse.LoadRequest, r array.RecordReader) (warehouse.LoadResult, error)
}

// arrowSchema is the Arrow schema of rows with the columns cols.
func arrowSchema(cols []warehouse.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrowField(c)
	}
	return arrow.NewSchema(fields, nil)
}

func arrowField(c warehouse.Column) arrow.Field {
	var t arrow.DataType
	switch c.Type {
	case warehouse.Int64:
		t = arrow.PrimitiveTypes.Int64
	case warehouse.Float64:
		t = arrow.PrimitiveTypes.Float64
	case warehouse.Bool:
		t = arrow.FixedWidthTypes.Boolean
	case warehouse.Date:
		t = arrow.FixedWidthTypes.Date32
	case warehouse.Timestamp:
		t = &arrow.TimestampType{Unit: arrow.Microsecond}
	case warehouse.Record:
		fields := make([]arrow.Field, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = arrowField(f)
		}
		t = arrow.StructOf(fields...)
	default: // the validator reads every other type as a string
		t = arrow.BinaryTypes.String
	}
	if c.Repeated {
		t = arrow.ListOf(t)
	}
	return arrow.Field{Name: c.Name, Type: t, Nullable: true}
}

// chunkRecords is an array.RecordReader over the pipeline's record batches,
// in file order. A goroutine of its own takes the chunks (counts, rejects)
// so that reject writes never run on the warehouse's thread that reads the
// batches.
type chunkRecords struct {
	refs   atomic.Int64
	schema *arrow.Schema
	recs   chan arrow.RecordBatch
	stop   chan struct{} // closed by finish
	done   chan struct{} // closed when the feeder has ended
	once   sync.Once
	err    error // the feeder's; read after recs is closed
	cur    arrow.RecordBatch
}

func newChunkRecords(ctx context.Context, p *pipeline, schema *arrow.Schema, take func(*chunk) error) *chunkRecords {
	r := &chunkRecords{schema: schema, recs: make(chan arrow.RecordBatch, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	r.refs.Store(1)
	go func() {
		defer close(r.done)
		defer close(r.recs)
		r.err = r.feed(ctx, p, take)
	}()
	return r
}

func (r *chunkRecords) feed(ctx context.Context, p *pipeline, take func(*chunk) error) error {
	for {
		c, err := p.next(ctx)
		if c == nil || err != nil {
			return err
		}
		if err := take(c); err != nil {
			c.rec.Release()
			return err
		}
		select {
		case r.recs <- c.rec:
		case <-r.stop:
			c.rec.Release()
			return nil
		case <-ctx.Done():
			c.rec.Release()
			return ctx.Err()
		}
	}
}

// finish ends the feeder, once the warehouse is done reading, and returns
// the error that ended the batches early, if any.
func (r *chunkRecords) finish() error {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	for rec := range r.recs {
		rec.Release()
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	return r.err
}

// Retain implements array.RecordReader.
func (r *chunkRecords) Retain() { r.refs.Add(1) }

// Release implements array.RecordReader; finish frees what is left.
func (r *chunkRecords) Release() { r.refs.Add(-1) }

// Schema implements array.RecordReader.
func (r *chunkRecords) Schema() *arrow.Schema { return r.schema }

// Next implements array.RecordReader.
func (r *chunkRecords) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rec, ok := <-r.recs
	if !ok {
		return false
	}
	r.cur = rec
	return true
}

// RecordBatch implements array.RecordReader.
func (r *chunkRecords) RecordBatch() arrow.RecordBatch { return r.cur }

// Record implements array.RecordReader.
//
// Deprecated: Use RecordBatch.
func (r *chunkRecords) Record() arrow.RecordBatch { return r.cur }

// Err implements array.RecordReader; it is the feeder's error once Next has
// returned false.
func (r *chunkRecords) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}
