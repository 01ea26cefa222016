package exporter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// one is the configuration of one account, default, reading sim.
func one(sim *mitest.Server) Config {
	return Config{Accounts: []AccountConfig{{Name: DefaultAccount, API: sim.ClientConfig()}}}
}

// TestConfigErrors: each part that refuses its configuration is named in
// the error, as main logs it.
func TestConfigErrors(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 1}))
	t.Cleanup(sim.Close)
	locked := filepath.Join(t.TempDir(), "state.db")
	holder := one(sim)
	holder.Status, holder.StateFile = status.Config{Window: time.Hour}, locked
	h, err := New(holder)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Start(context.Background()))
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"API URL", func(c *Config) { c.Accounts[0].API.BaseURL = "ftp://x" }, `invalid API client configuration of account "default"`},
		{"page size", func(c *Config) { c.Accounts[0].API.PageSize = 5000 }, `invalid API client configuration of account "default"`},
		{"workspace", func(c *Config) { c.Accounts[0].Scrape.Workspaces = []string{"Bad_Name"} }, `invalid configuration of account "default"`},
		{"no account", func(c *Config) { c.Accounts = nil }, "invalid configuration"},
		{"bad account name", func(c *Config) { c.Accounts[0].Name = "Prod" }, "invalid configuration"},
		{"account twice", func(c *Config) { c.Accounts = append(c.Accounts, c.Accounts[0]) }, "invalid configuration"},
		{"staleness below the interval", func(c *Config) {
			c.Background, c.Refresh = true, scrape.RefreshConfig{Interval: time.Minute, MaxStaleness: time.Second}
		}, "invalid configuration"},
		{"locked state file", func(c *Config) { c.Status, c.StateFile = status.Config{Window: time.Hour}, locked }, "status tracking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := one(sim)
			tc.mod(&cfg)
			_, err := New(cfg)
			ce, ok := errors.AsType[*ConfigError](err)
			if !ok || ce.What != tc.want || !strings.HasPrefix(err.Error(), tc.want+": ") {
				t.Errorf("New: %v; want a ConfigError of %q", err, tc.want)
			}
		})
	}
}

// TestRoutes: the routes serve what main serves, and a tracker only with
// a window; Start's stop ends the background work.
func TestRoutes(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 2, AssetsPerProject: 3}))
	t.Cleanup(sim.Close)
	cfg := one(sim)
	cfg.Accounts[0].Scrape.Concurrency = 2
	cfg.TelemetryPath, cfg.Landing = "/m", Landing{Name: "x", Description: "the landing page"}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a := e.Account(DefaultAccount); a == nil || a.Tracker != nil || a.Limiter != nil || a.Refresher != nil {
		t.Errorf("account %+v; want no tracker, limiter or refresher without a window, a rate limit or background mode", a)
	}
	e.Start(context.Background())()
	srv := httptest.NewServer(e.Routes)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/m":                `ncp_mediaintel_up{account="default"} 1`,
		"/-/healthy":        "Healthy",
		"/internal/metrics": "ncp_mediaintel_api_requests_total",
		"/":                 "the landing page",
		"/discovery":        `"targets"`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, want 200 with %q:\n%.300s", path, resp.StatusCode, want, body)
		}
	}
	if n := sim.Requests(client.OpListWorkspaces); n < 2 {
		t.Errorf("%d workspace list calls; want the scrape's and the discovery's", n)
	}
}

// TestReady: /-/ready is 503 until Start (with a state file, the state
// has been loaded by then), 200 after, and does not follow the API: an
// API that refuses every call leaves the exporter ready.
func TestReady(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 3}))
	t.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	cfg := one(sim)
	cfg.Status, cfg.StateFile = status.Config{Window: time.Hour}, filepath.Join(t.TempDir(), "state.db")
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Routes)
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/-/ready"); code != http.StatusServiceUnavailable || body != "Not ready: starting\n" {
		t.Errorf("/-/ready before Start: %d %q, want 503 starting", code, body)
	}
	t.Cleanup(e.Start(context.Background()))
	if code, body := get("/-/ready"); code != 200 || body != "Ready\n" {
		t.Errorf("/-/ready after Start: %d %q, want 200", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `ncp_mediaintel_up{account="default"} 0`) {
		t.Fatalf("the API should be down:\n%s", body)
	}
	if code, _ := get("/-/ready"); code != 200 {
		t.Errorf("/-/ready with the API down: %d, want 200", code)
	}
}

// TestZeroRateBurstIsTheDefault: a rate limit without a burst allows the
// default burst (client.DefaultRateBurst), as --mi.rate-burst does.
func TestZeroRateBurstIsTheDefault(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 1}))
	t.Cleanup(sim.Close)
	cfg := one(sim)
	cfg.Accounts[0].RateLimit = 0.001
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	allowed := 0
	for range client.DefaultRateBurst + 1 {
		if e.Account(DefaultAccount).Limiter.Wait(ctx) == nil {
			allowed++
		}
	}
	if allowed != client.DefaultRateBurst {
		t.Errorf("%d requests allowed at once; want the default burst, %d", allowed, client.DefaultRateBurst)
	}
}

// TestStateFileReleased: the state file is free again once Run has
// returned, and when New fails after opening it.
func TestStateFileReleased(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 1}))
	t.Cleanup(sim.Close)
	cfg := one(sim)
	cfg.Status, cfg.StateFile = status.Config{Window: time.Hour}, filepath.Join(t.TempDir(), "state.db")
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Start(context.Background())()
	bad := cfg
	bad.Accounts = []AccountConfig{cfg.Accounts[0]}
	bad.Accounts[0].Scrape.Workspaces = []string{"Bad_Name"}
	if _, err := New(bad); err == nil {
		t.Fatal("New with a bad workspace name succeeded")
	}
	e, err = New(cfg)
	if err != nil {
		t.Fatalf("New after a stopped exporter and a failed New: %v", err)
	}
	e.Start(context.Background())()
}

// TestLandingHasNoProfilingLinks: the exporter serves no /debug/pprof, so
// its landing page offers none.
func TestLandingHasNoProfilingLinks(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 1}))
	t.Cleanup(sim.Close)
	cfg := one(sim)
	cfg.Landing = Landing{Name: "x", Description: "the landing page"}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.Routes.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "the landing page") || strings.Contains(body, "debug/pprof") {
		t.Errorf("landing page: %d, pprof links %v", rec.Code, strings.Contains(body, "debug/pprof"))
	}
}
