package duckdb

import (
	"errors"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// markUnusable makes err also match warehouse.ErrUnusable when DuckDB has
// invalidated the database: after a fatal or an internal error it answers
// every later statement of the process with "FATAL Error: database has
// been invalidated" (duckdb-go's ErrorTypeFatal: "the DB enters an invalid
// state and must be restarted"). The message stays DuckDB's.
func markUnusable(err error) error {
	var de *duckdbdrv.Error
	if err == nil || !errors.As(err, &de) || errors.Is(err, warehouse.ErrUnusable) {
		return err
	}
	if de.Type != duckdbdrv.ErrorTypeFatal && de.Type != duckdbdrv.ErrorTypeInternal {
		return err
	}
	return unusableError{err}
}

type unusableError struct{ err error }

func (e unusableError) Error() string   { return e.err.Error() }
func (e unusableError) Unwrap() []error { return []error{e.err, warehouse.ErrUnusable} }
