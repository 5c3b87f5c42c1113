package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// A dashboard mart that nothing in activation reads failed the transform
// stage, and the pipeline skipped the test and writeback stages. On the
// embedded engine, with no hourly writeback job, no conversion reached any
// platform until someone mended the dashboard, and GA4 takes events no
// older than 72 hours. The run still fails, naming the mart.
func TestABrokenDashboardMartDoesNotStopWriteback(t *testing.T) {
	w := newWorkspace(t, 7)
	models := useProjectCopy(t, w)
	broken := `/*
description: a dashboard mart with a typo in a column name
materialized: table
*/
select deal_id, owner_name from {{ ref "stg_crm__deals" }}
`
	if err := os.WriteFile(filepath.Join(models, "marts", "dashboard_deals_by_owner.sql"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	// A check of the mart against revenue reads an input of activation
	// too; with the mart not built it cannot run, and says nothing about
	// that input. It stopped writeback as an error ("not built").
	check := `/*
description: every deal on the dashboard is a deal SAM knows
*/
select b.deal_id from {{ ref "dashboard_deals_by_owner" }} as b
where b.deal_id not in (select deal_id from {{ ref "stg_crm__deals" }})
`
	if err := os.WriteFile(filepath.Join(models, "tests", "dashboard_deals_are_known.sql"), []byte(check), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := w.Run("run")
	if err == nil {
		t.Fatalf("sam run succeeded with a broken mart:\n%s", samtest.Tail(stdout, 30))
	}
	if !strings.Contains(stdout+stderr, "dashboard_deals_by_owner") {
		t.Errorf("the run's failure does not name the broken mart:\n%s\n%s", samtest.Tail(stdout, 30), samtest.Tail(stderr, 30))
	}
	db := w.Open()
	defer db.Close()
	got := samtest.QueryStrings(t, db, `SELECT stage || ' ' || status FROM sam_run_ledger
		WHERE status <> 'running' AND stage IN ('transform', 'test', 'writeback') ORDER BY started_at`)
	if want := "transform failed,test succeeded,writeback succeeded"; strings.Join(got, ",") != want {
		t.Errorf("stages %v, want %s", got, want)
	}
	detail := samtest.QueryStrings(t, db, `SELECT detail FROM sam_run_ledger WHERE stage = 'test' AND status = 'succeeded'`)
	if len(detail) != 1 || !strings.Contains(detail[0], "not run: the transform stage failed a model they read (tests/dashboard_deals_are_known)") {
		t.Errorf("the test stage's detail %q does not name the check it could not run", detail)
	}
	if sent := samtest.QueryInt(t, db, `SELECT count(*) FROM raw_writeback__send_log WHERE status = 'sent'`); sent == 0 {
		t.Error("nothing reached GA4")
	}
}
