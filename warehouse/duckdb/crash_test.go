package duckdb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/warehouse"
)

const crashEnv = "SAM_DUCKDB_CRASH_PATH"

// blockingRows yields n rows, says so on stdout, then blocks forever, so the
// parent can kill the process while the load's transaction is open.
type blockingRows struct{ n, i int }

func (b *blockingRows) Next(ctx context.Context) ([]any, error) {
	if b.i == b.n {
		fmt.Println("mid-load")
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b.i++
	return []any{day("2024-01-02"), "crash", float64(b.i)}, nil
}

// TestCrashChild is the process TestKillMidLoad kills; it does nothing in a
// normal test run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestKillMidLoad")
	}
	ctx := context.Background()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, 100)
	for i := range rows {
		rows[i] = []any{day("2024-01-01"), "committed", float64(i)}
	}
	if _, err := db.Load(ctx, warehouse.LoadRequest{Table: "spend", Schema: spendSchema, Rows: warehouse.NewSliceRows(rows)}); err != nil {
		t.Fatal(err)
	}
	mode := warehouse.Replace
	if os.Getenv(crashEnv+"_MODE") == "append" {
		mode = warehouse.Append
	}
	_, err = db.Load(ctx, warehouse.LoadRequest{Table: "spend", Schema: spendSchema, Mode: mode, Rows: &blockingRows{n: 10000}})
	t.Fatalf("load returned: %v", err)
}

// TestKillMidLoad kills the process (SIGKILL) while a load is inside its
// transaction and checks that the reopened database holds exactly the
// committed data.
func TestKillMidLoad(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("inside the helper process")
	}
	for _, mode := range []string{"replace", "append"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.duckdb")
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+path, crashEnv+"_MODE="+mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			sc := bufio.NewScanner(out)
			reached := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if sc.Text() == "mid-load" {
					reached = true
					break
				}
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, out)
			cmd.Wait()
			if !reached {
				t.Fatalf("helper never reached the load:\n%s", log.String())
			}

			db, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatalf("reopen after kill: %v", err)
			}
			defer db.Close()
			got := queryRows(t, db, "SELECT source, count(*) FROM spend GROUP BY source")
			if len(got) != 1 || got[0][0] != "committed" || got[0][1] != int64(100) {
				t.Errorf("after kill: %v, want only the 100 committed rows", got)
			}
		})
	}
}
