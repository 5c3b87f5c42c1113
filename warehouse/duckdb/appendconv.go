package duckdb

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// valueConverter turns an engine-neutral Go value into what DuckDB's
// appender accepts for one column.
type valueConverter func(any) (any, error)

func appendConverter(c warehouse.Column) valueConverter {
	elem := scalarConverter(c)
	if !c.Repeated {
		if c.Type != warehouse.Record {
			return elem
		}
		ready := appendReady(c)
		return func(v any) (any, error) {
			if ready(v) {
				return v, nil
			}
			return elem(v)
		}
	}
	ready := appendReady(c)
	return func(v any) (any, error) {
		if v == nil || ready(v) {
			return v, nil
		}
		list, ok := v.([]any)
		if !ok {
			rv := reflect.ValueOf(v)
			if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
				return nil, fmt.Errorf("ARRAY value must be a slice, got %T", v)
			}
			list = make([]any, rv.Len())
			for i := range list {
				list[i] = rv.Index(i).Interface()
			}
		}
		out := make([]any, len(list))
		for i, e := range list {
			c, err := elem(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	}
}

// appendReady returns a test of whether a value already has the exact
// shape the appender takes for column c, so that nested values built for it
// (rows decoded from JSON) are passed on rather than copied. It allocates
// nothing.
func appendReady(c warehouse.Column) func(any) bool {
	var elem func(any) bool
	switch c.Type {
	case warehouse.String:
		elem = func(v any) bool { _, ok := v.(string); return ok || v == nil }
	case warehouse.Int64:
		elem = func(v any) bool { _, ok := v.(int64); return ok || v == nil }
	case warehouse.Float64:
		elem = func(v any) bool { _, ok := v.(float64); return ok || v == nil }
	case warehouse.Bool:
		elem = func(v any) bool { _, ok := v.(bool); return ok || v == nil }
	case warehouse.Timestamp:
		elem = func(v any) bool { t, ok := v.(time.Time); return ok && t.Location() == time.UTC || v == nil }
	case warehouse.Record:
		fields := make([]func(any) bool, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = appendReady(f)
		}
		elem = func(v any) bool {
			if v == nil {
				return true
			}
			m, ok := v.(map[string]any)
			if !ok || len(m) != len(c.Fields) {
				return false
			}
			for i, f := range c.Fields {
				fv, ok := m[f.Name]
				if !ok || !fields[i](fv) {
					return false
				}
			}
			return true
		}
	default: // converted every time
		elem = func(any) bool { return false }
	}
	if !c.Repeated {
		return elem
	}
	return func(v any) bool {
		list, ok := v.([]any)
		if !ok {
			return v == nil
		}
		for _, e := range list {
			if !elem(e) {
				return false
			}
		}
		return true
	}
}

func scalarConverter(c warehouse.Column) valueConverter {
	switch c.Type {
	case warehouse.String:
		return toString
	case warehouse.Int64:
		return toInt64
	case warehouse.Float64:
		return toFloat64
	case warehouse.Numeric:
		return toDecimal
	case warehouse.Bool:
		return toBool
	case warehouse.Timestamp:
		return toTimestamp
	case warehouse.Date:
		return toDate
	case warehouse.JSON:
		return toJSON
	case warehouse.Bytes:
		return toBytes
	case warehouse.Record:
		fields := make([]valueConverter, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = appendConverter(f)
		}
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("RECORD value must be map[string]any, got %T", v)
			}
			out := make(map[string]any, len(c.Fields))
			for i, f := range c.Fields {
				fv, err := fields[i](m[f.Name])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				out[f.Name] = fv
			}
			if len(m) > len(c.Fields) {
				for k := range m {
					if _, ok := out[k]; !ok {
						return nil, fmt.Errorf("field %q is not in the schema", k)
					}
				}
			}
			return out, nil
		}
	}
	return func(any) (any, error) { return nil, fmt.Errorf("unsupported column type %q", c.Type) }
}

func toString(v any) (any, error) {
	switch x := v.(type) {
	case nil, string:
		return x, nil
	case []byte:
		return string(x), nil
	case fmt.Stringer:
		return x.String(), nil
	case int64, int, int32, float64, bool:
		return warehouse.Format(x), nil
	}
	return nil, fmt.Errorf("cannot store %T in a STRING column", v)
}

func toInt64(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("%d overflows INT64", x)
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<63 {
			return nil, fmt.Errorf("%v is not an INT64", x)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an INT64", x)
		}
		return n, nil
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return nil, fmt.Errorf("%q is not an INT64", x)
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot store %T in an INT64 column", v)
}

func toFloat64(v any) (any, error) {
	switch x := v.(type) {
	case nil, float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a FLOAT64", x)
		}
		return f, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%q is not a FLOAT64", x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("cannot store %T in a FLOAT64 column", v)
}

// numericScale is the scale of decimalType.
const numericScale = 9

var numericUnit = new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(numericScale), nil))

// toDecimal converts to a duckdb Decimal with NUMERIC's scale, rounding
// half away from zero beyond nine decimals as BigQuery does.
func toDecimal(v any) (any, error) {
	var r *big.Rat
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *big.Rat:
		if x == nil {
			return nil, nil
		}
		r = new(big.Rat).Set(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a NUMERIC", x)
		}
		// The shortest decimal that round-trips is what the caller meant.
		r, _ = new(big.Rat).SetString(strconv.FormatFloat(x, 'f', -1, 64))
	case int64:
		r = new(big.Rat).SetInt64(x)
	case int:
		r = new(big.Rat).SetInt64(int64(x))
	case string:
		var ok bool
		if r, ok = new(big.Rat).SetString(x); !ok {
			return nil, fmt.Errorf("%q is not a NUMERIC", x)
		}
	case json.Number:
		var ok bool
		if r, ok = new(big.Rat).SetString(string(x)); !ok {
			return nil, fmt.Errorf("%q is not a NUMERIC", x)
		}
	case duckdbdrv.Decimal:
		return x, nil
	default:
		return nil, fmt.Errorf("cannot store %T in a NUMERIC column", v)
	}
	r.Mul(r, numericUnit)
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero.
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if q.BitLen() > 126 {
		return nil, fmt.Errorf("%s overflows NUMERIC", r.FloatString(0))
	}
	return duckdbdrv.Decimal{Width: 38, Scale: numericScale, Value: q}, nil
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(x)
		if err != nil {
			return nil, fmt.Errorf("%q is not a BOOL", x)
		}
		return b, nil
	}
	return nil, fmt.Errorf("cannot store %T in a BOOL column", v)
}

func toTimestamp(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		if x.Location() == time.UTC {
			return v, nil // no new allocation for the common case
		}
		return x.UTC(), nil
	case string:
		t, err := parseTimestamp(x)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("cannot store %T in a TIMESTAMP column", v)
}

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.DateOnly,
}

func parseTimestamp(s string) (time.Time, error) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a TIMESTAMP", s)
}

// toDate keeps the UTC calendar day: DATE values read back as midnight UTC.
func toDate(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		u := x.UTC()
		if x.Location() == time.UTC && u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
			return v, nil
		}
		y, m, d := u.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case string:
		t, err := time.Parse(time.DateOnly, x)
		if err != nil {
			if t, err = time.Parse("20060102", x); err != nil {
				return nil, fmt.Errorf("%q is not a DATE", x)
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("cannot store %T in a DATE column", v)
}

// toJSON passes JSON text through unchanged (the driver encodes the value
// it is given, and RawMessage encodes as itself); other values are encoded.
func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("invalid JSON text %.40q", x)
		}
		return json.RawMessage(x), nil
	case []byte:
		if !json.Valid(x) {
			return nil, fmt.Errorf("invalid JSON text %.40q", x)
		}
		return json.RawMessage(x), nil
	case json.RawMessage:
		return x, nil
	}
	return v, nil
}

func toBytes(v any) (any, error) {
	switch x := v.(type) {
	case nil, []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	return nil, fmt.Errorf("cannot store %T in a BYTES column", v)
}
