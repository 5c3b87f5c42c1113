package models_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/tests/hubspotsim"
	"github.com/sam-attribution/sam/tests/salesforcesim"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
)

// crmProject is the CRM part of the embedded SQL project: the stg_crm__
// models and the macros and seeds they render from.
func crmProject(t testing.TB) *transform.Project {
	t.Helper()
	m := subset(t, func(p string) bool {
		return strings.HasPrefix(p, "staging/stg_crm__") || strings.HasPrefix(p, "macros/") ||
			strings.HasPrefix(p, "seeds/channel_groups.") || strings.HasPrefix(p, "seeds/ga4_source_categories.")
	})
	p, err := transform.LoadProject(m)
	if err != nil {
		t.Fatalf("LoadProject: %v", err)
	}
	return p
}

func hubspotSource(t testing.TB, sim *hubspotsim.Server) *hubspot.Source {
	t.Helper()
	return hubspotSourceWindow(t, sim, 0)
}

// hubspotSourceWindow is hubspotSource re-reading the links of the records
// created within window only.
func hubspotSourceWindow(t testing.TB, sim *hubspotsim.Server, window time.Duration) *hubspot.Source {
	t.Helper()
	src, err := hubspot.NewSource(hubspot.Options{Token: option.Secret(sim.Token()), BaseURL: sim.URL,
		ClientIDProperty: "ga_client_id", GclidProperty: "gclid", RequestsPerWindow: 1000, SearchPerWindow: 1000,
		LinkWindow: window, Overlap: 10 * time.Minute, Objects: []string{"contacts", "deals", "companies", "meetings"},
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Window: 100 * time.Millisecond, SearchWindow: 100 * time.Millisecond,
		Backoff: retry.Policy{Base: time.Millisecond, Cap: 10 * time.Millisecond, Attempts: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// fastHubSpot is a HubSpot simulator whose limits a test never meets.
func fastHubSpot(t testing.TB) *hubspotsim.Server {
	t.Helper()
	sim := hubspotsim.New(hubspotsim.Config{RequestsPerWindow: 1000, Window: 100 * time.Millisecond,
		SearchPerWindow: 1000, SearchWindow: 100 * time.Millisecond, RetryAfter: time.Millisecond})
	t.Cleanup(sim.Close)
	return sim
}

// syncer returns a function that syncs src into wh and stops the test on
// an error.
func syncer(t *testing.T, wh warehouse.Warehouse, src crm.Source) func() {
	return func() {
		t.Helper()
		if _, err := crm.Sync(context.Background(), wh, src, crm.Options{RunID: "test"}); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
}

func rawCounts(t testing.TB, wh warehouse.Warehouse) []string {
	t.Helper()
	return queryStrings(t, wh, `select (select count(*) from raw_crm__deals), (select count(*) from raw_crm__deal_contacts),
		(select count(*) from raw_crm__touches), (select count(*) from raw_crm__leads)`)
}

// HubSpot records a new association without moving either record's
// hs_lastmodifieddate (reported of deals and engagements by users of
// Airbyte's HubSpot connector, whose association streams are full refresh
// for that reason). A deal created before its contact was attached kept no
// lead, and its revenue counted as Unattributed; a meeting logged before its
// attendee was linked kept no lead either.
func TestHubSpotLinksChangedWithoutAnEditReachStaging(t *testing.T) {
	sim := fastHubSpot(t)
	sim.Seed(20, 6, 0)
	sim.SeedAccounts(3, 9, 0, 0) // meeting 9 has no contact
	sim.SetAssociations("deals", 5, "contacts", nil)

	wh := openDuck(t)
	src := hubspotSource(t, sim)
	sync := syncer(t, wh, src)
	sync()
	before := sim.Deals()

	sim.SetAssociations("deals", 5, "contacts", []int64{17})    // a contact attached to a deal created without one
	sim.SetAssociations("deals", 2, "contacts", []int64{11, 3}) // contacts replaced
	sim.SetAssociations("deals", 4, "contacts", nil)            // every contact removed
	sim.SetAssociations("meetings", 9, "contacts", []int64{12}) // the attendee linked after the meeting was logged
	// SeedAccounts puts contact c in company (c-1)%3+1 and each deal in its
	// first contact's company.
	sim.SetAssociations("companies", 2, "contacts", []int64{2, 3, 5, 8, 11, 14, 17, 20}) // contact 3 moves from company 3
	sim.SetAssociations("companies", 3, "contacts", []int64{6, 9, 12, 15, 18})
	sim.SetAssociations("companies", 1, "deals", nil) // company 1 loses its deals
	if after := sim.Deals(); after["5"].Modified != before["5"].Modified {
		t.Fatal("the simulator moved a deal's modification time for an association")
	}
	sync()

	build(t, wh, crmProject(t))
	got := queryStrings(t, wh, `select deal_id, coalesce(lead_id, '-') from stg_crm__deals where deal_id in ('2', '4', '5') order by deal_id`)
	if want := []string{"2|3", "4|-", "5|17"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("deals' leads = %v, want %v", got, want)
	}
	got = queryStrings(t, wh, `select touch_id, coalesce(lead_id, '-') from stg_crm__touches where touch_id = 'meeting:9'`)
	if want := "meeting:9|12"; strings.Join(got, " ") != want {
		t.Errorf("meeting 9 = %v, want %s", got, want)
	}
	got = queryStrings(t, wh, `select object_type || ':' || record_id || '>' || account_id from stg_crm__account_links
		where (object_type = 'lead' and record_id = '3') or (object_type = 'deal' and account_id = '1') order by 1`)
	if want := "lead:3>2"; strings.Join(got, " ") != want {
		t.Errorf("account links = %v, want %s", got, want)
	}

	// A sync that finds every link as loaded writes nothing.
	loaded := rawCounts(t, wh)
	sync()
	if again := rawCounts(t, wh); strings.Join(again, " ") != strings.Join(loaded, " ") {
		t.Errorf("a sync with no change wrote rows: raw counts %v, then %v", loaded, again)
	}
}

// A record deleted for good in Salesforce is read from the delete log as a
// version with nothing but its id, is_deleted and the time: the staging
// models take it over the record's earlier versions, and their data tests
// still pass.
func TestSalesforceDeletionsFromTheDeleteLogReachStaging(t *testing.T) {
	ctx := context.Background()
	sim := salesforcesim.New(salesforcesim.Config{RequestsPerWindow: 1000})
	t.Cleanup(sim.Close)
	sim.Seed(12, 6, 0)
	sim.SeedCampaignMembers(6, 12, 0)
	sim.SeedAccounts(3, 0)
	src, err := salesforce.NewSource(salesforce.Options{InstanceURL: sim.URL, AccessToken: option.Secret(sim.Token()), APIVersion: "v59.0",
		ClientIDField: "GA_Client_ID__c", GclidField: "GCLID__c", CurrencyField: "CurrencyIsoCode", RequestsPerWindow: 1000,
		Overlap: 10 * time.Minute, HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Backoff: retry.Policy{Base: time.Millisecond, Cap: 10 * time.Millisecond, Attempts: 5},
		// Get Deleted ignores seconds: the second sync runs minutes later.
		Now: func() time.Time { return time.Now().Add(2 * time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	wh := openDuck(t)
	sync := syncer(t, wh, src)
	sync()
	// Lead 9 is unconverted; Opportunity 2 is won or open with a contact
	// role and an account; Contact 3 stands for converted Lead 3.
	gone := []string{"00Q000000000009", "006000000000002", "00K000000000002", "003000000000003", "001000000000001"}
	members := queryStrings(t, wh, `select touch_id from raw_crm__touches order by touch_id limit 1`)
	gone = append(gone, members...)
	sim.Purge(gone...)
	// Lead 1, converted into Contact 1, deleted but still in the Recycle
	// Bin: queryAll loads it with its fields, the delete log lists it at
	// the same SystemModstamp.
	sim.Delete("00Q000000000001")
	sync()

	p := crmProject(t)
	build(t, wh, p)
	r := &transform.Runner{WH: wh, Project: p, Vars: transform.Vars{}}
	report, err := r.Test(ctx, transform.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Tests) < 10 {
		t.Errorf("%d data tests ran, want the staging models' (more than 10)", len(report.Tests))
	}
	for _, f := range report.Failed() {
		t.Errorf("data test %s failed: %d rows %v %v", f.Name, f.Failures, f.Rows, f.Err)
	}
	got := queryStrings(t, wh, `select id from (
		select lead_id as id from stg_crm__leads where is_deleted
		union all select deal_id from stg_crm__deals where is_deleted
		union all select touch_id from stg_crm__touches where is_deleted
		union all select account_id from stg_crm__accounts where is_deleted) order by id`)
	want := []string{"001000000000001", "006000000000002", "00Q000000000001", "00Q000000000009"}
	want = append(want, members...)
	slices.Sort(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("deleted in staging: %v, want %v", got, want)
	}
	// Contact 1 is still the converted Lead 1's, not a lead of its own.
	if n := queryStrings(t, wh, `select count(*) from stg_crm__leads where lead_id = '003000000000001'`); n[0] != "0" {
		t.Error("deleting converted Lead 1 made Contact 1 a lead of its own")
	}
	if n := queryStrings(t, wh, `select count(*) from stg_crm__account_links where record_id in ('006000000000002', '003000000000003') or account_id = '001000000000001'`); n[0] != "0" {
		t.Errorf("%s account links of deleted records remain", n[0])
	}
}

// A HubSpot merge makes a new contact and moves the originals' deals,
// meetings and companies to it without editing them; the links streams
// re-read only records created within their window. A deal won a year ago
// kept naming a merged-away (deleted) contact, and its revenue lost its
// lead. Staging now points what names a merged record at the one it was
// merged into.
func TestHubSpotMergesReachRecordsOutsideTheLinkWindow(t *testing.T) {
	sim := fastHubSpot(t)
	// Every record is created about 30 days ago. Deal 1's contact is 8,
	// meeting 1's is 12; contact 8 is in company 2, contact 12 in company 3.
	sim.Seed(20, 6, 0)
	sim.SeedAccounts(3, 9, 0, 0)
	wh := openDuck(t)
	src := hubspotSourceWindow(t, sim, 10*24*time.Hour)
	sync := syncer(t, wh, src)
	sync()
	person := sim.Merge("contacts", 8, 12)
	sync()
	build(t, wh, crmProject(t))

	id := strconv.FormatInt(person, 10)
	if got := queryStrings(t, wh, `select coalesce(lead_id, '-') from stg_crm__deals where deal_id = '1'`); strings.Join(got, "") != id {
		t.Errorf("deal 1's lead %v, want the merged contact %s", got, id)
	}
	if got := queryStrings(t, wh, `select coalesce(lead_id, '-') from stg_crm__touches where touch_id = 'meeting:1'`); strings.Join(got, "") != id {
		t.Errorf("meeting 1's lead %v, want the merged contact %s", got, id)
	}
	got := queryStrings(t, wh, `select record_id || '>' || account_id from stg_crm__account_links
		where object_type = 'lead' and record_id in ('8', '12', '`+id+`') order by 1`)
	if want := id + ">2"; strings.Join(got, " ") != want {
		t.Errorf("account links of the merged contacts %v, want %s", got, want)
	}
}

// stg_crm__merges follows a merge chain when the newest record does not
// list the ids merged before it: A into B, then B into C, is A into C.
func TestMergeChainsLeadToTheNewestRecord(t *testing.T) {
	ctx := context.Background()
	wh := openDuck(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	meta := record.Meta{System: "hubspot", LoadedAt: at, RunID: "r"}
	merges := []record.Merge{
		{ObjectType: record.LinkLead, MergedID: "A", IntoID: "B", ModifiedAt: at},
		{ObjectType: record.LinkLead, MergedID: "B", IntoID: "C", ModifiedAt: at.Add(time.Hour)},
		{ObjectType: record.LinkLead, MergedID: "C", IntoID: "D", ModifiedAt: at.Add(2 * time.Hour)},
		{ObjectType: record.LinkDeal, MergedID: "A", IntoID: "X", ModifiedAt: at},
	}
	var rows [][]any
	for i := range merges {
		rows = append(rows, merges[i].Row(meta))
	}
	if _, err := wh.Load(ctx, warehouse.LoadRequest{Table: record.MergesTable, Schema: record.MergesSchema,
		Mode: warehouse.Append, Rows: warehouse.NewSliceRows(rows)}); err != nil {
		t.Fatal(err)
	}
	m := subset(t, func(p string) bool { return p == "staging/stg_crm__merges.sql" || strings.HasPrefix(p, "macros/") })
	p, err := transform.LoadProject(m)
	if err != nil {
		t.Fatal(err)
	}
	build(t, wh, p)
	got := queryStrings(t, wh, `select object_type || ' ' || merged_id || '>' || into_id from stg_crm__merges order by 1`)
	if want := "deal A>X,lead A>D,lead B>D,lead C>D"; strings.Join(got, ",") != want {
		t.Errorf("merges %v, want %s", got, want)
	}
}
