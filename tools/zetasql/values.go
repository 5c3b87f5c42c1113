package zetasql

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// valueProto is the JSON form of zetasql.ValueProto (the kinds SAM uses).
// A NULL is a ValueProto with no value set; its type comes from the column.
type valueProto struct {
	Int64Value      *string        `json:"int64_value,omitempty"`
	BoolValue       *bool          `json:"bool_value,omitempty"`
	DoubleValue     *jsonFloat     `json:"double_value,omitempty"`
	StringValue     *string        `json:"string_value,omitempty"`
	BytesValue      *[]byte        `json:"bytes_value,omitempty"`
	DateValue       *int32         `json:"date_value,omitempty"`
	ArrayValue      *arrayValue    `json:"array_value,omitempty"`
	StructValue     *structValue   `json:"struct_value,omitempty"`
	TimestampValue  *time.Time     `json:"timestamp_value,omitempty"`
	DatetimeValue   *datetimeValue `json:"datetime_value,omitempty"`
	TimeValue       *string        `json:"time_value,omitempty"`
	NumericValue    *[]byte        `json:"numeric_value,omitempty"`
	BignumericValue *[]byte        `json:"bignumeric_value,omitempty"`
	JSONValue       *string        `json:"json_value,omitempty"`
}

type arrayValue struct {
	Element []valueProto `json:"element,omitempty"`
}

type structValue struct {
	Field []valueProto `json:"field,omitempty"`
}

type datetimeValue struct {
	BitFieldDatetimeSeconds string `json:"bit_field_datetime_seconds,omitempty"`
	Nanos                   int32  `json:"nanos,omitempty"`
}

// jsonFloat is a double in protojson form: a number, or "NaN", "Infinity",
// "-Infinity".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "Infinity":
			*f = jsonFloat(math.Inf(1))
		case "-Infinity":
			*f = jsonFloat(math.Inf(-1))
		default:
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("double %q: %w", s, err)
			}
			*f = jsonFloat(v)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// numericScale is the number of decimal digits NUMERIC and BIGNUMERIC keep
// after the point; ZetaSQL serializes value×10^scale as a little-endian
// two's-complement integer.
var numericScale = map[warehouse.Type]int{warehouse.Numeric: 9, BigNumeric: 38}

// encodeValue turns a Go value into a ValueProto of column c's type. Accepted
// Go types follow warehouse.Rows.Values: nil, string, int/int64, float64,
// bool, time.Time, []byte, []any (arrays), map[string]any (structs). NUMERIC
// also accepts a decimal string or *big.Rat; DATE accepts "YYYY-MM-DD";
// TIMESTAMP accepts RFC 3339 text.
func encodeValue(c warehouse.Column, v any) (valueProto, error) {
	if v == nil {
		return valueProto{}, nil
	}
	if c.Repeated {
		items, ok := v.([]any)
		if !ok {
			return valueProto{}, fmt.Errorf("column %s: want []any for an ARRAY, got %T", c.Name, v)
		}
		elem := c
		elem.Repeated = false
		av := &arrayValue{Element: []valueProto{}}
		for i, it := range items {
			if it == nil {
				return valueProto{}, fmt.Errorf("column %s[%d]: BigQuery arrays cannot hold NULL", c.Name, i)
			}
			ev, err := encodeValue(elem, it)
			if err != nil {
				return valueProto{}, err
			}
			av.Element = append(av.Element, ev)
		}
		return valueProto{ArrayValue: av}, nil
	}
	t := warehouse.Type(strings.ToUpper(string(c.Type)))
	switch t {
	case warehouse.Record, "STRUCT":
		m, ok := v.(map[string]any)
		if !ok {
			return valueProto{}, fmt.Errorf("column %s: want map[string]any for a STRUCT, got %T", c.Name, v)
		}
		sv := &structValue{Field: []valueProto{}}
		for _, f := range c.Fields {
			fv, err := encodeValue(f, m[f.Name])
			if err != nil {
				return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
			}
			sv.Field = append(sv.Field, fv)
		}
		for k := range m {
			if _, ok := fieldByName(c.Fields, k); !ok {
				return valueProto{}, fmt.Errorf("column %s: struct has no field %q", c.Name, k)
			}
		}
		return valueProto{StructValue: sv}, nil
	case warehouse.String:
		s, ok := v.(string)
		if !ok {
			return valueProto{}, typeErr(c, v)
		}
		return valueProto{StringValue: &s}, nil
	case warehouse.JSON:
		s, ok := v.(string)
		if !ok {
			b, err := json.Marshal(v)
			if err != nil {
				return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
			}
			s = string(b)
		}
		return valueProto{JSONValue: &s}, nil
	case warehouse.Int64, "INTEGER":
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case int:
			n = int64(x)
		case int32:
			n = int64(x)
		default:
			return valueProto{}, typeErr(c, v)
		}
		s := strconv.FormatInt(n, 10)
		return valueProto{Int64Value: &s}, nil
	case warehouse.Float64, "FLOAT":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return valueProto{}, typeErr(c, v)
		}
		jf := jsonFloat(f)
		return valueProto{DoubleValue: &jf}, nil
	case warehouse.Bool, "BOOLEAN":
		b, ok := v.(bool)
		if !ok {
			return valueProto{}, typeErr(c, v)
		}
		return valueProto{BoolValue: &b}, nil
	case warehouse.Bytes:
		b, ok := v.([]byte)
		if !ok {
			return valueProto{}, typeErr(c, v)
		}
		return valueProto{BytesValue: &b}, nil
	case warehouse.Date:
		var d time.Time
		switch x := v.(type) {
		case time.Time:
			d = x
		case string:
			p, err := time.Parse(time.DateOnly, x)
			if err != nil {
				return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
			}
			d = p
		default:
			return valueProto{}, typeErr(c, v)
		}
		// Unix seconds of a UTC midnight divide exactly; time.Duration
		// would overflow for dates ~292 years from 1970.
		y, m, dd := d.Date()
		days := int32(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400)
		return valueProto{DateValue: &days}, nil
	case warehouse.Timestamp:
		var ts time.Time
		switch x := v.(type) {
		case time.Time:
			ts = x.UTC()
		case string:
			p, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
			}
			ts = p.UTC()
		default:
			return valueProto{}, typeErr(c, v)
		}
		return valueProto{TimestampValue: &ts}, nil
	case Datetime:
		ts, ok := v.(time.Time)
		if !ok {
			return valueProto{}, typeErr(c, v)
		}
		return valueProto{DatetimeValue: encodeDatetime(ts)}, nil
	case warehouse.Numeric, BigNumeric:
		r, err := toRat(v)
		if err != nil {
			return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
		}
		b, err := encodeNumeric(r, numericScale[t])
		if err != nil {
			return valueProto{}, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if t == BigNumeric {
			return valueProto{BignumericValue: &b}, nil
		}
		return valueProto{NumericValue: &b}, nil
	}
	return valueProto{}, fmt.Errorf("column %s: values of type %s are not supported", c.Name, c.Type)
}

func typeErr(c warehouse.Column, v any) error {
	return fmt.Errorf("column %s: cannot use %T as %s", c.Name, v, TypeString(c))
}

func fieldByName(fs []warehouse.Column, name string) (warehouse.Column, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return warehouse.Column{}, false
}

func toRat(v any) (*big.Rat, error) {
	switch x := v.(type) {
	case *big.Rat:
		return x, nil
	case string:
		r, ok := new(big.Rat).SetString(x)
		if !ok {
			return nil, fmt.Errorf("%q is not a decimal number", x)
		}
		return r, nil
	case int:
		return new(big.Rat).SetInt64(int64(x)), nil
	case int64:
		return new(big.Rat).SetInt64(x), nil
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil, fmt.Errorf("%v is not a finite number", x)
		}
		return r, nil
	}
	return nil, fmt.Errorf("cannot use %T as a decimal number", v)
}

// encodeNumeric serializes r×10^scale (which must be a whole number) as the
// shortest little-endian two's-complement integer.
func encodeNumeric(r *big.Rat, scale int) ([]byte, error) {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !scaled.IsInt() {
		return nil, fmt.Errorf("%s has more than %d decimal places", r.FloatString(scale+2), scale)
	}
	n := scaled.Num()
	size := n.BitLen()/8 + 1
	u := new(big.Int).Set(n)
	if n.Sign() < 0 {
		u.Add(u, new(big.Int).Lsh(big.NewInt(1), uint(8*size)))
	}
	be := u.FillBytes(make([]byte, size))
	le := make([]byte, size)
	for i, b := range be {
		le[size-1-i] = b
	}
	// Drop redundant sign bytes: the shortest form that keeps the sign.
	for len(le) > 1 {
		last, prev := le[len(le)-1], le[len(le)-2]
		if (last == 0x00 && prev&0x80 == 0) || (last == 0xff && prev&0x80 != 0) {
			le = le[:len(le)-1]
			continue
		}
		break
	}
	return le, nil
}

// decodeNumeric reads a little-endian two's-complement integer and divides
// it by 10^scale, returning the shortest decimal text ("12.5", "-3", "0").
func decodeNumeric(le []byte, scale int) string {
	if len(le) == 0 {
		return "0"
	}
	be := make([]byte, len(le))
	for i, b := range le {
		be[len(le)-1-i] = b
	}
	n := new(big.Int).SetBytes(be)
	if le[len(le)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(le))))
	}
	r := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	s := r.FloatString(scale)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// DATETIME packs its civil fields into one integer:
// year(14 bits) month(4) day(5) hour(5) minute(6) second(6), low bits last.
func encodeDatetime(t time.Time) *datetimeValue {
	bits := int64(t.Year())<<26 | int64(t.Month())<<22 | int64(t.Day())<<17 |
		int64(t.Hour())<<12 | int64(t.Minute())<<6 | int64(t.Second())
	return &datetimeValue{BitFieldDatetimeSeconds: strconv.FormatInt(bits, 10), Nanos: int32(t.Nanosecond())}
}

func decodeDatetime(d *datetimeValue) (time.Time, error) {
	bits, err := strconv.ParseInt(d.BitFieldDatetimeSeconds, 10, 64)
	if err != nil && d.BitFieldDatetimeSeconds != "" {
		return time.Time{}, fmt.Errorf("datetime bits %q: %w", d.BitFieldDatetimeSeconds, err)
	}
	return time.Date(int(bits>>26), time.Month(bits>>22&0xF), int(bits>>17&0x1F),
		int(bits>>12&0x1F), int(bits>>6&0x3F), int(bits&0x3F), int(d.Nanos), time.UTC), nil
}

// decodeValue turns a ValueProto of column c's type into a Go value:
// nil, string, int64, float64, bool, []byte, time.Time (TIMESTAMP in UTC;
// DATE and DATETIME as UTC wall-clock times), NUMERIC and BIGNUMERIC as
// shortest decimal text, JSON as its text, TIME as "15:04:05.999999",
// []any for arrays, map[string]any for structs.
func decodeValue(c warehouse.Column, v valueProto) (any, error) {
	switch {
	case v.ArrayValue != nil:
		elem := c
		elem.Repeated = false
		out := make([]any, 0, len(v.ArrayValue.Element))
		for _, e := range v.ArrayValue.Element {
			x, err := decodeValue(elem, e)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case v.StructValue != nil:
		if len(v.StructValue.Field) != len(c.Fields) {
			return nil, fmt.Errorf("column %s: struct has %d fields, type has %d", c.Name, len(v.StructValue.Field), len(c.Fields))
		}
		m := make(map[string]any, len(c.Fields))
		for i, f := range c.Fields {
			x, err := decodeValue(f, v.StructValue.Field[i])
			if err != nil {
				return nil, err
			}
			m[f.Name] = x
		}
		return m, nil
	case v.Int64Value != nil:
		n, err := strconv.ParseInt(*v.Int64Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		return n, nil
	case v.BoolValue != nil:
		return *v.BoolValue, nil
	case v.DoubleValue != nil:
		return float64(*v.DoubleValue), nil
	case v.StringValue != nil:
		return *v.StringValue, nil
	case v.BytesValue != nil:
		return *v.BytesValue, nil
	case v.DateValue != nil:
		return epoch.AddDate(0, 0, int(*v.DateValue)), nil
	case v.TimestampValue != nil:
		return v.TimestampValue.UTC(), nil
	case v.DatetimeValue != nil:
		return decodeDatetime(v.DatetimeValue)
	case v.TimeValue != nil:
		return decodeTime(*v.TimeValue)
	case v.NumericValue != nil:
		return decodeNumeric(*v.NumericValue, 9), nil
	case v.BignumericValue != nil:
		return decodeNumeric(*v.BignumericValue, 38), nil
	case v.JSONValue != nil:
		return *v.JSONValue, nil
	}
	// No value set: NULL, except for an empty ARRAY or STRUCT, whose JSON
	// form is an empty object and which decode above.
	return nil, nil
}

// TIME packs hour(5) minute(6) second(6) above 30 bits of nanoseconds.
func decodeTime(s string) (string, error) {
	bits, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("time bits %q: %w", s, err)
	}
	nanos := bits & (1<<30 - 1)
	secs := bits >> 30
	t := time.Date(2000, 1, 1, int(secs>>12&0x1F), int(secs>>6&0x3F), int(secs&0x3F), int(nanos), time.UTC)
	return t.Format("15:04:05.999999"), nil
}
