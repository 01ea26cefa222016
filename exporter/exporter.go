// Package exporter puts the exporter together from its configuration: the
// API client and its rate limiters, the status tracker, the scraper, the
// HTTP handlers, and the routes with the landing page. The binary (main)
// and the tests build the exporter with New, so that what is tested is
// what runs.
package exporter

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// Config is the whole configuration of an exporter. Defaults returns
// the configuration the binary runs with; a zero field takes the default
// of the package that owns the setting.
type Config struct {
	// API configures the API client. New sets its Observer, and its
	// Transport when nil: one keep-alive pool of Scrape.Concurrency
	// connections for the scrapes and the status checks.
	API client.Config
	// RateLimit, when positive, paces every API request by an adaptive
	// limiter of RateLimit requests a second with a burst of RateBurst
	// (--mi.rate-limit, --mi.rate-burst; client.DefaultRateBurst when 0);
	// it replaces API.Limiter.
	RateLimit float64
	RateBurst int
	// Scrape selects and bounds what a scrape reads. New sets its Tracker
	// and Logger.
	Scrape scrape.Config
	// Serve configures the HTTP side. New sets its Process, Metrics and
	// Logger.
	Serve handler.Options
	// Status turns status tracking on when Status.Window is positive. Its
	// requests are paced at Status.Rate (status.DefaultRate when 0),
	// within RateLimit too. New sets its Logger, Store and Account.
	Status status.Config
	// StateFile, when set, keeps the status tracker's state across
	// restarts (status.OpenStore; a file of release 0.2.0 becomes
	// defaultAccount's).
	StateFile string
	// TelemetryPath is where the metrics are served (DefaultTelemetryPath
	// when "").
	TelemetryPath string
	// Landing is the landing page at "/"; none when TelemetryPath is "/".
	Landing Landing
	// Logger receives every part's log lines; nil discards them.
	Logger *slog.Logger
}

// Defaults returns the configuration the binary runs with when no flag is
// given, less the credentials: main takes every flag's default from it,
// and exportertest starts from it, so that the tests build what ships.
func Defaults() Config {
	// The zone is embedded (package client imports time/tzdata): it loads.
	seoul, _ := time.LoadLocation(client.DefaultTimezone)
	return Config{
		API: client.Config{
			BaseURL:      client.DefaultBaseURL,
			PageSize:     client.DefaultPageSize,
			MaxBodyBytes: client.DefaultMaxBodyBytes,
			MaxAttempts:  client.DefaultMaxAttempts,
			Location:     seoul,
		},
		RateBurst: client.DefaultRateBurst,
		Scrape:    scrape.Config{Concurrency: scrape.DefaultConcurrency},
		Serve: handler.Options{
			Timeout:       handler.DefaultTimeout,
			TimeoutOffset: handler.DefaultTimeoutOffset,
			MaxInFlight:   handler.DefaultMaxInFlight,
			Histograms:    true,
		},
		Status: status.Config{
			Recheck:        status.DefaultRecheck,
			Reverify:       status.DefaultReverify,
			Rate:           status.DefaultRate,
			SceneSummaries: true,
		},
		TelemetryPath: DefaultTelemetryPath,
	}
}

// defaultAccount is the account the one status tracker keeps its state
// under.
const defaultAccount = "default"

// DefaultTelemetryPath is Config.TelemetryPath's default.
const DefaultTelemetryPath = "/metrics"

// Landing says what the landing page shows.
type Landing struct {
	Name, Description, Version string
}

// Exporter is the exporter's parts, wired together.
type Exporter struct {
	API *client.Client
	// Tracker is nil without status tracking.
	Tracker *status.Tracker
	Scraper *scrape.Scraper
	Handler *handler.Handler
	// Limiter is the rate limiter every request waits for; nil without
	// Config.RateLimit.
	Limiter *client.AdaptiveLimiter
	// Process holds the process-lifetime metrics: API requests, limiter,
	// cache, serving and tracker figures, build info, Go and process.
	Process *prometheus.Registry
	Serving *collector.ServingMetrics
	// Routes serves the telemetry path, /probe, /discovery, /-/healthy,
	// /-/ready, /internal/metrics and the landing page.
	Routes http.Handler

	cfg   Config      // what New built it from
	ready atomic.Bool // Start was called: the state is loaded, the work runs
	// store is the status state file; nil without one. Run closes it.
	store *status.Store
	log   *slog.Logger
}

// Config returns the configuration the exporter was built from.
func (e *Exporter) Config() Config { return e.cfg }

// ConfigError is a configuration that New refused: What says which part
// refused it ("invalid API client configuration", "status tracking",
// "invalid configuration", "landing page"), Err why.
type ConfigError struct {
	What string
	Err  error
}

// Error says which part refused the configuration, and why.
func (e *ConfigError) Error() string { return e.What + ": " + e.Err.Error() }

// Unwrap returns why.
func (e *ConfigError) Unwrap() error { return e.Err }

// refused wraps a part's error in a ConfigError (nil stays nil).
func refused(what string, err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{What: what, Err: err}
}

// New builds an exporter from cfg. It starts nothing: Start does. Its
// errors are *ConfigError.
func New(cfg Config) (_ *Exporter, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TelemetryPath == "" {
		cfg.TelemetryPath = DefaultTelemetryPath
	}
	e := &Exporter{Process: prometheus.NewRegistry(), cfg: cfg, log: cfg.Logger}
	e.Process.MustRegister(
		versioncollector.NewCollector(collector.Namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if err := e.buildAPI(&cfg); err != nil {
		return nil, err
	}
	if err := e.buildTracker(cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && e.store != nil {
			_ = e.store.Close() // New failed: nobody will Run it
		}
	}()
	if err := e.buildScraper(cfg); err != nil {
		return nil, err
	}
	e.Serving = collector.NewServingMetrics(e.Process)
	serve := cfg.Serve
	serve.Process, serve.Metrics, serve.Logger = e.Process, e.Serving, cfg.Logger
	e.Handler = handler.New(e.Scraper, serve)
	routes, err := e.routes(cfg)
	if err != nil {
		return nil, err
	}
	e.Routes = routes
	return e, nil
}

// buildAPI makes the API client, its metrics and the shared rate limiter.
func (e *Exporter) buildAPI(cfg *Config) error {
	api := &cfg.API
	api.Observer = collector.NewAPIMetrics(e.Process)
	if api.Transport == nil {
		concurrency := cfg.Scrape.Concurrency
		if concurrency <= 0 {
			concurrency = scrape.DefaultConcurrency
		}
		api.Transport = client.NewTransport(concurrency)
	}
	if cfg.RateLimit > 0 {
		burst := cfg.RateBurst
		if burst <= 0 {
			burst = client.DefaultRateBurst
		}
		limiter := client.NewAdaptiveLimiter(cfg.RateLimit, burst)
		collector.RegisterLimiterMetrics(e.Process, limiter)
		api.Limiter, e.Limiter = limiter, limiter
	}
	var err error
	e.API, err = client.New(*api)
	return refused("invalid API client configuration", err)
}

// buildTracker makes the status tracker, when tracking is on: its
// requests have a budget of their own, below the shared limiter.
func (e *Exporter) buildTracker(cfg Config) error {
	if cfg.Status.Window <= 0 {
		return nil
	}
	st := cfg.Status
	if st.Rate <= 0 {
		st.Rate = status.DefaultRate
	}
	st.Logger = cfg.Logger.With("component", "status")
	budget := client.Limiters{client.NewAdaptiveLimiter(st.Rate, 1)}
	if cfg.API.Limiter != nil {
		budget = append(budget, cfg.API.Limiter)
	}
	statusAPI := e.API.WithLimiter(budget) // the same connections and buffers
	if cfg.StateFile != "" {
		store, err := status.OpenStore(cfg.StateFile, defaultAccount, st.Logger)
		if err != nil {
			return refused("status tracking", err)
		}
		st.Store, st.Account = store, defaultAccount
	}
	var err error
	if e.Tracker, err = status.New(statusAPI, st); err != nil {
		if st.Store != nil {
			_ = st.Store.Close()
		}
		return refused("status tracking", err)
	}
	e.store = st.Store
	collector.RegisterStatusMetrics(e.Process, e.Tracker)
	return nil
}

// buildScraper makes the scraper and its cache metrics.
func (e *Exporter) buildScraper(cfg Config) error {
	sc := cfg.Scrape
	sc.Logger = cfg.Logger
	sc.Tracker = nil // an interface: a nil *status.Tracker in it would not be nil
	if e.Tracker != nil {
		sc.Tracker = e.Tracker
	}
	var err error
	if e.Scraper, err = scrape.NewScraper(e.API, sc); err != nil {
		return refused("invalid configuration", err)
	}
	collector.RegisterCacheMetrics(e.Process, e.Scraper)
	return nil
}

// routes is the exporter's URL space.
func (e *Exporter) routes(cfg Config) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(cfg.TelemetryPath, e.Handler.Metrics())
	mux.Handle("/probe", e.Handler.Probe())
	mux.Handle("/discovery", e.Handler.Discovery())
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	mux.HandleFunc("/-/ready", e.serveReady)
	mux.Handle("/internal/metrics", promhttp.HandlerFor(e.Process, handler.MetricsOpts(cfg.Logger)))
	if cfg.TelemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        cfg.Landing.Name,
			Description: cfg.Landing.Description,
			Version:     cfg.Landing.Version,
			Links: []web.LandingLinks{
				{Address: cfg.TelemetryPath, Text: "Metrics"},
				{Address: "/discovery?per=project", Text: "HTTP service discovery (per project)"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
			ExtraHTML: debugProbeForm,
		})
		if err != nil {
			return nil, refused("landing page", err)
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// debugProbeForm is the landing page's form for /probe?...&debug=true.
const debugProbeForm = `<h2>Debug probe</h2>
<p>Every API call of one probe, with the verdict per project and the exposition it would return.</p>
<form action="probe" method="get">
<label>workspace <input name="workspace" required pattern="[a-z0-9-]{3,63}"></label>
<label>project ID (optional) <input name="project" pattern="[0-9]*"></label>
<input type="hidden" name="debug" value="true">
<button type="submit">Debug probe</button>
</form>`

// serveReady answers /-/ready: 200 once Start was called (with a state
// file, the state was loaded before that), 503 before. It never asks the
// API: an API outage must show as ncp_mediaintel_up 0 on a target that is
// up, not as an exporter taken out of its Service.
func (e *Exporter) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !e.ready.Load() {
		http.Error(w, "Not ready: starting\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "Ready\n")
}

// Start runs the exporter's background work (Run) in a goroutine until ctx
// ends or stop is called. stop ends it, waits for it (with a state file,
// the state is committed by then) and closes the idle API connections.
func (e *Exporter) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	e.ready.Store(true)
	return func() {
		cancel()
		<-done
		e.API.CloseIdleConnections()
	}
}

// Run does the exporter's background work (the status tracker's checks)
// until ctx ends; with a state file, the state is committed on the way
// out and the file closed. Without status tracking it returns at once.
func (e *Exporter) Run(ctx context.Context) {
	if e.Tracker != nil {
		e.Tracker.Run(ctx)
	}
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			e.log.Warn("closing the status state file", "err", err)
		}
	}
}
