package loaders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// CursorsTable records, per source and object, how far an incremental sync
// got. A cursor is saved only after the batch it covers is durable in
// staging, so a crashed sync resumes from the last durable batch.
const CursorsTable = systables.CursorsTable

// CursorsSchema is the cursor table's schema. One row per save; the latest
// saved_at per (source, object) is the cursor, so saving is an append and
// needs no UPDATE.
var CursorsSchema = systables.Cursors().Schema

// Cursors reads and saves sync cursors in the warehouse. Its table comes
// from the systables store, which jobs sets up when the process starts.
type Cursors struct {
	wh    warehouse.Warehouse
	store *systables.Store
}

// NewCursors returns a cursor store.
func NewCursors(wh warehouse.Warehouse) *Cursors { return &Cursors{wh: wh, store: systables.New(wh)} }

// Get returns the saved cursor, or "" when none was saved.
func (c *Cursors) Get(ctx context.Context, source, object string) (string, error) {
	if _, err := c.wh.Describe(ctx, CursorsTable); err != nil {
		if errors.Is(err, warehouse.ErrNotFound) {
			return "", nil
		}
		return "", fmt.Errorf("read cursor %s/%s: %w", source, object, err)
	}
	q := "SELECT cursor FROM " + c.wh.QualifiedName(CursorsTable) + " WHERE source = ? AND object = ? ORDER BY saved_at DESC LIMIT 1"
	rows, err := c.wh.Query(ctx, q, source, object)
	if err != nil {
		return "", fmt.Errorf("read cursor %s/%s: %w", source, object, err)
	}
	defer rows.Close()
	var cur string
	if rows.Next() {
		if err := rows.Scan(&cur); err != nil {
			return "", fmt.Errorf("read cursor %s/%s: %w", source, object, err)
		}
	}
	return cur, rows.Err()
}

// Save records a new cursor value.
func (c *Cursors) Save(ctx context.Context, source, object, cursor string) error {
	if err := c.store.Insert(ctx, systables.Cursors(), [][]any{{source, object, cursor, time.Now().UTC()}}); err != nil {
		return fmt.Errorf("save cursor %s/%s: %w", source, object, err)
	}
	return nil
}
