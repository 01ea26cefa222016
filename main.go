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
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/credentials"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/scrape"
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

	cfg, closeDemo, err := o.config(getenv, logger)
	defer closeDemo()
	if err != nil {
		logger.Error("invalid configuration", "err", err)
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
		logger.Info("tracking the status of recent assets", "window", cfg.Status.Window, "rate", cfg.Status.Rate, "state_file", cfg.StateFile, "scene_summaries", cfg.Status.SceneSummaries)
	}
	return serve(ctx, stop, e, o.toolkit, logger)
}

// options are the values of the flags: the exporter's settings in cfg,
// which starts as exporter.Defaults, and what main turns into settings.
type options struct {
	cfg                         exporter.Config
	timezone                    string
	include, exclude, countOnly string
	akFile, skFile              string
	demo                        bool
	toolkit                     *web.FlagConfig
	logging                     *promslog.Config
}

// parseFlags reads args into options. On an error it returns nil and the
// exit status 2; --help and --version print and exit (kingpin's way).
func parseFlags(args []string, stderr io.Writer) (*options, int) {
	app := kingpin.New(name, "Prometheus exporter for NAVER Cloud Platform Media Intelligence.")
	app.ErrorWriter(stderr)
	app.UsageWriter(stderr)
	o := &options{cfg: exporter.Defaults(), logging: &promslog.Config{Writer: stderr}}
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

// itoa, ftoa and dur write a default as --help shows it: "8", "0.5",
// "10s", "1m" (model.Duration's form, not time.Duration's "1m0s").
func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
func ftoa(v float64) string            { return strconv.FormatFloat(v, 'g', -1, 64) }
func dur(d time.Duration) string       { return model.Duration(d).String() }

// define declares the exporter's own flags; each default is the value
// exporter.Defaults gives, and each flag writes into o.cfg where it can.
func (o *options) define(app *kingpin.Application) {
	flag, c := app.Flag, &o.cfg
	flag("mi.api-url", "Media Intelligence API base URL.").Default(c.API.BaseURL).StringVar(&c.API.BaseURL)
	flag("mi.workspace", "Workspace to scrape (repeatable). Default: every workspace the key can see.").StringsVar(&c.Scrape.Workspaces)
	flag("mi.concurrency", "API requests in flight at most, per scrape.").Default(itoa(c.Scrape.Concurrency)).IntVar(&c.Scrape.Concurrency)
	flag("mi.page-size", "Page size for paged lists (1-1000).").Default(itoa(c.API.PageSize)).IntVar(&c.API.PageSize)
	flag("mi.timezone", "Time zone of API times that carry no offset.").Default(c.API.Location.String()).StringVar(&o.timezone)
	flag("mi.max-body-size", "Largest API response body accepted, in bytes.").Default(itoa(c.API.MaxBodyBytes)).Int64Var(&c.API.MaxBodyBytes)
	flag("mi.max-attempts", "Requests sent at most for one API call (retries + 1).").Default(itoa(c.API.MaxAttempts)).IntVar(&c.API.MaxAttempts)
	flag("mi.rate-limit", "Requests per second to the API, shared by all scrapes (0: no limit). Halved on a 429, recovers on its own.").Default(ftoa(c.RateLimit)).Float64Var(&c.RateLimit)
	flag("mi.rate-burst", "Burst allowed above --mi.rate-limit.").Default(itoa(c.RateBurst)).IntVar(&c.RateBurst)
	flag("mi.project-include", "Only scrape projects whose ID or name matches this regular expression (anchored).").StringVar(&o.include)
	flag("mi.project-exclude", "Skip projects whose ID or name matches this regular expression (anchored).").StringVar(&o.exclude)
	flag("mi.count-only", "Only count the assets of projects whose ID or name matches this regular expression (one request per project, no per-format series).").StringVar(&o.countOnly)
	flag("mi.count-only-all", "Only count the assets of every project.").BoolVar(&c.Scrape.CountOnlyAll)
	flag("ncp.access-key-file", "File holding the NCP access key (re-read when it changes). Default: NCLOUD_ACCESS_KEY.").StringVar(&o.akFile)
	flag("ncp.secret-key-file", "File holding the NCP secret key (re-read when it changes). Default: NCLOUD_SECRET_KEY.").StringVar(&o.skFile)
	flag("scrape.timeout", "Scrape deadline when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default(dur(c.Serve.Timeout)).DurationVar(&c.Serve.Timeout)
	flag("scrape.timeout-offset", "Time taken off Prometheus' scrape timeout, to answer in time.").Default(dur(c.Serve.TimeoutOffset)).DurationVar(&c.Serve.TimeoutOffset)
	flag("scrape.cache-ttl", "Serve a project's asset figures from memory while younger than this (0: off).").Default(dur(c.Scrape.CacheTTL)).DurationVar(&c.Scrape.CacheTTL)
	flag("scrape.histograms", "Export per-project asset size and duration histograms (--no-scrape.histograms to turn off).").Default(strconv.FormatBool(c.Serve.Histograms)).BoolVar(&c.Serve.Histograms)
	flag("web.telemetry-path", "Path under which to expose metrics.").Default(c.TelemetryPath).StringVar(&c.TelemetryPath)
	flag("web.max-requests", "Requests to /metrics, /probe and /discovery served at once; more get 503.").Default(itoa(c.Serve.MaxInFlight)).IntVar(&c.Serve.MaxInFlight)
	flag("status.window", "Track the import, analysis and scene summary status of assets created or updated within this window (0: off; --demo: 30m).").Default(dur(c.Status.Window)).DurationVar(&c.Status.Window)
	flag("status.recheck", "Check a moving status (upload in progress, analysis or scene summary waiting or running) again after this.").Default(dur(c.Status.Recheck)).DurationVar(&c.Status.Recheck)
	flag("status.reverify", "Check a settled status again after this, even when the asset's updatedTime has not changed.").Default(dur(c.Status.Reverify)).DurationVar(&c.Status.Reverify)
	flag("status.rate", "Status requests per second, all together (below --mi.rate-limit when that is set).").Default(ftoa(c.Status.Rate)).Float64Var(&c.Status.Rate)
	flag("status.state-file", "Keep the status tracker's state in this file across restarts (default: in memory).").StringVar(&c.StateFile)
	flag("status.scene-summaries", "Track the scene summary of analysed recent assets too (--no-status.scene-summaries: no such call is made).").Default(strconv.FormatBool(c.Status.SceneSummaries)).BoolVar(&c.Status.SceneSummaries)
	flag("demo", "Serve synthetic demo data from a built-in API simulator; needs no NCP account.").BoolVar(&o.demo)
}

// badFlag names a flag whose value is out of range, and what it wants.
type badFlag struct{ flag, want string }

// invalid returns the first flag whose value is out of range, or nil.
func (o *options) invalid() *badFlag {
	c := &o.cfg
	for _, check := range []struct {
		bad  bool
		flag string
		want string
	}{
		{c.Scrape.Concurrency < 1, "--mi.concurrency", "at least 1"},
		{c.API.MaxAttempts < 1, "--mi.max-attempts", "at least 1"},
		{c.API.MaxBodyBytes < 1024, "--mi.max-body-size", "at least 1024 bytes"},
		{c.RateLimit < 0, "--mi.rate-limit", "0 (off) or more"},
		{c.RateLimit > 0 && c.RateBurst < 1, "--mi.rate-burst", "at least 1"},
		{c.Serve.Timeout <= 0, "--scrape.timeout", "more than 0"},
		{c.Serve.TimeoutOffset < 0, "--scrape.timeout-offset", "0 or more"},
		{c.Scrape.CacheTTL < 0, "--scrape.cache-ttl", "0 (off) or more"},
		{c.Serve.MaxInFlight < 1, "--web.max-requests", "at least 1"},
		{c.Status.Window < 0, "--status.window", "0 (off) or more"},
		{c.Status.Recheck <= 0, "--status.recheck", "more than 0"},
		{c.Status.Reverify <= 0, "--status.reverify", "more than 0"},
		{c.Status.Rate <= 0, "--status.rate", "more than 0"},
	} {
		if check.bad {
			return &badFlag{check.flag, check.want}
		}
	}
	return nil
}

// config completes the exporter's configuration from the options: the
// API and its credentials (the built-in simulator's with --demo), the
// zone and the project filters. closeDemo stops the simulator, if one was
// started; it is never nil.
func (o *options) config(getenv func(string) string, logger *slog.Logger) (cfg exporter.Config, closeDemo func(), err error) {
	closeDemo = func() {}
	cfg = o.cfg
	// The state file is kept for one API; the demo's simulator listens on
	// a new port at each start, but serves the same data.
	cfg.Status.APIURL = cfg.API.BaseURL
	if o.demo {
		sim := mitest.NewDemoServer(mitest.WithLogger(logger.With("component", "simulator")))
		closeDemo = sim.Close
		cfg.API.BaseURL, cfg.Status.APIURL = sim.URL, "demo"
		cfg.API.Credentials = client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey))
		logger.Warn("demo mode: serving SYNTHETIC data from the built-in API simulator", "api_url", sim.URL)
		if cfg.Status.Window == 0 {
			cfg.Status.Window = demoWindow
		}
	} else if cfg.API.Credentials, err = loadCredentials(o.akFile, o.skFile, getenv); err != nil {
		return cfg, closeDemo, fmt.Errorf("no usable credentials: %w", err)
	}
	if cfg.API.Location, err = time.LoadLocation(o.timezone); err != nil {
		return cfg, closeDemo, fmt.Errorf("--mi.timezone: %w", err)
	}
	filters, err := compileFilters(o.include, o.exclude, o.countOnly)
	if err != nil {
		return cfg, closeDemo, err
	}
	cfg.Scrape.ProjectInclude, cfg.Scrape.ProjectExclude, cfg.Scrape.CountOnly = filters[0], filters[1], filters[2]
	cfg.API.UserAgent = name + "/" + version.Version
	cfg.Landing = landing(o.demo)
	cfg.Logger = logger
	return cfg, closeDemo, nil
}

// compileFilters compiles the project filters, in the order given; the
// error names the expression that does not compile.
func compileFilters(exprs ...string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, len(exprs))
	for i, expr := range exprs {
		re, err := scrape.CompileFilter(expr)
		if err != nil {
			return nil, fmt.Errorf("invalid project filter %q: %w", expr, err)
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
		fc := &credentials.Files{AccessKeyFile: akFile, SecretKeyFile: skFile}
		if _, err := fc.Credentials(context.Background()); err != nil {
			return nil, err
		}
		return fc, nil
	}
	return credentials.FromEnv(getenv)
}
