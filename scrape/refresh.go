package scrape

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// RefreshConfig configures a Refresher (--scrape.mode=background).
type RefreshConfig struct {
	// Interval is the time from the start of one pass to the start of the
	// next (DefaultRefreshInterval when 0). A pass that takes longer is
	// followed by the next at once, and counted as late.
	Interval time.Duration
	// MaxStaleness is the age beyond which a project's figures are no
	// longer exported (3 × Interval when 0). It is also each pass's
	// deadline: nothing a pass could still bring would be fresh.
	MaxStaleness time.Duration
}

// DefaultRefreshInterval is RefreshConfig.Interval's default.
const DefaultRefreshInterval = 5 * time.Minute

// Pass results, the label values of a Refresher's pass counts.
const (
	PassSuccess = "success" // discovery and every selected project read
	PassPartial = "partial" // discovery read, some workspace or project not
	PassFailure = "failure" // discovery failed
)

// PassResults lists the pass results, for pre-initialising metrics.
var PassResults = []string{PassSuccess, PassPartial, PassFailure}

// RefreshStats are a Refresher's process-lifetime figures.
type RefreshStats struct {
	// Passes counts the ended passes by result (PassResults).
	Passes map[string]int64
	// Late counts the passes that started late because the one before
	// took longer than the interval.
	Late int64
	// LastDuration is how long the latest ended pass took; LastEnd when it
	// ended (zero before the first).
	LastDuration time.Duration
	LastEnd      time.Time
}

// Refresher reads one account on its own schedule and keeps, for every
// selected project, the latest complete figures: a scrape is answered
// from them (Snapshot) without an API call. A failed listing never
// replaces good figures; figures older than MaxStaleness are not
// exported. It is safe for concurrent use.
type Refresher struct {
	cfg  RefreshConfig
	done chan struct{} // closed when the first pass has ended

	passing sync.Mutex // held by the pass under way: passes never overlap
	mu      sync.Mutex
	s       *Scraper // the next pass's; Use changes it
	gen     uint64   // the pass under way (or the latest), 1 for the first
	tried   bool     // a pass has ended
	discErr error
	discAt  time.Time
	wsNames []string // the latest complete workspace list, in its order
	wss     map[string]*wsState
	stats   RefreshStats
}

// wsState is what the passes read of one workspace.
type wsState struct {
	res      WorkspaceResult // without Projects
	gen      uint64          // the latest pass that tried its project list
	order    []int64         // the latest complete project list, selected
	projects map[int64]*projState
}

// projState is what the passes read of one project: the latest attempt,
// and the latest complete figures.
type projState struct {
	project   client.Project
	countOnly bool
	gen       uint64 // the latest pass that tried it
	ok        bool
	err       error
	duration  time.Duration
	reported  int64
	stats     *Stats // read-only once stored: snapshots share it
	readAt    time.Time
}

// NewRefresher returns a Refresher of s's account; Run makes its passes.
func NewRefresher(s *Scraper, cfg RefreshConfig) *Refresher {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultRefreshInterval
	}
	if cfg.MaxStaleness <= 0 {
		cfg.MaxStaleness = 3 * cfg.Interval
	}
	return &Refresher{s: s, cfg: cfg, done: make(chan struct{}),
		wss: map[string]*wsState{}, stats: RefreshStats{Passes: map[string]int64{}}}
}

// Use makes the next passes read with s, keeping what the passes read so
// far: the account's settings changed (a reload). Its figures stay in
// service until the next pass replaces them.
func (r *Refresher) Use(s *Scraper) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = s
}

// scraper is the Scraper of the next pass.
func (r *Refresher) scraper() *Scraper {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}

// Config returns the Refresher's configuration, its defaults in place.
func (r *Refresher) Config() RefreshConfig { return r.cfg }

// FirstPass is closed when the first pass has ended, whatever its result.
func (r *Refresher) FirstPass() <-chan struct{} { return r.done }

// Run makes a pass at once and then every Interval until ctx ends; a pass
// never overlaps the next.
func (r *Refresher) Run(ctx context.Context) {
	for {
		start := time.Now()
		r.Pass(ctx)
		wait := time.Until(start.Add(r.cfg.Interval))
		if wait <= 0 {
			r.mu.Lock()
			r.stats.Late++
			r.mu.Unlock()
			r.scraper().log.Warn("refresh pass took longer than the interval; the next starts now", "took", time.Since(start), "interval", r.cfg.Interval)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Pass makes one pass over every selected project, within MaxStaleness,
// and keeps what it reads as it reads it. It returns when the pass ended;
// a pass asked for while one runs waits for it.
func (r *Refresher) Pass(ctx context.Context) {
	r.passing.Lock()
	defer r.passing.Unlock()
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, r.cfg.MaxStaleness)
	defer cancel()
	res := r.scraper().scrape(pctx, Scope{}, nil, passSink{r, gen})
	if ctx.Err() != nil {
		return // stopped (the exporter, or the account, is going away)
	}
	r.finish(res, gen)
}

// passSink is a Refresher taking one pass's reads.
type passSink struct {
	r   *Refresher
	gen uint64
}

func (ps passSink) discovered(names []string, err error) {
	if err != nil {
		return // the workspaces listed before stay; finish marks them
	}
	r := ps.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wsNames = slices.Clone(names)
	for name := range r.wss {
		if !slices.Contains(names, name) {
			delete(r.wss, name) // no longer listed: its series go
		}
	}
	for _, name := range names {
		if r.wss[name] == nil {
			r.wss[name] = &wsState{res: WorkspaceResult{Name: name}, projects: map[int64]*projState{}}
		}
	}
}

func (ps passSink) listed(wr *WorkspaceResult) {
	r := ps.r
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.wss[wr.Name]
	if w == nil {
		return
	}
	w.gen = ps.gen
	w.res.Success, w.res.Err, w.res.NotFound = wr.Success, wr.Err, wr.NotFound
	if !wr.Success {
		return // its projects keep their figures until they are too old
	}
	w.res.ReadAt, w.res.ProjectCount = wr.ReadAt, wr.ProjectCount
	w.res.Monthly, w.res.HasMonthly = wr.Monthly, wr.HasMonthly
	kept := make(map[int64]*projState, len(wr.Projects))
	w.order = w.order[:0]
	for _, pr := range wr.Projects {
		p := w.projects[pr.Project.ID]
		if p == nil || p.countOnly != pr.CountOnly {
			p = &projState{} // new, or counted another way: not read yet
		}
		p.project, p.countOnly = pr.Project, pr.CountOnly
		kept[pr.Project.ID] = p
		w.order = append(w.order, pr.Project.ID)
	}
	w.projects = kept // projects no longer listed go
}

func (ps passSink) read(pr *ProjectResult) {
	r := ps.r
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.wss[pr.Workspace]
	if w == nil {
		return
	}
	p := w.projects[pr.Project.ID]
	if p == nil {
		return
	}
	p.gen, p.ok, p.err, p.duration = ps.gen, pr.Success, pr.Err, pr.Duration
	if pr.Success {
		p.reported, p.stats, p.readAt = pr.Reported, pr.Stats, pr.ReadAt
	}
}

// errNotReached is why a pass did not read a project or a workspace that
// it did not fail on: it ended first (its deadline).
var errNotReached = errors.New("not reached before the refresh pass's deadline")

// finish records the end of pass gen: discovery's outcome, and what the
// pass did not reach counts as failed, for the reason that stopped it.
func (r *Refresher) finish(res *Result, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried = true
	r.discErr = res.Err
	if res.Up {
		r.discAt = res.DiscoveredAt
	}
	result := PassSuccess
	if !res.Up {
		result = PassFailure
	}
	for _, w := range r.wss {
		if w.gen != gen { // discovery failed, or the deadline came first
			w.res.Success, w.res.Err = false, res.Err
			if res.Err == nil {
				w.res.Err = errNotReached
			}
		}
		for _, p := range w.projects {
			switch {
			case p.gen == gen:
				if !p.ok && result == PassSuccess {
					result = PassPartial
				}
				continue
			case !w.res.Success:
				p.err = w.res.Err // the reason its workspace failed
			default:
				p.err = fmt.Errorf("%w: %w", errNotReached, context.DeadlineExceeded)
			}
			p.ok = false
		}
		if !w.res.Success && result == PassSuccess {
			result = PassPartial
		}
	}
	r.stats.Passes[result]++
	r.stats.LastDuration, r.stats.LastEnd = res.Duration, res.Start.Add(res.Duration)
	r.s.log.Info("refresh pass ended", "result", result, "duration", res.Duration.Round(time.Millisecond))
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

// Stats returns the Refresher's process-lifetime figures.
func (r *Refresher) Stats() RefreshStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Passes = make(map[string]int64, len(PassResults))
	for _, k := range PassResults {
		st.Passes[k] = r.stats.Passes[k]
	}
	return st
}

// Snapshot answers a scrape of scope from what the passes read, without
// an API call: every workspace and selected project of the latest complete
// lists, each project with its latest complete figures when they are
// younger than MaxStaleness.
func (r *Refresher) Snapshot(scope Scope) *Result {
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{Account: r.s.cfg.Account, Scope: scope, Start: start}
	defer func() { res.Duration = time.Since(start) }()
	switch {
	case !r.tried:
		res.Err = errNotYetRead
	case r.discErr != nil:
		res.Err = r.discErr
	default:
		res.Up = true
	}
	res.DiscoveredAt = r.discAt
	for _, name := range r.wsNames {
		if scope.Workspace != "" && name != scope.Workspace {
			continue
		}
		res.Workspaces = append(res.Workspaces, r.workspaceResult(r.wss[name], scope.ProjectID, start))
	}
	if scope.Workspace != "" && len(res.Workspaces) == 0 && !slices.Contains(r.wsNames, scope.Workspace) {
		// Not in the latest workspace list: as the API would answer.
		wr := &WorkspaceResult{Name: scope.Workspace, Err: errNotYetRead}
		if r.tried && r.discErr == nil {
			wr.NotFound, wr.Err = true, fmt.Errorf("workspace %q is not in the latest workspace list", scope.Workspace)
		}
		res.Workspaces = append(res.Workspaces, wr)
	}
	if scope.Workspace != "" {
		// A probe's discovery is its workspace's project list, as in a pass.
		wr := res.Workspaces[0]
		res.Up, res.Err = wr.Success, wr.Err
	}
	return res
}

// workspaceResult is one workspace of a Snapshot (the caller holds r.mu).
func (r *Refresher) workspaceResult(w *wsState, onlyProject int64, now time.Time) *WorkspaceResult {
	wr := w.res
	if w.gen == 0 {
		wr.Err = errNotYetRead
	}
	for _, id := range w.order {
		if onlyProject != 0 && id != onlyProject {
			continue
		}
		wr.Projects = append(wr.Projects, r.projectResult(w.res.Name, w.projects[id], now))
	}
	return &wr
}

// projectResult is one project of a Snapshot (the caller holds r.mu).
func (r *Refresher) projectResult(ws string, p *projState, now time.Time) *ProjectResult {
	pr := &ProjectResult{Workspace: ws, Project: p.project, CountOnly: p.countOnly, Duration: p.duration, ReadAt: p.readAt, Err: p.err}
	fresh := !p.readAt.IsZero() && now.Sub(p.readAt) <= r.cfg.MaxStaleness
	switch {
	case p.readAt.IsZero() && p.err == nil:
		pr.Err = errNotYetRead
	case !fresh && p.err == nil:
		pr.Err = errStale
	}
	pr.Success = fresh && p.ok
	if !fresh {
		return pr
	}
	pr.Read, pr.Reported, pr.Stats, pr.FromCache = true, p.reported, p.stats, false
	if t := r.s.cfg.Tracker; t != nil && !p.countOnly {
		sum := t.Summary(ws, p.project.ID)
		pr.Status = &sum
	}
	return pr
}

// Targets lists what the passes read, as Scraper.Targets does with the
// API: the workspaces of the latest workspace list, or with perProject
// the selected projects of each; never an API call.
func (r *Refresher) Targets(perProject bool) []Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Target
	for _, name := range r.wsNames {
		if !perProject {
			out = append(out, Target{Workspace: name})
			continue
		}
		w := r.wss[name]
		for _, id := range w.order {
			out = append(out, Target{Workspace: name, Project: w.projects[id].project})
		}
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Workspace, b.Workspace), cmp.Compare(a.Project.ID, b.Project.ID))
	})
	return out
}
