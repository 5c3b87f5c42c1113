package duckdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

//go:embed macros.sql
var macrosSQL string

var createTypeRE = regexp.MustCompile(`(?i)^CREATE\s+TYPE\s+(\w+)\s+AS\b`)

// macroStatements splits macros.sql into its statements: each ends with a
// semicolon at the end of a line. Comment lines are dropped.
func macroStatements() []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(macrosSQL, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// macrosVersion identifies this build's macros.sql; a database file records
// the version installed in the macro sam_macros_version().
func macrosVersion() string {
	sum := sha256.Sum256([]byte(macrosSQL))
	return hex.EncodeToString(sum[:8])
}

// installMacros installs macros.sql in one transaction, unless the database
// already has this version (reopening a file then writes nothing). CREATE
// TYPE runs only when the type is absent (DuckDB has no CREATE OR REPLACE
// TYPE and already knows some BigQuery names).
func (db *DB) installMacros(ctx context.Context) error {
	version := macrosVersion()
	var installed string
	if err := db.db.QueryRowContext(ctx, "SELECT sam_macros_version()").Scan(&installed); err == nil && installed == version {
		return nil
	}
	return db.withConn(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return fmt.Errorf("duckdb: install macros: %w", err)
		}
		for _, stmt := range macroStatements() {
			if m := createTypeRE.FindStringSubmatch(stmt); m != nil {
				var n int
				err := conn.QueryRowContext(ctx,
					`SELECT count(*) FROM duckdb_types() WHERE lower(type_name) = lower(?)`, m[1]).Scan(&n)
				if err != nil {
					return fmt.Errorf("duckdb: install macros: look up type %s: %w", m[1], err)
				}
				if n > 0 {
					continue
				}
			}
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("duckdb: install macros: %w\nstatement: %s", err, stmt)
			}
		}
		if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE MACRO sam_macros_version() AS "+quoteString(version)); err != nil {
			return fmt.Errorf("duckdb: install macros: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("duckdb: install macros: %w", err)
		}
		return nil
	})
}
