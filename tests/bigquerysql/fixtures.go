package bigquerysql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
)

// Fixture is one model example: the rows of the tables the model reads and
// the rows it must produce. Fixtures are engine-neutral JSON, so the same
// files can drive the DuckDB side:
//
//	{
//	  "model": "stg_fx__rates",
//	  "description": "an inverse rate is derived unless stated",
//	  "inputs": {"raw_fx__rates": [{"rate_date": "2024-01-01", "from_currency": "USD", ...}]},
//	  "where": {"is_inverse": true},
//	  "expected": [{"rate_date": "2024-01-01", "rate": 0.9, ...}],
//	  "data_tests": ["some_invariant"]
//	}
//
// Values are written as JSON: DATE as "YYYY-MM-DD", TIMESTAMP as RFC 3339,
// NUMERIC as a string or number, INT64 as a number or string, arrays as
// arrays, structs as objects; a missing key is NULL. Expected rows compare
// as a multiset (row order is ignored), numbers compare numerically (FLOAT64
// to nine significant digits), and only the columns a fixture's expected rows
// name are compared, and only the result rows matching every column value
// in "where" (optional), so a fixture can focus on what it tests. Tables the
// model reads that a fixture does not list are empty. Models are compiled
// with the checker's variables (reporting_currency EUR, the defaults
// otherwise). data_tests names custom data tests (sql/tests/NAME.sql) that
// must return zero rows when run over the model's result and the inputs.
type Fixture struct {
	File        string                      `json:"-"`
	Model       string                      `json:"model"`
	Description string                      `json:"description"`
	Inputs      map[string][]map[string]any `json:"inputs"`
	Where       map[string]any              `json:"where,omitempty"`
	Expected    []map[string]any            `json:"expected"`
	DataTests   []string                    `json:"data_tests,omitempty"`
}

// Compare checks a model's result against the fixture: the rows matching
// Where against Expected, as CompareRows does.
func (fx Fixture) Compare(columns []warehouse.Column, rows [][]any) (string, error) {
	if len(fx.Where) == 0 {
		return CompareRows(columns, rows, fx.Expected)
	}
	type cond struct {
		i    int
		want string
	}
	var conds []cond
	for name, v := range fx.Where {
		i := slices.IndexFunc(columns, func(c warehouse.Column) bool { return c.Name == name })
		if i < 0 {
			return "", fmt.Errorf("where column %q is not in the result (columns: %s)", name, columnNames(columns))
		}
		want, err := canonical(columns[i], v, true)
		if err != nil {
			return "", fmt.Errorf("where %s: %w", name, err)
		}
		conds = append(conds, cond{i, want})
	}
	var kept [][]any
	for _, r := range rows {
		match := true
		for _, c := range conds {
			got, err := canonical(columns[c.i], r[c.i], false)
			if err != nil {
				return "", err
			}
			if got != c.want {
				match = false
				break
			}
		}
		if match {
			kept = append(kept, r)
		}
	}
	return CompareRows(columns, kept, fx.Expected)
}

// LoadFixtures reads every *.json file in dir of fsys.
func LoadFixtures(fsys fs.FS, dir string) ([]Fixture, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list fixtures: %w", err)
	}
	var out []Fixture
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read fixture: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		var fx Fixture
		if err := dec.Decode(&fx); err != nil {
			return nil, fmt.Errorf("fixture %s: %w", f, err)
		}
		if fx.Model == "" {
			return nil, fmt.Errorf("fixture %s: no model", f)
		}
		fx.File = f
		out = append(out, fx)
	}
	return out, nil
}

// FixtureCatalog returns a copy of cat in which the fixture's input tables
// hold its rows and every other table is empty. Input tables are SAM tables
// (raw, seed or model outputs) named without qualification.
func FixtureCatalog(cat *zetasql.Catalog, fx Fixture) (*zetasql.Catalog, error) {
	out := zetasql.NewCatalog()
	used := map[string]bool{}
	for _, t := range cat.Tables() {
		t.Rows = nil
		if len(t.Path) == 3 && t.Path[0] == Project && t.Path[1] == Dataset {
			if rows, ok := fx.Inputs[t.Path[2]]; ok {
				used[t.Path[2]] = true
				cols := append(append([]warehouse.Column(nil), t.Columns...), t.PseudoColumns...)
				converted, err := FixtureRows(cols, rows)
				if err != nil {
					return nil, fmt.Errorf("fixture %s: input %s: %w", fx.File, t.Path[2], err)
				}
				t.Rows = converted
			}
		}
		if err := out.Add(t); err != nil {
			return nil, err
		}
	}
	for name := range fx.Inputs {
		if !used[name] {
			return nil, fmt.Errorf("fixture %s: input table %s is not in the catalog", fx.File, name)
		}
	}
	return out, nil
}

// FixtureRows converts a fixture's JSON rows into rows positionally matching
// cols, with the Go types warehouse.RowSource uses (DATE and TIMESTAMP as
// time.Time, NUMERIC as decimal text), ready for EvaluateQuery or for
// warehouse.Load on another engine.
func FixtureRows(cols []warehouse.Column, rows []map[string]any) ([][]any, error) {
	out := make([][]any, 0, len(rows))
	for i, r := range rows {
		row, err := jsonRow(cols, r)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out = append(out, row)
	}
	return out, nil
}

// jsonRow converts one JSON object into values positionally matching cols.
func jsonRow(cols []warehouse.Column, obj map[string]any) ([]any, error) {
	for k := range obj {
		if !hasColumn(cols, k) {
			return nil, fmt.Errorf("no column %q", k)
		}
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		v, err := jsonValue(c, obj[c.Name])
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

func hasColumn(cols []warehouse.Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

// jsonValue converts a decoded JSON value (numbers as json.Number) into the
// Go value zetasql expects for column c.
func jsonValue(c warehouse.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if c.Repeated {
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("column %s: want a JSON array", c.Name)
		}
		elem := c
		elem.Repeated = false
		out := make([]any, len(items))
		for i, it := range items {
			x, err := jsonValue(elem, it)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	switch c.Type {
	case warehouse.Record:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("column %s: want a JSON object", c.Name)
		}
		out := map[string]any{}
		for k := range obj {
			if !hasColumn(c.Fields, k) {
				return nil, fmt.Errorf("column %s: no field %q", c.Name, k)
			}
		}
		for _, f := range c.Fields {
			x, err := jsonValue(f, obj[f.Name])
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			out[f.Name] = x
		}
		return out, nil
	case warehouse.Int64:
		n, err := json.Number(fmt.Sprint(v)).Int64()
		if err != nil {
			return nil, fmt.Errorf("column %s: %v is not an INT64", c.Name, v)
		}
		return n, nil
	case warehouse.Float64:
		f, err := json.Number(fmt.Sprint(v)).Float64()
		if err != nil {
			return nil, fmt.Errorf("column %s: %v is not a FLOAT64", c.Name, v)
		}
		return f, nil
	case warehouse.Numeric, zetasql.BigNumeric:
		return fmt.Sprint(v), nil
	case warehouse.JSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	case warehouse.Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("column %s: %v is not a BOOL", c.Name, v)
		}
		return b, nil
	case warehouse.Date, warehouse.Timestamp, warehouse.String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("column %s: want a JSON string for %s", c.Name, c.Type)
		}
		switch c.Type {
		case warehouse.Date:
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			return d, nil
		case warehouse.Timestamp:
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			return ts.UTC(), nil
		}
		return s, nil
	}
	return nil, fmt.Errorf("column %s: fixtures cannot hold %s values", c.Name, c.Type)
}

// CompareRows checks a query result (columns and rows as zetasql.Result or
// warehouse.Rows.Values give them) against expected rows as a multiset,
// comparing only the columns the expected rows name. It returns a readable
// description of the difference, or "" when they match.
func CompareRows(columns []warehouse.Column, rows [][]any, expected []map[string]any) (string, error) {
	res := struct {
		Columns []warehouse.Column
		Rows    [][]any
	}{columns, rows}
	colIndex := map[string]int{}
	for i, c := range res.Columns {
		colIndex[c.Name] = i
	}
	names := map[string]bool{}
	for _, e := range expected {
		for k := range e {
			if _, ok := colIndex[k]; !ok {
				return "", fmt.Errorf("expected column %q is not in the result (columns: %s)", k, columnNames(res.Columns))
			}
			names[k] = true
		}
	}
	var compared []string
	for _, c := range res.Columns {
		if names[c.Name] {
			compared = append(compared, c.Name)
		}
	}
	got := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		obj := map[string]any{}
		for _, n := range compared {
			obj[n] = r[colIndex[n]]
		}
		s, err := canonicalRow(res.Columns, colIndex, compared, obj, false)
		if err != nil {
			return "", err
		}
		got[i] = s
	}
	want := make([]string, len(expected))
	for i, e := range expected {
		s, err := canonicalRow(res.Columns, colIndex, compared, e, true)
		if err != nil {
			return "", fmt.Errorf("expected row %d: %w", i, err)
		}
		want[i] = s
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return "", nil
	}
	return fmt.Sprintf("rows differ (compared columns %s)\n got:\n  %s\nwant:\n  %s",
		strings.Join(compared, ", "), strings.Join(got, "\n  "), strings.Join(want, "\n  ")), nil
}

func columnNames(cols []warehouse.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// canonicalRow renders the compared columns of one row as text in which
// equal values read the same whichever side they come from.
func canonicalRow(cols []warehouse.Column, idx map[string]int, names []string, row map[string]any, fromJSON bool) (string, error) {
	parts := make([]string, len(names))
	for i, n := range names {
		v, err := canonical(cols[idx[n]], row[n], fromJSON)
		if err != nil {
			return "", fmt.Errorf("column %s: %w", n, err)
		}
		parts[i] = n + "=" + v
	}
	return strings.Join(parts, " "), nil
}

func canonical(c warehouse.Column, v any, fromJSON bool) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	if c.Repeated {
		items, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("want an array, got %T", v)
		}
		elem := c
		elem.Repeated = false
		parts := make([]string, len(items))
		for i, it := range items {
			s, err := canonical(elem, it, fromJSON)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	switch c.Type {
	case warehouse.Record:
		obj, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("want an object, got %T", v)
		}
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			s, err := canonical(f, obj[f.Name], fromJSON)
			if err != nil {
				return "", err
			}
			parts[i] = f.Name + ": " + s
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	case warehouse.Date:
		if t, ok := v.(time.Time); ok {
			return t.Format(time.DateOnly), nil
		}
		return fmt.Sprint(v), nil
	case warehouse.Timestamp, zetasql.Datetime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
		if err != nil {
			return "", err
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	case warehouse.Int64, warehouse.Numeric, zetasql.BigNumeric:
		r, ok := new(big.Rat).SetString(fmt.Sprint(v))
		if !ok {
			return "", fmt.Errorf("%v is not a number", v)
		}
		return r.RatString(), nil
	case warehouse.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		default:
			p, err := json.Number(fmt.Sprint(v)).Float64()
			if err != nil {
				return "", fmt.Errorf("%v is not a number", v)
			}
			f = p
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f), nil
		}
		return fmt.Sprintf("%.9g", f), nil
	case warehouse.String, warehouse.JSON:
		return fmt.Sprintf("%q", v), nil
	}
	return fmt.Sprintf("%v", v), nil
}
