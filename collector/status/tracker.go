// Package status tracks whether Media Intelligence does its job on recent
// assets: their import (upload) and analysis status, read in the
// background within a request budget, never in a scrape's path.
//
// The scrape's asset listing names the recent assets of each project
// (Observe); the Tracker keeps exactly those and checks each in order of
// when it is due:
//   - a new recent asset at once: import-status, then, once the upload is
//     COMPLETED, index/status;
//   - a state that moves on by itself (IN_PROGRESS, WAIT_ANALYZE,
//     ANALYZING) again Recheck after its last check;
//   - any other state again only when its updatedTime changes in a listing,
//     or Reverify after its last check.
//
// The request budget is the API client's: give the Tracker a client whose
// limiter allows the status rate. A 404 drops the asset (deleted since it
// was listed). With a state file the Tracker keeps its state across
// restarts (see store.go).
package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// API is what the Tracker asks; *client.Client implements it.
type API interface {
	ImportStatus(ctx context.Context, workspace string, projectID, assetID int64) (client.ImportStatus, error)
	AnalysisStatus(ctx context.Context, workspace string, projectID, assetID int64) (client.AnalysisStatus, error)
}

// Config configures a Tracker. Zero durations take the defaults.
type Config struct {
	// Window: an asset is recent when its createdTime or updatedTime lies
	// within Window before now. Required.
	Window time.Duration
	// Recheck is how long after its last check a moving state (upload in
	// progress, analysis waiting or running) is checked again (default 1m).
	Recheck time.Duration
	// Reverify is how long after its last check a settled state is checked
	// again when its updatedTime has not changed (default 6h).
	Reverify time.Duration
	// Workers bounds the checks in flight (default 4).
	Workers int
	// Timeout bounds one check, retries included (default 30s).
	Timeout time.Duration
	// StateFile, when set, keeps the state across restarts.
	StateFile string
	// APIURL is recorded in the state file: a file for another API is set
	// aside.
	APIURL string
	// Now replaces time.Now (tests).
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultRecheck  = time.Minute
	DefaultReverify = 6 * time.Hour
	DefaultWorkers  = 4
	DefaultTimeout  = 30 * time.Second
)

// Asset is a recent asset as a listing names it. Times are Unix seconds,
// 0 when the listing had none.
type Asset struct {
	ID      int64
	Created int64
	Updated int64
}

// Summary is what the Tracker knows of one project's recent assets.
type Summary struct {
	// Recent is the number of recent assets tracked.
	Recent int64
	// Import counts them by last known upload status; the states sum to Recent.
	Import [NumImportStates]int64
	// Analysis counts them by last known analysis status; the states sum to Recent.
	Analysis [NumAnalysisStates]int64
	// Failures counts the assets whose analysis failed, by reason.
	Failures [NumReasons]int64
	// OldestPending is how long the longest-waiting asset has been seen
	// waiting for or in analysis; 0 when none is.
	OldestPending time.Duration
}

// CheckKind names a status call.
type CheckKind uint8

// The status calls.
const (
	CheckImport CheckKind = iota
	CheckAnalysis
	NumCheckKinds = int(CheckAnalysis) + 1
)

var checkKindNames = [NumCheckKinds]string{"import", "analysis"}

// String is the kind's label value.
func (k CheckKind) String() string { return checkKindNames[k] }

// CheckCount is how many checks of a kind ended with a result: an HTTP
// status ("200", "404", "503") or "error" when no answer came.
type CheckCount struct {
	Kind   CheckKind
	Result string
	N      int64
}

// Observed counts, for one project, the analyses the Tracker saw end.
type Observed struct {
	Workspace string
	ProjectID int64
	// N is indexed by AnalysisCompleted, AnalysisFailed and
	// AnalysisCancelled; the other entries stay 0.
	N [NumAnalysisStates]int64
}

// Stats are the Tracker's process-lifetime figures.
type Stats struct {
	Checks []CheckCount
	// Queue is the number of checks due now and not yet made.
	Queue int
	// Lag is how overdue the most overdue check is.
	Lag      time.Duration
	Observed []Observed
}

type projectKey struct {
	ws string
	id int64
}

type project struct {
	key    projectKey
	assets map[int64]*asset
	// gone holds the assets the API answered 404 for, with the updatedTime
	// they had: they are not tracked again while a listing still names them
	// unchanged.
	gone     map[int64]tombstone
	observed [NumAnalysisStates]int64
	// listed is set by the project's first listing since the start: the
	// assets a later listing adds are new uploads.
	listed bool
}

type tombstone struct {
	updated int64
	seen    uint32
}

// asset is one tracked asset. Times are Unix seconds, but due and checked,
// which are Unix nanoseconds.
type asset struct {
	id           int64
	created      int64
	updated      int64
	due          int64
	checked      int64
	pendingSince int64
	proj         *project
	heapIdx      int32
	seen         uint32
	imp          ImportState
	ana          AnalysisState
	reason       FailureReason
	flags        uint8
}

const (
	flagInFlight = 1 << iota
	flagRemoved
	flagDirty
	// flagChanged: the updatedTime changed while a check was in flight.
	flagChanged
	// flagWatched: the Tracker has seen the asset before its analysis
	// could have ended (it appeared after the project's first listing, or
	// its upload was still in progress), so the first analysis answer
	// that is final is an analysis observed.
	flagWatched
)

// Tracker tracks the status of recent assets. It is safe for concurrent use.
type Tracker struct {
	api   API
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	store *store

	mu       sync.Mutex
	projects map[projectKey]*project
	queue    dueQueue
	inFlight map[*asset]struct{}
	checks   map[checkKey]int64
	unknown  map[string]bool
	gen      uint32
	wake     chan struct{}
}

type checkKey struct {
	kind   CheckKind
	result string
}

// maxUnknownLogged bounds the distinct unknown status values logged.
const maxUnknownLogged = 64

// New returns a Tracker asking api. With cfg.StateFile it loads the state
// kept there; a file that cannot be used is set aside with a warning. The
// error is for a file that another process holds, or a directory that
// cannot be written.
func New(api API, cfg Config) (*Tracker, error) {
	if cfg.Window <= 0 {
		return nil, errors.New("status: the window must be positive")
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Reverify <= 0 {
		cfg.Reverify = DefaultReverify
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		api: api, cfg: cfg, log: cfg.Logger, now: cfg.Now,
		projects: map[projectKey]*project{},
		inFlight: map[*asset]struct{}{},
		checks:   map[checkKey]int64{},
		unknown:  map[string]bool{},
		wake:     make(chan struct{}, 1),
	}
	if cfg.StateFile != "" {
		t.store = &store{log: t.log} // restore records deletions here
		reset := func() {
			t.projects, t.queue, t.store.gone = map[projectKey]*project{}, nil, nil
		}
		s, n, err := openStore(cfg.StateFile, cfg.APIURL, t.log, t.restore, reset)
		if err != nil {
			return nil, err
		}
		s.gone = t.store.gone
		t.store = s
		t.log.Info("status state loaded", "file", cfg.StateFile, "assets", n)
	}
	return t, nil
}

// Since is the start of the recency window now, in Unix seconds: an
// asset created or updated since then is recent.
func (t *Tracker) Since() int64 { return t.now().Add(-t.cfg.Window).Unix() }

func (t *Tracker) project(ws string, id int64) *project {
	k := projectKey{ws, id}
	p := t.projects[k]
	if p == nil {
		p = &project{key: k, assets: map[int64]*asset{}, gone: map[int64]tombstone{}}
		t.projects[k] = p
	}
	return p
}

// recent reports whether a is within the window before now (Unix seconds).
func (t *Tracker) recent(a *asset, now time.Time) bool {
	since := now.Add(-t.cfg.Window).Unix()
	return a.created >= since || a.updated >= since
}

// Observe takes the recent assets that a complete listing of a project
// named: new ones are checked at once, ones whose updatedTime changed are
// checked again, and tracked ones the listing no longer names (deleted, or
// out of the window) are forgotten. It returns the project's Summary.
func (t *Tracker) Observe(workspace string, projectID int64, recent []Asset) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	p := t.project(workspace, projectID)
	if t.gen++; t.gen == 0 { // 0 means "no listing" to summary
		t.gen = 1
	}
	g := t.gen
	woke := false
	for _, r := range recent {
		if r.ID <= 0 {
			continue
		}
		if tomb, ok := p.gone[r.ID]; ok {
			if tomb.updated == r.Updated {
				p.gone[r.ID] = tombstone{r.Updated, g}
				continue
			}
			delete(p.gone, r.ID) // changed since its 404: track it afresh
		}
		a := p.assets[r.ID]
		switch {
		case a == nil:
			a = &asset{id: r.ID, created: r.Created, updated: r.Updated, proj: p, heapIdx: -1}
			if p.listed {
				a.flags |= flagWatched
			}
			p.assets[r.ID] = a
			t.queue.schedule(a, now.UnixNano())
			woke = true
		case a.updated != r.Updated:
			a.created, a.updated = r.Created, r.Updated
			if a.flags&flagInFlight != 0 {
				a.flags |= flagChanged
			} else {
				t.queue.schedule(a, now.UnixNano())
			}
			woke = true
		case a.created != r.Created:
			a.created = r.Created
		default:
			a.seen = g
			continue
		}
		a.seen = g
		t.dirty(a)
	}
	p.listed = true
	for id, tomb := range p.gone {
		if tomb.seen != g {
			delete(p.gone, id)
		}
	}
	if woke {
		t.signal()
	}
	return t.summary(p, now, g)
}

// Retain forgets the tracked projects of workspace that are not in
// projects: a complete project list no longer names them (deleted, or
// filtered out, or count-only now), so their assets left the listing.
func (t *Tracker) Retain(workspace string, projects []int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.projects {
		if k.ws == workspace && !slices.Contains(projects, k.id) {
			t.forget(p)
		}
	}
}

// RetainWorkspaces forgets the tracked projects of every workspace not in
// workspaces: a complete workspace list no longer names them.
func (t *Tracker) RetainWorkspaces(workspaces []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.projects {
		if !slices.Contains(workspaces, k.ws) {
			t.forget(p)
		}
	}
}

// forget drops a project and its assets (the caller holds t.mu).
func (t *Tracker) forget(p *project) {
	for _, a := range p.assets {
		t.remove(a)
	}
	delete(t.projects, p.key)
}

// Summary returns what the Tracker knows of a project now, without a
// listing (for a project served from the cache).
func (t *Tracker) Summary(workspace string, projectID int64) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.projects[projectKey{workspace, projectID}]
	if p == nil {
		return Summary{}
	}
	return t.summary(p, t.now(), 0)
}

// summary counts p's assets; those that left the window, and with gen > 0
// those the listing of generation gen did not name, are forgotten.
func (t *Tracker) summary(p *project, now time.Time, gen uint32) Summary {
	var s Summary
	var oldest int64
	nowSec := now.Unix()
	since := now.Add(-t.cfg.Window).Unix()
	for _, a := range p.assets {
		if (gen != 0 && a.seen != gen) || (a.created < since && a.updated < since) {
			t.remove(a)
			continue
		}
		s.Recent++
		s.Import[a.imp]++
		ana := a.analysis()
		s.Analysis[ana]++
		if ana == AnalysisFailed {
			s.Failures[a.reason]++
		}
		if ana.pending() && a.pendingSince > 0 {
			oldest = max(oldest, nowSec-a.pendingSince)
		}
	}
	s.OldestPending = time.Duration(oldest) * time.Second
	return s
}

// analysis is the state a counts under: NotImported until its upload is
// COMPLETED.
func (a *asset) analysis() AnalysisState {
	switch {
	case a.imp != ImportCompleted:
		return AnalysisNotImported
	case a.ana == AnalysisNotImported: // the zero value: never asked
		return AnalysisUnchecked
	}
	return a.ana
}

// remove forgets a (the caller holds t.mu).
func (t *Tracker) remove(a *asset) {
	t.queue.remove(a)
	a.flags |= flagRemoved
	delete(a.proj.assets, a.id)
	if t.store != nil {
		t.store.deleted(a.proj.key, a.id)
	}
}

func (t *Tracker) dirty(a *asset) {
	if t.store != nil && a.flags&flagDirty == 0 {
		a.flags |= flagDirty
		t.store.dirty = append(t.store.dirty, a)
	}
}

func (t *Tracker) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Stats returns the Tracker's process-lifetime figures.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now().UnixNano()
	st := Stats{Queue: t.queue.countDue(now) + len(t.inFlight)}
	oldest := int64(math.MaxInt64)
	if len(t.queue) > 0 {
		oldest = t.queue[0].due
	}
	for a := range t.inFlight {
		oldest = min(oldest, a.due)
	}
	if oldest < now {
		st.Lag = time.Duration(now - oldest)
	}
	for k, n := range t.checks {
		st.Checks = append(st.Checks, CheckCount{k.kind, k.result, n})
	}
	for _, p := range t.projects {
		st.Observed = append(st.Observed, Observed{p.key.ws, p.key.id, p.observed})
	}
	return st
}

// next pops the asset due first, if it is due, and marks it in flight;
// otherwise it returns how long until one is due. Assets that left the
// window are forgotten here, never asked about.
func (t *Tracker) next() (*asset, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for len(t.queue) > 0 {
		a := t.queue[0]
		if wait := time.Duration(a.due - now.UnixNano()); wait > 0 {
			return nil, wait
		}
		if !t.recent(a, now) {
			t.remove(a)
			continue
		}
		t.queue.remove(a)
		a.flags |= flagInFlight
		t.inFlight[a] = struct{}{}
		return a, 0
	}
	return nil, time.Hour
}

// Run checks assets as they fall due until ctx ends, then waits for the
// checks in flight and, with a state file, commits and closes it. Changes
// are committed to the state file every commitInterval.
func (t *Tracker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if t.store != nil {
			t.commit()
			t.store.close()
		}
	}()
	if t.store != nil {
		wg.Go(func() {
			tick := time.NewTicker(commitInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					t.commit()
				}
			}
		})
	}
	slots := make(chan struct{}, t.cfg.Workers)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		a := t.waitNext(ctx)
		if a == nil {
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			t.check(ctx, a)
		})
	}
}

// waitNext blocks until an asset is due (nil when ctx ends first).
func (t *Tracker) waitNext(ctx context.Context) *asset {
	for {
		a, wait := t.next()
		if a != nil {
			return a
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-t.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// checkDue makes, one after the other, every check due now (tests).
func (t *Tracker) checkDue(ctx context.Context) int {
	n := 0
	for {
		a, _ := t.next()
		if a == nil {
			return n
		}
		t.check(ctx, a)
		n++
	}
}

// check asks the API about a and applies the answer.
func (t *Tracker) check(ctx context.Context, a *asset) {
	t.mu.Lock()
	ws, pid := a.proj.key.ws, a.proj.key.id
	kind := CheckImport
	if a.imp == ImportCompleted {
		kind = CheckAnalysis
	}
	t.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	var imp client.ImportStatus
	var ana client.AnalysisStatus
	var err error
	if kind == CheckImport {
		imp, err = t.api.ImportStatus(cctx, ws, pid, a.id)
	} else {
		ana, err = t.api.AnalysisStatus(cctx, ws, pid, a.id)
	}
	cancel()

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inFlight, a)
	a.flags &^= flagInFlight
	result := "200"
	if err != nil {
		result = "error"
		if e, ok := client.AsError(err); ok && e.StatusCode != 0 {
			result = client.StatusLabel(e.StatusCode)
		}
	}
	if err == nil || ctx.Err() == nil {
		t.checks[checkKey{kind, result}]++
	}
	if a.flags&flagRemoved != 0 {
		return
	}
	now := t.now()
	changed := a.flags&flagChanged != 0
	a.flags &^= flagChanged
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the check is made after the restart.
		t.queue.schedule(a, a.due)
		return
	case err != nil && result == "404":
		t.log.Debug("asset gone; no longer tracked", "workspace", ws, "project_id", pid, "asset_id", a.id)
		a.proj.gone[a.id] = tombstone{updated: a.updated, seen: t.gen}
		t.remove(a)
		return
	case err != nil:
		t.log.Warn("status check failed; trying again later", "workspace", ws, "project_id", pid, "asset_id", a.id, "kind", kind.String(), "err", err)
		t.queue.schedule(a, now.Add(t.cfg.Recheck).UnixNano())
		t.signal()
		return
	}
	a.checked = now.UnixNano()
	next := now.Add(t.cfg.Reverify)
	if kind == CheckImport {
		st, ok := parseImport(imp.Status)
		if !ok {
			t.unknownValue("uploadStatus", imp.Status)
		}
		a.imp = st
		switch st {
		case ImportCompleted:
			next = now // its analysis next
		case ImportInProgress:
			next = now.Add(t.cfg.Recheck)
			a.flags |= flagWatched
		}
	} else {
		st, ok := parseAnalysis(ana.Status)
		if !ok {
			t.unknownValue("status", ana.Status)
		}
		prev := a.ana
		a.ana = st
		a.reason = ReasonOther
		if st == AnalysisFailed {
			a.reason = reasonOf(ana.Message)
		}
		switch {
		case !st.pending():
			a.pendingSince = 0
		case a.pendingSince == 0:
			a.pendingSince = now.Unix()
		}
		// An end counts when the Tracker saw the analysis before it: not an
		// asset found already analysed at its first check after a start.
		if st != prev && st.final() && (prev >= AnalysisBeforeAnalyze || a.flags&flagWatched != 0) {
			a.proj.observed[st]++
		}
		a.flags &^= flagWatched
		if st.pending() {
			next = now.Add(t.cfg.Recheck)
		}
	}
	if changed {
		next = now
	}
	t.queue.schedule(a, next.UnixNano())
	t.dirty(a)
	t.signal() // the dispatcher may be waiting for a later asset
}

// unknownValue logs a status value the docs do not list, once per value.
func (t *Tracker) unknownValue(field, v string) {
	if t.unknown[v] || len(t.unknown) >= maxUnknownLogged {
		return
	}
	t.unknown[v] = true
	t.log.Warn("status value not in the API docs; counted as other", "field", field, "value", fmt.Sprintf("%.64q", v))
}
