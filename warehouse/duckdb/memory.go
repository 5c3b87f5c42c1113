package duckdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Where a memory limit came from.
const (
	MemoryFromOption  = "option"  // Options.MemoryLimit
	MemoryFromCgroup  = "cgroup"  // the container's cgroup limit
	MemoryFromMachine = "machine" // physical memory (/proc/meminfo)
	MemoryFromDuckDB  = "duckdb"  // nothing readable: DuckDB's own default
)

// defaultMemoryPercent is the share of the available memory DuckDB gets when
// no limit is configured, up to defaultMemoryCeiling. DuckDB's memory_limit
// bounds its buffer manager only: the Go heap (parsed GA4 files, appender
// batches, result rows), DuckDB allocations outside the buffer pool and the
// thread stacks come on top, and a container that exceeds its cgroup limit
// is killed rather than slowed (Cloud Run sets that limit). DuckDB's own
// default of 80 % of the machine leaves too little for the rest; 60 % keeps
// 40 % for them and makes DuckDB spill to disk sooner instead.
const defaultMemoryPercent = 60

// defaultMemoryCeiling caps the default on large machines, so that every
// stage stays under 2 GiB of RSS however much memory the machine has
// (issue 19's target). Measured on the transform stage at 1M GA4 events
// (DuckDB 1.4, 2 cores): RSS was the limit plus 0.15–0.2 GiB (1 GiB →
// 1.18 GiB, 1.5 GiB → 1.66 GiB), and the stage was no slower at 1 GiB
// than with 14 GiB, the excess spilling to the temp directory. Not every
// operator spills, though: stg_ga4__sessions' first-row aggregates hold
// their states in memory, so its full build goes 30 days at a time
// (full_build_window_days). At 10,053,290 events over a year that needs
// 250–300MB (fails at 250MB, builds at 300MB); the year in one query
// needed 1050MB (fails at 1GB). DuckDB's memory outside its limit grows
// with the data, though: at 13.3M events a full transform peaked at 2,026
// MiB of RSS with a 1.25 GiB ceiling, most of it while stg_ga4__events
// removes its copies, and at 1,713 MiB with 1 GiB, 3 % slower (102.1 s
// against 98.7 s). 1 GiB leaves 1 GiB for that and the GA4 loader's Go
// heap. A month of a
// property with about 100M events a year holds about what that year of 10M
// did in one query; beyond that SAM_DUCKDB_MEMORY_LIMIT needs raising (an
// estimate, not measured).
// Set SAM_DUCKDB_MEMORY_LIMIT to give DuckDB more on a machine that has it.
const defaultMemoryCeiling = 1 << 30

// noLimit is above any real memory size: cgroup v1 reports "unlimited" as
// a page-rounded 2^63-1, and a read above this means no container limit.
const noLimit = 1 << 60

// The files read to size the default limit, relative to the root of
// Options.SystemFS.
const (
	cgroupV2Max   = "sys/fs/cgroup/memory.max"
	cgroupV1Limit = "sys/fs/cgroup/memory/memory.limit_in_bytes"
	procMeminfo   = "proc/meminfo"
)

// MemoryLimit is the memory cap DuckDB runs with and where it came from.
type MemoryLimit struct {
	// Setting is the value given to DuckDB's memory_limit ("" for DuckDB's
	// default).
	Setting string
	// Bytes is the limit in bytes; 0 when Source is MemoryFromOption or
	// MemoryFromDuckDB.
	Bytes int64
	// Source is one of the MemoryFrom constants.
	Source string
	// Available is the memory the default was computed from (the smaller
	// of the cgroup limit and physical memory); 0 when none was read.
	Available int64
	// Capped reports that the default is defaultMemoryCeiling rather than
	// a share of Available.
	Capped bool
}

// String is the limit as a person reads it, e.g. "1.2 GiB" or "4GB".
func (m MemoryLimit) String() string {
	switch {
	case m.Bytes > 0:
		return formatBytes(m.Bytes)
	case m.Setting != "":
		return m.Setting
	}
	return "DuckDB default (80% of the machine)"
}

// defaultMemoryLimit computes the memory limit when none is configured:
// defaultMemoryPercent of the smaller of the cgroup's memory limit (v2,
// else v1) and physical memory, at most defaultMemoryCeiling. fsys is the root filesystem. Only the
// cgroup files at the mount root are read: inside a container, which has
// its own cgroup namespace, that is the container's own limit; on a host
// they are absent and physical memory decides.
func defaultMemoryLimit(fsys fs.FS) (MemoryLimit, error) {
	machine, err := readMemTotal(fsys)
	if err != nil {
		return MemoryLimit{}, err
	}
	cgroup, err := readCgroupLimit(fsys)
	if err != nil {
		return MemoryLimit{}, err
	}
	avail, source := machine, MemoryFromMachine
	if cgroup > 0 && (machine == 0 || cgroup < machine) {
		avail, source = cgroup, MemoryFromCgroup
	}
	if avail == 0 {
		return MemoryLimit{Source: MemoryFromDuckDB}, nil
	}
	limit := avail / 100 * defaultMemoryPercent
	capped := limit > defaultMemoryCeiling
	if capped {
		limit = defaultMemoryCeiling
	}
	// Whole MiB: DuckDB's notation has no fractions of a unit in bytes.
	mib := limit >> 20
	if mib < 1 {
		mib = 1
	}
	return MemoryLimit{
		Setting:   strconv.FormatInt(mib, 10) + "MiB",
		Bytes:     mib << 20,
		Source:    source,
		Available: avail,
		Capped:    capped,
	}, nil
}

// readCgroupLimit returns the cgroup memory limit in bytes, or 0 when there
// is none: no cgroup file, "max" (v2) or a value too large to be real (v1).
func readCgroupLimit(fsys fs.FS) (int64, error) {
	for _, name := range []string{cgroupV2Max, cgroupV1Limit} {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("duckdb: read the memory limit of the cgroup: %w", err)
		}
		s := string(bytes.TrimSpace(b))
		if s == "max" {
			return 0, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duckdb: /%s holds %q, not a byte count", name, s)
		}
		if n == 0 || n >= noLimit {
			return 0, nil
		}
		return int64(n), nil
	}
	return 0, nil
}

// readMemTotal returns physical memory in bytes from /proc/meminfo, or 0
// when the file is absent (not Linux).
func readMemTotal(fsys fs.FS) (int64, error) {
	b, err := fs.ReadFile(fsys, procMeminfo)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("duckdb: read physical memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("duckdb: /%s: unexpected MemTotal line %q", procMeminfo, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 || kb >= noLimit>>10 {
			return 0, fmt.Errorf("duckdb: /%s: unexpected MemTotal line %q", procMeminfo, sc.Text())
		}
		return kb << 10, nil
	}
	return 0, nil
}

// spillDir returns DuckDB's temp_directory for the database at path: next
// to the file, as DuckDB itself would name it, or a fresh private directory
// under os.TempDir for an in-memory database (removed on Close). Spilled
// pages hold CRM data, so the directory is made owner-only.
func spillDir(path string) (dir string, owned bool, err error) {
	if path == "" {
		dir, err := os.MkdirTemp("", "sam-duckdb-spill-")
		if err != nil {
			return "", false, fmt.Errorf("duckdb: create spill directory: %w", err)
		}
		return dir, true, nil
	}
	dir = path + ".tmp"
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", false, fmt.Errorf("duckdb: create spill directory: %w", err)
	}
	return dir, false, nil
}

func formatBytes(n int64) string {
	const gib, mib = 1 << 30, 1 << 20
	if n >= gib {
		return strconv.FormatFloat(float64(n)/gib, 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/mib, 'f', 0, 64) + " MiB"
}
