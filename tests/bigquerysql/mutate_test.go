package bigquerysql

import "testing"

func TestInjectSelectItemSkipsCommentsAndStrings(t *testing.T) {
	sql := "/*\ndescription: select nothing\n*/\n-- select in a comment\nselect distinct a from t\nunion all\nselect 'select', b from `select`"
	got, at, ok := InjectSelectItem(sql, "x() as m")
	want := "/*\ndescription: select nothing\n*/\n-- select in a comment\nselect distinct a from t\nunion all\nselect x() as m, 'select', b from `select`"
	if !ok || got != want {
		t.Fatalf("InjectSelectItem =\n%s\nwant\n%s", got, want)
	}
	if got[at:at+8] != "x() as m" {
		t.Fatalf("offset %d points at %q", at, got[at:at+8])
	}
}

func TestMisspellFirstColumn(t *testing.T) {
	got, col, bad, ok := MisspellFirstColumn("with x as (\n  select\n    rate_date,\n    rate\n  from t\n)\nselect * from x")
	if !ok || col != "rate_date" || bad != "rate_dat" || got != "with x as (\n  select\n    rate_dat,\n    rate\n  from t\n)\nselect * from x" {
		t.Fatalf("MisspellFirstColumn = %q, %q, %q, %v", got, col, bad, ok)
	}
	if _, _, _, ok := MisspellFirstColumn("select count(*) as n from t"); ok {
		t.Fatal("MisspellFirstColumn changed a query whose first item is not a bare column")
	}
}
