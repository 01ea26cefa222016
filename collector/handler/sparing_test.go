package handler

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/collector/scrape"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// Tests of the ways the exporter spares the API: coalesced scrapes, the
// asset cache, the rate limiter and count-only projects.

// tap sits in front of the simulator and sees every request the exporter
// sends it: when it arrived, its query, and how many are still open.
type tap struct {
	srv      *httptest.Server
	inflight atomic.Int64
	mu       sync.Mutex
	reqs     []tapReq
}

type tapReq struct {
	at    time.Time
	path  string
	query url.Values
}

func (tp *tap) requests() []tapReq {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]tapReq(nil), tp.reqs...)
}

// newTapEnv is newEnv with the client talking to the simulator through a tap.
func newTapEnv(t testing.TB, inv *mitest.Inventory, o envOpts) (*env, *tap) {
	t.Helper()
	tp := &tap{}
	var sim atomic.Pointer[mitest.Server]
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.inflight.Add(1)
		defer tp.inflight.Add(-1)
		tp.mu.Lock()
		tp.reqs = append(tp.reqs, tapReq{time.Now(), r.URL.Path, r.URL.Query()})
		tp.mu.Unlock()
		sim.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(tp.srv.Close) // runs after the simulator closed, which ends hanging requests
	prev := o.clientFn
	o.clientFn = func(c *client.Config) {
		c.BaseURL = tp.srv.URL
		if prev != nil {
			prev(c)
		}
	}
	e := newEnv(t, inv, o)
	sim.Store(e.sim)
	return e, tp
}

// scrapeResult is one HTTP answer of the exporter, fetched off the test goroutine.
type scrapeResult struct {
	status int
	body   string
	took   time.Duration
	err    error
}

func (e *env) fetch(ctx context.Context, path, timeout string) scrapeResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		return scrapeResult{err: err}
	}
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scrapeResult{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return scrapeResult{status: resp.StatusCode, body: string(b), took: time.Since(start), err: err}
}

func parseFamilies(t testing.TB, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing exposition: %v\n%s", err, body)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, lp := range m.GetLabel() {
		l[lp.GetName()] = lp.GetValue()
	}
	return l
}

// hasLabels reports whether m's labels include every pair of match.
func hasLabels(m *dto.Metric, match map[string]string) bool {
	l := labelsOf(m)
	for k, v := range match {
		if l[k] != v {
			return false
		}
	}
	return true
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return math.NaN()
}

// seriesMatching flattens families into "name{labels}" -> value, keeping the
// series whose labels include all of match.
func seriesMatching(fams map[string]*dto.MetricFamily, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			if !hasLabels(m, match) {
				continue
			}
			l := labelsOf(m)
			keys := make([]string, 0, len(l))
			for k := range l {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			b.WriteString(name + "{")
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=%q", k, l[k])
			}
			b.WriteByte('}')
			out[b.String()] = metricValue(m)
		}
	}
	return out
}

// sampleValue is the value of the one series of name with exactly these labels.
func sampleValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		if len(l) != len(labels) {
			continue
		}
		ok := true
		for k, v := range labels {
			ok = ok && l[k] == v
		}
		if ok {
			return metricValue(m), true
		}
	}
	return 0, false
}

func projSel(ws string, id int64) map[string]string {
	return map[string]string{"workspace": ws, "project_id": strconv.FormatInt(id, 10)}
}

// assetFigures are the series of a project that hold its asset figures.
func assetFigures(fams map[string]*dto.MetricFamily, ws string, id int64) map[string]float64 {
	out := seriesMatching(fams, projSel(ws, id))
	for k := range out {
		if strings.HasPrefix(k, "ncp_mediaintel_project_scrape_duration_seconds{") || strings.HasPrefix(k, "ncp_mediaintel_cache_age_seconds{") {
			delete(out, k)
		}
	}
	return out
}

type opCounts map[client.Operation]int64

func countOps(sim *mitest.Server) opCounts {
	c := opCounts{}
	for _, op := range []client.Operation{client.OpListWorkspaces, client.OpGetWorkspace, client.OpListProjects, client.OpListAssets} {
		c[op] = sim.Requests(op)
	}
	return c
}

func eachProject(inv *mitest.Inventory, fn func(ws string, p *mitest.Project)) {
	for _, w := range inv.Workspaces {
		for _, p := range w.Projects {
			fn(w.Name, p)
		}
	}
}

func pagesOf(p *mitest.Project, pageSize int) int64 {
	return int64(max(1, (p.AssetCount()+pageSize-1)/pageSize))
}

// TestCoalescedScrapes: overlapping /metrics scrapes share one API pass.
func TestCoalescedScrapes(t *testing.T) {
	for _, n := range []int{2, 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			inv := mitest.Generate(3, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 3, AssetsPerProject: 25})
			e := newEnv(t, inv, envOpts{pageSize: 10, opts: Options{MaxInFlight: 32}})
			// The workspace list is slow, so the others arrive while the
			// first scrape's pass is still running.
			e.sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Latency: 300 * time.Millisecond})

			results := make([]scrapeResult, n)
			var wg sync.WaitGroup
			wg.Go(func() { results[0] = e.fetch(context.Background(), "/metrics", "10") })
			testutil.Eventually(t, 5*time.Second, "the first pass to start", func() bool { return e.sim.Requests(client.OpListWorkspaces) == 1 })
			for i := 1; i < n; i++ {
				wg.Go(func() { results[i] = e.fetch(context.Background(), "/metrics", "10") })
			}
			wg.Wait()
			pass := countOps(e.sim)
			total := e.sim.TotalRequests()

			// One scrape alone, for its budget.
			e.sim.ResetCounters()
			one := e.fetch(context.Background(), "/metrics", "10")
			if one.err != nil || one.status != 200 {
				t.Fatalf("single scrape: %d %v", one.status, one.err)
			}
			if single := countOps(e.sim); fmt.Sprint(single) != fmt.Sprint(pass) || e.sim.TotalRequests() != total {
				t.Errorf("%d overlapping scrapes sent %v (%d requests); one scrape alone sends %v (%d)", n, pass, total, single, e.sim.TotalRequests())
			}
			if pass[client.OpListWorkspaces] != 1 || pass[client.OpListAssets] != 6*3 {
				t.Errorf("API calls %v; want 1 workspace list and 18 asset pages", pass)
			}

			oneFams := parseFamilies(t, one.body)
			if got, _ := sampleValue(oneFams, "ncp_mediaintel_scrapes_coalesced_total", nil); got != float64(n-1) {
				t.Errorf("scrapes_coalesced_total = %v, want %d", got, n-1)
			}
			var first map[string]float64
			for i, r := range results {
				if r.err != nil || r.status != 200 {
					t.Fatalf("scrape %d: %d %v", i, r.status, r.err)
				}
				fams := parseFamilies(t, r.body)
				if up, _ := sampleValue(fams, "ncp_mediaintel_up", nil); up != 1 {
					t.Errorf("scrape %d: up %v", i, up)
				}
				figs := map[string]float64{}
				eachProject(inv, func(ws string, p *mitest.Project) {
					for k, v := range assetFigures(fams, ws, p.ID) {
						figs[k] = v
					}
					if got, _ := sampleValue(fams, "ncp_mediaintel_project_assets_reported", projSel(ws, p.ID)); got != 25 {
						t.Errorf("scrape %d: %s/%d reported %v, want 25", i, ws, p.ID, got)
					}
				})
				if i == 0 {
					first = figs
					continue
				}
				if fmt.Sprint(figs) != fmt.Sprint(first) {
					t.Errorf("scrape %d has other asset figures than scrape 0", i)
				}
			}
		})
	}
}

// TestCoalescedJoinerLeaves: a scrape that goes away while others wait
// for the same pass (the one that started it, or one that joined it) does
// not cancel the pass for the one still waiting.
func TestCoalescedJoinerLeaves(t *testing.T) {
	for _, tc := range []struct {
		name        string
		starterGoes bool
	}{{"joiner leaves", false}, {"starter leaves", true}} {
		t.Run(tc.name, func(t *testing.T) {
			inv := mitest.Generate(4, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
			e := newEnv(t, inv, envOpts{})
			e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Latency: 500 * time.Millisecond})

			ctxStart, cancelStart := context.WithCancel(context.Background())
			ctxJoin, cancelJoin := context.WithCancel(context.Background())
			defer cancelStart()
			defer cancelJoin()
			leave, stay := cancelJoin, make(chan scrapeResult, 1)
			left := make(chan scrapeResult, 1)
			startCh, joinCh := stay, left
			if tc.starterGoes {
				leave, startCh, joinCh = cancelStart, left, stay
			}
			go func() { startCh <- e.fetch(ctxStart, "/metrics", "10") }()
			testutil.Eventually(t, 5*time.Second, "asset lists to start", func() bool { return e.sim.Requests(client.OpListAssets) > 0 })
			go func() { joinCh <- e.fetch(ctxJoin, "/metrics", "10") }()
			testutil.Eventually(t, 2*time.Second, "the second scrape to join", func() bool { return e.h.flights.waiters(scrape.Scope{}) == 2 })
			leave()
			if r := <-left; r.err == nil {
				t.Error("the cancelled scrape got an answer")
			}
			testutil.Eventually(t, 2*time.Second, "the exporter to see the client go", func() bool { return e.h.flights.waiters(scrape.Scope{}) == 1 })
			a := <-stay

			if a.err != nil || a.status != 200 {
				t.Fatalf("remaining scrape: %d %v", a.status, a.err)
			}
			fams := parseFamilies(t, a.body)
			eachProject(inv, func(ws string, p *mitest.Project) {
				if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
					t.Errorf("%s/%d: project_scrape_success %v, want 1: the pass was cancelled for the scrape still waiting", ws, p.ID, ok)
				}
			})
			if got := e.sim.Requests(client.OpListAssets); got != 3 {
				t.Errorf("asset-list calls %d, want 3 (one pass)", got)
			}
		})
	}
}

// TestCoalescedAllLeave: when every scrape waiting for a pass has gone,
// the pass is cancelled and its requests end at the API.
func TestCoalescedAllLeave(t *testing.T) {
	inv := mitest.Generate(5, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
	e, tp := newTapEnv(t, inv, envOpts{})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Hang: true})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { e.fetch(ctx, "/metrics", "30") })
	}
	testutil.Eventually(t, 5*time.Second, "both scrapes on one pass with asset lists hanging", func() bool {
		return e.h.flights.waiters(scrape.Scope{}) == 2 && tp.inflight.Load() == 3
	})
	cancel()
	wg.Wait()
	// The pass had 30 s; it must end now, and its requests with it.
	testutil.Eventually(t, 2*time.Second, "the hanging requests to end", func() bool { return tp.inflight.Load() == 0 })
	testutil.Eventually(t, 2*time.Second, "the pass to end", func() bool { return e.h.flights.waiters(scrape.Scope{}) == -1 })
	if got := int64(promtestutil.ToFloat64(e.serving.Coalesced)); got != 1 {
		t.Errorf("coalesced %d, want 1", got)
	}

	// The next scrape starts a pass of its own and succeeds.
	e.sim.ClearFaults()
	r := e.fetch(context.Background(), "/metrics", "5")
	if r.err != nil || r.status != 200 {
		t.Fatalf("next scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
			t.Errorf("%s/%d: project_scrape_success %v after the cancelled pass", ws, p.ID, ok)
		}
	})
}

// TestCoalescedEarlierDeadline: a scrape that joins a pass with a later
// deadline than its own is answered by its own deadline.
func TestCoalescedEarlierDeadline(t *testing.T) {
	inv := mitest.Generate(6, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 2, AssetsPerProject: 5})
	e := newEnv(t, inv, envOpts{})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Hang: true})

	var a scrapeResult
	var wg sync.WaitGroup
	wg.Go(func() { a = e.fetch(context.Background(), "/metrics", "2") })
	testutil.Eventually(t, 5*time.Second, "asset lists to start", func() bool { return e.sim.Requests(client.OpListAssets) == 2 })
	b := e.fetch(context.Background(), "/metrics", "0.3")
	if b.err != nil || b.status != 200 {
		t.Fatalf("joiner: %d %v", b.status, b.err)
	}
	if b.took > 1500*time.Millisecond { // waiting for the pass would take 2 s
		t.Errorf("joiner with a 0.3 s deadline answered after %v", b.took)
	}
	if got := int64(promtestutil.ToFloat64(e.serving.Coalesced)); got != 1 {
		t.Errorf("coalesced %d, want 1 (the joiner joined)", got)
	}
	if up, _ := sampleValue(parseFamilies(t, b.body), "ncp_mediaintel_up", nil); up != 0 {
		t.Errorf("joiner answered before the pass ended: want up 0, got %v", up)
	}
	// A joiner whose deadline has passed when it looks at the pass: its
	// context and its own timer are both done; it must not take the
	// context's end for the pass's and wait for the pass.
	dctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	start := time.Now()
	for range 20 {
		if res := e.h.flights.do(dctx, scrape.Scope{}); res.Err == nil {
			t.Fatalf("expired joiner got a result without an error")
		}
	}
	if took := time.Since(start); took > 500*time.Millisecond || int64(promtestutil.ToFloat64(e.serving.Coalesced)) != 21 {
		t.Errorf("20 expired joiners took %v (coalesced %d of 21): some waited for the pass", took, int64(promtestutil.ToFloat64(e.serving.Coalesced)))
	}
	wg.Wait()
	if a.err != nil || a.status != 200 || a.took < 1900*time.Millisecond || a.took > 3*time.Second {
		t.Errorf("first scrape: status %d, err %v, took %v; want 200 at its 2 s deadline", a.status, a.err, a.took)
	}
}

// TestCache: within the TTL only discovery calls reach the API; after it
// the projects are listed again; a failed refresh shows as a failure, not
// as stale or partial figures.
func TestCache(t *testing.T) {
	const ttl = 800 * time.Millisecond
	inv := mitest.Generate(8, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 2, AssetsPerProject: 25})
	e := newEnv(t, inv, envOpts{pageSize: 10, cfg: scrape.Config{CacheTTL: ttl}})
	const nProjects = 4
	scrape := func(step string) map[string]*dto.MetricFamily {
		t.Helper()
		r := e.fetch(context.Background(), "/metrics", "5")
		if r.err != nil || r.status != 200 {
			t.Fatalf("%s: %d %v", step, r.status, r.err)
		}
		return parseFamilies(t, r.body)
	}
	checkCacheCounts := func(step string, fams map[string]*dto.MetricFamily, hits, misses float64) {
		t.Helper()
		h, _ := sampleValue(fams, "ncp_mediaintel_cache_requests_total", map[string]string{"result": "hit"})
		m, _ := sampleValue(fams, "ncp_mediaintel_cache_requests_total", map[string]string{"result": "miss"})
		if h != hits || m != misses {
			t.Errorf("%s: cache hits %v, misses %v; want %v, %v", step, h, m, hits, misses)
		}
	}
	discovery := opCounts{client.OpListWorkspaces: 1, client.OpGetWorkspace: 2, client.OpListProjects: 2, client.OpListAssets: 0}
	victim := inv.Workspaces[1].Projects[1]
	victimWS := inv.Workspaces[1].Name

	first := scrape("first scrape")
	checkCacheCounts("first scrape", first, 0, nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if age, ok := sampleValue(first, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID)); !ok || age != 0 {
			t.Errorf("first scrape: %s/%d cache_age_seconds %v (present %v), want 0", ws, p.ID, age, ok)
		}
	})

	// Within the TTL: discovery again, no asset list.
	time.Sleep(150 * time.Millisecond)
	e.sim.ResetCounters()
	second := scrape("scrape within the TTL")
	if got := countOps(e.sim); fmt.Sprint(got) != fmt.Sprint(discovery) {
		t.Errorf("scrape within the TTL sent %v, want only discovery %v", got, discovery)
	}
	checkCacheCounts("scrape within the TTL", second, nProjects, nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		age, _ := sampleValue(second, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID))
		if age < 0.15 || age >= ttl.Seconds() {
			t.Errorf("%s/%d served from the cache with cache_age_seconds %v; want the 0.15 s since it was listed, under the TTL", ws, p.ID, age)
		}
		if fmt.Sprint(assetFigures(second, ws, p.ID)) != fmt.Sprint(assetFigures(first, ws, p.ID)) {
			t.Errorf("%s/%d: cached figures differ from the listed ones", ws, p.ID)
		}
		if d, _ := sampleValue(second, "ncp_mediaintel_project_scrape_duration_seconds", projSel(ws, p.ID)); d != 0 {
			t.Errorf("%s/%d: project_scrape_duration_seconds %v for a cache hit, want 0", ws, p.ID, d)
		}
	})

	// After the TTL every project is listed again; one fails.
	time.Sleep(ttl)
	e.sim.ResetCounters()
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: victim.ID}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	third := scrape("scrape after the TTL")
	checkCacheCounts("scrape after the TTL", third, nProjects, 2*nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if p == victim {
			return
		}
		if got := e.sim.RequestsFor(ws, p.ID); got != pagesOf(p, 10) {
			t.Errorf("after the TTL %s/%d had %d asset-list calls, want %d", ws, p.ID, got, pagesOf(p, 10))
		}
		if age, _ := sampleValue(third, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID)); age != 0 {
			t.Errorf("after the TTL %s/%d cache_age_seconds %v, want 0", ws, p.ID, age)
		}
	})
	if ok, present := sampleValue(third, "ncp_mediaintel_project_scrape_success", projSel(victimWS, victim.ID)); !present || ok != 0 {
		t.Errorf("failed refresh: project_scrape_success %v (present %v), want 0", ok, present)
	}
	for k := range seriesMatching(third, projSel(victimWS, victim.ID)) {
		if !strings.HasPrefix(k, "ncp_mediaintel_project_scrape_success{") && !strings.HasPrefix(k, "ncp_mediaintel_project_info{") &&
			!strings.HasPrefix(k, "ncp_mediaintel_project_scrape_duration_seconds{") {
			t.Errorf("failed refresh exported %s; want no asset series (neither stale nor partial)", k)
		}
	}

	// The fault cleared: the cache kept only successful listings, and the
	// failed project's old entry has expired, so it is listed again while
	// the others are served from the cache.
	e.sim.ClearFaults()
	e.sim.ResetCounters()
	fourth := scrape("scrape after the fault cleared")
	checkCacheCounts("scrape after the fault cleared", fourth, 2*nProjects-1, 2*nProjects+1)
	if got := e.sim.Requests(client.OpListAssets); got != pagesOf(victim, 10) || e.sim.RequestsFor(victimWS, victim.ID) != got {
		t.Errorf("after the fault cleared: %d asset-list calls (%d for the failed project), want %d for it alone", got, e.sim.RequestsFor(victimWS, victim.ID), pagesOf(victim, 10))
	}
	if fmt.Sprint(assetFigures(fourth, victimWS, victim.ID)) != fmt.Sprint(assetFigures(first, victimWS, victim.ID)) {
		t.Errorf("failed project's figures after recovery differ from the first scrape's")
	}
}

// TestCacheHelp: HELP is metadata and does not change with the cache; what
// says that a value came from the cache is cache_age_seconds, present only
// with the cache on.
func TestCacheHelp(t *testing.T) {
	helps := map[bool]map[string]string{}
	for _, on := range []bool{false, true} {
		ttl := time.Duration(0)
		if on {
			ttl = time.Minute
		}
		inv := mitest.Generate(9, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 2, AssetsPerProject: 20})
		e := newEnv(t, inv, envOpts{cfg: scrape.Config{CacheTTL: ttl}, opts: Options{Histograms: true}})
		helps[on] = map[string]string{}
		for _, path := range []string{"/metrics", "/metrics", "/probe?workspace=" + inv.Workspaces[0].Name} {
			r := e.fetch(context.Background(), path, "5")
			if r.status != 200 {
				t.Fatalf("%s: %d %v", path, r.status, r.err)
			}
			fams := parseFamilies(t, r.body)
			for name, f := range fams {
				helps[on][name] = f.GetHelp()
			}
			if _, ok := fams["ncp_mediaintel_cache_age_seconds"]; ok != on {
				t.Errorf("cache on=%v, %s: cache_age_seconds present: %v", on, path, ok)
			}
			if _, ok := fams["ncp_mediaintel_cache_requests_total"]; path == "/metrics" && ok != on {
				t.Errorf("cache on=%v: cache_requests_total present: %v", on, ok)
			}
		}
	}
	if len(helps[false]) < 20 {
		t.Fatalf("only %d families scraped", len(helps[false]))
	}
	for name, help := range helps[false] {
		if on := helps[true][name]; on != help {
			t.Errorf("HELP of %s changes with the cache: %q off, %q on", name, help, on)
		}
	}
}

// limitedEnv is an env whose client is paced by an AdaptiveLimiter.
func limitedEnv(t testing.TB, inv *mitest.Inventory, rps float64, burst int, o envOpts) (*env, *tap, *client.AdaptiveLimiter) {
	lim := client.NewAdaptiveLimiter(rps, burst)
	o.clientFn = func(c *client.Config) { c.Limiter = lim }
	e, tp := newTapEnv(t, inv, o)
	collector.RegisterLimiterMetrics(e.process, lim)
	return e, tp, lim
}

// TestRateLimitHeld: a 20-project scrape keeps to the configured rate.
//
// The bucket starts full, so the first burst requests go out at once; after
// them request k is sent 1/rps after request k-1. The rate is therefore
// measured from the first request after the burst to the last one:
// (requests - 1) / (time between them). Over the whole scrape, the burst
// would inflate it by burst/duration.
func TestRateLimitHeld(t *testing.T) {
	const rps, burst = 40.0, 5
	inv := mitest.Generate(10, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 20, AssetsPerProject: 25})
	e, tp, _ := limitedEnv(t, inv, rps, burst, envOpts{pageSize: 10})
	r := e.fetch(context.Background(), "/metrics", "30")
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
			t.Errorf("%s/%d failed", ws, p.ID)
		}
	})
	reqs := tp.requests()
	if len(reqs) != 3+20*3 {
		t.Fatalf("%d requests, want 63", len(reqs))
	}
	paced := reqs[burst:]
	span := paced[len(paced)-1].at.Sub(paced[0].at)
	got := float64(len(paced)-1) / span.Seconds()
	whole := float64(len(reqs)) / reqs[len(reqs)-1].at.Sub(reqs[0].at).Seconds()
	t.Logf("rate after the burst %.2f/s (%.1f%% off %v/s); over the whole scrape %.2f/s", got, 100*(got-rps)/rps, rps, whole)
	if math.Abs(got-rps)/rps > 0.10 {
		t.Errorf("request rate %.2f/s, want %v/s ± 10%%", got, rps)
	}
	if w, _ := sampleValue(fams, "ncp_mediaintel_rate_limiter_wait_seconds_total", nil); w < 1 {
		t.Errorf("rate_limiter_wait_seconds_total %v; 58 requests at 40/s should have waited over 1 s in all", w)
	}
}

// TestRateLimitBacksOffAndRecovers: a 429 (gateway 410, Throttle Limited)
// halves the rate; it climbs back to the setting on its own.
func TestRateLimitBacksOffAndRecovers(t *testing.T) {
	t.Parallel()
	const rps = 100.0
	inv := mitest.Generate(11, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
	e, _, lim := limitedEnv(t, inv, rps, 10, envOpts{})
	victim := inv.Workspaces[0].Projects[1]
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: victim.ID},
		mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "410", Times: 1})
	r := e.fetch(context.Background(), "/metrics", "10")
	cut := time.Now()
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(inv.Workspaces[0].Name, victim.ID)); ok != 1 {
		t.Errorf("throttled project not retried to success")
	}
	if n, _ := sampleValue(fams, "ncp_mediaintel_rate_limiter_reductions_total", nil); n != 1 || lim.Reductions() != 1 {
		t.Errorf("rate_limiter_reductions_total %v, Reductions %d; want 1", n, lim.Reductions())
	}
	if n, _ := sampleValue(fams, "ncp_mediaintel_api_requests_total", map[string]string{"operation": "list_assets", "code": "429"}); n != 1 {
		t.Errorf("api_requests_total{code=429} %v, want 1", n)
	}
	if got := lim.Rate(); got < rps/2 || got > rps/2+rps/10 {
		t.Errorf("rate right after the 429: %v, want about %v", got, rps/2)
	}
	// Scrapes go on without 429s: the rate climbs back by a tenth of the
	// setting a second. (The limiter applies the increase when a request
	// waits, so Rate is read after a scrape.)
	prev := lim.Rate()
	for lim.Rate() < rps {
		time.Sleep(250 * time.Millisecond)
		if res := e.scraper.Scrape(context.Background(), scrape.Scope{}); !res.Up {
			t.Fatalf("scrape while recovering: %v", res.Err)
		}
		cur := lim.Rate()
		if cur < prev {
			t.Fatalf("rate went down from %v to %v while recovering", prev, cur)
		}
		if el := time.Since(cut).Seconds(); cur > rps/2+rps/10*(el+0.5) {
			t.Fatalf("rate %v after %.2f s: faster than a tenth a second", cur, el)
		}
		if time.Since(cut) > 7*time.Second {
			t.Fatalf("rate %v of %v after %v; want full recovery within about 5 s", cur, rps, time.Since(cut))
		}
		prev = cur
	}
	if took := time.Since(cut); took < 4*time.Second {
		t.Errorf("recovered in %v; additive increase should take about 5 s", took)
	}
	r = e.fetch(context.Background(), "/metrics", "10")
	if got, _ := sampleValue(parseFamilies(t, r.body), "ncp_mediaintel_rate_limiter_allowed_requests_per_second", nil); got != rps {
		t.Errorf("rate_limiter_allowed_requests_per_second %v after recovery, want %v", got, rps)
	}
}

// TestRateLimitWaitCountsAgainstDeadline: with a low rate and a short
// deadline, projects fail by the deadline instead of the scrape overrunning.
func TestRateLimitWaitCountsAgainstDeadline(t *testing.T) {
	inv := mitest.Generate(12, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 20, AssetsPerProject: 5})
	e, tp, _ := limitedEnv(t, inv, 2, 1, envOpts{})
	r := e.fetch(context.Background(), "/metrics", "1")
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	if r.took > 3*time.Second { // waiting for the limiter past the deadline would take 6 s
		t.Errorf("scrape with a 1 s deadline took %v", r.took)
	}
	fams := parseFamilies(t, r.body)
	failed := 0
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok == 0 {
			failed++
		}
	})
	if failed < 18 {
		t.Errorf("%d of 20 projects failed; at 2/s with a 1 s deadline at most 2 requests fit after discovery", failed)
	}
	// One token at once, then one every 0.5 s: at most 3 by the deadline.
	if n := len(tp.requests()); n > 3 {
		t.Errorf("%d requests reached the API in 1 s at 2/s, burst 1", n)
	}
	if !strings.Contains(e.logs.String(), "rate limiter") {
		t.Errorf("logs do not say the rate limiter held the projects back")
	}
}

// TestCountOnly: count-only projects cost one request of page size 1 and
// export the reported count only; the other projects are listed in full.
func TestCountOnly(t *testing.T) {
	inv := mitest.Generate(13, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 4, AssetsPerProject: 25})
	ws := inv.Workspaces[0]
	byName, byID := ws.Projects[1], ws.Projects[2]
	for _, tc := range []struct {
		name  string
		cfg   scrape.Config
		count []*mitest.Project
	}{
		{"none", scrape.Config{}, nil},
		{"regexp", scrape.Config{CountOnly: regexp.MustCompile("^(?:" + regexp.QuoteMeta(byName.Name) + "|" + strconv.FormatInt(byID.ID, 10) + ")$")}, []*mitest.Project{byName, byID}},
		{"all", scrape.Config{CountOnlyAll: true}, ws.Projects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tp := newTapEnv(t, inv, envOpts{pageSize: 10, cfg: tc.cfg})
			r := e.fetch(context.Background(), "/metrics", "5")
			if r.status != 200 {
				t.Fatalf("scrape: %d %v", r.status, r.err)
			}
			fams := parseFamilies(t, r.body)
			for _, p := range ws.Projects {
				countOnly := false
				for _, c := range tc.count {
					countOnly = countOnly || c == p
				}
				id := strconv.FormatInt(p.ID, 10)
				if rep, _ := sampleValue(fams, "ncp_mediaintel_project_assets_reported", projSel(ws.Name, p.ID)); rep != 25 {
					t.Errorf("%d: project_assets_reported %v, want 25", p.ID, rep)
				}
				if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws.Name, p.ID)); ok != 1 {
					t.Errorf("%d: project_scrape_success %v", p.ID, ok)
				}
				_, hasFormats := sampleValue(fams, "ncp_mediaintel_assets", map[string]string{"workspace": ws.Name, "project_id": id, "format": "mp4"})
				var queries []url.Values
				for _, q := range tp.requests() {
					if strings.HasSuffix(q.path, "/projects/"+id+"/assets") {
						queries = append(queries, q.query)
					}
				}
				if countOnly {
					if len(queries) != 1 || queries[0].Get("pageSize") != "1" || queries[0].Get("pageNum") != "1" {
						t.Errorf("%d is count-only: asset-list requests %v, want one with pageNum=1&pageSize=1", p.ID, queries)
					}
					if hasFormats {
						t.Errorf("%d is count-only but has per-format series", p.ID)
					}
					for k := range seriesMatching(fams, projSel(ws.Name, p.ID)) {
						if strings.HasPrefix(k, "ncp_mediaintel_assets") || strings.Contains(k, "_last_asset_") {
							t.Errorf("%d is count-only but exports %s", p.ID, k)
						}
					}
				} else {
					if int64(len(queries)) != pagesOf(p, 10) || e.sim.RequestsFor(ws.Name, p.ID) != pagesOf(p, 10) {
						t.Errorf("%d is listed: %d asset-list requests, want %d", p.ID, len(queries), pagesOf(p, 10))
					}
					for _, q := range queries {
						if q.Get("pageSize") != "10" {
							t.Errorf("%d is listed with pageSize=%s", p.ID, q.Get("pageSize"))
						}
					}
					if !hasFormats {
						t.Errorf("%d is listed but has no per-format series", p.ID)
					}
				}
			}
		})
	}
}
