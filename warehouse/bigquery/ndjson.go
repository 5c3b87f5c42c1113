package bigquery

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// appendRow appends one row as a JSON object line in the form BigQuery's
// NDJSON loader reads. NULLs are left out.
func appendRow(b []byte, cols []warehouse.Column, row []any) ([]byte, error) {
	if len(row) != len(cols) {
		return b, fmt.Errorf("row has %d values for %d columns", len(row), len(cols))
	}
	b, err := appendObject(b, cols, row)
	if err != nil {
		return b, err
	}
	return append(b, '\n'), nil
}

func appendObject(b []byte, cols []warehouse.Column, vals []any) ([]byte, error) {
	b = append(b, '{')
	first := true
	for i, c := range cols {
		if vals[i] == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, c.Name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, c, vals[i]); err != nil {
			return b, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, c warehouse.Column, v any) ([]byte, error) {
	if c.Repeated {
		items, ok := v.([]any)
		if !ok {
			return b, fmt.Errorf("an ARRAY needs []any, got %T", v)
		}
		el := c
		el.Repeated = false
		b = append(b, '[')
		for i, it := range items {
			if it == nil {
				return b, fmt.Errorf("element %d is NULL; BigQuery arrays cannot hold NULL", i)
			}
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, el, it); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	if c.Type == warehouse.Record {
		switch x := v.(type) {
		case map[string]any:
			vals := make([]any, len(c.Fields))
			for i, f := range c.Fields {
				vals[i] = x[f.Name]
			}
			return appendObject(b, c.Fields, vals)
		case []any:
			if len(x) != len(c.Fields) {
				return b, fmt.Errorf("a RECORD of %d fields got %d values", len(c.Fields), len(x))
			}
			return appendObject(b, c.Fields, x)
		}
		return b, fmt.Errorf("a RECORD needs map[string]any or []any, got %T", v)
	}
	switch c.Type {
	case warehouse.String:
		switch x := v.(type) {
		case string:
			return appendString(b, x), nil
		case []byte:
			return appendString(b, string(x)), nil
		}
		return appendString(b, warehouse.Format(v)), nil
	case warehouse.Int64:
		switch x := v.(type) {
		case int64:
			return appendInt(b, x), nil
		case int:
			return appendInt(b, int64(x)), nil
		case int32:
			return appendInt(b, int64(x)), nil
		case float64:
			if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxInt64 {
				return b, fmt.Errorf("%v is not an integer", x)
			}
			return appendInt(b, int64(x)), nil
		case string:
			if _, err := strconv.ParseInt(x, 10, 64); err != nil {
				return b, fmt.Errorf("%q is not an INT64", x)
			}
			// BigQuery reads INT64 from JSON strings too.
			return appendString(b, x), nil
		}
	case warehouse.Float64:
		switch x := v.(type) {
		case float64:
			return appendFloat(b, x), nil
		case float32:
			return appendFloat(b, float64(x)), nil
		case int64:
			return strconv.AppendInt(b, x, 10), nil
		case int:
			return strconv.AppendInt(b, int64(x), 10), nil
		case string:
			return appendString(b, x), nil
		}
	case warehouse.Numeric:
		switch x := v.(type) {
		case *big.Rat:
			// NUMERIC keeps 9 decimal places; a string keeps them exact.
			return appendString(b, x.FloatString(9)), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return b, fmt.Errorf("NUMERIC cannot hold %v", x)
			}
			return appendString(b, strconv.FormatFloat(x, 'f', -1, 64)), nil
		case int64:
			return appendString(b, strconv.FormatInt(x, 10)), nil
		case int:
			return appendString(b, strconv.Itoa(x)), nil
		case string:
			return appendString(b, x), nil
		}
	case warehouse.Bool:
		switch x := v.(type) {
		case bool:
			return strconv.AppendBool(b, x), nil
		case string:
			return appendString(b, x), nil
		}
	case warehouse.Timestamp:
		switch x := v.(type) {
		case time.Time:
			return appendString(b, x.UTC().Format("2006-01-02 15:04:05.999999")+" UTC"), nil
		case string:
			return appendString(b, x), nil
		}
	case warehouse.Date:
		switch x := v.(type) {
		case time.Time:
			return appendString(b, x.UTC().Format("2006-01-02")), nil
		case string:
			return appendString(b, x), nil
		}
	case warehouse.JSON:
		switch x := v.(type) {
		case string:
			if json.Valid([]byte(x)) {
				return append(b, x...), nil
			}
			return appendString(b, x), nil
		case []byte:
			if json.Valid(x) {
				return append(b, x...), nil
			}
			return b, fmt.Errorf("invalid JSON")
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return b, err
		}
		return append(b, enc...), nil
	case warehouse.Bytes:
		switch x := v.(type) {
		case []byte:
			return appendString(b, base64.StdEncoding.EncodeToString(x)), nil
		case string:
			return appendString(b, base64.StdEncoding.EncodeToString([]byte(x))), nil
		}
	default:
		return b, fmt.Errorf("type %s cannot be loaded", c.Type)
	}
	return b, fmt.Errorf("cannot load a %T into a %s column", v, c.Type)
}

// maxJSONInt is the largest integer a JSON number carries exactly; BigQuery
// asks for larger INT64 values as strings.
const maxJSONInt = 1<<53 - 1

func appendInt(b []byte, x int64) []byte {
	if x > maxJSONInt || x < -maxJSONInt {
		b = append(b, '"')
		b = strconv.AppendInt(b, x, 10)
		return append(b, '"')
	}
	return strconv.AppendInt(b, x, 10)
}

func appendString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // strings always marshal
	return append(b, enc...)
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
