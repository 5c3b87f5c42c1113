package sampledata_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/warehouse"
)

var end = time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)

func generate(t testing.TB, opts sampledata.Options) (string, sampledata.Summary) {
	t.Helper()
	if opts.OutDir == "" {
		opts.OutDir = t.TempDir()
	}
	if opts.End.IsZero() {
		opts.End = end
	}
	sum, err := sampledata.Generate(context.Background(), opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return opts.OutDir, sum
}

func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := sampledata.Options{Days: 4, EventsPerDay: 400, Seed: 3, Gzip: true, Intraday: true}
	a, sumA := generate(t, opts)
	b, sumB := generate(t, opts)
	ta, tb := readTree(t, a), readTree(t, b)
	// The list of the files written says when each was written.
	delete(ta, ".sam-sample-files")
	delete(tb, ".sam-sample-files")
	if len(ta) != len(tb) || len(ta) == 0 {
		t.Fatalf("runs wrote %d and %d files", len(ta), len(tb))
	}
	for name, content := range ta {
		if !bytes.Equal(content, tb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if sumA.Events != sumB.Events || sumA.Leads != sumB.Leads {
		t.Errorf("summaries differ: %+v vs %+v", sumA, sumB)
	}
	opts.Seed = 4
	c, _ := generate(t, opts)
	if bytes.Equal(readTree(t, c)["ga4/events_20250330.json.gz"], ta["ga4/events_20250330.json.gz"]) {
		t.Error("another seed produced the same export")
	}
	want := []string{"crm/accounts.csv", "crm/deals.csv", "crm/leads.csv", "crm/offline_touches.csv", "fx_rates.csv", "ga4/events_20250328.json.gz", "ga4/events_20250329.json.gz",
		"ga4/events_20250330.json.gz", "ga4/events_20250331.json.gz", "ga4/events_intraday_20250331.json.gz", "spend/spend_202503.csv"}
	var got []string
	for name := range ta {
		got = append(got, filepath.ToSlash(name))
	}
	slices.Sort(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("files %v\nwant %v", got, want)
	}
}

func lines(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	var out [][]byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTypes walks a decoded value against its column: INT64 must be a
// JSON string (as BigQuery exports it), FLOAT64 a number, BOOL a bool,
// records objects with known keys only, repeated columns arrays.
func checkTypes(t *testing.T, path string, c warehouse.Column, v any, repeatedDone bool) {
	if v == nil {
		return
	}
	if c.Repeated && !repeatedDone {
		arr, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %T, want an array", path, v)
			return
		}
		for _, e := range arr {
			checkTypes(t, path+"[]", c, e, true)
		}
		return
	}
	switch c.Type {
	case warehouse.Int64:
		s, ok := v.(string)
		if _, err := strconv.ParseInt(s, 10, 64); !ok || err != nil {
			t.Errorf("%s: %v (%T), want an INT64 as a JSON string", path, v, v)
		}
	case warehouse.Float64:
		if _, ok := v.(json.Number); !ok {
			t.Errorf("%s: %v (%T), want a number", path, v, v)
		}
	case warehouse.Bool:
		if _, ok := v.(bool); !ok {
			t.Errorf("%s: %v (%T), want a bool", path, v, v)
		}
	case warehouse.String:
		if _, ok := v.(string); !ok {
			t.Errorf("%s: %v (%T), want a string", path, v, v)
		}
	case warehouse.Record:
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", path, v)
			return
		}
		known := map[string]warehouse.Column{}
		for _, f := range c.Fields {
			known[f.Name] = f
		}
		for k, sub := range m {
			f, ok := known[k]
			if !ok {
				t.Errorf("%s.%s: not in the export schema", path, k)
				continue
			}
			checkTypes(t, path+"."+k, f, sub, false)
		}
	}
}

func TestGeneratedRowsMatchExportSchema(t *testing.T) {
	dir, sum := generate(t, sampledata.Options{Days: 3, EventsPerDay: 500, Seed: 9})
	root := warehouse.Column{Name: "row", Type: warehouse.Record, Fields: ga4.ExportColumns()}
	v := ga4.NewValidator()
	var n int64
	names := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "ga4", "events_2*.json"))
	for _, f := range files {
		for i, line := range lines(t, f) {
			n++
			info, err := v.Check(line)
			if err != nil {
				t.Fatalf("%s:%d: %v", f, i+1, err)
			}
			if len(info.Unknown) > 0 {
				t.Errorf("%s:%d: unknown columns %v", f, i+1, info.Unknown)
			}
			if !strings.HasSuffix(filepath.Base(f), info.EventDate.Format("20060102")+".json") {
				t.Errorf("%s:%d: event_date %s outside the table's day", f, i+1, info.EventDate)
			}
			d := json.NewDecoder(bytes.NewReader(line))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			// Every top-level column is present, as in a BigQuery export.
			if len(m) != len(root.Fields) {
				t.Fatalf("%s:%d: %d top-level columns, want %d", f, i+1, len(m), len(root.Fields))
			}
			checkTypes(t, "row", root, m, false)
			names[m["event_name"].(string)]++
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	if n != sum.Events {
		t.Errorf("read %d rows, summary says %d", n, sum.Events)
	}
	for _, name := range []string{"first_visit", "session_start", "page_view", "user_engagement", "scroll", "form_start", "generate_lead"} {
		if names[name] == 0 {
			t.Errorf("no %s events", name)
		}
	}
	if sum.CookielessEvents == 0 || sum.DuplicateEvents == 0 || sum.LateEvents == 0 || sum.BotLeads == 0 {
		t.Errorf("missing dirt: %+v", sum)
	}
}

func TestFirstExportHoldsBackLateEventsAndIntradayIsPartial(t *testing.T) {
	opts := sampledata.Options{Days: 3, EventsPerDay: 600, Seed: 21, Intraday: true}
	full, sumFull := generate(t, opts)
	opts.FirstExport = true
	first, sumFirst := generate(t, opts)
	var late, diff int
	for _, day := range []string{"20250329", "20250330", "20250331"} {
		fl := lines(t, filepath.Join(full, "ga4", "events_"+day+".json"))
		il := lines(t, filepath.Join(first, "ga4", "events_"+day+".json"))
		diff += len(fl) - len(il)
		for _, l := range fl {
			var row struct {
				Offset string `json:"event_server_timestamp_offset"`
			}
			if err := json.Unmarshal(l, &row); err != nil {
				t.Fatal(err)
			}
			if off, _ := strconv.ParseInt(row.Offset, 10, 64); off > 86_400_000_000 {
				late++
			}
		}
	}
	if diff == 0 || diff != late {
		t.Errorf("first export lacks %d rows; %d rows arrived late", diff, late)
	}
	if sumFull.Leads != sumFirst.Leads || sumFull.Events-sumFirst.Events != int64(diff) {
		t.Errorf("first export changed more than the late rows: %+v vs %+v", sumFull, sumFirst)
	}
	intraday := lines(t, filepath.Join(full, "ga4", "events_intraday_20250331.json"))
	daily := lines(t, filepath.Join(full, "ga4", "events_20250331.json"))
	if len(intraday) == 0 || len(intraday) >= len(daily) {
		t.Errorf("intraday table has %d rows, daily %d: want a partial day", len(intraday), len(daily))
	}
}

func readCSV(t testing.TB, path string) ([]string, []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		out = append(out, m)
	}
	return recs[0], out
}

func TestCRMAndSpendFilesFollowTheDocumentedFormat(t *testing.T) {
	dir, sum := generate(t, sampledata.Options{Days: 20, EventsPerDay: 800, Seed: 2})
	head, leads := readCSV(t, filepath.Join(dir, "crm", "leads.csv"))
	if strings.Join(head, ",") != "lead_id,created_at,updated_at,email,phone,first_name,last_name,company,ga_client_id,gclid,user_id,lifecycle_stage,mql_at,sql_at,opportunity_at,won_at,lost_at,disqualified_at,disqualification_reason,is_deleted,meta_lead_id,li_fat_id,ad_consent,account_id" {
		t.Errorf("leads header %v", head)
	}
	stages := map[string]int{}
	var cookie, bare, bad int
	for _, l := range leads {
		if _, err := time.Parse(time.RFC3339, l["created_at"]); err != nil || l["lead_id"] == "" {
			bad++
			continue
		}
		stages[l["lifecycle_stage"]]++
		switch c := l["ga_client_id"]; {
		case strings.HasPrefix(c, "GA1.1."):
			cookie++
		case c != "":
			bare++
		}
	}
	if bad != 2 {
		t.Errorf("%d leads with a bad timestamp or no id, want the 2 planted", bad)
	}
	for _, s := range []string{"lead", "mql", "sql", "opportunity", "customer", "lost", "disqualified"} {
		if stages[s] == 0 && s != "opportunity" {
			t.Errorf("no lead in stage %s (%v)", s, stages)
		}
	}
	if cookie == 0 || bare == 0 {
		t.Errorf("client ids: %d cookie form, %d bare", cookie, bare)
	}
	head, deals := readCSV(t, filepath.Join(dir, "crm", "deals.csv"))
	if strings.Join(head, ",") != "deal_id,lead_id,created_at,updated_at,closed_at,stage,pipeline,amount,currency,is_won,is_lost,is_deleted,account_id" {
		t.Errorf("deals header %v", head)
	}
	currencies := map[string]bool{}
	for _, d := range deals {
		currencies[d["currency"]] = true
	}
	for _, c := range []string{"USD", "EUR", "GBP"} {
		if !currencies[c] {
			t.Errorf("no deal in %s", c)
		}
	}
	head, spend := readCSV(t, filepath.Join(dir, "spend", "spend_202503.csv"))
	if strings.Join(head, ",") != "date,source,medium,campaign,cost,currency" || len(spend) == 0 {
		t.Errorf("spend header %v, %d rows", head, len(spend))
	}
	head, fx := readCSV(t, filepath.Join(dir, "fx_rates.csv"))
	if strings.Join(head, ",") != "date,from_currency,to_currency,rate" || len(fx) != 2*20 {
		t.Errorf("fx header %v, %d rows, want 40 (EUR and GBP to USD a day)", head, len(fx))
	}
	if sum.BadCRMRows == 0 || int64(len(leads)) != sum.Leads+3 {
		t.Errorf("leads.csv has %d rows; summary %d leads + 3 bad rows", len(leads), sum.Leads)
	}
}

// TestMeridianAttendeesHaveAWebinarTouch checks the offline touches file:
// one webinar touch per lead of the Meridian account, two hours before the
// lead was created, with no channel, source or medium (the type names the
// channel), in the columns the file CRM source documents.
func TestMeridianAttendeesHaveAWebinarTouch(t *testing.T) {
	dir, _ := generate(t, sampledata.Options{Days: 30, EventsPerDay: 400, Seed: 2})
	_, leads := readCSV(t, filepath.Join(dir, "crm", "leads.csv"))
	created := map[string]time.Time{}
	for _, l := range leads {
		if l["account_id"] == "ACC-MERIDIAN" {
			at, err := time.Parse(time.RFC3339, l["created_at"])
			if err != nil {
				t.Fatal(err)
			}
			created[l["lead_id"]] = at
		}
	}
	if len(created) == 0 {
		t.Fatal("no Meridian lead generated")
	}
	head, touches := readCSV(t, filepath.Join(dir, "crm", "offline_touches.csv"))
	if got := strings.Join(head, ","); got != "touch_id,lead_id,email_sha256,touched_at,type,channel,source,medium,campaign,updated_at,is_deleted" {
		t.Errorf("offline touches header %s", got)
	}
	if len(touches) != len(created) {
		t.Errorf("%d offline touches for %d Meridian leads", len(touches), len(created))
	}
	for _, tc := range touches {
		at, err := time.Parse(time.RFC3339, tc["touched_at"])
		c, ok := created[tc["lead_id"]]
		switch {
		case !ok:
			t.Errorf("touch %s is not of a Meridian lead", tc["touch_id"])
		case err != nil || c.Sub(at) != 2*time.Hour:
			t.Errorf("touch %s at %s, want 2h before the lead's creation %s", tc["touch_id"], tc["touched_at"], c)
		}
		if tc["type"] != "webinar" || tc["channel"] != "" || tc["source"] != "" || tc["medium"] != "" || tc["campaign"] == "" || tc["is_deleted"] != "false" {
			t.Errorf("touch %v", tc)
		}
		delete(created, tc["lead_id"])
	}
}

// TestPlantedScenario checks the scenario on the files themselves, crediting
// each lead to the channel that acquired its client (first touch). The
// end-to-end tests assert the same through the whole pipeline.
func TestPlantedScenario(t *testing.T) {
	dir, _ := generate(t, sampledata.Options{Days: 45, EventsPerDay: 1500, Seed: 1})
	acquired := map[string]string{} // client id → source/medium of its first touch
	gclids := map[string]string{}
	users := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "ga4", "events_2*.json"))
	for _, f := range files {
		for _, line := range lines(t, f) {
			var e struct {
				Client  *string                          `json:"user_pseudo_id"`
				User    *string                          `json:"user_id"`
				Traffic *struct{ Source, Medium string } `json:"traffic_source"`
				Params  []struct {
					Key   string
					Value struct {
						S *string `json:"string_value"`
					}
				} `json:"event_params"`
			}
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			if e.Client == nil {
				continue
			}
			if _, ok := acquired[*e.Client]; !ok && e.Traffic != nil {
				acquired[*e.Client] = e.Traffic.Source + "/" + e.Traffic.Medium
			}
			for _, p := range e.Params {
				if p.Key == "gclid" && p.Value.S != nil {
					gclids[*p.Value.S] = "google/cpc"
				}
			}
			if e.User != nil {
				users[*e.User] = acquired[*e.Client]
			}
		}
	}
	channelOf := map[string]string{"google/cpc": "search", "facebook/paid_social": "social", "linkedin/paid_social": "social", "criteo/display": "display"}
	spend := map[string]float64{}
	months, _ := filepath.Glob(filepath.Join(dir, "spend", "*.csv"))
	for _, m := range months {
		_, rows := readCSV(t, m)
		for _, r := range rows {
			cost, _ := strconv.ParseFloat(r["cost"], 64)
			if r["currency"] == "EUR" {
				cost *= 1.08
			}
			spend[channelOf[r["source"]+"/"+r["medium"]]] += cost
		}
	}
	_, leads := readCSV(t, filepath.Join(dir, "crm", "leads.csv"))
	leadCh := map[string]string{}
	count, bots := map[string]float64{}, map[string]float64{}
	for _, l := range leads {
		sm := acquired[strings.TrimPrefix(l["ga_client_id"], "GA1.1.")]
		if sm == "" {
			sm = gclids[l["gclid"]]
		}
		if sm == "" {
			sm = users[l["user_id"]]
		}
		ch := channelOf[sm]
		leadCh[l["lead_id"]] = ch
		count[ch]++
		if r := l["disqualification_reason"]; r == "bot" || r == "spam" {
			bots[ch]++
		}
	}
	revenue := map[string]float64{}
	_, deals := readCSV(t, filepath.Join(dir, "crm", "deals.csv"))
	for _, d := range deals {
		if d["is_won"] != "true" {
			continue
		}
		amount, _ := strconv.ParseFloat(d["amount"], 64)
		rate := map[string]float64{"EUR": 1.08, "GBP": 1.27}[d["currency"]]
		if rate == 0 {
			rate = 1
		}
		revenue[leadCh[d["lead_id"]]] += amount * rate
	}
	cpl := func(ch string) float64 { return spend[ch] / count[ch] }
	roi := func(ch string) float64 { return (revenue[ch] - spend[ch]) / spend[ch] }
	for _, ch := range []string{"search", "social", "display"} {
		t.Logf("%-8s leads %3.0f bots %3.0f spend %8.0f revenue %8.0f CPL %6.1f ROI %6.2f", ch, count[ch], bots[ch], spend[ch], revenue[ch], cpl(ch), roi(ch))
	}
	if !(cpl("social") < cpl("display")/1.5 && cpl("social") < cpl("search")/3) {
		t.Errorf("Paid Social must have the lowest cost per lead by a wide margin: social %.1f, display %.1f, search %.1f", cpl("social"), cpl("display"), cpl("search"))
	}
	if !(roi("search") > 3*math.Max(roi("display"), 1) && roi("display") > roi("social")+1) {
		t.Errorf("ROI must rank search ≫ display > social: %.2f, %.2f, %.2f", roi("search"), roi("display"), roi("social"))
	}
	if bots["display"] < 0.6*count["display"] {
		t.Errorf("%v of %v Display leads are bots or spam, want most", bots["display"], count["display"])
	}
}

func BenchmarkGenerate(b *testing.B) {
	dir := b.TempDir()
	var events int64
	start := time.Now()
	for b.Loop() {
		sum, err := sampledata.Generate(context.Background(), sampledata.Options{OutDir: dir, Days: 5, EventsPerDay: 20000, Seed: 1, End: end})
		if err != nil {
			b.Fatal(err)
		}
		events += sum.Events
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
}

// The output folder is where SAM's loaders look by default (./data), so a
// CRM export put there by hand must not be overwritten by sample data, and
// a second generation must not leave days of the first beside its own.
// Before, `sam generate --out data --days 1` overwrote crm/leads.csv and
// left nine days of the earlier ten in ga4/.
func TestGenerateKeepsOtherFilesAndReplacesItsOwn(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	opts := sampledata.Options{OutDir: out, Days: 3, EventsPerDay: 60, Seed: 1, End: end}
	if _, err := sampledata.Generate(ctx, opts); err != nil {
		t.Fatal(err)
	}
	opts.Days = 1
	sum, err := sampledata.Generate(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	days, _ := filepath.Glob(filepath.Join(out, "ga4", "events_*"))
	if len(days) != 1 || len(sum.Files) == 0 {
		t.Errorf("ga4 holds %v after a one-day generation, want that day alone", days)
	}
	// A file of the user's own in an input folder: refused, and nothing written.
	mine := filepath.Join(out, "crm", "leads.csv")
	if err := os.WriteFile(mine, []byte("lead_id\nREAL-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = sampledata.Generate(ctx, opts)
	if !errors.Is(err, sampledata.ErrNotItsOwn) || !strings.Contains(err.Error(), filepath.Join("crm", "leads.csv")) {
		t.Fatalf("err = %v, want a refusal naming crm/leads.csv", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "lead_id\nREAL-1\n" {
		t.Errorf("the user's leads.csv was overwritten: %q", b)
	}
	if after, _ := filepath.Glob(filepath.Join(out, "ga4", "events_*")); len(after) != 1 {
		t.Errorf("ga4 holds %v after a refused generation, want it untouched", after)
	}
	// A folder the generator never wrote, holding input files: refused.
	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "ga4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "ga4", "events_20240101.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sampledata.Generate(ctx, sampledata.Options{OutDir: other, Days: 1, EventsPerDay: 60, End: end}); !errors.Is(err, sampledata.ErrNotItsOwn) {
		t.Errorf("err = %v, want a refusal: ga4/events_20240101.json is not the generator's", err)
	}
}

// A long generation logs the days written as it goes, at most every
// ProgressEvery.
func TestGenerationLogsItsProgress(t *testing.T) {
	var logs bytes.Buffer
	end := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	sum, err := sampledata.Generate(context.Background(), sampledata.Options{OutDir: t.TempDir(), Days: 3, Seed: 1, End: end,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `msg="generating sample data"`) {
			lines = append(lines, l)
		}
	}
	last := fmt.Sprintf(" days_written=3 days=3 events=%d\n", sum.Events)
	if len(lines) != 3 || !strings.Contains(lines[0], " days_written=1 days=3 ") || !strings.HasSuffix(lines[2], last) {
		t.Fatalf("want a progress line a day, the last ending %q:\n%s", last, logs.String())
	}
}
