// Package file owns the CRM export source: leads, deals and offline touches
// read from CSV or NDJSON files in one directory (the format is documented in README.md next to
// this file). It maps rows to crm/record shapes, rejects bad rows with their
// reason and raw text, and resumes mid-file after a crash. It imports
// internal/option, loaders and crm/record.
package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/pii"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// LeadColumns and DealColumns are the export files' columns, in order.
var (
	LeadColumns = []string{"lead_id", "created_at", "updated_at", "email", "phone", "first_name", "last_name",
		"company", "ga_client_id", "gclid", "user_id", "lifecycle_stage", "mql_at", "sql_at", "opportunity_at",
		"won_at", "lost_at", "disqualified_at", "disqualification_reason", "is_deleted",
		"meta_lead_id", "li_fat_id", "ad_consent"}
	DealColumns = []string{"deal_id", "lead_id", "created_at", "updated_at", "closed_at", "stage", "pipeline",
		"amount", "currency", "is_won", "is_lost", "is_deleted"}
)

// Source reads leads, deals and offline_touches (.csv or .ndjson) from a
// directory.
type Source struct {
	dir       string
	overlap   time.Duration
	batchSize int
	log       *slog.Logger
	now       func() time.Time
}

// Options configure a file source.
type Options struct {
	// Dir holds leads.{csv,ndjson} and deals.{csv,ndjson}.
	Dir string
	// Overlap re-reads rows updated this long before the watermark of the
	// last complete load.
	Overlap time.Duration
	// BatchSize is records per batch (default 1000).
	BatchSize int
	Logger    *slog.Logger
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	if o.Dir == "" {
		return fmt.Errorf("file source: %w", option.Invalid("Dir", "", "is not set"))
	}
	if o.Overlap < 0 {
		return fmt.Errorf("file source: %w", option.Invalid("Overlap", o.Overlap.String(), "is negative"))
	}
	if o.BatchSize < 0 {
		return fmt.Errorf("file source: %w", option.Invalid("BatchSize", fmt.Sprint(o.BatchSize), "is negative"))
	}
	return nil
}

// New returns a file source over o.Dir.
func New(o Options) (*Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1000
	}
	return &Source{dir: o.Dir, overlap: o.Overlap, batchSize: o.BatchSize, log: o.Logger, now: time.Now}, nil
}

// System implements crm.Source.
func (s *Source) System() string { return "file" }

// Streams implements crm.Source.
func (s *Source) Streams() []string { return []string{"leads", "deals", "offline_touches", "accounts"} }

// cursor is a stream's resume point. A file is identified by its content
// hash: the same file is skipped once done, or resumed after Row. A changed
// file is read again, skipping the rows whose record was last loaded with
// the same content (crm.RowLog), unless they were modified within the
// overlap before the watermark of the last complete load, which are read
// again. A row is never skipped on its timestamp alone: a row fixed in
// place has a new hash, and a row dated 2099 moves nothing (the watermark
// never passes the clock).
type cursor struct {
	File      string    `json:"file"`
	Hash      string    `json:"sha256"`
	Row       int64     `json:"row"`                // data rows consumed
	Done      bool      `json:"done"`               // whole file durable
	Since     time.Time `json:"since,omitzero"`     // rows modified since are read even when loaded before
	Watermark time.Time `json:"watermark,omitzero"` // newest updated_at of complete loads
	Newest    time.Time `json:"newest,omitzero"`    // newest updated_at so far in this load
	// Columns are the columns SAM reads that the last CSV file read named.
	Columns []string `json:"columns,omitempty"`
}

// readColumns are the columns SAM reads of each stream's file.
var readColumns = map[string][]string{
	"leads":    append(slices.Clone(LeadColumns), "account_id"),
	"deals":    append(slices.Clone(DealColumns), "account_id"),
	"accounts": {"account_id", "name", "domain", "industry", "created_at", "updated_at", "is_deleted"},
	"offline_touches": {"touch_id", "lead_id", "email_sha256", "touched_at", "type", "channel", "source", "medium",
		"campaign", "updated_at", "is_deleted"},
}

// sameColumns checks a CSV header against the last one read, and records
// it. An export that lacks a column the last one had says nothing of that
// column's values; loaded as empty they would wipe every record's (a lead's
// email and click ids). An export that keeps the column with empty cells
// empties it.
func (c *cursor) sameColumns(stream string, header []string) error {
	var now []string
	for _, col := range readColumns[stream] {
		if slices.Contains(header, col) {
			now = append(now, col)
		}
	}
	var lacks []string
	for _, col := range c.Columns {
		if !slices.Contains(now, col) {
			lacks = append(lacks, col)
		}
	}
	if len(lacks) > 0 {
		return &badFileError{
			reason: fmt.Sprintf("the file lacks column(s) %s that the last export had, and SAM does not read a missing column as empty values: export them again, or keep them with empty cells to empty them", strings.Join(lacks, ", ")) + notLoaded,
			raw:    strings.Join(header, ","),
		}
	}
	c.Columns = now
	return nil
}

// Read implements crm.Source. It skips no row for having been loaded
// before: without the loaded rows' hashes (ReadSkipping) a changed file is
// read whole.
func (s *Source) Read(ctx context.Context, stream, cur string, emit func(context.Context, *record.Batch) error) error {
	return s.ReadSkipping(ctx, stream, cur, nil, emit)
}

// ReadSkipping implements crm.RowSkipper.
func (s *Source) ReadSkipping(ctx context.Context, stream, cur string, loaded func(context.Context) (*record.LoadedRows, error), emit func(context.Context, *record.Batch) error) error {
	if _, ok := idColumn[stream]; !ok {
		return fmt.Errorf("file source: unknown stream %q", stream)
	}
	path, err := s.find(stream)
	var bad *badFileError
	if errors.As(err, &bad) {
		return s.rejectFile(ctx, path, bad, emit)
	}
	if err != nil || path == "" {
		return err
	}
	hash, err := hashFile(path)
	if err != nil {
		return err
	}
	var c cursor
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			return fmt.Errorf("file source: bad %s cursor %q: %w", stream, cur, err)
		}
	}
	switch {
	case c.Hash == hash && c.Done:
		s.log.Info("crm file unchanged since last load", "file", path)
		return nil
	case c.Hash == hash:
		s.log.Info("crm file resuming", "file", path, "row", c.Row)
	default:
		since := time.Time{}
		if !c.Watermark.IsZero() {
			since = c.Watermark.Add(-s.overlap)
		}
		c = cursor{File: filepath.Base(path), Hash: hash, Since: since, Watermark: c.Watermark, Columns: c.Columns}
	}
	var known *record.LoadedRows
	if loaded != nil {
		if known, err = loaded(ctx); err != nil {
			return fmt.Errorf("file source: %w", err)
		}
	}

	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	defer f.Close()
	var rows rowReader
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		var cr *csvReader
		if cr, err = newCSVReader(f, idColumn[stream]); err == nil {
			rows = cr
			err = c.sameColumns(stream, cr.header)
		}
	} else {
		rows, err = newNDJSONReader(f)
	}
	if errors.As(err, &bad) {
		return s.rejectFile(ctx, path, bad, emit)
	}
	if err != nil {
		return fmt.Errorf("file source: %s: %w", path, err)
	}
	rd := &reading{Source: s, path: path, object: filepath.Base(path), c: c, known: known, now: s.now(), rows: rows}
	if err := rd.stream(ctx, stream, emit); err != nil {
		return err
	}
	if rd.badClientIDs > 0 {
		s.log.Warn("crm file: leads with a ga_client_id that is not x.y or GA1.n.x.y load unattributed (stg_crm__leads.ga_client_id_problem)",
			"file", path, "leads", rd.badClientIDs)
	}
	return nil
}

// rejectFile makes a file SAM cannot use one reject, and moves no cursor:
// the file is read again once it changes. The other files load, as they
// do around a bad row.
func (s *Source) rejectFile(ctx context.Context, path string, bad *badFileError, emit func(context.Context, *record.Batch) error) error {
	object := filepath.Base(path)
	raw := bad.raw
	if raw == "" {
		raw = object
	}
	s.log.Warn("crm file: rejected a file SAM cannot use; nothing of it was loaded", "file", path, "why", bad.reason)
	return emit(ctx, &record.Batch{Rejects: []loaders.Reject{{Source: "file", Object: object, Reason: bad.reason, Raw: raw}}})
}

// idColumn is the column a CSV header must name (it picks the delimiter).
var idColumn = map[string]string{"leads": "lead_id", "deals": "deal_id", "offline_touches": "touched_at", "accounts": "account_id"}

// futureSlack is how far past the clock a created_at or updated_at may be
// (time zones, clock skew) before the row is rejected: a version dated 2099
// would win over every later correction in staging.
const futureSlack = 24 * time.Hour

// reading is one pass over one file.
type reading struct {
	*Source
	object       string
	c            cursor
	known        *record.LoadedRows
	now          time.Time
	badClientIDs int
	// path and rows are the file's; its amounts like 1.234 its marks
	// decide, except NDJSON numbers, which are JSON's, with a decimal dot.
	path string
	rows rowReader
	// csvColumns are a CSV file's columns, sorted (sortedColumns).
	csvColumns []string
	// marks are read from the file when the first amount in doubt needs
	// them (readMarks); nil before.
	marks *loaders.DecimalMarks
}

func (rd *reading) stream(ctx context.Context, stream string, emit func(context.Context, *record.Batch) error) error {
	rows := rd.rows
	var b record.Batch
	var row int64
	c := &rd.c
	flush := func(done bool) error {
		c.Row = row
		c.Done = done
		if done {
			if c.Newest.After(c.Watermark) {
				c.Watermark = c.Newest
			}
		}
		js, _ := json.Marshal(c)
		b.Cursor = string(js)
		if cr, ok := rows.(*csvReader); ok {
			// Only the header tells which field of a row is a name, and
			// load_rejects keeps no header.
			for i := range b.Rejects {
				b.Rejects[i].Raw = pii.MaskRecord(b.Rejects[i].Raw, cr.header, cr.comma)
			}
		}
		if err := emit(ctx, &b); err != nil {
			return err
		}
		b.Reset()
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fields, raw, err := rows.next()
		if err == io.EOF {
			return flush(true)
		}
		if err != nil && fields == nil && raw == "" {
			return fmt.Errorf("file source: %s row %d: %w", rd.object, row+1, err)
		}
		row++
		if row <= c.Row {
			continue // durable before a crash
		}
		if err == nil {
			err = nulIn(fields)
		}
		if err != nil {
			b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: rd.object, Reason: err.Error(), Raw: loaders.RawText(raw)})
		} else if sr := rd.sourceRow(stream, fields); !rd.skip(sr, fields) {
			if err := rd.readMarks(stream, fields); err != nil {
				return err
			}
			var ok bool
			switch stream {
			case "leads":
				ok = rd.lead(&b, fields, raw)
			case "deals":
				ok = rd.deal(&b, fields, raw)
			case "accounts":
				ok = rd.account(&b, fields, raw)
			default:
				ok = rd.touch(&b, fields, raw)
			}
			if ok {
				b.SourceRows = append(b.SourceRows, sr)
			}
		}
		if b.Len() >= rd.batchSize {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
}

// nulIn rejects a row with a NUL byte in a value (written as such, or
// \u0000 in JSON), as the API sources reject such a record: the warehouse
// cuts text there, changing the value. A row with several names the first
// by name, so it gives the same reason every load; rows without one, nearly
// all, are not sorted.
func nulIn(fields map[string]string) error {
	for _, v := range fields {
		if record.CheckText("", v) != nil {
			for _, k := range slices.Sorted(maps.Keys(fields)) {
				if err := record.CheckText(k, fields[k]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sourceRow names a row's record and content.
func (rd *reading) sourceRow(stream string, f map[string]string) record.SourceRow {
	return record.SourceRow{Key: rowKey(stream, f), Hash: hashRow(f, rd.sortedColumns(f))}
}

// sortedColumns returns f's columns sorted. A CSV row's are its file's
// header's, sorted once: sorting them for every row took a tenth of a
// load's time.
func (rd *reading) sortedColumns(f map[string]string) []string {
	if cr, ok := rd.rows.(*csvReader); ok {
		if rd.csvColumns == nil {
			rd.csvColumns = slices.Sorted(slices.Values(cr.header))
		}
		return rd.csvColumns
	}
	return slices.Sorted(maps.Keys(f))
}

// rowKey identifies the record a row is a version of by the text of its id
// columns: a touch without touch_id is its lead, type and time, as touch
// derives its id.
func rowKey(stream string, f map[string]string) record.RowKey {
	cols := keyColumns[stream]
	if stream == "offline_touches" && strings.TrimSpace(f["touch_id"]) == "" {
		cols = touchIdentity
	}
	h := sha256.New()
	h.Write([]byte(stream))
	for _, c := range cols {
		h.Write([]byte{0})
		h.Write([]byte(strings.TrimSpace(f[c])))
	}
	var k record.RowKey
	copy(k[:], h.Sum(nil))
	return k
}

var (
	keyColumns    = map[string][]string{"leads": {"lead_id"}, "deals": {"deal_id"}, "accounts": {"account_id"}, "offline_touches": {"touch_id"}}
	touchIdentity = []string{"lead_id", "email_sha256", "type", "touched_at"}
)

// hashRow identifies a row by its columns and values, whatever their order
// in the file or its format; keys are f's columns, sorted.
func hashRow(f map[string]string, keys []string) record.RowHash {
	h := sha256.New()
	for _, k := range keys {
		v := f[k]
		if v == "" {
			continue // an empty value and an absent column are both NULL
		}
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	var out record.RowHash
	copy(out[:], h.Sum(nil))
	return out
}

// skip reports whether a row's record was last loaded with the same content
// and the row is not in the overlap window, and tracks the newest
// modification time read.
func (rd *reading) skip(sr record.SourceRow, f map[string]string) bool {
	mod, err := record.ParseTime(f["updated_at"])
	if err == nil && mod.IsZero() {
		mod, err = record.ParseTime(f["created_at"])
	}
	if err == nil && mod.IsZero() {
		mod, err = record.ParseTime(f["touched_at"]) // offline_touches
	}
	if err != nil || mod.After(rd.now.Add(futureSlack)) {
		return false // validated and rejected like any other
	}
	if mod.After(rd.c.Newest) {
		rd.c.Newest = mod
	}
	if !rd.known.Loaded(sr) {
		return false
	}
	return rd.c.Since.IsZero() || mod.Before(rd.c.Since)
}

// future rejects a version timestamp past the clock.
func (rd *reading) future(v *record.Fields, name string, t time.Time) {
	if v.Err == nil && t.After(rd.now.Add(futureSlack)) {
		v.Err = fmt.Errorf("%s %s is in the future", name, t.Format(time.RFC3339))
	}
}

func (rd *reading) lead(b *record.Batch, f map[string]string, raw string) bool {
	var v record.Fields
	l := record.Lead{
		ID:                     v.Require("lead_id", f["lead_id"]),
		RecordType:             "lead",
		CreatedAt:              v.Time("created_at", f["created_at"]),
		UpdatedAt:              v.Time("updated_at", f["updated_at"]),
		Email:                  strings.TrimSpace(f["email"]),
		Phone:                  strings.TrimSpace(f["phone"]),
		FirstName:              strings.TrimSpace(f["first_name"]),
		LastName:               strings.TrimSpace(f["last_name"]),
		Company:                strings.TrimSpace(f["company"]),
		GAClientID:             strings.TrimSpace(f["ga_client_id"]),
		Gclid:                  strings.TrimSpace(f["gclid"]),
		UserID:                 strings.TrimSpace(f["user_id"]),
		LifecycleStage:         strings.ToLower(strings.TrimSpace(f["lifecycle_stage"])),
		MQLAt:                  v.Time("mql_at", f["mql_at"]),
		SQLAt:                  v.Time("sql_at", f["sql_at"]),
		OpportunityAt:          v.Time("opportunity_at", f["opportunity_at"]),
		WonAt:                  v.Time("won_at", f["won_at"]),
		LostAt:                 v.Time("lost_at", f["lost_at"]),
		DisqualifiedAt:         v.Time("disqualified_at", f["disqualified_at"]),
		DisqualificationReason: strings.TrimSpace(f["disqualification_reason"]),
		IsDeleted:              v.Bool("is_deleted", f["is_deleted"]),
		MetaLeadID:             strings.TrimSpace(f["meta_lead_id"]),
		LiFatID:                strings.TrimSpace(f["li_fat_id"]),
		AdConsent:              v.Consent("ad_consent", f["ad_consent"]),
	}
	if v.Err == nil && l.LifecycleStage != "" && !record.ValidStage(l.LifecycleStage) {
		v.Err = fmt.Errorf("unknown lifecycle_stage %q", l.LifecycleStage)
	}
	if v.Err == nil && l.CreatedAt.IsZero() && !l.IsDeleted {
		// Attribution starts from it; a lead without one failed the models
		// of every lead.
		v.Err = errors.New("created_at is empty: a live lead needs the time it was created")
	}
	spreadsheetNumbers(&v, f, "lead_id", "account_id")
	rd.future(&v, "created_at", l.CreatedAt)
	rd.future(&v, "updated_at", l.UpdatedAt)
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: rd.object, Reason: v.Err.Error(), Raw: raw})
		return false
	}
	if record.ClientIDProblem(l.GAClientID) != "" {
		rd.badClientIDs++
	}
	l.ModifiedAt = firstSet(l.UpdatedAt, l.CreatedAt)
	b.Leads = append(b.Leads, l)
	accountLink(b, f, record.LinkLead, l.ID, l.IsDeleted, l.ModifiedAt)
	return true
}

func (rd *reading) deal(b *record.Batch, f map[string]string, raw string) bool {
	var v record.Fields
	d := record.Deal{
		ID:        v.Require("deal_id", f["deal_id"]),
		LeadID:    strings.TrimSpace(f["lead_id"]),
		CreatedAt: v.Time("created_at", f["created_at"]),
		UpdatedAt: v.Time("updated_at", f["updated_at"]),
		ClosedAt:  v.Time("closed_at", f["closed_at"]),
		Stage:     strings.TrimSpace(f["stage"]),
		Pipeline:  strings.TrimSpace(f["pipeline"]),
		Amount:    v.Amount("amount", f["amount"]),
		Currency:  v.Currency("currency", f["currency"]),
		IsWon:     v.Bool("is_won", f["is_won"]),
		IsLost:    v.Bool("is_lost", f["is_lost"]),
		IsDeleted: v.Bool("is_deleted", f["is_deleted"]),
	}
	rd.future(&v, "created_at", d.CreatedAt)
	rd.future(&v, "updated_at", d.UpdatedAt)
	spreadsheetNumbers(&v, f, "deal_id", "lead_id", "account_id", "amount")
	rd.groupedAmount(&v, "amount", f["amount"])
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: rd.object, Reason: v.Err.Error(), Raw: raw})
		return false
	}
	d.ModifiedAt = firstSet(d.UpdatedAt, d.CreatedAt)
	b.Deals = append(b.Deals, d)
	accountLink(b, f, record.LinkDeal, d.ID, d.IsDeleted, d.ModifiedAt)
	if d.LeadID != "" {
		// The export names one lead per deal: that is the deal's whole
		// association set as of this version.
		b.DealContacts = append(b.DealContacts, record.DealContact{
			ID: d.ID + ":" + d.LeadID, DealID: d.ID, LeadID: d.LeadID, IsPrimary: true, Snapshot: true,
			IsDeleted: d.IsDeleted, ModifiedAt: d.ModifiedAt,
		})
	}
	return true
}

// excelNumber is the shape Excel gives a number of 12 or more digits when
// it saves a CSV: six significant digits (123456789012 is 1.23457E+11).
var excelNumber = regexp.MustCompile(`^[+-]?[0-9](\.[0-9]+)?[eE][+-]?[0-9]+$`)

// spreadsheetNumbers rejects a row whose named columns hold a number in scientific
// notation: the digits Excel dropped cannot be known, so two ids become
// one and an amount is rounded.
func spreadsheetNumbers(v *record.Fields, f map[string]string, columns ...string) {
	for _, c := range columns {
		if s := strings.TrimSpace(f[c]); v.Err == nil && excelNumber.MatchString(s) {
			v.Err = fmt.Errorf("%s %q is in scientific notation (a spreadsheet's rounding of a long number): its digits are lost; export the file without opening it in a spreadsheet", c, s)
		}
	}
}

// amountColumns are the money columns of each stream's file.
var amountColumns = map[string][]string{"deals": {"amount"}}

// groupedAmount rejects an amount like 1.234 where the file does not
// show that its dot is a decimal point: where the comma is the decimal
// mark, it is one thousand two hundred and thirty-four. Without marks the
// row holds no such amount (readMarks).
func (rd *reading) groupedAmount(v *record.Fields, name, s string) {
	if v.Err == nil && rd.marks != nil && !rd.jsonNumber(name) {
		v.Err = rd.marks.CheckGrouping(name, s)
	}
}

// jsonNumber reports whether the current row's column was a JSON number.
func (rd *reading) jsonNumber(col string) bool {
	nr, ok := rd.rows.(*ndjsonReader)
	return ok && nr.number(col)
}

// readMarks reads the file's decimal marks when a row's amount is the
// first in doubt. The amounts that decide it may come anywhere in the file,
// before or after, and the file is streamed: holding its rows until they
// show would hold the whole file. So the file is read once more, keeping
// no row. A file that holds no amount in doubt is read once.
func (rd *reading) readMarks(stream string, f map[string]string) error {
	if rd.marks != nil {
		return nil
	}
	for _, c := range amountColumns[stream] {
		if loaders.MayGroupThousands(f[c]) && !rd.jsonNumber(c) {
			m, err := decimalMarks(rd.path, idColumn[stream], amountColumns[stream])
			if err != nil {
				return fmt.Errorf("file source: %s: %w", rd.object, err)
			}
			rd.marks = m
			return nil
		}
	}
	return nil
}

// decimalMarks reads the amount columns cols of the file at path (CSV, or
// else NDJSON, whose numbers tell nothing) for the mark its amounts write
// decimals with. It keeps the first amount that shows each, no row, and
// stops once both have shown.
func decimalMarks(path, id string, cols []string) (*loaders.DecimalMarks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		rows   rowReader
		line   func() int
		number = func(string) bool { return false }
		m      loaders.DecimalMarks
	)
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		cr, err := newCSVReader(f, id)
		if err != nil {
			return nil, err
		}
		rows, line, m = cr, func() int { return cr.line }, loaders.NewDecimalMarks(cr.comma)
	} else {
		nr, err := newNDJSONReader(f)
		if err != nil {
			return nil, err
		}
		rows, line, number, m = nr, func() int { return nr.lines.n }, nr.number, loaders.NewDecimalMarks(0)
	}
	for {
		fields, raw, err := rows.next()
		if err == io.EOF {
			return &m, nil
		}
		if fields == nil {
			if raw == "" {
				return nil, err
			}
			continue // its fields may not be where the header says
		}
		// A row rejected later, for a value, counts: the same export wrote it.
		for _, c := range cols {
			if !number(c) && m.Note(line(), fields[c]) {
				return &m, nil
			}
		}
	}
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// find returns the stream's file, or "" when there is none.
func (s *Source) find(stream string) (string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return "", fmt.Errorf("file source: %w", err)
	}
	var found, near []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		ext, ok := strings.CutPrefix(strings.ToLower(name), stream)
		switch {
		case ok && slices.Contains(extensions, ext):
			found = append(found, filepath.Join(s.dir, name)) // in any letter case, as exports are named
		case ok && ext != "":
			// leads.xlsx, a browser's second download "leads (1).csv", a
			// dated export leads_2026-12-07.csv
			near = append(near, name)
		}
	}
	switch len(found) {
	case 0:
		if len(near) > 0 {
			s.log.Warn("crm file missing; nothing to load, and files named like it are not read", "dir", s.dir, "stream", stream,
				"files", strings.Join(near, ", "), "want", stream+strings.Join(extensions, ", "+stream))
			return "", nil
		}
		s.log.Warn("crm file missing; nothing to load", "dir", s.dir, "stream", stream)
		return "", nil
	case 1:
		if len(near) > 0 {
			s.log.Warn("crm files named like the export are not read; SAM reads only "+filepath.Base(found[0]), "dir", s.dir, "stream", stream,
				"files", strings.Join(near, ", "))
		}
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, p := range found {
		names[i] = filepath.Base(p)
	}
	// SAM does not guess which file is current: the first stands for both.
	return found[0], &badFileError{
		reason: fmt.Sprintf("both %s exist, and SAM does not guess which is current: keep one; neither was loaded", strings.Join(names, " and ")),
		raw:    strings.Join(names, " and "),
	}
}

// extensions are the formats of an export file, after the entity's name.
var extensions = []string{".csv", ".ndjson", ".jsonl"}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("file source: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("file source: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
