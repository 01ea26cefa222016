package handler_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/collector/exporter"
	"github.com/mediaintel/mediaintel_exporter/collector/handler"
	"github.com/mediaintel/mediaintel_exporter/collector/scrape"
	"github.com/mediaintel/mediaintel_exporter/collector/status"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// env is the exporter as main builds it (exporter.New), reading a
// simulator and served on a test server.
type env struct {
	sim     *mitest.Server
	exp     *exporter.Exporter
	api     *client.Client
	scraper *scrape.Scraper
	h       *handler.Handler
	process *prometheus.Registry
	serving *collector.ServingMetrics
	tracker *status.Tracker
	logs    *testutil.LockedBuffer
	srv     *httptest.Server
}

type envOpts struct {
	cfg      scrape.Config
	opts     handler.Options
	pageSize int
	clientFn func(*client.Config)
	sim      []mitest.Option
	// rateLimit and rateBurst are --mi.rate-limit and --mi.rate-burst.
	rateLimit float64
	rateBurst int
	// status, when set, turns status tracking on, with the status calls
	// paced at its Rate (default 1000) requests a second.
	status *status.Config
}

func newEnv(t testing.TB, inv *mitest.Inventory, o envOpts) *env {
	t.Helper()
	e := &env{sim: mitest.NewServer(inv, o.sim...), logs: &testutil.LockedBuffer{}}
	t.Cleanup(e.sim.Close)
	ccfg := e.sim.ClientConfig()
	ccfg.PageSize = o.pageSize
	if o.clientFn != nil {
		o.clientFn(&ccfg)
	}
	cfg := exporter.Config{
		API:       ccfg,
		RateLimit: o.rateLimit,
		RateBurst: o.rateBurst,
		Scrape:    o.cfg,
		Serve:     o.opts,
		Logger:    slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.status != nil {
		cfg.Status = *o.status
		if cfg.Status.Rate == 0 {
			cfg.Status.Rate = 1000
		}
	}
	x, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Start(context.Background()))
	e.exp, e.api, e.scraper, e.h, e.process, e.serving, e.tracker = x, x.API, x.Scraper, x.Handler, x.Process, x.Serving, x.Tracker
	e.srv = httptest.NewServer(x.Routes)
	t.Cleanup(e.srv.Close)
	return e
}

// get scrapes path with the given Prometheus scrape timeout header.
func (e *env) get(t testing.TB, path string, timeout string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
