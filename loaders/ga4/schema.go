// Package ga4 owns loading the GA4 BigQuery export into SAM's raw table
// raw_ga4__events: from export files (events_YYYYMMDD.json[.gz] or .parquet,
// for the embedded engine) and from the export dataset itself (BigQuery). It
// also owns the export's schema (export_schema.json) and the line validator
// that keeps bad rows out of the warehouse and in load_rejects.
//
// It imports warehouse, loaders and internal/option, nothing else of SAM's.
package ga4

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sam-attribution/sam/warehouse"
)

// RawTable is the table the loaders write.
const RawTable = "raw_ga4__events"

// Source names the GA4 export in load_rejects and the run ledger.
const Source = "ga4"

// exportSchemaJSON is the GA4 events_ table schema in BigQuery's schema JSON
// format (what `bq show --schema` prints), checked in so that the generator,
// the validator and the raw table agree on one definition.
//
//go:embed export_schema.json
var exportSchemaJSON []byte

// bqField is one entry of a BigQuery schema JSON document.
type bqField struct {
	Name   string    `json:"name"`
	Type   string    `json:"type"`
	Mode   string    `json:"mode"`
	Fields []bqField `json:"fields,omitempty"`
}

// ExportSchemaJSON returns the export schema in BigQuery's schema JSON format.
func ExportSchemaJSON() []byte { return append([]byte(nil), exportSchemaJSON...) }

var parsed = sync.OnceValues(func() ([]warehouse.Column, error) {
	var fields []bqField
	if err := json.Unmarshal(exportSchemaJSON, &fields); err != nil {
		return nil, fmt.Errorf("parse embedded export_schema.json: %w", err)
	}
	return convertFields(fields)
})

// ExportColumns returns the columns of a GA4 events_ export table.
func ExportColumns() []warehouse.Column {
	cols, err := parsed()
	if err != nil {
		// The file is embedded at build time and covered by tests, so a
		// parse failure is a programming error, not an expected failure.
		panic(err)
	}
	return cloneColumns(cols)
}

// RawSchema is the schema of raw_ga4__events: every export column as
// exported, plus export_date (the partition), export_table, loaded_at and
// property_id (the GA4 property the row was exported from; NULL when a
// single unnamed export folder was loaded).
func RawSchema() warehouse.Schema {
	cols := ExportColumns()
	cols = append(cols,
		warehouse.Column{Name: "export_date", Type: warehouse.Date},
		warehouse.Column{Name: "export_table", Type: warehouse.String},
		warehouse.Column{Name: "loaded_at", Type: warehouse.Timestamp},
		propertyColumn,
	)
	return warehouse.Schema{Columns: cols, PartitionColumn: "export_date", ClusterBy: []string{"event_name"}}
}

// propertyColumn was added to raw_ga4__events after its first release;
// loaders add it to an older table (addPropertyColumn).
var propertyColumn = warehouse.Column{Name: "property_id", Type: warehouse.String}

func convertFields(fields []bqField) ([]warehouse.Column, error) {
	cols := make([]warehouse.Column, 0, len(fields))
	for _, f := range fields {
		c := warehouse.Column{Name: f.Name, Repeated: f.Mode == "REPEATED", Required: f.Mode == "REQUIRED"}
		switch f.Type {
		case "STRING":
			c.Type = warehouse.String
		case "INTEGER", "INT64":
			c.Type = warehouse.Int64
		case "FLOAT", "FLOAT64":
			c.Type = warehouse.Float64
		case "BOOLEAN", "BOOL":
			c.Type = warehouse.Bool
		case "RECORD", "STRUCT":
			c.Type = warehouse.Record
			sub, err := convertFields(f.Fields)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			c.Fields = sub
		default:
			return nil, fmt.Errorf("column %s: unsupported type %s", f.Name, f.Type)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func cloneColumns(cols []warehouse.Column) []warehouse.Column {
	out := make([]warehouse.Column, len(cols))
	for i, c := range cols {
		out[i] = c
		if c.Fields != nil {
			out[i].Fields = cloneColumns(c.Fields)
		}
	}
	return out
}
