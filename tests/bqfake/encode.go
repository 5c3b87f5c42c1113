package bqfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// Schema builds a table schema from fields.
func Schema(fields ...*bq.TableFieldSchema) *bq.TableSchema {
	return &bq.TableSchema{Fields: fields}
}

// Field builds a NULLABLE field of a BigQuery type (STRING, INTEGER,
// FLOAT, NUMERIC, BOOLEAN, TIMESTAMP, DATE, DATETIME, BYTES, JSON, RECORD).
func Field(name, typ string, sub ...*bq.TableFieldSchema) *bq.TableFieldSchema {
	return &bq.TableFieldSchema{Name: name, Type: typ, Mode: "NULLABLE", Fields: sub}
}

// Repeated builds a REPEATED field.
func Repeated(name, typ string, sub ...*bq.TableFieldSchema) *bq.TableFieldSchema {
	f := Field(name, typ, sub...)
	f.Mode = "REPEATED"
	return f
}

// encodeRow renders a row in the REST API's f/v form.
func encodeRow(fields []*bq.TableFieldSchema, row []any, int64ts bool) (*bq.TableRow, error) {
	if len(row) != len(fields) {
		return nil, fmt.Errorf("row has %d values, schema %d fields", len(row), len(fields))
	}
	tr := &bq.TableRow{}
	for i, f := range fields {
		v, err := encodeField(f, row[i], int64ts)
		if err != nil {
			return nil, err
		}
		tr.F = append(tr.F, &bq.TableCell{V: v})
	}
	return tr, nil
}

func encodeField(f *bq.TableFieldSchema, v any, int64ts bool) (any, error) {
	if v == nil {
		if f.Mode == "REPEATED" {
			return []any{}, nil
		}
		return nil, nil
	}
	if f.Mode == "REPEATED" {
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("field %s: REPEATED value must be []any, got %T", f.Name, v)
		}
		el := *f
		el.Mode = "NULLABLE"
		out := make([]any, len(items))
		for i, it := range items {
			e, err := encodeField(&el, it, int64ts)
			if err != nil {
				return nil, err
			}
			out[i] = &bq.TableCell{V: e}
		}
		return out, nil
	}
	if f.Type == "RECORD" || f.Type == "STRUCT" {
		var vals []any
		switch x := v.(type) {
		case []any:
			vals = x
		case map[string]any:
			for _, sf := range f.Fields {
				vals = append(vals, x[sf.Name])
			}
		default:
			return nil, fmt.Errorf("field %s: RECORD value must be []any or map[string]any, got %T", f.Name, v)
		}
		return encodeRow(f.Fields, vals, int64ts)
	}
	return encodeScalar(f, v, int64ts)
}

func encodeScalar(f *bq.TableFieldSchema, v any, int64ts bool) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case *big.Rat:
		return x.FloatString(9), nil
	case time.Time:
		x = x.UTC()
		switch f.Type {
		case "DATE":
			return x.Format("2006-01-02"), nil
		case "DATETIME":
			return x.Format("2006-01-02T15:04:05.999999"), nil
		case "TIMESTAMP":
			if int64ts {
				return strconv.FormatInt(x.UnixMicro(), 10), nil
			}
			return strconv.FormatFloat(float64(x.UnixMicro())/1e6, 'E', -1, 64), nil
		}
		return x.Format(time.RFC3339Nano), nil
	case fmt.Stringer: // civil.Date, civil.DateTime, civil.Time
		return x.String(), nil
	}
	return nil, fmt.Errorf("field %s: cannot encode %T", f.Name, v)
}
