package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Options configures an Exporter's HTTP side.
type Options struct {
	// Timeout is the scrape deadline when Prometheus sends no
	// X-Prometheus-Scrape-Timeout-Seconds header.
	Timeout time.Duration
	// TimeoutOffset is taken off the header's value, to leave time to
	// encode and send the answer.
	TimeoutOffset time.Duration
	// MaxInFlight bounds concurrent requests to /metrics, /probe and
	// /discovery together; beyond it the exporter answers 503.
	MaxInFlight int
	// Histograms turns the per-project size and duration histograms on.
	Histograms bool
	// Process is the registry of process-lifetime metrics served with
	// /metrics (API request counters, build info, Go and process metrics).
	Process prometheus.Gatherer
	Logger  *slog.Logger
}

// Exporter serves the scrapes of one Scraper and coalesces overlapping ones.
type Exporter struct {
	s        *Scraper
	opts     Options
	d        *descs
	log      *slog.Logger
	inflight chan struct{}

	mu        sync.Mutex
	flights   map[Scope]*flight
	coalesced atomic.Int64
	rejected  atomic.Int64
}

// NewExporter returns an Exporter for s.
func NewExporter(s *Scraper, opts Options) *Exporter {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 16
	}
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	if opts.Process == nil {
		opts.Process = prometheus.NewRegistry()
	}
	return &Exporter{
		s: s, opts: opts, d: newDescs(s.cache != nil), log: opts.Logger,
		inflight: make(chan struct{}, opts.MaxInFlight),
		flights:  map[Scope]*flight{},
	}
}

// SelfCollectors returns process-lifetime metrics about the exporter's own
// sparing of the API: coalesced scrapes, rejected scrapes, cache hits and
// misses. Register them with the process registry.
func (e *Exporter) SelfCollectors() []prometheus.Collector {
	cs := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "scrapes_coalesced_total",
			Help: "Scrapes that joined an API pass already running for the same scope instead of starting their own."},
			func() float64 { return float64(e.coalesced.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "scrapes_rejected_total",
			Help: "Scrapes answered 503 because too many were in flight."},
			func() float64 { return float64(e.rejected.Load()) }),
	}
	if c := e.s.cache; c != nil {
		cv := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "cache_requests_total"),
			"Project look-ups in the asset cache, by result (hit or miss).", []string{"result"}, nil)
		cs = append(cs, cacheCollector{cv, c})
	}
	return cs
}

type cacheCollector struct {
	d *prometheus.Desc
	c *projectCache
}

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.d }
func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.c.hits.Load()), "hit")
	ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.c.misses.Load()), "miss")
}

// ScrapeTimeout returns the deadline for a scrape from the value of the
// X-Prometheus-Scrape-Timeout-Seconds header: the header minus offset, or
// def when the header is absent. A header that is not a positive number of
// seconds is an error. When the offset would leave nothing, half the
// header's value is used. The deadline is at most a day; a negative offset
// counts as zero.
func ScrapeTimeout(header string, def, offset time.Duration) (time.Duration, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return def, nil
	}
	secs, err := strconv.ParseFloat(header, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q: want a positive number of seconds", cleanParam(header))
	}
	secs = math.Min(secs, 24*3600)
	t := time.Duration(secs * float64(time.Second))
	offset = max(0, offset) // a negative offset would lengthen the deadline
	if t-offset > 0 {
		return t - offset, nil
	}
	if t/2 <= 0 {
		// Below 2 ns: a deadline of zero would fail the scrape at once.
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q: too small", cleanParam(header))
	}
	return t / 2, nil
}

// bounded runs serve within the bound on requests in flight (503 beyond
// it) and with the deadline the request's scrape-timeout header sets.
func (e *Exporter) bounded(w http.ResponseWriter, r *http.Request, serve func(ctx context.Context)) {
	select {
	case e.inflight <- struct{}{}:
		defer func() { <-e.inflight }()
	default:
		e.rejected.Add(1)
		http.Error(w, "too many scrapes in flight; try again later", http.StatusServiceUnavailable)
		return
	}
	t, err := ScrapeTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), e.opts.Timeout, e.opts.TimeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), t)
	defer cancel()
	serve(ctx)
}

// flight is one API pass shared by the scrapes that overlap it.
type flight struct {
	done     chan struct{}
	res      *Result
	waiters  int
	cancel   context.CancelFunc
	deadline time.Time
}

// scrape runs a pass over scope, or joins the one already running. The
// pass has the deadline of the scrape that started it, so it ends by then
// on its own; a scrape waits for it unless its own client goes away first,
// or (for a scrape that joined) its own, earlier deadline passes. The pass
// is cancelled as soon as every scrape waiting for it has gone.
func (e *Exporter) scrape(ctx context.Context, scope Scope) *Result {
	deadline, hasDeadline := ctx.Deadline()
	e.mu.Lock()
	f, joined := e.flights[scope]
	if joined {
		f.waiters++
		e.coalesced.Add(1)
	} else {
		var pctx context.Context
		var cancel context.CancelFunc
		if hasDeadline {
			pctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
		} else {
			pctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		}
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel, deadline: deadline}
		e.flights[scope] = f
		go func() {
			defer cancel()
			f.res = e.s.Scrape(pctx, scope)
			e.mu.Lock()
			if e.flights[scope] == f {
				delete(e.flights, scope)
			}
			e.mu.Unlock()
			close(f.done)
		}()
	}
	e.mu.Unlock()

	// Only a joiner with an earlier deadline than the pass gives up on it.
	var early <-chan time.Time
	if joined && hasDeadline && deadline.Before(f.deadline) {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		early = t.C
	}
	var err error
	select {
	case <-f.done:
		return f.res
	case <-early:
		err = context.DeadlineExceeded
	case <-ctx.Done():
		if err = context.Cause(ctx); errors.Is(err, context.DeadlineExceeded) && early == nil {
			// Our deadline is the pass's (or later): it is ending now. A
			// joiner with an earlier deadline does not wait for it, even
			// when its context ends before its own timer fires.
			<-f.done
			return f.res
		}
	}
	e.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		// Nobody wants this pass any more; a scrape arriving now starts
		// afresh rather than joining a pass that is being cancelled.
		f.cancel()
		if e.flights[scope] == f {
			delete(e.flights, scope)
		}
	}
	e.mu.Unlock()
	return &Result{Scope: scope, Err: err}
}

func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, res *Result, projectOnly bool, g prometheus.Gatherer) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&ResultCollector{d: e.d, res: res, histograms: e.opts.Histograms, cache: e.s.cache != nil, projectOnly: projectOnly})
	gs := prometheus.Gatherers{reg}
	if g != nil {
		gs = append(gs, g)
	}
	promhttp.HandlerFor(gs, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(e.log.Handler(), slog.LevelError),
	}).ServeHTTP(w, r)
}

// MetricsHandler serves every workspace and project the key can see,
// together with the process-lifetime metrics.
func (e *Exporter) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.bounded(w, r, func(ctx context.Context) {
			e.serve(w, r, e.scrape(ctx, Scope{}), false, e.opts.Process)
		})
	})
}

// ParseTarget validates the /probe and /discovery target parameters. A
// target is a workspace name and optionally a project ID, never a URL.
func ParseTarget(q url.Values) (Scope, error) {
	for k := range q {
		if k != "workspace" && k != "project" {
			return Scope{}, fmt.Errorf("unknown parameter %q: want workspace and optionally project", cleanParam(k))
		}
	}
	if len(q["workspace"]) != 1 || len(q["project"]) > 1 {
		return Scope{}, errors.New("want exactly one workspace parameter and at most one project parameter")
	}
	ws := q.Get("workspace")
	if !client.ValidWorkspaceName(ws) {
		return Scope{}, fmt.Errorf("workspace %q: want 3-63 characters of a-z, 0-9 and '-'", cleanParam(ws))
	}
	s := Scope{Workspace: ws}
	if p := q.Get("project"); q.Has("project") {
		id, err := client.ParseProjectID(p)
		if err != nil {
			return Scope{}, err
		}
		s.ProjectID = id
	}
	return s, nil
}

func cleanParam(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// ProbeHandler serves one workspace (?workspace=W) or one project
// (?workspace=W&project=ID), with a fresh registry and none of the
// process-lifetime metrics.
func (e *Exporter) ProbeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope, err := ParseTarget(r.URL.Query())
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ws := e.s.cfg.Workspaces; len(ws) > 0 && !contains(ws, scope.Workspace) {
			http.Error(w, fmt.Sprintf("bad target: workspace %q is not among the configured --mi.workspace", scope.Workspace), http.StatusBadRequest)
			return
		}
		e.bounded(w, r, func(ctx context.Context) {
			res := e.scrape(ctx, scope)
			if len(res.Workspaces) == 1 {
				wr := res.Workspaces[0]
				if wr.NotFound {
					http.Error(w, fmt.Sprintf("unknown target: workspace %q not found", scope.Workspace), http.StatusBadRequest)
					return
				}
				if wr.Success && scope.ProjectID != 0 && len(wr.Projects) == 0 {
					http.Error(w, fmt.Sprintf("unknown target: project %d not found in workspace %q", scope.ProjectID, scope.Workspace), http.StatusBadRequest)
					return
				}
			}
			e.serve(w, r, res, scope.ProjectID != 0, nil)
		})
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sdGroup is one Prometheus HTTP service discovery target group.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// DiscoveryHandler answers Prometheus HTTP service discovery: one target
// group per workspace, or per project with ?per=project, labelled for
// relabelling into /probe. target is the address Prometheus should scrape
// (this exporter's host:port, as the request addressed it).
func (e *Exporter) DiscoveryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		per := q.Get("per")
		for k := range q {
			if k != "per" {
				http.Error(w, fmt.Sprintf("unknown parameter %q: want per=workspace or per=project", cleanParam(k)), http.StatusBadRequest)
				return
			}
		}
		if per == "" {
			per = "workspace"
		}
		if per != "workspace" && per != "project" || len(q["per"]) > 1 {
			http.Error(w, fmt.Sprintf("per=%q: want workspace or project", cleanParam(per)), http.StatusBadRequest)
			return
		}
		e.bounded(w, r, func(ctx context.Context) {
			groups, err := e.discover(ctx, per == "project", r.Host)
			if err != nil {
				e.log.Error("discovery failed", "err", err)
				http.Error(w, "discovery failed: "+err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(groups)
		})
	})
}

func (e *Exporter) discover(ctx context.Context, perProject bool, target string) ([]sdGroup, error) {
	p := newPass(e.s)
	ctx = client.WithGate(ctx, p)
	names, err := p.discover(ctx, Scope{})
	if err != nil {
		return nil, err
	}
	groups := []sdGroup{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for _, ws := range names {
		if !perProject {
			groups = append(groups, sdGroup{Targets: []string{target}, Labels: map[string]string{"__param_workspace": ws, "workspace": ws}})
			continue
		}
		wg.Go(func() {
			var projects []client.Project
			err := p.call(ctx, func() error {
				var err error
				projects, err = e.s.api.ListProjects(ctx, ws)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && len(projects) == 0 {
				e.log.Error("discovery: project list failed", "workspace", ws, "err", err)
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			for _, pr := range projects {
				if !e.s.selected(pr) {
					continue
				}
				id := strconv.FormatInt(pr.ID, 10)
				groups = append(groups, sdGroup{Targets: []string{target}, Labels: map[string]string{
					"__param_workspace": ws, "__param_project": id,
					"workspace": ws, "project_id": id, "project_name": pr.Name,
				}})
			}
		})
	}
	wg.Wait()
	if len(groups) == 0 && firstErr != nil {
		return nil, firstErr
	}
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i].Labels, groups[j].Labels
		if a["workspace"] != b["workspace"] {
			return a["workspace"] < b["workspace"]
		}
		// Project IDs in numeric order ("9" before "10"): they are
		// positive decimals without leading zeros.
		pa, pb := a["__param_project"], b["__param_project"]
		if len(pa) != len(pb) {
			return len(pa) < len(pb)
		}
		return pa < pb
	})
	return groups, nil
}

// RegisterLimiterMetrics exports the rate limiter's state.
func RegisterLimiterMetrics(reg prometheus.Registerer, l *client.AdaptiveLimiter) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "rate_limiter_rate",
			Help: "Current request rate allowed to the API, in requests per second (lowered after a 429, recovering on its own)."}, l.Rate),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limiter_wait_seconds_total",
			Help: "Time requests spent waiting for the rate limiter."}, l.WaitSeconds),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limiter_throttled_total",
			Help: "429 answers that lowered the rate."}, func() float64 { return float64(l.Throttles()) }),
	)
}
