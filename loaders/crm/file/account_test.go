package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

func TestAccountsAndAccountColumns(t *testing.T) {
	d := t.TempDir()
	files := map[string]string{
		"accounts.csv": "account_id,name,domain,industry,created_at,updated_at,is_deleted\n" +
			"A1,Globex,globex.example,Manufacturing,2024-03-01T10:00:00Z,2024-03-02T10:00:00Z,false\n" +
			"A2,Initech,initech.example,,2024-03-01T10:00:00Z,,true\n" +
			",No Id,noid.example,,2024-03-01T10:00:00Z,,false\n",
		"leads.csv": "lead_id,created_at,email,account_id\n" +
			"L1,2024-03-01T10:00:00Z,ann@globex.example,A1\n" +
			"L2,2024-03-01T11:00:00Z,bob@gmail.example,\n",
		"deals.csv": "deal_id,lead_id,created_at,amount,currency,account_id\n" +
			"D1,L1,2024-03-03T10:00:00Z,100.00,USD,A1\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(d, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newRun(t, d, 1000)
	c, err := r.sync(t)
	if err != nil {
		t.Fatal(err)
	}
	// 2 accounts + 2 leads + 1 deal loaded; the account without an id rejected.
	if c.Loaded != 5 || c.Rejected != 1 || c.Read != 6 {
		t.Errorf("counts = %+v, want read 6 = loaded 5 + rejected 1", c)
	}
	accounts := r.wh.Latest(record.AccountsTable, "account_id")
	if len(accounts) != 2 || accounts["A1"].Get("domain") != "globex.example" || accounts["A2"].Get("is_deleted") != true {
		t.Errorf("accounts = %v", accounts)
	}
	links := r.wh.Latest(record.AccountLinksTable, "link_id")
	want := map[string]any{"lead:L1": "A1", "lead:L2": nil, "deal:D1": "A1"}
	if len(links) != len(want) {
		t.Errorf("links = %v, want %v", links, want)
	}
	for id, acc := range want {
		if got := links[id].Get("account_id"); got != acc {
			t.Errorf("link %s account = %v, want %v", id, got, acc)
		}
	}

	// Files without the account_id column link nothing.
	r = newRun(t, dir(t, "leads.csv", "deals.csv"), 1000)
	if _, err := r.sync(t); err != nil {
		t.Fatal(err)
	}
	if tb := r.wh.Table(record.AccountLinksTable); tb != nil && tb.Count != 0 {
		t.Errorf("%d account links from files without account_id", tb.Count)
	}
}
