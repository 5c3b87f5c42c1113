package file_test

import (
	"strings"
	"testing"
)

// load_rejects keeps a rejected row masked of personal data (README,
// Personal data): raw emails, phone numbers and names live only in the
// CRM and the raw CRM tables. Each case is a row rejected for its
// created_at whose raw text kept some of it.
func TestRejectedRowsKeepNoPersonalData(t *testing.T) {
	for name, c := range map[string]struct {
		file, text string
		leaks      []string
	}{
		// An internationalised domain, as a German CRM's addresses have.
		"idn domain": {"leads.csv", "lead_id,created_at,email\nL1,yesterday,info@bücher.de\n", []string{"bücher.de"}},
		// The local part before its last non-ASCII letter was kept.
		"non-ascii local part": {"leads.csv", "lead_id,created_at,email\nL1,yesterday,jürgen.müller@example.de\n", []string{"jürgen", "müller"}},
		// Names (README: they exist only in the CRM and the raw CRM
		// tables); only the header tells which field of a CSV row is one.
		"csv names":                  {"leads.csv", "lead_id,created_at,email,first_name,last_name\nL1,yesterday,lena@example.com,Lena,O'Brien\n", []string{"Lena", "O'Brien"}},
		"csv names, hubspot header":  {"leads.csv", "lead_id,Created_At,First Name,Last Name\nL1,yesterday,Lena,O'Brien\n", []string{"Lena", "O'Brien"}},
		"csv names, comma in a name": {"leads.csv", "lead_id,first_name,last_name,created_at\nL1,Lena,O'Brien, Jr,yesterday\n", []string{"Lena", "O'Brien"}},
		"ndjson names":               {"leads.ndjson", `{"lead_id":"L1","created_at":"yesterday","first_name":"Lena","last_name":"O'Brien"}` + "\n", []string{"Lena", "O'Brien"}},
		// Sites that use the email as their user id: values of keys
		// ending in _id were kept whole, as record ids.
		"ndjson user_id": {"leads.ndjson", `{"lead_id":"L1","created_at":"yesterday","user_id":"anna@example.com"}` + "\n", []string{"anna@example.com"}},
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, c.file, c.text)
			r := newRun(t, d, 100)
			if _, err := r.sync(t); err != nil {
				t.Fatal(err)
			}
			rj := rejects(r.wh)
			if len(rj) != 1 {
				t.Fatalf("rejects %v, want the row with the bad created_at", rj)
			}
			for raw := range rj {
				if !strings.Contains(raw, "L1") || !strings.Contains(raw, "yesterday") {
					t.Errorf("raw %q lost the id or the bad value an operator needs to fix the row", raw)
				}
				for _, part := range c.leaks {
					if strings.Contains(raw, part) {
						t.Errorf("load_rejects keeps %q: raw %q", part, raw)
					}
				}
			}
		})
	}
}
