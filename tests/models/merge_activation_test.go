package models_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/transform"
)

// everyStage is a destination that takes every stage of every lead and
// remembers, per lead, the stages it was sent.
type everyStage struct {
	mu   sync.Mutex
	sent map[string][]string // lead id -> stages
}

func (d *everyStage) Name() string               { return "every_stage" }
func (d *everyStage) DedupWindow() time.Duration { return 0 }
func (d *everyStage) Takes(string) bool          { return true }
func (d *everyStage) Check(activation.Event, time.Time) activation.Decision {
	return activation.Decision{}
}
func (d *everyStage) BatchKey(e activation.Event) string { return e.LeadID }
func (d *everyStage) MaxBatch() int                      { return 10 }
func (d *everyStage) Send(_ context.Context, batch []activation.Event) []activation.Outcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]activation.Outcome, len(batch))
	for i, e := range batch {
		d.sent[e.LeadID] = append(d.sent[e.LeadID], e.Stage)
		out[i] = activation.Outcome{Status: activation.StatusAccepted}
	}
	return out
}

// A HubSpot merge makes a new contact, with a new id, from two that had
// each reached the platforms: their lead and MQL stages, and contact 8's
// won deal. The loader, staging (stg_crm__merges), activation_events'
// former_lead_ids and the runner together must send none of those stages
// again under the new id: a platform counts a second conversion, and it
// cannot be taken back.
func TestAMergedContactsStagesAreNotSentAgain(t *testing.T) {
	ctx := context.Background()
	sim := fastHubSpot(t)
	// Contacts 8 and 14 are MQLs created about 30 days ago; deal 1, won, is
	// contact 8's.
	sim.Seed(20, 6, 0)
	sim.SeedAccounts(3, 0, 0, 0)
	wh := openDuck(t)
	// One GA4 event an hour ago, so the export reaches every lead's creation.
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	// Its export table is the event's day, which an hour after midnight is
	// not today's.
	at := now.Add(-time.Hour)
	writeFile(t, dir, "events_"+at.Format("20060102")+".json", aiEvent("999.1", at.Unix(), "", "", ""))
	loader := ga4.NewFileLoader(ga4.Options{ExportDir: dir}, wh, nil)
	if _, err := loader.Load(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	// Rates, so that the won deal's revenue converts and its stage goes out.
	fx := filepath.Join(dir, "fx.csv")
	rateDay := now.AddDate(0, 0, -45).Format("2006-01-02")
	writeFile(t, dir, "fx.csv", "date,from_currency,to_currency,rate", rateDay+",EUR,USD,1.1", rateDay+",GBP,USD,1.3")
	if _, err := spend.Load(ctx, wh, spend.Options{Dir: filepath.Join(dir, "no-spend"), FXRatesFile: fx}, "r1", nil); err != nil {
		t.Fatal(err)
	}
	transformer := wholeProject(t, ctx, wh)
	build := func() {
		t.Helper()
		if _, err := transformer.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
			t.Fatalf("build: %v", err)
		}
	}
	sync := syncer(t, wh, hubspotSource(t, sim))
	dest := &everyStage{sent: map[string][]string{}}
	deliver := func(run string) activation.Report {
		t.Helper()
		r := &activation.Runner{Ledger: activation.NewWarehouseLedger(wh), Events: activation.WarehouseEvents{WH: wh},
			Destinations: []activation.Destination{dest}}
		rep, err := r.Run(ctx, run)
		if err != nil || rep.Err() != nil {
			t.Fatalf("writeback %s: %v %v", run, err, rep.Err())
		}
		return rep
	}

	sync()
	build()
	deliver("w1")
	for _, lead := range []string{"8", "14"} {
		if len(dest.sent[lead]) < 2 {
			t.Fatalf("lead %s was sent %v before the merge, want at least its lead and mql stages", lead, dest.sent[lead])
		}
	}

	person := strconv.FormatInt(sim.Merge("contacts", 14, 8), 10)
	sync()
	build()
	if got := queryStrings(t, wh, `select former_lead_ids from activation_events where lead_id = '`+person+`' group by 1`); len(got) != 1 || got[0] != "14,8" {
		t.Fatalf("the merged contact's former leads %v, want [14,8]", got)
	}
	stages := queryStrings(t, wh, `select stage from activation_events where lead_id = '`+person+`' order by stage`)
	// The merged contact has 14's lead and MQL and, through deal 1, 8's
	// opportunity and won stages.
	if got := strings.Join(stages, " "); got != "lead mql opportunity won" {
		t.Fatalf("the merged contact's stages %q, want lead mql opportunity won", got)
	}
	rep := deliver("w2")
	if sent := dest.sent[person]; len(sent) > 0 {
		t.Errorf("the merged contact %s was sent %v again, of its stages %v", person, sent, stages)
	}
	if n := rep.Destinations[0].Counts[activation.StatusAlreadyDelivered]; n != len(stages) {
		t.Errorf("already delivered %d, want the merged contact's %d stages %v (counts %v)", n, len(stages), stages, rep.Destinations[0].Counts)
	}
}
