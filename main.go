// Command mediaintel_exporter exports the media inventory of NAVER Cloud
// Platform's Media Intelligence service as Prometheus metrics.
//
// main reads the flags into options, turns them and the configuration
// file into the exporter's configuration (accounts.go), listens, has
// exporter build the parts, and serves them until a signal.
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
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/mediaintel/mediaintel_exporter/exporter"
)

const name = "mediaintel_exporter"

// defaultPort is in the exporter range 9100-9999; see the README.
const defaultPort = ":9847"

// The scrape modes (--scrape.mode).
const (
	modeOnScrape   = "on-scrape"
	modeBackground = "background"
)

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

	cfg, closeDemo, err := o.config(ctx, getenv, logger)
	defer closeDemo()
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		return 1
	}
	return serve(ctx, stop, cfg, o.toolkit, logger)
}

// options are the values of the flags: the exporter's settings in cfg,
// which starts as exporter.Defaults (its one account is the template of
// every account), and what main turns into settings.
type options struct {
	cfg                         exporter.Config
	mode                        string
	configFile                  string
	profile                     string
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
		fmt.Fprintf(stderr, "%s: %v\n", name, nameFlag(app, args, err))
		return nil, 2
	}
	return o, 0
}

// nameFlag puts the flag and its value in front of err when err is the
// error of a flag's value (kingpin says "time: invalid duration" without
// saying which flag). It finds the flag by setting each flag's value again,
// in order, as kingpin did: parseFlags exits after it, so the values it
// sets again do not matter. Any other error is returned as it is.
func nameFlag(app *kingpin.Application, args []string, err error) error {
	ctx, perr := app.ParseContext(args)
	if perr != nil {
		return err
	}
	for _, e := range ctx.Elements {
		f, ok := e.Clause.(*kingpin.FlagClause)
		if !ok || e.Value == nil {
			continue
		}
		m := f.Model()
		if serr := m.Value.Set(*e.Value); serr != nil && serr.Error() == err.Error() {
			return fmt.Errorf("--%s=%q: %w", m.Name, *e.Value, err)
		}
	}
	return err
}

// itoa, ftoa and dur write a default as --help shows it: "8", "0.5",
// "10s", "1m" (model.Duration's form, not time.Duration's "1m0s").
func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
func ftoa(v float64) string            { return strconv.FormatFloat(v, 'g', -1, 64) }
func dur(d time.Duration) string       { return model.Duration(d).String() }

// define declares the exporter's own flags; each default is the value
// exporter.Defaults gives, and each flag writes into o.cfg where it can.
// The account flags (--mi.*, --ncp.account, --status.rate) are the
// template account's: the one account without --config.file, the
// defaults of each account of the file.
func (o *options) define(app *kingpin.Application) {
	flag, c, a := app.Flag, &o.cfg, &o.cfg.Accounts[0]
	flag("config.file", "Configuration file of the NCP accounts to read (YAML; see docs/configuration.md). Without it one account is read, with NCP's credential chain. Reloaded on SIGHUP, on POST /-/reload and when it changes.").StringVar(&o.configFile)
	flag("ncp.account", "Name of the account read without --config.file: its account label. A state file of one account (0.2.0) is taken as this account's.").Default(a.Name).StringVar(&a.Name)
	flag("ncp.profile", "Profile of ~/.ncloud/configure for the account read without --config.file (default: $NCLOUD_PROFILE, else DEFAULT).").StringVar(&o.profile)
	flag("ncp.access-key-file", "File holding the NCP access key (re-read when it changes), for the account read without --config.file. Default: NCP's credential chain (environment, ~/.ncloud/configure, server role).").StringVar(&o.akFile)
	flag("ncp.secret-key-file", "File holding the NCP secret key (re-read when it changes); with --ncp.access-key-file.").StringVar(&o.skFile)
	flag("mi.api-url", "Media Intelligence API base URL.").Default(a.API.BaseURL).StringVar(&a.API.BaseURL)
	flag("mi.workspace", "Workspace to scrape (repeatable). Default: every workspace the key can see.").StringsVar(&a.Scrape.Workspaces)
	flag("mi.concurrency", "API requests in flight at most, per scrape of an account.").Default(itoa(a.Scrape.Concurrency)).IntVar(&a.Scrape.Concurrency)
	flag("mi.page-size", "Page size for paged lists (1-1000).").Default(itoa(a.API.PageSize)).IntVar(&a.API.PageSize)
	flag("mi.timezone", "Time zone of API times that carry no offset.").Default(a.API.Location.String()).StringVar(&o.timezone)
	flag("mi.max-body-size", "Largest API response body accepted, in bytes.").Default(itoa(a.API.MaxBodyBytes)).Int64Var(&a.API.MaxBodyBytes)
	flag("mi.max-attempts", "Requests sent at most for one API call (retries + 1).").Default(itoa(a.API.MaxAttempts)).IntVar(&a.API.MaxAttempts)
	flag("mi.rate-limit", "Requests per second to the API, per account, shared by all its scrapes (0: no limit). Halved on a 429, recovers on its own.").Default(ftoa(a.RateLimit)).Float64Var(&a.RateLimit)
	flag("mi.rate-burst", "Burst allowed above --mi.rate-limit.").Default(itoa(a.RateBurst)).IntVar(&a.RateBurst)
	flag("mi.project-include", "Only scrape projects whose ID or name matches this regular expression (anchored).").StringVar(&o.include)
	flag("mi.project-exclude", "Skip projects whose ID or name matches this regular expression (anchored).").StringVar(&o.exclude)
	flag("mi.count-only", "Only count the assets of projects whose ID or name matches this regular expression (one request per project, no per-format series).").StringVar(&o.countOnly)
	flag("mi.count-only-all", "Only count the assets of every project.").BoolVar(&a.Scrape.CountOnlyAll)
	flag("scrape.mode", "on-scrape: each scrape reads the API; background: a refresh on its own schedule reads it, and every scrape is answered from memory.").Default(modeOnScrape).EnumVar(&o.mode, modeOnScrape, modeBackground)
	flag("scrape.refresh-interval", "Background mode: time from the start of one refresh pass to the start of the next.").Default(dur(c.Refresh.Interval)).DurationVar(&c.Refresh.Interval)
	flag("scrape.max-staleness", "Background mode: a project's figures older than this are not exported (0: three refresh intervals).").Default(dur(c.Refresh.MaxStaleness)).DurationVar(&c.Refresh.MaxStaleness)
	flag("scrape.timeout", "Scrape deadline when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default(dur(c.Serve.Timeout)).DurationVar(&c.Serve.Timeout)
	flag("scrape.timeout-offset", "Time taken off Prometheus' scrape timeout, to answer in time.").Default(dur(c.Serve.TimeoutOffset)).DurationVar(&c.Serve.TimeoutOffset)
	flag("scrape.cache-ttl", "On-scrape mode: serve a project's asset figures from memory while younger than this (0: off).").Default(dur(a.Scrape.CacheTTL)).DurationVar(&a.Scrape.CacheTTL)
	flag("scrape.histograms", "Export per-project asset size and duration histograms (--no-scrape.histograms to turn off).").Default(strconv.FormatBool(c.Serve.Histograms)).BoolVar(&c.Serve.Histograms)
	flag("web.telemetry-path", "Path under which to expose metrics.").Default(c.TelemetryPath).StringVar(&c.TelemetryPath)
	flag("web.max-requests", "Requests to /metrics, /probe and /discovery served at once; more get 503.").Default(itoa(c.Serve.MaxInFlight)).IntVar(&c.Serve.MaxInFlight)
	flag("web.enable-lifecycle", "Allow POST /-/reload (as Prometheus' flag of that name does).").BoolVar(&c.EnableLifecycle)
	flag("status.window", "Track the import, analysis and scene summary status of assets created or updated within this window (0: off; --demo: 30m).").Default(dur(c.Status.Window)).DurationVar(&c.Status.Window)
	flag("status.recheck", "Check a moving status (upload in progress, analysis or scene summary waiting or running) again after this.").Default(dur(c.Status.Recheck)).DurationVar(&c.Status.Recheck)
	flag("status.reverify", "Check a settled status again after this, even when the asset's updatedTime has not changed.").Default(dur(c.Status.Reverify)).DurationVar(&c.Status.Reverify)
	flag("status.rate", "Status requests per second of an account, all together (below --mi.rate-limit when that is set).").Default(ftoa(a.StatusRate)).Float64Var(&a.StatusRate)
	flag("status.state-file", "Keep the status trackers' state of every account in this file across restarts (default: in memory).").StringVar(&c.StateFile)
	flag("status.scene-summaries", "Track the scene summary of analysed recent assets too (--no-status.scene-summaries: no such call is made).").Default(strconv.FormatBool(c.Status.SceneSummaries)).BoolVar(&c.Status.SceneSummaries)
	flag("demo", "Serve synthetic demo data of two accounts from a built-in API simulator; needs no NCP account.").BoolVar(&o.demo)
}

// badFlag names a flag whose value is out of range, and what it wants.
type badFlag struct{ flag, want string }

// invalid returns the first flag whose value is out of range, or nil.
func (o *options) invalid() *badFlag {
	c, a := &o.cfg, &o.cfg.Accounts[0]
	background := o.mode == modeBackground
	for _, check := range []struct {
		bad  bool
		flag string
		want string
	}{
		{a.Scrape.Concurrency < 1, "--mi.concurrency", "at least 1"},
		{a.API.MaxAttempts < 1, "--mi.max-attempts", "at least 1"},
		{a.API.MaxBodyBytes < 1024, "--mi.max-body-size", "at least 1024 bytes"},
		{a.RateLimit < 0, "--mi.rate-limit", "0 (off) or more"},
		{a.RateLimit > 0 && a.RateBurst < 1, "--mi.rate-burst", "at least 1"},
		{c.Serve.Timeout <= 0, "--scrape.timeout", "more than 0"},
		{c.Serve.TimeoutOffset < 0, "--scrape.timeout-offset", "0 or more"},
		{a.Scrape.CacheTTL < 0, "--scrape.cache-ttl", "0 (off) or more"},
		{background && a.Scrape.CacheTTL > 0, "--scrape.cache-ttl", "0 with --scrape.mode=background (the two are alternatives: the refresh keeps every figure in memory)"},
		{c.Refresh.Interval <= 0, "--scrape.refresh-interval", "more than 0"},
		{c.Refresh.MaxStaleness < 0, "--scrape.max-staleness", "0 (three intervals) or more"},
		{c.Refresh.MaxStaleness > 0 && c.Refresh.MaxStaleness < c.Refresh.Interval, "--scrape.max-staleness", "at least --scrape.refresh-interval"},
		{c.Serve.MaxInFlight < 1, "--web.max-requests", "at least 1"},
		{c.Status.Window < 0, "--status.window", "0 (off) or more"},
		{c.Status.Recheck <= 0, "--status.recheck", "more than 0"},
		{c.Status.Reverify <= 0, "--status.reverify", "more than 0"},
		{a.StatusRate <= 0, "--status.rate", "more than 0"},
		{o.demo && o.configFile != "", "--demo", "no --config.file (the demo brings its own two accounts)"},
	} {
		if check.bad {
			return &badFlag{check.flag, check.want}
		}
	}
	return nil
}

// serve listens at once (/-/healthy answers, /-/ready says 503 until the
// exporter is built, its state file loaded and, in background mode, the
// first refresh pass ended), builds and starts the exporter, and serves
// until ctx ends (a signal) or the server fails; SIGHUP reloads the
// configuration file. It returns the exit status.
func serve(ctx context.Context, stop context.CancelFunc, cfg exporter.Config, toolkit *web.FlagConfig, logger *slog.Logger) int {
	var routes atomic.Pointer[http.Handler]
	srv := newHTTPServer(starting(&routes))
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, toolkit, logger) }()
	shutdown := func() {
		// ctx may have ended: the shutdown gets 5 s of its own.
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}

	e, err := exporter.New(cfg)
	if err != nil {
		if ce, ok := errors.AsType[*exporter.ConfigError](err); ok {
			logger.Error(ce.What, "err", ce.Err)
		} else {
			logger.Error("invalid configuration", "err", err)
		}
		shutdown()
		return 1
	}
	// Stopped with the server; the trackers commit the state file on the
	// way out.
	stopBackground := e.Start(ctx)
	defer stopBackground()
	routes.Store(&e.Routes)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if cfg.Reload == nil {
				logger.Warn("SIGHUP: there is no configuration file to reload (--config.file)")
				continue
			}
			logger.Info("SIGHUP: reloading the configuration file", "file", cfg.ConfigFile)
			_ = e.Reload() // Reload logs what failed, and keeps the running accounts
		case <-ctx.Done():
			shutdown()
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("server failed", "err", err)
				return 1
			}
			logger.Info("stopped")
			return 0
		case err := <-served:
			stop()
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("server failed", "err", err)
				return 1
			}
			return 0
		}
	}
}

// starting serves routes once they are set; before, /-/healthy answers
// 200 and everything else 503, so that a probe of the starting exporter
// sees it alive and not yet ready.
func starting(routes *atomic.Pointer[http.Handler]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := routes.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/-/healthy" {
			_, _ = io.WriteString(w, "Healthy\n")
			return
		}
		http.Error(w, "Not ready: starting (loading the state file)", http.StatusServiceUnavailable)
	})
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

// landing is what the landing page says.
func landing(demo bool) exporter.Landing {
	desc := "Prometheus exporter for NAVER Cloud Platform Media Intelligence: asset counts, bytes and durations per account, project and format."
	if demo {
		desc += " DEMO MODE: the data shown is synthetic, served by the built-in API simulator."
	}
	return exporter.Landing{Name: name, Description: desc, Version: version.Info()}
}
