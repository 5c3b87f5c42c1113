package zetasql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sam-attribution/sam/warehouse"
)

// Table is one table a statement may read.
type Table struct {
	// Path names the table as SQL spells it, split at the dots:
	// ["my-project", "sam", "stg_ga4__events"] or, for a wildcard table,
	// ["my-project", "analytics_123", "events_*"].
	Path []string
	// Columns are the table's columns.
	Columns []warehouse.Column
	// PseudoColumns can be selected and filtered on but are not part of
	// SELECT * (BigQuery's _TABLE_SUFFIX on wildcard tables,
	// _PARTITIONTIME, ...).
	PseudoColumns []warehouse.Column
	// Rows are the table's contents, positionally matching Columns then
	// PseudoColumns; only EvaluateQuery reads them. Values use the Go types
	// of warehouse.Rows.Values: nil, string, int or int64, float64, bool,
	// []byte, time.Time, []any for arrays, map[string]any for structs; DATE
	// also takes "YYYY-MM-DD", TIMESTAMP RFC 3339 text, NUMERIC decimal text
	// or a *big.Rat.
	Rows [][]any
}

// Name is the table's path joined with dots.
func (t Table) Name() string { return strings.Join(t.Path, ".") }

func (t Table) allColumns() []warehouse.Column {
	return append(slices.Clone(t.Columns), t.PseudoColumns...)
}

// Catalog is the set of tables a statement is analyzed against. A table is
// reachable by its path written either as separate identifiers
// (proj.sam.t, `proj`.`sam`.`t`) or as one quoted identifier (`proj.sam.t`),
// as BigQuery allows. Lookups are case-insensitive, as in ZetaSQL's
// SimpleCatalog. A Catalog is not safe for concurrent modification.
type Catalog struct {
	tables []Table
	index  map[string]int // lower-cased Name -> position in tables
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{index: map[string]int{}} }

// Add adds a table. Adding a second table with the same path (ignoring case)
// is an error; use Replace to update one.
func (c *Catalog) Add(t Table) error {
	if err := checkTable(t); err != nil {
		return err
	}
	key := strings.ToLower(t.Name())
	if _, ok := c.index[key]; ok {
		return fmt.Errorf("catalog: table %s added twice", t.Name())
	}
	c.index[key] = len(c.tables)
	c.tables = append(c.tables, t)
	return nil
}

// Replace adds a table or replaces the one with the same path.
func (c *Catalog) Replace(t Table) error {
	if err := checkTable(t); err != nil {
		return err
	}
	key := strings.ToLower(t.Name())
	if i, ok := c.index[key]; ok {
		c.tables[i] = t
		return nil
	}
	c.index[key] = len(c.tables)
	c.tables = append(c.tables, t)
	return nil
}

func checkTable(t Table) error {
	if len(t.Path) == 0 || slices.Contains(t.Path, "") {
		return fmt.Errorf("catalog: table path %q has an empty part", t.Path)
	}
	if len(t.Columns) == 0 {
		return fmt.Errorf("catalog: table %s has no columns", t.Name())
	}
	seen := map[string]bool{}
	for _, col := range t.allColumns() {
		k := strings.ToLower(col.Name)
		if seen[k] {
			return fmt.Errorf("catalog: table %s has column %s twice", t.Name(), col.Name)
		}
		seen[k] = true
	}
	return nil
}

// Table returns the table with the given path (parts joined with dots).
func (c *Catalog) Table(name string) (Table, bool) {
	i, ok := c.index[strings.ToLower(name)]
	if !ok {
		return Table{}, false
	}
	return c.tables[i], true
}

// Tables returns the tables in the order they were added.
func (c *Catalog) Tables() []Table { return slices.Clone(c.tables) }

// Clone returns a copy that can be changed without affecting c.
func (c *Catalog) Clone() *Catalog {
	d := &Catalog{tables: slices.Clone(c.tables), index: make(map[string]int, len(c.index))}
	for k, v := range c.index {
		d.index[k] = v
	}
	return d
}

// simpleCatalogProto is the JSON form of zetasql.SimpleCatalogProto.
type simpleCatalogProto struct {
	Name                   string                `json:"name,omitempty"`
	Table                  []simpleTableProto    `json:"table,omitempty"`
	Catalog                []*simpleCatalogProto `json:"catalog,omitempty"`
	BuiltinFunctionOptions *builtinOptionsProto  `json:"builtin_function_options,omitempty"`
}

type builtinOptionsProto struct {
	LanguageOptions *languageOptionsProto `json:"language_options,omitempty"`
}

type simpleTableProto struct {
	Name            string              `json:"name,omitempty"`
	SerializationID int64               `json:"serialization_id,omitempty"`
	Column          []simpleColumnProto `json:"column,omitempty"`
	NameInCatalog   string              `json:"name_in_catalog,omitempty"`
	FullName        string              `json:"full_name,omitempty"`
}

type simpleColumnProto struct {
	Name           string     `json:"name,omitempty"`
	Type           *typeProto `json:"type,omitempty"`
	IsPseudoColumn bool       `json:"is_pseudo_column,omitempty"`
}

// proto builds the SimpleCatalogProto: every table once in the root catalog
// under its dotted name (for `proj.sam.t`) and, when nested is set and the
// path has several parts, once more in nested catalogs (for proj.sam.t). The
// root copy keeps the dotted name as its table name, which is also the key
// EvaluateQuery's table contents use.
//
// Only tables whose name sql mentions are sent: a statement cannot read a
// table it does not name, and the service deserializes the whole catalog on
// every call, which for the GA4 export's nested schema dominates the cost.
func (c *Catalog) proto(lang *languageOptionsProto, nested bool, sql string) (*simpleCatalogProto, error) {
	root := &simpleCatalogProto{BuiltinFunctionOptions: &builtinOptionsProto{LanguageOptions: lang}}
	lower := strings.ToLower(sql)
	for i, t := range c.tables {
		if !strings.Contains(lower, strings.ToLower(t.Path[len(t.Path)-1])) {
			continue
		}
		cols, err := columnsProto(t)
		if err != nil {
			return nil, fmt.Errorf("catalog table %s: %w", t.Name(), err)
		}
		name := t.Name()
		root.Table = append(root.Table, simpleTableProto{Name: name, Column: cols, FullName: name, SerializationID: int64(2*i + 1)})
		if !nested || len(t.Path) == 1 {
			continue
		}
		sub := root
		for _, part := range t.Path[:len(t.Path)-1] {
			sub = childCatalog(sub, part)
		}
		last := t.Path[len(t.Path)-1]
		sub.Table = append(sub.Table, simpleTableProto{Name: last, NameInCatalog: last, Column: cols, FullName: name, SerializationID: int64(2*i + 2)})
	}
	return root, nil
}

func childCatalog(parent *simpleCatalogProto, name string) *simpleCatalogProto {
	for _, ch := range parent.Catalog {
		if strings.EqualFold(ch.Name, name) {
			return ch
		}
	}
	ch := &simpleCatalogProto{Name: name}
	parent.Catalog = append(parent.Catalog, ch)
	return ch
}

func columnsProto(t Table) ([]simpleColumnProto, error) {
	var out []simpleColumnProto
	for i, col := range t.allColumns() {
		tp, err := columnType(col)
		if err != nil {
			return nil, err
		}
		out = append(out, simpleColumnProto{Name: col.Name, Type: tp, IsPseudoColumn: i >= len(t.Columns)})
	}
	return out, nil
}
