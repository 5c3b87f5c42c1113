package warehouse

import (
	"fmt"
	"strings"
	"time"
)

// Dialect is the SQL text an engine speaks wherever SAM writes SQL itself:
// quoting and literals, the fragments behind the model template helpers,
// how a script commits as one transaction, DDL for tables SAM owns, and the
// few capabilities loaders and the transform runner choose by. Each engine
// package exports its Dialect as a value usable without opening a database
// (duckdb.Dialect{}, bigquery.Dialect{}), so SQL can be rendered offline.
//
// Expressions passed in (expr, later, earlier) are SQL text and are pasted
// as they are; names and keys are quoted or rendered as literals.
type Dialect interface {
	// Name is the engine's configured name ("duckdb", "bigquery"), for
	// logs and `sam compile --dialect`.
	Name() string
	// Features says what the engine can do beyond the common SQL.
	Features() Features

	// QuoteIdent quotes one identifier.
	QuoteIdent(name string) string
	// QualifiedName names table of dataset in project for SQL text.
	// Engines without projects or datasets ignore them.
	QualifiedName(project, dataset, table string) string
	// StringLiteral renders s as a string literal.
	StringLiteral(s string) string
	// DateLiteral renders the UTC day of t as a DATE literal.
	DateLiteral(t time.Time) string
	// TimestampLiteral renders t as a TIMESTAMP literal (UTC, microseconds).
	TimestampLiteral(t time.Time) string

	// ArrayLookup reads the value struct of the first element of a
	// key/value array column (GA4 event_params, user_properties) whose key
	// equals key: read turns the SQL reference of that value struct into
	// the expression wanted, and the result is one parenthesised scalar.
	ArrayLookup(array, key string, read func(value string) string) string
	// FirstRowBy is an aggregate: a record of the columns named by fields,
	// read on the row with the least order (a comma-separated list of
	// expressions, together unique within a group) among the group's rows
	// where condition is TRUE, even where those values are NULL; NULL when
	// no row qualifies. One record per condition, rather than one aggregate
	// per column, keeps one aggregate state per group instead of many.
	FirstRowBy(condition, order string, fields ...string) string
	// TimeHexOrder renders an ORDER list (for FirstRowBy) that sorts rows
	// by the TIMESTAMP ts, then by hex, a 32-digit lowercase hex string (an
	// MD5 fingerprint). An engine may render one fixed-size number, cheaper
	// to hold in aggregate states than a timestamp and a string.
	TimeHexOrder(ts, hex string) string
	// RepeatedKeys is a query of the values of cols that more than one row
	// of table (a qualified name) holds, among the rows where the condition
	// where holds (empty: all rows), with their count as n_rows: the
	// uniqueness data tests.
	RepeatedKeys(table string, cols []string, where string) string
	// DeleteCopies is a statement leaving in table (a qualified name) what
	// the package's Deduplicate would: it lets the runner fill the table
	// from the query as it is and remove the copies after. Empty means the
	// engine wants Deduplicate's query instead.
	DeleteCopies(table string, key []string, order string) string
	// DaysBetween is fractional days from TIMESTAMP earlier to later.
	DaysBetween(later, earlier string) string
	// DateDiffDays is whole days from DATE earlier to later.
	DateDiffDays(later, earlier string) string
	// DateTrunc truncates a DATE to DAY, WEEK (Monday), ISOWEEK, MONTH,
	// QUARTER or YEAR (part in upper case).
	DateTrunc(expr, part string) (string, error)
	// CastType maps a BigQuery type name (upper case) to the engine's.
	CastType(typ string) (string, error)
	// SafeCast casts expr to the BigQuery-named type, NULL when it fails.
	SafeCast(expr, typ string) (string, error)
	// SHA256Hex is the lower-case hex SHA-256 of a STRING.
	SHA256Hex(expr string) string
	// MD5Hex is the lower-case hex MD5 of a STRING.
	MD5Hex(expr string) string

	// Transaction joins statements into a script that commits them as
	// one. The first statement shares line 1 with BEGIN, so line numbers of
	// a model's SQL survive in engine errors.
	Transaction(stmts ...string) string
	// ScratchTableOptions is appended to CREATE TABLE of a table SAM
	// builds before publishing it ("" or an OPTIONS clause).
	ScratchTableOptions() string
	// PartitionClause renders partitioning and clustering for CREATE
	// TABLE ... AS, or "" on an engine that has neither.
	PartitionClause(partitionBy string, clusterBy []string) string
	// TableFingerprint is a query returning one STRING that changes when
	// any row of the table does.
	TableFingerprint(qualified string) string
	// PartitionIDsQuery lists the partition ids (YYYYMMDD) of a table's
	// non-empty partitions from metadata, or returns "" when the engine
	// keeps no such metadata.
	PartitionIDsQuery(qualified string) string

	// ColumnType renders the engine's type of a column.
	ColumnType(c Column) (string, error)
	// CreateTable renders CREATE TABLE IF NOT EXISTS for s, partitioned
	// and clustered where the engine can.
	CreateTable(qualified string, s Schema) (string, error)
	// AddColumn renders ALTER TABLE ... ADD COLUMN for a nullable column.
	AddColumn(qualified string, c Column) (string, error)
}

// Features are the capabilities callers choose a strategy by.
type Features struct {
	// TransactionalDDL: CREATE, DROP and ALTER may share a transaction
	// with DML. Otherwise each DDL statement commits by itself.
	TransactionalDDL bool
	// BilledScans: queries are billed by the bytes they scan while table
	// metadata is free, so metadata is preferred to a query.
	BilledScans bool
	// LocalFiles: SQL can read local Parquet and JSON files.
	LocalFiles bool
	// BigQueryTables: SQL can read BigQuery tables of other datasets and
	// projects in place (a GA4 export).
	BigQueryTables bool
	// CheapAppends: an Append load of a few rows is a local, durable,
	// unmetered write (DuckDB's appender), cheaper than binding them to an
	// INSERT. Where it is not (BigQuery: a load job, with a daily quota per
	// table), small writes go through DML.
	CheapAppends bool
	// InProcess: queries run on this process's threads within one memory
	// limit, each already using every thread, so statements run side by
	// side split the same cores and memory rather than add to them.
	InProcess bool
	// OneProcess: only one process opens the warehouse at a time (DuckDB
	// locks its file), so two runs never work on it side by side.
	OneProcess bool
}

// QuoteList quotes column names in d's way into a comma-separated list.
func QuoteList(d Dialect, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = d.QuoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// Deduplicate is a query of query's rows keeping, of those sharing the
// values of the key columns (NULLs equal), the first by order (a window
// ORDER BY list of query's columns). It reads the same on both engines
// (BigQuery needs the WHERE before QUALIFY). query keeps its first line, so
// a model's line numbers hold in engine errors.
func Deduplicate(d Dialect, query string, key []string, order string) string {
	return fmt.Sprintf("SELECT * FROM (%s\n) WHERE TRUE\nQUALIFY ROW_NUMBER() OVER (PARTITION BY %s ORDER BY %s) = 1", query, QuoteList(d, key), order)
}
