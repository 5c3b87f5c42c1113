package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/writeback"
)

func sam(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"query", "--format", "xml", "SELECT 1"},
		{"compile", "--dialect", "postgres"},
		{"writeback", "--validate", "--dry-run"},
		{"schedule", "not a cron"},
		{"generate", "--days", "0"},
	}
	for _, args := range cases {
		if code, _, _ := sam(t, args...); code != exitUsage {
			t.Errorf("sam %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestBadConfigurationFailsBeforeWorkNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(dir, "sam.duckdb"))
	t.Setenv("SAM_ATTRIBUTION_WINDOW_DAYS", "-3")
	code, _, errOut := sam(t, "run")
	if code != exitUsage || !strings.Contains(errOut, "SAM_ATTRIBUTION_WINDOW_DAYS") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Fatalf("no work may start on bad configuration; found %v", matches)
	}
}

func TestQueryPrintsCSV(t *testing.T) {
	t.Setenv("SAM_DUCKDB_PATH", filepath.Join(t.TempDir(), "sam.duckdb"))
	code, out, errOut := sam(t, "query", "--format", "csv", "SELECT 1 AS n, 'a,b' AS s")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "n,s\n1,\"a,b\"\n" {
		t.Fatalf("csv output %q", out)
	}
}

func TestConfigAndVersion(t *testing.T) {
	code, out, _ := sam(t, "config")
	if code != exitOK || !strings.Contains(out, "`SAM_ENGINE`") {
		t.Fatalf("config: exit %d, %q", code, out)
	}
	code, out, _ = sam(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "sam ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestUnknownWritebackOutcomesExitNonZeroNamingTheReleaseCommand(t *testing.T) {
	err := fmt.Errorf("stage writeback: %w", &writeback.UnknownOutcomeError{RunID: "r1", Keys: []string{"k1", "k2"}})
	var stderr bytes.Buffer
	if code := exitCode(&stderr, err); code != exitFailed {
		t.Errorf("exit code %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"2 event(s) have an unknown outcome", "sam writeback --release"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not say %q", stderr.String(), want)
		}
	}
}
