// Package exportertest builds the exporter for tests as main builds it
// (exporter.New), reading an API simulator instead of the real API. It is
// imported by tests only.
package exportertest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// Options are the settings a test gives; the rest is main's.
type Options struct {
	Scrape scrape.Config
	Serve  handler.Options
	// PageSize is --mi.page-size (0: the default).
	PageSize int
	// Client, when set, changes the client configuration further (a
	// transport, a clock, fewer attempts).
	Client func(*client.Config)
	// RateLimit and RateBurst are --mi.rate-limit and --mi.rate-burst.
	RateLimit float64
	RateBurst int
	// Status, when set, turns status tracking on.
	Status *status.Config
}

// New returns the exporter reading sim, with its background work running
// until the test ends, and the buffer its log lines (debug level) go to.
func New(t testing.TB, sim *mitest.Server, o Options) (*exporter.Exporter, *testutil.LockedBuffer) {
	t.Helper()
	logs := &testutil.LockedBuffer{}
	api := sim.ClientConfig()
	api.PageSize = o.PageSize
	if o.Client != nil {
		o.Client(&api)
	}
	cfg := exporter.Config{
		API:       api,
		RateLimit: o.RateLimit,
		RateBurst: o.RateBurst,
		Scrape:    o.Scrape,
		Serve:     o.Serve,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.Status != nil {
		cfg.Status = *o.Status
	}
	x, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Start(context.Background()))
	return x, logs
}
