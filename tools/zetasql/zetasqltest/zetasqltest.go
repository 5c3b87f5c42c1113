// Package zetasqltest starts one ZetaSQL local service for a test binary and
// decides what happens when it is not installed: with SAM_REQUIRE_ZETASQL=1
// (which the Makefile sets) the tests fail, naming the missing file and how
// to install it; otherwise they skip with the same message. It imports
// tools/zetasql and the standard library only.
//
// Use it from TestMain, so the server (about a second to start) runs once per
// package:
//
//	var env *zetasqltest.Env
//
//	func TestMain(m *testing.M) {
//		env = zetasqltest.Start()
//		code := m.Run()
//		env.Close()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		c := env.Client(t) // skips or fails when the service is missing
//		...
//	}
package zetasqltest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tools/zetasql"
)

// RequireEnv names the environment variable that turns a missing service
// into a test failure instead of a skip.
const RequireEnv = "SAM_REQUIRE_ZETASQL"

// startTimeout bounds the server start-up. It is a guard against a hung
// binary, not a measured expectation: the service starts in about a second.
const startTimeout = 2 * time.Minute

// Env is the service a test binary shares.
type Env struct {
	server *zetasql.Server
	client *zetasql.Client
	// unavailable explains why there is no client.
	unavailable string
	required    bool
}

// Start starts the service. It never fails: when the service is missing or
// broken, the returned Env records why, and Client ends each test that asks
// for it.
func Start() *Env {
	env := &Env{required: os.Getenv(RequireEnv) == "1"}
	srv, client, err := start()
	if err != nil {
		env.unavailable = err.Error()
		if !errors.Is(err, zetasql.ErrNotInstalled) {
			// Installed but broken: always a failure.
			env.required = true
		}
		return env
	}
	env.server, env.client = srv, client
	return env
}

// Close stops the service.
func (e *Env) Close() {
	if e.client != nil {
		e.client.Close()
	}
	if e.server != nil {
		e.server.Close()
	}
}

func start() (*zetasql.Server, *zetasql.Client, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, nil, fmt.Errorf("zetasqltest: %w", err)
	}
	in, err := zetasql.FindInstall(wd)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := zetasql.Start(ctx, in.Binary, logger)
	if err != nil {
		return nil, nil, err
	}
	client, err := zetasql.Dial(ctx, srv.Addr(), in.Protos)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, client, nil
}

// Client returns the shared client, or ends the test: Fatal when the service
// is required (SAM_REQUIRE_ZETASQL=1) or installed but failing to start,
// Skip otherwise.
func (e *Env) Client(t testing.TB) *zetasql.Client {
	t.Helper()
	if e == nil {
		t.Fatal("zetasqltest: Env is nil; call zetasqltest.Start from TestMain")
		return nil
	}
	if e.client != nil {
		return e.client
	}
	if e.required {
		t.Fatalf("ZetaSQL is required (%s=1) but unavailable: %s", RequireEnv, e.unavailable)
		return nil
	}
	t.Skipf("skipping BigQuery SQL check: %s; set %s=1 to make this a failure", e.unavailable, RequireEnv)
	return nil
}
