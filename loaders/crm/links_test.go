package crm_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/record"
)

// Two versions of touch t1 with the same updated_at, loaded in one batch,
// link it to different leads. The link log must see the version staging
// keeps (crm_latest_version breaks the tie on version_hash), in whichever
// order the rows were loaded, or a link refresh compares the CRM with a
// version staging does not hold.
func TestLinkLogBreaksTiesAsStagingDoes(t *testing.T) {
	rows := []string{
		"t1,L1,2024-03-01T10:00:00Z,webinar,2024-03-02T10:00:00Z",
		"t1,L2,2024-03-01T10:00:00Z,webinar,2024-03-02T10:00:00Z",
	}
	var picks []string
	for _, order := range [][]string{rows, {rows[1], rows[0]}} {
		ctx := t.Context()
		db := openDuck(t)
		dir := t.TempDir()
		text := "touch_id,lead_id,touched_at,type,updated_at\n" + order[0] + "\n" + order[1] + "\n"
		if err := os.WriteFile(filepath.Join(dir, "offline_touches.csv"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := file.New(file.Options{Dir: dir, Overlap: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crm.Sync(ctx, db, src, crm.Options{RunID: "r1"}); err != nil {
			t.Fatal(err)
		}
		// Staging's pick: the smaller version_hash of the tie.
		want := query(t, db, "SELECT lead_id FROM "+record.TouchesTable+" ORDER BY version_hash LIMIT 1")[0][0]
		links, err := crm.NewLinkLog(db).Loaded(ctx, "file", record.LinkedTouchesOf("webinar"))
		if err != nil {
			t.Fatal(err)
		}
		if got := links["t1"]; !slices.Equal(got, []string{want.(string)}) {
			t.Errorf("rows in the order %v: the link log has t1 → %v, staging keeps %v", order, got, want)
		}
		picks = append(picks, links["t1"]...)
	}
	if len(picks) == 2 && picks[0] != picks[1] {
		t.Errorf("the link log picked %s, then %s with the rows reversed", picks[0], picks[1])
	}
}
