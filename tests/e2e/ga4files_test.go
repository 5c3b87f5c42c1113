package e2e_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// TestGA4EventOfAnotherDateBuildsAlikeBothWays files an event of the first
// export day into the newest day's file (issue 15, item 6). An incremental
// build used to drop it and a full refresh to keep it; both builds must
// give the same tables.
func TestGA4EventOfAnotherDateBuildsAlikeBothWays(t *testing.T) {
	w := samtest.New(t, samBin)
	w.Generate(6, 300, 7)
	stages := "load_ga4,load_crm,load_spend,transform"
	w.MustRun("run", "--stages", stages)

	dir := w.Path("data/ga4")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "events_") && strings.HasSuffix(e.Name(), ".json") {
			days = append(days, e.Name())
		}
	}
	sort.Strings(days)
	if len(days) < 5 {
		t.Fatalf("export files %v", days)
	}
	first, err := os.Open(filepath.Join(dir, days[0]))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(first)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("%s is empty: %v", days[0], sc.Err())
	}
	// A new event (its own name, so no deduplication hides it) of the first
	// day, outside the incremental window, in the newest day's file.
	stray := strings.Replace(sc.Text(), `"event_name":"`, `"event_name":"stray_`, 1)
	first.Close()
	f, err := os.OpenFile(filepath.Join(dir, days[len(days)-1]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(stray + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	w.MustRun("run", "--stages", "load_ga4,transform")
	db := w.Open()
	incremental := samtest.Checksums(t, db, "stg_ga4")
	rejects := samtest.QueryStrings(t, db, `SELECT object || ': ' || reason FROM load_rejects WHERE source = 'ga4'`)
	db.Close()
	w.MustRun("transform", "--full-refresh")
	db = w.Open()
	full := samtest.Checksums(t, db, "stg_ga4")
	db.Close()

	if len(full) == 0 {
		t.Fatal("no stg_ga4 models")
	}
	for name, sum := range full {
		if incremental[name] != sum {
			t.Errorf("%s: incremental build %s, full refresh %s", name, incremental[name], sum)
		}
	}
	if len(rejects) != 1 || !strings.Contains(rejects[0], "is not the table's day") {
		t.Errorf("ga4 rejects %v, want the stray event with its reason", rejects)
	}
}
