// Package collector turns the Media Intelligence API into Prometheus
// metrics: a Scraper makes one bounded, concurrent pass over the API and
// returns plain data (a Result); a Collector exposes a Result as constant
// metrics; the handlers serve /metrics, /probe and /discovery.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mediaintel/mediaintel_exporter/client"
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
	// Concurrency bounds the API requests in flight for one scrape.
	Concurrency int
	// CacheTTL, when positive, serves a project's asset figures from memory
	// while they are younger than it. Only complete listings are cached.
	CacheTTL time.Duration
	Logger   *slog.Logger
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
	seen := map[string]bool{}
	for _, w := range cfg.Workspaces {
		if !client.ValidWorkspaceName(w) {
			return nil, fmt.Errorf("workspace %q: want 3-63 characters of a-z, 0-9 and '-'", w)
		}
		if !seen[w] { // a workspace named twice is scraped once
			seen[w] = true
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
		s.cache = &projectCache{ttl: cfg.CacheTTL, entries: map[cacheKey]*ProjectResult{}}
	}
	return s, nil
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
}

// pass is the state of one Scrape call. Two bounds hold for it: inFlight,
// the Concurrency requests on the wire at once (the client holds it from
// sending a request to reading its body), and calls, twice as many API calls
// under way, which bounds the page bodies held in memory while they are
// decoded.
type pass struct {
	s        *Scraper
	inFlight *semaphore.Weighted
	calls    *semaphore.Weighted
}

func newPass(s *Scraper) *pass {
	n := int64(s.cfg.Concurrency)
	return &pass{s: s, inFlight: semaphore.NewWeighted(n), calls: semaphore.NewWeighted(2 * n)}
}

// Acquire and Release make the pass a client.Gate.
func (p *pass) Acquire(ctx context.Context) error { return p.inFlight.Acquire(ctx, 1) }

// Release implements client.Gate.
func (p *pass) Release() { p.inFlight.Release(1) }

// call runs one API call of the pass.
func (p *pass) call(ctx context.Context, f func() error) error {
	if err := p.calls.Acquire(ctx, 1); err != nil {
		return err
	}
	defer p.calls.Release(1)
	return f()
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
	ctx = client.WithGate(ctx, p)

	names, err := p.discover(ctx, scope)
	if err != nil {
		res.Err = err
		s.log.Error("workspace discovery failed", "scope", scope.String(), "err", err)
		return res
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

func (p *pass) discover(ctx context.Context, scope Scope) ([]string, error) {
	if scope.Workspace != "" {
		return []string{scope.Workspace}, nil
	}
	if len(p.s.cfg.Workspaces) > 0 {
		return p.s.cfg.Workspaces, nil
	}
	var ws []client.Workspace
	err := p.call(ctx, func() error {
		var err error
		ws, err = p.s.api.ListWorkspaces(ctx)
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

func (p *pass) workspace(ctx context.Context, wr *WorkspaceResult, onlyProject int64) {
	log := p.s.log.With("workspace", wr.Name)
	var projects []client.Project
	var g errgroup.Group
	g.Go(func() error {
		err := p.call(ctx, func() error {
			var err error
			projects, err = p.s.api.ListProjects(ctx, wr.Name)
			return err
		})
		if err != nil && len(projects) > 0 {
			log.Warn("project list", "err", err)
			err = nil
		}
		return err
	})
	g.Go(func() error {
		if onlyProject != 0 {
			return nil // a project probe exports no workspace series
		}
		var w client.Workspace
		err := p.call(ctx, func() error {
			var err error
			w, err = p.s.api.GetWorkspace(ctx, wr.Name)
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
			pr.Reported, err = p.s.api.AssetCount(ctx, pr.Workspace, pr.Project.ID)
			return err
		})
		pr.Success, pr.Err = err == nil, err
		if err != nil {
			log.Error("project count failed", "err", err)
		}
		return
	}
	stats, reported, changed, err := p.listAssets(ctx, pr)
	if err == nil && changed {
		log.Info("asset list changed while it was paged; paging it again")
		stats, reported, changed, err = p.listAssets(ctx, pr)
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
	log.Debug("project listed", "assets", stats.Unique, "reported", reported, "duplicates", stats.Duplicates,
		"without_id", stats.WithoutID, "duration", time.Since(start))
}

// projectList is the shared state of one project's pages.
type projectList struct {
	mu      sync.Mutex
	ids     idSet
	stats   Stats
	minSeen int64
	maxSeen int64
}

var recordPool = sync.Pool{New: func() any { s := make([]record, 0, client.MaxPageSize); return &s }}

// listAssets reads page 1, then the other pages in parallel, merging each
// page into the aggregate (de-duplicated by asset ID) once it is complete.
// changed reports whether totalCount moved between pages.
func (p *pass) listAssets(ctx context.Context, pr *ProjectResult) (stats *Stats, reported int64, changed bool, err error) {
	pl := &projectList{minSeen: -1}
	tp := &timeParser{loc: p.s.api.Location()}
	fetch := func(ctx context.Context, page int) (client.PageInfo, error) {
		recs := recordPool.Get().(*[]record)
		defer recordPool.Put(recs)
		*recs = (*recs)[:0]
		var info client.PageInfo
		err := p.call(ctx, func() error {
			var err error
			info, err = p.s.api.AssetPage(ctx, pr.Workspace, pr.Project.ID, page, func(a *client.Asset) {
				*recs = append(*recs, makeRecord(a, tp))
			})
			return err
		})
		if err != nil {
			return info, err
		}
		pl.merge(*recs, info.TotalCount)
		return info, nil
	}
	first, err := fetch(ctx, 1)
	if err != nil {
		return nil, 0, false, err
	}
	pages := client.PageCount(first, p.s.api.PageSize())
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.s.cfg.Concurrency)
	for page := 2; int64(page) <= pages; page++ {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			_, err := fetch(gctx, page)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	return &pl.stats, first.TotalCount, pl.minSeen != pl.maxSeen, nil
}

func (pl *projectList) merge(recs []record, total int64) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.minSeen < 0 || total < pl.minSeen {
		pl.minSeen = total
	}
	if total > pl.maxSeen {
		pl.maxSeen = total
	}
	for i := range recs {
		r := &recs[i]
		if r.hasID {
			if !pl.ids.add(r.id) {
				pl.stats.Duplicates++
				continue
			}
		} else {
			pl.stats.WithoutID++
		}
		pl.stats.add(r)
	}
}
