package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// pass is the state of one Scrape call and holds its two bounds (the
// "Bounds" table of docs/scaling.md says why each is there):
//   - inFlight: Concurrency requests on the wire at once; the pass's client
//     (Gated) holds a slot from sending a request to reading the end of its
//     body, so decoding and backoff free it;
//   - calls: twice as many API calls under way, which bounds the page
//     bodies held in memory while they wait for a slot or are decoded.
//
// A pass reads top-down: workspaces, then each workspace (its project list
// and details), then each project (from the cache, counted, or listed page
// by page).
type pass struct {
	s        *Scraper
	api      *client.Client // s's client, gated by inFlight
	inFlight *semaphore.Weighted
	calls    *semaphore.Weighted
	// sink, when set, is told what the pass reads as soon as it is read.
	sink sink
}

// sink is told what a pass reads, as it reads it (the Refresher keeps
// it). Each call gets what the pass will not change any more.
type sink interface {
	// discovered: the workspaces to read, or why there are none.
	discovered(names []string, err error)
	// listed: a workspace's project list was read (wr.Projects are the
	// selected projects, not yet read) or failed (wr.Err).
	listed(wr *WorkspaceResult)
	// read: one project's listing ended, complete or not.
	read(pr *ProjectResult)
}

// newPass starts a pass of s; tr, when not nil, is told of its requests.
func newPass(s *Scraper, tr client.Tracer) *pass {
	n := int64(s.cfg.Concurrency)
	p := &pass{s: s, inFlight: semaphore.NewWeighted(n), calls: semaphore.NewWeighted(2 * n)}
	p.api = s.api.Gated(p)
	if tr != nil {
		p.api = p.api.Traced(tr)
	}
	return p
}

// Acquire implements client.Gate.
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

// workspace reads one workspace: its project list and, unless the pass is
// over one project, its details; then it lists the selected projects.
func (p *pass) workspace(ctx context.Context, wr *WorkspaceResult, onlyProject int64) {
	log := p.s.log.With("workspace", wr.Name)
	var projects []client.Project
	var g errgroup.Group
	g.Go(func() error {
		var err error
		projects, err = p.projects(ctx, wr.Name)
		return err
	})
	if onlyProject == 0 { // a project probe exports no workspace series
		g.Go(func() error { p.details(ctx, wr, log); return nil })
	}
	if err := g.Wait(); err != nil {
		wr.Err = err
		if e, ok := client.AsError(err); ok && e.StatusCode == 404 {
			wr.NotFound = true
		}
		log.Error("workspace scrape failed", "err", err)
		if p.sink != nil {
			p.sink.listed(wr)
		}
		return
	}
	wr.Success, wr.ReadAt = true, time.Now()
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
	if onlyProject == 0 {
		p.retainTracked(wr)
	}
	if p.sink != nil {
		p.sink.listed(wr)
	}
	var wg sync.WaitGroup
	for _, pr := range wr.Projects {
		wg.Go(func() { p.project(ctx, pr) })
	}
	wg.Wait()
}

// details reads the workspace's monthly analysis count; a failure only
// leaves it out.
func (p *pass) details(ctx context.Context, wr *WorkspaceResult, log *slog.Logger) {
	var w client.Workspace
	err := p.call(ctx, func() error {
		var err error
		w, err = p.api.GetWorkspace(ctx, wr.Name)
		return err
	})
	if err != nil {
		log.Warn("workspace details failed; monthly analyses not exported", "err", err)
		return
	}
	wr.Monthly, wr.HasMonthly = w.MonthlyAnalysisCount, w.HasMonthly
}

// retainTracked tells the tracker which projects of a complete project
// list it tracks: the ones it no longer names (or that are count-only now)
// have left the listing.
func (p *pass) retainTracked(wr *WorkspaceResult) {
	t := p.s.cfg.Tracker
	if t == nil {
		return
	}
	var tracked []int64
	for _, pr := range wr.Projects {
		if !pr.CountOnly {
			tracked = append(tracked, pr.Project.ID)
		}
	}
	t.Retain(wr.Name, tracked)
}

// project reads one project's figures: from the cache while they are
// fresh, else by counting or listing its assets. Complete listings are
// cached.
func (p *pass) project(ctx context.Context, pr *ProjectResult) {
	if p.sink != nil {
		defer p.sink.read(pr)
	}
	c := p.s.cache
	if c != nil && p.fromCache(pr) {
		return
	}
	start := time.Now()
	if pr.CountOnly {
		p.count(ctx, pr)
	} else {
		p.list(ctx, pr, start)
	}
	pr.Duration = time.Since(start)
	if pr.Success {
		pr.Read, pr.ReadAt = true, time.Now()
		if c != nil {
			c.put(pr)
		}
	}
}

// fromCache fills pr from the cache, if it holds fresh figures of it.
func (p *pass) fromCache(pr *ProjectResult) bool {
	hit, ok := p.s.cache.get(pr)
	if !ok {
		return false
	}
	// Served as listed at hit.ReadAt, taking no time now.
	pr.Success, pr.Read, pr.Reported, pr.Stats, pr.FromCache = true, true, hit.Reported, hit.Stats, true
	pr.ReadAt, pr.Duration = hit.ReadAt, 0
	if t := p.s.cfg.Tracker; t != nil && !pr.CountOnly {
		sum := t.Summary(pr.Workspace, pr.Project.ID)
		pr.Status = &sum
	}
	return true
}

// count reads a count-only project's totalCount (one request).
func (p *pass) count(ctx context.Context, pr *ProjectResult) {
	err := p.call(ctx, func() error {
		var err error
		pr.Reported, err = p.api.AssetCount(ctx, pr.Workspace, pr.Project.ID)
		return err
	})
	pr.Success, pr.Err = err == nil, err
	if err != nil {
		p.projectLog(pr).Error("project count failed", "err", err)
	}
}

// list pages a project's asset list and aggregates it; a list that moved
// while it was paged is paged once more.
func (p *pass) list(ctx context.Context, pr *ProjectResult, start time.Time) {
	log := p.projectLog(pr)
	l, err := p.listAssets(ctx, pr)
	if err == nil && l.changed {
		log.Info("asset list changed while it was paged; paging it again")
		l, err = p.listAssets(ctx, pr)
		if err == nil && l.changed {
			log.Warn("asset list changed again while it was paged; exporting the de-duplicated count", "counted", l.stats.Unique, "reported", l.reported)
		}
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("not finished by the scrape deadline: %w", err)
		}
		pr.Err = err
		log.Error("project listing failed; no partial figures are exported for it", "err", err)
		return
	}
	pr.Success, pr.Stats, pr.Reported = true, l.stats, l.reported
	if t := p.s.cfg.Tracker; t != nil {
		sum := t.Observe(pr.Workspace, pr.Project.ID, l.recent)
		pr.Status = &sum
	}
	log.Debug("project listed", "assets", l.stats.Unique, "reported", l.reported, "duplicates", l.stats.Duplicates,
		"without_id", l.stats.WithoutID, "duration", time.Since(start))
}

func (p *pass) projectLog(pr *ProjectResult) *slog.Logger {
	return p.s.log.With("workspace", pr.Workspace, "project_id", pr.Project.ID)
}

// listing is what one complete paging of a project's asset list found.
type listing struct {
	stats *Stats
	// recent are the assets created or updated within the tracker's
	// window (none without a tracker).
	recent []status.Asset
	// reported is totalCount as page 1 reported it.
	reported int64
	// changed reports whether totalCount moved between pages.
	changed bool
}

// listAssets reads page 1, then the other pages in parallel (at most
// Concurrency pages of one project at once), merging each page into the
// aggregate (de-duplicated by asset ID) once it is complete.
func (p *pass) listAssets(ctx context.Context, pr *ProjectResult) (listing, error) {
	pl := newProjectList(p.api, pr.Workspace, pr.Project.ID)
	if t := p.s.cfg.Tracker; t != nil {
		pl.since = t.Since()
	}
	fetch := func(ctx context.Context, page int) (info client.PageInfo, err error) {
		err = p.call(ctx, func() error {
			info, err = pl.readPage(ctx, page)
			return err
		})
		return info, err
	}
	first, err := fetch(ctx, 1)
	if err != nil {
		return listing{}, err
	}
	pages := client.PageCount(first, p.api.PageSize())
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
		return listing{}, err
	}
	if err := ctx.Err(); err != nil {
		return listing{}, err
	}
	// A copy: the figures outlive the listing (in the cache, in background
	// mode), its set of asset IDs need not.
	stats := pl.stats
	return listing{stats: &stats, recent: pl.recent, reported: first.TotalCount, changed: pl.minSeen != pl.maxSeen}, nil
}

// projectList is the shared state of one project's pages.
type projectList struct {
	api       *client.Client
	workspace string
	projectID int64
	loc       *time.Location

	mu      sync.Mutex
	ids     idSet
	stats   Stats
	minSeen int64
	maxSeen int64
	// since is the start of the status tracker's window (Unix seconds);
	// recent collects the assets created or updated since then. Without a
	// tracker since is MaxInt64 and nothing is collected.
	since  int64
	recent []status.Asset
}

func newProjectList(api *client.Client, workspace string, projectID int64) *projectList {
	return &projectList{api: api, workspace: workspace, projectID: projectID, loc: api.Location(), minSeen: -1, since: math.MaxInt64}
}

var recordPool = sync.Pool{New: func() any { s := make([]record, 0, client.MaxPageSize); return &s }}

// readPage reads one page into the aggregate: each asset is classified
// into a record as it is decoded, and the page is merged once complete (a
// page that fails adds nothing).
func (pl *projectList) readPage(ctx context.Context, page int) (client.PageInfo, error) {
	recs := recordPool.Get().(*[]record)
	defer recordPool.Put(recs)
	*recs = (*recs)[:0]
	info, err := pl.api.AssetPage(ctx, pl.workspace, pl.projectID, page, func(a *client.Asset) {
		*recs = append(*recs, makeRecord(a, pl.loc))
	})
	if err != nil {
		return info, err
	}
	pl.merge(*recs, info.TotalCount)
	return info, nil
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
		if r.hasID && status.Recent(r.created, r.updated, pl.since) {
			pl.recent = append(pl.recent, status.Asset{ID: r.id, Created: r.created, Updated: r.updated})
		}
	}
}
