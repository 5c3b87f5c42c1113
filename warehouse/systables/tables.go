// Package systables owns SAM's own tables: the run ledger, model state,
// load cursors, load rejects, loaded row hashes, schedule locks and the writeback send log.
// It declares each table's schema once, creates the tables one way (DDL
// from the engine's Dialect), records the schema version in a small version
// table and migrates existing tables forward by adding the columns a newer
// SAM declares, and writes rows with DML INSERT and arguments (multi-row
// and chunked for batches) instead of load jobs, which BigQuery limits per
// table and day.
//
// The packages that own the data (jobs' ledger, transform's state, loaders'
// cursors and rejects, scheduler's lock, writeback's send log) keep their
// typed APIs and get their table from here. Tables are created once per
// process at start (Store.Ensure, from jobs); no write creates a table.
// It imports only the warehouse package.
package systables

import "github.com/sam-attribution/sam/warehouse"

// The system tables' names. BI tools and the models read them; they never
// change.
const (
	LedgerTable     = "sam_run_ledger"
	ModelStateTable = "sam_model_state"
	CursorsTable    = "load_cursors"
	RejectsTable    = "load_rejects"
	LocksTable      = "sam_locks"
	SendLogTable    = "raw_writeback__send_log"
	RowHashesTable  = "load_row_hashes"
)

// Table is one of SAM's tables: its bare name and schema.
type Table struct {
	Name   string
	Schema warehouse.Schema
}

// Named returns t under another name (the send log's table is
// configurable).
func (t Table) Named(name string) Table {
	t.Name = name
	return t
}

// Version is the schema version of the tables this SAM declares. Raise it
// with every change below; Ensure then adds the new columns to existing
// tables and records the version. Columns are only ever added, nullable,
// and never renamed or removed: BI tools and older runs read them.
const Version = 3

// VersionTable records, one row per migration, the schema version the
// system tables were brought to.
const VersionTable = "sam_schema_version"

func versionTable() Table {
	return Table{Name: VersionTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "version", Type: warehouse.Int64, Required: true},
		{Name: "migrated_at", Type: warehouse.Timestamp, Required: true},
	}}}
}

// All lists the system tables Ensure creates, the send log under its
// default name.
func All() []Table {
	return []Table{Ledger(), ModelState(), Cursors(), Rejects(), Locks(), SendLog(), RowHashes()}
}

// Ledger is the run ledger, append-only: a stage writes a "running" row
// when it starts and a final row when it ends.
func Ledger() Table {
	return Table{Name: LedgerTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "run_id", Type: warehouse.String},
		{Name: "job", Type: warehouse.String},
		{Name: "stage", Type: warehouse.String},
		{Name: "status", Type: warehouse.String},
		{Name: "started_at", Type: warehouse.Timestamp},
		{Name: "ended_at", Type: warehouse.Timestamp},
		{Name: "rows", Type: warehouse.Int64},
		{Name: "bytes_processed", Type: warehouse.Int64},
		{Name: "bytes_billed", Type: warehouse.Int64},
		{Name: "detail", Type: warehouse.String},
		{Name: "error", Type: warehouse.String},
		{Name: "recorded_at", Type: warehouse.Timestamp},
	}}}
}

// ModelState records every model build, one row per model per run.
func ModelState() Table {
	return Table{Name: ModelStateTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "model", Type: warehouse.String, Required: true},
		{Name: "version", Type: warehouse.String, Required: true},
		{Name: "materialized", Type: warehouse.String, Required: true},
		{Name: "built_at", Type: warehouse.Timestamp, Required: true},
		{Name: "row_count", Type: warehouse.Int64},
		{Name: "bytes_processed", Type: warehouse.Int64},
		{Name: "run_id", Type: warehouse.String, Required: true},
		{Name: "inputs", Type: warehouse.String},
		{Name: "partitions_built", Type: warehouse.String},
		{Name: "definition", Type: warehouse.String},
	}}}
}

// Cursors records how far each incremental sync got, one row per save.
func Cursors() Table {
	return Table{Name: CursorsTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "source", Type: warehouse.String},
		{Name: "object", Type: warehouse.String},
		{Name: "cursor", Type: warehouse.String},
		{Name: "saved_at", Type: warehouse.Timestamp},
	}}}
}

// Rejects keeps every row a loader could not load.
func Rejects() Table {
	return Table{Name: RejectsTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "run_id", Type: warehouse.String},
		{Name: "source", Type: warehouse.String},
		{Name: "object", Type: warehouse.String},
		{Name: "reason", Type: warehouse.String},
		{Name: "raw", Type: warehouse.String},
		{Name: "rejected_at", Type: warehouse.Timestamp},
	}}}
}

// RowHashes records the rows a loader loaded from a source without a
// per-row change marker (CRM export files), one row per durable batch with
// each row's content hash and record key space-separated, so the next load
// of a changed file skips exactly the rows whose record was last loaded
// with the same content (schema version 3).
func RowHashes() Table {
	return Table{Name: RowHashesTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "source", Type: warehouse.String},
		{Name: "object", Type: warehouse.String},
		{Name: "hashes", Type: warehouse.String},
		{Name: "run_id", Type: warehouse.String},
		{Name: "recorded_at", Type: warehouse.Timestamp},
	}}}
}

// Locks holds one row per held schedule lock.
func Locks() Table {
	return Table{Name: LocksTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "name", Type: warehouse.String},
		{Name: "holder", Type: warehouse.String},
		{Name: "acquired_at", Type: warehouse.Timestamp},
		{Name: "expires_at", Type: warehouse.Timestamp},
	}}}
}

// SendLog is the activation ledger (the writeback send log before there
// were several destinations), named as a raw source so the writeback_queue
// and activation_coverage models read it: intent and outcome rows per
// (destination, event key).
func SendLog() Table {
	return Table{Name: SendLogTable, Schema: warehouse.Schema{Columns: []warehouse.Column{
		{Name: "idempotency_key", Type: warehouse.String, Required: true},
		{Name: "lead_id", Type: warehouse.String},
		{Name: "event_name", Type: warehouse.String},
		{Name: "client_key", Type: warehouse.String},
		{Name: "sent_at", Type: warehouse.Timestamp, Required: true},
		{Name: "run_id", Type: warehouse.String},
		{Name: "status", Type: warehouse.String, Required: true},
		{Name: "detail", Type: warehouse.String},
		// Since activation reached every destination (schema version 2):
		// rows without a destination are GA4's, written before.
		{Name: "destination", Type: warehouse.String},
		{Name: "stage", Type: warehouse.String},
		{Name: "value", Type: warehouse.Float64},
		{Name: "currency", Type: warehouse.String},
		{Name: "value_kind", Type: warehouse.String},
		{Name: "event_at", Type: warehouse.Timestamp},
	}}}
}
