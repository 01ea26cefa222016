package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/common/version"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/config"
	"github.com/mediaintel/mediaintel_exporter/credentials"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// demoWindow is --status.window's value with --demo when it is not set.
const demoWindow = 30 * time.Minute

// demoLab is the name of the demo's second account.
const demoLab = "lab"

// config completes the exporter's configuration from the options: the
// template account's zone and filters, then the accounts: the demo's two
// (the built-in simulator's keys), the configuration file's, or the one
// account of the flags with NCP's credential chain. closeDemo stops the
// simulator, if one was started; it is never nil.
func (o *options) config(ctx context.Context, getenv func(string) string, logger *slog.Logger) (cfg exporter.Config, closeDemo func(), err error) {
	closeDemo = func() {}
	cfg = o.cfg
	tmpl := cfg.Accounts[0]
	if tmpl.API.Location, err = time.LoadLocation(o.timezone); err != nil {
		return cfg, closeDemo, fmt.Errorf("--mi.timezone: %w", err)
	}
	if tmpl.Scrape.ProjectInclude, tmpl.Scrape.ProjectExclude, tmpl.Scrape.CountOnly, err = compileFilters(o.include, o.exclude, o.countOnly); err != nil {
		return cfg, closeDemo, err
	}
	tmpl.API.UserAgent = name + "/" + version.Version
	cfg.Background = o.mode == modeBackground
	cfg.LegacyAccount = tmpl.Name
	cfg.Landing = landing(o.demo)
	cfg.Logger = logger
	switch {
	case o.demo:
		sim := mitest.NewDemoServer(mitest.WithLogger(logger.With("component", "simulator")))
		closeDemo = sim.Close
		cfg.Accounts = demoAccounts(tmpl, sim.URL)
		logger.Warn("demo mode: serving SYNTHETIC data of two accounts from the built-in API simulator", "api_url", sim.URL, "accounts", []string{cfg.Accounts[0].Name, cfg.Accounts[1].Name})
		if cfg.Status.Window == 0 {
			cfg.Status.Window = demoWindow
		}
	case o.configFile != "":
		path := o.configFile
		load := func() ([]exporter.AccountConfig, error) {
			f, err := config.Load(path)
			if err != nil {
				return nil, err
			}
			return fileAccounts(f, tmpl, getenv)
		}
		if cfg.Accounts, err = load(); err != nil {
			return cfg, closeDemo, err
		}
		cfg.Reload, cfg.ConfigFile = load, path
		for _, a := range cfg.Accounts {
			logger.Info("account", "account", a.Name, "credentials", a.Key.Source(), "api_url", a.API.BaseURL)
		}
	default:
		key, err := credentials.Chain(ctx, credentials.ChainOptions{
			AccessKeyFile: o.akFile, SecretKeyFile: o.skFile,
			Getenv: getenv, Home: home(getenv), Profile: o.profile,
		})
		if err != nil && (o.akFile == "") != (o.skFile == "") {
			err = fmt.Errorf("--ncp.access-key-file and --ncp.secret-key-file go together: %w", err)
		}
		if err != nil {
			return cfg, closeDemo, fmt.Errorf("no usable credentials: %w", err)
		}
		logger.Info("credentials", "account", tmpl.Name, "source", key.Source())
		tmpl.API.Credentials, tmpl.Key = key, key
		cfg.Accounts = []exporter.AccountConfig{tmpl}
	}
	return cfg, closeDemo, nil
}

// home is the home directory of ~/.ncloud/configure: $HOME
// (%USERPROFILE% on Windows), else none.
func home(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	return getenv("USERPROFILE")
}

// demoAccounts are the demo's two accounts: the template's name (the
// simulator's first key, the demo data the state file of 0.2.0's demo
// holds) and "lab" (its second key, with a workspace of the same name).
func demoAccounts(tmpl exporter.AccountConfig, url string) []exporter.AccountConfig {
	first, lab := tmpl, tmpl
	first.API.BaseURL, lab.API.BaseURL = url, url
	// The state file is kept per API; the simulator listens on a new port
	// at each start, but serves the same data.
	first.StateKey, lab.StateKey = "demo", "demo-"+demoLab
	first.API.Credentials = client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey))
	lab.API.Credentials = client.Static(client.NewCredentials(mitest.DemoLabAccessKey, mitest.DemoLabSecretKey))
	lab.Name = demoLab
	if first.Name == demoLab {
		lab.Name = demoLab + "-2"
	}
	first.Labels, lab.Labels = map[string]string{"environment": "demo"}, map[string]string{"environment": "demo-lab"}
	first.Key, lab.Key = demoKey{}, demoKey{}
	return []exporter.AccountConfig{first, lab}
}

// demoKey says where the demo's keys come from.
type demoKey struct{}

func (demoKey) Source() string    { return "the built-in simulator's demo key" }
func (demoKey) Expiry() time.Time { return time.Time{} }

// fileAccounts turns the configuration file's accounts into the
// exporter's: each starts as the template (the flags) and takes what its
// entry sets; its key comes from its one source.
func fileAccounts(f *config.File, tmpl exporter.AccountConfig, getenv func(string) string) ([]exporter.AccountConfig, error) {
	out := make([]exporter.AccountConfig, 0, len(f.Accounts))
	for _, fa := range f.Accounts {
		a, err := fileAccount(fa, tmpl, getenv)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: account %q: %w", f.Path, fa.Line, fa.Name, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func fileAccount(fa config.Account, tmpl exporter.AccountConfig, getenv func(string) string) (exporter.AccountConfig, error) {
	a := tmpl
	a.Name, a.Labels = fa.Name, fa.Labels
	a.Scrape.Workspaces = slices.Clone(tmpl.Scrape.Workspaces)
	if fa.APIURL != nil {
		a.API.BaseURL = *fa.APIURL
	}
	if fa.Workspaces != nil {
		a.Scrape.Workspaces = slices.Clone(fa.Workspaces)
	}
	for _, f := range []struct {
		expr *string
		re   **regexp.Regexp
	}{{fa.ProjectInclude, &a.Scrape.ProjectInclude}, {fa.ProjectExclude, &a.Scrape.ProjectExclude}, {fa.CountOnly, &a.Scrape.CountOnly}} {
		if f.expr == nil {
			continue
		}
		re, err := scrape.CompileFilter(*f.expr)
		if err != nil {
			return a, fmt.Errorf("project filter %q: %w", *f.expr, err)
		}
		*f.re = re
	}
	if fa.RateLimit != nil {
		a.RateLimit = *fa.RateLimit
	}
	if fa.RateBurst != nil {
		a.RateBurst = *fa.RateBurst
	}
	if fa.Concurrency != nil {
		a.Scrape.Concurrency = *fa.Concurrency
	}
	if fa.StatusRate != nil {
		a.StatusRate = *fa.StatusRate
	}
	key, err := keyOf(fa.Source, getenv)
	if err != nil {
		return a, err
	}
	a.API.Credentials, a.Key = key, key
	// What the account was made of, but for its line: an account whose
	// entry is unchanged goes on running through a reload.
	fa.Line = 0
	origin, err := json.Marshal(fa)
	if err != nil {
		return a, fmt.Errorf("account entry: %w", err)
	}
	a.Origin = string(origin)
	return a, nil
}

// keyOf is the provider of an account's key source.
func keyOf(src config.Source, getenv func(string) string) (credentials.Provider, error) {
	switch src.Kind {
	case config.KeyFiles:
		return &credentials.Files{AccessKeyFile: src.AccessKeyFile, SecretKeyFile: src.SecretKeyFile}, nil
	case config.Configure:
		return &credentials.Configure{Path: src.Configure, Profile: src.Profile}, nil
	case config.ServerRole:
		return credentials.NewRole(credentials.RoleOptions{Endpoint: getenv(credentials.MetadataEndpointVar)})
	case config.Env:
		return credentials.Env(src.AccessKeyEnv, src.SecretKeyEnv, getenv), nil
	}
	return nil, fmt.Errorf("no credential source (kind %v)", src.Kind)
}

// compileFilters compiles the project filters of the flags: include,
// exclude, count-only. The error names the expression that does not
// compile.
func compileFilters(include, exclude, countOnly string) (inc, exc, count *regexp.Regexp, err error) {
	out := make([]*regexp.Regexp, 3)
	for i, expr := range []string{include, exclude, countOnly} {
		if out[i], err = scrape.CompileFilter(expr); err != nil {
			return nil, nil, nil, fmt.Errorf("invalid project filter %q: %w", expr, err)
		}
	}
	return out[0], out[1], out[2], nil
}
