// Package exportertest builds the exporter for tests as main builds it:
// from exporter.Defaults (the binary's configuration), with exporter.New,
// reading an API simulator instead of the real API. It is imported by
// tests only.
package exportertest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// Config returns the configuration New starts from: exporter.Defaults,
// its one account reading sim with the simulator's client settings (its
// URL and key, and retries a few milliseconds apart so that fault tests
// run fast).
func Config(sim *mitest.Server) exporter.Config {
	cfg := exporter.Defaults()
	a, api := &cfg.Accounts[0], sim.ClientConfig()
	a.API.BaseURL, a.API.Credentials = api.BaseURL, api.Credentials
	a.API.BackoffBase, a.API.BackoffMax = api.BackoffBase, api.BackoffMax
	return cfg
}

// New returns the exporter reading sim, built from Config(sim) changed by
// mod (nil: no change), with its background work running until the test
// ends, and the buffer its log lines (debug level) go to.
func New(t testing.TB, sim *mitest.Server, mod func(*exporter.Config)) (*exporter.Exporter, *testutil.LockedBuffer) {
	t.Helper()
	logs := &testutil.LockedBuffer{}
	cfg := Config(sim)
	if mod != nil {
		mod(&cfg)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	x, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Start(context.Background()))
	return x, logs
}

// Only returns the exporter's one account, failing the test when it
// has several.
func Only(t testing.TB, x *exporter.Exporter) *exporter.Account {
	t.Helper()
	accts := x.Accounts()
	if len(accts) != 1 {
		t.Fatalf("%d accounts; want one", len(accts))
	}
	return accts[0]
}
