package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sam-attribution/sam/activation"
	activationga4 "github.com/sam-attribution/sam/activation/ga4"
	"github.com/sam-attribution/sam/activation/googleads"
	"github.com/sam-attribution/sam/activation/linkedin"
	"github.com/sam-attribution/sam/activation/meta"
	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/scheduler"
)

// writebackStage delivers the activation_events model to every destination
// that is on (GA4 always; Google Ads, Meta and LinkedIn when configured)
// and records the others as disabled, so activation_coverage shows what
// each algorithm misses. The stage keeps its name: the run ledger and
// Cloud Run jobs know it as writeback.
func (a *App) writebackStage(ctx context.Context, run *Run) (StageResult, error) {
	s := a.Settings.Activation
	if s.Mode == "off" {
		return StageResult{Detail: "writeback off (SAM_WRITEBACK_MODE=off)"}, nil
	}
	if !a.Settings.Task.first() {
		return StageResult{Detail: "writeback runs in task 0"}, nil
	}
	ga4opts := s.GA4
	switch s.Mode {
	case "local":
		sink, err := a.startSink(ctx)
		if err != nil {
			return StageResult{}, err
		}
		defer sink.Close()
		ga4opts.Endpoint = sink.URL()
		if ga4opts.APISecret == "" {
			ga4opts.APISecret = "local-sink" // the sink checks its presence, not its value
		}
	case "dry-run":
		if ga4opts.APISecret == "" {
			ga4opts.APISecret = "dry-run" // nothing is sent
		}
	}
	s.LinkedIn.Logger = run.Logger.With("destination", "linkedin")
	dests, disabled, err := s.destinations(ga4opts)
	if err != nil {
		return StageResult{}, err
	}
	mode := activation.ModeSend
	switch s.Mode {
	case "validate":
		mode = activation.ModeValidate
	case "dry-run":
		mode = activation.ModeDryRun
	}
	// Where one process has the warehouse at a time, no other writeback
	// can overlap; a lease there would only keep a killed run's rerun
	// waiting for it to expire.
	if mode == activation.ModeSend && !a.WH.Dialect().Features().OneProcess {
		release, held, err := a.writebackLease(ctx, run)
		if err != nil {
			return StageResult{}, err
		}
		if held != "" {
			run.Logger.Warn("writeback skipped: another run is delivering now; what it does not send goes with the next writeback", "holder", held)
			return StageResult{Detail: "writeback skipped: run " + held + " is delivering"}, nil
		}
		defer release()
	}
	r := &activation.Runner{
		Ledger: activation.NewWarehouseLedger(a.WH), Events: activation.WarehouseEvents{WH: a.WH},
		Destinations: dests, Disabled: disabled, Concurrency: s.Concurrency,
		Mode: mode, Out: a.opts.Payloads, Logger: run.Logger,
	}
	rep, err := r.Run(ctx, run.ID)
	a.Activation = &rep
	res := StageResult{Detail: activationDetail(s.Mode, rep)}
	for _, d := range rep.Destinations {
		for st, n := range d.Counts {
			if st == activation.StatusSent || st == activation.StatusAccepted {
				res.Rows += int64(n)
			}
		}
		res.Rows += int64(d.Previewed)
	}
	if err != nil {
		return res, err
	}
	return res, rep.Err()
}

func (a *App) startSink(ctx context.Context) (*ga4sink.Sink, error) {
	sinkFile := a.Settings.SinkFile
	if dir := filepath.Dir(sinkFile); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("local GA4 sink: %w", err)
		}
	}
	sink, err := ga4sink.Start(ctx, "127.0.0.1:0", sinkFile)
	if err != nil {
		return nil, fmt.Errorf("start the local GA4 sink: %w", err)
	}
	return sink, nil
}

// destinations builds the destinations that are on and names the others.
func (s Activation) destinations(ga4opts activationga4.Options) ([]activation.Destination, []activation.Disabled, error) {
	g, err := activationga4.New(ga4opts)
	if err != nil {
		return nil, nil, err
	}
	dests := []activation.Destination{g}
	var disabled []activation.Disabled
	add := func(on bool, name string, build func() (activation.Destination, error)) error {
		if !on {
			disabled = append(disabled, activation.Disabled{Name: name, Stages: adStages})
			return nil
		}
		d, err := build()
		if err != nil {
			return err
		}
		dests = append(dests, d)
		return nil
	}
	err = add(s.GoogleAdsOn, "google_ads", func() (activation.Destination, error) { return googleads.New(s.GoogleAds) })
	if err == nil {
		err = add(s.MetaOn, "meta", func() (activation.Destination, error) { return meta.New(s.Meta) })
	}
	if err == nil {
		err = add(s.LinkedInOn, "linkedin", func() (activation.Destination, error) { return linkedin.New(s.LinkedIn) })
	}
	return dests, disabled, err
}

// activationDetail is the ledger's one-line summary of the stage.
func activationDetail(mode string, rep activation.Report) string {
	var parts []string
	for _, d := range rep.Destinations {
		c := d.Counts
		if c[activation.StatusDisabled] == d.Events-d.Done {
			parts = append(parts, d.Destination+" off")
			continue
		}
		p := fmt.Sprintf("%s: sent %d, accepted %d, rejected %d, failed %d, unknown %d, skipped %d, already done %d",
			d.Destination, c[activation.StatusSent], c[activation.StatusAccepted], c[activation.StatusRejected],
			c[activation.StatusFailed], len(d.Unknown),
			c[activation.StatusExpiredWindow]+c[activation.StatusNoIdentifier]+c[activation.StatusNoConsent]+c[activation.StatusDisabled],
			d.Done+c[activation.StatusAlreadyDelivered])
		if n := len(d.CrashWindow); n > 0 {
			p += fmt.Sprintf(", crash window %d", n)
		}
		if n := d.NotAttempted; n > 0 {
			p += fmt.Sprintf(", not attempted %d (the destination kept failing)", n)
		}
		parts = append(parts, p)
	}
	return "mode " + mode + ": " + strings.Join(parts, "; ")
}

// ReleaseCrashWindow clears keys of a destination's crash window after an
// operator has checked at the destination that they did not arrive, so the
// next run sends them.
func (a *App) ReleaseCrashWindow(ctx context.Context, destination string, keys []string) error {
	r := &activation.Runner{Ledger: activation.NewWarehouseLedger(a.WH), Logger: a.Log}
	return r.Release(ctx, NewRunID(time.Now()), destination, keys)
}

// writebackLeaseTTL is how long a writeback that stopped renewing its
// lease (killed) keeps the next one waiting.
const writebackLeaseTTL = 10 * time.Minute

// writebackLease takes the warehouse lease that lets one writeback deliver
// at a time. The runner reads the ledger once, before it sends: two runs
// that overlap (the daily run's last stage and the hourly writeback job)
// would both send every pending event, and GA4 and LinkedIn count a
// conversion sent twice twice. When another run holds it, held names that
// run; release gives the lease up.
func (a *App) writebackLease(ctx context.Context, run *Run) (release func(), held string, err error) {
	lock := &scheduler.Lock{WH: a.WH, Name: "writeback", Holder: run.ID, TTL: writebackLeaseTTL}
	if err := lock.Acquire(ctx); err != nil {
		// Acquire takes any failure of its transaction for a concurrent
		// acquirer; with no holder there was none.
		holder, herr := "", err
		if errors.Is(err, scheduler.ErrHeld) {
			holder, herr = lock.HeldBy(ctx)
		}
		if herr == nil && holder != "" && holder != run.ID {
			return nil, holder, nil
		}
		// A run stopped while taking the lease may hold it without knowing:
		// give it up, or the retry finds it and sends nothing until it
		// expires. Only this run's own lease is deleted.
		if rerr := lock.Release(context.WithoutCancel(ctx)); rerr != nil {
			run.Logger.Warn("could not release the writeback lease; it expires on its own", "error", rerr, "ttl", writebackLeaseTTL)
		}
		return nil, "", fmt.Errorf("writeback lease: %w", err)
	}
	stopRenewing := lock.KeepRenewed(context.WithoutCancel(ctx), func(err error) {
		run.Logger.Warn("could not renew the writeback lease", "error", err)
	})
	return func() {
		stopRenewing()
		if err := lock.Release(context.WithoutCancel(ctx)); err != nil {
			run.Logger.Warn("could not release the writeback lease; it expires on its own", "error", err, "ttl", writebackLeaseTTL)
		}
	}, "", nil
}
