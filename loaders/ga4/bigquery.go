package ga4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// BigQueryLoader copies the GA4 export datasets' events_* tables into
// raw_ga4__events with one BigQuery script: the export stays where GA4
// writes it and BigQuery does the work. The script reads only the tables
// chosen (a constant _TABLE_SUFFIX list per dataset, so BigQuery prunes
// every other table) and replaces their days' partitions in one
// transaction. A daily table the lookback would copy again is left out
// when nothing was written to it since its copy (tablePrints).
//
// Several export datasets (one per GA4 property) are copied by one SELECT
// each, tagged with the property id their name carries
// (analytics_<property id>, as GA4 names them). A day's table is every
// property's table of that day, replaced together, as with export folders.
// A single dataset keeps property_id NULL, the unnamed property, as a
// single export folder does.
type BigQueryLoader struct {
	cfg     Options
	wh      warehouse.Warehouse
	log     *slog.Logger
	project string
	sources []exportDataset
	now     func() time.Time
}

// exportDataset is one export dataset and the property it is tagged with
// ("" for the unnamed property).
type exportDataset struct {
	name, property string
}

// datasetPropertyRE matches the dataset GA4 creates for a property's export.
var datasetPropertyRE = regexp.MustCompile(`^analytics_([0-9]{1,20})$`)

// exportSources tags each dataset with its property id; one dataset is the
// unnamed property.
func exportSources(datasets []string) ([]exportDataset, error) {
	if len(datasets) == 1 {
		return []exportDataset{{name: datasets[0]}}, nil
	}
	var out []exportDataset
	seen := map[string]string{}
	for _, ds := range datasets {
		m := datasetPropertyRE.FindStringSubmatch(ds)
		if m == nil {
			return nil, option.Invalid("ExportDatasets", ds, "is not named analytics_<property id>, which tags a property's rows when several datasets are copied")
		}
		if prev, dup := seen[m[1]]; dup {
			return nil, option.Invalid("ExportDatasets", ds, "holds property %s as %s does; list each property once", m[1], prev)
		}
		seen[m[1]] = ds
		out = append(out, exportDataset{name: ds, property: m[1]})
	}
	return out, nil
}

// NewBigQueryLoader returns a loader for cfg.ExportDataset and
// cfg.ExportDatasets in cfg.ExportProject. An empty ExportProject means the
// project of SAM's own dataset. log may be nil.
func NewBigQueryLoader(cfg Options, wh warehouse.Warehouse, log *slog.Logger) (*BigQueryLoader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !wh.Dialect().Features().BigQueryTables {
		return nil, fmt.Errorf("ga4: the BigQuery export loader needs the bigquery engine, not %s", wh.Dialect().Name())
	}
	if cfg.ExportDataset == "" {
		return nil, fmt.Errorf("ga4: %w", option.Invalid("ExportDataset", "", "is not set"))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sources, err := exportSources(cfg.exportDatasets())
	if err != nil {
		return nil, fmt.Errorf("ga4: %w", err)
	}
	project := cfg.ExportProject
	if project == "" {
		project = projectOf(wh.QualifiedName(RawTable))
	}
	if !warehouse.ValidProjectID(project) {
		return nil, fmt.Errorf("ga4: %w", option.Invalid("ExportProject", project, "is not a project id"))
	}
	return &BigQueryLoader{cfg: cfg, wh: wh, log: log, project: project, sources: sources, now: time.Now}, nil
}

// projectOf takes the project from a qualified name `project.dataset.table`.
func projectOf(qualified string) string {
	q := strings.Trim(qualified, "`")
	if i := strings.Index(q, "."); i > 0 {
		return q[:i]
	}
	return ""
}

var tableRE = regexp.MustCompile(`^events_(intraday_)?(\d{8})$`)

func (l *BigQueryLoader) dataset(name string) string { return "`" + l.project + "." + name + "`" }

// listTables reads an export dataset's table names from INFORMATION_SCHEMA
// (metadata only). events_fresh_* and anything else are ignored.
func (l *BigQueryLoader) listTables(ctx context.Context, ds string) (map[time.Time]exportTable, error) {
	q := "SELECT table_name FROM " + l.dataset(ds) + ".INFORMATION_SCHEMA.TABLES WHERE STARTS_WITH(table_name, 'events_')"
	rows, err := l.wh.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ga4: list export tables: %w", err)
	}
	defer rows.Close()
	out := map[time.Time]exportTable{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("ga4: list export tables: %w", err)
		}
		m := tableRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		d, ok := parseDay([]byte(m[2]))
		if !ok {
			continue
		}
		t := exportTable{day: d, intraday: m[1] != "", name: name}
		if prev, seen := out[d]; !seen || prev.intraday && !t.intraday {
			out[d] = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ga4: list export tables: %w", err)
	}
	return out, nil
}

// exportColumns returns the top-level columns of one export table, so that
// columns older exports lack load as NULL instead of failing the copy.
func (l *BigQueryLoader) exportColumns(ctx context.Context, ds, table string) (map[string]bool, error) {
	q := "SELECT column_name FROM " + l.dataset(ds) + ".INFORMATION_SCHEMA.COLUMNS WHERE table_name = ?"
	rows, err := l.wh.Query(ctx, q, table)
	if err != nil {
		return nil, fmt.Errorf("ga4: read export columns: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Load implements Loader.
func (l *BigQueryLoader) Load(ctx context.Context, runID string) (Result, error) {
	var res Result
	perSource := make([]map[time.Time]exportTable, len(l.sources))
	available := map[time.Time]exportTable{}
	for i, src := range l.sources {
		tables, err := l.listTables(ctx, src.name)
		if err != nil {
			return res, err
		}
		perSource[i] = tables
		for d, t := range tables {
			// One property still on its intraday table makes the day's
			// load intraday, so the day reloads when its daily table comes.
			if prev, ok := available[d]; ok && !t.intraday {
				t.intraday, t.name = prev.intraday, prev.name
			}
			available[d] = t
		}
	}
	// Every day: BigQuery cancels transactions that change one table at
	// once, so parallel tasks cannot share the copy (jobs leaves it to
	// task 0).
	tables, loaded, err := tablesToLoad(ctx, l.wh, l.cfg, Shard{}, available, time.Time{})
	if err != nil {
		return res, err
	}
	cursor := printCursor{l.wh, "bigquery", l.cfg.printDays()}
	was, err := cursor.read(ctx)
	if err != nil {
		return res, err
	}
	prints, err := l.tablePrints(ctx, tables, perSource)
	if err != nil {
		return res, err
	}
	tables = skipUnchanged(l.log, tables, loaded, was, prints)
	if len(tables) == 0 {
		l.log.Info("ga4: no export tables to load")
		return res, nil
	}
	plan := copyPlan{Target: l.wh.QualifiedName(RawTable), Tables: tables, Today: day(l.now().UTC())}
	for i, src := range l.sources {
		cs := copySource{Source: l.dataset(src.name), Property: src.property}
		for _, t := range tables {
			if own, ok := perSource[i][t.day]; ok {
				cs.Tables = append(cs.Tables, own)
			}
		}
		if len(cs.Tables) == 0 {
			continue
		}
		if cs.Have, err = l.exportColumns(ctx, src.name, cs.Tables[len(cs.Tables)-1].name); err != nil {
			return res, err
		}
		plan.Sources = append(plan.Sources, cs)
	}
	script, err := renderCopy(l.wh.Dialect(), plan)
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256([]byte(script))
	id := "sam_ga4_" + sanitize(runID) + "_" + hex.EncodeToString(sum[:8])
	r, err := l.wh.Exec(ctx, script, warehouse.WithJobID(id), warehouse.WithLabels(map[string]string{"sam_source": Source}))
	if err != nil {
		return res, fmt.Errorf("ga4: copy export tables: %w", err)
	}
	res.JobID, res.BytesProcessed = r.JobID, r.BytesProcessed
	if res.JobID == "" {
		res.JobID = id
	}
	for _, t := range tables {
		res.Days = append(res.Days, t.day)
		res.Tables = append(res.Tables, t.name)
	}
	if err := cursor.save(ctx, was, prints, res, day(l.now().UTC())); err != nil {
		return res, err
	}
	n, err := l.countDays(ctx, res.Days)
	if err != nil {
		return res, err
	}
	res.Counts = loaders.Counts{Read: n, Loaded: n}
	l.log.Info("ga4: copied export tables", "tables", len(tables), "rows", n, "bytes_processed", res.BytesProcessed, "job_id", res.JobID)
	return res, nil
}

// tablePrints fingerprints the chosen days a later lookback may reload:
// daily tables within Options.printDays of the newest. A day's fingerprint is
// each export dataset's table of the day with its row count and the time
// data was last written to it (INFORMATION_SCHEMA.PARTITIONS, metadata
// and not a scan), which BigQuery updates on every insert, load, stream
// and change; a deletion it may not record shows in the row count. An
// intraday day has none and is always copied: GA4 streams to its table
// all day, until the daily table replaces it.
func (l *BigQueryLoader) tablePrints(ctx context.Context, chosen []exportTable, perSource []map[time.Time]exportTable) (map[string]string, error) {
	prints := map[string]string{}
	if len(chosen) == 0 {
		return prints, nil
	}
	from := chosen[len(chosen)-1].day.AddDate(0, 0, -l.cfg.printDays())
	var days []exportTable
	for _, t := range chosen {
		if !t.intraday && !t.day.Before(from) {
			days = append(days, t)
		}
	}
	if len(days) == 0 {
		return prints, nil
	}
	meta := make([]map[string]string, len(l.sources))
	for i, src := range l.sources {
		var names []string
		for _, t := range days {
			if own, ok := perSource[i][t.day]; ok {
				names = append(names, own.name)
			}
		}
		if len(names) == 0 {
			continue
		}
		var err error
		if meta[i], err = l.tableMeta(ctx, src.name, names); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			// Skipping is a saving, not a need: copy every chosen day.
			l.log.Warn("ga4: could not read the export tables' metadata; the lookback is copied whole", "dataset", src.name, "error", err)
			return map[string]string{}, nil
		}
	}
	for _, t := range days {
		h := sha256.New()
		ok := true
		for i, src := range l.sources {
			own, has := perSource[i][t.day]
			if !has {
				continue
			}
			m, found := meta[i][own.name]
			if !found {
				ok = false
				break
			}
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00", src.name, own.name, m)
		}
		if ok {
			prints[t.name] = hex.EncodeToString(h.Sum(nil)[:16])
		}
	}
	return prints, nil
}

// metaTables is how many tables one read of INFORMATION_SCHEMA.PARTITIONS
// names: the view answers at most 1,000 tables a query.
const metaTables = 500

// tableMeta reads the row count and last write time of the named tables
// of an export dataset, as "rows/microseconds" by table. A table with both
// active and long-term storage has a row for each.
func (l *BigQueryLoader) tableMeta(ctx context.Context, ds string, names []string) (map[string]string, error) {
	out := map[string]string{}
	for chunk := range slices.Chunk(names, metaTables) {
		if err := l.readTableMeta(ctx, ds, chunk, out); err != nil {
			return nil, fmt.Errorf("ga4: read export table metadata: %w", err)
		}
	}
	return out, nil
}

func (l *BigQueryLoader) readTableMeta(ctx context.Context, ds string, names []string, out map[string]string) error {
	d := l.wh.Dialect()
	lits := make([]string, len(names))
	for i, n := range names {
		lits[i] = d.StringLiteral(n)
	}
	q := "SELECT table_name, SUM(total_rows) AS row_count, UNIX_MICROS(MAX(last_modified_time)) AS modified_us FROM " + l.dataset(ds) +
		".INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN (" + strings.Join(lits, ", ") + ")" +
		" GROUP BY table_name HAVING SUM(total_rows) IS NOT NULL AND MAX(last_modified_time) IS NOT NULL"
	rows, err := l.wh.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var total, modified int64
		if err := rows.Scan(&name, &total, &modified); err != nil {
			return err
		}
		out[name] = fmt.Sprintf("%d/%d", total, modified)
	}
	return rows.Err()
}

func (l *BigQueryLoader) countDays(ctx context.Context, days []time.Time) (int64, error) {
	q := "SELECT COUNT(*) FROM " + l.wh.QualifiedName(RawTable) + " WHERE export_date IN (" + dateList(days) + ")"
	rows, err := l.wh.Query(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("ga4: count loaded rows: %w", err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil || len(all) != 1 {
		return 0, fmt.Errorf("ga4: count loaded rows: %v", err)
	}
	var n int64
	return n, warehouse.ConvertAssign(&n, all[0][0])
}

func dateList(days []time.Time) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = "DATE '" + d.Format(time.DateOnly) + "'"
	}
	return strings.Join(parts, ", ")
}

// copyPlan is what renderCopy needs.
type copyPlan struct {
	Target string // qualified raw_ga4__events
	// Tables are the days' tables: each day's is intraday when any
	// source's is, and every row copied for the day is tagged with it.
	Tables  []exportTable
	Sources []copySource
	Today   time.Time
}

// copySource is one export dataset's share of a copy.
type copySource struct {
	Source string // `project.dataset` of the export
	// Property tags the rows; "" leaves property_id NULL.
	Property string
	Tables   []exportTable // this dataset's tables, of the plan's days
	// Have lists the export's top-level columns; nil means all.
	Have map[string]bool
}

// renderCopy renders the BigQuery script that creates raw_ga4__events when
// absent and replaces the chosen days' partitions with the chosen tables,
// one SELECT per export dataset.
func renderCopy(d warehouse.Dialect, p copyPlan) (string, error) {
	if len(p.Tables) == 0 || len(p.Sources) == 0 {
		return "", fmt.Errorf("ga4: no tables to copy")
	}
	first, last := p.Tables[0].day, p.Tables[0].day
	dayTable := map[time.Time]exportTable{}
	var days []time.Time
	for _, t := range p.Tables {
		if t.day.After(p.Today) {
			return "", fmt.Errorf("ga4: export table %s is dated after today", t.name)
		}
		if t.day.Before(first) {
			first = t.day
		}
		if t.day.After(last) {
			last = t.day
		}
		dayTable[t.day] = t
		days = append(days, t.day)
	}
	var defs, names []string
	for _, c := range RawSchema().Columns {
		ddl, err := d.ColumnType(c)
		if err != nil {
			return "", fmt.Errorf("ga4: %w", err)
		}
		defs = append(defs, "  "+c.Name+" "+ddl)
		switch c.Name {
		case "export_date", "export_table", "loaded_at":
			continue
		}
		names = append(names, c.Name)
	}
	var selects []string
	n := 0
	for _, src := range p.Sources {
		q, err := renderSelect(d, src, dayTable)
		if err != nil {
			return "", err
		}
		selects = append(selects, q)
		n += len(src.Tables)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- SAM: copy %d GA4 export table(s), %s..%s, into %s (daily tables win over intraday; fresh_ tables are never read).\n",
		n, first.Format(time.DateOnly), last.Format(time.DateOnly), p.Target)
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n%s\n)\nPARTITION BY export_date\nCLUSTER BY event_name;\n\n", p.Target, strings.Join(defs, ",\n"))
	b.WriteString("BEGIN TRANSACTION;\n\n")
	fmt.Fprintf(&b, "DELETE FROM %s\nWHERE export_date IN (%s);\n\n", p.Target, dateList(days))
	fmt.Fprintf(&b, "INSERT INTO %s (%s, export_date, export_table, loaded_at)\n", p.Target, strings.Join(names, ", "))
	b.WriteString(strings.Join(selects, "\nUNION ALL\n"))
	b.WriteString(";\n\nCOMMIT TRANSACTION;\n")
	return b.String(), nil
}

// renderSelect renders one export dataset's SELECT of the copy, bounded by
// its own _TABLE_SUFFIX list. dayTable is the table each day is tagged
// with.
func renderSelect(d warehouse.Dialect, src copySource, dayTable map[time.Time]exportTable) (string, error) {
	var suffixes, promoted []string
	first, last := src.Tables[0].day, src.Tables[0].day
	for _, t := range src.Tables {
		suffix := strings.TrimPrefix(t.name, "events_")
		suffixes = append(suffixes, "'"+suffix+"'")
		if !t.intraday && dayTable[t.day].intraday {
			// Another property is still intraday on this day.
			promoted = append(promoted, "'"+suffix+"'")
		}
		if t.day.Before(first) {
			first = t.day
		}
		if t.day.After(last) {
			last = t.day
		}
	}
	var sel []string
	for _, c := range RawSchema().Columns {
		ddl, err := d.ColumnType(c)
		if err != nil {
			return "", fmt.Errorf("ga4: %w", err)
		}
		switch {
		case c.Name == "export_date", c.Name == "export_table", c.Name == "loaded_at":
		case c.Name == propertyColumn.Name && src.Property == "":
			// one dataset: the unnamed property, as a single export folder
			sel = append(sel, "CAST(NULL AS "+ddl+") AS "+c.Name)
		case c.Name == propertyColumn.Name:
			sel = append(sel, "'"+src.Property+"' AS "+c.Name)
		case (src.Have == nil || src.Have[c.Name]) && c.Type == warehouse.Record:
			// by field name: BigQuery would coerce a whole STRUCT into the
			// raw column by position, and export tables order a record's
			// fields differently, or add fields to it
			sel = append(sel, recordExpr(d, c, d.QuoteIdent(c.Name), 0)+" AS "+c.Name)
		case src.Have == nil || src.Have[c.Name]:
			sel = append(sel, c.Name)
		default:
			sel = append(sel, "CAST(NULL AS "+ddl+") AS "+c.Name)
		}
	}
	exportTable := "CONCAT('events_', _TABLE_SUFFIX)"
	if len(promoted) > 0 {
		exportTable = fmt.Sprintf("IF(_TABLE_SUFFIX IN (%s), CONCAT('events_intraday_', _TABLE_SUFFIX), %s)", strings.Join(promoted, ", "), exportTable)
	}
	f, l := first.Format("20060102"), last.Format("20060102")
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT\n  %s,\n", strings.Join(sel, ",\n  "))
	b.WriteString("  PARSE_DATE('%Y%m%d', RIGHT(_TABLE_SUFFIX, 8)) AS export_date,\n")
	fmt.Fprintf(&b, "  %s AS export_table,\n", exportTable)
	b.WriteString("  CURRENT_TIMESTAMP() AS loaded_at\n")
	fmt.Fprintf(&b, "FROM %s\n", strings.TrimSuffix(src.Source, "`")+".events_*`")
	fmt.Fprintf(&b, "WHERE (_TABLE_SUFFIX BETWEEN '%s' AND '%s' OR _TABLE_SUFFIX BETWEEN 'intraday_%s' AND 'intraday_%s')\n", f, l, f, l)
	fmt.Fprintf(&b, "  AND _TABLE_SUFFIX IN (%s)", strings.Join(suffixes, ", "))
	return b.String(), nil
}

// recordExpr rebuilds the record column c, read at ref, field by field by
// name in the raw table's order: a STRUCT, or for a repeated record an
// ARRAY of them in the export's order. depth names the UNNEST aliases.
func recordExpr(d warehouse.Dialect, c warehouse.Column, ref string, depth int) string {
	fields := func(base string) string {
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			at := base + "." + d.QuoteIdent(f.Name)
			if f.Type == warehouse.Record {
				at = recordExpr(d, f, at, depth+1)
			}
			parts[i] = at + " AS " + d.QuoteIdent(f.Name)
		}
		return strings.Join(parts, ", ")
	}
	if c.Repeated {
		e := fmt.Sprintf("e%d", depth)
		return fmt.Sprintf("ARRAY(SELECT AS STRUCT %s FROM UNNEST(%s) AS %s WITH OFFSET AS %s_at ORDER BY %s_at)", fields(e), ref, e, e, e)
	}
	return fmt.Sprintf("IF(%s IS NULL, NULL, STRUCT(%s))", ref, fields(ref))
}
