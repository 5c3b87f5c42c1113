package ga4sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(client string, events ...string) string {
	return fmt.Sprintf(`{"client_id":%q,"events":[%s]}`, client, strings.Join(events, ","))
}

func ev(name, key string) string {
	return fmt.Sprintf(`{"name":%q,"params":{%q:%q,"lead_stage":"mql"}}`, name, KeyParam, key)
}

func TestCollectRecordsAndCountsDuplicates(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	url := srv.URL + "/mp/collect?measurement_id=G-X&api_secret=x"

	if r := post(t, url, body("1.2", ev("qualify_lead", "k1"), ev("qualify_lead", "k2"))); r.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204", r.StatusCode)
	}
	// Invalid events are answered 204 too and silently dropped, like production.
	post(t, url, body("1.2", ev("session_start", "k3"), ev("qualify_lead", "k1")))
	post(t, url, `not json`)

	st := s.Stats()
	if st.Requests != 3 || st.Events != 3 || st.Keys != 2 || st.Dropped != 2 || fmt.Sprint(st.Duplicates) != "[k1]" {
		t.Fatalf("stats = %+v, want 3 requests, 3 events, 2 keys, 2 dropped, duplicate k1", st)
	}
	if s.Count("k1") != 2 || s.Count("k2") != 1 {
		t.Errorf("counts k1=%d k2=%d, want 2 and 1", s.Count("k1"), s.Count("k2"))
	}
	if e := s.Events()[0]; e.ClientID != "1.2" || e.MeasurementID != "G-X" || e.Key != "k1" {
		t.Errorf("first event = %+v", e)
	}
}

func TestDebugReturnsValidationMessages(t *testing.T) {
	s, _ := New("")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	url := srv.URL + "/debug/mp/collect?measurement_id=G-X"

	var events []string
	for i := range 26 {
		events = append(events, ev("qualify_lead", fmt.Sprint("k", i)))
	}
	cases := []struct {
		name, body, path, code string
	}{
		{"valid", body("1.2", ev("qualify_lead", "k")), "", ""},
		{"reserved name", body("1.2", ev("first_visit", "k")), "events[0].name", CodeNameReserved},
		{"reserved prefix", body("1.2", ev("google_x", "k")), "events[0].name", CodeNameReserved},
		{"bad name", body("1.2", ev("9lives", "k")), "events[0].name", CodeNameInvalid},
		{"long name", body("1.2", ev(strings.Repeat("a", 41), "k")), "events[0].name", CodeValueOutOfBounds},
		{"long value", body("1.2", ev("qualify_lead", strings.Repeat("v", 101))), "events[0].params." + KeyParam, CodeValueOutOfBounds},
		{"no client", body("", ev("qualify_lead", "k")), "client_id", CodeValueRequired},
		{"26 events", body("1.2", events...), "events", CodeExceededMaxEntities},
		{"value without currency", body("1.2", `{"name":"close_convert_lead","params":{"value":10}}`), "events[0].params.currency", CodeValueRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, url, c.body)
			var vr ValidationResponse
			if err := json.NewDecoder(r.Body).Decode(&vr); err != nil {
				t.Fatal(err)
			}
			if c.code == "" {
				if len(vr.ValidationMessages) != 0 {
					t.Fatalf("messages = %+v, want none", vr.ValidationMessages)
				}
				return
			}
			if len(vr.ValidationMessages) != 1 || vr.ValidationMessages[0].FieldPath != c.path || vr.ValidationMessages[0].ValidationCode != c.code {
				t.Fatalf("messages = %+v, want one %s at %s", vr.ValidationMessages, c.code, c.path)
			}
		})
	}
	if st := s.Stats(); st.Events != 0 || st.DebugRequests != len(cases) {
		t.Errorf("stats = %+v: the debug endpoint must record nothing", st)
	}
}

func TestInjectedFailures(t *testing.T) {
	s, _ := New("")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.InjectFailures(http.StatusServiceUnavailable, 1)
	s.InjectFailures(http.StatusTooManyRequests, 1)
	url := srv.URL + "/mp/collect?measurement_id=G-X"
	var got []int
	for range 3 {
		got = append(got, post(t, url, body("1.2", ev("qualify_lead", "k"))).StatusCode)
	}
	if fmt.Sprint(got) != "[503 429 204]" || s.Count("k") != 1 {
		t.Errorf("statuses %v, count %d; want [503 429 204] and 1", got, s.Count("k"))
	}
}

func TestStartPersistsAndReloads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sink.ndjson")
	s, err := Start(ctx, "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	post(t, s.URL()+"/mp/collect?measurement_id=G-X", body("1.2", ev("qualify_lead", "k1"), ev("close_convert_lead", "k2")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn last line, as a killed process leaves it, is ignored.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"name":"qual`)
	f.Close()

	s2, err := Start(ctx, "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st := s2.Stats(); st.Events != 2 || st.Keys != 2 {
		t.Fatalf("reloaded stats = %+v, want 2 events", st)
	}
	post(t, s2.URL()+"/mp/collect?measurement_id=G-X", body("1.2", ev("qualify_lead", "k1")))
	if st := s2.Stats(); fmt.Sprint(st.Duplicates) != "[k1]" {
		t.Errorf("duplicates across restarts = %v, want [k1]", st.Duplicates)
	}
	resp, err := http.Get(s2.URL() + "/sink/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	json.NewDecoder(resp.Body).Decode(&st)
	if st.Events != 3 {
		t.Errorf("GET /sink/stats events = %d, want 3", st.Events)
	}
	data, _ := os.ReadFile(path)
	if bytes.Count(data, []byte("\n")) < 3 {
		t.Errorf("file has %d lines, want the 3 accepted events", bytes.Count(data, []byte("\n")))
	}
}

func TestStartStopsWithContextAndCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "sink.ndjson")
	s, err := Start(ctx, "127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	post(t, s.URL()+"/mp/collect?measurement_id=G-X", body("1.2", ev("qualify_lead", "k1")))
	cancel()
	if err := s.Close(); err != nil {
		t.Fatalf("Close after the context ended: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(`"key":"k1"`)) {
		t.Errorf("file = %q (%v), want the accepted event", data, err)
	}
}
