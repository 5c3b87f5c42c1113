package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// LocksTable holds one row per held lock. It comes from the systables
// store, which jobs sets up when the process starts.
const LocksTable = systables.LocksTable

// ErrHeld reports that another holder has the lock.
var ErrHeld = errors.New("lock is held by another run")

// Lock is a named lease in the warehouse. A holder that dies stops renewing
// it, so it expires after its TTL and the next run can take it.
type Lock struct {
	WH     warehouse.Warehouse
	Name   string
	Holder string
	TTL    time.Duration
	Now    func() time.Time
}

func (l *Lock) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Acquire takes the lock or returns ErrHeld. Expired leases are removed in
// the same transaction, so a dead holder never blocks for longer than TTL.
func (l *Lock) Acquire(ctx context.Context) error {
	now := l.now()
	t := l.WH.QualifiedName(LocksTable)
	script := l.WH.Dialect().Transaction(
		"DELETE FROM "+t+" WHERE name = ? AND expires_at < ?",
		`INSERT INTO `+t+` (name, holder, acquired_at, expires_at)
SELECT CAST(? AS STRING), CAST(? AS STRING), CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) FROM (SELECT 1 AS one) AS seed
WHERE NOT EXISTS (SELECT 1 FROM `+t+` WHERE name = ?)`,
	)
	args := []any{l.Name, now, l.Name, l.Holder, now, now.Add(l.TTL), l.Name}
	if _, err := l.WH.Exec(ctx, script, args...); err != nil {
		// A concurrent acquirer's transaction conflicting with ours means
		// someone else is taking it now.
		return fmt.Errorf("lock %s: %w (%v)", l.Name, ErrHeld, err)
	}
	holder, err := l.holder(ctx)
	if err != nil {
		return err
	}
	if holder != l.Holder {
		return fmt.Errorf("lock %s held by %s: %w", l.Name, holder, ErrHeld)
	}
	return nil
}

// HeldBy returns who holds the lock now, or "" when no one does.
func (l *Lock) HeldBy(ctx context.Context) (string, error) { return l.holder(ctx) }

func (l *Lock) holder(ctx context.Context) (string, error) {
	rows, err := l.WH.Query(ctx, "SELECT holder FROM "+l.WH.QualifiedName(LocksTable)+" WHERE name = ?", l.Name)
	if err != nil {
		return "", fmt.Errorf("lock %s: read holder: %w", l.Name, err)
	}
	defer rows.Close()
	var h string
	if rows.Next() {
		if err := rows.Scan(&h); err != nil {
			return "", fmt.Errorf("lock %s: read holder: %w", l.Name, err)
		}
	}
	return h, rows.Err()
}

// Renew extends the lease while the holder works.
func (l *Lock) Renew(ctx context.Context) error {
	_, err := l.WH.Exec(ctx, "UPDATE "+l.WH.QualifiedName(LocksTable)+" SET expires_at = ? WHERE name = ? AND holder = ?",
		l.now().Add(l.TTL), l.Name, l.Holder)
	if err != nil {
		return fmt.Errorf("lock %s: renew: %w", l.Name, err)
	}
	return nil
}

// KeepRenewed renews the lease at a third of its TTL until the returned
// stop is called, which waits for the renewing to end. A renewal that fails
// goes to failed, and the next is tried.
func (l *Lock) KeepRenewed(ctx context.Context, failed func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.Renew(ctx); err != nil && ctx.Err() == nil {
					failed(err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// Release gives the lock up.
func (l *Lock) Release(ctx context.Context) error {
	_, err := l.WH.Exec(ctx, "DELETE FROM "+l.WH.QualifiedName(LocksTable)+" WHERE name = ? AND holder = ?", l.Name, l.Holder)
	if err != nil {
		return fmt.Errorf("lock %s: release: %w", l.Name, err)
	}
	return nil
}
