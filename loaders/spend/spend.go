// Package spend owns the ad spend and currency rate loader: it reads the
// daily spend CSV files (date,source,medium,campaign,cost,currency) from
// Options.Dir into raw_spend__daily and the currency rates CSV
// (date,from_currency,to_currency,rate) from Options.FXRatesFile into
// raw_fx__rates. Rows it cannot load go to the shared rejects table with
// their reason and raw line.
//
// Both tables are replaced on every load: spend files are small and are
// re-exported whole by the ad platforms, so a whole reload is idempotent and
// picks up restated figures. A file that is not readable as an export (no
// header line, a header without the columns, no row that loads) is
// rejected, and the rows it loaded before stay, but for those a file read
// now repeats (told by their values, not by file names). A row that
// repeats a row of another spend file (a second download of the same
// export) is rejected as a duplicate, so a copy never doubles spend.
// Channel grouping and currency conversion happen in the SQL models
// (stg_spend__daily, stg_fx__rates), not here.
//
// The package imports loaders, internal/iso4217, internal/option and
// warehouse only.
package spend

import (
	"bytes"
	"context"
	"encoding/binary"
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
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sam-attribution/sam/internal/iso4217"
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

// Result counts the spend rows and the rates apart: a load of rates alone
// is a load without spend.
type Result struct {
	Spend, FX loaders.Counts
}

// Total is both counts together.
func (r Result) Total() loaders.Counts {
	t := r.Spend
	t.Add(r.FX)
	return t
}

// Load reads every *.csv file in cfg.Dir and the rates file
// cfg.FXRatesFile, replaces raw_spend__daily and raw_fx__rates with the rows
// that parse, and appends the others to the rejects table. A missing spend
// directory or rates file loads an empty table (logged), so a deployment
// without spend data still builds its models; an unreadable one is an error.
func Load(ctx context.Context, wh warehouse.Warehouse, cfg Options, runID string, logger *slog.Logger) (Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now().UTC()
	var total Result
	if err := cfg.Validate(); err != nil {
		return total, err
	}

	spendRows, spendRejects, spendCounts, spendDamaged, err := readSpendDir(ctx, cfg.Dir, cfg.FXRatesFile, now, logger)
	if err != nil {
		return total, err
	}
	fxRows, fxRejects, fxCounts, fxDamaged, err := readFXFile(cfg.FXRatesFile, now, logger)
	if err != nil {
		return total, err
	}

	if err := replace(ctx, wh, SpendTable, SpendSchema, spendRows, spendDamaged, runID, logger); err != nil {
		return total, err
	}
	if err := replace(ctx, wh, FXTable, FXSchema, fxRows, fxDamaged, runID, logger); err != nil {
		return total, err
	}
	if err := loaders.WriteRejects(ctx, wh, runID, append(spendRejects, fxRejects...)); err != nil {
		return total, fmt.Errorf("spend: %w", err)
	}
	total.Spend, total.FX = spendCounts, fxCounts
	logger.InfoContext(ctx, "spend loaded",
		slog.Int64("spend_read", spendCounts.Read), slog.Int64("spend_loaded", spendCounts.Loaded), slog.Int64("spend_rejected", spendCounts.Rejected),
		slog.Int64("fx_read", fxCounts.Read), slog.Int64("fx_loaded", fxCounts.Loaded), slog.Int64("fx_rejected", fxCounts.Rejected))
	return total, nil
}

// replace makes rows the content of table, except for the rows that the
// damaged files (read this time, but not as an export: see parseFile)
// loaded before, which stay. Those are kept by deleting the other rows and
// appending the new ones; a stop between the two leaves only rows that the
// next load deletes or keeps again. A kept spend row that a row loaded now
// repeats is deleted too (see heldElsewhere).
func replace(ctx context.Context, wh warehouse.Warehouse, table string, schema warehouse.Schema, rows [][]any, damaged []string, runID string, logger *slog.Logger) error {
	mode := warehouse.Replace
	if len(damaged) > 0 {
		_, err := wh.Describe(ctx, table)
		switch {
		case errors.Is(err, warehouse.ErrNotFound):
			// Nothing was loaded before, so nothing is kept.
		case err != nil:
			return fmt.Errorf("spend: %s: %w", table, err)
		default:
			var held map[string][]int64
			if table == SpendTable {
				if held, err = heldElsewhere(ctx, wh, damaged, rows); err != nil {
					return err
				}
			}
			args := make([]any, len(damaged))
			for i, f := range damaged {
				args[i] = f
			}
			where := fmt.Sprintf("file NOT IN (%s)", strings.TrimSuffix(strings.Repeat("?, ", len(damaged)), ", "))
			var superseded []string
			for _, f := range damaged {
				lines := held[f]
				if len(lines) == 0 {
					continue
				}
				nums := make([]string, len(lines))
				for i, l := range lines {
					nums[i] = strconv.FormatInt(l, 10)
				}
				where += fmt.Sprintf(" OR (file = ? AND line IN (%s))", strings.Join(nums, ", "))
				args = append(args, f)
				superseded = append(superseded, fmt.Sprintf("%s (%d rows)", f, len(lines)))
			}
			q := fmt.Sprintf("DELETE FROM %s WHERE %s", wh.QualifiedName(table), where)
			if _, err := wh.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("spend: keep the rows of %s in %s: %w", strings.Join(damaged, ", "), table, err)
			}
			mode = warehouse.Append
			logger.WarnContext(ctx, "spend: files that are not readable as an export keep the rows they loaded before (see load_rejects)",
				slog.String("table", table), slog.String("files", strings.Join(damaged, ", ")))
			if len(superseded) > 0 {
				logger.WarnContext(ctx, "spend: rows that files not readable as an export loaded before are held by another file now, and are taken from it",
					slog.String("table", table), slog.String("files", strings.Join(superseded, ", ")))
			}
		}
	}
	_, err := wh.Load(ctx, warehouse.LoadRequest{
		Table:  table,
		Schema: schema,
		Mode:   mode,
		Rows:   warehouse.NewSliceRows(rows),
		JobID:  jobID(runID, table),
		Labels: map[string]string{"sam_loader": "spend"},
	})
	if err != nil {
		return fmt.Errorf("spend: replace %s with %d rows: %w", table, len(rows), err)
	}
	return nil
}

// heldElsewhere returns, per damaged spend file, the lines of the rows it
// loaded before that a row loaded now repeats, matched one to one as
// dupIndex matches: another file holds them now (the file's second
// download, or a later export that covers its days), and keeping both
// would count that spend twice. Whether another file is a copy is told by
// its rows, not its name: "report (1).csv" may be another month.
func heldElsewhere(ctx context.Context, wh warehouse.Warehouse, damaged []string, rows [][]any) (map[string][]int64, error) {
	now := map[string]int{}
	for _, r := range rows {
		now[spendKey(r)]++
	}
	str, err := wh.Dialect().CastType("STRING")
	if err != nil {
		return nil, fmt.Errorf("spend: %w", err)
	}
	args := make([]any, len(damaged))
	for i, f := range damaged {
		args[i] = f
	}
	q := fmt.Sprintf("SELECT file, line, CAST(spend_date AS %[1]s), source, medium, COALESCE(campaign, ''), CAST(cost AS %[1]s), currency FROM %[2]s WHERE file IN (%[3]s) ORDER BY file, line",
		str, wh.QualifiedName(SpendTable), strings.TrimSuffix(strings.Repeat("?, ", len(damaged)), ", "))
	res, err := wh.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("spend: read the rows %s loaded before: %w", strings.Join(damaged, ", "), err)
	}
	defer res.Close()
	held := map[string][]int64{}
	for res.Next() {
		var file, day, source, medium, campaign, cost, currency string
		var line int64
		if err := res.Scan(&file, &line, &day, &source, &medium, &campaign, &cost, &currency); err != nil {
			return nil, fmt.Errorf("spend: read the rows %s loaded before: %w", strings.Join(damaged, ", "), err)
		}
		if k := rowKey(day, source, medium, campaign, cost, currency); now[k] > 0 {
			now[k]--
			held[file] = append(held[file], line)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("spend: read the rows %s loaded before: %w", strings.Join(damaged, ", "), err)
	}
	return held, nil
}

var jobIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// jobID makes a retried load of the same run recognisable.
func jobID(runID, table string) string {
	if runID == "" {
		return ""
	}
	return jobIDUnsafe.ReplaceAllString("sam_"+runID+"_"+table, "_")
}

// readSpendDir parses every *.csv file of dir in name order, except the
// rates file fxFile when it lies there, and names the other entries (but
// hidden files) in a warning. damaged names the files that are not
// readable as a spend export.
func readSpendDir(ctx context.Context, dir, fxFile string, now time.Time, logger *slog.Logger) (rows [][]any, rejects []loaders.Reject, counts loaders.Counts, damaged []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		logger.WarnContext(ctx, "spend directory does not exist; loading no spend", slog.String("dir", dir))
		return nil, nil, counts, nil, nil
	}
	if err != nil {
		return nil, nil, counts, nil, fmt.Errorf("spend: read directory: %w", err)
	}
	fx, _ := os.Stat(fxFile)
	var names, unread []string
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), "."):
			continue // .DS_Store and the like hold no spend
		case e.IsDir():
			unread = append(unread, e.Name()+"/")
			continue
		case !strings.EqualFold(filepath.Ext(e.Name()), ".csv"):
			unread = append(unread, e.Name())
			continue
		}
		if info, err := e.Info(); err == nil && fx != nil && os.SameFile(info, fx) {
			continue // the rates file, kept beside the spend files
		}
		names = append(names, e.Name())
	}
	if len(unread) > 0 {
		// A TSV download or a folder per platform may hold spend: say so
		// rather than leave it missing without a word.
		logger.WarnContext(ctx, "spend: SAM reads only the *.csv files at the top of the spend directory; these are not read",
			slog.String("dir", dir), slog.String("not_read", strings.Join(unread, ", ")))
	}
	sort.Slice(names, func(i, j int) bool { return fileOrder(names[i], names[j]) })
	seen := newDupIndex()
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, nil, counts, nil, err
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, counts, nil, fmt.Errorf("spend: %w", err)
		}
		counts.Bytes += int64(len(data))
		// A name that is not UTF-8 (a zip made on Windows) is kept as
		// load_rejects keeps text, since the warehouse refuses it.
		r, rej, c, bad := parseSpendFile(loaders.RawText(name), data, now, seen)
		rows = append(rows, r...)
		rejects = append(rejects, rej...)
		counts.Add(c)
		if bad {
			damaged = append(damaged, loaders.RawText(name))
		}
		if d := seen.commit(); d > 0 {
			logger.WarnContext(ctx, "spend file repeats rows of another spend file; the repeats are rejected as duplicates",
				slog.String("file", name), slog.Int("duplicates", d))
		}
	}
	return rows, rejects, counts, damaged, nil
}

// dupIndex finds spend rows that repeat a row of an earlier file. Identical
// rows within one file are not duplicates: an ad platform's report has one
// row per combination of its segments (Google Ads API, "Reporting >
// Segmentation": a report is implicitly segmented by its FROM resource, so an
// ad group report has a row per ad group and day), and once the export is cut
// down to date,source,medium,campaign,cost,currency two segments can be equal;
// stg_spend__daily sums them. The same row in a second file is a second copy
// of the export. Matching is one to one: the k-th repeat of a row in a file
// duplicates the k-th occurrence in earlier files, so a copy of a file with
// two equal segment rows is rejected whole and nothing more.
type dupIndex struct {
	earlier map[string][]string // row key -> "FILE:LINE" not yet matched, in order
	current map[string][]string // rows of the file being read
	dups    int                 // duplicates found in the file being read
}

func newDupIndex() *dupIndex {
	return &dupIndex{earlier: map[string][]string{}, current: map[string][]string{}}
}

// check reports the earlier row that key at name:line repeats, or "" and
// records it.
func (d *dupIndex) check(key, name string, line int) string {
	if q := d.earlier[key]; len(q) > 0 {
		d.earlier[key] = q[1:]
		d.dups++
		return q[0]
	}
	d.current[key] = append(d.current[key], fmt.Sprintf("%s:%d", name, line))
	return ""
}

// commit makes the rows of the file just read visible to the next files and
// returns how many duplicates it held.
func (d *dupIndex) commit() int {
	for k, v := range d.current {
		d.earlier[k] = append(d.earlier[k], v...)
	}
	clear(d.current)
	n := d.dups
	d.dups = 0
	return n
}

// spendKey identifies a parsed spend row by its values: the number, not the
// way it was written (120.50 and 120.5 are the same cost).
func spendKey(row []any) string {
	campaign, _ := row[3].(string)
	return rowKey(row[0].(time.Time).Format(time.DateOnly), row[1].(string), row[2].(string), campaign, row[4].(string), row[5].(string))
}

// rowKey is spendKey of a row's values as text, the cost as any engine
// writes a NUMERIC (120.500000000 on DuckDB).
func rowKey(day, source, medium, campaign, cost, currency string) string {
	if strings.Contains(cost, ".") {
		cost = strings.TrimSuffix(strings.TrimRight(cost, "0"), ".")
	}
	if strings.Trim(cost, "-0") == "" {
		cost = "0" // -0.00 is stored as 0
	}
	return strings.Join([]string{day, source, medium, campaign, cost, currency}, "\x00")
}

// copySuffix matches the names browsers and file managers give a second copy
// of a file: "x (1).csv", "x - Copy.csv", "x copy 2.csv".
var copySuffix = regexp.MustCompile(`(?i)( \(\d+\)| - copy( \(\d+\))?| copy( \d+)?)$`)

// fileOrder sorts file names by name, except that a copy comes after the
// file it copies ("x.csv" before "x (1).csv"), so the copy's rows are the
// ones reported as duplicates.
func fileOrder(a, b string) bool {
	baseA, copyA := copyBase(a)
	baseB, copyB := copyBase(b)
	if baseA != baseB {
		return baseA < baseB
	}
	if copyA != copyB {
		return !copyA
	}
	return a < b
}

func copyBase(name string) (string, bool) {
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	base := copySuffix.ReplaceAllString(stem, "")
	return base + filepath.Ext(name), base != stem
}

// readFXFile parses the rates file; damaged names it when it is not
// readable as a rates file.
func readFXFile(path string, now time.Time, logger *slog.Logger) (rows [][]any, rejects []loaders.Reject, counts loaders.Counts, damaged []string, err error) {
	if path == "" {
		return nil, nil, counts, nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		logger.Warn("currency rates file does not exist; amounts in other currencies stay unconverted", slog.String("file", path))
		return nil, nil, counts, nil, nil
	}
	if err != nil {
		return nil, nil, counts, nil, fmt.Errorf("spend: %w", err)
	}
	counts.Bytes = int64(len(data))
	name := loaders.RawText(filepath.Base(path))
	rows, rejects, c, bad := parseFXFile(name, data, now)
	counts.Add(c)
	if bad {
		damaged = []string{name}
	}
	return rows, rejects, counts, damaged, nil
}

// record is one physical CSV line split into fields.
type record struct {
	line   int
	raw    string
	fields []string
	err    error // the line does not split into fields
	text   error // the line cannot be stored as text (too long, not UTF-8, NUL)
}

// maxLine is the longest line read: a longer one (a cell holding a pasted
// blob) is rejected alone, not a reason to lose the lines after it.
const maxLine = 16 << 20

// splitLines reads data line by line so that a malformed line is rejected
// with its exact text while the rest of the file still loads. Spend and
// rate exports have no quoted newlines; a field that contains one is
// rejected rather than silently joined.
func splitLines(data []byte, comma rune) []record {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheet exports start with a BOM
	var out []record
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if len(line) > maxLine {
			err := fmt.Errorf("line of %d bytes is longer than the %d MiB limit", len(line), maxLine>>20)
			// Enough of it for the reject, which keeps loaders.MaxRawText.
			out = append(out, record{line: n, raw: string(line[:loaders.MaxRawText+utf8.UTFMax]), err: err, text: err})
			continue
		}
		raw := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		fields, err := parseRecord(raw, comma)
		out = append(out, record{line: n, raw: raw, fields: fields, err: err, text: textProblem(raw)})
	}
	return out
}

// textProblem says why the warehouse cannot store the text of line as it
// is: a byte that is not UTF-8 fails the load, and a NUL cuts the text
// short without a word.
func textProblem(line string) error {
	if err := loaders.CheckUTF8(line); err != nil {
		return err
	}
	if i := strings.IndexByte(line, 0); i >= 0 {
		return fmt.Errorf("NUL byte at byte %d (the warehouse would cut the text there)", i+1)
	}
	return nil
}

// decodeUTF16 returns the text of a file that starts with a UTF-16 byte
// order mark (Excel's "Unicode text", Google Ads' "Excel .csv"), so that
// its rejects keep readable lines; ok is false for any other file.
func decodeUTF16(data []byte) (text []byte, bom string, ok bool) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		order, bom = binary.LittleEndian, "FF FE"
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		order, bom = binary.BigEndian, "FE FF"
	default:
		return nil, "", false
	}
	data = data[2:]
	units := make([]uint16, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	text = []byte(string(utf16.Decode(units)))
	if len(data)%2 == 1 {
		text = utf8.AppendRune(text, utf8.RuneError)
	}
	return text, bom, true
}

// parseRecord splits one line into fields.
func parseRecord(raw string, comma rune) ([]string, error) {
	r := csv.NewReader(strings.NewReader(raw))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	fields, err := r.Read()
	if err == nil {
		if _, extra := r.Read(); extra != io.EOF {
			err = errors.New("quoted field spans lines")
		}
	}
	return fields, err
}

// delimiter is the separator that makes the file's first line a header
// with every column of want: comma, semicolon (exports from locales whose
// decimal mark is the comma) or tab; a comma when none does, so that the
// header's error names what is missing.
func delimiter(data []byte, want []string) rune {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first := ""
	for line := range strings.Lines(string(data[:min(len(data), 64*1024)])) {
		if line = strings.TrimRight(line, "\r\n"); strings.TrimSpace(line) != "" {
			first = line
			break
		}
	}
	for _, comma := range []rune{',', ';', '\t'} {
		fields, err := parseRecord(first, comma)
		if err != nil {
			continue
		}
		if len(missing(columns(fields), want)) == 0 {
			return comma
		}
	}
	return ','
}

// columns maps each column name of a header to the positions that name it.
func columns(fields []string) map[string][]int {
	pos := map[string][]int{}
	for i, f := range fields {
		c := strings.ToLower(strings.TrimSpace(f))
		pos[c] = append(pos[c], i)
	}
	return pos
}

// missing lists the columns of want that pos lacks.
func missing(pos map[string][]int, want []string) []string {
	var out []string
	for _, c := range want {
		if len(pos[c]) == 0 {
			out = append(out, c)
		}
	}
	return out
}

// header maps the expected column names to their positions. Columns may come
// in any order; extra columns are ignored, even repeated ones. An expected
// column named twice (a report's "Cost" and its converted "Cost") is an
// error: which one holds the figure cannot be known.
func header(rec record, want []string) (map[string]int, error) {
	if rec.err != nil {
		return nil, fmt.Errorf("unreadable header: %v", rec.err)
	}
	all := columns(rec.fields)
	if m := missing(all, want); len(m) > 0 {
		return nil, fmt.Errorf("header lacks column(s) %s (want %s)", strings.Join(m, ", "), strings.Join(want, ","))
	}
	pos := map[string]int{}
	for _, c := range want {
		if p := all[c]; len(p) > 1 {
			return nil, fmt.Errorf("header names column %s twice (columns %d and %d): which one to load cannot be known", c, p[0]+1, p[1]+1)
		}
		pos[c] = all[c][0]
	}
	return pos, nil
}

// futureSlack is how far past the clock a spend date may be: an ad
// platform reports in its account's time zone, up to a day ahead of UTC.
const futureSlack = 24 * time.Hour

// parseSpend turns one spend file into rows and rejects.
func parseSpend(name string, data []byte, now time.Time) ([][]any, []loaders.Reject, loaders.Counts) {
	rows, rejects, counts, _ := parseSpendFile(name, data, now, nil)
	return rows, rejects, counts
}

// parseSpendFile is parseSpend that also rejects the rows seen holds from
// earlier files (seen may be nil), and says whether the file is damaged
// (see parseFile).
func parseSpendFile(name string, data []byte, now time.Time, seen *dupIndex) ([][]any, []loaders.Reject, loaders.Counts, bool) {
	duplicates := 0
	rows, rejects, counts, damaged := parseFile(name, data, sourceSpend, spendColumns, "cost", func(get func(string) string, line int, marks loaders.DecimalMarks) ([]any, error) {
		day, err := parseDate(get("date"))
		if err != nil {
			return nil, err
		}
		if day.After(now.Add(futureSlack)) {
			// Spend is what was spent: a later date is a typo that would
			// show as spend in a month to come.
			return nil, fmt.Errorf("date %s is in the future", day.Format(time.DateOnly))
		}
		source := strings.TrimSpace(get("source"))
		if source == "" {
			return nil, errors.New("empty source")
		}
		medium := strings.TrimSpace(get("medium"))
		if medium == "" {
			return nil, errors.New("empty medium")
		}
		cost, err := parseDecimal("cost", get("cost"), marks)
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
		row := []any{day, strings.ToLower(source), strings.ToLower(medium), campaign, cost, cur, name, int64(line), now}
		if seen != nil {
			if first := seen.check(spendKey(row), name, line); first != "" {
				duplicates++
				return nil, fmt.Errorf("duplicate of %s", first)
			}
		}
		return row, nil
	})
	// A file of duplicates is a sound copy, whose rows another file holds.
	return rows, rejects, counts, damaged && (counts.Loaded > 0 || duplicates == 0)
}

// parseFX turns the rates file into rows and rejects. A second rate for the
// same (date, from, to) is rejected so the loaded rate is never ambiguous.
func parseFX(name string, data []byte, now time.Time) ([][]any, []loaders.Reject, loaders.Counts) {
	rows, rejects, counts, _ := parseFXFile(name, data, now)
	return rows, rejects, counts
}

// parseFXFile is parseFX that also says whether the file is damaged (see
// parseFile).
func parseFXFile(name string, data []byte, now time.Time) ([][]any, []loaders.Reject, loaders.Counts, bool) {
	seen := map[string]int{}
	return parseFile(name, data, sourceFX, fxColumns, "rate", func(get func(string) string, line int, marks loaders.DecimalMarks) ([]any, error) {
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
		rate, err := parseDecimal("rate", get("rate"), marks)
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
// rejected. A file is damaged when it is not readable as an export: it has
// no header line (an export always has one, even without rows: such a file
// is a copy that did not finish), its header lacks a column, or none of its
// rows loads. The file is then a reject of its own unless its rows are.
// amount names the column read with parseDecimal, whose values tell the
// file's decimal mark (see loaders.DecimalMarks).
func parseFile(name string, data []byte, source string, cols []string, amount string, parse func(get func(string) string, line int, marks loaders.DecimalMarks) ([]any, error)) (rows [][]any, rejects []loaders.Reject, counts loaders.Counts, damaged bool) {
	var fileErr error
	if text, bom, ok := decodeUTF16(data); ok {
		// Read as text only to keep its lines: SAM reads UTF-8 exports.
		data = text
		fileErr = fmt.Errorf("file is UTF-16 (byte order mark %s): save the export as CSV UTF-8", bom)
	}
	comma := delimiter(data, cols)
	recs := splitLines(data, comma)
	reject := func(reason, raw string) {
		rejects = append(rejects, loaders.Reject{Source: source, Object: name, Reason: reason, Raw: loaders.RawText(raw)})
		counts.Read++
		counts.Rejected++
	}
	if len(recs) == 0 {
		reject("empty file: no header line; an export always has one, so this is a copy that did not finish", name)
		return nil, rejects, counts, true
	}
	pos, herr := header(recs[0], cols)
	if fileErr != nil {
		herr = fileErr
	}
	if herr != nil && len(recs) == 1 {
		reject(herr.Error(), recs[0].raw)
	}
	marks := loaders.NewDecimalMarks(comma)
	if herr == nil {
		marks = fileMarks(recs[1:], pos[amount], len(recs[0].fields), comma)
	}
	for _, rec := range recs[1:] {
		if herr != nil {
			reject(herr.Error(), rec.raw)
			continue
		}
		if rec.text != nil {
			// The warehouse refuses such text, and would fail the load.
			reject(fmt.Sprintf("line %d: %v", rec.line, rec.text), rec.raw)
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
		row, err := parse(get, rec.line, marks)
		if err != nil {
			reject(fmt.Sprintf("line %d: %v", rec.line, err), rec.raw)
			continue
		}
		rows = append(rows, row)
		counts.Read++
		counts.Loaded++
	}
	// A file none of whose rows loads is not an export SAM can read either.
	return rows, rejects, counts, herr != nil || counts.Read > 0 && counts.Loaded == 0
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

// fileMarks reads the marks of the amounts in column col of recs, the data
// lines of a file whose header has width columns and separator sep.
func fileMarks(recs []record, col, width int, sep rune) loaders.DecimalMarks {
	m := loaders.NewDecimalMarks(sep)
	for _, rec := range recs {
		if rec.err != nil || len(rec.fields) != width {
			continue // its fields may not be where the header says
		}
		if m.Note(rec.line, rec.fields[col]) {
			break
		}
	}
	return m
}

// parseDecimal validates a money or rate value and returns it as canonical
// decimal text, which every engine loads into NUMERIC exactly. marks tell
// whether a dot followed by three digits may group thousands.
func parseDecimal(what, s string, marks loaders.DecimalMarks) (string, error) {
	s = strings.TrimSpace(s)
	if !decimalRE.MatchString(s) {
		return "", fmt.Errorf("%s %q is not a decimal number", what, s)
	}
	if err := marks.CheckGrouping(what, s); err != nil {
		return "", err
	}
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimSuffix(s, ".")
	return s, nil
}

// parseCurrency accepts an active ISO 4217 code in any case: a row in any
// other currency is a typo or a platform export bug.
func parseCurrency(what, s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !iso4217.Active(c) {
		return "", fmt.Errorf("unknown currency %s %q (want an ISO 4217 code)", what, s)
	}
	return c, nil
}
