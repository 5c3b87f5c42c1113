package attribution_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/sampledata"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// TestPlantedStories generates the default sample data, loads it with the
// real loaders, builds the whole project (every data test included) and
// checks the stories sampledata plants, under the last_non_direct and
// markov models: Paid Social has the lowest cost per lead of the paid
// channels but the lowest ROI, Paid Search the highest ROI, most Display
// leads are spam, so ranking channels by cost per lead and by ROI disagree.
func TestPlantedStories(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: generates, loads and builds the sample data")
	}
	ctx := context.Background()
	wh := loadSampleData(t, 0)

	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	r := &transform.Runner{WH: wh, Project: p, Vars: transform.Vars{
		"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD",
		"prediction_maturity_days": 180, "prediction_prior_strength": 20.0,
	}}
	// Everything the BI tables read; writeback_queue also reads the GA4
	// writer's send log, which only the writer creates.
	sel, err := transform.ParseSelection("+channel_performance,+campaign_performance,+channel_cohorts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}

	paid := []string{"Paid Search", "Paid Social", "Display"}
	for _, model := range []string{"last_non_direct", "markov"} {
		t.Run(model, func(t *testing.T) {
			type perf struct{ spend, leads, spam, revenue float64 }
			got := map[string]perf{}
			for _, row := range query(t, wh, `select channel, cast(sum(spend) as double), sum(leads), sum(spam_leads),
				cast(sum(revenue) as double) from channel_performance where model = '`+model+`' group by channel`) {
				got[row[0].(string)] = perf{row[1].(float64), row[2].(float64), row[3].(float64), row[4].(float64)}
			}
			cpl := map[string]float64{}
			roi := map[string]float64{}
			for _, c := range paid {
				g := got[c]
				if g.spend <= 0 || g.leads <= 0 {
					t.Fatalf("%s: spend %v, leads %v; want both positive", c, g.spend, g.leads)
				}
				cpl[c] = g.spend / g.leads
				roi[c] = (g.revenue - g.spend) / g.spend
				t.Logf("%-12s spend %10.2f leads %7.2f CPL %8.2f revenue %11.2f ROI %7.2f spam %.0f%%",
					c, g.spend, g.leads, cpl[c], g.revenue, roi[c], 100*g.spam/g.leads)
			}
			byCPL := rank(paid, cpl)
			byROI := rank(paid, roi)
			if byCPL[0] != "Paid Social" {
				t.Errorf("lowest cost per lead: %s, want Paid Social (%v)", byCPL[0], cpl)
			}
			if byROI[0] != "Paid Social" {
				t.Errorf("lowest ROI: %s, want Paid Social (%v)", byROI[0], roi)
			}
			if byROI[len(byROI)-1] != "Paid Search" {
				t.Errorf("highest ROI: %s, want Paid Search (%v)", byROI[len(byROI)-1], roi)
			}
			if d := got["Display"]; d.spam/d.leads <= 0.5 {
				t.Errorf("Display spam rate %.2f, want > 0.5", d.spam/d.leads)
			}
			// Cheapest leads first is the reverse of best return first.
			bestROI := rank(paid, negate(roi))
			if equal(byCPL, bestROI) {
				t.Errorf("ranking by cost per lead %v equals ranking by ROI %v; the planted data makes them disagree", byCPL, bestROI)
			}
		})
	}
}

// rank orders keys by ascending value.
func rank(keys []string, v map[string]float64) []string {
	out := append([]string(nil), keys...)
	sort.Slice(out, func(i, j int) bool { return v[out[i]] < v[out[j]] })
	return out
}

func negate(v map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, x := range v {
		out[k] = -x
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// loadSampleData generates sample data ending 2024-06-30 (days 0: the
// generator's default) and loads it with the real loaders into a new
// DuckDB warehouse, closed when the test ends.
func loadSampleData(t *testing.T, days int) *duckdb.DB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	end := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	if _, err := sampledata.Generate(ctx, sampledata.Options{OutDir: dir, Days: days, Seed: 1, End: end}); err != nil {
		t.Fatal(err)
	}
	wh, err := duckdb.Open(ctx, filepath.Join(dir, "sam.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	if err := systables.New(wh).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: filepath.Join(dir, "ga4"), LookbackDays: 3}, wh, nil).Load(ctx, "e2e"); err != nil {
		t.Fatalf("ga4 load: %v", err)
	}
	src, err := file.New(file.Options{Dir: filepath.Join(dir, "crm"), BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crm.Sync(ctx, wh, src, crm.Options{RunID: "e2e"}); err != nil {
		t.Fatalf("crm sync: %v", err)
	}
	spendCfg := spend.Options{Dir: filepath.Join(dir, "spend"), FXRatesFile: filepath.Join(dir, "fx_rates.csv")}
	result, err := spend.Load(ctx, wh, spendCfg, "e2e", nil)
	counts := result.Total()
	if err != nil {
		t.Fatalf("spend load: %v", err)
	}
	if counts.Loaded == 0 || counts.Read != counts.Loaded+counts.Rejected {
		t.Errorf("spend counts %+v: want rows loaded and read = loaded + rejected", counts)
	}
	return wh
}
