package bigquery

import (
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Dialect is BigQuery's GoogleSQL dialect. The zero value is ready to use
// and needs no client.
type Dialect struct{}

var _ warehouse.Dialect = Dialect{}

// Name implements warehouse.Dialect.
func (Dialect) Name() string { return "bigquery" }

// Features implements warehouse.Dialect. BigQuery transactions cannot hold
// DDL, queries are billed by bytes scanned, and any dataset the caller may
// read is reachable by name.
func (Dialect) Features() warehouse.Features {
	return warehouse.Features{BilledScans: true, BigQueryTables: true}
}

// QuoteIdent implements warehouse.Dialect.
func (Dialect) QuoteIdent(name string) string { return "`" + name + "`" }

// QualifiedName implements warehouse.Dialect: `project.dataset.table`.
func (Dialect) QualifiedName(project, dataset, table string) string {
	return "`" + project + "." + dataset + "." + table + "`"
}

// StringLiteral implements warehouse.Dialect: GoogleSQL escapes with
// backslashes.
func (Dialect) StringLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// DateLiteral implements warehouse.Dialect.
func (Dialect) DateLiteral(t time.Time) string {
	return "DATE '" + t.UTC().Format(time.DateOnly) + "'"
}

// TimestampLiteral implements warehouse.Dialect.
func (Dialect) TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// ArrayLookup implements warehouse.Dialect with a correlated UNNEST.
func (d Dialect) ArrayLookup(array, key string, read func(value string) string) string {
	return fmt.Sprintf("(SELECT %s FROM UNNEST(%s) WHERE key = %s)", read("value"), array, d.StringLiteral(key))
}

// FirstRowBy implements warehouse.Dialect: the STRUCT keeps NULL values
// from being dropped by IGNORE NULLS, which drops only the rows where
// condition does not hold.
func (d Dialect) FirstRowBy(condition, order string, fields ...string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f + " AS " + d.QuoteIdent(f)
	}
	return fmt.Sprintf("ARRAY_AGG(IF(%s, STRUCT(%s), NULL) IGNORE NULLS ORDER BY %s LIMIT 1)[SAFE_OFFSET(0)]", condition, strings.Join(parts, ", "), order)
}

// TimeHexOrder implements warehouse.Dialect: the two columns (BigQuery
// bills bytes read, not the memory of aggregate states).
func (Dialect) TimeHexOrder(ts, hex string) string { return ts + ", " + hex }

// RepeatedKeys implements warehouse.Dialect with one GROUP BY: a second
// pass would add to the bytes billed.
func (d Dialect) RepeatedKeys(table string, cols []string, where string) string {
	list := warehouse.QuoteList(d, cols)
	if where != "" {
		where = " WHERE " + where
	}
	return fmt.Sprintf("SELECT %[2]s, COUNT(*) AS n_rows FROM %[1]s%[3]s GROUP BY %[2]s HAVING COUNT(*) > 1", table, list, where)
}

// DeleteCopies implements warehouse.Dialect: none. BigQuery bills the
// bytes a statement reads, which a second statement over the filled table
// would add; the window in the fill costs nothing more.
func (Dialect) DeleteCopies(string, []string, string) string { return "" }

// DaysBetween implements warehouse.Dialect.
func (Dialect) DaysBetween(later, earlier string) string {
	return fmt.Sprintf("(TIMESTAMP_DIFF(%s, %s, MICROSECOND) / 86400000000.0)", later, earlier)
}

// DateDiffDays implements warehouse.Dialect.
func (Dialect) DateDiffDays(later, earlier string) string {
	return fmt.Sprintf("DATE_DIFF(%s, %s, DAY)", later, earlier)
}

// truncParts maps the date parts SAM accepts to GoogleSQL's; weeks start on
// Monday.
var truncParts = map[string]string{
	"DAY": "DAY", "WEEK": "WEEK(MONDAY)", "ISOWEEK": "ISOWEEK", "MONTH": "MONTH", "QUARTER": "QUARTER", "YEAR": "YEAR",
}

// DateTrunc implements warehouse.Dialect.
func (Dialect) DateTrunc(expr, part string) (string, error) {
	p, ok := truncParts[part]
	if !ok {
		return "", fmt.Errorf("date_trunc: unsupported part %q (want DAY, WEEK, ISOWEEK, MONTH, QUARTER or YEAR)", part)
	}
	return fmt.Sprintf("DATE_TRUNC(%s, %s)", expr, p), nil
}

// castTypes are the type names SAM's models may cast to.
var castTypes = map[string]bool{
	"STRING": true, "INT64": true, "FLOAT64": true, "NUMERIC": true, "BIGNUMERIC": true, "BOOL": true,
	"DATE": true, "TIMESTAMP": true, "DATETIME": true, "BYTES": true, "JSON": true,
}

// CastType implements warehouse.Dialect.
func (Dialect) CastType(typ string) (string, error) {
	if !castTypes[typ] {
		return "", fmt.Errorf("unsupported type %q", typ)
	}
	return typ, nil
}

// SafeCast implements warehouse.Dialect.
func (d Dialect) SafeCast(expr, typ string) (string, error) {
	t, err := d.CastType(typ)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SAFE_CAST(%s AS %s)", expr, t), nil
}

// SHA256Hex implements warehouse.Dialect.
func (Dialect) SHA256Hex(expr string) string { return fmt.Sprintf("TO_HEX(SHA256(%s))", expr) }

// MD5Hex implements warehouse.Dialect.
func (Dialect) MD5Hex(expr string) string { return fmt.Sprintf("TO_HEX(MD5(%s))", expr) }

// Transaction implements warehouse.Dialect: a multi-statement transaction
// (DML only; BigQuery transactions cannot hold DDL).
func (Dialect) Transaction(stmts ...string) string {
	return "BEGIN TRANSACTION; " + strings.Join(stmts, ";\n") + ";\nCOMMIT TRANSACTION"
}

// ScratchTableOptions implements warehouse.Dialect: a crashed run's
// leftover expires on its own.
func (Dialect) ScratchTableOptions() string {
	return " OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY))"
}

// PartitionClause implements warehouse.Dialect.
func (Dialect) PartitionClause(partitionBy string, clusterBy []string) string {
	var s string
	if partitionBy != "" {
		s += " PARTITION BY " + partitionBy
	}
	if len(clusterBy) > 0 {
		s += " CLUSTER BY " + strings.Join(clusterBy, ", ")
	}
	return s
}

// TableFingerprint implements warehouse.Dialect: an order-independent hash
// of every row.
func (Dialect) TableFingerprint(qualified string) string {
	return fmt.Sprintf("SELECT CONCAT(CAST(COUNT(*) AS STRING), ':', CAST(IFNULL(BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(t))), 0) AS STRING)) FROM %s AS t", qualified)
}

// PartitionIDsQuery implements warehouse.Dialect from
// INFORMATION_SCHEMA.PARTITIONS, which is metadata and not billed as a scan.
func (d Dialect) PartitionIDsQuery(qualified string) string {
	q := strings.Trim(qualified, "`")
	i := strings.LastIndex(q, ".")
	if i <= 0 {
		return ""
	}
	return "SELECT partition_id FROM `" + q[:i] + "`.INFORMATION_SCHEMA.PARTITIONS" +
		" WHERE table_name = " + d.StringLiteral(q[i+1:]) + " AND total_rows > 0"
}

// ColumnType implements warehouse.Dialect.
func (Dialect) ColumnType(c warehouse.Column) (string, error) { return columnType(c) }

func columnType(c warehouse.Column) (string, error) {
	bt, ok := bqTypes[c.Type]
	if !ok {
		return "", fmt.Errorf("column %s: no BigQuery type for %s", c.Name, c.Type)
	}
	t := bt.sql
	if c.Type == warehouse.Record {
		if len(c.Fields) == 0 {
			return "", fmt.Errorf("column %s: a RECORD needs fields", c.Name)
		}
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			if err := warehouse.CheckIdentifier("field", f.Name); err != nil {
				return "", fmt.Errorf("column %s: %w", c.Name, err)
			}
			ft, err := columnType(f)
			if err != nil {
				return "", err
			}
			parts[i] = f.Name + " " + ft
		}
		t += "<" + strings.Join(parts, ", ") + ">"
	}
	if c.Repeated {
		t = "ARRAY<" + t + ">"
	}
	return t, nil
}

// CreateTable implements warehouse.Dialect.
func (d Dialect) CreateTable(qualified string, s warehouse.Schema) (string, error) {
	if len(s.Columns) == 0 {
		return "", fmt.Errorf("table %s: schema has no columns", qualified)
	}
	defs := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
			return "", fmt.Errorf("table %s: %w", qualified, err)
		}
		t, err := columnType(c)
		if err != nil {
			return "", fmt.Errorf("table %s: %w", qualified, err)
		}
		if c.Required && !c.Repeated {
			t += " NOT NULL"
		}
		defs[i] = "  " + c.Name + " " + t
	}
	return "CREATE TABLE IF NOT EXISTS " + qualified + " (\n" + strings.Join(defs, ",\n") + "\n)" +
		d.PartitionClause(s.PartitionColumn, s.ClusterBy), nil
}

// AddColumn implements warehouse.Dialect.
func (Dialect) AddColumn(qualified string, c warehouse.Column) (string, error) {
	if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
		return "", err
	}
	t, err := columnType(c)
	if err != nil {
		return "", err
	}
	return "ALTER TABLE " + qualified + " ADD COLUMN IF NOT EXISTS " + c.Name + " " + t, nil
}
