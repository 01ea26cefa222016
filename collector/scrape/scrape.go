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

	"golang.org/x/sync/errgroup"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/collector/status"
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
	// Concurrency bounds the API requests in flight for one pass.
	Concurrency int
	// CacheTTL, when positive, serves a project's asset figures from memory
	// while they are younger than it. Only complete listings are cached.
	CacheTTL time.Duration
	// Tracker, when set, is told the recent assets of every complete
	// listing (not of count-only projects), and its summary of each listed
	// project goes into the Result.
	Tracker *status.Tracker
	Logger  *slog.Logger
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
		cfg.Concurrency = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scraper{api: api, cfg: cfg, log: cfg.Logger}
	if cfg.CacheTTL > 0 {
		s.cache = newProjectCache(cfg.CacheTTL)
	}
	return s, nil
}

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

// Result is what one pass found. It holds aggregates only, never assets.
type Result struct {
	Scope    Scope
	Start    time.Time
	Duration time.Duration
	// Timeout is the deadline the pass had (0 if none).
	Timeout time.Duration
	// Up is true when discovery succeeded: the workspace list (or, with
	// configured workspaces or a scope, at least one project list) was read.
	Up         bool
	Err        error
	Workspaces []*WorkspaceResult
}

// WorkspaceResult is one workspace of a Result.
type WorkspaceResult struct {
	Name       string
	Success    bool
	Err        error
	Monthly    int64
	HasMonthly bool
	// ProjectCount is the number of projects the API listed (before filters).
	ProjectCount int
	Projects     []*ProjectResult
	// NotFound is true when the API answered 404 for the workspace.
	NotFound bool
}

// ProjectResult is one project of a workspace.
type ProjectResult struct {
	Workspace string
	Project   client.Project
	Success   bool
	Err       error
	Duration  time.Duration
	// Reported is totalCount as the API reported it on page 1.
	Reported  int64
	CountOnly bool
	// Stats is nil for count-only projects and failed projects.
	Stats *Stats
	// At is when the listing finished.
	At time.Time
	// FromCache is true when the figures were served from the cache.
	FromCache bool
	// Status is the status tracker's summary of the project's recent
	// assets; nil without a tracker, for count-only and failed projects.
	Status *status.Summary
}

// Scrape makes one pass over scope. It returns when every request it
// started has ended, which is by ctx's deadline at the latest.
func (s *Scraper) Scrape(ctx context.Context, scope Scope) *Result {
	res := &Result{Scope: scope, Start: time.Now()}
	if dl, ok := ctx.Deadline(); ok {
		res.Timeout = time.Until(dl).Round(time.Millisecond)
	}
	defer func() { res.Duration = time.Since(res.Start) }()
	p := newPass(s)

	names, err := p.workspaces(ctx, scope)
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
	p := newPass(s)
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

// workspaces names the workspaces a pass over scope reads.
func (p *pass) workspaces(ctx context.Context, scope Scope) ([]string, error) {
	if scope.Workspace != "" {
		return []string{scope.Workspace}, nil
	}
	if len(p.s.cfg.Workspaces) > 0 {
		return p.s.cfg.Workspaces, nil
	}
	var ws []client.Workspace
	err := p.call(ctx, func() error {
		var err error
		ws, err = p.api.ListWorkspaces(ctx)
		return err
	})
	if err != nil {
		if len(ws) == 0 {
			return nil, err
		}
		// Some entries were unusable (invalid names); go on with the rest.
		p.s.log.Warn("workspace list", "err", err)
	}
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	return names, nil
}

// projects reads a workspace's project list (before the filters). A list
// with some unusable entries is returned with those left out, and logged.
func (p *pass) projects(ctx context.Context, ws string) ([]client.Project, error) {
	var projects []client.Project
	err := p.call(ctx, func() error {
		var err error
		projects, err = p.api.ListProjects(ctx, ws)
		return err
	})
	if err != nil && len(projects) > 0 {
		p.s.log.Warn("project list", "workspace", ws, "err", err)
		err = nil
	}
	return projects, err
}

func (p *pass) workspace(ctx context.Context, wr *WorkspaceResult, onlyProject int64) {
	log := p.s.log.With("workspace", wr.Name)
	var projects []client.Project
	var g errgroup.Group
	g.Go(func() error {
		var err error
		projects, err = p.projects(ctx, wr.Name)
		return err
	})
	g.Go(func() error {
		if onlyProject != 0 {
			return nil // a project probe exports no workspace series
		}
		var w client.Workspace
		err := p.call(ctx, func() error {
			var err error
			w, err = p.api.GetWorkspace(ctx, wr.Name)
			return err
		})
		if err != nil {
			log.Warn("workspace details failed; monthly analyses not exported", "err", err)
			return nil
		}
		wr.Monthly, wr.HasMonthly = w.MonthlyAnalysisCount, w.HasMonthly
		return nil
	})
	if err := g.Wait(); err != nil {
		wr.Err = err
		if e, ok := client.AsError(err); ok && e.StatusCode == 404 {
			wr.NotFound = true
		}
		log.Error("workspace scrape failed", "err", err)
		return
	}
	wr.Success = true
	wr.ProjectCount = len(projects)
	log.Debug("project list read", "projects", len(projects))

	for _, pr := range projects {
		if onlyProject != 0 && pr.ID != onlyProject {
			continue
		}
		if onlyProject == 0 && !p.s.selected(pr) {
			continue
		}
		wr.Projects = append(wr.Projects, &ProjectResult{Workspace: wr.Name, Project: pr, CountOnly: p.s.countOnly(pr)})
	}
	if t := p.s.cfg.Tracker; t != nil && onlyProject == 0 {
		// The list is complete: tracked projects it no longer names (or
		// that are count-only now) have left the listing.
		var tracked []int64
		for _, pr := range wr.Projects {
			if !pr.CountOnly {
				tracked = append(tracked, pr.Project.ID)
			}
		}
		t.Retain(wr.Name, tracked)
	}
	var wg sync.WaitGroup
	for _, pr := range wr.Projects {
		wg.Go(func() { p.project(ctx, pr) })
	}
	wg.Wait()
}

func matchProject(re *regexp.Regexp, pr client.Project) bool {
	return re.MatchString(strconv.FormatInt(pr.ID, 10)) || re.MatchString(pr.Name)
}

func (s *Scraper) selected(pr client.Project) bool {
	if s.cfg.ProjectInclude != nil && !matchProject(s.cfg.ProjectInclude, pr) {
		return false
	}
	if s.cfg.ProjectExclude != nil && matchProject(s.cfg.ProjectExclude, pr) {
		return false
	}
	return true
}

func (s *Scraper) countOnly(pr client.Project) bool {
	return s.cfg.CountOnlyAll || (s.cfg.CountOnly != nil && matchProject(s.cfg.CountOnly, pr))
}

// project lists one project's assets, or only counts them.
func (p *pass) project(ctx context.Context, pr *ProjectResult) {
	log := p.s.log.With("workspace", pr.Workspace, "project_id", pr.Project.ID)
	if c := p.s.cache; c != nil {
		if hit, ok := c.get(pr); ok {
			// Served as listed at hit.At, taking no time now.
			pr.Success, pr.Reported, pr.Stats, pr.FromCache = true, hit.Reported, hit.Stats, true
			pr.At, pr.Duration = hit.At, 0
			if t := p.s.cfg.Tracker; t != nil && !pr.CountOnly {
				sum := t.Summary(pr.Workspace, pr.Project.ID)
				pr.Status = &sum
			}
			return
		}
		defer func() {
			if pr.Success {
				c.put(pr)
			}
		}()
	}
	start := time.Now()
	defer func() {
		pr.Duration = time.Since(start)
		pr.At = time.Now()
	}()
	if pr.CountOnly {
		err := p.call(ctx, func() error {
			var err error
			pr.Reported, err = p.api.AssetCount(ctx, pr.Workspace, pr.Project.ID)
			return err
		})
		pr.Success, pr.Err = err == nil, err
		if err != nil {
			log.Error("project count failed", "err", err)
		}
		return
	}
	stats, recent, reported, changed, err := p.listAssets(ctx, pr)
	if err == nil && changed {
		log.Info("asset list changed while it was paged; paging it again")
		stats, recent, reported, changed, err = p.listAssets(ctx, pr)
		if err == nil && changed {
			log.Warn("asset list changed again while it was paged; exporting the de-duplicated count", "counted", stats.Unique, "reported", reported)
		}
	}
	if err != nil {
		pr.Err = err
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("not finished by the scrape deadline: %w", err)
			pr.Err = err
		}
		log.Error("project scrape failed; no asset series exported for it", "err", err)
		return
	}
	pr.Success, pr.Stats, pr.Reported = true, stats, reported
	if t := p.s.cfg.Tracker; t != nil {
		sum := t.Observe(pr.Workspace, pr.Project.ID, recent)
		pr.Status = &sum
	}
	log.Debug("project listed", "assets", stats.Unique, "reported", reported, "duplicates", stats.Duplicates,
		"without_id", stats.WithoutID, "duration", time.Since(start))
}
