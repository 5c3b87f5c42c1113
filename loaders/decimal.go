package loaders

import (
	"fmt"
	"regexp"
	"strings"
)

// thousandsRE matches a number that a decimal-comma locale writes with a
// dot grouping thousands: "1.234" is 1234 there.
var thousandsRE = regexp.MustCompile(`^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$`)

// DecimalMarks is what a file tells of the mark its amounts write decimals
// with: its field separator, and the first amount whose locale formatting
// shows a decimal dot or a decimal comma (see localeMark). Give it the
// file's amounts with Note before asking CheckGrouping of any of them.
type DecimalMarks struct {
	sep rune
	// dot and comma are the first amounts that show each mark, as
	// `line N: "value"`, or "" when no amount does.
	dot, comma string
}

// NewDecimalMarks returns the marks of a file whose fields are separated
// by sep, before any of its amounts is noted. A sep of 0 is a file with no
// separator to hint at the locale: amounts written as JSON text.
func NewDecimalMarks(sep rune) DecimalMarks {
	return DecimalMarks{sep: sep}
}

// Note reads amount s, found on line of the file, for a locale's
// formatting. It reports whether the file has now shown both marks, after
// which no amount tells more. Amounts of rows rejected for other reasons
// count too: the same export wrote them.
func (m *DecimalMarks) Note(line int, s string) (both bool) {
	s = strings.TrimSpace(s)
	switch localeMark(s) {
	case '.':
		if m.dot == "" {
			m.dot = fmt.Sprintf("line %d: %q", line, s)
		}
	case ',':
		if m.comma == "" {
			m.comma = fmt.Sprintf("line %d: %q", line, s)
		}
	}
	return m.dot != "" && m.comma != ""
}

// localeMark returns the decimal mark an amount can only have been written
// with by a locale's number formatting: '.' for commas grouping thousands
// ("1,234.56", "1,234,567"), ',' for a decimal comma or dots grouping
// thousands ("12,50", "1.234,56", "1.234.567"), and 0 for any other value.
// A plain decimal ("12.50") gives 0: raw exports and people write those
// in any locale, so it says nothing of a formatter that groups thousands
// with a dot.
func localeMark(s string) rune {
	s = strings.TrimLeft(s, "+-")
	switch {
	case strings.Contains(s, ",") && readsAs(s, '.', ',') && !readsAs(s, ',', '.'):
		return '.'
	case readsAs(s, ',', '.') && !readsAs(s, '.', ','):
		return ','
	}
	return 0
}

// readsAs reports whether s is a number written with the decimal mark dec
// and the thousands separator group: digits, in groups of three after the
// first when grouped, then dec and digits, if any.
func readsAs(s string, dec, group byte) bool {
	whole, frac, hasFrac := strings.Cut(s, string(dec))
	if hasFrac && !isDigits(frac) {
		return false
	}
	groups := strings.Split(whole, string(group))
	if !isDigits(groups[0]) {
		return false
	}
	if len(groups) > 1 && (len(groups[0]) > 3 || groups[0][0] == '0') {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !isDigits(g) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// MayGroupThousands reports whether amount s has the one shape in doubt: a
// dot after one to three digits and before three more ("1.234"), which is
// 1234 where the dot groups thousands. Only a file's DecimalMarks decide it.
func MayGroupThousands(s string) bool {
	return thousandsRE.MatchString(strings.TrimSpace(s))
}

// CheckGrouping says whether the amount s, named what in the reason, may
// be read as a decimal, and why not otherwise; it is nil for any shape but
// the one MayGroupThousands reports. A separator only hints at the locale: a comma-separated
// export writes a decimal dot, a semicolon-separated one comes from where
// the comma is the decimal mark, and a tab-separated one from either. A
// locale's formatting in the file's amounts is evidence; where hint and
// evidence disagree, or nothing tells, the amount is rejected.
func (m DecimalMarks) CheckGrouping(what, s string) error {
	if !MayGroupThousands(s) {
		return nil
	}
	s = strings.TrimSpace(s)
	grouped := strings.Replace(strings.TrimPrefix(s, "+"), ".", "", 1)
	switch {
	case m.comma != "" && m.dot != "":
		return fmt.Errorf("%s %q is ambiguous: the file writes decimals with a dot (%s) and with a comma (%s), so the dot may group thousands (%s)", what, s, m.dot, m.comma, grouped)
	case m.comma != "" && m.sep != ',':
		return fmt.Errorf("%s %q is %s: the file writes decimals with a comma (%s), so its dot groups thousands; export amounts as plain decimals", what, s, grouped, m.comma)
	case m.comma != "":
		return fmt.Errorf("%s %q is ambiguous: the file is comma-separated, as where the dot is the decimal mark, yet writes decimals with a comma (%s), so the dot may group thousands (%s)", what, s, m.comma, grouped)
	case m.sep == ';':
		return fmt.Errorf("%s %q is ambiguous: in a semicolon-separated export (decimal-comma locale) the dot may group thousands (%s)", what, s, grouped)
	case m.sep == ',' || m.dot != "":
		return nil
	case m.sep == 0:
		return fmt.Errorf("%s %q is ambiguous: written as text, the dot may group thousands (%s), and no other amount of the file shows which mark it writes decimals with", what, s, grouped)
	}
	return fmt.Errorf("%s %q is ambiguous: in a tab-separated export the dot may group thousands (%s), and no other amount of the file shows which mark it writes decimals with", what, s, grouped)
}
