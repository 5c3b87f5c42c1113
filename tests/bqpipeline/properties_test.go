package bqpipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/sam-attribution/sam/loaders/ga4"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// TestTwoExportDatasetsStitchOnTheClientID is issue 17's acceptance 4 on
// the BigQuery engine: the loader copies two GA4 export datasets
// (analytics_111111 and analytics_222222) and GA4 staging is built from
// them. Client 100.1 visits both sites with the same session id on each;
// 200.1 and 300.1 visit one site each. Sessions never collide across
// properties, and the bare client id links them: one journey where the ids
// match, two where they don't.
func TestTwoExportDatasetsStitchOnTheClientID(t *testing.T) {
	ctx := context.Background()
	db, fake := openBigQuery(t)
	s0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	props := map[string][]string{
		"111111": {exportEvent("100.1", s0, "https://www.google.com/"), exportEvent("200.1", s0+60, "")},
		"222222": {exportEvent("100.1", s0, "https://shop.example/"), exportEvent("300.1", s0+120, "")},
	}
	schema := &bq.TableSchema{Fields: fields(ga4.ExportColumns())}
	for p, lines := range props {
		var rows []map[string]any
		for _, l := range lines {
			d := json.NewDecoder(bytes.NewReader([]byte(l)))
			d.UseNumber()
			var r map[string]any
			if err := d.Decode(&r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		fake.AddDataset(project, "analytics_"+p, "US")
		fake.PutTable(project, "analytics_"+p, "events_20250301", &bq.Table{Schema: schema}, rows)
	}
	if err := systables.New(db).Ensure(ctx); err != nil { // as jobs does at start
		t.Fatal(err)
	}
	l, err := ga4.NewBigQueryLoader(ga4.Options{ExportProject: project, ExportDataset: "analytics_111111", ExportDatasets: []string{"analytics_222222"}}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Load(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Loaded != 4 {
		t.Errorf("%d rows copied, want 4", res.Counts.Loaded)
	}
	r := &transform.Runner{WH: db, Project: ga4StagingProject(t), Vars: transform.Vars{}}
	if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	got := lines(t, db, "SELECT property_id, client_key, property_client_key, session_key FROM "+db.QualifiedName("stg_ga4__sessions")+" ORDER BY session_key")
	want := []string{
		"111111|100.1|111111:100.1|111111:100.1.1740823200",
		"111111|200.1|111111:200.1|111111:200.1.1740823260",
		"222222|100.1|222222:100.1|222222:100.1.1740823200",
		"222222|300.1|222222:300.1|222222:300.1.1740823320",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sessions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	journeys := lines(t, db, "SELECT client_key, COUNT(*), COUNT(DISTINCT property_id) FROM "+db.QualifiedName("stg_ga4__sessions")+" GROUP BY client_key ORDER BY client_key")
	if got, want := strings.Join(journeys, " "), "100.1|2|2 200.1|1|1 300.1|1|1"; got != want {
		t.Errorf("journeys = %s, want %s", got, want)
	}
}

// exportEvent is one page_view export row of client's session starting at
// session (Unix seconds).
func exportEvent(client string, session int64, referrer string) string {
	params := fmt.Sprintf(`{"key":"ga_session_id","value":{"int_value":"%d"}},{"key":"page_location","value":{"string_value":"https://www.acme-analytics.example/"}},{"key":"session_engaged","value":{"string_value":"1"}}`, session)
	if referrer != "" {
		params += fmt.Sprintf(`,{"key":"page_referrer","value":{"string_value":%q}}`, referrer)
	}
	return fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"page_view","event_params":[%s],"user_pseudo_id":%q,"stream_id":"1","platform":"WEB","device":{"category":"desktop","web_info":{"hostname":"www.acme-analytics.example"}}}`,
		time.Unix(session, 0).UTC().Format("20060102"), session*1_000_000, params, client)
}

// ga4StagingProject is GA4 staging from sql/, with the seeds and macros it
// reads.
func ga4StagingProject(t *testing.T) *transform.Project {
	t.Helper()
	mfs := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasPrefix(p, "staging/stg_ga4__") && !strings.HasPrefix(p, "seeds/ga4_") &&
			!strings.HasPrefix(p, "seeds/channel_groups.") && !strings.HasPrefix(p, "macros/") {
			return nil
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		mfs[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := transform.LoadProject(mfs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lines runs q and returns its rows as |-joined values.
func lines(t *testing.T, wh warehouse.Warehouse, q string) []string {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for _, r := range data {
		var parts []string
		for _, v := range r {
			parts = append(parts, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}
