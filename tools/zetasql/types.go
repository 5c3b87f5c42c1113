package zetasql

import (
	"fmt"
	"strings"

	"github.com/sam-attribution/sam/warehouse"
)

// Types BigQuery has beyond the ones warehouse names. Analyze reports them
// in output columns; catalogs may use them.
const (
	Datetime   warehouse.Type = "DATETIME"
	Time       warehouse.Type = "TIME"
	BigNumeric warehouse.Type = "BIGNUMERIC"
	Geography  warehouse.Type = "GEOGRAPHY"
	Interval   warehouse.Type = "INTERVAL"
)

// typeKinds maps BigQuery type names (including the legacy names BigQuery
// schema JSON uses: INTEGER, FLOAT, BOOLEAN, STRUCT) to ZetaSQL TypeKind
// enum names.
var typeKinds = map[warehouse.Type]string{
	warehouse.String:    "TYPE_STRING",
	warehouse.Int64:     "TYPE_INT64",
	"INTEGER":           "TYPE_INT64",
	warehouse.Float64:   "TYPE_DOUBLE",
	"FLOAT":             "TYPE_DOUBLE",
	warehouse.Numeric:   "TYPE_NUMERIC",
	BigNumeric:          "TYPE_BIGNUMERIC",
	warehouse.Bool:      "TYPE_BOOL",
	"BOOLEAN":           "TYPE_BOOL",
	warehouse.Timestamp: "TYPE_TIMESTAMP",
	warehouse.Date:      "TYPE_DATE",
	Datetime:            "TYPE_DATETIME",
	Time:                "TYPE_TIME",
	warehouse.JSON:      "TYPE_JSON",
	warehouse.Bytes:     "TYPE_BYTES",
	Geography:           "TYPE_GEOGRAPHY",
	Interval:            "TYPE_INTERVAL",
}

// warehouseTypes is the reverse of typeKinds, using the canonical names.
var warehouseTypes = map[string]warehouse.Type{
	"TYPE_STRING":     warehouse.String,
	"TYPE_INT64":      warehouse.Int64,
	"TYPE_DOUBLE":     warehouse.Float64,
	"TYPE_NUMERIC":    warehouse.Numeric,
	"TYPE_BIGNUMERIC": BigNumeric,
	"TYPE_BOOL":       warehouse.Bool,
	"TYPE_TIMESTAMP":  warehouse.Timestamp,
	"TYPE_DATE":       warehouse.Date,
	"TYPE_DATETIME":   Datetime,
	"TYPE_TIME":       Time,
	"TYPE_JSON":       warehouse.JSON,
	"TYPE_BYTES":      warehouse.Bytes,
	"TYPE_GEOGRAPHY":  Geography,
	"TYPE_INTERVAL":   Interval,
	"TYPE_STRUCT":     warehouse.Record,
}

// typeProto is the JSON form of zetasql.TypeProto (the fields SAM uses).
type typeProto struct {
	TypeKind   string           `json:"type_kind,omitempty"`
	ArrayType  *arrayTypeProto  `json:"array_type,omitempty"`
	StructType *structTypeProto `json:"struct_type,omitempty"`
}

type arrayTypeProto struct {
	ElementType *typeProto `json:"element_type,omitempty"`
}

type structTypeProto struct {
	Field []structFieldProto `json:"field,omitempty"`
}

type structFieldProto struct {
	FieldName string     `json:"field_name,omitempty"`
	FieldType *typeProto `json:"field_type,omitempty"`
}

// columnType returns the ZetaSQL type of a column: its element type wrapped
// in an array when Repeated.
func columnType(c warehouse.Column) (*typeProto, error) {
	elem, err := elementType(c)
	if err != nil {
		return nil, err
	}
	if c.Repeated {
		return &typeProto{TypeKind: "TYPE_ARRAY", ArrayType: &arrayTypeProto{ElementType: elem}}, nil
	}
	return elem, nil
}

func elementType(c warehouse.Column) (*typeProto, error) {
	t := warehouse.Type(strings.ToUpper(string(c.Type)))
	if t == warehouse.Record || t == "STRUCT" {
		if len(c.Fields) == 0 {
			return nil, fmt.Errorf("column %s: RECORD without fields", c.Name)
		}
		st := &structTypeProto{}
		for _, f := range c.Fields {
			ft, err := columnType(f)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			st.Field = append(st.Field, structFieldProto{FieldName: f.Name, FieldType: ft})
		}
		return &typeProto{TypeKind: "TYPE_STRUCT", StructType: st}, nil
	}
	kind, ok := typeKinds[t]
	if !ok {
		return nil, fmt.Errorf("column %s: unsupported type %q", c.Name, c.Type)
	}
	return &typeProto{TypeKind: kind}, nil
}

// column turns a ZetaSQL type back into a warehouse column named name.
// ARRAY<T> becomes T with Repeated set; arrays of arrays (which BigQuery
// cannot store) are an error.
func column(name string, t *typeProto) (warehouse.Column, error) {
	if t == nil {
		return warehouse.Column{}, fmt.Errorf("column %s: no type", name)
	}
	if t.TypeKind == "TYPE_ARRAY" {
		if t.ArrayType == nil || t.ArrayType.ElementType == nil {
			return warehouse.Column{}, fmt.Errorf("column %s: array without element type", name)
		}
		if t.ArrayType.ElementType.TypeKind == "TYPE_ARRAY" {
			return warehouse.Column{}, fmt.Errorf("column %s: arrays of arrays cannot be stored", name)
		}
		c, err := column(name, t.ArrayType.ElementType)
		c.Repeated = true
		return c, err
	}
	wt, ok := warehouseTypes[t.TypeKind]
	if !ok {
		return warehouse.Column{}, fmt.Errorf("column %s: type %s has no BigQuery equivalent", name, t.TypeKind)
	}
	c := warehouse.Column{Name: name, Type: wt}
	if wt == warehouse.Record {
		if t.StructType == nil {
			return warehouse.Column{}, fmt.Errorf("column %s: struct without fields", name)
		}
		for _, f := range t.StructType.Field {
			fc, err := column(f.FieldName, f.FieldType)
			if err != nil {
				return warehouse.Column{}, fmt.Errorf("column %s: %w", name, err)
			}
			c.Fields = append(c.Fields, fc)
		}
	}
	return c, nil
}

// TypeString renders a column's type in BigQuery syntax, for messages:
// ARRAY<STRUCT<key STRING, value INT64>>.
func TypeString(c warehouse.Column) string {
	var s string
	if c.Type == warehouse.Record {
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = f.Name + " " + TypeString(f)
		}
		s = "STRUCT<" + strings.Join(parts, ", ") + ">"
	} else {
		s = string(c.Type)
	}
	if c.Repeated {
		s = "ARRAY<" + s + ">"
	}
	return s
}
