// Package pii recognises personal data in free text: email addresses and
// phone numbers. It owns the detectors that the GA4 payload guard refuses on
// (Kind) and the masking of text SAM keeps outside the CRM tables, such as
// the raw rows of load_rejects (Mask, MaskRecord). Names, and free text
// such as notes, cannot be told from other words: they are masked only where
// a JSON key or a CSV column says the value is one.
//
// It imports the standard library only.
package pii

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tokens that replace what Mask removes.
const (
	EmailToken = "[email]"
	PhoneToken = "[phone]"
	NameToken  = "[name]"
	// TextToken replaces free text (notes, descriptions, messages): it may
	// say anything about anyone, and no SAM check reads it.
	TextToken = "[text]"
)

var (
	// emailRE: letters of any script on both sides of the @ (RFC 6531
	// local parts, internationalised domains), else the address is masked
	// from its last non-ASCII letter on and the start of it kept. The
	// local part may hold an apostrophe (o'brien@), but not begin with
	// one, so a quote around the address stays. The last label is letters
	// or an A-label (xn--, tried first: its "xn" alone is letters too).
	emailRE = regexp.MustCompile(`[\p{L}\p{M}\p{N}_%+\-][\p{L}\p{M}\p{N}._%+\-']*@[\p{L}\p{M}\p{N}\-]+(\.[\p{L}\p{M}\p{N}\-]+)*\.(xn--[A-Za-z0-9\-]+|\p{L}[\p{L}\p{M}]+)`)
	// phoneRE: an optional +, then digits with the separators people type.
	phoneRE = regexp.MustCompile(`\+?\(?\d[\d\s().\-/]{6,}\d`)
	// Dates and times are digit runs that are not phone numbers.
	dateTimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+\-]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}(:\d{2})?`)
	// A plain decimal number (an amount, a GA client id, a fractional
	// timestamp): phone numbers written with dots have more than one.
	decimalRE = regexp.MustCompile(`^\d+\.\d+$`)
)

// Kind names the kind of personal data s appears to hold ("an email
// address", "a phone number"), or "". It errs on the side of finding: the
// guard refuses what it finds, and a refused event can be fixed upstream
// while personal data sent away cannot be recalled.
func Kind(s string) string {
	if strings.Contains(s, "@") && emailRE.MatchString(s) {
		return "an email address"
	}
	if countDigits(s) < 7 {
		return "" // too few digits for any phone number: skip the regexps
	}
	for _, m := range phoneRE.FindAllString(dateTimeRE.ReplaceAllString(s, " "), -1) {
		if phoneShaped(m) {
			return "a phone number"
		}
	}
	return ""
}

// phoneShaped reports whether a phoneRE match has the digits of a phone
// number: E.164 numbers have at most 15, national ones at least 7.
func phoneShaped(m string) bool {
	digits := countDigits(m)
	return digits >= 7 && digits <= 15 && (strings.HasPrefix(m, "+") || digits >= 9 || strings.ContainsAny(m, " -()."))
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// Mask replaces every email address in s with EmailToken and every phone
// number with PhoneToken, and leaves the rest of s as it was, so a rejected
// row still shows its identifiers, amounts and dates. It spares digit runs
// Kind would flag but that are certainly not phone numbers, because the
// masked text is read to fix the row:
//   - a run inside a longer token (an id such as L-1004 or GA1.1.x.y, a UUID);
//   - a plain decimal (12500.50, a GA client id 123456789.1700000000);
//   - ten or thirteen bare digits starting with 1: epoch seconds and
//     milliseconds of 2001-2033. No national number has that form: North
//     American area codes start with 2-9, and other plans dial a trunk 0 or
//     a country code other than 1 before them.
//
// Text that begins with a JSON object is masked value by value, each
// string as decoded (escapes hide nothing); a value Mask changes is
// written again as a JSON string. Under identifier keys (id, Id, lead_id,
// hs_object_id, ...) bare digit runs are kept, since CRM record ids can be
// long ones; an email address or a phone number with a + or separators is
// masked there too: some sites use one as the user id.
func Mask(s string) string {
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		return maskJSON(s)
	}
	return mask(s, false)
}

// idKey reports whether a JSON key names a record identifier.
func idKey(k string) bool {
	l := strings.ToLower(k)
	return l == "id" || strings.HasSuffix(l, "_id") || strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "ID")
}

// maskJSON masks the keys and values of a stream of JSON values. Where the
// text stops being JSON (a line cut short, a syntax error: often why the
// row was rejected), the rest is masked as text.
func maskJSON(s string) string {
	type frame struct {
		object, wantKey bool
		key             string
		keyStart        int    // where key begins in s
		token           string // what masks an object or a list (a name, free text)
	}
	var stack []frame
	// valueDone: the innermost object's value is read, a key comes next.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	last := 0 // s[:last] is written to b
	replace := func(start, end int, with string) {
		b.WriteString(s[last:start])
		b.WriteString(with)
		last = end
	}
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A value that does not parse is read again with its key.
			from := before
			if n := len(stack); n > 0 && stack[n-1].object && !stack[n-1].wantKey && stack[n-1].keyStart >= last {
				from = stack[n-1].keyStart
			}
			b.WriteString(s[last:from])
			b.WriteString(maskBrokenJSON(s[from:]))
			return b.String()
		}
		end := int(dec.InputOffset())
		var in *frame
		if n := len(stack); n > 0 {
			in = &stack[n-1]
		}
		underID := in != nil && in.object && idKey(in.key)
		token := "" // what masks the value: the key's, or its container's
		if in != nil {
			token = in.token
			if token == "" && in.object {
				token = maskedKey(in.key)
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true, token: token})
			case '[':
				stack = append(stack, frame{token: token})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			start := before + strings.IndexByte(s[before:end], '"')
			if in != nil && in.object && in.wantKey {
				in.key, in.keyStart, in.wantKey = v, start, false
				if m := mask(v, false); m != v {
					replace(start, end, quote(m))
				}
				continue
			}
			if token != "" && v != "" {
				replace(start, end, quote(token))
			} else if m := mask(v, underID); m != v {
				replace(start, end, quote(m))
			}
			valueDone()
		case json.Number:
			// A number under an identifier key is a record id.
			start := before + strings.IndexAny(s[before:end], "-0123456789")
			if token != "" {
				replace(start, end, quote(token))
			} else if m := mask(v.String(), underID); m != v.String() {
				replace(start, end, quote(m))
			}
			valueDone()
		default:
			valueDone()
		}
	}
	// Only delimiters and white space are left.
	b.WriteString(s[last:])
	return b.String()
}

// keyValueRE finds a key and its value in text that is JSON only in part:
// a quoted key, and a string (perhaps cut short) or a bare word.
var keyValueRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"?|[^\s",}\]][^,}\]]*)`)

// maskBrokenJSON masks text that looks like JSON but does not parse: the
// values of name and free-text keys, then emails and phone numbers as in
// any text.
func maskBrokenJSON(s string) string {
	s = keyValueRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValueRE.FindStringSubmatchIndex(m)
		key, value := m[sub[2]:sub[3]], m[sub[4]:sub[5]]
		if k, err := strconv.Unquote(`"` + key + `"`); err == nil {
			key = k
		}
		name := maskedKey(key)
		if name == "" || value == `""` {
			return m
		}
		if strings.HasPrefix(value, `"`) {
			name = `"` + name
			if len(value) > 1 && strings.HasSuffix(value, `"`) {
				name += `"`
			}
		}
		return m[:sub[4]] + name
	})
	return mask(s, false)
}

// maskedKey returns the token that masks the value of a JSON key or a CSV
// column whole: NameToken for a name, TextToken for free text, "" for any
// other.
func maskedKey(k string) string {
	switch {
	case nameKey(k):
		return NameToken
	case textKey(k):
		return TextToken
	}
	return ""
}

// textKey reports whether a JSON key or a CSV column holds free text: a key
// ending in notes, description, comments, message or remarks and their like
// (Notes, deal_description, "Lead Comments"). A date or count named after
// them (notes_last_contacted) is not one.
func textKey(k string) bool {
	l := letters(k)
	for _, suffix := range textSuffixes {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}

var textSuffixes = []string{"note", "notes", "description", "comment", "comments", "message", "remarks", "body"}

// letters returns k's ASCII letters, lower-cased.
func letters(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// nameKey reports whether a JSON key or a CSV column names a person's
// name: name itself, or a key ending in first name, last name, full name
// and their like, in any case and spelling (first_name, FirstName, "First
// Name", owner_full_name). A name of something else (company_name,
// dealname, utm_campaign) is not one.
func nameKey(k string) bool {
	l := letters(k)
	if l == "name" {
		return true
	}
	for _, suffix := range nameSuffixes {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}

var nameSuffixes = []string{
	"firstname", "lastname", "middlename", "fullname", "givenname", "familyname",
	"surname", "maidenname", "nickname", "displayname", "contactname", "personname",
}

// MaskRecord masks a CSV record (one line, or more when a quoted field
// holds line breaks) read under header, fields separated by comma: the
// fields of name and free-text columns (see maskedKey) become their token
// whole, and the rest is masked as Mask masks text, delimiters and quotes
// kept, so a record rejected for its quoting still shows it. A record
// whose field count differs from the header's has fields that moved: a
// field inserted (a delimiter in an unquoted name) moves the fields after
// it right, one missing moves them left, so each such column masks as many
// fields further in that direction as the counts differ.
func MaskRecord(rec string, header []string, comma rune) string {
	var names []int // the columns masked whole, names and free text
	for i, h := range header {
		if maskedKey(h) != "" {
			names = append(names, i)
		}
	}
	if len(names) == 0 {
		return mask(rec, false)
	}
	r := csv.NewReader(strings.NewReader(rec))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	fields, err := r.Read()
	if err != nil {
		return NameToken // not a record: any of it may be a name
	}
	if _, err := r.Read(); err != io.EOF {
		return NameToken
	}
	// Where each line of rec begins, to turn FieldPos into byte offsets.
	lineStart := []int{0}
	for i := 0; i < len(rec); i++ {
		if rec[i] == '\n' {
			lineStart = append(lineStart, i+1)
		}
	}
	starts := make([]int, len(fields)+1)
	for i := range fields {
		line, col := r.FieldPos(i)
		starts[i] = lineStart[line-1] + col - 1
	}
	starts[len(fields)] = len(rec) + utf8.RuneLen(comma)
	masked := make([]string, len(fields)) // a field's token, "" if kept
	moved := len(fields) - len(header)
	for _, i := range names {
		lo, hi := i, i
		if moved > 0 {
			hi += moved
		} else {
			lo += moved
		}
		for j := max(lo, 0); j <= hi && j < len(fields); j++ {
			if masked[j] == "" {
				masked[j] = maskedKey(header[i])
			}
		}
	}
	var b strings.Builder
	last := 0
	for i, m := range masked {
		start, end := starts[i], starts[i+1]-utf8.RuneLen(comma)
		if m == "" || start == end {
			continue
		}
		b.WriteString(mask(rec[last:start], false))
		b.WriteString(m)
		last = end
	}
	b.WriteString(mask(rec[last:], false))
	return b.String()
}

// quote writes s as a JSON string, <, > and & as they are.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// mask masks email addresses and phone numbers in text. ids keeps bare
// digit runs, which in an identifier are record ids.
func mask(s string, ids bool) string {
	if strings.Contains(s, "@") {
		s = emailRE.ReplaceAllString(s, EmailToken)
	}
	if countDigits(s) < 7 {
		return s
	}
	// Blank dates and times with spaces of the same length so that match
	// positions stay those of s.
	blanked := dateTimeRE.ReplaceAllStringFunc(s, func(m string) string { return strings.Repeat(" ", len(m)) })
	var b strings.Builder
	last := 0
	for _, loc := range phoneRE.FindAllStringIndex(blanked, -1) {
		start, end := loc[0], loc[1]
		m := blanked[start:end]
		if !phoneShaped(m) || partOfToken(s, start, end) || decimalRE.MatchString(m) || epochLike(m) || ids && countDigits(m) == len(m) {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(PhoneToken)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// partOfToken reports whether s[start:end] touches a letter, digit or
// underscore on either side.
func partOfToken(s string, start, end int) bool {
	word := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return start > 0 && word(s[start-1]) || end < len(s) && word(s[end])
}

func epochLike(m string) bool {
	if len(m) != 10 && len(m) != 13 || m[0] != '1' {
		return false
	}
	return countDigits(m) == len(m)
}
