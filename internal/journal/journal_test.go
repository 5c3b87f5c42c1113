package journal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type rec struct{ K string }

func reopen(t *testing.T, path string) ([]string, *Journal, error) {
	t.Helper()
	var got []string
	j, err := Open(path, func(_ int, b []byte) error {
		var r rec
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		got = append(got, r.K)
		return nil
	})
	return got, j, err
}

// What one process appends, the next reads back; a torn last line (the
// writer killed mid-write) is cut off and appends go on after the good
// lines; a bad complete line is an error naming it.
func TestJournalOutlivesItsProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.ndjson")
	_, j, err := reopen(t, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := j.Append(rec{k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n" + `{"K":"c`) // a blank line, then a torn one
	f.Close()

	got, j, err := reopen(t, path)
	if err != nil || strings.Join(got, "") != "ab" {
		t.Fatalf("reloaded %v, %v; want a b", got, err)
	}
	j.Append(rec{"d"})
	j.Close()
	if got, _, err = reopen(t, path); err != nil || strings.Join(got, "") != "abd" {
		t.Fatalf("after the torn line was cut: %v, %v; want a b d", got, err)
	}

	os.WriteFile(path, []byte("{\"K\":\"a\"}\nnot json\n"), 0o644)
	if _, _, err := reopen(t, path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad complete line: %v", err)
	}
}

// A stand-in without a file keeps nothing on disk, and says nothing.
func TestNoPathIsNoJournal(t *testing.T) {
	j, err := Open("", nil)
	if j != nil || err != nil {
		t.Fatalf("Open(\"\") = %v, %v", j, err)
	}
	if err := errors.Join(j.Append(rec{"a"}), j.Flush(), j.Close()); err != nil {
		t.Error(err)
	}
}
