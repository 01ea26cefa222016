// Package status tracks whether Media Intelligence does its job on recent
// assets: the three stages of the pipeline (import, analysis, scene
// summary), read in the background within a request budget, never in a
// scrape's path. A Tracker checks the assets of one account.
//
// The scrape's asset listing names the recent assets of each project
// (Observe); the Tracker keeps exactly those and checks each in order of
// when it is due:
//   - a new recent asset at once: import-status, then, once the upload is
//     COMPLETED, index/status, and once the analysis is ANALYZE_COMPLETED
//     (with Config.SceneSummaries), scene-summary/status;
//   - a stage in a pending state, one that moves on by itself (see
//     ImportState, AnalysisState and SummaryState), again Recheck after
//     its last check;
//   - any other state again only when its updatedTime changes in a listing,
//     or Reverify after its last check; the scene summary also whenever
//     the analysis status changes.
//
// The request budget is the API client's: give the Tracker a client whose
// limiter allows the status rate. A 404 of import-status or index/status
// drops the asset (deleted since it was listed); a 404 of
// scene-summary/status is kept as BEFORE_SUMMARIZE (the asset has no
// summary). With a Store (OpenStore) the Tracker keeps its account's state
// across restarts (see store.go).
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
	SceneSummaryStatus(ctx context.Context, workspace string, projectID, assetID int64) (client.SceneSummaryStatus, error)
}

// Config configures a Tracker. Zero values take the defaults.
type Config struct {
	// Window: an asset is recent when its createdTime or updatedTime lies
	// within Window before now. Required.
	Window time.Duration
	// Recheck is how long after its last check a stage in a pending state
	// (one that moves on by itself: see ImportState, AnalysisState and
	// SummaryState) is checked again.
	Recheck time.Duration
	// Reverify is how long after its last check a settled state is checked
	// again when its updatedTime has not changed.
	Reverify time.Duration
	// SceneSummaries turns the third stage on: the scene summary of every
	// asset whose analysis is ANALYZE_COMPLETED. Off, no such call is made.
	SceneSummaries bool
	// Rate is the status requests per second the API client allows the
	// Tracker (its limiter does the pacing; DefaultRate when 0); it sizes
	// the default Workers.
	Rate float64
	// Workers bounds the checks in flight: by default one per request a
	// second of Rate, 1 to MaxWorkers.
	Workers int
	// Timeout bounds one check, retries included.
	Timeout time.Duration
	// Store, when set, keeps the state across restarts, in Account's
	// records; without it the state lives in memory.
	Store *Store
	// Account names the account whose assets the Tracker checks: its
	// records in Store (required with a Store) and its log lines.
	Account string
	// APIURL is the API the account's records are read from: records that
	// Store kept for another API URL are dropped.
	APIURL string
	// Now replaces time.Now (tests).
	Now func() time.Time
	// Logger receives the Tracker's warnings; nil discards them.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultRecheck  = time.Minute
	DefaultReverify = 6 * time.Hour
	DefaultRate     = 5.0
	MaxWorkers      = 16
	DefaultTimeout  = 30 * time.Second
)

// withDefaults fills in the zero values of c.
func (c Config) withDefaults() Config {
	if c.Recheck <= 0 {
		c.Recheck = DefaultRecheck
	}
	if c.Reverify <= 0 {
		c.Reverify = DefaultReverify
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Workers <= 0 {
		c.Workers = min(MaxWorkers, max(1, int(math.Ceil(c.Rate))))
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Account != "" {
		c.Logger = c.Logger.With("account", c.Account)
	}
	return c
}

// Asset is a recent asset as a listing names it. Times are Unix seconds,
// 0 when the listing had none.
type Asset struct {
	ID      int64
	Created int64
	Updated int64
}

// Recent reports whether an asset created and updated at these Unix
// seconds is recent for a window that started at since (Tracker.Since):
// the one test of the window, for the listing and the Tracker alike.
func Recent(created, updated, since int64) bool {
	return created >= since || updated >= since
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
	// waiting for or in analysis; 0 when none is, and at least a
	// nanosecond when one is.
	OldestPending time.Duration
	// SceneSummaries is set when the scene summary stage is tracked; then
	// SceneSummary counts the assets by last known summary status (the
	// states sum to Recent) and SummaryOldestPending is OldestPending for
	// summaries waiting or running.
	SceneSummaries       bool
	SceneSummary         [NumSummaryStates]int64
	SummaryOldestPending time.Duration
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
	// summaries counts the scene summaries seen to end, by final state.
	summaries [NumSummaryStates]int64
	// listed is set by the project's first listing since the start: the
	// assets a later listing adds are new uploads.
	listed bool
}

type tombstone struct {
	updated int64
	seen    uint32
}

// asset is one tracked asset. created and updated are Unix seconds, the
// other times Unix nanoseconds. An asset is queued once, due at the
// earlier of its two stages' times: next for its import or analysis,
// sumNext for its scene summary (0: none scheduled).
type asset struct {
	id              int64
	created         int64
	updated         int64
	due             int64
	next            int64
	sumNext         int64
	checked         int64
	pendingSince    int64
	sumPendingSince int64
	proj            *project
	heapIdx         int32
	seen            uint32
	imp             ImportState
	ana             AnalysisState
	reason          FailureReason
	sum             SummaryState
	flags           uint8
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

// recent reports whether a is within the window that started at since.
func (a *asset) recent(since int64) bool { return Recent(a.created, a.updated, since) }

// Tracker tracks the status of recent assets. It is safe for concurrent use.
type Tracker struct {
	api   API
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	store *account // nil without a Store

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

// New returns a Tracker asking api. With cfg.Store it loads the records
// kept there for cfg.Account. The error is for a configuration it cannot
// work with, or a state file that cannot be read or written.
func New(api API, cfg Config) (*Tracker, error) {
	if cfg.Window <= 0 {
		return nil, errors.New("status: the window must be positive")
	}
	if cfg.Store != nil && cfg.Account == "" {
		return nil, errors.New("status: a Tracker with a state file needs an account")
	}
	cfg = cfg.withDefaults()
	t := &Tracker{
		api: api, cfg: cfg, log: cfg.Logger, now: cfg.Now,
		projects: map[projectKey]*project{},
		inFlight: map[*asset]struct{}{},
		checks:   map[checkKey]int64{},
		unknown:  map[string]bool{},
		wake:     make(chan struct{}, 1),
	}
	if cfg.Store != nil {
		if err := t.loadState(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Use makes the Tracker ask api from now on, keeping all it knows: its
// account's key or limits changed (a reload). The checks in flight end
// with the client they started with.
func (t *Tracker) Use(api API) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.api = api
}

// Since is the start of the recency window now, in Unix seconds: an
// asset created or updated since then is recent (see Recent).
func (t *Tracker) Since() int64 { return t.since(t.now()) }

func (t *Tracker) since(now time.Time) int64 { return now.Add(-t.cfg.Window).Unix() }

func (t *Tracker) project(ws string, id int64) *project {
	k := projectKey{ws, id}
	p := t.projects[k]
	if p == nil {
		p = &project{key: k, assets: map[int64]*asset{}, gone: map[int64]tombstone{}}
		t.projects[k] = p
	}
	return p
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
	if t.gen++; t.gen == 0 { // 0 is the seen mark of no listing
		t.gen = 1
	}
	g := t.gen
	woke := false
	for _, r := range recent {
		if r.ID > 0 && t.observeAsset(p, r, g, now) {
			woke = true
		}
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
	return t.pruneAndSummarize(p, now, g)
}

// observeAsset takes one asset of the listing of generation g; it reports
// whether a check was scheduled (the caller holds t.mu).
func (t *Tracker) observeAsset(p *project, r Asset, g uint32, now time.Time) (scheduled bool) {
	if tomb, ok := p.gone[r.ID]; ok {
		if tomb.updated == r.Updated {
			p.gone[r.ID] = tombstone{r.Updated, g}
			return false
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
		t.setNext(a, now.UnixNano())
		scheduled = true
	case a.updated != r.Updated:
		a.created, a.updated = r.Created, r.Updated
		if a.flags&flagInFlight != 0 {
			a.flags |= flagChanged
		} else {
			t.recheckAll(a, now.UnixNano())
		}
		scheduled = true
	case a.created != r.Created:
		a.created = r.Created
	default:
		a.seen = g
		return false
	}
	a.seen = g
	t.dirty(a)
	return scheduled
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
// listing (for a project served from the cache). It changes nothing: an
// asset that has left the window is not counted, and is forgotten by the
// next listing or when it falls due.
func (t *Tracker) Summary(workspace string, projectID int64) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.projects[projectKey{workspace, projectID}]
	if p == nil {
		return Summary{}
	}
	return t.summarize(p, t.now())
}

// pruneAndSummarize forgets p's assets that the listing of generation gen
// did not name, and those that have left the window, and counts the rest:
// one pass, since a listing may name tens of thousands (the caller holds
// t.mu).
func (t *Tracker) pruneAndSummarize(p *project, now time.Time, gen uint32) Summary {
	s := Summary{SceneSummaries: t.cfg.SceneSummaries}
	nowNs, since := now.UnixNano(), t.since(now)
	for _, a := range p.assets {
		if a.seen != gen || !a.recent(since) {
			t.remove(a)
			continue
		}
		t.count(&s, a, nowNs)
	}
	return s
}

// summarize counts p's assets within the window (the caller holds t.mu).
func (t *Tracker) summarize(p *project, now time.Time) Summary {
	s := Summary{SceneSummaries: t.cfg.SceneSummaries}
	nowNs, since := now.UnixNano(), t.since(now)
	for _, a := range p.assets {
		if a.recent(since) {
			t.count(&s, a, nowNs)
		}
	}
	return s
}

// count adds a to s.
func (t *Tracker) count(s *Summary, a *asset, nowNs int64) {
	s.Recent++
	s.Import[a.imp]++
	ana := a.analysis()
	s.Analysis[ana]++
	if ana == AnalysisFailed {
		s.Failures[a.reason]++
	}
	if ana.pending() {
		s.OldestPending = max(s.OldestPending, pendingFor(a.pendingSince, nowNs))
	}
	if t.cfg.SceneSummaries {
		sum := a.summary()
		s.SceneSummary[sum]++
		if sum.pending() {
			s.SummaryOldestPending = max(s.SummaryOldestPending, pendingFor(a.sumPendingSince, nowNs))
		}
	}
}

// pendingFor is how long a state seen since since (Unix nanoseconds, 0:
// not known) has lasted at now: at least a nanosecond, since 0 means that
// nothing is pending.
func pendingFor(since, now int64) time.Duration {
	if since <= 0 {
		return 0
	}
	return max(time.Duration(now-since), time.Nanosecond)
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

// summary is the scene summary state a counts under: NotAnalyzed until
// its analysis is ANALYZE_COMPLETED.
func (a *asset) summary() SummaryState {
	switch {
	case a.analysis() != AnalysisCompleted:
		return SummaryNotAnalyzed
	case a.sum == SummaryNotAnalyzed: // the zero value: never asked
		return SummaryUnchecked
	}
	return a.sum
}

// summaryStage reports whether a's scene summary is tracked now.
func (t *Tracker) summaryStage(a *asset) bool {
	return t.cfg.SceneSummaries && a.analysis() == AnalysisCompleted
}

// setNext sets when a's import or analysis is due next, and queues a at
// its earliest due stage (the caller holds t.mu).
func (t *Tracker) setNext(a *asset, at int64) {
	a.next = at
	t.requeue(a)
}

// setSummaryNext is setNext for a's scene summary.
func (t *Tracker) setSummaryNext(a *asset, at int64) {
	a.sumNext = at
	t.requeue(a)
}

// recheckAll makes every stage of a due at at: its updatedTime changed.
func (t *Tracker) recheckAll(a *asset, at int64) {
	a.next = at
	if t.summaryStage(a) {
		a.sumNext = at
	}
	t.requeue(a)
}

// requeue queues a at the earlier of its stages' due times.
func (t *Tracker) requeue(a *asset) {
	due := a.next
	if t.summaryStage(a) && a.sumNext != 0 {
		due = min(due, a.sumNext)
	}
	t.queue.schedule(a, due)
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

// unknownValue logs a status value the docs do not list, once per value.
func (t *Tracker) unknownValue(field, v string) {
	if t.unknown[v] || len(t.unknown) >= maxUnknownLogged {
		return
	}
	t.unknown[v] = true
	t.log.Warn("status value not in the API docs; counted as other", "field", field, "value", fmt.Sprintf("%.64q", v))
}
