package duckdb

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/warehouse"
)

func rec(name string, fields ...warehouse.Column) warehouse.Column {
	return warehouse.Column{Name: name, Type: warehouse.Record, Fields: fields}
}

func str(name string) warehouse.Column { return warehouse.Column{Name: name, Type: warehouse.String} }
func i64(name string) warehouse.Column { return warehouse.Column{Name: name, Type: warehouse.Int64} }
func f64(name string) warehouse.Column { return warehouse.Column{Name: name, Type: warehouse.Float64} }

func repeated(c warehouse.Column) warehouse.Column { c.Repeated = true; return c }

// ga4Schema is a representative part of the GA4 BigQuery export schema.
var ga4Schema = warehouse.Schema{Columns: []warehouse.Column{
	str("event_date"),
	i64("event_timestamp"),
	str("event_name"),
	repeated(rec("event_params", str("key"),
		rec("value", str("string_value"), i64("int_value"), f64("float_value"), f64("double_value")))),
	i64("event_previous_timestamp"),
	f64("event_value_in_usd"),
	i64("event_bundle_sequence_id"),
	str("user_id"),
	str("user_pseudo_id"),
	rec("privacy_info", str("analytics_storage"), str("ads_storage"), str("uses_transient_token")),
	repeated(rec("user_properties", str("key"),
		rec("value", str("string_value"), i64("int_value"), f64("float_value"), f64("double_value"), i64("set_timestamp_micros")))),
	i64("user_first_touch_timestamp"),
	rec("device", str("category"), str("operating_system"), str("language"),
		rec("web_info", str("browser"), str("browser_version"), str("hostname"))),
	rec("geo", str("city"), str("country"), str("continent"), str("region")),
	rec("traffic_source", str("name"), str("medium"), str("source")),
	str("stream_id"),
	str("platform"),
	rec("collected_traffic_source", str("manual_campaign_id"), str("manual_campaign_name"), str("manual_source"),
		str("manual_medium"), str("manual_term"), str("manual_content"), str("gclid"), str("dclid"), str("srsltid")),
	{Name: "is_active_user", Type: warehouse.Bool},
	i64("batch_event_index"),
	rec("session_traffic_source_last_click",
		rec("manual_campaign", str("campaign_id"), str("campaign_name"), str("source"), str("medium"))),
	repeated(rec("items", str("item_id"), str("item_name"), f64("price"), i64("quantity"))),
}}

// A page_view line as the BigQuery export writes it: INT64 values are JSON
// strings, absent values are null, and keys outside the schema occur.
const ga4Line = `{"event_date":"20240115","event_timestamp":"1705312800123456","event_name":"page_view",` +
	`"event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1705312800","float_value":null,"double_value":null}},` +
	`{"key":"page_location","value":{"string_value":"https://example.com/pricing?gclid=abc","int_value":null,"float_value":null,"double_value":null}},` +
	`{"key":"engagement_time_msec","value":{"int_value":"1530"}},{"key":"value","value":{"double_value":12.5}}],` +
	`"event_previous_timestamp":null,"event_value_in_usd":null,"event_bundle_sequence_id":"123456789","event_server_timestamp_offset":"512",` +
	`"user_id":null,"user_pseudo_id":"1234567890.1705312800",` +
	`"privacy_info":{"analytics_storage":"Yes","ads_storage":"Yes","uses_transient_token":"No"},` +
	`"user_properties":[],"user_first_touch_timestamp":"1705312700000000",` +
	`"device":{"category":"desktop","operating_system":"Windows","language":"en-us","is_limited_ad_tracking":"No",` +
	`"web_info":{"browser":"Chrome","browser_version":"120.0","hostname":"example.com"}},` +
	`"geo":{"city":"Berlin","country":"Germany","continent":"Europe","region":"Berlin","sub_continent":"Western Europe","metro":"(not set)"},` +
	`"app_info":null,"traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},"stream_id":"1234567890","platform":"WEB",` +
	`"collected_traffic_source":{"manual_campaign_id":null,"manual_campaign_name":"spring","manual_source":"google","manual_medium":"cpc",` +
	`"manual_term":null,"manual_content":null,"gclid":"abc","dclid":null,"srsltid":null},"is_active_user":true,"batch_event_index":"0",` +
	`"batch_page_id":"1705312800000","batch_ordering_id":"1",` +
	`"session_traffic_source_last_click":{"manual_campaign":{"campaign_id":null,"campaign_name":"spring","source":"google","medium":"cpc"}},` +
	`"items":[{"item_id":"sku-1","item_name":"Plan","price":"99.5","quantity":"1"}]}`

func TestLoadGA4ExportLine(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	res, err := db.Load(ctx, warehouse.LoadRequest{
		Table: "raw_ga4__events", Schema: ga4Schema, NDJSON: strings.NewReader(ga4Line + "\n" + ga4Line + "\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsLoaded != 2 {
		t.Errorf("RowsLoaded = %d, want 2", res.RowsLoaded)
	}
	got := queryRows(t, db, `SELECT event_timestamp,
		(SELECT p.value.int_value FROM unnest(event_params) AS u(p) WHERE p.key = 'ga_session_id'),
		(SELECT p.value.int_value FROM unnest(event_params) AS u(p) WHERE p.key = 'engagement_time_msec'),
		(SELECT p.value.double_value FROM unnest(event_params) AS u(p) WHERE p.key = 'value'),
		device.web_info.browser, collected_traffic_source.gclid, session_traffic_source_last_click.manual_campaign.source,
		len(user_properties), items[1].quantity, items[1].price, event_bundle_sequence_id, is_active_user
		FROM raw_ga4__events LIMIT 1`)
	want := [][]any{{int64(1705312800123456), int64(1705312800), int64(1530), 12.5, "Chrome", "abc", "google",
		int64(0), int64(1), 99.5, int64(123456789), true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GA4 row =\n%#v\nwant\n%#v", got, want)
	}
	// The nested values read back as []any / map[string]any.
	params := queryOne(t, db, "SELECT event_params FROM raw_ga4__events LIMIT 1").([]any)
	first := params[0].(map[string]any)
	if first["key"] != "ga_session_id" || first["value"].(map[string]any)["int_value"] != int64(1705312800) {
		t.Errorf("event_params[0] = %#v", first)
	}
	desc, err := db.Describe(ctx, "raw_ga4__events")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(desc.Columns, ga4Schema.Columns) {
		t.Errorf("Describe differs from the load schema:\n%+v", desc.Columns)
	}
}

// TestLoadGA4RowsRoundTrip loads GA4-shaped Go values through the appender.
func TestLoadGA4RowsRoundTrip(t *testing.T) {
	db := openMem(t)
	ctx := context.Background()
	s := warehouse.Schema{Columns: ga4Schema.Columns[:4]}
	row := []any{"20240115", int64(1705312800123456), "page_view", []any{
		map[string]any{"key": "ga_session_id", "value": map[string]any{"int_value": int64(1705312800)}},
		map[string]any{"key": "page_title", "value": map[string]any{"string_value": "Pricing", "int_value": nil}},
	}}
	if _, err := db.Load(ctx, warehouse.LoadRequest{Table: "e", Schema: s, Rows: warehouse.NewSliceRows([][]any{row})}); err != nil {
		t.Fatal(err)
	}
	got := queryOne(t, db, "SELECT event_params FROM e")
	want := []any{
		map[string]any{"key": "ga_session_id", "value": map[string]any{"string_value": nil, "int_value": int64(1705312800), "float_value": nil, "double_value": nil}},
		map[string]any{"key": "page_title", "value": map[string]any{"string_value": "Pricing", "int_value": nil, "float_value": nil, "double_value": nil}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event_params =\n%#v\nwant\n%#v", got, want)
	}
}
