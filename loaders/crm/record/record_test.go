package record

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"2024-03-01T10:00:00Z", "2024-03-01T11:00:00+01:00", "2024-03-01T10:00:00.000+0000",
		"2024-03-01T05:00:00-0500", "1709287200000",
	} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v UTC", s, got, err, want)
		}
	}
	if got, err := ParseTime("2024-03-01"); err != nil || !got.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only: %v, %v", got, err)
	}
	if got, err := ParseTime("  "); err != nil || !got.IsZero() {
		t.Errorf("blank: %v, %v; want NULL", got, err)
	}
	for _, bad := range []string{"01/03/2024", "yesterday", "2024-13-01T00:00:00Z", "-5"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]string{"12500.50": "12500.50", "+3": "3", "-0.5": "-0.5", " 7 ": "7", "1e3": "1000", ".5": ".5", "": ""} {
		if got, err := ParseAmount(in); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"12,5", "12.5k", "$10", "NaN", "Inf", "1.2.3"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	for in, want := range map[string]string{"EUR": "EUR", "usd": "USD", " gbp ": "GBP", "": ""} {
		if got, err := ParseCurrency(in); err != nil || got != want {
			t.Errorf("ParseCurrency(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Gold, special drawing rights and bond-market units price no deal,
	// and no rates file converts them: the spend loader refused them
	// while the CRM loaders took them from a list of their own.
	for _, bad := range []string{"EUX", "XXX", "XTS", "EURO", "€", "XAU", "XDR", "XBA"} {
		if _, err := ParseCurrency(bad); err == nil {
			t.Errorf("ParseCurrency(%q) accepted", bad)
		}
	}
}

func TestRowsMatchSchemas(t *testing.T) {
	m := Meta{System: "file", LoadedAt: time.Now(), RunID: "r"}
	for name, pair := range map[string]struct {
		row  []any
		cols int
	}{
		"leads":         {(&Lead{ID: "1"}).Row(m), len(LeadsSchema.Columns)},
		"deals":         {(&Deal{ID: "1"}).Row(m), len(DealsSchema.Columns)},
		"deal_contacts": {(&DealContact{ID: "1"}).Row(m), len(DealContactsSchema.Columns)},
		"stage_history": {(&StageChange{ID: "1"}).Row(m), len(StageHistorySchema.Columns)},
	} {
		if len(pair.row) != pair.cols {
			t.Errorf("%s row has %d values, schema %d columns", name, len(pair.row), pair.cols)
		}
	}
	if r := (&Lead{ID: "1"}).Row(m); r[3] != nil || r[5] != nil {
		t.Errorf("zero time and empty string must be NULL, got %v and %v", r[3], r[5])
	}
}

// Issue 15 item 10: epoch seconds and YYYYMMDD were read as milliseconds
// (1970); an integer of any other shape is refused, never guessed.
func TestParseTimeIntegersByShape(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1709287200":    time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
		"1709287200000": time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
		"20240301":      time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseTime(in); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"20241301", "170928720", "17092872000", "1709287200000000", "42"} {
		if got, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %v; want an error", bad, got)
		}
	}
}

// Issue 15 item 9: an amount NUMERIC cannot hold failed the whole load.
func TestParseAmountOutOfRange(t *testing.T) {
	for _, bad := range []string{"1e30", "100000000000000000000000000000", "-1e29"} {
		if got, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) = %q; want out of range", bad, got)
		}
	}
	if got, err := ParseAmount("99999999999999999999999999999.5"); err != nil || got != "99999999999999999999999999999.5" {
		t.Errorf("largest NUMERIC amount: %q, %v", got, err)
	}
}

// Issue 15 item 11: the client id forms staging can join.
func TestClientIDProblem(t *testing.T) {
	for _, ok := range []string{"", "123.456", "GA1.1.123.456", " GA1.2.5.6 "} {
		if p := ClientIDProblem(ok); p != "" {
			t.Errorf("ClientIDProblem(%q) = %q", ok, p)
		}
	}
	for _, bad := range []string{"abc", "123456", "GA1.1.123", "amp-xyz.123"} {
		if ClientIDProblem(bad) == "" {
			t.Errorf("ClientIDProblem(%q) found no problem", bad)
		}
	}
}

// A timestamp without a time zone is rejected, as before, but the reason
// says so and how to write it: "unparseable" sent people looking for a typo
// in "2026-11-27 08:02:09", the way spreadsheets write a time.
func TestParseTimeSaysAZonelessTimeNeedsItsZone(t *testing.T) {
	for _, s := range []string{"2026-11-27 08:02:09", "2026-11-27T08:02:09", "2026-11-27 08:02"} {
		_, err := ParseTime(s)
		if err == nil || !strings.Contains(err.Error(), "no time zone") || !strings.Contains(err.Error(), "Z") {
			t.Errorf("ParseTime(%q) = %v, want a reason naming the missing time zone", s, err)
		}
	}
}

// A NUL byte, where DuckDB cuts text, makes a field a problem that names
// it; Require checks an id the same way.
func TestTextWithANULByte(t *testing.T) {
	if err := CheckText("company", "Acme GmbH"); err != nil {
		t.Errorf("CheckText without a NUL: %v", err)
	}
	var v Fields
	if got := v.Text("company", "Acme\x00 GmbH"); got != "Acme\x00 GmbH" || v.Err == nil || !strings.Contains(v.Err.Error(), "company") {
		t.Errorf("Text = %q, err %v; want the value as it is and an error naming company", got, v.Err)
	}
	v = Fields{}
	v.Text("phone", "+1 555")
	v.Require("id", " 42\x00 ")
	if v.Err == nil || !strings.Contains(v.Err.Error(), "field id holds a NUL byte") {
		t.Errorf("Require on an id with a NUL: err %v, want one naming id", v.Err)
	}
	v = Fields{}
	v.Amount("amount", "x")
	v.Text("company", "\x00")
	if v.Err == nil || !strings.Contains(v.Err.Error(), "amount") {
		t.Errorf("err %v, want the first problem (amount)", v.Err)
	}
}

// Two versions loaded in one batch with the same modified_at are told
// apart by version_hash alone: copies share it, whenever they were loaded,
// and a change in any field gives another.
func TestVersionHashIsTheContents(t *testing.T) {
	mod := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	hash := func(l Lead, m Meta) any {
		r := l.Row(m)
		if got, want := LeadsSchema.Columns[len(r)-1].Name, "version_hash"; got != want {
			t.Fatalf("last column %s, want %s", got, want)
		}
		return r[len(r)-1]
	}
	lead := Lead{ID: "1", Email: "a@example.com", Gclid: "g1", ModifiedAt: mod}
	first := hash(lead, Meta{System: "file", LoadedAt: time.Now(), RunID: "r1"})
	if again := hash(lead, Meta{System: "file", LoadedAt: time.Now().Add(time.Hour), RunID: "r2"}); again != first {
		t.Errorf("a copy loaded later has version_hash %v, want %v", again, first)
	}
	m := Meta{System: "file", LoadedAt: time.Now(), RunID: "r1"}
	for name, other := range map[string]Lead{
		"gclid":        {ID: "1", Email: "a@example.com", Gclid: "g2", ModifiedAt: mod},
		"gclid moved":  {ID: "1", Email: "a@example.comg1", ModifiedAt: mod},
		"deleted":      {ID: "1", Email: "a@example.com", Gclid: "g1", IsDeleted: true, ModifiedAt: mod},
		"modified_at":  {ID: "1", Email: "a@example.com", Gclid: "g1", ModifiedAt: mod.Add(time.Microsecond)},
		"empty gclid":  {ID: "1", Email: "a@example.com", ModifiedAt: mod},
		"another lead": {ID: "2", Email: "a@example.com", Gclid: "g1", ModifiedAt: mod},
	} {
		if h := hash(other, m); h == first {
			t.Errorf("%s: version_hash %v, the same as the first version's", name, h)
		}
	}
}
