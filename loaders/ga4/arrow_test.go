package ga4

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/warehouse"
)

// ndjsonOnly hides a warehouse's LoadArrow, so the loader hands it NDJSON.
type ndjsonOnly struct{ warehouse.Warehouse }

// loadBothWays loads dir the loader's way for DuckDB (Arrow record batches
// when built with the duckdb_arrow tag), then through NDJSON and
// read_json, and fails on any row that differs.
func loadBothWays(t *testing.T, dir string, wantLoaded int64) {
	t.Helper()
	ctx := context.Background()
	db := openDuck(t)
	if _, ok := any(db).(arrowLoader); !ok {
		t.Log("built without the duckdb_arrow tag: both loads go through NDJSON")
	}
	now := func() time.Time { return time.Date(2025, 3, 9, 1, 2, 3, 456789000, time.UTC) }
	direct := NewFileLoader(Options{ExportDir: dir}, db, nil)
	direct.now = now
	res, err := direct.Load(ctx, "direct")
	if err != nil {
		t.Fatalf("direct load: %v", err)
	}
	if res.Counts.Loaded != wantLoaded {
		t.Fatalf("direct load: %+v, want %d loaded", res.Counts, wantLoaded)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE first AS SELECT * FROM raw_ga4__events"); err != nil {
		t.Fatal(err)
	}
	viaJSON := NewFileLoader(Options{ExportDir: dir}, ndjsonOnly{db}, nil)
	viaJSON.now = now
	res2, err := viaJSON.Load(ctx, "ndjson")
	if err != nil {
		t.Fatalf("NDJSON load: %v", err)
	}
	if res2.Counts != res.Counts {
		t.Errorf("counts: first %+v, NDJSON %+v", res.Counts, res2.Counts)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != wantLoaded {
		t.Fatalf("NDJSON load: %d rows, want %d", n, wantLoaded)
	}
	for _, q := range []string{
		"SELECT * FROM first EXCEPT ALL SELECT * FROM raw_ga4__events",
		"SELECT * FROM raw_ga4__events EXCEPT ALL SELECT * FROM first",
	} {
		if got := queryStrings(t, db, "SELECT to_json(d)::VARCHAR FROM ("+q+") d LIMIT 3"); len(got) > 0 {
			t.Errorf("%s:\n%s", q, strings.Join(got, "\n"))
		}
	}
	// The rejects are the same both ways, reasons included.
	if got := queryStrings(t, db, `SELECT object || ' ' || reason FROM load_rejects WHERE run_id = 'direct'
		EXCEPT ALL SELECT object || ' ' || reason FROM load_rejects WHERE run_id = 'ndjson'`); len(got) > 0 {
		t.Errorf("rejects of the direct load only: %v", got)
	}
}

func TestArrowLoadsWhatReadJSONLoads(t *testing.T) {
	dir := t.TempDir()
	day := d1.Format("20060102")
	ts := d1.UnixMicro() + 1
	lines := []string{
		row(d1, 1, "page_view"),
		// Escapes, a surrogate pair, raw UTF-8 and every way a value may be
		// spelt: INT64 as text and as a number, FLOAT as an integer, as
		// text and special, BOOL as text.
		fmt.Sprintf(`{"event_date":"%s","event_timestamp":%d,"event_name":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é","event_params":[{"key":"x","value":{"string_value":null,"int_value":-42,"float_value":3,"double_value":"1.5e3"}},{"key":"y","value":{"double_value":"NaN"}},{"key":"z","value":null},null],"is_active_user":"false","event_value_in_usd":-0.125,"items":[],"user_properties":null}`, day, ts),
		// Nested records: missing fields, nulls, an unknown member dropped.
		fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"purchase","device":{"category":"mobile","web_info":null,"new_field":{"a":[1,2]}},"geo":{},"items":[{"item_id":"sku-1","quantity":"2","price":9.99,"item_params":[{"key":"k","value":{"int_value":"9223372036854775807"}}]},{"item_id":null}],"ecommerce":{"purchase_revenue":19.98,"transaction_id":"t1","total_item_quantity":2},"privacy_info":{"analytics_storage":"Yes"},"brand_new_column":true}`, day, ts+2),
		fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"min","is_active_user":true,"user_ltv":{"revenue":"Infinity","currency":"EUR"}}`, day, ts+3),
		// Rejected both ways.
		`{"event_date":"` + day + `","event_timestamp":"x"}`,
		`not json`,
	}
	writeFile(t, dir, "events_"+day+".json", lines...)
	loadBothWays(t, dir, 4)
}

func TestArrowLoadsWhatReadJSONLoadsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an export")
	}
	out := t.TempDir()
	sum, err := sampledata.Generate(context.Background(), sampledata.Options{OutDir: out, Days: 1, EventsPerDay: 3000, Seed: 42, End: d1})
	if err != nil {
		t.Fatal(err)
	}
	loadBothWays(t, filepath.Join(out, "ga4"), sum.Events)
}
