// Package buildcheck_test proves the container image and a developer build
// the binary the same way: the Dockerfile's build stage runs `make build`,
// and `make build` is the one place the go build command is written.
package buildcheck_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestDockerfileBuildsWithMakeBuild(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	runs := regexp.MustCompile(`(?m)^RUN\s+(.*)$`).FindAllStringSubmatch(string(df), -1)
	var builds []string
	for _, r := range runs {
		if strings.Contains(r[1], "go build") {
			t.Errorf("Dockerfile runs go build directly (%q); it must use make build", r[1])
		}
		if strings.HasPrefix(strings.TrimSpace(r[1]), "make build") {
			builds = append(builds, r[1])
		}
	}
	if len(builds) != 1 {
		t.Fatalf("Dockerfile should run `make build` exactly once, found %v", builds)
	}
	if !strings.Contains(string(df), "USER 10001") {
		t.Error("the runtime image must run as a non-root user")
	}
}

func TestMakeBuildIsTheOnlyBuildCommand(t *testing.T) {
	out, err := exec.Command("make", "-C", "../..", "-n", "build", "BIN=/out/sam").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	cmd := string(out)
	for _, want := range []string{"CGO_ENABLED=1", "go build", "-trimpath", "-o /out/sam", "./cmd/sam"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("make build's command %q lacks %q", cmd, want)
		}
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(mk), "build $(BUILD_FLAGS)"); n != 1 {
		t.Errorf("the Makefile should write the build command once, found %d", n)
	}
}

// TestBinaryHoldsNoTestOnlyCode keeps tools/ (the ZetaSQL client) and tests/
// out of the binary: only tests may import them.
func TestBinaryHoldsNoTestOnlyCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../cmd/sam").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/sam-attribution/sam/tools/") || strings.HasPrefix(pkg, "github.com/sam-attribution/sam/tests/") {
			t.Errorf("the sam binary imports %s, which is test-only code", pkg)
		}
	}
}
