package duckdb

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newFile creates a database at path, closes it and gives it mode.
func newFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (x BIGINT)")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestOpenKeepsModeOfExistingFile is issue 15 item 15: an existing database
// keeps the mode its owner gave it, through open, writes and close; only a
// file SAM creates gets 0600. A file others can read is worth a warning.
func TestOpenKeepsModeOfExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.duckdb")
	newFile(t, path, 0o640)
	var logs bytes.Buffer
	db, err := Open(context.Background(), path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	if got := perm(t, path); got != 0o640 {
		t.Errorf("mode after a write = %v, want 0640 (the owner's choice)", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := perm(t, path); got != 0o640 {
		t.Errorf("mode after Close = %v, want 0640", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "readable by other users") {
		t.Errorf("no warning that the file is readable by others; logs:\n%s", logs.String())
	}

	private := filepath.Join(t.TempDir(), "private.duckdb")
	newFile(t, private, 0o600)
	logs.Reset()
	db, err = Open(context.Background(), private, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warning for an owner-only file:\n%s", logs.String())
	}
}

// TestOpenLeavesReadOnlyFileReadOnly: a database made read-only on purpose is
// never made writable by opening it. (Whether the open itself succeeds
// depends on the user: root may write to it anyway.)
func TestOpenLeavesReadOnlyFileReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frozen.duckdb")
	newFile(t, path, 0o400)
	db, err := Open(context.Background(), path, Options{})
	if err == nil {
		db.Close()
	}
	if got := perm(t, path); got != 0o400 {
		t.Errorf("mode = %v, want 0400 (read-only on purpose); open error: %v", got, err)
	}
}
