package ga4

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// FuzzCheck feeds arbitrary lines to the export line validator. Every line
// is either rejected with a reason or accepted; an accepted line is valid
// JSON whose event_date and event_timestamp are what Check reported, and it
// survives the loader's slow path (dropping unknown members) unchanged in
// what Check learns from it.
//
//	go test ./loaders/ga4 -run '^$' -fuzz '^FuzzCheck$' -fuzztime 20s
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		minimal,
		`{"event_date":"20250301","event_timestamp":1740787200000000,"event_name":"page_view","event_params":[{"key":"ga_session_id","value":{"int_value":"1740787200"}}],"user_pseudo_id":"123.456","is_active_user":true,"device":{"category":"desktop"},"items":[],"event_value_in_usd":"NaN"}`,
		`{"event_date":"20250301","event_timestamp":"1740787200000000","new_column":{"a":[1,2]},"device":{"category":"mobile","new_field":"x"}}`,
		`{"event_date":"20250301","event_timestamp":"17407872`,
		`{"event_date":"20250230","event_timestamp":"1740787200000000"}`,
		`{"event_date":"20250301","event_timestamp":"9223372036854775808"}`,
		`{"event_date":"20250301","event_timestamp":"1","event_name":"caf\u00e9 \ud83d\ude00"}`,
		`[{"event_date":"20250301"}]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	v := NewValidator()
	f.Fuzz(func(t *testing.T, line []byte) {
		info, err := v.Check(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("rejected %q with an empty reason", line)
			}
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted a line that is not JSON: %q", line)
		}
		if info.End < 0 || info.End >= len(line) || line[info.End] != '}' {
			t.Fatalf("End = %d does not point at the closing brace of %q", info.End, line)
		}
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			t.Fatalf("accepted %q, which encoding/json cannot decode as an object: %v", line, err)
		}
		if s, ok := obj["event_date"].(string); ok && s != info.EventDate.Format("20060102") {
			t.Fatalf("event_date %q, Check says %v", s, info.EventDate)
		}
		var ts string
		switch x := obj["event_timestamp"].(type) {
		case string:
			ts = x
		case json.Number:
			ts = x.String()
		}
		if n, err := strconv.ParseInt(ts, 10, 64); ts != "" && (err != nil || n != info.EventTimestamp) {
			t.Fatalf("event_timestamp %q, Check says %d", ts, info.EventTimestamp)
		}
		if info.EventTimestamp <= 0 || info.EventDate.IsZero() {
			t.Fatalf("accepted %q without a usable date and timestamp: %+v", line, info)
		}

		// The loader rewrites lines with unknown members; the rewrite must
		// be a valid line with nothing unknown left and the same keys.
		clean, err := v.dropUnknown(line)
		if err != nil {
			t.Fatalf("dropUnknown of an accepted line: %v\n%q", err, line)
		}
		again, err := v.Check(clean)
		if err != nil {
			t.Fatalf("rewritten line rejected: %v\nline:  %q\nclean: %q", err, line, clean)
		}
		if len(again.Unknown) != 0 {
			t.Fatalf("rewritten line still has unknown members %v: %q", again.Unknown, clean)
		}
		if !again.EventDate.Equal(info.EventDate) || again.EventTimestamp != info.EventTimestamp {
			t.Fatalf("rewrite changed date/timestamp: %v/%d → %v/%d", info.EventDate, info.EventTimestamp, again.EventDate, again.EventTimestamp)
		}
	})
}
