package duckdb

import (
	"fmt"
	"strings"

	"github.com/sam-attribution/sam/warehouse"
)

// quoteIdent quotes a DuckDB identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteString renders s as a DuckDB string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// decimalType is how BigQuery NUMERIC is stored: BigQuery's precision and
// scale. (DuckDB's own NUMERIC alias is DECIMAL(18,3) and cannot be
// redefined.)
const decimalType = "DECIMAL(38,9)"

// columnDDL renders the DuckDB type of a warehouse column.
func columnDDL(c warehouse.Column) (string, error) {
	var base string
	switch c.Type {
	case warehouse.String:
		base = "VARCHAR"
	case warehouse.Int64:
		base = "BIGINT"
	case warehouse.Float64:
		base = "DOUBLE"
	case warehouse.Numeric:
		base = decimalType
	case warehouse.Bool:
		base = "BOOLEAN"
	case warehouse.Timestamp:
		base = "TIMESTAMP"
	case warehouse.Date:
		base = "DATE"
	case warehouse.JSON:
		base = "JSON"
	case warehouse.Bytes:
		base = "BLOB"
	case warehouse.Record:
		if len(c.Fields) == 0 {
			return "", fmt.Errorf("column %q: RECORD without fields", c.Name)
		}
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			if err := warehouse.CheckIdentifier("field", f.Name); err != nil {
				return "", fmt.Errorf("column %q: %w", c.Name, err)
			}
			t, err := columnDDL(f)
			if err != nil {
				return "", fmt.Errorf("column %q: %w", c.Name, err)
			}
			parts[i] = quoteIdent(f.Name) + " " + t
		}
		base = "STRUCT(" + strings.Join(parts, ", ") + ")"
	default:
		return "", fmt.Errorf("column %q: unsupported type %q", c.Name, c.Type)
	}
	if c.Repeated {
		base += "[]"
	}
	return base, nil
}

// createTableDDL renders CREATE TABLE for schema; prefix is "CREATE TABLE",
// "CREATE TABLE IF NOT EXISTS" or "CREATE OR REPLACE TABLE", and name is
// quoted already.
func createTableDDL(prefix, name string, s warehouse.Schema) (string, error) {
	if len(s.Columns) == 0 {
		return "", fmt.Errorf("table %s: schema has no columns", name)
	}
	var b strings.Builder
	b.WriteString(prefix + " " + name + " (")
	for i, c := range s.Columns {
		if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
			return "", fmt.Errorf("table %s: %w", name, err)
		}
		t, err := columnDDL(c)
		if err != nil {
			return "", fmt.Errorf("table %s: %w", name, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name) + " " + t)
		if c.Required {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	return b.String(), nil
}

// dtype is a parsed DuckDB type, as DuckDB prints it (information_schema,
// result column types).
type dtype struct {
	name   string  // upper-case base name: BIGINT, STRUCT, LIST, MAP, ...
	args   string  // type arguments without spaces, e.g. "(38,9)" for DECIMAL
	fields []field // STRUCT, UNION
	elem   *dtype  // LIST and fixed-size ARRAY
	key    *dtype  // MAP
	val    *dtype  // MAP
}

type field struct {
	name string
	typ  *dtype
}

// parseType parses a DuckDB type string such as
// `STRUCT("key" VARCHAR, "value" STRUCT(int_value BIGINT))[]`.
func parseType(s string) (*dtype, error) {
	p := &typeParser{s: s}
	t, err := p.typ()
	if err != nil {
		return nil, fmt.Errorf("parse type %q: %w", s, err)
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("parse type %q: unexpected %q", s, p.s[p.i:])
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// ident reads a bare or double-quoted identifier.
func (p *typeParser) ident() (string, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		p.i++
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			if c == '"' {
				if p.i < len(p.s) && p.s[p.i] == '"' {
					b.WriteByte('"')
					p.i++
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(c)
		}
		return "", fmt.Errorf("unterminated quoted name")
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '(' || c == ')' || c == ',' || c == '[' || c == ']' || c == ' ' {
			break
		}
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("expected a name at offset %d", start)
	}
	return p.s[start:p.i], nil
}

// skipArgs skips a parenthesised argument list such as (38,9) or an ENUM's
// values.
func (p *typeParser) skipArgs() error {
	depth := 0
	inQuote := byte(0)
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"':
			inQuote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("unbalanced parentheses")
}

func (p *typeParser) typ() (*dtype, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	name = strings.ToUpper(name)
	// Multi-word names: TIMESTAMP WITH TIME ZONE, TIME WITH TIME ZONE,
	// DOUBLE PRECISION.
	for _, suffix := range []string{" WITH TIME ZONE", " PRECISION"} {
		if strings.HasPrefix(strings.ToUpper(p.s[p.i:]), suffix) {
			name += suffix
			p.i += len(suffix)
		}
	}
	t := &dtype{name: name}
	if p.peek() == '(' {
		switch name {
		case "STRUCT", "UNION":
			p.i++
			for {
				fname, err := p.ident()
				if err != nil {
					return nil, err
				}
				ft, err := p.typ()
				if err != nil {
					return nil, err
				}
				t.fields = append(t.fields, field{name: fname, typ: ft})
				switch p.peek() {
				case ',':
					p.i++
					continue
				case ')':
					p.i++
				default:
					return nil, fmt.Errorf("expected , or ) at offset %d", p.i)
				}
				break
			}
		case "MAP":
			p.i++
			if t.key, err = p.typ(); err != nil {
				return nil, err
			}
			if p.peek() != ',' {
				return nil, fmt.Errorf("expected , in MAP at offset %d", p.i)
			}
			p.i++
			if t.val, err = p.typ(); err != nil {
				return nil, err
			}
			if p.peek() != ')' {
				return nil, fmt.Errorf("expected ) in MAP at offset %d", p.i)
			}
			p.i++
		default: // DECIMAL(p,s), ENUM('a','b'), VARCHAR(n)
			start := p.i
			if err := p.skipArgs(); err != nil {
				return nil, err
			}
			t.args = strings.ReplaceAll(p.s[start:p.i], " ", "")
		}
	}
	for p.peek() == '[' {
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			return nil, fmt.Errorf("unterminated [ at offset %d", p.i)
		}
		p.i += end + 1
		t = &dtype{name: "LIST", elem: t}
	}
	return t, nil
}

// column maps a DuckDB type to a warehouse column.
func (t *dtype) column(name string) warehouse.Column {
	c := warehouse.Column{Name: name}
	switch t.name {
	case "LIST":
		inner := t.elem.column(name)
		if inner.Repeated {
			// BigQuery has no arrays of arrays; the closest is JSON.
			return warehouse.Column{Name: name, Type: warehouse.JSON, Repeated: true}
		}
		inner.Repeated = true
		return inner
	case "MAP":
		c.Type = warehouse.Record
		c.Repeated = true
		c.Fields = []warehouse.Column{t.key.column("key"), t.val.column("value")}
		return c
	case "STRUCT":
		c.Type = warehouse.Record
		for _, f := range t.fields {
			c.Fields = append(c.Fields, f.typ.column(f.name))
		}
		return c
	}
	c.Type = baseType(t.name)
	return c
}

func baseType(name string) warehouse.Type {
	switch name {
	case "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
		"USMALLINT", "UTINYINT", "UHUGEINT", "INT64", "INT", "INT8", "INT4", "INT2", "LONG":
		return warehouse.Int64
	case "DOUBLE", "FLOAT", "REAL", "FLOAT8", "FLOAT4", "DOUBLE PRECISION":
		return warehouse.Float64
	case "DECIMAL", "NUMERIC", "BIGNUM", "VARINT":
		return warehouse.Numeric
	case "BOOLEAN", "BOOL":
		return warehouse.Bool
	case "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP_S", "TIMESTAMP_MS",
		"TIMESTAMP_NS", "TIMESTAMP_US", "DATETIME":
		return warehouse.Timestamp
	case "DATE":
		return warehouse.Date
	case "JSON":
		return warehouse.JSON
	case "BLOB", "BYTEA", "BINARY", "VARBINARY":
		return warehouse.Bytes
	case "UNION":
		return warehouse.JSON
	}
	// VARCHAR, ENUM, UUID, TIME, INTERVAL, BIT and anything new read as text.
	return warehouse.String
}
