package activation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// EventsTable is the model the runner reads.
const EventsTable = "activation_events"

// WarehouseLedger keeps the ledger in SAM's send log table
// (systables.SendLog), one row per entry. Rows written before destinations
// existed have no destination and are GA4's: the keys GA4 already received
// stay done.
type WarehouseLedger struct {
	wh    warehouse.Warehouse
	store *systables.Store
	table systables.Table
}

// NewWarehouseLedger returns the ledger in wh. The table must exist
// (systables.Store.Ensure creates it once per process).
func NewWarehouseLedger(wh warehouse.Warehouse) *WarehouseLedger {
	return &WarehouseLedger{wh: wh, store: systables.New(wh), table: systables.SendLog()}
}

// States implements Ledger: every entry of the destination in recording
// order (an intent sorts before an outcome recorded in the same instant).
func (l *WarehouseLedger) States(ctx context.Context, destination string) (map[string]KeyState, error) {
	q := `SELECT idempotency_key, status, detail, sent_at, lead_id, stage FROM ` + l.wh.QualifiedName(l.table.Name) + `
WHERE COALESCE(destination, 'ga4') = ?
ORDER BY sent_at, CASE WHEN status = 'intent' THEN 0 ELSE 1 END`
	rows, err := l.wh.Query(ctx, q, destination)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.table.Name, err)
	}
	defer rows.Close()
	out := map[string]KeyState{}
	for rows.Next() {
		var (
			key, status         string
			detail, lead, stage sql.NullString
			at                  time.Time
		)
		if err := rows.Scan(&key, &status, &detail, &at, &lead, &stage); err != nil {
			return nil, fmt.Errorf("read %s: %w", l.table.Name, err)
		}
		out[key] = out[key].Fold(Entry{Status: Status(status), Detail: detail.String, RecordedAt: at, LeadID: lead.String, Stage: stage.String})
	}
	return out, rows.Err()
}

// Append implements Ledger with multi-row INSERTs.
func (l *WarehouseLedger) Append(ctx context.Context, entries []Entry) error {
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = ledgerRow(e)
	}
	if err := l.store.Insert(ctx, l.table, rows); err != nil {
		return fmt.Errorf("write %s: %w", l.table.Name, err)
	}
	return nil
}

// ledgerRow renders e positionally as systables.SendLog.
func ledgerRow(e Entry) []any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var value, eventAt any
	if e.Currency != "" {
		value = e.Value
	}
	if !e.EventAt.IsZero() {
		eventAt = e.EventAt.UTC()
	}
	return []any{e.Key, null(e.LeadID), null(e.EventName), null(e.ClientKey), e.RecordedAt.UTC(), null(e.RunID),
		string(e.Status), null(e.Detail), e.Destination, null(e.Stage), value, null(e.Currency), null(e.ValueKind), eventAt}
}

// WarehouseEvents reads the activation_events model.
type WarehouseEvents struct {
	WH warehouse.Warehouse
}

// formerLeads is the column of the leads merged into each event's lead, or
// a NULL in its place in a table built before the column was added: the
// hourly writeback job may run before the first transform after an
// upgrade. A missing table is left to the query to report.
func (w WarehouseEvents) formerLeads(ctx context.Context) (string, error) {
	const col = "former_lead_ids"
	schema, err := w.WH.Describe(ctx, EventsTable)
	switch {
	case errors.Is(err, warehouse.ErrNotFound):
		return col, nil
	case err != nil:
		return "", fmt.Errorf("read %s: %w", EventsTable, err)
	}
	if slices.ContainsFunc(schema.Columns, func(c warehouse.Column) bool { return c.Name == col }) {
		return col, nil
	}
	typ, err := w.WH.Dialect().CastType("STRING")
	if err != nil {
		return "", fmt.Errorf("read %s: %w", EventsTable, err)
	}
	return "CAST(NULL AS " + typ + ") AS " + col, nil
}

// ForEach implements EventSource.
func (w WarehouseEvents) ForEach(ctx context.Context, fn func(Event) error) error {
	former, err := w.formerLeads(ctx)
	if err != nil {
		return err
	}
	q := `SELECT event_key, lead_id, stage, event_at, lead_created_at, CAST(value AS FLOAT64), currency, value_kind,
       reason, client_key, ga_session_id, last_session_at, gclid, click_at, meta_lead_id, li_fat_id,
       email_sha256, email_sha256_google, ad_consent, gbraid, wbraid, ` + former + `
FROM ` + w.WH.QualifiedName(EventsTable) + `
ORDER BY client_key, event_at, event_key`
	rows, err := w.WH.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", EventsTable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e                                            Event
			lead, stage, currency, kind, reason, client  sql.NullString
			gclid, metaID, liFat, email, emailG, consent sql.NullString
			at, created, lastSession, click              sql.NullTime
			value                                        sql.NullFloat64
			sessionID                                    sql.NullInt64
		)
		var gbraid, wbraid, former sql.NullString
		if err := rows.Scan(&e.Key, &lead, &stage, &at, &created, &value, &currency, &kind, &reason, &client, &sessionID,
			&lastSession, &gclid, &click, &metaID, &liFat, &email, &emailG, &consent, &gbraid, &wbraid, &former); err != nil {
			return fmt.Errorf("read %s: %w", EventsTable, err)
		}
		e.LeadID, e.Stage, e.EventAt, e.LeadAt = lead.String, stage.String, at.Time, created.Time
		if value.Valid {
			e.Value, e.Currency, e.ValueKind = value.Float64, currency.String, kind.String
		}
		e.Reason, e.ClientKey, e.GASessionID, e.LastSessionAt = reason.String, client.String, sessionID.Int64, lastSession.Time
		e.Gclid, e.ClickAt, e.MetaLeadID, e.LiFatID = gclid.String, click.Time, metaID.String, liFat.String
		e.Gbraid, e.Wbraid = gbraid.String, wbraid.String
		if former.String != "" {
			e.FormerLeadIDs = strings.Split(former.String, ",")
		}
		e.EmailSHA256, e.EmailSHA256Google = email.String, emailG.String
		c := Consent(consent.String)
		e.AdUserData, e.AdPersonalization = c, c
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
