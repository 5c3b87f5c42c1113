package crmfiles_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// onlyCRMFiles empties the generated CRM folder and returns its path.
func onlyCRMFiles(t *testing.T, w *samtest.Workspace) string {
	t.Helper()
	crm := w.Path("data/crm")
	if err := os.RemoveAll(crm); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(crm, 0o755); err != nil {
		t.Fatal(err)
	}
	return crm
}

// A later export with only a few of the columns (here lead_id, updated_at,
// lifecycle_stage) loaded a version in which every other column was NULL:
// L1 lost its created_at, email hash, client id and gclid, and, without
// created_at, failed the models of every lead. The narrower file is now
// one reject, and L1 keeps what it had.
func TestAnExportOfFewerColumnsKeepsWhatItDoesNotName(t *testing.T) {
	w := samtest.New(t, samBin)
	w.Generate(2, 0, 7)
	crm := onlyCRMFiles(t, w)
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(crm+"/leads.csv", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lead_id,created_at,updated_at,email,ga_client_id,gclid,lifecycle_stage\n" +
		"L1,2024-03-01T10:00:00Z,2024-03-01T10:00:00Z,a@example.com,123.456,gclid-abc,lead\n")
	w.MustRun("run", "--stages", "load_crm")
	write("lead_id,updated_at,lifecycle_stage\nL1,2024-03-03T10:00:00Z,mql\n")
	w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend,transform")

	db := w.Open()
	defer db.Close()
	got := samtest.QueryStrings(t, db, `SELECT concat_ws('|', lifecycle_stage, strftime(created_at, '%Y-%m-%d'), email_sha256 IS NOT NULL, ga_client_id, gclid)
		FROM stg_crm__leads WHERE lead_id = 'L1'`)
	if want := "lead|2024-03-01|true|123.456|gclid-abc"; len(got) != 1 || got[0] != want {
		t.Errorf("L1 in stg_crm__leads %v, want %s", got, want)
	}
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM load_rejects WHERE object = 'leads.csv' AND reason LIKE '%lacks column(s) created_at, email, ga_client_id, gclid%'`); n != 1 {
		t.Errorf("%d rejects name the columns the narrower export lacks, want 1", n)
	}
}

// One lead row without created_at loaded, and failed
// not_null(int_lead_stages.created_at): 21 models, activation_events among
// them, went unbuilt for every lead.
func TestALeadWithoutCreatedAtDoesNotStopTheRun(t *testing.T) {
	w := samtest.New(t, samBin)
	w.Generate(2, 0, 7)
	path := w.Path("data/crm/leads.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(b), "\n")
	cols := strings.Split(header, ",")
	row := make([]string, len(cols))
	for i, c := range cols {
		switch c {
		case "lead_id":
			row[i] = "L-NO-CREATED"
		case "updated_at":
			row[i] = "2026-12-01T10:00:00Z"
		case "email":
			row[i] = "nocreated@example.com"
		case "lifecycle_stage":
			row[i] = "lead"
		}
	}
	text := strings.TrimRight(string(b), "\n") + "\n" + strings.Join(row, ",") + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend,transform")
	db := w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM load_rejects WHERE object = 'leads.csv' AND reason LIKE 'created_at is empty%'`); n != 1 {
		t.Errorf("%d rejects say the lead has no created_at, want 1", n)
	}
}
