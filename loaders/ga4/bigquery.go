package ga4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// BigQueryLoader copies the GA4 export dataset's events_* tables into
// raw_ga4__events with one BigQuery script: the export stays where GA4
// writes it and BigQuery does the work. The script reads only the tables
// chosen (a constant _TABLE_SUFFIX list, so BigQuery prunes every other
// table) and replaces their days' partitions in one transaction.
type BigQueryLoader struct {
	shard   Shard
	cfg     Options
	wh      warehouse.Warehouse
	log     *slog.Logger
	project string
	now     func() time.Time
}

// NewBigQueryLoader returns a loader for cfg.ExportProject.cfg.ExportDataset.
// An empty ExportProject means the project of SAM's own dataset. log may be
// nil.
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
	if len(cfg.ExportDatasets) > 0 {
		// TODO(issue 17): copy several datasets, each tagged with its
		// property id, in one script.
		return nil, fmt.Errorf("ga4: %w", option.Invalid("ExportDatasets", fmt.Sprint(cfg.ExportDatasets), "several export datasets are not supported by the BigQuery loader yet"))
	}
	project := cfg.ExportProject
	if project == "" {
		project = projectOf(wh.QualifiedName(RawTable))
	}
	if !warehouse.ValidProjectID(project) {
		return nil, fmt.Errorf("ga4: %w", option.Invalid("ExportProject", project, "is not a project id"))
	}
	return &BigQueryLoader{cfg: cfg, wh: wh, log: log, project: project, now: time.Now}, nil
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

func (l *BigQueryLoader) dataset() string { return "`" + l.project + "." + l.cfg.ExportDataset + "`" }

// listTables reads the export dataset's table names from INFORMATION_SCHEMA
// (metadata only). events_fresh_* and anything else are ignored.
func (l *BigQueryLoader) listTables(ctx context.Context) (map[time.Time]exportTable, error) {
	q := "SELECT table_name FROM " + l.dataset() + ".INFORMATION_SCHEMA.TABLES WHERE STARTS_WITH(table_name, 'events_')"
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
func (l *BigQueryLoader) exportColumns(ctx context.Context, table string) (map[string]bool, error) {
	q := "SELECT column_name FROM " + l.dataset() + ".INFORMATION_SCHEMA.COLUMNS WHERE table_name = ?"
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
	available, err := l.listTables(ctx)
	if err != nil {
		return res, err
	}
	tables, err := tablesToLoad(ctx, l.wh, l.cfg, l.shard, available, time.Time{})
	if err != nil {
		return res, err
	}
	if len(tables) == 0 {
		l.log.Info("ga4: no export tables to load")
		return res, nil
	}
	have, err := l.exportColumns(ctx, tables[len(tables)-1].name)
	if err != nil {
		return res, err
	}
	script, err := renderCopy(l.wh.Dialect(), copyPlan{
		Source: l.dataset(), Target: l.wh.QualifiedName(RawTable), Tables: tables, Have: have,
		Today: day(l.now().UTC()),
	})
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
	n, err := l.countDays(ctx, res.Days)
	if err != nil {
		return res, err
	}
	res.Counts = loaders.Counts{Read: n, Loaded: n}
	l.log.Info("ga4: copied export tables", "tables", len(tables), "rows", n, "bytes_processed", res.BytesProcessed, "job_id", res.JobID)
	return res, nil
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
	Source string // `project.dataset` of the export
	Target string // qualified raw_ga4__events
	Tables []exportTable
	// Have lists the export's top-level columns; nil means all.
	Have  map[string]bool
	Today time.Time
}

// renderCopy renders the BigQuery script that creates raw_ga4__events when
// absent and replaces the chosen days' partitions with the chosen tables.
func renderCopy(d warehouse.Dialect, p copyPlan) (string, error) {
	if len(p.Tables) == 0 {
		return "", fmt.Errorf("ga4: no tables to copy")
	}
	var suffixes []string
	first, last := p.Tables[0].day, p.Tables[0].day
	for _, t := range p.Tables {
		if t.day.After(p.Today) {
			return "", fmt.Errorf("ga4: export table %s is dated after today", t.name)
		}
		suffix := strings.TrimPrefix(t.name, "events_")
		suffixes = append(suffixes, "'"+suffix+"'")
		if t.day.Before(first) {
			first = t.day
		}
		if t.day.After(last) {
			last = t.day
		}
	}
	var days []time.Time
	for _, t := range p.Tables {
		days = append(days, t.day)
	}
	schema := RawSchema()
	var defs, names, sel []string
	for _, c := range schema.Columns {
		ddl, err := d.ColumnType(c)
		if err != nil {
			return "", fmt.Errorf("ga4: %w", err)
		}
		defs = append(defs, "  "+c.Name+" "+ddl)
		switch c.Name {
		case "export_date", "export_table", "loaded_at":
			continue
		case propertyColumn.Name:
			// one dataset: the unnamed property, as a single export folder
			names = append(names, c.Name)
			sel = append(sel, "CAST(NULL AS "+ddl+") AS "+c.Name)
			continue
		}
		names = append(names, c.Name)
		if p.Have == nil || p.Have[c.Name] {
			sel = append(sel, c.Name)
		} else {
			sel = append(sel, "CAST(NULL AS "+ddl+") AS "+c.Name)
		}
	}
	f, l := first.Format("20060102"), last.Format("20060102")
	var b strings.Builder
	fmt.Fprintf(&b, "-- SAM: copy %d GA4 export table(s), %s..%s, into %s (daily tables win over intraday; fresh_ tables are never read).\n",
		len(p.Tables), first.Format(time.DateOnly), last.Format(time.DateOnly), p.Target)
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n%s\n)\nPARTITION BY export_date\nCLUSTER BY event_name;\n\n", p.Target, strings.Join(defs, ",\n"))
	b.WriteString("BEGIN TRANSACTION;\n\n")
	fmt.Fprintf(&b, "DELETE FROM %s\nWHERE export_date IN (%s);\n\n", p.Target, dateList(days))
	fmt.Fprintf(&b, "INSERT INTO %s (%s, export_date, export_table, loaded_at)\nSELECT\n  %s,\n", p.Target, strings.Join(names, ", "), strings.Join(sel, ",\n  "))
	b.WriteString("  PARSE_DATE('%Y%m%d', RIGHT(_TABLE_SUFFIX, 8)) AS export_date,\n")
	b.WriteString("  CONCAT('events_', _TABLE_SUFFIX) AS export_table,\n")
	b.WriteString("  CURRENT_TIMESTAMP() AS loaded_at\n")
	fmt.Fprintf(&b, "FROM %s\n", strings.TrimSuffix(p.Source, "`")+".events_*`")
	fmt.Fprintf(&b, "WHERE (_TABLE_SUFFIX BETWEEN '%s' AND '%s' OR _TABLE_SUFFIX BETWEEN 'intraday_%s' AND 'intraday_%s')\n", f, l, f, l)
	fmt.Fprintf(&b, "  AND _TABLE_SUFFIX IN (%s);\n\n", strings.Join(suffixes, ", "))
	b.WriteString("COMMIT TRANSACTION;\n")
	return b.String(), nil
}

// WithShard makes the loader load only the days of shard s (Cloud Run task
// parallelism); the zero Shard means every day.
func (l *BigQueryLoader) WithShard(s Shard) *BigQueryLoader {
	l.shard = s
	return l
}
