// Command mediaintel_exporter exports the media inventory of NAVER Cloud
// Platform's Media Intelligence service as Prometheus metrics.
//
// main reads the flags into options, turns them into the exporter's
// configuration, has exporter build the parts, and serves them
// until a signal.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

const name = "mediaintel_exporter"

// defaultPort is in the exporter range 9100-9999; see the README.
const defaultPort = ":9847"

// demoWindow is --status.window's value with --demo when it is not set.
const demoWindow = 30 * time.Minute

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run is the whole program; it returns the exit status: 2 for bad flags,
// 1 for a configuration or a server that fails, 0 after a signal.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	o, code := parseFlags(args, stderr)
	if o == nil {
		return code
	}
	logger := promslog.New(o.logging)
	if bad := o.invalid(); bad != nil {
		logger.Error("invalid flag value", "flag", bad.flag, "want", bad.want)
		return 2
	}
	logger.Info("starting "+name, "version", version.Info(), "build_context", version.BuildContext())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, closeDemo, ok := o.config(getenv, logger)
	defer closeDemo()
	if !ok {
		return 1
	}
	e, err := exporter.New(cfg)
	if err != nil {
		if ce, ok := errors.AsType[*exporter.ConfigError](err); ok {
			logger.Error(ce.What, "err", ce.Err)
		} else {
			logger.Error("invalid configuration", "err", err)
		}
		return 1
	}
	if e.Tracker != nil {
		logger.Info("tracking the status of recent assets", "window", cfg.Status.Window, "rate", o.statusRate, "state_file", o.statusFile, "scene_summaries", o.sceneSummaries)
	}
	return serve(ctx, stop, e, o.toolkit, logger)
}

// options are the values of the flags.
type options struct {
	apiURL                      string
	workspaces                  []string
	concurrency                 int
	pageSize                    int
	timezone                    string
	maxBody                     int64
	attempts                    int
	rateLimit                   float64
	rateBurst                   int
	include, exclude, countOnly string
	countOnlyAll                bool
	akFile, skFile              string
	timeout, timeoutOffset      time.Duration
	cacheTTL                    time.Duration
	histograms                  bool
	telemetryPath               string
	maxRequests                 int
	statusWindow                time.Duration
	statusRecheck               time.Duration
	statusReverify              time.Duration
	statusRate                  float64
	statusFile                  string
	sceneSummaries              bool
	demo                        bool
	toolkit                     *web.FlagConfig
	logging                     *promslog.Config
}

// parseFlags reads args into options. On --help, --version or an error it
// returns nil and the exit status.
func parseFlags(args []string, stderr io.Writer) (*options, int) {
	app := kingpin.New(name, "Prometheus exporter for NAVER Cloud Platform Media Intelligence.")
	app.ErrorWriter(stderr)
	app.UsageWriter(stderr)
	o := &options{logging: &promslog.Config{Writer: stderr}}
	o.define(app)
	o.toolkit = kingpinflag.AddFlags(app, defaultPort)
	promslogflag.AddFlags(app, o.logging)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return nil, 2
	}
	return o, 0
}

// itoa gives a flag the default a package owns.
func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// dur is itoa for durations, written as people write them ("1m", "6h",
// not "1m0s", "6h0m0s"), as --help shows them.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// define declares the exporter's own flags; each default is the constant
// of the package that owns the setting.
func (o *options) define(app *kingpin.Application) {
	flag := app.Flag
	flag("mi.api-url", "Media Intelligence API base URL.").Default(client.DefaultBaseURL).StringVar(&o.apiURL)
	flag("mi.workspace", "Workspace to scrape (repeatable). Default: every workspace the key can see.").StringsVar(&o.workspaces)
	flag("mi.concurrency", "API requests in flight at most, per scrape.").Default(itoa(scrape.DefaultConcurrency)).IntVar(&o.concurrency)
	flag("mi.page-size", "Page size for paged lists (1-1000).").Default(itoa(client.DefaultPageSize)).IntVar(&o.pageSize)
	flag("mi.timezone", "Time zone of API times that carry no offset.").Default(client.DefaultTimezone).StringVar(&o.timezone)
	flag("mi.max-body-size", "Largest API response body accepted, in bytes.").Default(itoa(client.DefaultMaxBodyBytes)).Int64Var(&o.maxBody)
	flag("mi.max-attempts", "Requests sent at most for one API call (retries + 1).").Default(itoa(client.DefaultMaxAttempts)).IntVar(&o.attempts)
	flag("mi.rate-limit", "Requests per second to the API, shared by all scrapes (0: no limit). Halved on a 429, recovers on its own.").Default("0").Float64Var(&o.rateLimit)
	flag("mi.rate-burst", "Burst allowed above --mi.rate-limit.").Default(itoa(client.DefaultRateBurst)).IntVar(&o.rateBurst)
	flag("mi.project-include", "Only scrape projects whose ID or name matches this regular expression (anchored).").StringVar(&o.include)
	flag("mi.project-exclude", "Skip projects whose ID or name matches this regular expression (anchored).").StringVar(&o.exclude)
	flag("mi.count-only", "Only count the assets of projects whose ID or name matches this regular expression (one request per project, no per-format series).").StringVar(&o.countOnly)
	flag("mi.count-only-all", "Only count the assets of every project.").BoolVar(&o.countOnlyAll)
	flag("ncp.access-key-file", "File holding the NCP access key (re-read when it changes). Default: NCLOUD_ACCESS_KEY.").StringVar(&o.akFile)
	flag("ncp.secret-key-file", "File holding the NCP secret key (re-read when it changes). Default: NCLOUD_SECRET_KEY.").StringVar(&o.skFile)
	flag("scrape.timeout", "Scrape deadline when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default(dur(handler.DefaultTimeout)).DurationVar(&o.timeout)
	flag("scrape.timeout-offset", "Time taken off Prometheus' scrape timeout, to answer in time.").Default(dur(handler.DefaultTimeoutOffset)).DurationVar(&o.timeoutOffset)
	flag("scrape.cache-ttl", "Serve a project's asset figures from memory while younger than this (0: off).").Default("0s").DurationVar(&o.cacheTTL)
	flag("scrape.histograms", "Export per-project asset size and duration histograms (--no-scrape.histograms to turn off).").Default("true").BoolVar(&o.histograms)
	flag("web.telemetry-path", "Path under which to expose metrics.").Default(exporter.DefaultTelemetryPath).StringVar(&o.telemetryPath)
	flag("web.max-requests", "Requests to /metrics, /probe and /discovery served at once; more get 503.").Default(itoa(handler.DefaultMaxInFlight)).IntVar(&o.maxRequests)
	flag("status.window", "Track the import, analysis and scene summary status of assets created or updated within this window (0: off; --demo: 30m).").Default("0s").DurationVar(&o.statusWindow)
	flag("status.recheck", "Check a moving status (upload in progress, analysis or scene summary waiting or running) again after this.").Default(dur(status.DefaultRecheck)).DurationVar(&o.statusRecheck)
	flag("status.reverify", "Check a settled status again after this, even when the asset's updatedTime has not changed.").Default(dur(status.DefaultReverify)).DurationVar(&o.statusReverify)
	flag("status.rate", "Status requests per second, all together (below --mi.rate-limit when that is set).").Default(strconv.FormatFloat(status.DefaultRate, 'g', -1, 64)).Float64Var(&o.statusRate)
	flag("status.state-file", "Keep the status tracker's state in this file across restarts (default: in memory).").StringVar(&o.statusFile)
	flag("status.scene-summaries", "Track the scene summary of analysed recent assets too (--no-status.scene-summaries: no such call is made).").Default("true").BoolVar(&o.sceneSummaries)
	flag("demo", "Serve synthetic demo data from a built-in API simulator; needs no NCP account.").BoolVar(&o.demo)
}

// badFlag names a flag whose value is out of range, and what it wants.
type badFlag struct{ flag, want string }

// invalid returns the first flag whose value is out of range, or nil.
func (o *options) invalid() *badFlag {
	for _, c := range []struct {
		bad  bool
		flag string
		want string
	}{
		{o.concurrency < 1, "--mi.concurrency", "at least 1"},
		{o.attempts < 1, "--mi.max-attempts", "at least 1"},
		{o.maxBody < 1024, "--mi.max-body-size", "at least 1024 bytes"},
		{o.rateLimit < 0, "--mi.rate-limit", "0 (off) or more"},
		{o.rateLimit > 0 && o.rateBurst < 1, "--mi.rate-burst", "at least 1"},
		{o.timeout <= 0, "--scrape.timeout", "more than 0"},
		{o.timeoutOffset < 0, "--scrape.timeout-offset", "0 or more"},
		{o.cacheTTL < 0, "--scrape.cache-ttl", "0 (off) or more"},
		{o.maxRequests < 1, "--web.max-requests", "at least 1"},
		{o.statusWindow < 0, "--status.window", "0 (off) or more"},
		{o.statusRecheck <= 0, "--status.recheck", "more than 0"},
		{o.statusReverify <= 0, "--status.reverify", "more than 0"},
		{o.statusRate <= 0, "--status.rate", "more than 0"},
	} {
		if c.bad {
			return &badFlag{c.flag, c.want}
		}
	}
	return nil
}

// config turns the options into the exporter's configuration: the API and
// its credentials (the built-in simulator's with --demo), the zone and the
// project filters. It logs what is wrong and returns ok false; closeDemo
// stops the simulator, if one was started.
func (o *options) config(getenv func(string) string, logger *slog.Logger) (cfg exporter.Config, closeDemo func(), ok bool) {
	closeDemo = func() {}
	apiURL, creds := o.apiURL, client.CredentialsProvider(nil)
	// The state file is kept for one API; the demo's simulator listens on
	// a new port at each start, but serves the same data.
	stateKey := apiURL
	window := o.statusWindow
	if o.demo {
		sim := mitest.NewDemoServer(mitest.WithLogger(logger.With("component", "simulator")))
		closeDemo = sim.Close
		apiURL, stateKey = sim.URL, "demo"
		creds = client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey))
		logger.Warn("demo mode: serving SYNTHETIC data from the built-in API simulator", "api_url", sim.URL)
		if window == 0 {
			window = demoWindow
		}
	} else {
		var err error
		if creds, err = loadCredentials(o.akFile, o.skFile, getenv); err != nil {
			logger.Error("no usable credentials", "err", err)
			return cfg, closeDemo, false
		}
	}
	loc, err := time.LoadLocation(o.timezone)
	if err != nil {
		logger.Error("invalid --mi.timezone", "err", err)
		return cfg, closeDemo, false
	}
	filters, ferr := compileFilters(o.include, o.exclude, o.countOnly)
	if ferr != nil {
		logger.Error("invalid project filter", "expr", ferr.expr, "err", ferr.err)
		return cfg, closeDemo, false
	}
	return exporter.Config{
		API: client.Config{
			BaseURL:      apiURL,
			Credentials:  creds,
			PageSize:     o.pageSize,
			MaxBodyBytes: o.maxBody,
			MaxAttempts:  o.attempts,
			Location:     loc,
			UserAgent:    name + "/" + version.Version,
		},
		RateLimit: o.rateLimit,
		RateBurst: o.rateBurst,
		Scrape: scrape.Config{
			Workspaces:     o.workspaces,
			ProjectInclude: filters[0],
			ProjectExclude: filters[1],
			CountOnly:      filters[2],
			CountOnlyAll:   o.countOnlyAll,
			Concurrency:    o.concurrency,
			CacheTTL:       o.cacheTTL,
		},
		Serve: handler.Options{
			Timeout:       o.timeout,
			TimeoutOffset: o.timeoutOffset,
			MaxInFlight:   o.maxRequests,
			Histograms:    o.histograms,
		},
		Status: status.Config{
			Window:    window,
			Recheck:   o.statusRecheck,
			Reverify:  o.statusReverify,
			Rate:      o.statusRate,
			StateFile: o.statusFile,
			APIURL:    stateKey,
			// The third stage of the pipeline, on whenever the window is.
			SceneSummaries: o.sceneSummaries,
		},
		TelemetryPath: o.telemetryPath,
		Landing:       landing(o.demo),
		Logger:        logger,
	}, closeDemo, true
}

// filterError is a project filter that does not compile.
type filterError struct {
	expr string
	err  error
}

// compileFilters compiles the project filters, in the order given.
func compileFilters(exprs ...string) ([]*regexp.Regexp, *filterError) {
	out := make([]*regexp.Regexp, len(exprs))
	for i, expr := range exprs {
		re, err := scrape.CompileFilter(expr)
		if err != nil {
			return nil, &filterError{expr, err}
		}
		out[i] = re
	}
	return out, nil
}

// landing is what the landing page says.
func landing(demo bool) exporter.Landing {
	desc := "Prometheus exporter for NAVER Cloud Platform Media Intelligence: asset counts, bytes and durations per project and format."
	if demo {
		desc += " DEMO MODE: the data shown is synthetic, served by the built-in API simulator."
	}
	return exporter.Landing{Name: name, Description: desc, Version: version.Info()}
}

// serve runs the exporter's background work and its HTTP server until ctx
// ends (a signal) or the server fails, and returns the exit status.
func serve(ctx context.Context, stop context.CancelFunc, e *exporter.Exporter, toolkit *web.FlagConfig, logger *slog.Logger) int {
	// Stopped with the server; the tracker commits its state file on the
	// way out.
	stopBackground := e.Start(ctx)
	srv := newHTTPServer(e.Routes)
	go func() {
		<-ctx.Done()
		// ctx has ended: the shutdown gets 5 s of its own.
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	err := web.ListenAndServe(srv, toolkit, logger)
	stop() // the server may have failed before a signal
	stopBackground()
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
