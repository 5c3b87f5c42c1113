package warehouse

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// ConvertAssign stores the engine-neutral value src into dest, the way
// database/sql does for Scan. Engines share it so that Scan behaves the same
// whatever the engine.
func ConvertAssign(dest, src any) error {
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(normalizeForScanner(src))
	}
	switch d := dest.(type) {
	case *any:
		*d = src
		return nil
	case *string:
		if src == nil {
			return fmt.Errorf("cannot scan NULL into *string")
		}
		*d = Format(src)
		return nil
	case *int64:
		v, err := toInt64(src)
		if err != nil {
			return err
		}
		*d = v
		return nil
	case *int:
		v, err := toInt64(src)
		if err != nil {
			return err
		}
		*d = int(v)
		return nil
	case *float64:
		v, err := toFloat64(src)
		if err != nil {
			return err
		}
		*d = v
		return nil
	case *bool:
		b, ok := src.(bool)
		if !ok {
			return fmt.Errorf("cannot scan %T into *bool", src)
		}
		*d = b
		return nil
	case *time.Time:
		t, ok := src.(time.Time)
		if !ok {
			return fmt.Errorf("cannot scan %T into *time.Time", src)
		}
		*d = t
		return nil
	case *[]byte:
		switch v := src.(type) {
		case []byte:
			*d = append([]byte(nil), v...)
		case string:
			*d = []byte(v)
		case nil:
			*d = nil
		default:
			return fmt.Errorf("cannot scan %T into *[]byte", src)
		}
		return nil
	}
	return fmt.Errorf("unsupported scan destination %T", dest)
}

func normalizeForScanner(src any) any {
	switch v := src.(type) {
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	case []any, map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return src
}

func toInt64(src any) (int64, error) {
	switch v := src.(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case uint64:
		return int64(v), nil
	case float64:
		return int64(v), nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	case *big.Rat:
		f, _ := v.Float64()
		return int64(f), nil
	case nil:
		return 0, fmt.Errorf("cannot scan NULL into an integer")
	}
	return 0, fmt.Errorf("cannot scan %T into an integer", src)
}

func toFloat64(src any) (float64, error) {
	switch v := src.(type) {
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case int:
		return float64(v), nil
	case string:
		return strconv.ParseFloat(v, 64)
	case *big.Rat:
		f, _ := v.Float64()
		return f, nil
	case nil:
		return 0, fmt.Errorf("cannot scan NULL into a float")
	}
	return 0, fmt.Errorf("cannot scan %T into a float", src)
}

// Format renders a value for display (CLI tables, CSV): timestamps in RFC
// 3339 UTC, dates as YYYY-MM-DD, NULL as the empty string, arrays and structs
// as JSON.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.UTC().Format("2006-01-02")
		}
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *big.Rat:
		return x.FloatString(9)
	case []any, map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// CollectRows drains rows into memory as engine-neutral values. Use it only
// for results known to be small.
func CollectRows(rows Rows) ([][]any, error) {
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
