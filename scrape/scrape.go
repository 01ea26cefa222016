// Package scrape makes one bounded, concurrent pass over the Media
// Intelligence API and returns what it found as plain data (a Result): it
// discovers workspaces and projects, pages every selected project's asset
// list, de-duplicates the assets and aggregates them. It knows nothing of
// Prometheus or of HTTP serving.
package scrape

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// Config selects what a Scraper reads and bounds how it reads it.
type Config struct {
	// Workspaces, when set, replaces the workspace list call.
	Workspaces []string
	// ProjectInclude and ProjectExclude select projects whose ID or name
	// matches (fully anchored). Nil means no filter.
	ProjectInclude *regexp.Regexp
	ProjectExclude *regexp.Regexp
	// CountOnly selects projects (by ID or name) that are only counted: one
	// request with page size 1 reads totalCount, and no per-format series
	// are exported. CountOnlyAll applies it to every project.
	CountOnly    *regexp.Regexp
	CountOnlyAll bool
	// Account names the NCP account read, in each Result and log line.
	Account string
	// Concurrency bounds the API requests in flight for one pass
	// (DefaultConcurrency when 0).
	Concurrency int
	// CacheTTL, when positive, serves a project's asset figures from memory
	// while they are younger than it. Only complete listings are cached.
	CacheTTL time.Duration
	// Tracker, when set, is told the recent assets of every complete
	// listing (not of count-only projects), and its summary of each listed
	// project goes into the Result.
	Tracker Tracker
	// Logger receives the scrape's errors; nil discards them.
	Logger *slog.Logger
}

// DefaultConcurrency is Config.Concurrency's default.
const DefaultConcurrency = 8

// Tracker is what a Scraper tells the status tracker and asks of it;
// *status.Tracker implements it.
type Tracker interface {
	// Since is the start of the recency window, in Unix seconds.
	Since() int64
	// Observe takes the recent assets of a complete listing of a project
	// and returns what is known of them.
	Observe(workspace string, projectID int64, recent []status.Asset) status.Summary
	// Summary is what is known of a project's recent assets, without a
	// listing.
	Summary(workspace string, projectID int64) status.Summary
	// Retain and RetainWorkspaces say which projects of a workspace, and
	// which workspaces, a complete list still names.
	Retain(workspace string, projects []int64)
	RetainWorkspaces(workspaces []string)
}

// Scraper makes passes over the API. It is safe for concurrent use.
type Scraper struct {
	api   *client.Client
	cfg   Config
	log   *slog.Logger
	cache *projectCache
}

// NewScraper returns a Scraper reading through api.
func NewScraper(api *client.Client, cfg Config) (*Scraper, error) {
	var unique []string
	for _, w := range cfg.Workspaces {
		if !client.ValidWorkspaceName(w) {
			return nil, fmt.Errorf("workspace %q: want 3-63 characters of a-z, 0-9 and '-'", w)
		}
		if !slices.Contains(unique, w) { // a workspace named twice is scraped once
			unique = append(unique, w)
		}
	}
	cfg.Workspaces = unique
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Account != "" {
		cfg.Logger = cfg.Logger.With("account", cfg.Account)
	}
	s := &Scraper{api: api, cfg: cfg, log: cfg.Logger}
	if cfg.CacheTTL > 0 {
		s.cache = newProjectCache(cfg.CacheTTL)
	}
	return s, nil
}

// Account names the account the Scraper reads.
func (s *Scraper) Account() string { return s.cfg.Account }

// Workspaces is the configured workspace list (empty: every workspace the
// key can see).
func (s *Scraper) Workspaces() []string { return s.cfg.Workspaces }

// CacheStats returns the cache's hits and misses; ok is false when the
// cache is off.
func (s *Scraper) CacheStats() (hits, misses int64, ok bool) {
	if s.cache == nil {
		return 0, 0, false
	}
	return s.cache.hits.Load(), s.cache.misses.Load(), true
}

// Scope limits a pass: all workspaces (zero value), one workspace, or one
// project of one workspace.
type Scope struct {
	Workspace string
	ProjectID int64
}

// String names the scope in log lines: "all", "workspace=W" or
// "workspace=W project=ID".
func (s Scope) String() string {
	switch {
	case s.Workspace == "":
		return "all"
	case s.ProjectID == 0:
		return "workspace=" + s.Workspace
	default:
		return "workspace=" + s.Workspace + " project=" + strconv.FormatInt(s.ProjectID, 10)
	}
}

// Result is what one pass found, or in background mode what the latest
// passes found (Refresher.Snapshot). It holds aggregates only, never
// assets.
type Result struct {
	// Account names the NCP account the figures are of.
	Account  string
	Scope    Scope
	Start    time.Time
	Duration time.Duration
	// Timeout is the deadline the pass had (0 if none).
	Timeout time.Duration
	// Up is true when discovery succeeded: the workspace list (or, with
	// configured workspaces or a scope, at least one project list) was read.
	Up  bool
	Err error
	// DiscoveredAt is when discovery last succeeded; zero when it never
	// did.
	DiscoveredAt time.Time
	Workspaces   []*WorkspaceResult
}

// WorkspaceResult is one workspace of a Result.
type WorkspaceResult struct {
	Name string
	// Success is true when the project list was read (in background mode:
	// by the latest pass); Err says why not.
	Success    bool
	Err        error
	Monthly    int64
	HasMonthly bool
	// ProjectCount is the number of projects the API listed (before filters).
	ProjectCount int
	Projects     []*ProjectResult
	// NotFound is true when the API answered 404 for the workspace.
	NotFound bool
	// ReadAt is when the project list was last read; zero when never.
	ReadAt time.Time
}

// ProjectResult is one project of a workspace.
type ProjectResult struct {
	Workspace string
	Project   client.Project
	// Success is true when the latest listing of the project was complete
	// (and, in background mode, its figures are not too old); Err says why
	// not.
	Success bool
	Err     error
	// Duration is how long the listing took (0 when served from memory).
	Duration time.Duration
	// Read is true when the project's figures (Reported, Stats, Status) are
	// there to export: listed in this pass, or in background mode the
	// latest complete listing, younger than the staleness limit; a
	// failure never leaves partial figures.
	Read bool
	// Reported is totalCount as the API reported it on page 1.
	Reported  int64
	CountOnly bool
	// Stats is nil for count-only projects and when Read is false.
	Stats *Stats
	// ReadAt is when the latest complete listing ended: the age of the
	// figures. In background mode it is kept after the figures are too old
	// to be exported; zero when the project was never read.
	ReadAt time.Time
	// FromCache is true when the figures were served from the cache.
	FromCache bool
	// Status is the status tracker's summary of the project's recent
	// assets; nil without a tracker, for count-only projects and when Read
	// is false.
	Status *status.Summary
}

// Scrape makes one pass over scope. It returns when every request it
// started has ended, which is by ctx's deadline at the latest.
func (s *Scraper) Scrape(ctx context.Context, scope Scope) *Result {
	return s.ScrapeTraced(ctx, scope, nil)
}

// ScrapeTraced is Scrape telling tr (when not nil) of every request the
// pass makes: the debug probe.
func (s *Scraper) ScrapeTraced(ctx context.Context, scope Scope, tr client.Tracer) *Result {
	return s.scrape(ctx, scope, tr, nil)
}

// scrape is a pass over scope that tells sink (when not nil) what it
// reads as it reads it: the Refresher's pass.
func (s *Scraper) scrape(ctx context.Context, scope Scope, tr client.Tracer, sink sink) *Result {
	res := &Result{Account: s.cfg.Account, Scope: scope, Start: time.Now()}
	if dl, ok := ctx.Deadline(); ok {
		res.Timeout = time.Until(dl).Round(time.Millisecond)
	}
	defer func() { res.Duration = time.Since(res.Start) }()
	p := newPass(s, tr)
	p.sink = sink

	names, err := p.workspaces(ctx, scope)
	if sink != nil {
		sink.discovered(names, err)
	}
	if err != nil {
		res.Err = err
		s.log.Error("workspace discovery failed", "scope", scope.String(), "err", err)
		return res
	}
	if t := s.cfg.Tracker; t != nil && scope.Workspace == "" {
		t.RetainWorkspaces(names) // workspaces no longer listed have left the listing
	}
	res.Workspaces = make([]*WorkspaceResult, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wr := &WorkspaceResult{Name: name}
		res.Workspaces[i] = wr
		wg.Go(func() { p.workspace(ctx, wr, scope.ProjectID) })
	}
	wg.Wait()
	if scope.Workspace != "" || len(s.cfg.Workspaces) > 0 {
		for _, w := range res.Workspaces {
			res.Up = res.Up || w.Success
		}
		if !res.Up && len(res.Workspaces) > 0 {
			res.Err = res.Workspaces[0].Err
		}
	} else {
		res.Up = true
	}
	if res.Up {
		res.DiscoveredAt = time.Now()
	}
	return res
}

// Target is a workspace, or one selected project of it, as a pass over
// every workspace would scrape it.
type Target struct {
	Workspace string
	// Project is the zero Project for a workspace target.
	Project client.Project
}

// Targets lists what a pass over every workspace would scrape: the
// workspaces, or with perProject the selected projects of each, ordered by
// workspace name and then project ID. It reads the workspace and project
// lists only. A workspace whose project list fails is left out and logged;
// the error is returned when nothing could be listed.
func (s *Scraper) Targets(ctx context.Context, perProject bool) ([]Target, error) {
	p := newPass(s, nil)
	names, err := p.workspaces(ctx, Scope{})
	if err != nil {
		return nil, err
	}
	if !perProject {
		out := make([]Target, len(names))
		for i, ws := range names {
			out[i] = Target{Workspace: ws}
		}
		slices.SortFunc(out, func(a, b Target) int { return cmp.Compare(a.Workspace, b.Workspace) })
		return out, nil
	}
	lists := make([][]Target, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, ws := range names {
		wg.Go(func() {
			projects, err := p.projects(ctx, ws)
			if err != nil {
				s.log.Error("project list failed", "workspace", ws, "err", err)
				errs[i] = err
				return
			}
			for _, pr := range projects {
				if s.selected(pr) {
					lists[i] = append(lists[i], Target{Workspace: ws, Project: pr})
				}
			}
		})
	}
	wg.Wait()
	out := slices.Concat(lists...)
	if len(out) == 0 {
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Workspace, b.Workspace), cmp.Compare(a.Project.ID, b.Project.ID))
	})
	return out, nil
}
