package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Exec implements warehouse.Warehouse. sql may be one statement or a script
// of several separated by semicolons. The script runs on one dedicated
// connection; when a statement fails, an open transaction is rolled back
// before the connection goes back to the pool, so a failed
// "BEGIN; ...; COMMIT;" leaves nothing applied. A script that leaves its own
// transaction open is rolled back and reported as an error.
// Result.RowsAffected is that of the last statement; for CREATE TABLE … AS,
// the rows it wrote. args bind to the ?
// placeholders in order, across the statements of a script; options among
// them are ignored (DuckDB has no job ids or labels).
func (db *DB) Exec(ctx context.Context, query string, args ...any) (_ warehouse.Result, err error) {
	defer func() { err = classify(err) }()
	params := bindable(args)
	start := time.Now()
	var res warehouse.Result
	mayOpen := mayOpenTransaction(query)
	var stmts []statement
	if len(params) > 0 || mayOpen {
		stmts = splitScript(query)
	}
	closes := mayOpen && len(stmts) > 0 && isCommit(stmts[len(stmts)-1].sql)
	if len(params) == 0 {
		stmts = []statement{{sql: query}}
	}
	err = db.onConn(ctx, mayOpen, closes, func(conn *sql.Conn) error {
		for _, st := range stmts {
			if st.params > len(params) {
				return fmt.Errorf("duckdb: exec: the statement has more ? placeholders than the %d arguments given", len(args))
			}
			n, counted, err := execStatement(ctx, conn, st.sql, params[:st.params])
			if err != nil {
				return fmt.Errorf("duckdb: exec: %w", err)
			}
			params = params[st.params:]
			if counted {
				res.RowsAffected = n
			}
		}
		if len(params) > 0 {
			return fmt.Errorf("duckdb: exec: %d arguments left over after the last ? placeholder", len(params))
		}
		return nil
	})
	if perr := db.protectFiles(); err == nil {
		err = perr
	}
	// The SQL text is not logged: literals in it may carry personal data.
	db.log.DebugContext(ctx, "duckdb exec", "sql_bytes", len(query), "rows", res.RowsAffected,
		"elapsed", time.Since(start), "ok", err == nil)
	return res, err
}

// execStatement runs one statement (or a script whose last statement
// counts) and returns the rows it wrote. DuckDB answers CREATE TABLE … AS
// with a one-row result holding the count, which the driver's RowsAffected
// does not read; so statements that start with CREATE run as a query, the
// rest as plain statements. counted is false when the driver cannot say.
func execStatement(ctx context.Context, conn *sql.Conn, stmt string, params []any) (n int64, counted bool, err error) {
	if !startsWithFold(stmt, "CREATE") {
		r, err := conn.ExecContext(ctx, stmt, params...)
		if err != nil {
			return 0, false, err
		}
		n, err := r.RowsAffected()
		return n, err == nil, nil
	}
	rows, err := conn.QueryContext(ctx, stmt, params...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	if cols, err := rows.Columns(); err == nil && len(cols) == 1 && cols[0] == "Count" && rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, false, err
		}
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	return n, true, rows.Close()
}

// startsWithFold reports whether stmt, past leading space, starts with the
// upper-case ASCII word prefix in any case.
func startsWithFold(stmt, prefix string) bool {
	stmt = strings.TrimLeft(stmt, " \t\r\n")
	return len(stmt) >= len(prefix) && strings.EqualFold(stmt[:len(prefix)], prefix)
}

// mayOpenTransaction reports whether a script could open a transaction
// (BEGIN, START TRANSACTION). It errs on the side of yes: the words in a
// literal or a name count too. A statement without them runs in autocommit
// mode, which DuckDB ends itself, failed or not.
func mayOpenTransaction(script string) bool {
	return containsFold(script, "BEGIN") || containsFold(script, "TRANSACTION")
}

// isCommit reports whether stmt is a COMMIT, which ends the transaction or
// fails.
func isCommit(stmt string) bool {
	stmt = strings.Join(strings.Fields(stmt), " ")
	for _, c := range []string{"COMMIT", "COMMIT TRANSACTION", "END", "END TRANSACTION"} {
		if strings.EqualFold(stmt, c) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the upper-case ASCII word sub in
// any case, without copying s.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]&^0x20 == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// bindable returns the placeholder values among args, typed NULLs as nil
// (DuckDB types a NULL from its context).
func bindable(args []any) []any {
	params, _ := warehouse.Args(args)
	for i, p := range params {
		if _, ok := p.(warehouse.Null); ok {
			params[i] = nil
		}
	}
	return params
}

// withConn runs f on a dedicated connection and makes sure the connection
// returns to the pool outside any transaction: whatever f leaves open is
// rolled back. If f succeeded but left a transaction open, that is an error.
func (db *DB) withConn(ctx context.Context, f func(*sql.Conn) error) error {
	return db.onConn(ctx, true, false, f)
}

// onConn is withConn for a caller that knows more, sparing the ROLLBACK
// that would only fail with "no transaction is active": when txPossible is
// false, f opens no transaction (connections come from the pool outside
// one); when closes is true, f's last statement is a COMMIT, so if f
// succeeded none is left open.
func (db *DB) onConn(ctx context.Context, txPossible, closes bool, f func(*sql.Conn) error) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("duckdb: get connection: %w", err)
	}
	ferr := f(conn)
	if !txPossible || closes && ferr == nil {
		conn.Close()
		return ferr
	}
	rolledBack, rerr := rollback(conn)
	if rerr != nil {
		// The connection's state is unknown: drop it from the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		rerr = fmt.Errorf("duckdb: roll back: %w", rerr)
	}
	conn.Close()
	switch {
	case ferr != nil && rerr != nil:
		return errors.Join(ferr, rerr)
	case ferr != nil:
		return ferr
	case rerr != nil:
		return rerr
	case rolledBack:
		return errors.New("duckdb: script left a transaction open (missing COMMIT); it was rolled back")
	}
	return nil
}

// rollback ends any transaction open on conn and reports whether there was
// one. It ignores the caller's context: a cancelled caller's transaction must
// still be cleaned up.
func rollback(conn *sql.Conn) (bool, error) {
	_, err := conn.ExecContext(context.Background(), "ROLLBACK")
	if err == nil {
		return true, nil
	}
	if strings.Contains(err.Error(), "no transaction is active") {
		return false, nil
	}
	return false, err
}

// Query implements warehouse.Warehouse.
func (db *DB) Query(ctx context.Context, query string, args ...any) (warehouse.Rows, error) {
	params := bindable(args)
	r, err := db.db.QueryContext(ctx, query, params...)
	if err != nil {
		return nil, classify(fmt.Errorf("duckdb: query: %w", err))
	}
	rs, err := newRows(r)
	return rs, classify(err)
}

// DryRun implements warehouse.Warehouse. DuckDB cannot estimate bytes, so
// the estimate is unsupported, but the query is still planned (EXPLAIN) so
// invalid SQL fails here as it would on BigQuery.
func (db *DB) DryRun(ctx context.Context, query string) (_ warehouse.Estimate, err error) {
	defer func() { err = classify(err) }()
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return warehouse.Estimate{}, fmt.Errorf("duckdb: get connection: %w", err)
	}
	defer conn.Close()
	// The driver runs every statement of a script but the last; inside a
	// transaction that is always rolled back, a dry run changes nothing.
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return warehouse.Estimate{}, fmt.Errorf("duckdb: dry run: %w", err)
	}
	err = explain(ctx, conn, query)
	if _, rerr := rollback(conn); rerr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, fmt.Errorf("duckdb: roll back: %w", rerr))
	}
	if err != nil {
		return warehouse.Estimate{}, err
	}
	return warehouse.Estimate{Supported: false}, nil
}

func explain(ctx context.Context, conn *sql.Conn, query string) error {
	r, err := conn.QueryContext(ctx, "EXPLAIN "+query)
	if err != nil {
		return fmt.Errorf("duckdb: dry run: %w", err)
	}
	for r.Next() {
	}
	err = r.Err()
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("duckdb: dry run: %w", err)
	}
	return nil
}
