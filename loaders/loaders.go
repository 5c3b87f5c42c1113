// Package loaders owns what every source loader shares: the rejects table
// that keeps bad rows with their reason, and the cursor store that lets an
// incremental sync resume. The loaders themselves live in subpackages
// (loaders/ga4, loaders/crm/..., loaders/spend) and write to staging through
// the warehouse interface; this package imports only warehouse.
package loaders

import (
	"context"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// RejectsTable is where every loader keeps rows it could not load.
const RejectsTable = "load_rejects"

// RejectsSchema is the rejects table's schema.
var RejectsSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "run_id", Type: warehouse.String},
	{Name: "source", Type: warehouse.String},
	{Name: "object", Type: warehouse.String},
	{Name: "reason", Type: warehouse.String},
	{Name: "raw", Type: warehouse.String},
	{Name: "rejected_at", Type: warehouse.Timestamp},
}}

// Reject is one row that could not be loaded. Raw holds the input exactly as
// read (a JSON line, a CSV record re-encoded as CSV), so nothing is lost.
type Reject struct {
	Source string // ga4, hubspot, salesforce, file, spend
	Object string // events_20240101, contacts, leads.csv, ...
	Reason string
	Raw    string
}

// Counts is what a load reports: Read always equals Loaded + Rejected.
type Counts struct {
	Read     int64
	Loaded   int64
	Rejected int64
	Bytes    int64
}

// Add sums counts.
func (c *Counts) Add(o Counts) {
	c.Read += o.Read
	c.Loaded += o.Loaded
	c.Rejected += o.Rejected
	c.Bytes += o.Bytes
}

// WriteRejects appends rejects to the rejects table.
func WriteRejects(ctx context.Context, wh warehouse.Warehouse, runID string, rejects []Reject) error {
	if len(rejects) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([][]any, len(rejects))
	for i, r := range rejects {
		rows[i] = []any{runID, r.Source, r.Object, r.Reason, r.Raw, now}
	}
	_, err := wh.Load(ctx, warehouse.LoadRequest{
		Table:  RejectsTable,
		Schema: RejectsSchema,
		Mode:   warehouse.Append,
		Rows:   warehouse.NewSliceRows(rows),
	})
	if err != nil {
		return fmt.Errorf("write %d rejects: %w", len(rejects), err)
	}
	return nil
}
