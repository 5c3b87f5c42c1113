// Command sam is SAM's one binary: a thin command-line layer over the jobs
// package. Every setting comes from SAM_* environment variables (see
// `sam config`); flags only override what one invocation does.
//
// Exit status: 0 success; 1 the work failed (a loader, model, data test or
// writeback error: fix the cause, then rerun); 2 usage or configuration
// error (nothing was done); 3 interrupted by SIGTERM/SIGINT (safe to retry:
// nothing half-published); 4 another run holds the schedule lock.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sam-attribution/sam/jobs"
)

// version is set at build time (Makefile BUILD_FLAGS).
var version = "dev"

// Exit codes a scheduler can act on.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 3
	exitLocked      = 4
)

func main() {
	// Files SAM creates (the DuckDB file and its WAL, the send log, the
	// local sink's file) are readable by the owner only.
	syscall.Umask(0o077)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		// The first signal asks for a clean stop; restoring the default
		// handlers lets a second one end the process at once, should a
		// warehouse call not answer its cancellation.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks errors in how sam was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sam: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	err := cmd.run(ctx, &env{args: args[1:], stdout: stdout, stderr: stderr})
	return exitCode(stderr, err)
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "sam: %v\n", err)
	var ue usageError
	var ce *jobs.ConfigError
	switch {
	case errors.As(err, &ue), errors.As(err, &ce):
		return exitUsage
	case errors.Is(err, jobs.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, jobs.ErrLocked):
		return exitLocked
	}
	return exitFailed
}
