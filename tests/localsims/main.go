// Command localsims runs a command with local simulators of the ad
// platforms SAM delivers to (Google Ads' Data Manager API, Meta's
// Conversions API, LinkedIn's Conversions API): it starts the three
// simulators on loopback ports, configures the command's SAM_ variables to
// reach them (unless the environment already sets a destination), runs the
// command, and exits with its status. `make run` uses it, so that a fresh
// machine activates to every destination without credentials; the sam
// binary itself holds no simulator code.
//
// Usage:
//
//	localsims [-dir DIR] -- COMMAND [ARG...]
//
// What each simulator accepted is kept in DIR (default ./data/sims) as
// NDJSON, and reloaded on the next start, so repeated runs show whether
// anything was delivered twice.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sam-attribution/sam/tests/googleadssim"
	"github.com/sam-attribution/sam/tests/linkedinsim"
	"github.com/sam-attribution/sam/tests/metasim"
)

// localToken is the bearer token the Google Ads and Meta simulators are
// told to honour (each refuses any other, as the real services do); it is
// no secret.
const localToken = "local-simulator-token"

// localLinkedInClient and localLinkedInSecret are the application the
// LinkedIn simulator knows; they are no secret.
const (
	localLinkedInClient = "sam-local"
	localLinkedInSecret = "local-simulator-client-secret"
)

// localMetaDataset is the one dataset the Meta simulator knows.
const localMetaDataset = "123456789012345"

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsims:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	dir := flag.String("dir", "./data/sims", "folder where the simulators keep what they accepted")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		return 2, errors.New("usage: localsims [-dir DIR] -- COMMAND [ARG...]")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return 1, err
	}
	// The simulators outlive a signal: the command gets it and records
	// what it was doing while they still answer.
	simCtx := context.Background()
	ctx, stop := signal.NotifyContext(simCtx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ads, err := googleadssim.Start(simCtx, "127.0.0.1:0", filepath.Join(*dir, "google_ads.ndjson"))
	if err != nil {
		return 1, fmt.Errorf("start the Google Ads simulator: %w", err)
	}
	defer ads.Close()
	ads.AllowToken(localToken)
	meta, err := metasim.Start(simCtx, "127.0.0.1:0", filepath.Join(*dir, "meta.ndjson"))
	if err != nil {
		return 1, fmt.Errorf("start the Meta simulator: %w", err)
	}
	defer meta.Close()
	meta.SetDatasets(localMetaDataset)
	meta.AllowToken(localToken)
	li, err := linkedinsim.Start(simCtx, "127.0.0.1:0", filepath.Join(*dir, "linkedin.ndjson"))
	if err != nil {
		return 1, fmt.Errorf("start the LinkedIn simulator: %w", err)
	}
	defer li.Close()

	env := os.Environ()
	set := func(vars map[string]string, unlessSet string) {
		if os.Getenv(unlessSet) != "" {
			return // the user configured this destination: leave it alone
		}
		for k, v := range vars {
			env = append(env, k+"="+v)
		}
	}
	set(map[string]string{
		"SAM_GOOGLE_ADS_ENDPOINT":           ads.URL(),
		"SAM_GOOGLE_ADS_CUSTOMER_ID":        "1234567890",
		"SAM_GOOGLE_ADS_CONVERSION_ACTIONS": "lead:7001,mql:7002,sql:7003,opportunity:7004,won:7005",
		"SAM_GOOGLE_ADS_ACCESS_TOKEN":       localToken,
	}, "SAM_GOOGLE_ADS_CUSTOMER_ID")
	set(map[string]string{
		"SAM_META_BASE_URL":     meta.URL(),
		"SAM_META_DATASET_ID":   localMetaDataset,
		"SAM_META_ACCESS_TOKEN": localToken,
	}, "SAM_META_DATASET_ID")
	// LinkedIn by the refresh flow, as a deployment runs it: the run gets
	// its access token from the simulator's token endpoint.
	li.AddClient(localLinkedInClient, localLinkedInSecret)
	set(map[string]string{
		"SAM_LINKEDIN_BASE_URL":      li.URL() + "/rest",
		"SAM_LINKEDIN_CONVERSIONS":   "lead:9001,mql:9002,sql:9003,opportunity:9004,won:9005",
		"SAM_LINKEDIN_CLIENT_ID":     localLinkedInClient,
		"SAM_LINKEDIN_CLIENT_SECRET": localLinkedInSecret,
		"SAM_LINKEDIN_REFRESH_TOKEN": li.IssueRefreshToken(localLinkedInClient, 365*24*time.Hour),
		"SAM_LINKEDIN_TOKEN_URL":     li.URL() + linkedinsim.TokenPath,
	}, "SAM_LINKEDIN_CONVERSIONS")

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
