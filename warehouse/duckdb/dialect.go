package duckdb

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Dialect is DuckDB's SQL dialect. The zero value is ready to use and
// needs no database.
type Dialect struct{}

var _ warehouse.Dialect = Dialect{}

// Name implements warehouse.Dialect.
func (Dialect) Name() string { return "duckdb" }

// Features implements warehouse.Dialect.
func (Dialect) Features() warehouse.Features {
	return warehouse.Features{TransactionalDDL: true, LocalFiles: true, CheapAppends: true, InProcess: true, OneProcess: true}
}

// QuoteIdent implements warehouse.Dialect.
func (Dialect) QuoteIdent(name string) string { return quoteIdent(name) }

// QualifiedName implements warehouse.Dialect: tables live in the main
// schema, so the quoted bare name is fully qualified.
func (Dialect) QualifiedName(_, _, table string) string { return quoteIdent(table) }

// StringLiteral implements warehouse.Dialect: DuckDB doubles the quote and
// takes backslashes literally.
func (Dialect) StringLiteral(s string) string { return quoteString(s) }

// DateLiteral implements warehouse.Dialect.
func (Dialect) DateLiteral(t time.Time) string {
	return "DATE '" + t.UTC().Format(time.DateOnly) + "'"
}

// TimestampLiteral implements warehouse.Dialect.
func (Dialect) TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// ArrayLookup implements warehouse.Dialect. DuckDB cannot correlate UNNEST
// in a scalar subquery; it indexes the list at the first position of key in
// the list of its keys instead. DuckDB computes that key list once per row
// however many lookups share it, so a model reading twenty parameters pays
// for one lambda rather than twenty list_filter scans (about 2.5 times
// faster on GA4 rows).
func (d Dialect) ArrayLookup(array, key string, read func(value string) string) string {
	value := fmt.Sprintf("%s[list_position(list_transform(%s, p -> p.key), %s)].value", array, array, d.StringLiteral(key))
	return "(" + read(value) + ")"
}

// FirstRowBy implements warehouse.Dialect with arg_min_null, which (unlike
// arg_min) keeps a NULL value of the first row instead of skipping the row.
// These states do not spill to disk. At 10M GA4 events a state per column
// ran out of a 1.5 GiB memory limit; with one per condition, and the order
// as a STRUCT of the timestamp and the key's halves, stg_ga4__sessions
// built within 1.2 GiB and ran out of memory at 1 GiB (DuckDB
// 1.4.3 and 1.4.5 alike). An order of one expression (TimeHexOrder's) is
// the key itself: a fixed-size key needs no serialised copy per update.
// The model's full build now goes a month at a time (full_build_window_days)
// so that its states are a month's.
func (d Dialect) FirstRowBy(condition, order string, fields ...string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = d.QuoteIdent(f) + " := " + f
	}
	if hasTopLevelComma(order) {
		order = "row(" + order + ")"
	}
	return fmt.Sprintf("arg_min_null(struct_pack(%s), %s) FILTER (WHERE %s)", strings.Join(parts, ", "), order, condition)
}

// hasTopLevelComma reports whether expr is a list: a comma outside
// parentheses and quotes.
func hasTopLevelComma(expr string) bool {
	depth, quote := 0, byte(0)
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			return true
		}
	}
	return false
}

// TimeHexOrder implements warehouse.Dialect with one UHUGEINT: the
// timestamp's microseconds since 1970 in the top 52 bits (clamped to them:
// 1970 to 2112), the first 19 of the hex string's 32 digits below. It
// sorts as (ts, hex) does unless two rows share the microsecond and those
// 76 bits of their MD5, a chance of 2^-76 per pair; then either may come
// first. At 1.56M GA4 events (198k sessions) stg_ga4__sessions' aggregate
// needed 275–300 MB with it, against 325–350 MB with a STRUCT of the
// timestamp and the hex string's halves as UBIGINTs, and built the same
// rows; at 10M events 1000–1050 MB against 1100–1150 MB (memory.go).
func (Dialect) TimeHexOrder(ts, hex string) string {
	// DuckDB gives << and | one precedence, left to right: each shift is
	// bracketed.
	return fmt.Sprintf("((CAST(least(greatest(epoch_us(%[1]s), 0), %[3]d) AS UHUGEINT) << 76)"+
		" | (CAST(CAST('0x' || substr(%[2]s, 1, 16) AS UBIGINT) AS UHUGEINT) << 12)"+
		" | CAST(CAST('0x' || substr(%[2]s, 17, 3) AS UBIGINT) AS UHUGEINT))", ts, hex, int64(1)<<52-1)
}

// repeatedHash is the condition that the hash of a row's values of list
// repeats among table's rows where cond holds. Keys repeat rarely, so
// RepeatedKeys and DeleteCopies compare the values themselves only for the
// rows it lets through: grouping 10M GA4 event keys by their hash peaked at
// 919-960 MiB RSS, grouping the 32-character keys at 1,322-1,380 MiB.
func repeatedHash(table, list, cond string) string {
	return fmt.Sprintf("hash(%[2]s) IN (SELECT hash(%[2]s) FROM %[1]s WHERE %[3]s GROUP BY 1 HAVING count(*) > 1)", table, list, cond)
}

// RepeatedKeys implements warehouse.Dialect, grouping by the values only
// the rows whose hash repeats (repeatedHash): 1.2 s over 10M GA4 event
// keys, where grouping every key took 1.4 s.
func (d Dialect) RepeatedKeys(table string, cols []string, where string) string {
	list := warehouse.QuoteList(d, cols)
	cond := cmp.Or(where, "TRUE")
	return fmt.Sprintf("SELECT %[2]s, COUNT(*) AS n_rows FROM %[1]s WHERE %[3]s AND %[4]s GROUP BY %[2]s HAVING COUNT(*) > 1",
		table, list, cond, repeatedHash(table, list, cond))
}

// DeleteCopies implements warehouse.Dialect: only the rows whose key's hash
// repeats (repeatedHash) go through the window, which compares the keys
// themselves. Removing the copies inside the query instead read its result
// three times (one window over all rows sorts every column): DuckDB
// materialized the wide result, and at 10M events that copy spilled to
// disk, which doubled stg_ga4__events' time.
func (d Dialect) DeleteCopies(table string, key []string, order string) string {
	list := warehouse.QuoteList(d, key)
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE rowid IN (
  SELECT rowid FROM %[1]s
  WHERE %[4]s
  QUALIFY row_number() OVER (PARTITION BY %[2]s ORDER BY %[3]s) > 1
)`, table, list, order, repeatedHash(table, list, "TRUE"))
}

// DaysBetween implements warehouse.Dialect.
func (Dialect) DaysBetween(later, earlier string) string {
	return fmt.Sprintf("(date_diff('microsecond', CAST(%s AS TIMESTAMP), CAST(%s AS TIMESTAMP)) / 86400000000.0)", earlier, later)
}

// DateDiffDays implements warehouse.Dialect.
func (Dialect) DateDiffDays(later, earlier string) string {
	return fmt.Sprintf("date_diff('day', CAST(%s AS DATE), CAST(%s AS DATE))", earlier, later)
}

// truncParts maps BigQuery's date parts to DuckDB's; DuckDB weeks start on
// Monday, as ISO weeks do.
var truncParts = map[string]string{
	"DAY": "day", "WEEK": "week", "ISOWEEK": "week", "MONTH": "month", "QUARTER": "quarter", "YEAR": "year",
}

// DateTrunc implements warehouse.Dialect.
func (Dialect) DateTrunc(expr, part string) (string, error) {
	duck, ok := truncParts[part]
	if !ok {
		return "", fmt.Errorf("date_trunc: unsupported part %q (want DAY, WEEK, ISOWEEK, MONTH, QUARTER or YEAR)", part)
	}
	return fmt.Sprintf("CAST(date_trunc('%s', CAST(%s AS DATE)) AS DATE)", duck, expr), nil
}

// castTypes maps BigQuery type names to DuckDB's.
var castTypes = map[string]string{
	"STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "NUMERIC": decimalType,
	"BIGNUMERIC": decimalType, "BOOL": "BOOLEAN", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP",
	"DATETIME": "TIMESTAMP", "BYTES": "BLOB", "JSON": "JSON",
}

// CastType implements warehouse.Dialect.
func (Dialect) CastType(typ string) (string, error) {
	t, ok := castTypes[typ]
	if !ok {
		return "", fmt.Errorf("unsupported type %q", typ)
	}
	return t, nil
}

// SafeCast implements warehouse.Dialect.
func (d Dialect) SafeCast(expr, typ string) (string, error) {
	t, err := d.CastType(typ)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("TRY_CAST(%s AS %s)", expr, t), nil
}

// SHA256Hex implements warehouse.Dialect.
func (Dialect) SHA256Hex(expr string) string { return fmt.Sprintf("sha256(%s)", expr) }

// MD5Hex implements warehouse.Dialect.
func (Dialect) MD5Hex(expr string) string { return fmt.Sprintf("md5(%s)", expr) }

// Transaction implements warehouse.Dialect.
func (Dialect) Transaction(stmts ...string) string {
	return "BEGIN TRANSACTION; " + strings.Join(stmts, ";\n") + ";\nCOMMIT"
}

// ScratchTableOptions implements warehouse.Dialect: Exec drops what a
// failed build leaves, and nothing expires on its own.
func (Dialect) ScratchTableOptions() string { return "" }

// PartitionClause implements warehouse.Dialect: DuckDB tables are neither
// partitioned nor clustered.
func (Dialect) PartitionClause(string, []string) string { return "" }

// TableFingerprint implements warehouse.Dialect: it hashes every row
// (about 0.4 s per million GA4-shaped rows), so it catches any change,
// in-place updates too.
func (Dialect) TableFingerprint(qualified string) string {
	return fmt.Sprintf("SELECT CAST(COUNT(*) AS VARCHAR) || ':' || CAST(COALESCE(SUM(hash(t)), 0) AS VARCHAR) FROM %s AS t", qualified)
}

// PartitionIDsQuery implements warehouse.Dialect: DuckDB keeps no
// partition metadata.
func (Dialect) PartitionIDsQuery(string) string { return "" }

// ColumnType implements warehouse.Dialect.
func (Dialect) ColumnType(c warehouse.Column) (string, error) { return columnDDL(c) }

// CreateTable implements warehouse.Dialect.
func (Dialect) CreateTable(qualified string, s warehouse.Schema) (string, error) {
	return createTableDDL("CREATE TABLE IF NOT EXISTS", qualified, s)
}

// AddColumn implements warehouse.Dialect.
func (Dialect) AddColumn(qualified string, c warehouse.Column) (string, error) {
	if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
		return "", err
	}
	t, err := columnDDL(c)
	if err != nil {
		return "", err
	}
	return "ALTER TABLE " + qualified + " ADD COLUMN IF NOT EXISTS " + quoteIdent(c.Name) + " " + t, nil
}
