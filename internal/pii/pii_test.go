package pii

import "testing"

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice.smith+crm@example.co.uk", "[email]"},
		{"call +1 (415) 555-0134 today", "call [phone] today"},
		{`"phone":"07700 900123"`, `"phone":"[phone]"`},
		{`"mobilephone":"4155550172"`, `"mobilephone":"[phone]"`},
		{"+441632960961,x", "[phone],x"},
		{"415.555.0199", "[phone]"},
		// Not phone numbers: kept as they were.
		{"12500.50", "12500.50"},
		{"123456789.1700000000", "123456789.1700000000"},
		{"GA1.1.123456789.1700000000", "GA1.1.123456789.1700000000"},
		{"1762128000,1762128000000", "1762128000,1762128000000"},
		{"2026-11-03T10:15:00Z", "2026-11-03T10:15:00Z"},
		{"550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"20261103", "20261103"},
		{"L-1004", "L-1004"},
		{"", ""},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestMaskedTextHoldsNoPersonalData: whatever Mask keeps, Kind finds no
// email address in it, and no phone number in what it masked.
func TestMaskedTextHoldsNoPersonalData(t *testing.T) {
	for _, in := range []string{
		"Bob <bob@example.com>, +49 30 901820, 0171 1234567",
		"a@b.io;c@d.org",
		"(212) 555-0100 / 212-555-0101",
	} {
		if got := Mask(in); Kind(got) != "" {
			t.Errorf("Mask(%q) = %q, which still looks like %s", in, got, Kind(got))
		}
	}
}

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		"x@example.com":         "an email address",
		"+1 415 555 0100":       "a phone number",
		"2026-11-03 10:00:00":   "",
		"order 12":              "",
		"session 1700000000":    "a phone number", // the guard errs on refusing
		"4155550100 and more":   "a phone number",
		"no digits, no at-sign": "",
	} {
		if got := Kind(in); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskKeepsJSONIdentifiers(t *testing.T) {
	in := `{"attributes":{"type":"Lead"},"Id":"006000000004491","Phone":"4155550172","properties":{"hs_object_id":"12345678901","phone":"+44 7700 900123"},"lead_id":"987654321","tags":["4155550199"]}`
	want := `{"attributes":{"type":"Lead"},"Id":"006000000004491","Phone":"[phone]","properties":{"hs_object_id":"12345678901","phone":"[phone]"},"lead_id":"987654321","tags":["[phone]"]}`
	if got := Mask(in); got != want {
		t.Errorf("Mask =\n%s\nwant\n%s", got, want)
	}
}

// Addresses with letters outside ASCII, in the domain (internationalised
// domain names) or the local part (RFC 6531), are masked whole: masking
// from the first ASCII letter after the last non-ASCII one kept the start
// of the local part.
func TestMaskNonASCIIEmail(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"info@bücher.de", "[email]"},
		{"jürgen.müller@example.de", "[email]"},
		{"L1,yesterday,jürgen.müller@example.de", "L1,yesterday,[email]"},
		{"kontakt@пример.рф", "[email]"},
		{"info@xn--bcher-kva.xn--p1ai", "[email]"},
		{"o'brien@example.ie", "[email]"},
		{"write to 'o'brien@example.ie'", "write to '[email]'"},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Identifier keys keep their record ids, not personal data: an email
// address used as a user id is masked, and so is a phone number written as
// one (a bare digit run stays, as CRM ids are). A string is masked as
// decoded, so escapes (Python writes ü as \u00fc) hide nothing.
func TestMaskJSONPersonalDataUnderIdentifierKeys(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"lead_id":"L1","created_at":"yesterday","user_id":"anna@example.com"}`, `{"lead_id":"L1","created_at":"yesterday","user_id":"[email]"}`},
		{`{"Id":"003xx","ContactId":"Anna.Berg@Example.com"}`, `{"Id":"003xx","ContactId":"[email]"}`},
		{`{"user_id":"+44 7700 900123","hs_object_id":"12345678901"}`, `{"user_id":"[phone]","hs_object_id":"12345678901"}`},
		{`{"email":"j\u00fcrgen.m\u00fcller@example.de"}`, `{"email":"[email]"}`},
		{`{"email":"anna\u0040example.com"}`, `{"email":"[email]"}`},
		{`{"hs_object_id":12345678901,"phone":4155550172}`, `{"hs_object_id":12345678901,"phone":"[phone]"}`},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%s) =\n%s\nwant\n%s", c.in, got, c.want)
		}
	}
}
