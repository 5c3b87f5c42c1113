package bigquery

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"

	"github.com/sam-attribution/sam/warehouse"
)

// newQuery configures a query job the way every SAM query runs: GoogleSQL,
// in the configured location, labelled, capped, with SAM's dataset as the
// default for unqualified names.
func (db *DB) newQuery(sql string, params []bigquery.QueryParameter, o warehouse.ExecOptions) *bigquery.Query {
	q := db.client.Query(sql)
	q.Parameters = params
	q.UseLegacySQL = false
	q.Location = db.opts.Location
	q.MaxBytesBilled = db.opts.MaxBytesBilled
	q.Labels = db.labels(o.Labels)
	q.DefaultProjectID = db.opts.Project
	q.DefaultDatasetID = db.opts.Dataset
	q.JobTimeout = db.opts.JobTimeout
	return q
}

// runQuery runs sql as a query job to completion.
func (db *DB) runQuery(ctx context.Context, sql string, values []any, o warehouse.ExecOptions) (*bigquery.Job, *bigquery.JobStatus, error) {
	params, err := queryParams(values)
	if err != nil {
		return nil, nil, err
	}
	id := jobIDText(o.JobID)
	if id == "" {
		id = newJobID("query")
	}
	return db.run(ctx, jobRun{
		kind:   "query",
		id:     id,
		replay: true,
		script: mayBeScript(sql),
		insert: func(ctx context.Context, id string) (*bigquery.Job, error) {
			q := db.newQuery(sql, params, o)
			q.JobIDConfig = bigquery.JobIDConfig{JobID: id, AddJobIDSuffix: false}
			return q.Run(ctx)
		},
		same: func(c bigquery.JobConfig) bool {
			qc, ok := c.(*bigquery.QueryConfig)
			return ok && qc.Q == sql && len(qc.Parameters) == len(params)
		},
	})
}

// queryParams turns Exec and Query arguments into positional query
// parameters (the client sends parameterMode POSITIONAL when none is
// named). A nil argument is a NULL STRING.
func queryParams(values []any) ([]bigquery.QueryParameter, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make([]bigquery.QueryParameter, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case nil:
			v = bigquery.NullString{}
		case warehouse.Null:
			v = typedNull(x.Type)
		case int:
			v = int64(x)
		case string, int64, float64, bool, []byte:
		case time.Time:
			v = x.UTC()
		default:
			return nil, fmt.Errorf("bigquery: argument %d: %T is not a supported query parameter type", i+1, v)
		}
		out[i] = bigquery.QueryParameter{Value: v}
	}
	return out, nil
}

// typedNull is a NULL query parameter of type t.
func typedNull(t warehouse.Type) any {
	switch t {
	case warehouse.Int64:
		return bigquery.NullInt64{}
	case warehouse.Float64:
		return bigquery.NullFloat64{}
	case warehouse.Bool:
		return bigquery.NullBool{}
	case warehouse.Timestamp:
		return bigquery.NullTimestamp{}
	case warehouse.Date:
		return bigquery.NullDate{}
	case warehouse.JSON:
		return bigquery.NullJSON{}
	}
	return bigquery.NullString{}
}

// mayBeScript reports whether sql holds more than one statement. It is a
// cautious guess (a semicolon inside a string literal counts) used only to
// decide against rerunning.
func mayBeScript(sql string) bool {
	return strings.Contains(strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n"), ";")
}

// Exec implements warehouse.Warehouse. sql may be a multi-statement script
// (BigQuery scripting); RowsAffected is then the sum over its statements.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (warehouse.Result, error) {
	values, o := warehouse.Args(args)
	job, st, err := db.runQuery(ctx, sql, values, o)
	if err != nil {
		return warehouse.Result{}, err
	}
	res := warehouse.Result{JobID: job.ID()}
	if st.Statistics != nil {
		res.BytesProcessed = st.Statistics.TotalBytesProcessed
	}
	if qs := queryStats(st); qs != nil {
		res.BytesBilled = qs.TotalBytesBilled
		res.RowsAffected = qs.NumDMLAffectedRows
		if qs.StatementType == "SCRIPT" {
			byType, err := db.scriptRows(ctx, job)
			if err != nil {
				return res, err
			}
			res.RowsAffected = 0
			for _, n := range byType {
				res.RowsAffected += n
			}
		}
	}
	return res, nil
}

// scriptRows sums the DML rows of a script's statements by statement type.
// A script job's own statistics do not carry them; its child jobs do.
func (db *DB) scriptRows(ctx context.Context, job *bigquery.Job) (map[string]int64, error) {
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	out := map[string]int64{}
	it := job.Children(cctx)
	for {
		child, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list statements of bigquery script job %s: %w", job.ID(), db.callErr(ctx, err))
		}
		if qs := queryStats(child.LastStatus()); qs != nil {
			out[qs.StatementType] += qs.NumDMLAffectedRows
		}
	}
}

// Query implements warehouse.Warehouse.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (warehouse.Rows, error) {
	values, o := warehouse.Args(args)
	job, _, err := db.runQuery(ctx, sql, values, o)
	if err != nil {
		return nil, err
	}
	it, err := job.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read results of bigquery job %s: %w", job.ID(), err)
	}
	return &rows{it: it, jobID: job.ID(), cols: fromBQSchema(it.Schema)}, nil
}

// DryRun implements warehouse.Warehouse.
func (db *DB) DryRun(ctx context.Context, sql string) (warehouse.Estimate, error) {
	q := db.newQuery(sql, nil, warehouse.ExecOptions{})
	q.DryRun = true
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	job, err := q.Run(cctx)
	if err != nil {
		return warehouse.Estimate{}, fmt.Errorf("bigquery dry run: %w", db.callErr(ctx, err))
	}
	st := job.LastStatus()
	if st == nil || st.Statistics == nil {
		return warehouse.Estimate{}, fmt.Errorf("bigquery dry run: the answer carries no statistics")
	}
	return warehouse.Estimate{Supported: true, BytesProcessed: st.Statistics.TotalBytesProcessed}, nil
}

// rows adapts a RowIterator to warehouse.Rows.
type rows struct {
	it     *bigquery.RowIterator
	jobID  string
	cols   []warehouse.Column
	cur    []any
	err    error
	closed bool
}

func (r *rows) Columns() []warehouse.Column { return r.cols }

func (r *rows) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	var vals []bigquery.Value
	err := r.it.Next(&vals)
	if errors.Is(err, iterator.Done) {
		return false
	}
	if err != nil {
		r.err = fmt.Errorf("read results of bigquery job %s: %w", r.jobID, err)
		return false
	}
	if r.cols == nil {
		// The schema is known once the first page is in.
		r.cols = fromBQSchema(r.it.Schema)
	}
	r.cur, r.err = convertRow(r.it.Schema, vals)
	return r.err == nil
}

func (r *rows) Values() ([]any, error) {
	if r.cur == nil {
		return nil, errors.New("Values called without a current row")
	}
	return append([]any(nil), r.cur...), nil
}

func (r *rows) Scan(dest ...any) error {
	if r.cur == nil {
		return errors.New("Scan called without a current row")
	}
	if len(dest) != len(r.cur) {
		return fmt.Errorf("Scan: %d destinations for %d columns", len(dest), len(r.cur))
	}
	for i, d := range dest {
		if err := warehouse.ConvertAssign(d, r.cur[i]); err != nil {
			name := fmt.Sprint(i)
			if i < len(r.cols) {
				name = r.cols[i].Name
			}
			return fmt.Errorf("Scan column %s: %w", name, err)
		}
	}
	return nil
}

func (r *rows) Err() error { return r.err }

func (r *rows) Close() error {
	r.closed = true
	r.cur = nil
	return nil
}

func convertRow(schema bigquery.Schema, vals []bigquery.Value) ([]any, error) {
	out := make([]any, len(vals))
	for i, v := range vals {
		var f *bigquery.FieldSchema
		if i < len(schema) {
			f = schema[i]
		}
		c, err := convertValue(f, v)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// convertValue turns a client library value into an engine-neutral one:
// repeated fields become []any, records map[string]any keyed by field name.
func convertValue(f *bigquery.FieldSchema, v bigquery.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	if f != nil && f.Repeated {
		items, ok := v.([]bigquery.Value)
		if !ok {
			return nil, fmt.Errorf("column %s: repeated value is %T", f.Name, v)
		}
		el := *f
		el.Repeated = false
		out := make([]any, len(items))
		for i, it := range items {
			c, err := convertValue(&el, it)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	if f != nil && f.Type == bigquery.RecordFieldType {
		items, ok := v.([]bigquery.Value)
		if !ok {
			return nil, fmt.Errorf("column %s: record value is %T", f.Name, v)
		}
		out := make(map[string]any, len(items))
		for i, it := range items {
			if i >= len(f.Schema) {
				return nil, fmt.Errorf("column %s: record has more values than fields", f.Name)
			}
			c, err := convertValue(f.Schema[i], it)
			if err != nil {
				return nil, err
			}
			out[f.Schema[i].Name] = c
		}
		return out, nil
	}
	switch x := v.(type) {
	case string, int64, float64, bool, []byte:
		return x, nil
	case time.Time:
		return x.UTC(), nil
	case civil.Date:
		return time.Date(x.Year, x.Month, x.Day, 0, 0, 0, 0, time.UTC), nil
	case civil.DateTime:
		return x.In(time.UTC), nil
	case civil.Time:
		return x.String(), nil
	case *big.Rat:
		fv, _ := x.Float64()
		return fv, nil
	case fmt.Stringer: // INTERVAL, RANGE and whatever the library adds
		return x.String(), nil
	}
	name := "?"
	if f != nil {
		name = f.Name
	}
	return nil, fmt.Errorf("column %s: unsupported value type %T", name, v)
}
