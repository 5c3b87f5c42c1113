package transform

// This file holds every template helper a model may call — the only place
// where SQL differs between BigQuery and DuckDB. Model bodies are GoogleSQL;
// DuckDB gets the BigQuery functions it lacks as macros installed by its
// engine, so a helper exists only where a macro cannot hide the difference
// (keywords as arguments, correlated UNNEST, graph edges, run state).
//
//	{{ ref "model" }}                 qualified name of a model or seed_NAME table; an edge of the graph
//	{{ source "ga4" "events" }}       qualified name of the raw table raw_ga4__events; an external node
//	{{ event_param "key" "kind" }}    a GA4 event_params value; kind: string, int, float, double,
//	                                  number (int, then float, then double, as FLOAT64), text (any, as STRING)
//	{{ user_property "key" "kind" }}  the same over user_properties
//	{{ days_between "a" "b" }}        fractional days from TIMESTAMP b to TIMESTAMP a (FLOAT64)
//	{{ date_diff_days "a" "b" }}      whole days from DATE b to DATE a (INT64)
//	{{ date_trunc "expr" "MONTH" }}   a DATE truncated to DAY, WEEK (Monday), ISOWEEK, MONTH, QUARTER or YEAR
//	{{ safe_cast "expr" "INT64" }}    NULL instead of an error when the cast fails
//	{{ sha256_hex "expr" }}           lower-case hex SHA-256 of a STRING
//	{{ fingerprint "expr" }}          lower-case hex MD5 of a STRING: a stable hash on both engines
//	{{ var "name" }}                  a configuration value as a SQL literal
//	{{ is_incremental }}              true when an incremental model appends to its existing table
//	{{ incremental_filter "col" }}    col >= DATE 'newest built partition − lookback_days', or TRUE on a full build

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// parseFuncs names the helpers for parsing a template without rendering it.
func parseFuncs() map[string]any { return renderEnv{}.funcs() }

// renderEnv is what one rendering of a template depends on.
type renderEnv struct {
	dialect warehouse.Dialect
	qualify func(table string) string
	vars    Vars
	// since is the first partition an incremental run rebuilds; zero means
	// a full build.
	since time.Time
	// refs and sources, when set, restrict what ref and source accept, so a
	// render cannot reach a table the graph does not know about.
	known map[string]bool
}

// funcs returns the helper implementations for env.
func (env renderEnv) funcs() map[string]any {
	d := env.dialect
	return map[string]any{
		"ref": func(name string) (string, error) {
			if env.known != nil && !env.known[name] {
				return "", fmt.Errorf("unknown ref %q", name)
			}
			return env.qualify(name), nil
		},
		"source": func(src, name string) string { return env.qualify(rawTable(src, name)) },
		"event_param": func(key, kind string) (string, error) {
			return unnestParam(d, "event_params", key, kind)
		},
		"user_property": func(key, kind string) (string, error) {
			return unnestParam(d, "user_properties", key, kind)
		},
		"days_between": func(later, earlier string) string {
			if d == warehouse.BigQuery {
				return fmt.Sprintf("(TIMESTAMP_DIFF(%s, %s, MICROSECOND) / 86400000000.0)", later, earlier)
			}
			return fmt.Sprintf("(date_diff('microsecond', CAST(%s AS TIMESTAMP), CAST(%s AS TIMESTAMP)) / 86400000000.0)", earlier, later)
		},
		"date_diff_days": func(later, earlier string) string {
			if d == warehouse.BigQuery {
				return fmt.Sprintf("DATE_DIFF(%s, %s, DAY)", later, earlier)
			}
			return fmt.Sprintf("date_diff('day', CAST(%s AS DATE), CAST(%s AS DATE))", earlier, later)
		},
		"date_trunc": func(expr, part string) (string, error) {
			part = strings.ToUpper(part)
			duck, ok := truncParts[part]
			if !ok {
				return "", fmt.Errorf("date_trunc: unsupported part %q (want DAY, WEEK, ISOWEEK, MONTH, QUARTER or YEAR)", part)
			}
			if d == warehouse.BigQuery {
				if part == "WEEK" {
					part = "WEEK(MONDAY)"
				}
				return fmt.Sprintf("DATE_TRUNC(%s, %s)", expr, part), nil
			}
			return fmt.Sprintf("CAST(date_trunc('%s', CAST(%s AS DATE)) AS DATE)", duck, expr), nil
		},
		"safe_cast": func(expr, typ string) (string, error) {
			typ = strings.ToUpper(strings.TrimSpace(typ))
			duck, ok := castTypes[typ]
			if !ok {
				return "", fmt.Errorf("safe_cast: unsupported type %q", typ)
			}
			if d == warehouse.BigQuery {
				return fmt.Sprintf("SAFE_CAST(%s AS %s)", expr, typ), nil
			}
			return fmt.Sprintf("TRY_CAST(%s AS %s)", expr, duck), nil
		},
		"sha256_hex": func(expr string) string {
			if d == warehouse.BigQuery {
				return fmt.Sprintf("TO_HEX(SHA256(%s))", expr)
			}
			return fmt.Sprintf("sha256(%s)", expr)
		},
		"fingerprint": func(expr string) string {
			if d == warehouse.BigQuery {
				return fmt.Sprintf("TO_HEX(MD5(%s))", expr)
			}
			return fmt.Sprintf("md5(%s)", expr)
		},
		"var": func(name string) (string, error) {
			v, ok := env.vars[name]
			if !ok {
				return "", fmt.Errorf("var %q is not set", name)
			}
			return sqlLiteral(d, v)
		},
		"is_incremental": func() bool { return !env.since.IsZero() },
		"incremental_filter": func(col string) (string, error) {
			if !warehouse.ValidIdentifier(strings.ReplaceAll(col, ".", "_")) {
				return "", fmt.Errorf("incremental_filter: %q is not a column name", col)
			}
			if env.since.IsZero() {
				return "TRUE", nil
			}
			return fmt.Sprintf("%s >= %s", col, dateLiteral(env.since)), nil
		},
	}
}

var truncParts = map[string]string{
	"DAY": "day", "WEEK": "week", "ISOWEEK": "week", "MONTH": "month", "QUARTER": "quarter", "YEAR": "year",
}

// castTypes maps BigQuery type names to DuckDB's.
var castTypes = map[string]string{
	"STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "NUMERIC": "DECIMAL(38,9)",
	"BIGNUMERIC": "DECIMAL(38,9)", "BOOL": "BOOLEAN", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP",
	"DATETIME": "TIMESTAMP", "BYTES": "BLOB", "JSON": "JSON",
}

// paramFields maps an event_param kind to the value struct's field.
var paramFields = map[string]string{
	"string": "string_value", "int": "int_value", "float": "float_value", "double": "double_value",
}

func unnestParam(d warehouse.Dialect, array, key, kind string) (string, error) {
	lit := warehouse.StringLiteral(d, key)
	var value string // how to read the matching element's value struct
	if d == warehouse.BigQuery {
		value = "value"
	} else {
		// DuckDB cannot correlate UNNEST in a scalar subquery; filtering the
		// list and taking its first element reads the same value.
		value = fmt.Sprintf("list_filter(%s, p -> p.key = %s)[1].value", array, lit)
	}
	field := func(f string) string { return value + "." + f }
	var expr string
	str, f64 := "STRING", "FLOAT64"
	if d == warehouse.DuckDB {
		str, f64 = "VARCHAR", "DOUBLE"
	}
	switch kind {
	case "string", "int", "float", "double":
		expr = field(paramFields[kind])
	case "number":
		expr = fmt.Sprintf("COALESCE(CAST(%s AS %s), CAST(%s AS %s), CAST(%s AS %s))",
			field("int_value"), f64, field("float_value"), f64, field("double_value"), f64)
	case "text":
		expr = fmt.Sprintf("COALESCE(%s, CAST(%s AS %s), CAST(%s AS %s), CAST(%s AS %s))",
			field("string_value"), field("int_value"), str, field("float_value"), str, field("double_value"), str)
	default:
		return "", fmt.Errorf("%s: unknown kind %q (want string, int, float, double, number or text)", array, kind)
	}
	if d == warehouse.BigQuery {
		return fmt.Sprintf("(SELECT %s FROM UNNEST(%s) WHERE key = %s)", expr, array, lit), nil
	}
	return "(" + expr + ")", nil
}

// sqlLiteral renders a Go value as a SQL literal.
func sqlLiteral(d warehouse.Dialect, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return warehouse.StringLiteral(d, x), nil
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("%v has no SQL literal", x)
		}
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0" // keep FLOAT64 typing on both engines
		}
		return s, nil
	case time.Time:
		return dateLiteral(x), nil
	}
	return "", fmt.Errorf("value of type %T has no SQL literal", v)
}

func dateLiteral(t time.Time) string { return "DATE '" + t.UTC().Format(time.DateOnly) + "'" }
