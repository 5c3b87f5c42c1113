package ga4

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// minimal is a valid export row with the fields the validator insists on.
const minimal = `{"event_date":"20250301","event_timestamp":"1740787200000000","event_name":"page_view"}`

func TestCheckAcceptsExportRow(t *testing.T) {
	line := `{"event_date":"20250301","event_timestamp":"1740787200123456","event_name":"page_view",` +
		`"event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1740787200","float_value":null,"double_value":null}},` +
		`{"key":"value","value":{"double_value":12.5}}],"user_pseudo_id":"123.456","is_active_user":true,` +
		`"device":{"category":"desktop","web_info":{"browser":"Chrome"}},"items":[],"ecommerce":null,"event_value_in_usd":3}`
	info, err := NewValidator().Check([]byte(line))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC); !info.EventDate.Equal(want) {
		t.Errorf("EventDate = %v, want %v", info.EventDate, want)
	}
	if info.EventTimestamp != 1740787200123456 {
		t.Errorf("EventTimestamp = %d", info.EventTimestamp)
	}
	if info.End != len(line)-1 || line[info.End] != '}' {
		t.Errorf("End = %d, want %d", info.End, len(line)-1)
	}
	if len(info.Unknown) != 0 {
		t.Errorf("Unknown = %v, want none", info.Unknown)
	}
}

// TestCheckReadsMembersInAnyOrder: members are looked for in the export
// schema's order first; any other order reads the same.
func TestCheckReadsMembersInAnyOrder(t *testing.T) {
	line := `{"device":{"web_info":{"browser":"Chrome"},"category":"desktop"},"event_name":"page_view",` +
		`"event_params":[{"value":{"double_value":12.5,"int_value":null},"key":"value"}],` +
		`"event_timestamp":"1740787200123456","event_date":"20250301"}`
	info, err := NewValidator().Check([]byte(line))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC); !info.EventDate.Equal(want) || info.EventTimestamp != 1740787200123456 || len(info.Unknown) != 0 {
		t.Errorf("Check = %+v", info)
	}
	bad := strings.Replace(line, `"double_value":12.5`, `"double_value":"x"`, 1)
	if _, err := NewValidator().Check([]byte(bad)); err == nil || !strings.Contains(err.Error(), `event_params[].value.double_value: "x" is not a FLOAT64`) {
		t.Errorf("a bad value out of order: %v", err)
	}
}

func TestCheckRejectsWithReason(t *testing.T) {
	cases := []struct {
		name, line, reason string
	}{
		{"truncated", `{"event_date":"20250301","event_timestamp":"17407872`, "malformed JSON"},
		{"not an object", `["event_date"]`, "malformed JSON"},
		{"trailing garbage", minimal + `x`, "unexpected data after the object"},
		{"missing timestamp", `{"event_date":"20250301","event_name":"x"}`, "missing event_timestamp"},
		{"null timestamp", `{"event_date":"20250301","event_timestamp":null}`, "missing event_timestamp"},
		{"zero timestamp", `{"event_date":"20250301","event_timestamp":"0"}`, "bad event_timestamp"},
		{"missing date", `{"event_timestamp":"1740787200000000"}`, "missing event_date"},
		{"bad date", `{"event_date":"2025-03-01","event_timestamp":"1740787200000000"}`, `bad event_date "2025-03-01"`},
		{"impossible date", `{"event_date":"20250230","event_timestamp":"1740787200000000"}`, `bad event_date "20250230"`},
		{"int as text", `{"event_date":"20250301","event_timestamp":"soon"}`, `event_timestamp: "soon" is not an INT64`},
		{"fractional int", `{"event_date":"20250301","event_timestamp":1.5}`, "event_timestamp: 1.5 is not an INT64"},
		{"nested type", `{"event_date":"20250301","event_timestamp":"1","event_params":[{"key":"a","value":{"int_value":"x"}}]}`, `event_params[].value.int_value: "x" is not an INT64`},
		{"record as string", `{"event_date":"20250301","event_timestamp":"1","device":"desktop"}`, "device: expected an object"},
		{"bool as number", `{"event_date":"20250301","event_timestamp":"1","is_active_user":1}`, "is_active_user: expected true or false"},
		{"array as object", `{"event_date":"20250301","event_timestamp":"1","items":{}}`, "items: expected an array"},
		{"control char", "{\"event_date\":\"20250301\",\"event_timestamp\":\"1\",\"event_name\":\"a\tb\"}", "control character"},
		{"repeated member", `{"event_date":"20250301","event_timestamp":"1","event_name":"a","event_name":"b"}`, "member appears twice"},
		{"repeated member out of order", `{"event_name":"a","event_date":"20250301","event_timestamp":"1","event_name":"b"}`, "member appears twice"},
		{"invalid utf-8", "{\"event_date\":\"20250301\",\"event_timestamp\":\"1\",\"event_name\":\"caf\xe9\"}", "invalid UTF-8"},
	}
	v := NewValidator()
	for _, c := range cases {
		_, err := v.Check([]byte(c.line))
		if err == nil {
			t.Errorf("%s: Check accepted %s", c.name, c.line)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: reason %q does not contain %q", c.name, err, c.reason)
		}
	}
}

func TestCheckReportsAndDropsUnknownColumns(t *testing.T) {
	line := `{"event_date":"20250301","event_timestamp":"1740787200000000","new_column":{"a":[1,2]},"device":{"category":"mobile","new_field":"x"}}`
	v := NewValidator()
	info, err := v.Check([]byte(line))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := strings.Join(info.Unknown, ","); got != "new_column,device.new_field" {
		t.Errorf("Unknown = %q, want new_column,device.new_field", got)
	}
	clean, err := v.dropUnknown([]byte(line))
	if err != nil {
		t.Fatalf("dropUnknown: %v", err)
	}
	if want := `{"device":{"category":"mobile"},"event_date":"20250301","event_timestamp":"1740787200000000"}`; string(clean) != want {
		t.Errorf("dropUnknown = %s, want %s", clean, want)
	}
}

func TestExportSchemaCoversTheExport(t *testing.T) {
	s := RawSchema()
	if s.PartitionColumn != "export_date" {
		t.Fatalf("partition column %q", s.PartitionColumn)
	}
	for _, path := range []string{"event_params", "collected_traffic_source", "session_traffic_source_last_click", "publisher", "is_active_user", "batch_ordering_id", "export_table", "loaded_at"} {
		if _, ok := s.Column(path); !ok {
			t.Errorf("raw schema lacks %s", path)
		}
	}
	lc, _ := s.Column("session_traffic_source_last_click")
	var subs []string
	for _, f := range lc.Fields {
		subs = append(subs, f.Name)
	}
	if got := strings.Join(subs, ","); got != "manual_campaign,google_ads_campaign,cross_channel_campaign,sa360_campaign,cm360_campaign,dv360_campaign" {
		t.Errorf("session_traffic_source_last_click fields = %s", got)
	}
	if n := len(ExportColumns()); n != 30 {
		t.Errorf("export has %d top-level columns, want 30", n)
	}
}

func BenchmarkCheck(b *testing.B) {
	line := []byte(`{"event_date":"20250301","event_timestamp":"1740787200123456","event_name":"page_view","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1740787200","float_value":null,"double_value":null}},{"key":"page_location","value":{"string_value":"https://www.example.com/pricing?utm_source=x","int_value":null,"float_value":null,"double_value":null}}],"user_pseudo_id":"123.456","privacy_info":{"analytics_storage":"Yes","ads_storage":"Yes","uses_transient_token":"No"},"device":{"category":"desktop","web_info":{"browser":"Chrome","browser_version":"124","hostname":"www.example.com"}},"geo":{"city":"Berlin","country":"Germany"},"items":[],"is_active_user":true}`)
	v := NewValidator()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := v.Check(line); err != nil {
			b.Fatal(err)
		}
	}
}

// needsLook answers, for a whole word at once, whether any of its bytes is
// one a string may not hold plain: each byte value in each position, and
// random words, against the byte table.
func TestNeedsLookMatchesTheByteTable(t *testing.T) {
	want := func(w uint64) bool {
		for i := range 8 {
			if !plain[byte(w>>(8*i))] {
				return true
			}
		}
		return false
	}
	const filler = 0x6161616161616161 // "aaaaaaaa"
	for pos := range 8 {
		for b := range 256 {
			w := filler&^(0xff<<(8*pos)) | uint64(b)<<(8*pos)
			if got := needsLook(w); got != want(w) {
				t.Fatalf("byte %#x at %d: needsLook %v, want %v", b, pos, got, want(w))
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		w := r.Uint64()
		// Mostly printable ASCII, as export strings are.
		if r.IntN(2) == 0 {
			w &= 0x7f7f7f7f7f7f7f7f
			w |= 0x2020202020202020
		}
		if got := needsLook(w); got != want(w) {
			t.Fatalf("word %#016x: needsLook %v, want %v", w, got, want(w))
		}
	}
}
