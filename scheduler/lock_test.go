package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

func openDuck(t *testing.T) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "lock.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := systables.New(db).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLockExcludesAndExpires(t *testing.T) {
	ctx := context.Background()
	wh := openDuck(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := &Lock{WH: wh, Name: "sam-run", Holder: "host-a", TTL: time.Minute, Now: clock}
	b := &Lock{WH: wh, Name: "sam-run", Holder: "host-b", TTL: time.Minute, Now: clock}

	if err := a.Acquire(ctx); err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	if err := b.Acquire(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("second holder: want ErrHeld, got %v", err)
	}
	// a renews, so 50s later b still cannot take it.
	now = now.Add(50 * time.Second)
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(50 * time.Second)
	if err := b.Acquire(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("renewed lease: want ErrHeld, got %v", err)
	}
	// a dies: no more renewals; once the lease is over b takes it.
	now = now.Add(2 * time.Minute)
	if err := b.Acquire(ctx); err != nil {
		t.Fatalf("expired lease should be taken over: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Acquire(ctx); err != nil {
		t.Fatalf("released lock should be free: %v", err)
	}
}

func TestLoopRunsOnScheduleAndSkipsWhenLocked(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wh := openDuck(t)
	sched, _ := ParseCron("* * * * *")
	var runs atomic.Int32
	other := &Lock{WH: wh, Name: "sam-run", Holder: "other", TTL: time.Hour}
	ticks := 0
	loop := &Loop{
		Schedule: sched,
		Lock:     &Lock{WH: wh, Name: "sam-run", Holder: "me", TTL: time.Hour},
		Work:     func(context.Context) error { runs.Add(1); return nil },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		sleep: func(ctx context.Context, _ time.Time) error {
			ticks++
			switch ticks {
			case 2:
				// Another host holds the lock during the second tick.
				if err := other.Acquire(ctx); err != nil {
					t.Fatal(err)
				}
			case 3:
				if err := other.Release(ctx); err != nil {
					t.Fatal(err)
				}
			case 4:
				cancel()
				return ctx.Err()
			}
			return nil
		},
	}
	if err := loop.Serve(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
	if got := runs.Load(); got != 2 {
		t.Fatalf("work ran %d times, want 2 (tick 1 and 3; tick 2 skipped while locked)", got)
	}
}
