package file

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sam-attribution/sam/loaders"
)

// rowReader yields one data row as column → text. A row-level problem
// returns the raw text and an error (the row is rejected); a file-level
// problem returns no raw text (the load stops).
type rowReader interface {
	next() (fields map[string]string, raw string, err error)
}

// Limits that keep one bad row from stopping a load or filling memory.
const (
	// maxLine is the longest line read; a longer one is rejected and
	// skipped, not a reason to stop.
	maxLine = 16 << 20
	// maxRecordLines bounds how far a quote that opens a multi-line CSV
	// field is followed before it is taken for a stray quote (maxLine bounds
	// its bytes): a notes field holding an email thread runs to hundreds.
	maxRecordLines = 10000
)

// errLineTooLong marks a line longer than maxLine.
var errLineTooLong = errors.New("line too long")

// lines reads physical lines (without the line ending) and drops a UTF-8
// byte order mark before the first.
type lines struct {
	r       *bufio.Reader
	first   bool
	pending []line // pushed back, last first
	// bareCR: the first line holds a carriage return that ends no line,
	// so the file's lines end with CR alone.
	bareCR bool
	// n counts the lines returned, less those pushed back: the number of
	// the last, for reasons that point into the file.
	n int
}

// bareCRReason rejects a file whose lines end with a carriage return
// alone: read by newlines it is one line, and its rows would vanish.
const bareCRReason = "lines end with a bare carriage return (Excel for Mac's \"CSV (Macintosh)\"): save the export as CSV UTF-8" + notLoaded

type line struct {
	s   string
	n   int
	err error
}

func newLines(r io.Reader) *lines {
	return &lines{r: bufio.NewReaderSize(r, 1<<16), first: true}
}

func (l *lines) push(s string, n int, err error) {
	l.pending = append(l.pending, line{s, n, err})
	l.n--
}

// next returns the next line. A line longer than maxLine is consumed and
// returned cut short, with errLineTooLong and its length.
func (l *lines) next() (string, int, error) {
	if n := len(l.pending); n > 0 {
		p := l.pending[n-1]
		l.pending = l.pending[:n-1]
		l.n++
		return p.s, p.n, p.err
	}
	var buf []byte
	total := 0
	for {
		chunk, err := l.r.ReadSlice('\n')
		total += len(chunk)
		if len(buf) < maxLine {
			buf = append(buf, chunk[:min(len(chunk), maxLine-len(buf)+1)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && total == 0 {
			return "", 0, io.EOF
		}
		if err != nil && err != io.EOF {
			return "", 0, err
		}
		break
	}
	l.n++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	// \r\r\n too: CRLF text written again in a Windows text mode.
	buf = bytes.TrimRight(buf, "\r")
	if l.first {
		l.first = false
		buf = bytes.TrimPrefix(buf, []byte("\ufeff"))
		l.bareCR = bytes.IndexByte(buf, '\r') >= 0
	}
	if total > maxLine+1 {
		return string(buf[:min(len(buf), loaders.MaxRawText)]) + "…", total, errLineTooLong
	}
	return string(buf), total, nil
}

// lineProblem rejects a line SAM cannot read as text, and says why.
func lineProblem(s string, n int, err error) error {
	if errors.Is(err, errLineTooLong) {
		return fmt.Errorf("line of %d bytes is longer than the %d MiB limit", n, maxLine>>20)
	}
	return loaders.CheckUTF8(s)
}

// delimiters are the separators CRM exports use: comma, semicolon
// (European locales, where the comma is the decimal mark) and tab.
var delimiters = []rune{',', ';', '\t'}

type csvReader struct {
	lines  *lines
	comma  rune
	header []string
	// line is the number of the line the last record returned starts on.
	line int
}

// badFileError is a file SAM cannot use as a whole, by its own fault (a
// CSV header it cannot read, a second file for the same entity), as
// opposed to a failing disk. raw is what the reject keeps: the header line
// as read, or the names of the files.
type badFileError struct {
	reason string
	raw    string
}

func (e *badFileError) Error() string { return e.reason }

const notLoaded = "; nothing of the file was loaded"

// newCSVReader reads the header and picks the delimiter that makes it
// name the id column.
func newCSVReader(r io.Reader, id string) (*csvReader, error) {
	ls := newLines(r)
	var line string
	for {
		s, n, err := ls.next()
		if err == io.EOF {
			return nil, &badFileError{reason: "read header: file is empty" + notLoaded}
		}
		if err == nil || errors.Is(err, errLineTooLong) {
			if problem := lineProblem(s, n, err); problem != nil {
				return nil, &badFileError{reason: "read header: " + problem.Error() + notLoaded, raw: loaders.RawText(s)}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
		if s != "" {
			line = s
			break
		}
	}
	var best []string
	bestComma := ','
	for _, d := range delimiters {
		fields, err := parseRecord(line, d)
		if err != nil {
			continue
		}
		for i, c := range fields {
			fields[i] = column(c)
		}
		if containsCol(fields, id) {
			if ls.bareCR {
				return nil, &badFileError{reason: bareCRReason, raw: loaders.RawText(line)}
			}
			if twice := repeated(fields); twice != "" {
				return nil, &badFileError{reason: fmt.Sprintf("header names column %s twice, and SAM does not guess which is meant", twice) + notLoaded, raw: loaders.RawText(line)}
			}
			return &csvReader{lines: ls, comma: d, header: fields}, nil
		}
		if len(fields) > len(best) {
			best, bestComma = fields, d
		}
	}
	if ls.bareCR {
		return nil, &badFileError{reason: bareCRReason, raw: loaders.RawText(line)}
	}
	return nil, &badFileError{
		reason: fmt.Sprintf("header has no %s column (read with delimiter %q; columns: %s)", id, bestComma, strings.Join(best, ",")) + notLoaded,
		raw:    loaders.RawText(line),
	}
}

// repeated returns the first non-empty column name cols holds twice.
func repeated(cols []string) string {
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c != "" && seen[c] {
			return c
		}
		seen[c] = true
	}
	return ""
}

// column is a header's or an NDJSON key's name as SAM matches it.
func column(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func containsCol(cols []string, c string) bool {
	for _, h := range cols {
		if h == c {
			return true
		}
	}
	return false
}

// parseRecord parses text as exactly one CSV record, a stray quote kept as
// data.
func parseRecord(text string, comma rune) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	rec, err := cr.Read()
	if err != nil {
		return nil, err
	}
	if _, err := cr.Read(); err != io.EOF {
		return nil, errors.New("more than one record")
	}
	return rec, nil
}

// next reads one record. A field may span lines inside quotes; a line
// whose quotes do not balance and that does not continue into a record
// with the header's field count holds a stray quote: that line alone is
// the record (loaded if its fields still count right, else rejected) and
// reading goes on at the next line.
func (c *csvReader) next() (map[string]string, string, error) {
	var line string
	for {
		s, n, err := c.lines.next()
		if err == io.EOF {
			return nil, "", io.EOF
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return nil, "", err
		}
		if p := lineProblem(s, n, err); p != nil {
			return nil, loaders.RawText(s), p
		}
		if s != "" {
			line = s
			break
		}
	}
	c.line = c.lines.n
	if strings.Count(line, `"`)%2 == 1 {
		if m, raw, ok := c.multiline(line); ok {
			return m, raw, nil
		}
	}
	rec, err := c.record(line)
	if err != nil {
		return nil, line, err
	}
	if c.isHeader(rec) {
		return nil, line, errors.New("the header repeats here (exports joined one after another?)")
	}
	if len(rec) != len(c.header) {
		if strings.Count(line, `"`)%2 == 1 {
			return nil, line, fmt.Errorf("unbalanced quote: row has %d fields, header has %d", len(rec), len(c.header))
		}
		return nil, line, fmt.Errorf("row has %d fields, header has %d", len(rec), len(c.header))
	}
	return c.fields(rec), line, nil
}

// record parses one line as a record. A line without a quote (or a
// carriage return, which encoding/csv may take for a line's end) is split
// at its delimiters, as encoding/csv would split it: its two parsers per
// line took half the time of a load.
func (c *csvReader) record(line string) ([]string, error) {
	if !strings.ContainsAny(line, "\"\r") {
		return strings.Split(line, string(c.comma)), nil
	}
	if err := strictQuotes(line, c.comma); err != nil {
		return nil, err
	}
	rec, err := parseRecord(line, c.comma)
	if err != nil {
		return nil, fmt.Errorf("malformed CSV: %w", err)
	}
	return rec, nil
}

// multiline follows a line with an open quote until the quotes balance and
// the lines parse as one well-quoted record of the header's width. When
// they do not,
// the lines read ahead are put back.
func (c *csvReader) multiline(first string) (map[string]string, string, bool) {
	var ahead []line
	var text strings.Builder
	text.WriteString(first)
	quotes := strings.Count(first, `"`)
	for len(ahead) < maxRecordLines && text.Len() < maxLine {
		s, n, err := c.lines.next()
		if err == io.EOF {
			break
		}
		ahead = append(ahead, line{s, n, err})
		if err != nil {
			break
		}
		text.WriteString("\n")
		text.WriteString(s)
		quotes += strings.Count(s, `"`)
		if quotes%2 == 1 {
			continue
		}
		t := text.String()
		if rec, err := parseRecord(t, c.comma); err == nil && len(rec) == len(c.header) && utf8.ValidString(t) && strictQuotes(t, c.comma) == nil {
			return c.fields(rec), t, true
		}
		break
	}
	for i := len(ahead) - 1; i >= 0; i-- {
		c.lines.push(ahead[i].s, ahead[i].n, ahead[i].err)
	}
	return nil, "", false
}

// strictQuotes rejects a quoted field that never closes, or has text
// after its closing quote: what such a line meant cannot be known. A quote
// inside an unquoted field (Acme 5" Ltd) is data.
func strictQuotes(text string, comma rune) error {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	_, err := cr.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) {
		return fmt.Errorf("unbalanced quote at column %d: a quoted field must end with a quote before the next delimiter", pe.Column)
	}
	return nil
}

// isHeader reports whether rec names the header's columns again.
func (c *csvReader) isHeader(rec []string) bool {
	if len(rec) != len(c.header) {
		return false
	}
	for i, v := range rec {
		if column(v) != c.header[i] {
			return false
		}
	}
	return true
}

func (c *csvReader) fields(rec []string) map[string]string {
	m := make(map[string]string, len(rec))
	for i, v := range rec {
		m[c.header[i]] = v
	}
	return m
}

type ndjsonReader struct {
	lines *lines
	// numbers are the keys of the last row whose values were JSON numbers,
	// not text: only text can hold a locale's formatting.
	numbers []string
}

// number reports whether key's value in the last row was a JSON number.
func (n *ndjsonReader) number(key string) bool { return slices.Contains(n.numbers, key) }

// newNDJSONReader looks at the first line: a file whose lines end with a
// bare carriage return is one line of many objects.
func newNDJSONReader(r io.Reader) (*ndjsonReader, error) {
	ls := newLines(r)
	for {
		s, n, err := ls.next()
		if err == io.EOF {
			return &ndjsonReader{lines: ls}, nil
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return nil, err
		}
		if ls.bareCR {
			return nil, &badFileError{reason: bareCRReason, raw: loaders.RawText(s)}
		}
		if strings.TrimSpace(s) != "" || err != nil {
			ls.push(s, n, err)
			return &ndjsonReader{lines: ls}, nil
		}
	}
}

func (n *ndjsonReader) next() (map[string]string, string, error) {
	for {
		raw, size, err := n.lines.next()
		if err == io.EOF {
			return nil, "", io.EOF
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return nil, "", err
		}
		if p := lineProblem(raw, size, err); p != nil {
			return nil, loaders.RawText(raw), p
		}
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		n.numbers = n.numbers[:0]
		m, err := decodeObject(line, &n.numbers)
		if err != nil {
			return nil, line, err
		}
		return m, line, nil
	}
}

// decodeObject reads line as exactly one JSON object of scalars, its keys
// matched as CSV headers are. A key given twice, in any case, and anything
// after the object (files joined without a final newline) are errors:
// SAM would have to guess which value, or lose the rest. The keys of
// numbers are appended to numbers.
func decodeObject(line string, numbers *[]string) (map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("invalid JSON: not an object")
	}
	m := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key := column(tok.(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %s is given twice, and SAM does not guess which is meant", key)
		}
		seen[key] = true
		switch x := v.(type) {
		case nil: // NULL, as an absent key is
		case string:
			m[key] = x
		case json.Number:
			m[key] = x.String()
			*numbers = append(*numbers, key)
		case bool:
			m[key] = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("field %s: expected a scalar, got %T", key, v)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value on the line (files joined without a final newline?)")
	}
	return m, nil
}
