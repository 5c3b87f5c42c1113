package duckdb

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// rows adapts database/sql rows to warehouse.Rows, converting DuckDB's
// driver values into the engine-neutral types.
type rows struct {
	r     *sql.Rows
	cols  []warehouse.Column
	convs []converter
	raw   []any
	ptrs  []any
	err   error
}

// converter turns one driver value into an engine-neutral value.
type converter func(any) (any, error)

func newRows(r *sql.Rows) (*rows, error) {
	types, err := r.ColumnTypes()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("duckdb: column types: %w", err)
	}
	out := &rows{r: r, cols: make([]warehouse.Column, len(types)), convs: make([]converter, len(types))}
	for i, ct := range types {
		t, err := parseType(ct.DatabaseTypeName())
		if err != nil {
			// An unknown type still reads, by Go type alone.
			t = &dtype{name: ct.DatabaseTypeName()}
		}
		out.cols[i] = t.column(ct.Name())
		out.convs[i] = t.converter()
	}
	out.raw = make([]any, len(types))
	out.ptrs = make([]any, len(types))
	for i := range out.raw {
		out.ptrs[i] = &out.raw[i]
	}
	return out, nil
}

func (r *rows) Columns() []warehouse.Column { return r.cols }

func (r *rows) Next() bool {
	if r.err != nil || !r.r.Next() {
		return false
	}
	if err := r.r.Scan(r.ptrs...); err != nil {
		r.err = fmt.Errorf("duckdb: read row: %w", err)
		return false
	}
	return true
}

func (r *rows) Values() ([]any, error) {
	out := make([]any, len(r.raw))
	for i, v := range r.raw {
		c, err := r.convs[i](v)
		if err != nil {
			return nil, fmt.Errorf("duckdb: column %q: %w", r.cols[i].Name, err)
		}
		out[i] = c
	}
	return out, nil
}

func (r *rows) Scan(dest ...any) error {
	if len(dest) != len(r.raw) {
		return fmt.Errorf("duckdb: scan: %d destinations for %d columns", len(dest), len(r.raw))
	}
	vals, err := r.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		if err := warehouse.ConvertAssign(dest[i], v); err != nil {
			return fmt.Errorf("duckdb: scan column %q: %w", r.cols[i].Name, err)
		}
	}
	return nil
}

func (r *rows) Err() error {
	if r.err != nil {
		return classify(r.err)
	}
	if err := r.r.Err(); err != nil {
		return classify(fmt.Errorf("duckdb: query: %w", err))
	}
	return nil
}

func (r *rows) Close() error { return r.r.Close() }

// converter returns the conversion for values of type t.
func (t *dtype) converter() converter {
	switch t.name {
	case "LIST":
		elem := t.elem.converter()
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("LIST value is %T", v)
			}
			out := make([]any, len(list))
			for i, e := range list {
				c, err := elem(e)
				if err != nil {
					return nil, err
				}
				out[i] = c
			}
			return out, nil
		}
	case "STRUCT":
		convs := make(map[string]converter, len(t.fields))
		for _, f := range t.fields {
			convs[f.name] = f.typ.converter()
		}
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("STRUCT value is %T", v)
			}
			out := make(map[string]any, len(m))
			for k, e := range m {
				conv := convs[k]
				if conv == nil {
					conv = convertAny
				}
				c, err := conv(e)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", k, err)
				}
				out[k] = c
			}
			return out, nil
		}
	case "MAP":
		key, val := t.key.converter(), t.val.converter()
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			m, ok := v.(duckdbdrv.Map)
			if !ok {
				return nil, fmt.Errorf("MAP value is %T", v)
			}
			out := make([]any, 0, len(m))
			for k, e := range m {
				ck, err := key(k)
				if err != nil {
					return nil, err
				}
				ce, err := val(e)
				if err != nil {
					return nil, err
				}
				out = append(out, map[string]any{"key": ck, "value": ce})
			}
			return out, nil
		}
	case "JSON":
		return convertJSON
	case "UUID":
		return convertUUID
	case "TIME", "TIME WITH TIME ZONE", "TIMETZ":
		return convertTime
	}
	return convertAny
}

// convertTime renders a TIME (which the driver returns as a time on
// 0001-01-01) as BigQuery prints one.
func convertTime(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return x.UTC().Format("15:04:05.999999"), nil
	}
	return nil, fmt.Errorf("TIME value is %T", v)
}

// convertJSON renders a JSON value as its text, as BigQuery returns JSON.
// The driver has already decoded it; re-encoding gives canonical JSON.
func convertJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		// The driver decodes JSON strings; a JSON string value is quoted.
		b, err := json.Marshal(x)
		return string(b), err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return string(b), nil
}

func convertUUID(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if len(x) != 16 {
			return nil, fmt.Errorf("UUID of %d bytes", len(x))
		}
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
	case string:
		return x, nil
	}
	return nil, fmt.Errorf("UUID value is %T", v)
}

// convertAny converts a scalar by its Go type.
func convertAny(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, int64, float64, bool, []byte:
		return x, nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return float64(x), nil
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, nil
	case duckdbdrv.Decimal:
		return decimalFloat(x), nil
	case time.Time:
		return x.UTC(), nil
	case duckdbdrv.Interval:
		return formatInterval(x), nil
	case duckdbdrv.Union:
		return convertAny(x.Value)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := convertAny(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := convertAny(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case duckdbdrv.Map:
		out := make([]any, 0, len(x))
		for k, e := range x {
			ck, err := convertAny(k)
			if err != nil {
				return nil, err
			}
			ce, err := convertAny(e)
			if err != nil {
				return nil, err
			}
			out = append(out, map[string]any{"key": ck, "value": ce})
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}

// decimalFloat converts a DECIMAL exactly as far as float64 allows.
func decimalFloat(d duckdbdrv.Decimal) float64 {
	if d.Value == nil {
		return 0
	}
	if d.Scale == 0 {
		f, _ := new(big.Float).SetInt(d.Value).Float64()
		return f
	}
	// Parsing the decimal text rounds once, where dividing floats would
	// round twice.
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// formatInterval renders an interval in BigQuery's canonical form
// "Y-M D H:M:S[.F]".
func formatInterval(iv duckdbdrv.Interval) string {
	sign := ""
	months := int64(iv.Months)
	if months < 0 {
		sign = "-"
		months = -months
	}
	ym := fmt.Sprintf("%s%d-%d", sign, months/12, months%12)
	micros := iv.Micros
	tsign := ""
	if micros < 0 {
		tsign = "-"
		micros = -micros
	}
	h := micros / 3_600_000_000
	m := micros / 60_000_000 % 60
	s := micros / 1_000_000 % 60
	frac := micros % 1_000_000
	out := fmt.Sprintf("%s %d %s%d:%d:%d", ym, iv.Days, tsign, h, m, s)
	if frac != 0 {
		fs := strconv.FormatInt(frac+1_000_000, 10)[1:]
		for fs[len(fs)-1] == '0' {
			fs = fs[:len(fs)-1]
		}
		out += "." + fs
	}
	return out
}
