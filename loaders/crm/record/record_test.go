package record

import (
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
	for _, bad := range []string{"EUX", "XXX", "XTS", "EURO", "€"} {
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
