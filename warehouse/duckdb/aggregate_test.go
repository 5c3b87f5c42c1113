package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// TestGroupByOnTwoThreadsUnderMemoryPressure guards against a defect of
// DuckDB 1.4.3's parallel hash aggregate on one or two threads: when memory
// pressure sent one thread's hash table out of core and not the other's,
// Combine merged partitions cut by different numbers of radix bits. The
// GROUP BY then either failed with "INTERNAL Error: Attempted to
// dereference unique_ptr that is NULL", which invalidates the whole
// database, or silently returned wrong groups. It failed a 10M-event
// transform in unique(stg_ga4__events.event_key) while other models ran.
// On 1.4.3, with the version check taken out, this test crashed the process
// (SIGSEGV in duckdb_execute_pending) in 5 of 5 runs; an earlier form of it
// hit the internal error twice and once counted 4 repeated keys of 1,000.
// DuckDB 1.4.4 fixed it (duckdb/duckdb pull request 20357: the last
// repartition in Combine is forced whatever the thread count).
func TestGroupByOnTwoThreadsUnderMemoryPressure(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "agg.duckdb"), Options{MemoryLimit: "400MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	version := fmt.Sprint(queryOne(t, db, "SELECT version()"))
	if !atLeast(version, 1, 4, 4) {
		t.Fatalf("DuckDB %s: hash aggregates on two threads may fail or go wrong under memory pressure before 1.4.4", version)
	}

	// 4M distinct keys, of which 1,000 are there twice; a second query
	// groups 3M keys at the same time and takes memory from the first.
	mustExec(t, db, "CREATE TABLE keyed AS SELECT md5(CAST(range AS VARCHAR)) AS k FROM range(4000000)")
	mustExec(t, db, "INSERT INTO keyed SELECT md5(CAST(range AS VARCHAR)) FROM range(1000)")
	mustExec(t, db, "CREATE TABLE other AS SELECT range % 3000000 AS g, range AS v FROM range(6000000)")
	const rounds = 8
	completed := 0
	for round := range rounds {
		var (
			wg              sync.WaitGroup
			repeated        string
			errKeys, errOth error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			repeated, errKeys = queryString(ctx, db, "SELECT count(*) FROM (SELECT hash(k) FROM keyed GROUP BY 1 HAVING count(*) > 1)")
		}()
		go func() {
			defer wg.Done()
			// Staggered, so the pressure arrives at a different point of
			// the first query's build each round.
			time.Sleep(time.Duration(round) * 40 * time.Millisecond)
			_, errOth = queryString(ctx, db, "SELECT count(*) FROM (SELECT g, sum(v) FROM other GROUP BY g)")
		}()
		wg.Wait()
		for _, err := range []error{errKeys, errOth} {
			if err != nil && !strings.Contains(err.Error(), "Out of Memory") {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if errKeys != nil {
			continue
		}
		completed++
		if repeated != "1000" {
			t.Fatalf("round %d: %s repeated keys, want 1000", round, repeated)
		}
	}
	if completed < rounds/2 {
		t.Fatalf("the aggregate ran out of memory in %d of %d rounds; the test checks too little", rounds-completed, rounds)
	}
}

func queryString(ctx context.Context, db *DB, q string) (string, error) {
	rows, err := db.Query(ctx, q)
	if err != nil {
		return "", err
	}
	out, err := warehouse.CollectRows(rows)
	if err != nil {
		return "", err
	}
	return warehouse.Format(out[0][0]), nil
}

// atLeast reports whether a version like "v1.4.5" is at least
// major.minor.patch.
func atLeast(version string, major, minor, patch int) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) != 3 {
		return false
	}
	want := []int{major, minor, patch}
	for i, p := range parts {
		// "0-dev123": the leading digits
		if end := strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }); end >= 0 {
			p = p[:end]
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}
