// Package exporter puts the exporter together from its configuration: for
// each NCP account its API client and rate limiters, status tracker,
// scraper and (in background mode) refresher; the HTTP handlers; the
// routes with the landing page; and the reload of the accounts. The
// binary (main) and the tests build the exporter with New, from Defaults,
// so that what is tested is what runs.
package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

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
	// Accounts are the NCP accounts read: at least one, each name once.
	Accounts []AccountConfig
	// Reload, when set, returns the accounts anew, for Exporter.Reload:
	// the configuration file read again. An error keeps the running
	// accounts.
	Reload func() ([]AccountConfig, error)
	// ConfigFile, with Reload, is watched: a change of its content
	// reloads within ConfigCheckInterval (DefaultConfigCheckInterval when
	// 0).
	ConfigFile          string
	ConfigCheckInterval time.Duration
	// EnableLifecycle allows POST /-/reload (--web.enable-lifecycle);
	// without it the endpoint answers 403.
	EnableLifecycle bool
	// Background answers every scrape from memory, which a refresher of
	// each account keeps up to date on its own schedule (Refresh);
	// otherwise each scrape reads the API (on-scrape mode).
	Background bool
	Refresh    scrape.RefreshConfig
	// Serve configures the HTTP side. New sets its Process, Metrics and
	// Logger.
	Serve handler.Options
	// Status turns status tracking on when Status.Window is positive; its
	// Rate is each account's StatusRate. New sets its Logger, Store,
	// Account and APIURL.
	Status status.Config
	// StateFile keeps the status trackers' state across restarts (in
	// memory when ""). A state file of one account (release 0.2.0) is
	// taken as LegacyAccount's (DefaultAccount when "").
	StateFile     string
	LegacyAccount string
	// TelemetryPath is where the metrics are served (DefaultTelemetryPath
	// when "").
	TelemetryPath string
	// Landing is the landing page at "/"; none when TelemetryPath is "/".
	Landing Landing
	// Logger receives every part's log lines; nil discards them.
	Logger *slog.Logger
}

// AccountConfig is the configuration of one NCP account.
type AccountConfig struct {
	// Name labels every series of the account: [a-z0-9][a-z0-9_-]{0,62}.
	Name string
	// Labels are static labels of the account, on account_info.
	Labels map[string]string
	// API configures the account's API client (its key in Credentials).
	// New sets its Observer, and its Transport when nil: one keep-alive
	// pool of Scrape.Concurrency connections for the scrapes and the
	// status checks.
	API client.Config
	// RateLimit, when positive, paces every API request of the account by
	// an adaptive limiter of RateLimit requests a second with a burst of
	// RateBurst (client.DefaultRateBurst when 0); it replaces API.Limiter.
	RateLimit float64
	RateBurst int
	// Scrape selects and bounds what a scrape of the account reads. New
	// sets its Account, Tracker and Logger.
	Scrape scrape.Config
	// StatusRate paces the account's status requests (status.DefaultRate
	// when 0), within RateLimit too.
	StatusRate float64
	// StateKey names the API in the state file (API.BaseURL when ""): a
	// state kept for another API is not used.
	StateKey string
	// Origin identifies what the account was made from (its entry of the
	// configuration file): a reload keeps an account running when its
	// Origin is unchanged and not "".
	Origin string
	// Key says where the account's key comes from (the debug probe, the
	// key's expiry); nil says nothing.
	Key handler.KeyInfo
}

// Defaults of Config.
const (
	DefaultTelemetryPath       = "/metrics"
	DefaultAccount             = "default"
	DefaultConfigCheckInterval = 2 * time.Second
)

// Defaults returns the configuration the binary runs with when no flag is
// given, less the credentials: main takes every flag's default from it,
// and exportertest starts from it, so that the tests build what ships.
func Defaults() Config {
	// The zone is embedded (package client imports time/tzdata): it loads.
	seoul, _ := time.LoadLocation(client.DefaultTimezone)
	return Config{
		Accounts: []AccountConfig{{
			Name: DefaultAccount,
			API: client.Config{
				BaseURL:      client.DefaultBaseURL,
				PageSize:     client.DefaultPageSize,
				MaxBodyBytes: client.DefaultMaxBodyBytes,
				MaxAttempts:  client.DefaultMaxAttempts,
				Location:     seoul,
			},
			RateBurst:  client.DefaultRateBurst,
			Scrape:     scrape.Config{Concurrency: scrape.DefaultConcurrency},
			StatusRate: status.DefaultRate,
		}},
		Refresh: scrape.RefreshConfig{Interval: scrape.DefaultRefreshInterval},
		Serve: handler.Options{
			Timeout:       handler.DefaultTimeout,
			TimeoutOffset: handler.DefaultTimeoutOffset,
			MaxInFlight:   handler.DefaultMaxInFlight,
			Histograms:    true,
		},
		Status: status.Config{
			Recheck:        status.DefaultRecheck,
			Reverify:       status.DefaultReverify,
			SceneSummaries: true,
		},
		LegacyAccount: DefaultAccount,
		TelemetryPath: DefaultTelemetryPath,
	}
}

// Landing says what the landing page shows.
type Landing struct {
	Name, Description, Version string
}

// Exporter is the exporter's parts, wired together.
type Exporter struct {
	// Process holds the process-lifetime metrics: API requests, limiters,
	// caches, trackers, refreshers, serving, reloads, build info, Go and
	// process.
	Process *prometheus.Registry
	Serving *collector.ServingMetrics
	Handler *handler.Handler
	// Routes serves the telemetry path, /probe, /discovery, /-/healthy,
	// /-/ready, /-/reload, /internal/metrics and the landing page.
	Routes http.Handler

	cfg     Config
	log     *slog.Logger
	apiObs  *collector.APIMetrics
	reloads *collector.ReloadMetrics
	store   *status.Store

	mu       sync.Mutex      // one reload at a time; guards bg
	bg       context.Context // the background work's, once started
	accounts atomic.Pointer[accountSet]
	started  atomic.Bool
	ready    atomic.Bool                  // Ready has said so once
	landing  atomic.Pointer[http.Handler] // "/", rebuilt by a reload
	stopped  chan struct{}                // closed when the background work has ended
}

// Account is one NCP account's parts, running.
type Account struct {
	Config AccountConfig
	API    *client.Client
	// Limiter is the rate limiter every request of the account waits for;
	// nil without a RateLimit.
	Limiter *client.AdaptiveLimiter
	// Tracker is nil without status tracking.
	Tracker *status.Tracker
	// statusAPI is the client the Tracker asks: API within the status
	// budget.
	statusAPI status.API
	Scraper   *scrape.Scraper
	// Refresher is nil in on-scrape mode.
	Refresher *scrape.Refresher

	served *handler.Account
	stop   func() // ends its background work and waits for it; nil when it does not run
}

// accountSet is the accounts read now, sorted by name.
type accountSet struct {
	list   []*Account
	served []*handler.Account
}

// List implements handler.Accounts.
func (e *Exporter) List() []*handler.Account { return e.accounts.Load().served }

// Accounts returns the accounts read now, sorted by name.
func (e *Exporter) Accounts() []*Account { return e.accounts.Load().list }

// Account returns the account of that name, or nil.
func (e *Exporter) Account(name string) *Account {
	for _, a := range e.Accounts() {
		if a.Config.Name == name {
			return a
		}
	}
	return nil
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

// New builds an exporter from cfg, with the state file loaded; it starts
// nothing: Start does. Its errors are *ConfigError.
func New(cfg Config) (*Exporter, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TelemetryPath == "" {
		cfg.TelemetryPath = DefaultTelemetryPath
	}
	if cfg.LegacyAccount == "" {
		cfg.LegacyAccount = DefaultAccount
	}
	if err := checkAccounts(cfg.Accounts); err != nil {
		return nil, refused("invalid configuration", err)
	}
	if cfg.Background && cfg.Refresh.MaxStaleness > 0 && cfg.Refresh.MaxStaleness < cfg.Refresh.Interval {
		return nil, refused("invalid configuration", fmt.Errorf("the staleness limit %v is shorter than the refresh interval %v", cfg.Refresh.MaxStaleness, cfg.Refresh.Interval))
	}
	e := &Exporter{Process: prometheus.NewRegistry(), cfg: cfg, log: cfg.Logger, stopped: make(chan struct{})}
	e.Process.MustRegister(
		versioncollector.NewCollector(collector.Namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector.NewAccountsCollector(e.parts),
	)
	e.apiObs = collector.NewAPIMetrics(e.Process)
	e.Serving = collector.NewServingMetrics(e.Process)
	if cfg.Reload != nil {
		e.reloads = collector.NewReloadMetrics(e.Process)
		e.reloads.Loaded(true, time.Now())
	}
	if cfg.StateFile != "" && cfg.Status.Window > 0 {
		var err error
		if e.store, err = status.OpenStore(cfg.StateFile, cfg.LegacyAccount, cfg.Logger.With("component", "status")); err != nil {
			return nil, refused("status tracking", err)
		}
	}
	set, err := e.build(cfg.Accounts, nil)
	if err != nil {
		e.closeStore()
		return nil, err
	}
	e.accounts.Store(set)
	e.retainState()
	serve := cfg.Serve
	serve.Process, serve.Metrics, serve.Logger = e.Process, e.Serving, cfg.Logger
	e.Handler = handler.New(e, serve)
	if e.Routes, err = e.routes(); err != nil {
		e.closeStore()
		return nil, err
	}
	return e, nil
}

// checkAccounts refuses an empty list, a bad name and a name used twice.
func checkAccounts(accts []AccountConfig) error {
	if len(accts) == 0 {
		return errors.New("no account")
	}
	seen := map[string]bool{}
	for _, a := range accts {
		if !handler.ValidAccountName(a.Name) {
			return fmt.Errorf("account name %q: want [a-z0-9][a-z0-9_-]{0,62}", a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("account %q is named twice", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// build makes the accounts of cfgs, reusing those of old whose Origin is
// unchanged and not ""; the others of old are left to the caller. On an
// error nothing built is kept.
func (e *Exporter) build(cfgs []AccountConfig, old *accountSet) (*accountSet, error) {
	set := &accountSet{}
	for _, ac := range cfgs {
		if o := old.find(ac.Name); o != nil && ac.Origin != "" && o.Config.Origin == ac.Origin {
			set.list = append(set.list, o)
			continue
		}
		a, err := e.newAccount(ac, old.find(ac.Name))
		if err != nil {
			for _, b := range set.list {
				if !slices.Contains(old.all(), b) {
					b.discard()
				}
			}
			return nil, err
		}
		set.list = append(set.list, a)
	}
	slices.SortFunc(set.list, func(a, b *Account) int { return cmp.Compare(a.Config.Name, b.Config.Name) })
	for _, a := range set.list {
		set.served = append(set.served, a.served)
	}
	return set, nil
}

func (s *accountSet) all() []*Account {
	if s == nil {
		return nil
	}
	return s.list
}

func (s *accountSet) find(name string) *Account {
	for _, a := range s.all() {
		if a.Config.Name == name {
			return a
		}
	}
	return nil
}

// newAccount builds one account's parts; nothing runs yet. prev, when not
// nil, is the account of that name that ran before (a reload changed
// it): its status tracker and refresher go on, with the new client and
// scraper, unless the account now reads another API.
func (e *Exporter) newAccount(ac AccountConfig, prev *Account) (*Account, error) {
	a := &Account{Config: ac}
	api := ac.API
	api.Observer = e.apiObs.ForAccount(ac.Name)
	if api.Transport == nil {
		concurrency := ac.Scrape.Concurrency
		if concurrency <= 0 {
			concurrency = scrape.DefaultConcurrency
		}
		api.Transport = client.NewTransport(concurrency)
	}
	if ac.RateLimit > 0 {
		burst := ac.RateBurst
		if burst <= 0 {
			burst = client.DefaultRateBurst
		}
		a.Limiter = client.NewAdaptiveLimiter(ac.RateLimit, burst)
		api.Limiter = a.Limiter
	}
	var err error
	if a.API, err = client.New(api); err != nil {
		e.apiObs.Forget(ac.Name)
		return nil, refused(fmt.Sprintf("invalid API client configuration of account %q", ac.Name), err)
	}
	if err := e.newTracker(a, prev); err != nil {
		e.apiObs.Forget(ac.Name)
		return nil, err
	}
	sc := ac.Scrape
	sc.Account, sc.Logger, sc.Tracker = ac.Name, e.log, nil
	if a.Tracker != nil {
		sc.Tracker = a.Tracker // an interface: a nil *status.Tracker in it would not be nil
	}
	if a.Scraper, err = scrape.NewScraper(a.API, sc); err != nil {
		a.discard()
		return nil, refused(fmt.Sprintf("invalid configuration of account %q", ac.Name), err)
	}
	if e.cfg.Background {
		if prev != nil && prev.Refresher != nil && stateKey(prev.Config) == stateKey(ac) {
			// The same account on the same API: its figures stay in
			// service while the next pass, with the new settings, reads.
			a.Refresher = prev.Refresher
			a.Refresher.Use(a.Scraper)
		} else {
			a.Refresher = scrape.NewRefresher(a.Scraper, e.cfg.Refresh)
		}
	}
	a.served = handler.NewAccount(handler.Account{Name: ac.Name, Labels: ac.Labels, Scraper: a.Scraper, Refresher: a.Refresher, Key: ac.Key})
	return a, nil
}

// newTracker makes the account's status tracker, when tracking is on:
// its requests have a budget of their own, below the account's limiter.
func (e *Exporter) newTracker(a *Account, prev *Account) error {
	if e.cfg.Status.Window <= 0 {
		return nil
	}
	key := stateKey(a.Config)
	st := e.cfg.Status
	st.Rate = a.Config.StatusRate
	if st.Rate <= 0 {
		st.Rate = status.DefaultRate
	}
	st.Logger = e.log.With("component", "status") // the tracker adds the account
	st.Store, st.Account = e.store, a.Config.Name
	st.APIURL = key
	budget := client.Limiters{client.NewAdaptiveLimiter(st.Rate, 1)}
	if a.Limiter != nil {
		budget = append(budget, a.Limiter)
	}
	a.statusAPI = a.API.WithLimiter(budget) // the same connections and buffers
	if prev != nil && prev.Tracker != nil && stateKey(prev.Config) == key {
		// The same account on the same API: what its tracker knows
		// holds, with or without a state file.
		a.Tracker = prev.Tracker
		a.Tracker.Use(a.statusAPI)
		return nil
	}
	var err error
	if a.Tracker, err = status.New(a.statusAPI, st); err != nil {
		return refused(fmt.Sprintf("status tracking of account %q", a.Config.Name), err)
	}
	return nil
}

// stateKey names an account's API in the state file.
func stateKey(ac AccountConfig) string {
	return cmp.Or(ac.StateKey, ac.API.BaseURL, client.DefaultBaseURL)
}

// discard lets go of an account that never ran.
func (a *Account) discard() { a.API.CloseIdleConnections() }

// parts lists the accounts' parts whose figures collector exports.
func (e *Exporter) parts() []collector.AccountParts {
	set := e.accounts.Load()
	if set == nil {
		return nil
	}
	out := make([]collector.AccountParts, len(set.list))
	for i, a := range set.list {
		out[i] = collector.AccountParts{Name: a.Config.Name, Limiter: a.Limiter, Scraper: a.Scraper, Tracker: a.Tracker, Refresher: a.Refresher}
	}
	return out
}

// retainState forgets, in the state file, the accounts not read now.
func (e *Exporter) retainState() {
	if e.store == nil {
		return
	}
	var names []string
	for _, a := range e.Accounts() {
		names = append(names, a.Config.Name)
	}
	if err := e.store.Retain(names); err != nil {
		e.log.Error("forgetting the state of accounts no longer read", "err", err)
	}
}

func (e *Exporter) closeStore() {
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			e.log.Warn("closing the status state file", "err", err)
		}
	}
}
