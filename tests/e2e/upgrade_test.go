package e2e_test

import (
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// A warehouse loaded by a SAM that had no raw_crm__merges: the staging
// models that read it failed on `sam transform`, and with them everything
// down to activation_events, until the next CRM load created the table. The
// transform now creates, empty, a raw CRM table a later SAM adds, once the
// CRM has been loaded. (`sam plan` writes nothing, and still calls those
// models' source not loaded.)
func TestATransformAfterAnUpgradeFindsTheNewCRMTable(t *testing.T) {
	w := newWorkspace(t, 3)
	w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend")
	db := w.Open()
	if _, err := db.Exec(t.Context(), "DROP TABLE raw_crm__merges"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if stdout, stderr, err := w.Run("transform"); err != nil {
		t.Fatalf("sam transform after the upgrade: %v\n%s\n%s", err, samtest.Tail(stdout, 20), samtest.Tail(stderr, 20))
	}
}
