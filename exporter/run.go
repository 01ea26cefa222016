package exporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Start runs the exporter's background work until ctx ends or stop is
// called: each account's status tracker and, in background mode, its
// refresher; and the watch of the configuration file. stop ends it, waits
// for it (with a state file, every account's state is committed by then),
// closes the state file and the idle API connections.
func (e *Exporter) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.bg = ctx
	for _, a := range e.Accounts() {
		e.startAccount(ctx, a)
	}
	e.mu.Unlock()
	var watch sync.WaitGroup
	if e.cfg.Reload != nil && e.cfg.ConfigFile != "" {
		watch.Go(func() { e.watchConfig(ctx) })
	}
	e.started.Store(true)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			watch.Wait()
			e.mu.Lock()
			for _, a := range e.Accounts() {
				e.stopAccount(a)
			}
			e.mu.Unlock()
			e.closeStore()
			close(e.stopped)
		})
	}
}

// startAccount runs a's background work until ctx ends or a.stop is
// called (the caller holds e.mu).
func (e *Exporter) startAccount(ctx context.Context, a *Account) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if a.Tracker != nil {
		wg.Go(func() { a.Tracker.Run(ctx) })
	}
	if a.Refresher != nil {
		wg.Go(func() { a.Refresher.Run(ctx) })
	}
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			a.API.CloseIdleConnections()
		})
	}
}

// Ready reports whether the exporter serves what it should: Start was
// called (the state file was loaded by New) and, in background mode,
// every account's first refresh pass has ended. Once ready, it stays
// ready: an account added by a reload says not_yet_read until its first
// pass, one changed by a reload serves its figures (its refresher carries
// on), and the exporter is not taken out of service.
func (e *Exporter) Ready() bool { return e.waitingFor() == "" }

// waitingFor says what keeps the exporter from being ready, for /-/ready's
// answer: "" once it is ready.
func (e *Exporter) waitingFor() string {
	if e.ready.Load() {
		return ""
	}
	if !e.started.Load() {
		return "starting"
	}
	var names []string
	for _, a := range e.Accounts() {
		if a.Refresher != nil && !passed(a.Refresher) {
			names = append(names, strconv.Quote(a.Config.Name))
		}
	}
	if len(names) > 0 {
		return "the first refresh pass of account " + strings.Join(names, ", ")
	}
	e.ready.Store(true)
	return ""
}

// passed reports whether r's first pass has ended.
func passed(r *scrape.Refresher) bool {
	select {
	case <-r.FirstPass():
		return true
	default:
		return false
	}
}

// Reload reads the accounts anew (Config.Reload): added accounts start,
// removed ones stop and their series and state go, changed ones start
// afresh, unchanged ones (same Origin) go on untouched. A configuration
// that does not load, or whose accounts cannot be built, changes nothing;
// the error says why, and config_last_reload_successful says so.
func (e *Exporter) Reload() error {
	if e.cfg.Reload == nil {
		return errors.New("no configuration file to reload (--config.file)")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.reload()
	e.reloads.Loaded(err == nil, time.Now())
	if err != nil {
		e.log.Error("reloading the configuration failed; the running configuration is kept", "file", e.cfg.ConfigFile, "err", err)
		return err
	}
	return nil
}

// reload is Reload's work (the caller holds e.mu). A changed account's
// old parts stop before its new ones are built, so that its tracker's
// state is committed and taken over; if the new ones cannot be built,
// the old ones run again.
func (e *Exporter) reload() error {
	cfgs, err := e.cfg.Reload()
	if err == nil {
		err = checkAccounts(cfgs)
	}
	if err != nil {
		return err
	}
	old := e.accounts.Load()
	var changed []*Account
	for _, ac := range cfgs {
		if prev := old.find(ac.Name); prev != nil && (ac.Origin == "" || prev.Config.Origin != ac.Origin) {
			changed = append(changed, prev)
			e.stopAccount(prev)
		}
	}
	set, err := e.build(cfgs, old)
	if err != nil {
		for _, prev := range changed {
			// A new account may have taken them over.
			if prev.Tracker != nil {
				prev.Tracker.Use(prev.statusAPI)
			}
			if prev.Refresher != nil {
				prev.Refresher.Use(prev.Scraper)
			}
			e.runAccount(prev)
		}
		return err
	}
	var started, stopped []string
	for _, a := range set.list {
		if !slices.Contains(old.list, a) {
			e.runAccount(a)
			started = append(started, a.Config.Name)
		}
	}
	e.accounts.Store(set)
	for _, a := range old.list {
		if set.find(a.Config.Name) == nil {
			e.stopAccount(a)
			e.apiObs.Forget(a.Config.Name)
			stopped = append(stopped, a.Config.Name)
		}
	}
	e.retainState()
	if e.cfg.TelemetryPath != "/" {
		if err := e.buildLanding(); err != nil {
			e.log.Error("the landing page", "err", err)
		}
	}
	e.log.Info("configuration reloaded", "file", e.cfg.ConfigFile, "accounts", len(set.list), "started", started, "stopped", stopped)
	return nil
}

// runAccount starts a's background work if the exporter's has started
// (the caller holds e.mu).
func (e *Exporter) runAccount(a *Account) {
	if e.bg != nil {
		e.startAccount(e.bg, a)
	}
}

// stopAccount ends a's background work, if it runs (the caller holds
// e.mu).
func (e *Exporter) stopAccount(a *Account) {
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
}

// watchConfig reloads when the configuration file's content changes,
// checking every ConfigCheckInterval, until ctx ends. A file that cannot
// be read is tried again at the next check (a rewrite may be under way).
func (e *Exporter) watchConfig(ctx context.Context) {
	every := e.cfg.ConfigCheckInterval
	if every <= 0 {
		every = DefaultConfigCheckInterval
	}
	last, _ := fileSum(e.cfg.ConfigFile)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sum, err := fileSum(e.cfg.ConfigFile)
		if err != nil || bytes.Equal(sum, last) {
			continue
		}
		last = sum
		e.log.Info("the configuration file changed; reloading", "file", e.cfg.ConfigFile)
		_ = e.Reload() // logged and counted by Reload
	}
}

// fileSum is the SHA-256 of the file's content.
func fileSum(path string) ([]byte, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names the file (--config.file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}
