package duckdb

import (
	"errors"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// ErrOutOfMemory matches the error of a statement that needed more memory
// than the memory limit allows. Most of DuckDB's work spills to disk past
// the limit; what cannot (aggregate states that keep a first row or a
// list, as stg_ga4__sessions' do) fails with this. DuckDB's message
// suggests SQL settings; the caller knows what sets the limit.
var ErrOutOfMemory = errors.New("duckdb: out of memory")

// classify makes err also match warehouse.ErrUnusable when DuckDB has
// invalidated the database: after a fatal or an internal error it answers
// every later statement of the process with "FATAL Error: database has
// been invalidated" (duckdb-go's ErrorTypeFatal: "the DB enters an invalid
// state and must be restarted"); and ErrOutOfMemory when the statement ran
// out of the memory limit. The message stays DuckDB's.
func classify(err error) error {
	var de *duckdbdrv.Error
	if err == nil || !errors.As(err, &de) || errors.Is(err, warehouse.ErrUnusable) || errors.Is(err, ErrOutOfMemory) {
		return err
	}
	switch de.Type {
	case duckdbdrv.ErrorTypeFatal, duckdbdrv.ErrorTypeInternal:
		return markedError{err, warehouse.ErrUnusable}
	case duckdbdrv.ErrorTypeOutOfMemory:
		return markedError{err, ErrOutOfMemory}
	}
	return err
}

// markedError is err, matching kind too.
type markedError struct{ err, kind error }

func (e markedError) Error() string   { return e.err.Error() }
func (e markedError) Unwrap() []error { return []error{e.err, e.kind} }
