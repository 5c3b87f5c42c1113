// Package file owns the CRM export source: leads and deals read from CSV or
// NDJSON files in one directory (the format is documented in README.md next to
// this file). It maps rows to crm/record shapes, rejects bad rows with their
// reason and raw text, and resumes mid-file after a crash. It imports
// internal/option, loaders and crm/record.
package file

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/option"
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

// Source reads leads.{csv,ndjson} and deals.{csv,ndjson} from a directory.
type Source struct {
	dir       string
	overlap   time.Duration
	batchSize int
	log       *slog.Logger
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
	return &Source{dir: o.Dir, overlap: o.Overlap, batchSize: o.BatchSize, log: o.Logger}, nil
}

// System implements crm.Source.
func (s *Source) System() string { return "file" }

// Streams implements crm.Source.
func (s *Source) Streams() []string { return []string{"leads", "deals"} }

// cursor is a stream's resume point. A file is identified by its content
// hash: the same file is skipped once done, or resumed after Row; a new file
// is read again, skipping rows whose updated_at is older than the watermark
// of the last complete load (less the overlap), which were loaded before.
type cursor struct {
	File      string    `json:"file"`
	Hash      string    `json:"sha256"`
	Row       int64     `json:"row"`                // data rows consumed
	Done      bool      `json:"done"`               // whole file durable
	Since     time.Time `json:"since,omitzero"`     // filter of this load
	Watermark time.Time `json:"watermark,omitzero"` // newest updated_at of complete loads
	Newest    time.Time `json:"newest,omitzero"`    // newest updated_at so far in this load
}

// Read implements crm.Source.
func (s *Source) Read(ctx context.Context, stream, cur string, emit func(context.Context, *record.Batch) error) error {
	if stream != "leads" && stream != "deals" {
		return fmt.Errorf("file source: unknown stream %q", stream)
	}
	path, err := s.find(stream)
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
		c = cursor{File: filepath.Base(path), Hash: hash, Since: since, Watermark: c.Watermark}
	}

	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	defer f.Close()
	var rows rowReader
	if strings.HasSuffix(path, ".csv") {
		var cr *csvReader
		cr, err = newCSVReader(f)
		if err == nil {
			err = cr.require(stream)
		}
		rows = cr
	} else {
		rows = newNDJSONReader(f)
	}
	if err != nil {
		return fmt.Errorf("file source: %s: %w", path, err)
	}
	return s.stream(ctx, stream, filepath.Base(path), rows, c, emit)
}

func (s *Source) stream(ctx context.Context, stream, object string, rows rowReader, c cursor, emit func(context.Context, *record.Batch) error) error {
	var b record.Batch
	var row int64
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
			return fmt.Errorf("file source: %s row %d: %w", object, row+1, err)
		}
		row++
		if row <= c.Row {
			continue // durable before a crash
		}
		if err != nil {
			b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: object, Reason: err.Error(), Raw: raw})
		} else if stream == "leads" {
			s.lead(&b, object, fields, raw, &c)
		} else {
			s.deal(&b, object, fields, raw, &c)
		}
		if b.Len() >= s.batchSize {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
}

// keep reports whether a row modified at t belongs to this load, and tracks
// the newest timestamp seen.
func keep(c *cursor, t time.Time) bool {
	if t.After(c.Newest) {
		c.Newest = t
	}
	return t.IsZero() || c.Since.IsZero() || !t.Before(c.Since)
}

// unchanged reports whether a row of a changed file predates what the last
// complete load saw (less the overlap), so it was loaded then. Rows whose
// timestamps do not parse are never skipped: they are validated (and
// rejected) like any other.
func unchanged(c *cursor, f map[string]string) bool {
	mod, err := record.ParseTime(f["updated_at"])
	if err == nil && mod.IsZero() {
		mod, err = record.ParseTime(f["created_at"])
	}
	if err != nil {
		return false
	}
	return !keep(c, mod)
}

func (s *Source) lead(b *record.Batch, object string, f map[string]string, raw string, c *cursor) {
	if unchanged(c, f) {
		return
	}
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
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: object, Reason: v.Err.Error(), Raw: raw})
		return
	}
	l.ModifiedAt = firstSet(l.UpdatedAt, l.CreatedAt)
	b.Leads = append(b.Leads, l)
}

func (s *Source) deal(b *record.Batch, object string, f map[string]string, raw string, c *cursor) {
	if unchanged(c, f) {
		return
	}
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
	if v.Err != nil {
		b.Rejects = append(b.Rejects, loaders.Reject{Source: "file", Object: object, Reason: v.Err.Error(), Raw: raw})
		return
	}
	d.ModifiedAt = firstSet(d.UpdatedAt, d.CreatedAt)
	b.Deals = append(b.Deals, d)
	if d.LeadID != "" {
		// The export names one lead per deal: that is the deal's whole
		// association set as of this version.
		b.DealContacts = append(b.DealContacts, record.DealContact{
			ID: d.ID + ":" + d.LeadID, DealID: d.ID, LeadID: d.LeadID, IsPrimary: true, Snapshot: true,
			IsDeleted: d.IsDeleted, ModifiedAt: d.ModifiedAt,
		})
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
	var found []string
	for _, ext := range []string{".csv", ".ndjson", ".jsonl"} {
		p := filepath.Join(s.dir, stream+ext)
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("file source: %w", err)
		}
	}
	switch len(found) {
	case 0:
		s.log.Warn("crm file missing; nothing to load", "dir", s.dir, "stream", stream)
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("file source: both %s exist; keep one", strings.Join(found, " and "))
}

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

// rowReader yields one data row as column → text. A row-level problem
// returns the raw text and an error (the row is rejected); a file-level
// problem returns no raw text (the load stops).
type rowReader interface {
	next() (fields map[string]string, raw string, err error)
}

type csvReader struct {
	r      *csv.Reader
	header []string
	buf    strings.Builder
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true // a stray quote is data, not a reason to lose the row
	h, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	header := make([]string, len(h))
	for i, c := range h {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))
	}
	return &csvReader{r: cr, header: header}, nil
}

// require checks the header names the stream's id column; without it no row
// could load.
func (c *csvReader) require(stream string) error {
	want := map[string]string{"leads": "lead_id", "deals": "deal_id"}[stream]
	for _, h := range c.header {
		if h == want {
			return nil
		}
	}
	return fmt.Errorf("header has no %s column (columns: %s)", want, strings.Join(c.header, ","))
}

func (c *csvReader) next() (map[string]string, string, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, "", io.EOF
	}
	if rec == nil && err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The line is unreadable as CSV; keep what we can name.
			return nil, fmt.Sprintf("line %d", pe.Line), fmt.Errorf("malformed CSV: %w", err)
		}
		return nil, "", err
	}
	c.buf.Reset()
	w := csv.NewWriter(&c.buf)
	_ = w.Write(rec)
	w.Flush()
	raw := strings.TrimRight(c.buf.String(), "\n")
	if len(rec) != len(c.header) {
		return nil, raw, fmt.Errorf("row has %d fields, header has %d", len(rec), len(c.header))
	}
	m := make(map[string]string, len(rec))
	for i, v := range rec {
		m[c.header[i]] = v
	}
	return m, raw, nil
}

type ndjsonReader struct {
	sc *bufio.Scanner
}

func newNDJSONReader(r io.Reader) *ndjsonReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return &ndjsonReader{sc: sc}
}

func (n *ndjsonReader) next() (map[string]string, string, error) {
	for n.sc.Scan() {
		line := strings.TrimSpace(n.sc.Text())
		if line == "" {
			continue
		}
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return nil, line, fmt.Errorf("invalid JSON: %w", err)
		}
		m := make(map[string]string, len(obj))
		for k, v := range obj {
			switch x := v.(type) {
			case nil:
			case string:
				m[k] = x
			case json.Number:
				m[k] = x.String()
			case bool:
				m[k] = fmt.Sprint(x)
			default:
				return nil, line, fmt.Errorf("field %s: expected a scalar, got %T", k, v)
			}
		}
		return m, line, nil
	}
	if err := n.sc.Err(); err != nil {
		return nil, "", err
	}
	return nil, "", io.EOF
}
