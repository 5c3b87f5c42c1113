// Package spend owns the ad spend and currency rate loader: it reads the
// daily spend CSV files (date,source,medium,campaign,cost,currency) from
// Options.Dir into raw_spend__daily and the currency rates CSV
// (date,from_currency,to_currency,rate) from Options.FXRatesFile into
// raw_fx__rates. Rows it cannot load go to the shared rejects table with
// their reason and raw line.
//
// Both tables are replaced on every load: spend files are small and are
// re-exported whole by the ad platforms, so a whole reload is idempotent and
// picks up restated figures. Channel grouping and currency conversion happen
// in the SQL models (stg_spend__daily, stg_fx__rates), not here.
//
// The package imports loaders, internal/option and warehouse only.
package spend

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// Raw tables this package writes.
const (
	SpendTable = "raw_spend__daily"
	FXTable    = "raw_fx__rates"
)

// Reject sources: spend file rows and currency rate rows.
const (
	sourceSpend = "spend"
	sourceFX    = "fx"
)

// SpendSchema is raw_spend__daily: one loaded CSV row, with the file and line
// it came from so a figure can be traced back.
var SpendSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "spend_date", Type: warehouse.Date},
	{Name: "source", Type: warehouse.String},
	{Name: "medium", Type: warehouse.String},
	{Name: "campaign", Type: warehouse.String},
	{Name: "cost", Type: warehouse.Numeric},
	{Name: "currency", Type: warehouse.String},
	{Name: "file", Type: warehouse.String},
	{Name: "line", Type: warehouse.Int64},
	{Name: "loaded_at", Type: warehouse.Timestamp},
}}

// FXSchema is raw_fx__rates: one rate per (date, from, to); an amount in
// from_currency times rate is the amount in to_currency.
var FXSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "rate_date", Type: warehouse.Date},
	{Name: "from_currency", Type: warehouse.String},
	{Name: "to_currency", Type: warehouse.String},
	{Name: "rate", Type: warehouse.Numeric},
	{Name: "file", Type: warehouse.String},
	{Name: "line", Type: warehouse.Int64},
	{Name: "loaded_at", Type: warehouse.Timestamp},
}}

var (
	spendColumns = []string{"date", "source", "medium", "campaign", "cost", "currency"}
	fxColumns    = []string{"date", "from_currency", "to_currency", "rate"}
)

// Options locate the spend files.
type Options struct {
	// Dir holds the daily spend CSV files.
	Dir string
	// FXRatesFile is the currency rates CSV.
	FXRatesFile string
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	if o.Dir == "" {
		return fmt.Errorf("spend: %w", option.Invalid("Dir", "", "is not set"))
	}
	if o.FXRatesFile == "" {
		return fmt.Errorf("spend: %w", option.Invalid("FXRatesFile", "", "is not set"))
	}
	return nil
}

// Load reads every *.csv file in cfg.Dir and the rates file
// cfg.FXRatesFile, replaces raw_spend__daily and raw_fx__rates with the rows
// that parse, and appends the others to the rejects table. A missing spend
// directory or rates file loads an empty table (logged), so a deployment
// without spend data still builds its models; an unreadable one is an error.
// The counts cover both tables.
func Load(ctx context.Context, wh warehouse.Warehouse, cfg Options, runID string, logger *slog.Logger) (loaders.Counts, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now().UTC()
	var total loaders.Counts
	if err := cfg.Validate(); err != nil {
		return total, err
	}

	spendRows, spendRejects, spendCounts, err := readSpendDir(ctx, cfg.Dir, now, logger)
	if err != nil {
		return total, err
	}
	fxRows, fxRejects, fxCounts, err := readFXFile(cfg.FXRatesFile, now, logger)
	if err != nil {
		return total, err
	}

	if err := replace(ctx, wh, SpendTable, SpendSchema, spendRows, runID); err != nil {
		return total, err
	}
	if err := replace(ctx, wh, FXTable, FXSchema, fxRows, runID); err != nil {
		return total, err
	}
	if err := loaders.WriteRejects(ctx, wh, runID, append(spendRejects, fxRejects...)); err != nil {
		return total, fmt.Errorf("spend: %w", err)
	}
	total.Add(spendCounts)
	total.Add(fxCounts)
	logger.InfoContext(ctx, "spend loaded",
		slog.Int64("spend_read", spendCounts.Read), slog.Int64("spend_loaded", spendCounts.Loaded), slog.Int64("spend_rejected", spendCounts.Rejected),
		slog.Int64("fx_read", fxCounts.Read), slog.Int64("fx_loaded", fxCounts.Loaded), slog.Int64("fx_rejected", fxCounts.Rejected))
	return total, nil
}

func replace(ctx context.Context, wh warehouse.Warehouse, table string, schema warehouse.Schema, rows [][]any, runID string) error {
	_, err := wh.Load(ctx, warehouse.LoadRequest{
		Table:  table,
		Schema: schema,
		Mode:   warehouse.Replace,
		Rows:   warehouse.NewSliceRows(rows),
		JobID:  jobID(runID, table),
		Labels: map[string]string{"sam_loader": "spend"},
	})
	if err != nil {
		return fmt.Errorf("spend: replace %s with %d rows: %w", table, len(rows), err)
	}
	return nil
}

var jobIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// jobID makes a retried load of the same run recognisable.
func jobID(runID, table string) string {
	if runID == "" {
		return ""
	}
	return jobIDUnsafe.ReplaceAllString("sam_"+runID+"_"+table, "_")
}

// readSpendDir parses every *.csv file of dir in name order.
func readSpendDir(ctx context.Context, dir string, now time.Time, logger *slog.Logger) ([][]any, []loaders.Reject, loaders.Counts, error) {
	var counts loaders.Counts
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		logger.WarnContext(ctx, "spend directory does not exist; loading no spend", slog.String("dir", dir))
		return nil, nil, counts, nil
	}
	if err != nil {
		return nil, nil, counts, fmt.Errorf("spend: read directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var rows [][]any
	var rejects []loaders.Reject
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, nil, counts, err
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, counts, fmt.Errorf("spend: %w", err)
		}
		counts.Bytes += int64(len(data))
		r, rej, c := parseSpend(name, data, now)
		rows = append(rows, r...)
		rejects = append(rejects, rej...)
		counts.Add(c)
	}
	return rows, rejects, counts, nil
}

func readFXFile(path string, now time.Time, logger *slog.Logger) ([][]any, []loaders.Reject, loaders.Counts, error) {
	var counts loaders.Counts
	if path == "" {
		return nil, nil, counts, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		logger.Warn("currency rates file does not exist; amounts in other currencies stay unconverted", slog.String("file", path))
		return nil, nil, counts, nil
	}
	if err != nil {
		return nil, nil, counts, fmt.Errorf("spend: %w", err)
	}
	counts.Bytes = int64(len(data))
	rows, rejects, c := parseFX(filepath.Base(path), data, now)
	counts.Add(c)
	return rows, rejects, counts, nil
}

// record is one physical CSV line split into fields.
type record struct {
	line   int
	raw    string
	fields []string
	err    error
}

// splitLines reads data line by line so that a malformed line is rejected
// with its exact text while the rest of the file still loads. Spend and
// rate exports have no quoted newlines; a field that contains one is
// rejected rather than silently joined.
func splitLines(data []byte) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheet exports start with a BOM
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var out []record
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		r := csv.NewReader(strings.NewReader(raw))
		r.FieldsPerRecord = -1
		r.TrimLeadingSpace = true
		fields, err := r.Read()
		if err == nil {
			if _, extra := r.Read(); extra != io.EOF {
				err = errors.New("quoted field spans lines")
			}
		}
		out = append(out, record{line: n, raw: raw, fields: fields, err: err})
	}
	return out, sc.Err()
}

// header maps the expected column names to their positions. Columns may come
// in any order; extra columns are ignored.
func header(rec record, want []string) (map[string]int, error) {
	if rec.err != nil {
		return nil, fmt.Errorf("unreadable header: %v", rec.err)
	}
	pos := map[string]int{}
	for i, f := range rec.fields {
		pos[strings.ToLower(strings.TrimSpace(f))] = i
	}
	var missing []string
	for _, c := range want {
		if _, ok := pos[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks column(s) %s (want %s)", strings.Join(missing, ", "), strings.Join(want, ","))
	}
	return pos, nil
}

// parseSpend turns one spend file into rows and rejects.
func parseSpend(name string, data []byte, now time.Time) ([][]any, []loaders.Reject, loaders.Counts) {
	return parseFile(name, data, sourceSpend, spendColumns, func(get func(string) string, line int) ([]any, error) {
		day, err := parseDate(get("date"))
		if err != nil {
			return nil, err
		}
		source := strings.TrimSpace(get("source"))
		if source == "" {
			return nil, errors.New("empty source")
		}
		medium := strings.TrimSpace(get("medium"))
		if medium == "" {
			return nil, errors.New("empty medium")
		}
		cost, err := parseDecimal("cost", get("cost"))
		if err != nil {
			return nil, err
		}
		if f, _ := strconv.ParseFloat(cost, 64); f < 0 {
			// Refunds belong in the platform's restated daily figure, not as
			// a negative row that would make cost per lead meaningless.
			return nil, fmt.Errorf("negative cost %s", cost)
		}
		cur, err := parseCurrency("currency", get("currency"))
		if err != nil {
			return nil, err
		}
		var campaign any
		if c := strings.TrimSpace(get("campaign")); c != "" {
			campaign = c
		}
		return []any{day, strings.ToLower(source), strings.ToLower(medium), campaign, cost, cur, name, int64(line), now}, nil
	})
}

// parseFX turns the rates file into rows and rejects. A second rate for the
// same (date, from, to) is rejected so the loaded rate is never ambiguous.
func parseFX(name string, data []byte, now time.Time) ([][]any, []loaders.Reject, loaders.Counts) {
	seen := map[string]int{}
	return parseFile(name, data, sourceFX, fxColumns, func(get func(string) string, line int) ([]any, error) {
		day, err := parseDate(get("date"))
		if err != nil {
			return nil, err
		}
		from, err := parseCurrency("from_currency", get("from_currency"))
		if err != nil {
			return nil, err
		}
		to, err := parseCurrency("to_currency", get("to_currency"))
		if err != nil {
			return nil, err
		}
		if from == to {
			return nil, fmt.Errorf("from_currency and to_currency are both %s", from)
		}
		rate, err := parseDecimal("rate", get("rate"))
		if err != nil {
			return nil, err
		}
		if f, _ := strconv.ParseFloat(rate, 64); f <= 0 {
			return nil, fmt.Errorf("rate %s is not positive", rate)
		}
		key := day.Format(time.DateOnly) + from + to
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("duplicate rate for %s %s->%s (first on line %d)", day.Format(time.DateOnly), from, to, first)
		}
		seen[key] = line
		return []any{day, from, to, rate, name, int64(line), now}, nil
	})
}

// parseFile applies parse to every data line of a CSV file. Read counts data
// lines (the header and blank lines excluded); each is either loaded or
// rejected.
func parseFile(name string, data []byte, source string, cols []string, parse func(get func(string) string, line int) ([]any, error)) ([][]any, []loaders.Reject, loaders.Counts) {
	var counts loaders.Counts
	recs, scanErr := splitLines(data)
	var rows [][]any
	var rejects []loaders.Reject
	reject := func(reason, raw string) {
		rejects = append(rejects, loaders.Reject{Source: source, Object: name, Reason: reason, Raw: raw})
		counts.Read++
		counts.Rejected++
	}
	if scanErr != nil {
		// A line too long to scan: keep what was read, reject the rest whole.
		reject("unreadable file: "+scanErr.Error(), "")
	}
	if len(recs) == 0 {
		return nil, rejects, counts
	}
	pos, herr := header(recs[0], cols)
	for _, rec := range recs[1:] {
		if herr != nil {
			reject(herr.Error(), rec.raw)
			continue
		}
		if rec.err != nil {
			reject("malformed CSV: "+rec.err.Error(), rec.raw)
			continue
		}
		if len(rec.fields) != len(recs[0].fields) {
			reject(fmt.Sprintf("line %d has %d columns, header has %d", rec.line, len(rec.fields), len(recs[0].fields)), rec.raw)
			continue
		}
		get := func(c string) string { return rec.fields[pos[c]] }
		row, err := parse(get, rec.line)
		if err != nil {
			reject(fmt.Sprintf("line %d: %v", rec.line, err), rec.raw)
			continue
		}
		rows = append(rows, row)
		counts.Read++
		counts.Loaded++
	}
	return rows, rejects, counts
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q (want YYYY-MM-DD)", s)
	}
	return d, nil
}

// decimalRE accepts what NUMERIC holds: up to 29 integer digits and 9
// fractional digits, no exponent, no thousands separators.
var decimalRE = regexp.MustCompile(`^[+-]?[0-9]{1,29}(\.[0-9]{0,9})?$`)

// parseDecimal validates a money or rate value and returns it as canonical
// decimal text, which every engine loads into NUMERIC exactly.
func parseDecimal(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if !decimalRE.MatchString(s) {
		return "", fmt.Errorf("%s %q is not a decimal number", what, s)
	}
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimSuffix(s, ".")
	return s, nil
}

func parseCurrency(what, s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !KnownCurrency(c) {
		return "", fmt.Errorf("unknown currency %s %q (want an ISO 4217 code)", what, s)
	}
	return c, nil
}
