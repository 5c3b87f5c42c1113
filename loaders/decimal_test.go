package loaders

import (
	"strings"
	"testing"
)

func TestLocaleMark(t *testing.T) {
	for in, want := range map[string]rune{
		"1,234.56": '.', "1,234,567": '.', "-1,234.5": '.',
		"12,50": ',', "0,123": ',', "1234,567": ',', "1.234,56": ',', "1.234.567": ',',
		// Plain decimals, and the shapes either locale writes, tell nothing.
		"12.50": 0, "1234.5": 0, "10": 0, "1.234": 0, "1,234": 0, "0.123": 0,
		"1,23.4": 0, "1.234,567.8": 0, "7.": 0, "": 0, "$5": 0,
	} {
		if got := localeMark(in); got != want {
			t.Errorf("localeMark(%q) = %q, want %q", in, got, want)
		}
	}
}

// 1.234 is 1234 where the dot groups thousands. The separator hints at the
// locale; the file's other amounts, noted in the order read, decide.
func TestCheckGrouping(t *testing.T) {
	for _, c := range []struct {
		name   string
		sep    rune
		notes  []string // the file's amounts, from line 2
		reason string   // why 1.234 is rejected; "" when it loads
	}{
		{"comma file", ',', []string{"10", "12.50"}, ""},
		{"comma file, commas grouping thousands", ',', []string{"1,234.56"}, ""},
		{"comma file, a decimal comma", ',', []string{"12,50"},
			`cost "1.234" is ambiguous: the file is comma-separated, as where the dot is the decimal mark, yet writes decimals with a comma (line 2: "12,50"), so the dot may group thousands (1234)`},
		{"semicolon file", ';', []string{"10"},
			`cost "1.234" is ambiguous: in a semicolon-separated export (decimal-comma locale) the dot may group thousands (1234)`},
		{"semicolon file, a decimal comma", ';', []string{"10", " 12,50 "},
			`cost "1.234" is 1234: the file writes decimals with a comma (line 3: "12,50"), so its dot groups thousands; export amounts as plain decimals`},
		{"tab file", '\t', []string{"10", "1234.5", "12.50"},
			`cost "1.234" is ambiguous: in a tab-separated export the dot may group thousands (1234), and no other amount of the file shows which mark it writes decimals with`},
		{"tab file, commas grouping thousands", '\t', []string{"10", "1,234.56"}, ""},
		{"tab file, dots grouping thousands", '\t', []string{"1.234,56"},
			`cost "1.234" is 1234: the file writes decimals with a comma (line 2: "1.234,56")`},
		{"tab file, both", '\t', []string{"1,234.56", "12,50", "1.234,56"},
			`cost "1.234" is ambiguous: the file writes decimals with a dot (line 2: "1,234.56") and with a comma (line 3: "12,50"), so the dot may group thousands (1234)`},
	} {
		m := NewDecimalMarks(c.sep)
		for i, s := range c.notes {
			m.Note(i+2, s)
		}
		err := m.CheckGrouping("cost", " 1.234 ")
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%s: 1.234 rejected (%v), want it loaded", c.name, err)
		case c.reason != "" && (err == nil || !strings.HasPrefix(err.Error(), c.reason)):
			t.Errorf("%s: 1.234 gives %v, want a reason starting %q", c.name, err, c.reason)
		}
	}
}

// Only a dot and three digits after one to three others is in doubt.
func TestCheckGroupingOtherShapes(t *testing.T) {
	m := NewDecimalMarks('\t')
	for _, s := range []string{"12.50", "1234.5", "0.123", "1234.567", "10", "", "1.2345", "-1.23", "1.234.567", "1.234,56"} {
		if MayGroupThousands(s) {
			t.Errorf("MayGroupThousands(%q) = true, want false", s)
		}
		if err := m.CheckGrouping("amount", s); err != nil {
			t.Errorf("CheckGrouping(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"1.234", "-1.234", "+999.000", " 1.234 "} {
		if !MayGroupThousands(s) {
			t.Errorf("MayGroupThousands(%q) = false, want true", s)
		}
		if err := m.CheckGrouping("amount", s); err == nil {
			t.Errorf("CheckGrouping(%q) = nil, want an error", s)
		}
	}
}

// Once both marks are shown, no amount tells more.
func TestNoteReportsBothMarks(t *testing.T) {
	m := NewDecimalMarks('\t')
	for i, s := range []string{"10", "1,234.56", "12.50"} {
		if m.Note(i+2, s) {
			t.Fatalf("Note(%q) reports both marks shown, with only a dot", s)
		}
	}
	if !m.Note(5, "12,50") {
		t.Error("Note(12,50) after 1,234.56 does not report both marks shown")
	}
}
