package handler_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/exporter/exportertest"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
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
	// noSummaries turns the scene summary stage off (--no-status.scene-summaries).
	noSummaries bool
}

// apply sets what the test gave over the binary's defaults: the fields
// of cfg and opts that are not zero, and the others as they are.
func (o envOpts) apply(c *exporter.Config) {
	a := &c.Accounts[0]
	a.Scrape = o.cfg
	if a.Scrape.Concurrency == 0 {
		a.Scrape.Concurrency = scrape.DefaultConcurrency
	}
	if o.opts.Timeout != 0 {
		c.Serve.Timeout = o.opts.Timeout
	}
	if o.opts.TimeoutOffset != 0 {
		c.Serve.TimeoutOffset = o.opts.TimeoutOffset
	}
	if o.opts.MaxInFlight != 0 {
		c.Serve.MaxInFlight = o.opts.MaxInFlight
	}
	if o.pageSize != 0 {
		a.API.PageSize = o.pageSize
	}
	if o.clientFn != nil {
		o.clientFn(&a.API)
	}
	a.RateLimit = o.rateLimit
	if o.rateBurst != 0 {
		a.RateBurst = o.rateBurst
	}
	if o.status != nil {
		// The scene summary stage is on, as in the binary, unless the test
		// turns it off; the status rate is the account's.
		c.Status = *o.status
		c.Status.SceneSummaries = !o.noSummaries
		a.StatusRate = o.status.Rate
	}
}

func newEnv(t testing.TB, inv *mitest.Inventory, o envOpts) *env {
	t.Helper()
	e := &env{sim: mitest.NewServer(inv, o.sim...)}
	t.Cleanup(e.sim.Close)
	if o.status != nil && o.status.Rate == 0 {
		st := *o.status
		st.Rate = 1000
		o.status = &st
	}
	x, logs := exportertest.New(t, e.sim, o.apply)
	a := exportertest.Only(t, x)
	e.exp, e.api, e.scraper, e.h, e.process, e.serving, e.tracker, e.logs = x, a.API, a.Scraper, x.Handler, x.Process, x.Serving, a.Tracker, logs
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
