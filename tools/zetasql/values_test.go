package zetasql

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sam-attribution/sam/warehouse"
)

func TestEncodeNumeric(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{"0", []byte{0x00}},
		{"0.000000001", []byte{0x01}},
		{"0.000000128", []byte{0x80, 0x00}},
		{"-0.000000001", []byte{0xff}},
		{"-0.000000128", []byte{0x80}},
		{"1", []byte{0x00, 0xca, 0x9a, 0x3b}}, // 10^9 = 0x3b9aca00
	} {
		r, _ := new(big.Rat).SetString(tc.in)
		got, err := encodeNumeric(r, 9)
		if err != nil {
			t.Fatalf("encodeNumeric(%s): %v", tc.in, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("encodeNumeric(%s) = % x, want % x", tc.in, got, tc.want)
		}
		if back := decodeNumeric(got, 9); back != tc.in {
			t.Errorf("decodeNumeric(% x) = %s, want %s", got, back, tc.in)
		}
	}
}

func TestEncodeNumericRejectsExtraDigits(t *testing.T) {
	r, _ := new(big.Rat).SetString("0.0000000001")
	if _, err := encodeNumeric(r, 9); err == nil {
		t.Fatal("encodeNumeric accepted 10 decimal places for NUMERIC")
	}
}

func TestDatetimeBits(t *testing.T) {
	in := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	got, err := decodeDatetime(encodeDatetime(in))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(in) {
		t.Fatalf("datetime round trip = %v, want %v", got, in)
	}
}

func TestColumnTypeRoundTrip(t *testing.T) {
	in := warehouse.Column{Name: "event_params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
		{Name: "key", Type: warehouse.String},
		{Name: "value", Type: warehouse.Record, Fields: []warehouse.Column{
			{Name: "int_value", Type: "INTEGER"},
			{Name: "double_value", Type: "FLOAT"},
		}},
	}}
	tp, err := columnType(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := column("event_params", tp)
	if err != nil {
		t.Fatal(err)
	}
	want := "ARRAY<STRUCT<key STRING, value STRUCT<int_value INT64, double_value FLOAT64>>>"
	if got := TypeString(out); got != want {
		t.Fatalf("round trip type = %s, want %s", got, want)
	}
}

func TestColumnTypeRejectsUnknownType(t *testing.T) {
	_, err := columnType(warehouse.Column{Name: "x", Type: "MONEY"})
	if err == nil {
		t.Fatal("columnType accepted MONEY")
	}
}

func TestEncodeValueTypeMismatch(t *testing.T) {
	_, err := encodeValue(warehouse.Column{Name: "n", Type: warehouse.Int64}, "12")
	if err == nil || err.Error() != "column n: cannot use string as INT64" {
		t.Fatalf("encodeValue(INT64, string) error = %v", err)
	}
}

func TestEncodeDecodeValues(t *testing.T) {
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2024, 2, 29, 13, 14, 15, 16000, time.UTC)
	for _, tc := range []struct {
		col  warehouse.Column
		in   any
		want any
	}{
		{warehouse.Column{Type: warehouse.String}, "x", "x"},
		{warehouse.Column{Type: warehouse.Int64}, 42, int64(42)},
		{warehouse.Column{Type: warehouse.Float64}, 1.5, 1.5},
		{warehouse.Column{Type: warehouse.Bool}, true, true},
		{warehouse.Column{Type: warehouse.Date}, "2024-02-29", day},
		{warehouse.Column{Type: warehouse.Date}, "0001-01-01", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{warehouse.Column{Type: warehouse.Date}, "9999-12-31", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{warehouse.Column{Type: warehouse.Timestamp}, ts, ts},
		{warehouse.Column{Type: warehouse.Numeric}, "-12.50", "-12.5"},
		{warehouse.Column{Type: warehouse.String}, nil, nil},
	} {
		v, err := encodeValue(tc.col, tc.in)
		if err != nil {
			t.Fatalf("encodeValue(%s, %v): %v", tc.col.Type, tc.in, err)
		}
		got, err := decodeValue(tc.col, v)
		if err != nil {
			t.Fatalf("decodeValue(%s): %v", tc.col.Type, err)
		}
		if tm, ok := tc.want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(tm) {
				t.Errorf("%s round trip of %v = %v, want %v", tc.col.Type, tc.in, got, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s round trip of %v = %#v, want %#v", tc.col.Type, tc.in, got, tc.want)
		}
	}
}

func TestAnalysisErrorParsesLocation(t *testing.T) {
	err := analysisError("analyze", status.Error(codes.InvalidArgument,
		"Unrecognized name: sesion_key; Did you mean session_key? [at 3:10]\n  sesion_key\n  ^"))
	var ae *AnalysisError
	if !errors.As(err, &ae) {
		t.Fatalf("analysisError returned %T, want *AnalysisError", err)
	}
	if ae.Line != 3 || ae.Column != 10 || ae.Message != "Unrecognized name: sesion_key; Did you mean session_key?" {
		t.Fatalf("parsed %+v", ae)
	}
	if got, want := ae.Error(), "3:10: Unrecognized name: sesion_key; Did you mean session_key?"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestAnalysisErrorKeepsTransportFailures(t *testing.T) {
	err := analysisError("analyze", status.Error(codes.Unavailable, "connection refused"))
	if IsAnalysisError(err) {
		t.Fatalf("an Unavailable status became an analysis error: %v", err)
	}
}

func TestCatalogRejectsDuplicates(t *testing.T) {
	c := NewCatalog()
	tbl := Table{Path: []string{"p", "d", "t"}, Columns: []warehouse.Column{{Name: "a", Type: warehouse.Int64}}}
	if err := c.Add(tbl); err != nil {
		t.Fatal(err)
	}
	tbl.Path = []string{"P", "D", "T"}
	if err := c.Add(tbl); err == nil {
		t.Fatal("Add accepted the same path twice (different case)")
	}
	if err := c.Replace(tbl); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if n := len(c.Tables()); n != 1 {
		t.Fatalf("catalog has %d tables after Replace, want 1", n)
	}
	dup := Table{Path: []string{"x"}, Columns: []warehouse.Column{{Name: "a", Type: warehouse.Int64}, {Name: "A", Type: warehouse.String}}}
	if err := c.Add(dup); err == nil {
		t.Fatal("Add accepted a table with column a twice")
	}
}

func TestFindInstallMissing(t *testing.T) {
	t.Setenv(InstallDirEnv, t.TempDir())
	_, err := FindInstall(".")
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("FindInstall in an empty dir = %v, want ErrNotInstalled", err)
	}
}
