package zetasql

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotInstalled reports that the service binary or its protos are missing.
var ErrNotInstalled = errors.New("zetasql local service not installed (run make tools, or tools/zetasql/install.sh)")

// Install locates an installed service: the layout tools/zetasql/install.sh
// creates.
type Install struct {
	Dir    string // .tools/zetasql
	Binary string // Dir/remote_server.so (an executable, named as shipped)
	Protos string // Dir/protos
}

// InstallDirEnv names the environment variable that, when set, points at the
// install directory instead of .tools/zetasql in the repository.
const InstallDirEnv = "SAM_ZETASQL_DIR"

// FindInstall returns the install named by $SAM_ZETASQL_DIR or, when that is
// unset, the .tools/zetasql folder of the repository containing dir (found
// by walking up to the folder holding go.mod). The error wraps
// ErrNotInstalled when the files are absent.
func FindInstall(dir string) (Install, error) {
	root := os.Getenv(InstallDirEnv)
	if root == "" {
		repo, err := repoRoot(dir)
		if err != nil {
			return Install{}, err
		}
		root = filepath.Join(repo, ".tools", "zetasql")
	}
	in := Install{
		Dir:    root,
		Binary: filepath.Join(root, "remote_server.so"),
		Protos: filepath.Join(root, "protos"),
	}
	for _, p := range []string{in.Binary, filepath.Join(in.Protos, "local_service.proto")} {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Install{}, fmt.Errorf("%w: %s is missing", ErrNotInstalled, p)
			}
			return Install{}, fmt.Errorf("zetasql install: %w", err)
		}
	}
	return in, nil
}

func repoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("zetasql install: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("zetasql install: no go.mod above %s", dir)
		}
		d = parent
	}
}
