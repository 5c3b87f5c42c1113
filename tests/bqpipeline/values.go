package bqpipeline

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
)

// Schemas travel in three forms: the REST API's field schemas (what the fake
// stores), warehouse columns (what zetasql reads and reports) and the rows'
// values, which the fake stores as JSON-like values (strings for dates and
// times, as NDJSON loads leave them) and zetasql takes as typed Go values.

// apiTypes maps REST type names to warehouse type names.
var apiTypes = map[string]warehouse.Type{
	"STRING": warehouse.String, "BYTES": warehouse.Bytes,
	"INTEGER": warehouse.Int64, "INT64": warehouse.Int64,
	"FLOAT": warehouse.Float64, "FLOAT64": warehouse.Float64,
	"NUMERIC": warehouse.Numeric, "BIGNUMERIC": zetasql.BigNumeric,
	"BOOLEAN": warehouse.Bool, "BOOL": warehouse.Bool,
	"TIMESTAMP": warehouse.Timestamp, "DATE": warehouse.Date,
	"DATETIME": zetasql.Datetime, "TIME": zetasql.Time,
	"JSON": warehouse.JSON, "RECORD": warehouse.Record, "STRUCT": warehouse.Record,
}

// restTypes maps warehouse type names to the names the REST API reports.
var restTypes = map[warehouse.Type]string{
	warehouse.Int64: "INTEGER", warehouse.Float64: "FLOAT", warehouse.Bool: "BOOLEAN",
	warehouse.Record: "RECORD",
}

// columns converts REST field schemas to warehouse columns.
func columns(fields []*bq.TableFieldSchema) ([]warehouse.Column, error) {
	out := make([]warehouse.Column, 0, len(fields))
	for _, f := range fields {
		t, ok := apiTypes[strings.ToUpper(f.Type)]
		if !ok {
			return nil, fmt.Errorf("column %s: unsupported type %s", f.Name, f.Type)
		}
		c := warehouse.Column{Name: f.Name, Type: t, Repeated: f.Mode == "REPEATED", Required: f.Mode == "REQUIRED"}
		if t == warehouse.Record {
			sub, err := columns(f.Fields)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			c.Fields = sub
		}
		out = append(out, c)
	}
	return out, nil
}

// fields converts warehouse columns to REST field schemas.
func fields(cols []warehouse.Column) []*bq.TableFieldSchema {
	out := make([]*bq.TableFieldSchema, 0, len(cols))
	for _, c := range cols {
		t, ok := restTypes[c.Type]
		if !ok {
			t = string(c.Type)
		}
		f := &bq.TableFieldSchema{Name: c.Name, Type: t, Mode: "NULLABLE"}
		switch {
		case c.Repeated:
			f.Mode = "REPEATED"
		case c.Required:
			f.Mode = "REQUIRED"
		}
		if c.Type == warehouse.Record {
			f.Fields = fields(c.Fields)
		}
		out = append(out, f)
	}
	return out
}

// timeLayouts are the ways timestamps reach the fake: NDJSON loads
// ("2024-01-02 03:04:05.123456 UTC"), RFC 3339, and what this package
// stores.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999 UTC",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05 MST",
	time.DateOnly,
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	// Seconds since the epoch, as the REST API encodes TIMESTAMP.
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMicro(int64(f * 1e6)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time", s)
}

// typed converts a stored (or any) value to the typed Go value zetasql
// takes for column c, coercing as BigQuery coerces on assignment.
func typed(c warehouse.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if c.Repeated {
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("column %s: want an array, got %T", c.Name, v)
		}
		el := c
		el.Repeated = false
		out := make([]any, 0, len(items))
		for _, it := range items {
			x, err := typed(el, it)
			if err != nil {
				return nil, err
			}
			if x != nil {
				out = append(out, x)
			}
		}
		return out, nil
	}
	if n, ok := v.(json.Number); ok {
		v = n.String()
	}
	switch c.Type {
	case warehouse.Record:
		var m map[string]any
		switch x := v.(type) {
		case map[string]any:
			m = x
		case []any:
			m = map[string]any{}
			for i, f := range c.Fields {
				if i < len(x) {
					m[f.Name] = x[i]
				}
			}
		default:
			return nil, fmt.Errorf("column %s: want a struct, got %T", c.Name, v)
		}
		out := make(map[string]any, len(c.Fields))
		for _, f := range c.Fields {
			x, err := typed(f, m[f.Name])
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			out[f.Name] = x
		}
		return out, nil
	case warehouse.String:
		switch x := v.(type) {
		case string:
			return x, nil
		case time.Time:
			return x.Format(time.RFC3339Nano), nil
		}
		return fmt.Sprint(v), nil
	case warehouse.JSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	case warehouse.Int64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(x, 64)
				if ferr != nil {
					return nil, fmt.Errorf("column %s: %q is not an INT64", c.Name, x)
				}
				n = int64(f)
			}
			return n, nil
		}
	case warehouse.Float64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, fmt.Errorf("column %s: %q is not a FLOAT64", c.Name, x)
			}
			return f, nil
		}
	case warehouse.Numeric, zetasql.BigNumeric:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64, int, float64:
			return fmt.Sprint(x), nil
		case *big.Rat:
			return x, nil
		}
	case warehouse.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return strconv.ParseBool(strings.ToLower(x))
		}
	case warehouse.Bytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return base64.StdEncoding.DecodeString(x)
		}
	case warehouse.Date, warehouse.Timestamp, zetasql.Datetime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			return parseTime(x)
		}
	case zetasql.Time:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("column %s (%s): cannot use %T value %v", c.Name, c.Type, v, v)
}

// stored converts a typed value of column c to the form the fake stores.
func stored(c warehouse.Column, v any) any {
	if v == nil {
		return nil
	}
	if c.Repeated {
		items, _ := v.([]any)
		el := c
		el.Repeated = false
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = stored(el, it)
		}
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, f := range c.Fields {
			out[f.Name] = stored(f, x[f.Name])
		}
		return out
	case time.Time:
		switch c.Type {
		case warehouse.Date:
			return x.Format(time.DateOnly)
		case zetasql.Datetime:
			return x.Format("2006-01-02T15:04:05.999999")
		}
		return x.UTC().Format("2006-01-02T15:04:05.999999Z")
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case *big.Rat:
		return x.FloatString(9)
	}
	return v
}

// typedRow converts a stored row to typed values in column order.
func typedRow(cols []warehouse.Column, r map[string]any) ([]any, error) {
	out := make([]any, len(cols))
	for i, c := range cols {
		v, err := typed(c, r[c.Name])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// storedRow converts typed values in column order to a stored row.
func storedRow(cols []warehouse.Column, vals []any) map[string]any {
	out := make(map[string]any, len(cols))
	for i, c := range cols {
		out[c.Name] = stored(c, vals[i])
	}
	return out
}

// wire converts a typed value of column c to the form the fake encodes in
// query results: as stored, except that times stay time.Time so that the
// fake encodes them as the REST API does (TIMESTAMP as epoch seconds).
func wire(c warehouse.Column, v any) any {
	switch x := v.(type) {
	case time.Time:
		return x
	case []any:
		el := c
		el.Repeated = false
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = wire(el, it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, f := range c.Fields {
			out[f.Name] = wire(f, x[f.Name])
		}
		return out
	}
	return stored(c, v)
}
