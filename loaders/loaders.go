// Package loaders owns what every source loader shares: the rejects table
// that keeps bad rows with their reason and raw text, the cursor store that lets an
// incremental sync resume, and what a file's amounts tell of its decimal mark
// (DecimalMarks). The loaders themselves live in subpackages
// (loaders/ga4, loaders/crm/..., loaders/spend) and write to staging through
// the warehouse interface; this package imports only warehouse,
// warehouse/systables (where its tables are declared) and internal/pii (which
// masks personal data in rejects).
package loaders

import (
	"context"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/internal/pii"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// RejectsTable is where every loader keeps rows it could not load.
const RejectsTable = systables.RejectsTable

// RejectsSchema is the rejects table's schema.
var RejectsSchema = systables.Rejects().Schema

// Reject is one row that could not be loaded. Raw holds the input as read (a
// JSON line, a CSV record re-encoded as CSV); WriteRejects masks the email
// addresses and phone numbers in it and in Reason, and in a JSON line the
// values of name keys, since raw personal data lives only in the CRM
// tables. A loader that keeps CSV records masks their name columns first
// (pii.MaskRecord): only it knows the header.
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

// WriteRejects appends rejects to the rejects table with multi-row INSERTs
// (not a load job per batch), with email addresses, phone numbers and JSON
// name values in the reason and raw text masked (pii.Mask): the rest of the
// row stays, so a reject can still be found in its source and fixed. The
// table comes from the systables store, which jobs sets up when the process
// starts.
func WriteRejects(ctx context.Context, wh warehouse.Warehouse, runID string, rejects []Reject) error {
	if len(rejects) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([][]any, len(rejects))
	for i, r := range rejects {
		rows[i] = []any{runID, r.Source, r.Object, pii.Mask(r.Reason), pii.Mask(r.Raw), now}
	}
	if err := systables.New(wh).Insert(ctx, systables.Rejects(), rows); err != nil {
		return fmt.Errorf("write %d rejects: %w", len(rejects), err)
	}
	return nil
}
