package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/bigquery"

	"github.com/sam-attribution/sam/warehouse"
)

// bqTypes is the one mapping of warehouse types to BigQuery: the GoogleSQL
// name DDL uses and the client library's field type loads use.
var bqTypes = map[warehouse.Type]struct {
	sql   string
	field bigquery.FieldType
}{
	warehouse.String:    {"STRING", bigquery.StringFieldType},
	warehouse.Int64:     {"INT64", bigquery.IntegerFieldType},
	warehouse.Float64:   {"FLOAT64", bigquery.FloatFieldType},
	warehouse.Numeric:   {"NUMERIC", bigquery.NumericFieldType},
	warehouse.Bool:      {"BOOL", bigquery.BooleanFieldType},
	warehouse.Timestamp: {"TIMESTAMP", bigquery.TimestampFieldType},
	warehouse.Date:      {"DATE", bigquery.DateFieldType},
	warehouse.JSON:      {"JSON", bigquery.JSONFieldType},
	warehouse.Bytes:     {"BYTES", bigquery.BytesFieldType},
	warehouse.Record:    {"STRUCT", bigquery.RecordFieldType},
}

// fromBQType maps the REST API's legacy names to the warehouse's GoogleSQL
// names; other types (DATETIME, TIME, GEOGRAPHY, BIGNUMERIC, ...) keep
// BigQuery's name.
var fromBQType = map[bigquery.FieldType]warehouse.Type{
	bigquery.StringFieldType:    warehouse.String,
	bigquery.IntegerFieldType:   warehouse.Int64,
	"INT64":                     warehouse.Int64,
	bigquery.FloatFieldType:     warehouse.Float64,
	"FLOAT64":                   warehouse.Float64,
	bigquery.NumericFieldType:   warehouse.Numeric,
	bigquery.BooleanFieldType:   warehouse.Bool,
	"BOOL":                      warehouse.Bool,
	bigquery.TimestampFieldType: warehouse.Timestamp,
	bigquery.DateFieldType:      warehouse.Date,
	bigquery.JSONFieldType:      warehouse.JSON,
	bigquery.BytesFieldType:     warehouse.Bytes,
	bigquery.RecordFieldType:    warehouse.Record,
	"STRUCT":                    warehouse.Record,
}

func toBQSchema(cols []warehouse.Column) (bigquery.Schema, error) {
	out := make(bigquery.Schema, 0, len(cols))
	for _, c := range cols {
		if err := warehouse.CheckIdentifier("column", c.Name); err != nil {
			return nil, err
		}
		t, ok := bqTypes[c.Type]
		if !ok {
			return nil, fmt.Errorf("column %s: type %q has no BigQuery equivalent", c.Name, c.Type)
		}
		f := &bigquery.FieldSchema{Name: c.Name, Type: t.field, Repeated: c.Repeated, Required: c.Required && !c.Repeated}
		if c.Type == warehouse.Record {
			if len(c.Fields) == 0 {
				return nil, fmt.Errorf("column %s: a RECORD needs fields", c.Name)
			}
			sub, err := toBQSchema(c.Fields)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			f.Schema = sub
		}
		out = append(out, f)
	}
	return out, nil
}

func fromBQSchema(s bigquery.Schema) []warehouse.Column {
	if s == nil {
		return nil
	}
	out := make([]warehouse.Column, 0, len(s))
	for _, f := range s {
		t, ok := fromBQType[f.Type]
		if !ok {
			t = warehouse.Type(f.Type)
		}
		c := warehouse.Column{Name: f.Name, Type: t, Repeated: f.Repeated, Required: f.Required}
		if len(f.Schema) > 0 {
			c.Fields = fromBQSchema(f.Schema)
		}
		out = append(out, c)
	}
	return out
}

// Describe implements warehouse.Warehouse from the table's metadata.
func (db *DB) Describe(ctx context.Context, table string) (warehouse.Schema, error) {
	if err := warehouse.CheckIdentifier("table", table); err != nil {
		return warehouse.Schema{}, err
	}
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	md, err := db.tableRef(table).Metadata(cctx)
	if err != nil {
		if httpCode(err) == http.StatusNotFound {
			return warehouse.Schema{}, fmt.Errorf("describe %s: %w", db.QualifiedName(table), warehouse.ErrNotFound)
		}
		return warehouse.Schema{}, fmt.Errorf("describe %s: %w", db.QualifiedName(table), db.callErr(ctx, err))
	}
	s := warehouse.Schema{Columns: fromBQSchema(md.Schema)}
	if tp := md.TimePartitioning; tp != nil {
		s.PartitionColumn = tp.Field
		if s.PartitionColumn == "" {
			// Ingestion-time partitioning has no column; its pseudo
			// column is how SQL addresses it.
			s.PartitionColumn = "_PARTITIONDATE"
		}
	}
	if md.Clustering != nil {
		s.ClusterBy = append([]string(nil), md.Clustering.Fields...)
	}
	return s, nil
}

// tableMetadata is how SAM creates a table from a schema: day-partitioned
// on the partition column, clustered as asked.
func tableMetadata(s warehouse.Schema) (*bigquery.TableMetadata, error) {
	bs, err := toBQSchema(s.Columns)
	if err != nil {
		return nil, err
	}
	md := &bigquery.TableMetadata{Schema: bs}
	md.TimePartitioning, md.Clustering = partitioning(s)
	return md, nil
}

func partitioning(s warehouse.Schema) (*bigquery.TimePartitioning, *bigquery.Clustering) {
	var tp *bigquery.TimePartitioning
	var cl *bigquery.Clustering
	if s.PartitionColumn != "" {
		tp = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: s.PartitionColumn}
	}
	if len(s.ClusterBy) > 0 {
		cl = &bigquery.Clustering{Fields: append([]string(nil), s.ClusterBy...)}
	}
	return tp, cl
}

// ensureTable creates the table from s when it is absent and returns the
// table's schema as it is.
func (db *DB) ensureTable(ctx context.Context, table string, s warehouse.Schema) (warehouse.Schema, error) {
	got, err := db.Describe(ctx, table)
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, warehouse.ErrNotFound) {
		return warehouse.Schema{}, err
	}
	md, err := tableMetadata(s)
	if err != nil {
		return warehouse.Schema{}, fmt.Errorf("create %s: %w", db.QualifiedName(table), err)
	}
	cctx, cancel := db.callContext(ctx)
	defer cancel()
	if err := db.tableRef(table).Create(cctx, md); err != nil && httpCode(err) != http.StatusConflict {
		// A conflict means another worker created it first: fine.
		return warehouse.Schema{}, fmt.Errorf("create %s: %w", db.QualifiedName(table), db.callErr(ctx, err))
	}
	db.log.InfoContext(ctx, "created bigquery table", "table", table, "partition_column", s.PartitionColumn)
	return db.Describe(ctx, table)
}
