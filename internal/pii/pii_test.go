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

// Names cannot be told from other words, but a JSON key or a CSV column
// says which values are names: those are masked whole, whatever else the
// object holds stays readable.
func TestMaskJSONNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// The file loader's NDJSON.
		{`{"lead_id":"L1","created_at":"yesterday","first_name":"Lena","last_name":"O'Brien","company":"Acme"}`,
			`{"lead_id":"L1","created_at":"yesterday","first_name":"[name]","last_name":"[name]","company":"Acme"}`},
		// HubSpot contacts, Salesforce leads and contacts.
		{`{"id":"51","properties":{"firstname":"Lena","lastname":"O'Brien","lifecyclestage":"lead"}}`,
			`{"id":"51","properties":{"firstname":"[name]","lastname":"[name]","lifecyclestage":"lead"}}`},
		{`{"attributes":{"type":"Contact"},"Id":"003xx","FirstName":"Lena","LastName":"O'Brien","Name":"Lena O'Brien","Status":"Open"}`,
			`{"attributes":{"type":"Contact"},"Id":"003xx","FirstName":"[name]","LastName":"[name]","Name":"[name]","Status":"Open"}`},
		// Any key that ends in a name, in any case and spelling; a name
		// that is an object or a list is masked whole.
		{`{"Contact First Name":"Lena","owner_full_name":"Max Mustermann","NAME":{"given":"Lena","family":["O'Brien"]},"surname":""}`,
			`{"Contact First Name":"[name]","owner_full_name":"[name]","NAME":{"given":"[name]","family":["[name]"]},"surname":""}`},
		// Not names.
		{`{"company_name":"Acme","utm_campaign":"spring","dealname":"Renewal 2025"}`,
			`{"company_name":"Acme","utm_campaign":"spring","dealname":"Renewal 2025"}`},
		// Broken or cut JSON, often why the row was rejected: after the
		// break, a name key still names its value.
		{`{"lead_id":"L1","first_name":"Lena" "last_name":"O'Brien","email":"lena@example.com"}`,
			`{"lead_id":"L1","first_name":"[name]" "last_name":"[name]","email":"[email]"}`},
		{`{"lead_id":"L1","first_name":Lena,"created_at":"2024-03-01T10:00:00Z"}`,
			`{"lead_id":"L1","first_name":[name],"created_at":"2024-03-01T10:00:00Z"}`},
		{`{"lead_id":"L1","last_name":"O'Bri…`, `{"lead_id":"L1","last_name":"[name]`},
		// Free text: a note, a description, a form's message, of any
		// content. A date named after notes is not one.
		{`{"lead_id":"L1","Notes":"Lena's mother is ill, call after May","deal_description":"Renewal","message":["Hi,","it's Lena"],"notes_last_contacted":"2024-03-01"}`,
			`{"lead_id":"L1","Notes":"[text]","deal_description":"[text]","message":["[text]","[text]"],"notes_last_contacted":"2024-03-01"}`},
		{`{"lead_id":"L1","comments":"Lena's mother is ill" "x":1}`, `{"lead_id":"L1","comments":"[text]" "x":1}`},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%s) =\n%s\nwant\n%s", c.in, got, c.want)
		}
	}
}

func TestMaskRecord(t *testing.T) {
	leads := []string{"lead_id", "created_at", "email", "first_name", "last_name"}
	for _, c := range []struct {
		header []string
		comma  rune
		in     string
		want   string
	}{
		{leads, ',', "L1,yesterday,lena@example.com,Lena,O'Brien", "L1,yesterday,[email],[name],[name]"},
		{leads, ',', `L1,yesterday,,"O'Brien, Lena",`, "L1,yesterday,,[name],"},
		{leads, ';', "L1;yesterday;lena@example.com;Lena;O'Brien", "L1;yesterday;[email];[name];[name]"},
		// A HubSpot export's header, as the file loader reads it.
		{[]string{"record id", "first name", "last name", "create date"}, ',', "51,Lena,O'Brien,yesterday", "51,[name],[name],yesterday"},
		// A quoted field over lines, free text.
		{[]string{"lead_id", "notes", "name"}, ',', "L1,\"line one\nline two\",Lena O'Brien", "L1,[text],[name]"},
		{[]string{"lead_id", "Description", "created_at"}, ';', "L1;Lena's mother is ill;yesterday", "L1;[text];yesterday"},
		// A row with more fields than the header (a comma in an unquoted
		// name): the name may have moved right by as many fields.
		{leads, ',', "L1,yesterday,lena@example.com,Lena,O'Brien,Jr", "L1,yesterday,[email],[name],[name],[name]"},
		// Fewer fields: it may have moved left.
		{leads, ',', "L1,yesterday,Lena,O'Brien", "L1,yesterday,[name],[name]"},
		// An unbalanced quote reads to the end of the line: three fields
		// for five columns, so the names may be two fields further left.
		{leads, ',', `L1,yesterday,"lena@example.com,Lena,O'Brien`, "L1,[name],[name]"},
		// No name column: only emails and phone numbers.
		{[]string{"deal_id", "amount", "contact"}, ',', "D1,100,+44 7700 900123", "D1,100,[phone]"},
	} {
		if got := MaskRecord(c.in, c.header, c.comma); got != c.want {
			t.Errorf("MaskRecord(%q, %q) = %q, want %q", c.in, c.header, got, c.want)
		}
	}
}
