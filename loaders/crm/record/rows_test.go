package record

import "testing"

// A record's last load decides: content an earlier load wrote and a later
// one changed is not loaded; two rows of one record in one load both are;
// rows of no run are a load each; a bare hash of an earlier SAM counts
// until its record loads again.
func TestLoadedRowsKeepEachRecordsLastLoad(t *testing.T) {
	k1, k2, k3 := RowKey{1}, RowKey{2}, RowKey{3}
	a, b, c := RowHash{0xa}, RowHash{0xb}, RowHash{0xc}
	l := NewLoadedRows()
	l.AddUnkeyed(a)
	l.Add("r1", []SourceRow{{k1, a}, {k2, a}, {k2, b}})
	l.Add("r2", []SourceRow{{k1, b}})
	l.Add("", []SourceRow{{k3, a}})
	l.Add("", []SourceRow{{k3, b}})
	for _, c := range []struct {
		name string
		row  SourceRow
		want bool
	}{
		{"k1 as r2 wrote it", SourceRow{k1, b}, true},
		{"k1 as r1 wrote it, changed by r2", SourceRow{k1, a}, false},
		{"k2's first row of r1", SourceRow{k2, a}, true},
		{"k2's second row of r1", SourceRow{k2, b}, true},
		{"k3 as the second run without an id wrote it", SourceRow{k3, b}, true},
		{"k3 as the first run without an id wrote it", SourceRow{k3, a}, false},
		{"a record never keyed, its content an earlier SAM's", SourceRow{RowKey{9}, a}, true},
		{"a record never keyed, other content", SourceRow{RowKey{9}, c}, false},
	} {
		if got := l.Loaded(c.row); got != c.want {
			t.Errorf("%s: loaded = %v, want %v", c.name, got, c.want)
		}
	}
	var none *LoadedRows
	if none.Loaded(SourceRow{k1, a}) {
		t.Error("nothing recorded, yet a row counts as loaded")
	}
}
