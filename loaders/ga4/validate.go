package ga4

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sam-attribution/sam/warehouse"
)

// The validator walks one NDJSON line in a single pass, directed by the
// export schema: it checks JSON syntax and that every value can be loaded
// into its column (INT64 as a JSON number or string, FLOAT, BOOL, records,
// arrays), and it picks out event_date and event_timestamp. It allocates
// nothing on a valid line, so validation costs about as much as reading.

type kind uint8

const (
	kString kind = iota
	kInt
	kFloat
	kBool
	kRecord
)

type field struct {
	name     string
	path     string // dotted path from the row, for reporting unknown members
	kind     kind
	repeated bool
	fields   map[string]*field
	// ordered holds fields in the export schema's order, and index is a
	// field's place in its parent's: exports write members in that order,
	// leaving out NULL ones, so the member after field i is nearly always
	// one of the next few, found by comparing names instead of hashing
	// (the map lookups were 28 % of validation).
	ordered []*field
	index   int
}

// lookAhead is how many of the fields after the previous member a member's
// name is compared with before the map is asked.
const lookAhead = 4

// member returns the field named key, looking first at the fields from
// next on in schema order.
func (f *field) member(key []byte, next int) *field {
	for _, g := range f.ordered[min(next, len(f.ordered)):min(next+lookAhead, len(f.ordered))] {
		if g.name == string(key) {
			return g
		}
	}
	return f.fields[string(key)] // no allocation: the compiler optimises map lookups keyed by string(bytes)
}

// Validator checks export lines against the export schema. It is safe for
// concurrent use.
type Validator struct {
	root *field
}

// NewValidator returns a validator for the GA4 export schema.
func NewValidator() *Validator {
	root := &field{kind: kRecord}
	root.fields, root.ordered = buildFields("", ExportColumns())
	return &Validator{root: root}
}

func buildFields(parent string, cols []warehouse.Column) (map[string]*field, []*field) {
	m := make(map[string]*field, len(cols))
	ordered := make([]*field, len(cols))
	for i, c := range cols {
		f := &field{name: c.Name, path: joinPath(parent, c.Name), repeated: c.Repeated, index: i}
		ordered[i] = f
		switch c.Type {
		case warehouse.Int64:
			f.kind = kInt
		case warehouse.Float64:
			f.kind = kFloat
		case warehouse.Bool:
			f.kind = kBool
		case warehouse.Record:
			f.kind = kRecord
			f.fields, f.ordered = buildFields(f.path, c.Fields)
		default:
			f.kind = kString
		}
		m[c.Name] = f
	}
	return m, ordered
}

// Line is what validation learned about one valid line.
type Line struct {
	// EventDate is the event_date value (YYYYMMDD), parsed.
	EventDate time.Time
	// EventTimestamp is event_timestamp in microseconds.
	EventTimestamp int64
	// End is the offset of the closing brace of the top-level object.
	End int
	// Unknown lists members the schema does not know (path form, e.g.
	// "device.new_field"). Newer exports add columns; the loader drops them.
	Unknown []string
}

// Check validates one line. A non-nil error says why the line cannot be
// loaded, in words fit for load_rejects.
func (v *Validator) Check(line []byte) (Line, error) {
	return v.check(line)
}

func (v *Validator) check(line []byte) (Line, error) {
	s := scanner{b: line}
	var out Line
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return out, errors.New("malformed JSON: a line must hold one JSON object")
	}
	var date, ts []byte
	var dateSeen, tsSeen bool
	s.unknown = &out.Unknown
	err := s.object(v.root, func(name string, f *field) error {
		switch name {
		case "event_date":
			s.ws()
			raw, null, err := s.stringRaw()
			if err != nil {
				return err
			}
			if !null {
				date, dateSeen = raw, true
			}
			return nil
		case "event_timestamp":
			start := s.i
			if err := s.value(f, 0); err != nil {
				return err
			}
			if tok := bytes.Trim(s.b[start:s.i], "\" \t"); !bytes.Equal(tok, []byte("null")) {
				ts, tsSeen = tok, true
			}
			return nil
		}
		return s.value(f, 0)
	})
	if err != nil {
		return out, err
	}
	out.End = s.i - 1
	s.ws()
	if s.i != len(s.b) {
		return out, fmt.Errorf("malformed JSON: unexpected data after the object at byte %d", s.i)
	}
	if !tsSeen {
		return out, errors.New("missing event_timestamp")
	}
	if out.EventTimestamp, err = strconv.ParseInt(string(ts), 10, 64); err != nil || out.EventTimestamp <= 0 {
		return out, fmt.Errorf("bad event_timestamp %q: want microseconds since the epoch", ts)
	}
	if !dateSeen {
		return out, errors.New("missing event_date")
	}
	d, ok := parseDay(date)
	if !ok {
		return out, fmt.Errorf("bad event_date %q: want YYYYMMDD", date)
	}
	out.EventDate = d
	return out, nil
}

// parseDay parses YYYYMMDD without allocating.
func parseDay(b []byte) (time.Time, bool) {
	if len(b) != 8 {
		return time.Time{}, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int(c-'0')
	}
	y, m, d := n/10000, time.Month(n/100%100), n%100
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if y < 1970 || t.Month() != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

type scanner struct {
	b       []byte
	i       int
	unknown *[]string // where to record members the schema does not know
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("malformed JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) literal(lit string) bool {
	// Inlined with a constant lit, the comparison compiles to a few loads
	// (null checks are most of the literals read).
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

func (s *scanner) peekNull() bool {
	s.ws()
	return s.literal("null")
}

const maxDepth = 64

// object scans an object whose members are described by rec. Members the
// schema knows are passed to member; others are skipped (after syntax
// checks) and recorded in unknown.
func (s *scanner) object(rec *field, member func(name string, f *field) error) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.errf("expected an object")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	// A repeated member would be read one way here and another by the JSON
	// decoder that later drops unknown members (it keeps the last), so the
	// line is refused rather than loaded with a value nobody checked.
	var seen [32]*field
	nseen, next := 0, 0
	for {
		s.ws()
		key, _, err := s.stringRaw()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf("expected ':' after a key")
		}
		s.i++
		f := rec.member(key, next)
		if f == nil {
			if s.unknown != nil && rec.kind == kRecord && rec.fields != nil {
				*s.unknown = append(*s.unknown, joinPath(rec.path, string(key)))
			}
			if err := s.skip(0); err != nil {
				return err
			}
		} else {
			for _, g := range seen[:min(nseen, len(seen))] {
				if g == f {
					return prefix(f.name, s.errf("member appears twice"))
				}
			}
			if nseen < len(seen) {
				seen[nseen] = f
			}
			nseen++
			next = f.index + 1
			if err := member(f.name, f); err != nil {
				return prefix(f.name, err)
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errf("unterminated object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errf("expected ',' or '}' in an object")
		}
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeError is a value of the wrong type; its path grows as it unwinds.
type typeError struct {
	path string
	msg  string
}

func (e *typeError) Error() string { return e.path + ": " + e.msg }

func prefix(name string, err error) error {
	var te *typeError
	if errors.As(err, &te) {
		if te.path == "" || te.path[0] == '[' {
			te.path = name + te.path
		} else {
			te.path = name + "." + te.path
		}
		return te
	}
	return err
}

// value scans one value of field f.
func (s *scanner) value(f *field, depth int) error {
	if depth > maxDepth {
		return s.errf("nesting deeper than %d", maxDepth)
	}
	if s.peekNull() {
		return nil
	}
	if f.repeated {
		if s.i >= len(s.b) || s.b[s.i] != '[' {
			return &typeError{msg: "expected an array"}
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		elem := *f
		elem.repeated = false
		for {
			if err := s.value(&elem, depth+1); err != nil {
				return prefix("[]", err)
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.errf("unterminated array")
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.errf("expected ',' or ']' in an array")
			}
		}
	}
	if s.i >= len(s.b) {
		return s.errf("unexpected end of line")
	}
	c := s.b[s.i]
	switch f.kind {
	case kRecord:
		if c != '{' {
			return &typeError{msg: "expected an object"}
		}
		return s.object(f, func(_ string, sub *field) error { return s.value(sub, depth+1) })
	case kString:
		if c != '"' {
			return &typeError{msg: "expected a string"}
		}
		_, _, err := s.stringRaw()
		return err
	case kInt:
		if c == '"' {
			raw, _, err := s.stringRaw()
			if err != nil {
				return err
			}
			if !isInt(raw) {
				return &typeError{msg: fmt.Sprintf("%q is not an INT64", raw)}
			}
			return nil
		}
		start := s.i
		isInteger, err := s.number()
		if err != nil {
			return err
		}
		if !isInteger || !isInt(s.b[start:s.i]) {
			return &typeError{msg: fmt.Sprintf("%s is not an INT64", s.b[start:s.i])}
		}
		return nil
	case kFloat:
		if c == '"' {
			raw, _, err := s.stringRaw()
			if err != nil {
				return err
			}
			switch string(raw) {
			case "NaN", "Infinity", "-Infinity":
				return nil
			}
			if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
				return &typeError{msg: fmt.Sprintf("%q is not a FLOAT64", raw)}
			}
			return nil
		}
		if _, err := s.number(); err != nil {
			return &typeError{msg: "expected a number"}
		}
		return nil
	case kBool:
		if s.literal("true") || s.literal(`"true"`) || s.literal("false") || s.literal(`"false"`) {
			return nil
		}
		return &typeError{msg: "expected true or false"}
	}
	return s.skip(depth)
}

// isInt reports whether b is a decimal integer that fits in an int64.
func isInt(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(b) == 19 && string(b) > "9223372036854775807" {
		return false
	}
	return true
}

// stringRaw scans a JSON string (or null) and returns its raw content. The
// content is returned undecoded; escapes are checked, not expanded.
func (s *scanner) stringRaw() (raw []byte, null bool, err error) {
	if s.literal("null") {
		return nil, true, nil
	}
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, &typeError{msg: "expected a string"}
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		// Skip plain characters, eight at a time while a word holds none
		// to look at, then one by one; only quotes, escapes, control
		// characters and UTF-8 need a closer look.
		for s.i+8 <= len(s.b) && !needsLook(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8
		}
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, false, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false, s.errf("unterminated string")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return nil, false, s.errf("bad \\u escape")
				}
				s.i += 6
			default:
				return nil, false, s.errf("bad escape")
			}
		case c < 0x20:
			return nil, false, s.errf("control character in a string")
		case c >= utf8.RuneSelf:
			// The warehouse refuses a file with invalid UTF-8 as a whole;
			// catching it here rejects just the line.
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, s.errf("invalid UTF-8 in a string")
			}
			s.i += size
		default:
			s.i++
		}
	}
	return nil, false, s.errf("unterminated string")
}

// needsLook reports whether any of the eight bytes of w is a quote, a
// backslash, a control character or not ASCII: a word without one is plain
// string content. Zero-byte tests on w with the byte xored away, as in the
// "determine if a word has a zero byte" bit hack: they never miss a byte
// (false positives only follow a true one, and the byte loop sorts those
// out).
func needsLook(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	hits := (quote - ones) &^ quote
	hits |= (backslash - ones) &^ backslash
	hits |= (w - ones*0x20) &^ w // bytes below 0x20
	hits |= w                    // bytes from 0x80
	return hits&highs != 0
}

// plain marks the bytes a JSON string may hold unescaped.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans a JSON number and reports whether it has no fraction or
// exponent.
func (s *scanner) number() (integer bool, err error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		s.i = start
		return false, s.errf("expected a value")
	}
	integer = true
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		integer = false
		if digits() == 0 {
			return false, s.errf("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		integer = false
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false, s.errf("bad number")
		}
	}
	return integer, nil
}

// skip scans any JSON value, checking its syntax only.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errf("nesting deeper than %d", maxDepth)
	}
	s.ws()
	if s.i >= len(s.b) {
		return s.errf("unexpected end of line")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, err := s.stringRaw()
		return err
	case c == '{':
		return s.object(&field{kind: kString}, nil)
	case c == '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.errf("unterminated array")
			}
			if s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if s.b[s.i] != ',' {
				return s.errf("expected ',' or ']' in an array")
			}
			s.i++
		}
	case s.literal("true"), s.literal("false"), s.literal("null"):
		return nil
	default:
		_, err := s.number()
		return err
	}
}

// dropUnknown re-encodes a line without the members the schema does not
// know. It is the slow path, taken only by lines from a newer export.
func (v *Validator) dropUnknown(line []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, err
	}
	prune(obj, v.root)
	return json.Marshal(obj)
}

func prune(obj map[string]any, rec *field) {
	for k, val := range obj {
		f := rec.fields[k]
		if f == nil {
			delete(obj, k)
			continue
		}
		if f.kind != kRecord {
			continue
		}
		switch x := val.(type) {
		case map[string]any:
			prune(x, f)
		case []any:
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					prune(m, f)
				}
			}
		}
	}
}
