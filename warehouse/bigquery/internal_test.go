package bigquery

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/sam-attribution/sam/warehouse"
)

func TestRetryPolicyDefaultsAndMapping(t *testing.T) {
	if got := (RetryPolicy{}).withDefaults(); got != DefaultRetryPolicy {
		t.Errorf("zero policy = %+v, want the default", got)
	}
	db := &DB{retry: RetryPolicy{Initial: 100 * time.Millisecond, Max: time.Second}.withDefaults()}
	p := db.retryPolicy()
	if p.Attempts != DefaultRetryPolicy.MaxAttempts || p.Base != 100*time.Millisecond || p.Cap != time.Second {
		t.Errorf("retry policy = %+v, want attempts %d, base 100ms, cap 1s", p, DefaultRetryPolicy.MaxAttempts)
	}
}

func TestRetryableHTTP(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: 503}, true},
		{&googleapi.Error{Code: 500}, true},
		{&googleapi.Error{Code: 502}, true},
		{&googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}, true},
		{&googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "internalError"}}}, true},
		{&googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "invalidQuery"}}}, false},
		{&googleapi.Error{Code: 404}, false},
		{errors.New("boom"), false},
	} {
		if got := retryableHTTP(c.err); got != c.want {
			t.Errorf("retryableHTTP(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestMayBeScript(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT 1":                              false,
		"SELECT 1;\n":                           false,
		"DELETE FROM t; INSERT t (a) SELECT 1;": true,
		"BEGIN TRANSACTION; COMMIT TRANSACTION": true,
	} {
		if got := mayBeScript(sql); got != want {
			t.Errorf("mayBeScript(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestDayKey(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-31":                 "20240131",
		"2024-01-31T23:30:00Z":       "20240131",
		"2024-01-31T23:30:00-02:00":  "20240201",
		"2024-01-31 10:00:00.5 UTC":  "20240131",
		"2024-01-31 10:00:00+00:00":  "20240131",
		"2024-01-31T10:00:00.123456": "20240131",
	} {
		got, err := dayKey(in)
		if err != nil || got != want {
			t.Errorf("dayKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := dayKey("31/01/2024"); err == nil {
		t.Error("dayKey accepted 31/01/2024")
	}
}

func TestAppendRowTypes(t *testing.T) {
	cols := []warehouse.Column{
		{Name: "f", Type: warehouse.Float64},
		{Name: "g", Type: warehouse.Float64},
		{Name: "j", Type: warehouse.JSON},
		{Name: "k", Type: warehouse.JSON},
		{Name: "raw", Type: warehouse.Bytes},
		{Name: "s", Type: warehouse.String},
		{Name: "i", Type: warehouse.Int64},
		{Name: "big", Type: warehouse.Int64},
		{Name: "small", Type: warehouse.Int64},
		{Name: "rec", Type: warehouse.Record, Fields: []warehouse.Column{{Name: "a", Type: warehouse.String}, {Name: "b", Type: warehouse.Int64}}},
	}
	got, err := appendRow(nil, cols, []any{
		math.NaN(), math.Inf(-1), `{"x":[1,2]}`, "not json", []byte{0xff, 0x00}, int64(12), "9007199254740993", int64(9007199254740993), int64(-42), []any{"q", nil},
	})
	if err != nil {
		t.Fatalf("appendRow: %v", err)
	}
	want := `{"f":"NaN","g":"-Infinity","j":{"x":[1,2]},"k":"not json","raw":"/wA=","s":"12","i":"9007199254740993","big":"9007199254740993","small":-42,"rec":{"a":"q"}}` + "\n"
	if string(got) != want {
		t.Errorf("appendRow:\n got %s\nwant %s", got, want)
	}
	bad := []struct {
		col warehouse.Column
		v   any
	}{
		{warehouse.Column{Name: "i", Type: warehouse.Int64}, 1.5},
		{warehouse.Column{Name: "d", Type: warehouse.Date}, int64(3)},
		{warehouse.Column{Name: "a", Type: warehouse.String, Repeated: true}, []any{"x", nil}},
		{warehouse.Column{Name: "n", Type: warehouse.Numeric}, math.Inf(1)},
	}
	for _, b := range bad {
		if _, err := appendRow(nil, []warehouse.Column{b.col}, []any{b.v}); err == nil {
			t.Errorf("appendRow accepted %v for %+v", b.v, b.col)
		}
	}
}

func TestPollIntervalIsCapped(t *testing.T) {
	if pollInterval(0) != 100*time.Millisecond || pollInterval(100) != 5*time.Second {
		t.Errorf("pollInterval(0) = %v, pollInterval(100) = %v", pollInterval(0), pollInterval(100))
	}
}

func TestLabelsAndJobIDsAreMadeValid(t *testing.T) {
	db := &DB{opts: Options{Labels: map[string]string{"app": "sam", "Run_ID": "2024-01-01T06:00:00Z"}}}
	got := db.labels(map[string]string{"model": "Stg.GA4", "1st": strings.Repeat("x", 70)})
	want := map[string]string{"app": "sam", "run_id": "2024-01-01t06_00_00z", "model": "stg_ga4", "l1st": strings.Repeat("x", 63)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	if got := jobIDText("run:2024-01-01T06:00/build.fct"); got != "run_2024-01-01T06_00_build_fct" {
		t.Errorf("jobIDText = %q", got)
	}
}

func TestQueryParamsAreTyped(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	got, err := queryParams([]any{nil, warehouse.Null{Type: warehouse.Timestamp}, warehouse.Null{Type: warehouse.Int64}, 3, "s", ts})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{bigquery.NullString{}, bigquery.NullTimestamp{}, bigquery.NullInt64{}, int64(3), "s", ts.UTC()}
	for i, p := range got {
		if p.Value != want[i] {
			t.Errorf("parameter %d = %#v, want %#v", i+1, p.Value, want[i])
		}
	}
	if _, err := queryParams([]any{struct{}{}}); err == nil {
		t.Error("an unsupported type was accepted")
	}
}
