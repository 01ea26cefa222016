// Command mediaintel_exporter exports the media inventory of NAVER Cloud
// Platform's Media Intelligence service as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/collector/handler"
	"github.com/mediaintel/mediaintel_exporter/collector/scrape"
	"github.com/mediaintel/mediaintel_exporter/collector/status"
)

const name = "mediaintel_exporter"

// defaultPort is in the exporter range 9100-9999; see the README.
const defaultPort = ":9847"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	app := kingpin.New(name, "Prometheus exporter for NAVER Cloud Platform Media Intelligence.")
	app.ErrorWriter(stderr)
	app.UsageWriter(stderr)
	var (
		apiURL        = app.Flag("mi.api-url", "Media Intelligence API base URL.").Default(client.DefaultBaseURL).String()
		workspaces    = app.Flag("mi.workspace", "Workspace to scrape (repeatable). Default: every workspace the key can see.").Strings()
		concurrency   = app.Flag("mi.concurrency", "API requests in flight at most, per scrape.").Default("8").Int()
		pageSize      = app.Flag("mi.page-size", "Page size for paged lists (1-1000).").Default("1000").Int()
		timezone      = app.Flag("mi.timezone", "Time zone of API times that carry no offset.").Default(client.DefaultTimezone).String()
		maxBody       = app.Flag("mi.max-body-size", "Largest API response body accepted, in bytes.").Default("33554432").Int64()
		attempts      = app.Flag("mi.max-attempts", "Requests sent at most for one API call (retries + 1).").Default("4").Int()
		rateLimit     = app.Flag("mi.rate-limit", "Requests per second to the API, shared by all scrapes (0: no limit). Halved on a 429, recovers on its own.").Default("0").Float64()
		rateBurst     = app.Flag("mi.rate-burst", "Burst allowed above --mi.rate-limit.").Default("10").Int()
		include       = app.Flag("mi.project-include", "Only scrape projects whose ID or name matches this regular expression (anchored).").String()
		exclude       = app.Flag("mi.project-exclude", "Skip projects whose ID or name matches this regular expression (anchored).").String()
		countOnly     = app.Flag("mi.count-only", "Only count the assets of projects whose ID or name matches this regular expression (one request per project, no per-format series).").String()
		countOnlyAll  = app.Flag("mi.count-only-all", "Only count the assets of every project.").Bool()
		akFile        = app.Flag("ncp.access-key-file", "File holding the NCP access key (re-read when it changes). Default: NCLOUD_ACCESS_KEY.").String()
		skFile        = app.Flag("ncp.secret-key-file", "File holding the NCP secret key (re-read when it changes). Default: NCLOUD_SECRET_KEY.").String()
		timeout       = app.Flag("scrape.timeout", "Scrape deadline when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default("10s").Duration()
		timeoutOffset = app.Flag("scrape.timeout-offset", "Time taken off Prometheus' scrape timeout, to answer in time.").Default("500ms").Duration()
		cacheTTL      = app.Flag("scrape.cache-ttl", "Serve a project's asset figures from memory while younger than this (0: off).").Default("0s").Duration()
		histograms    = app.Flag("scrape.histograms", "Export per-project asset size and duration histograms (--no-scrape.histograms to turn off).").Default("true").Bool()
		telemetryPath = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		maxRequests   = app.Flag("web.max-requests", "Requests to /metrics, /probe and /discovery served at once; more get 503.").Default("16").Int()
		statusWindow  = app.Flag("status.window", "Track the import and analysis status of assets created or updated within this window (0: off; --demo: 30m).").Default("0s").Duration()
		statusRecheck = app.Flag("status.recheck", "Check a moving status (upload in progress, analysis waiting or running) again after this.").Default("1m").Duration()
		statusVerify  = app.Flag("status.reverify", "Check a settled status again after this, even when the asset's updatedTime has not changed.").Default("6h").Duration()
		statusRate    = app.Flag("status.rate", "Status requests per second, all together (below --mi.rate-limit when that is set).").Default("5").Float64()
		statusFile    = app.Flag("status.state-file", "Keep the status tracker's state in this file across restarts (default: in memory).").String()
		demo          = app.Flag("demo", "Serve synthetic demo data from a built-in API simulator; needs no NCP account.").Bool()
		toolkitFlags  = kingpinflag.AddFlags(app, defaultPort)
	)
	logCfg := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(app, logCfg)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	logger := promslog.New(logCfg)
	for _, c := range []struct {
		bad  bool
		flag string
		want string
	}{
		{*concurrency < 1, "--mi.concurrency", "at least 1"},
		{*attempts < 1, "--mi.max-attempts", "at least 1"},
		{*maxBody < 1024, "--mi.max-body-size", "at least 1024 bytes"},
		{*rateLimit < 0, "--mi.rate-limit", "0 (off) or more"},
		{*rateLimit > 0 && *rateBurst < 1, "--mi.rate-burst", "at least 1"},
		{*timeout <= 0, "--scrape.timeout", "more than 0"},
		{*timeoutOffset < 0, "--scrape.timeout-offset", "0 or more"},
		{*cacheTTL < 0, "--scrape.cache-ttl", "0 (off) or more"},
		{*maxRequests < 1, "--web.max-requests", "at least 1"},
		{*statusWindow < 0, "--status.window", "0 (off) or more"},
		{*statusRecheck <= 0, "--status.recheck", "more than 0"},
		{*statusVerify <= 0, "--status.reverify", "more than 0"},
		{*statusRate <= 0, "--status.rate", "more than 0"},
	} {
		if c.bad {
			logger.Error("invalid flag value", "flag", c.flag, "want", c.want)
			return 2
		}
	}
	logger.Info("starting "+name, "version", version.Info(), "build_context", version.BuildContext())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var creds client.CredentialsProvider
	if *demo {
		sim := mitest.NewDemoServer(mitest.WithLogger(logger.With("component", "simulator")))
		defer sim.Close()
		*apiURL = sim.URL
		creds = client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey))
		logger.Warn("demo mode: serving SYNTHETIC data from the built-in API simulator", "api_url", sim.URL)
		if *statusWindow == 0 {
			*statusWindow = 30 * time.Minute
		}
	} else {
		var err error
		creds, err = loadCredentials(*akFile, *skFile, getenv)
		if err != nil {
			logger.Error("no usable credentials", "err", err)
			return 1
		}
	}

	loc, err := time.LoadLocation(*timezone)
	if err != nil {
		logger.Error("invalid --mi.timezone", "err", err)
		return 1
	}
	var filters [3]*regexp.Regexp
	for i, expr := range []string{*include, *exclude, *countOnly} {
		if expr == "" {
			continue
		}
		if filters[i], err = regexp.Compile("^(?:" + expr + ")$"); err != nil {
			logger.Error("invalid project filter", "expr", expr, "err", err)
			return 1
		}
	}

	process := prometheus.NewRegistry()
	process.MustRegister(
		versioncollector.NewCollector(collector.Namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	apiMetrics := collector.NewAPIMetrics(process)
	var limiter *client.AdaptiveLimiter
	if *rateLimit > 0 {
		limiter = client.NewAdaptiveLimiter(*rateLimit, *rateBurst)
		collector.RegisterLimiterMetrics(process, limiter)
	}

	cfg := client.Config{
		Transport:    client.NewTransport(*concurrency), // one pool for the scrapes and the status checks
		BaseURL:      *apiURL,
		Credentials:  creds,
		PageSize:     *pageSize,
		MaxBodyBytes: *maxBody,
		MaxAttempts:  *attempts,
		MaxConns:     *concurrency,
		Location:     loc,
		UserAgent:    name + "/" + version.Version,
		Observer:     apiMetrics,
	}
	if limiter != nil {
		cfg.Limiter = limiter
	}
	api, err := client.New(cfg)
	if err != nil {
		logger.Error("invalid API client configuration", "err", err)
		return 1
	}
	var tracker *status.Tracker
	// The state file is kept for one API; the demo's simulator listens on a
	// new port at each start, but serves the same data.
	stateKey := *apiURL
	if *demo {
		stateKey = "demo"
	}
	if *statusWindow > 0 {
		// The status calls have a budget of their own, below the shared one.
		budget := client.Limiters{client.NewAdaptiveLimiter(*statusRate, 1)}
		if limiter != nil {
			budget = append(budget, limiter)
		}
		scfg := cfg
		scfg.Limiter = budget
		statusAPI, err := client.New(scfg)
		if err != nil {
			logger.Error("invalid API client configuration", "err", err)
			return 1
		}
		tracker, err = status.New(statusAPI, status.Config{
			Window:    *statusWindow,
			Recheck:   *statusRecheck,
			Reverify:  *statusVerify,
			Workers:   min(16, max(1, int(math.Ceil(*statusRate)))),
			StateFile: *statusFile,
			APIURL:    stateKey,
			Logger:    logger.With("component", "status"),
		})
		if err != nil {
			logger.Error("status tracking", "err", err)
			return 1
		}
		collector.RegisterStatusMetrics(process, tracker)
		logger.Info("tracking the status of recent assets", "window", *statusWindow, "rate", *statusRate, "state_file", *statusFile)
	}
	scraper, err := scrape.NewScraper(api, scrape.Config{
		Workspaces:     *workspaces,
		ProjectInclude: filters[0],
		ProjectExclude: filters[1],
		CountOnly:      filters[2],
		CountOnlyAll:   *countOnlyAll,
		Concurrency:    *concurrency,
		CacheTTL:       *cacheTTL,
		Tracker:        tracker,
		Logger:         logger,
	})
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		return 1
	}
	collector.RegisterCacheMetrics(process, scraper)
	h := handler.New(scraper, handler.Options{
		Timeout:       *timeout,
		TimeoutOffset: *timeoutOffset,
		MaxInFlight:   *maxRequests,
		Histograms:    *histograms,
		Process:       process,
		Metrics:       collector.NewServingMetrics(process),
		Logger:        logger,
	})

	mux := http.NewServeMux()
	mux.Handle(*telemetryPath, h.Metrics())
	mux.Handle("/probe", h.Probe())
	mux.Handle("/discovery", h.Discovery())
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	mux.Handle("/internal/metrics", promhttp.HandlerFor(process, handler.MetricsOpts(logger)))
	if *telemetryPath != "/" {
		desc := "Prometheus exporter for NAVER Cloud Platform Media Intelligence: asset counts, bytes and durations per project and format."
		if *demo {
			desc += " DEMO MODE: the data shown is synthetic, served by the built-in API simulator."
		}
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        name,
			Description: desc,
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: *telemetryPath, Text: "Metrics"},
				{Address: "/discovery?per=project", Text: "HTTP service discovery (per project)"},
				{Address: "/-/healthy", Text: "Health"},
			},
		})
		if err != nil {
			logger.Error("landing page", "err", err)
			return 1
		}
		mux.Handle("/", landing)
	}

	var background sync.WaitGroup
	if tracker != nil {
		// Stopped with the server; it commits its state file on the way out.
		background.Go(func() { tracker.Run(ctx) })
	}
	srv := newHTTPServer(mux)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	err = web.ListenAndServe(srv, toolkitFlags, logger)
	stop() // the server may have failed before a signal: stop the tracker too
	background.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("server failed", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// newHTTPServer bounds what a slow or idle client can hold: a client that
// has not sent its headers in 10 s, or its request in 30 s, is
// disconnected, and idle keep-alive connections are closed after 2 min.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// loadCredentials takes the key files when given, else the environment.
// It never logs or returns the secret itself.
func loadCredentials(akFile, skFile string, getenv func(string) string) (client.CredentialsProvider, error) {
	if akFile != "" || skFile != "" {
		if akFile == "" || skFile == "" {
			return nil, errors.New("--ncp.access-key-file and --ncp.secret-key-file must be given together")
		}
		fc := &client.FileCredentials{AccessKeyFile: akFile, SecretKeyFile: skFile}
		if _, err := fc.Credentials(); err != nil {
			return nil, err
		}
		return fc, nil
	}
	c, err := client.CredentialsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return client.Static(c), nil
}
