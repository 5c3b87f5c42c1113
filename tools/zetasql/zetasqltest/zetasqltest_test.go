package zetasqltest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tools/zetasql"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatal(args ...any)                 { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestMissingServiceSkipsByDefault(t *testing.T) {
	t.Setenv(zetasql.InstallDirEnv, t.TempDir())
	t.Setenv(RequireEnv, "")
	env := Start()
	defer env.Close()
	var r recorder
	if c := env.Client(&r); c != nil {
		t.Fatal("Client returned a client although the service is missing")
	}
	if r.fatal != "" || !strings.Contains(r.skip, "not installed") || !strings.Contains(r.skip, RequireEnv+"=1") {
		t.Fatalf("fatal=%q skip=%q, want a skip explaining the missing install and %s", r.fatal, r.skip, RequireEnv)
	}
}

func TestMissingServiceFailsWhenRequired(t *testing.T) {
	t.Setenv(zetasql.InstallDirEnv, t.TempDir())
	t.Setenv(RequireEnv, "1")
	env := Start()
	defer env.Close()
	var r recorder
	env.Client(&r)
	if r.skip != "" || !strings.Contains(r.fatal, "required") || !strings.Contains(r.fatal, "remote_server.so is missing") {
		t.Fatalf("fatal=%q skip=%q, want a failure naming the missing binary", r.fatal, r.skip)
	}
}
