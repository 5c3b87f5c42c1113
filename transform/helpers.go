package transform

// This file names and documents every template helper a model may call;
// where SQL differs between BigQuery and DuckDB a helper delegates to the
// engine's warehouse.Dialect. Model bodies are GoogleSQL; DuckDB gets the
// BigQuery functions it lacks as macros installed by its engine, so a
// helper exists only where a macro cannot hide the difference (keywords as
// arguments, correlated UNNEST, graph edges, run state).
//
//	{{ ref "model" }}                 qualified name of a model or seed_NAME table; an edge of the graph
//	{{ source "ga4" "events" }}       qualified name of the raw table raw_ga4__events; an external node
//	{{ event_param "key" "kind" }}    a GA4 event_params value; kind: string, int, float, double,
//	                                  number (int, then float, then double, as FLOAT64), text (any, as STRING)
//	{{ user_property "key" "kind" }}  the same over user_properties
//	{{ first_row_by "cond" "a, b" "c1" "c2" }}
//	                                  aggregate: a record of columns c1, c2 on the group's first row
//	                                  (ordered by a, b) where cond holds; read as alias.c1
//	{{ time_hex_order "ts" "key" }}   an ORDER list for first_row_by: a TIMESTAMP, then a 32-digit hex
//	                                  fingerprint (one fixed-size number where the engine can)
//	{{ days_between "a" "b" }}        fractional days from TIMESTAMP b to TIMESTAMP a (FLOAT64)
//	{{ date_diff_days "a" "b" }}      whole days from DATE b to DATE a (INT64)
//	{{ date_trunc "expr" "MONTH" }}   a DATE truncated to DAY, WEEK (Monday), ISOWEEK, MONTH, QUARTER or YEAR
//	{{ safe_cast "expr" "INT64" }}    NULL instead of an error when the cast fails
//	{{ sha256_hex "expr" }}           lower-case hex SHA-256 of a STRING
//	{{ fingerprint "expr" }}          lower-case hex MD5 of a STRING: a stable hash on both engines
//	{{ var "name" }}                  a configuration value as a SQL literal
//	{{ var_or "name" default }}       the same, with a default when the var is unset
//	{{ var_value "name" "default" }}  a configuration value as plain text (default when unset), for
//	                                  template logic such as choosing a seed's rows; never pasted as SQL
//	{{ string_literal "text" }}       text as the engine's string literal (quotes and backslashes escaped)
//	{{ is_incremental }}              true when an incremental model builds a window of partitions: an
//	                                  incremental run, or one window of a full build in windows
//	{{ incremental_filter "col" }}    col >= DATE 'newest built partition − lookback_days', or TRUE on a full
//	                                  build; in a window of a full build, col >= DATE 'start' AND col < DATE
//	                                  'end' (either bound left out at the ends of the data)
//	{{ incremental_filter "col" -1 }} the same window widened by whole days on each side (here one), to read
//	                                  input around the window that rows in it depend on

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
	// until, when set, is the partition after the window a full build in
	// windows is building (since may then be zero: the first window).
	until time.Time
	// refs and sources, when set, restrict what ref and source accept, so a
	// render cannot reach a table the graph does not know about.
	known map[string]bool
}

// windowed reports whether env renders a window of partitions rather than
// a whole table.
func (env renderEnv) windowed() bool { return !env.since.IsZero() || !env.until.IsZero() }

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
		// Closures rather than method values: parseFuncs has no dialect.
		"first_row_by": func(condition, order string, fields ...string) (string, error) {
			if len(fields) == 0 {
				return "", fmt.Errorf("first_row_by %q: name at least one column", condition)
			}
			for _, f := range fields {
				if !warehouse.ValidIdentifier(f) {
					return "", fmt.Errorf("first_row_by: %q is not a column name", f)
				}
			}
			return d.FirstRowBy(condition, order, fields...), nil
		},
		"time_hex_order": func(ts, hex string) string { return d.TimeHexOrder(ts, hex) },
		"days_between":   func(later, earlier string) string { return d.DaysBetween(later, earlier) },
		"date_diff_days": func(later, earlier string) string { return d.DateDiffDays(later, earlier) },
		"date_trunc": func(expr, part string) (string, error) {
			return d.DateTrunc(expr, strings.ToUpper(part))
		},
		"safe_cast": func(expr, typ string) (string, error) {
			out, err := d.SafeCast(expr, strings.ToUpper(strings.TrimSpace(typ)))
			if err != nil {
				return "", fmt.Errorf("safe_cast: %w", err)
			}
			return out, nil
		},
		"sha256_hex":  func(expr string) string { return d.SHA256Hex(expr) },
		"fingerprint": func(expr string) string { return d.MD5Hex(expr) },
		"var": func(name string) (string, error) {
			v, ok := env.vars[name]
			if !ok {
				return "", fmt.Errorf("var %q is not set", name)
			}
			return sqlLiteral(d, v)
		},
		// var_or is var with a default, for settings that test projects and
		// older configurations may leave unset.
		"var_or": func(name string, def any) (string, error) {
			v, ok := env.vars[name]
			if !ok {
				v = def
			}
			return sqlLiteral(d, v)
		},
		"var_value": func(name, def string) string {
			v, ok := env.vars[name]
			if !ok || v == nil {
				return def
			}
			return fmt.Sprint(v)
		},
		"string_literal": func(s string) string { return d.StringLiteral(s) },
		"is_incremental": func() bool { return env.windowed() },
		"incremental_filter": func(col string, days ...int) (string, error) {
			if !warehouse.ValidIdentifier(strings.ReplaceAll(col, ".", "_")) {
				return "", fmt.Errorf("incremental_filter: %q is not a column name", col)
			}
			if len(days) > 1 {
				return "", fmt.Errorf("incremental_filter: one day offset at most, got %v", days)
			}
			widen := 0
			if len(days) == 1 {
				if days[0] > 0 {
					return "", fmt.Errorf("incremental_filter: the offset widens the window, so it is negative, got %d", days[0])
				}
				widen = -days[0]
			}
			var bounds []string
			if !env.since.IsZero() {
				bounds = append(bounds, fmt.Sprintf("%s >= %s", col, d.DateLiteral(env.since.AddDate(0, 0, -widen))))
			}
			if !env.until.IsZero() {
				bounds = append(bounds, fmt.Sprintf("%s < %s", col, d.DateLiteral(env.until.AddDate(0, 0, widen))))
			}
			if len(bounds) == 0 {
				return "TRUE", nil
			}
			return strings.Join(bounds, " AND "), nil
		},
	}
}

// paramFields maps an event_param kind to the value struct's field.
var paramFields = map[string]string{
	"string": "string_value", "int": "int_value", "float": "float_value", "double": "double_value",
}

func unnestParam(d warehouse.Dialect, array, key, kind string) (string, error) {
	str, err := d.CastType("STRING")
	if err != nil {
		return "", err
	}
	f64, err := d.CastType("FLOAT64")
	if err != nil {
		return "", err
	}
	var read func(value string) string
	switch kind {
	case "string", "int", "float", "double":
		read = func(v string) string { return v + "." + paramFields[kind] }
	case "number":
		read = func(v string) string {
			return fmt.Sprintf("COALESCE(CAST(%s.int_value AS %s), CAST(%s.float_value AS %s), CAST(%s.double_value AS %s))",
				v, f64, v, f64, v, f64)
		}
	case "text":
		read = func(v string) string {
			return fmt.Sprintf("COALESCE(%s.string_value, CAST(%s.int_value AS %s), CAST(%s.float_value AS %s), CAST(%s.double_value AS %s))",
				v, v, str, v, str, v, str)
		}
	default:
		return "", fmt.Errorf("%s: unknown kind %q (want string, int, float, double, number or text)", array, kind)
	}
	return d.ArrayLookup(array, key, read), nil
}

// sqlLiteral renders a Go value as a SQL literal.
func sqlLiteral(d warehouse.Dialect, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return d.StringLiteral(x), nil
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
		return d.DateLiteral(x), nil
	}
	return "", fmt.Errorf("value of type %T has no SQL literal", v)
}
