package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// NewRowLog returns a RowLog kept in the load_row_hashes system table.
func NewRowLog(wh warehouse.Warehouse) RowLog { return whRowLog{wh: wh} }

type whRowLog struct{ wh warehouse.Warehouse }

func (l whRowLog) Loaded(ctx context.Context, source, object string) (record.RowSet, error) {
	q := "SELECT hashes FROM " + l.wh.QualifiedName(systables.RowHashesTable) + " WHERE source = ? AND object = ?"
	rows, err := l.wh.Query(ctx, q, source, object)
	if err != nil {
		return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
	}
	set := record.RowSet{}
	for _, r := range data {
		s, _ := r[0].(string)
		for _, f := range strings.Fields(s) {
			h, err := record.ParseRowHash(f)
			if err != nil {
				return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
			}
			set[h] = struct{}{}
		}
	}
	return set, nil
}

// Record writes one row per batch: a DML statement per row hash would cost
// BigQuery a job each.
func (l whRowLog) Record(ctx context.Context, source, object, runID string, hashes []record.RowHash) error {
	var b strings.Builder
	b.Grow(len(hashes) * 33)
	for i, h := range hashes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h.String())
	}
	row := []any{source, object, b.String(), runID, time.Now().UTC()}
	if err := systables.New(l.wh).Insert(ctx, systables.RowHashes(), [][]any{row}); err != nil {
		return fmt.Errorf("record %d loaded row hashes of %s/%s: %w", len(hashes), source, object, err)
	}
	return nil
}
