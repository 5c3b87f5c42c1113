package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/sam-attribution/sam/warehouse"
)

// meminfo is /proc/meminfo of a machine with 8 GiB.
const meminfo = "MemTotal:        8388608 kB\nMemFree:         1000000 kB\n"

func TestDefaultMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name   string
		files  map[string]string
		source string
		avail  int64
	}{
		{"cgroup v2 with a limit", map[string]string{cgroupV2Max: "2147483648\n", procMeminfo: meminfo}, MemoryFromCgroup, 2 * gib},
		{"cgroup v2 max", map[string]string{cgroupV2Max: "max\n", procMeminfo: meminfo}, MemoryFromMachine, 8 * gib},
		{"cgroup v1 with a limit", map[string]string{cgroupV1Limit: "1073741824\n", procMeminfo: meminfo}, MemoryFromCgroup, 1 * gib},
		{"cgroup v1 unlimited", map[string]string{cgroupV1Limit: "9223372036854771712\n", procMeminfo: meminfo}, MemoryFromMachine, 8 * gib},
		{"cgroup above the machine", map[string]string{cgroupV2Max: "17179869184\n", procMeminfo: meminfo}, MemoryFromMachine, 8 * gib},
		{"no cgroup", map[string]string{procMeminfo: meminfo}, MemoryFromMachine, 8 * gib},
		{"nothing readable", map[string]string{}, MemoryFromDuckDB, 0},
		{"large machine: the ceiling", map[string]string{procMeminfo: "MemTotal:       67108864 kB\n"}, MemoryFromMachine, 64 * gib},
		{"large cgroup: the ceiling", map[string]string{cgroupV2Max: "8589934592\n", procMeminfo: "MemTotal:       67108864 kB\n"}, MemoryFromCgroup, 8 * gib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, err := defaultMemoryLimit(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != tt.source || got.Available != tt.avail {
				t.Fatalf("got %+v, want source %s from %d bytes", got, tt.source, tt.avail)
			}
			want := min(tt.avail/100*defaultMemoryPercent>>20<<20, defaultMemoryCeiling)
			if got.Bytes != want {
				t.Errorf("Bytes = %d, want %d", got.Bytes, want)
			}
			if got.Capped != (want == defaultMemoryCeiling) {
				t.Errorf("Capped = %v with %d of %d bytes", got.Capped, got.Bytes, got.Available)
			}
			if want > 0 && got.Setting != fmt.Sprintf("%dMiB", want>>20) {
				t.Errorf("Setting = %q", got.Setting)
			}
		})
	}
}

func TestDefaultMemoryLimitCeiling(t *testing.T) {
	got, err := defaultMemoryLimit(fstest.MapFS{procMeminfo: {Data: []byte("MemTotal:       24576000 kB\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Setting != "1024MiB" || got.String() != "1.0 GiB" || !got.Capped {
		t.Errorf("a 23 GiB machine gets %+v (%s), want the 1 GiB ceiling", got, got)
	}
}

func TestDefaultMemoryLimitRefusesGarbage(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"cgroup":  {cgroupV2Max: {Data: []byte("lots\n")}},
		"meminfo": {procMeminfo: {Data: []byte("MemTotal: 8 GB\n")}},
	} {
		if _, err := defaultMemoryLimit(fsys); err == nil {
			t.Errorf("%s: a file that is not a size must be refused", name)
		}
	}
}

func currentSetting(t *testing.T, db *DB, name string) string {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT current_setting('"+name+"')")
	if err != nil {
		t.Fatal(err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(all[0][0])
}

func TestOpenAppliesDefaultMemoryLimit(t *testing.T) {
	ctx := context.Background()
	sys := fstest.MapFS{
		cgroupV2Max: {Data: []byte("1073741824\n")},
		procMeminfo: {Data: []byte(meminfo)},
	}
	path := filepath.Join(t.TempDir(), "sam.duckdb")
	db, err := Open(ctx, path, Options{SystemFS: sys})
	if err != nil {
		t.Fatal(err)
	}
	ml := db.MemoryLimit()
	if ml.Source != MemoryFromCgroup || ml.Setting != "614MiB" || ml.String() != "614 MiB" {
		t.Errorf("MemoryLimit() = %+v (%s), want 614MiB from cgroup", ml, ml)
	}
	if got := currentSetting(t, db, "memory_limit"); got != "614.0 MiB" {
		t.Errorf("memory_limit = %q, want 614.0 MiB", got)
	}
	if got := currentSetting(t, db, "temp_directory"); got != path+".tmp" {
		t.Errorf("temp_directory = %q, want %s", got, path+".tmp")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the empty spill directory was left behind: %v", err)
	}
}

func TestOpenInMemorySpillsUnderTempDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	db, err := Open(context.Background(), "", Options{MemoryLimit: "1GB", SystemFS: fstest.MapFS{}})
	if err != nil {
		t.Fatal(err)
	}
	if ml := db.MemoryLimit(); ml.Source != MemoryFromOption || ml.String() != "1GB" {
		t.Errorf("MemoryLimit() = %+v, want 1GB from the option", ml)
	}
	dir := currentSetting(t, db, "temp_directory")
	if filepath.Dir(dir) != os.TempDir() {
		t.Errorf("temp_directory = %q, want a directory in %s", dir, os.TempDir())
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("spill directory %s: %v, %v; want mode 0700", dir, fi, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the spill directory was left behind: %v", err)
	}
}

// jemalloc keeps what DuckDB's threads free until a task has allocated
// allocator_flush_threshold (128 MiB by default) or something purges it.
// At 10M GA4 events the transform stage's RSS peaked at 1,830–2,387 MiB in
// seven runs with the defaults (stg_ga4__sessions, 1.2 GiB memory limit),
// and at 1,776–1,830 MiB in eight with a 32 MiB threshold and jemalloc's
// background purging threads.
func TestOpenReturnsFreedMemorySooner(t *testing.T) {
	db, err := Open(context.Background(), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := currentSetting(t, db, "allocator_flush_threshold"); got != "32.0 MiB" {
		t.Errorf("allocator_flush_threshold = %q, want 32.0 MiB", got)
	}
	if got := currentSetting(t, db, "allocator_background_threads"); got != "true" {
		t.Errorf("allocator_background_threads = %q, want true", got)
	}
}
