// Package zetasql_test tests install.sh, the script that installs the ZetaSQL
// local service for the offline BigQuery SQL checks. The tests never fetch:
// they check the cached path and, with a stand-in npm, that a stale install
// is fetched again.
package zetasql_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const pkg = "@fivetrandevelopers/zetasql@1.13.0"

// fakeInstall lays out a complete install stamped with version.
func fakeInstall(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "zetasql")
	for name, body := range map[string]string{
		"remote_server.so":           "#!/bin/sh\n",
		"protos/local_service.proto": "syntax = \"proto2\";\n",
		"VERSION":                    version + "\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs install.sh with a PATH whose npm records its call and fails.
func run(t *testing.T, dir string) (string, error) {
	t.Helper()
	bin := t.TempDir()
	npm := "#!/bin/sh\necho \"npm $*\" >&2\nexit 7\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(npm), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "install.sh", dir)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "ZETASQL_FORCE=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInstallSkipsWhenInstalled(t *testing.T) {
	dir := fakeInstall(t, pkg)
	out, err := run(t, dir)
	if err != nil {
		t.Fatalf("install.sh on a complete install: %v\n%s", err, out)
	}
	if !strings.Contains(out, "already installed") || strings.Contains(out, "npm ") {
		t.Fatalf("install.sh did not skip a current install:\n%s", out)
	}
}

func TestInstallFetchesWhenVersionChanged(t *testing.T) {
	dir := fakeInstall(t, "@fivetrandevelopers/zetasql@1.12.0")
	out, err := run(t, dir)
	if err == nil {
		t.Fatalf("install.sh succeeded although npm failed:\n%s", out)
	}
	if !strings.Contains(out, "npm pack --silent "+pkg) {
		t.Fatalf("install.sh did not fetch %s for a stale install:\n%s", pkg, out)
	}
	// The failed fetch must leave the old install untouched.
	if b, err := os.ReadFile(filepath.Join(dir, "VERSION")); err != nil || !strings.Contains(string(b), "1.12.0") {
		t.Fatalf("stale install damaged by a failed fetch: %q, %v", b, err)
	}
}
