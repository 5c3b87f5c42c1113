// Package quickstart_test runs the README's quick start as written, in a
// clean copy of the repository, so the two commands a newcomer types keep
// working.
package quickstart_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// quickStart returns the commands of the first sh block under "## Quick start".
func quickStart(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "## Quick start")
	if i < 0 {
		t.Fatal("README has no Quick start section")
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(s[i:])
	if block == nil {
		t.Fatal("Quick start has no sh block")
	}
	var cmds []string
	for _, line := range strings.Split(block[1], "\n") {
		if c, _, _ := strings.Cut(line, "#"); strings.TrimSpace(c) != "" {
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	return cmds
}

func TestQuickStartIsTwoCommands(t *testing.T) {
	cmds := quickStart(t)
	if strings.Join(cmds, "|") != "make run|make test" {
		t.Fatalf("the quick start should be exactly `make run` and `make test`, is %q", cmds)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^make test$`).Match(ci) {
		t.Fatalf(".ci/run must run make test:\n%s", ci)
	}
}

// TestMakeRunInCleanCopy runs `make run` as written in a copy of the
// tracked files (what a clean clone holds), with no SAM_ variables.
func TestMakeRunInCleanCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo pipeline")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "run")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAM_") && !strings.HasPrefix(kv, "MAKEFLAGS") && !strings.HasPrefix(kv, "MAKELEVEL") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("make run: %v\n%s", err, tail(out.String()))
	}
	text := out.String()
	for _, want := range []string{"attribution model last_non_direct", "attribution model markov", "report written to"} {
		if !strings.Contains(text, want) {
			t.Errorf("make run output lacks %q:\n%s", want, tail(text))
		}
	}
	for _, f := range []string{"sam.duckdb", "report.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("make run should leave %s: %v", f, err)
		}
	}
}

func tail(s string) string {
	if len(s) > 6000 {
		return "…" + s[len(s)-6000:]
	}
	return s
}
