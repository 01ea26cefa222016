package scrape

// Benchmarks for the issue "decode at several times encoding/json's speed,
// flat memory, scrape time at the schedule bound". Each prints its ratios
// measured in the same run; .ci/bench runs them all and prints a table.
//
//	BenchmarkPageAggregate   decode + per-asset work of one page vs encoding/json
//	BenchmarkScrapeBound     scrape time with API latency vs the schedule bound
//	BenchmarkScrapeLarge     peak heap and CPU for one project of 100k and 1M assets
//	TestConnectionReuse      a scrape opens at most Concurrency connections

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

const (
	benchWS      = "bench-ws"
	benchProject = 4242
)

// simPage returns page 1 of a synthetic project of n assets (page size n),
// exactly as the simulator serves it: the documented shape, with the
// simulator's mix of formats, odd and null fields and non-ASCII names.
func simPage(tb testing.TB, n int) []byte {
	tb.Helper()
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: benchWS, Projects: []*mitest.Project{
		{ID: benchProject, Name: "bench", Synthetic: &mitest.SyntheticAssets{Count: n, Seed: 11}},
	}}}}
	sim := mitest.NewServer(inv)
	defer sim.Close()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/workspaces/%s/projects/%d/assets?pageNum=1&pageSize=%d", sim.URL, benchWS, benchProject, n), nil)
	if err != nil {
		tb.Fatal(err)
	}
	mitest.SignRequest(req, mitest.DefaultAccessKey, mitest.DefaultSecretKey, time.Now())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("status %d, %v: %.200s", resp.StatusCode, err, body)
	}
	return body
}

// memTransport answers every request with the same 200 JSON body from
// memory, so that client.AssetPage runs its whole path (signing, request,
// body read, decode, page checks) with no network and no simulator.
type memTransport struct{ body []byte }

func (m *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    200,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: int64(len(m.body)),
		Request:       req,
	}, nil
}

func memClient(tb testing.TB, page []byte, pageSize int) *client.Client {
	tb.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		tb.Fatal(err)
	}
	api, err := client.New(client.Config{
		BaseURL:     "http://mi.invalid",
		Credentials: client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey)),
		PageSize:    pageSize,
		MaxAttempts: 1,
		Location:    seoul,
		Transport:   &memTransport{body: page},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// pageAgg is the state of one project listing as listAssets keeps it. Each
// page run adds idOffset to the asset IDs, so that page after page the
// de-duplication set sees new IDs, as it does while a large project is
// paged (the same page merged twice would only count duplicates).
type pageAgg struct {
	api      *client.Client
	loc      *time.Location
	pl       *projectList
	recs     []record
	idOffset int64
	stride   int64
}

func newPageAgg(api *client.Client, stride int) *pageAgg {
	return &pageAgg{api: api, loc: api.Location(), pl: &projectList{minSeen: -1, since: math.MaxInt64}, recs: make([]record, 0, client.MaxPageSize), stride: int64(stride)}
}

// fast is the exporter's path: client.AssetPage with the collector's
// per-asset makeRecord, then projectList.merge, as in listAssets.
func (g *pageAgg) fast(ctx context.Context) error {
	g.recs = g.recs[:0]
	info, err := g.api.AssetPage(ctx, benchWS, benchProject, 1, func(a *client.Asset) {
		r := makeRecord(a, g.loc)
		r.id += g.idOffset
		g.recs = append(g.recs, r)
	})
	if err != nil {
		return err
	}
	g.pl.merge(g.recs, info.TotalCount)
	g.idOffset += g.stride
	return nil
}

// The documented asset-list response, for encoding/json. Pointers keep
// "absent or null" apart from zero, as the exporter must.
type docMeta struct {
	Resolution *string `json:"resolution"`
	DurationMs *int64  `json:"durationMs"`
	Size       *int64  `json:"size"`
	Format     *string `json:"format"`
}

type docAsset struct {
	AssetID        *int64   `json:"assetId"`
	FileName       string   `json:"fileName"`
	ProjectID      int64    `json:"projectId"`
	MetaData       *docMeta `json:"metaData"`
	Key            string   `json:"key"`
	CreateUserName string   `json:"createUserName"`
	CreatedTime    string   `json:"createdTime"`
	UpdateUserName string   `json:"updateUserName"`
	UpdatedTime    string   `json:"updatedTime"`
}

type docPage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  *struct {
		Content    []docAsset `json:"content"`
		TotalCount int64      `json:"totalCount"`
		TotalPage  int64      `json:"totalPage"`
		PageNo     int64      `json:"pageNo"`
		PageSize   int64      `json:"pageSize"`
	} `json:"result"`
}

// strBytes returns the bytes of s without copying, so that the baseline is not
// charged for adapting its strings to client.Asset.
func strBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// strPtrBytes is strBytes for an optional string.
func strPtrBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return strBytes(*s)
}

// baseline is the same work done the usual way: encoding/json.Unmarshal of
// the body into structs, then the same makeRecord and merge. It reads the
// body from memory, not through the HTTP client, so it is spared the
// client's request overhead: the ratio is conservative.
func (g *pageAgg) baseline(page []byte) error {
	var p docPage
	if err := json.Unmarshal(page, &p); err != nil {
		return err
	}
	if p.Code != "0" || p.Result == nil {
		return fmt.Errorf("code %q, result %v", p.Code, p.Result != nil)
	}
	g.recs = g.recs[:0]
	for i := range p.Result.Content {
		d := &p.Result.Content[i]
		a := client.Asset{ProjectID: d.ProjectID, CreatedTime: strBytes(d.CreatedTime), UpdatedTime: strBytes(d.UpdatedTime)}
		if d.AssetID != nil {
			a.ID, a.HasID = *d.AssetID, true
		}
		if m := d.MetaData; m != nil {
			a.HasMeta = true
			a.Resolution, a.Format = strPtrBytes(m.Resolution), strPtrBytes(m.Format)
			if m.DurationMs != nil {
				a.DurationMs, a.HasDuration = *m.DurationMs, true
			}
			if m.Size != nil {
				a.Size, a.HasSize = *m.Size, true
			}
		}
		r := makeRecord(&a, g.loc)
		r.id += g.idOffset
		g.recs = append(g.recs, r)
	}
	g.pl.merge(g.recs, p.Result.TotalCount)
	g.idOffset += g.stride
	return nil
}

// TestPageAggregateAgree: both benchmark paths do the same work and reach
// the same figures, page after page.
func TestPageAggregateAgree(t *testing.T) {
	const n = 1000
	page := simPage(t, n)
	api := memClient(t, page, n)
	fast, base := newPageAgg(api, n), newPageAgg(api, n)
	for range 3 {
		if err := fast.fast(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := base.baseline(page); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(fast.pl.stats, base.pl.stats) {
		t.Fatalf("figures differ:\nfast     %+v\nbaseline %+v", fast.pl.stats, base.pl.stats)
	}
	s := &fast.pl.stats
	if s.Unique+s.WithoutID != 3*n || s.Duplicates != 0 || fast.pl.ids.count() != int(s.Unique) {
		t.Errorf("unique %d, without ID %d, duplicates %d, set %d; want %d new assets", s.Unique, s.WithoutID, s.Duplicates, fast.pl.ids.count(), 3*n)
	}
	// The page exercises every part of the per-asset work.
	if s.Count[FormatOther] == 0 || s.Count[FormatUnknown] == 0 || s.Reasons[ReasonResolutionAboveMax] == 0 || s.Reasons[ReasonMetadataMissing] == 0 ||
		s.Res[Res1080p] == 0 || s.SizeHist.Count == 0 || s.DurHist.Count == 0 || s.LastCreated == 0 {
		t.Errorf("page does not exercise the aggregation: %+v", s)
	}
}

// TestPageAggregateAllocsPerPage: the exporter's page path allocates per
// page (HTTP request, response), never per asset.
func TestPageAggregateAllocsPerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	// Without status tracking, and with it, every asset recent (each is
	// then collected for the tracker: the slice grows by doubling, which is
	// a fraction of an allocation a page, not one an asset).
	for _, tracking := range []bool{false, true} {
		allocs := map[int]float64{}
		for _, n := range []int{10, 1000} {
			api := memClient(t, simPage(t, n), n)
			g := newPageAgg(api, 1000) // the same ID stride: the same de-dup set growth
			if tracking {
				g.pl.since = 0
			}
			run := func() {
				if err := g.fast(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			for range 200 { // warm pools; fill the current de-dup groups' arrays
				run()
			}
			allocs[n] = testing.AllocsPerRun(100, run)
			if tracking && len(g.pl.recent) < 300*n {
				t.Fatalf("tracking: %d recent assets collected from 300 pages of %d", len(g.pl.recent), n)
			}
		}
		if allocs[1000] > allocs[10]+10 { // a few more under the race detector; per asset it would be ~1000 more
			t.Errorf("tracking %v: allocations per page: %v with 10 assets, %v with 1000: they grow with the assets", tracking, allocs[10], allocs[1000])
		}
		t.Logf("tracking %v: allocs per page: %v with 10 assets, %v with 1000", tracking, allocs[10], allocs[1000])
	}
}

// BenchmarkPageAggregate runs the exporter's page path (client decoder via
// client.AssetPage over an in-memory transport, makeRecord, merge with the
// de-dup set) and the encoding/json baseline alternately on the same
// simulator page of 1000 assets, and reports x_encoding_json = baseline
// time / exporter time, ns per asset and allocations per page and per asset
// of each path.
func BenchmarkPageAggregate(b *testing.B) {
	const n = 1000
	page := simPage(b, n)
	api := memClient(b, page, n)
	ctx := context.Background()
	fast, base := newPageAgg(api, n), newPageAgg(api, n)
	for range 3 { // warm the pools
		if err := fast.fast(ctx); err != nil {
			b.Fatal(err)
		}
		if err := base.baseline(page); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(2 * len(page)))
	b.ReportAllocs()
	b.ResetTimer()
	var tFast, tBase time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		err1 := fast.fast(ctx)
		t1 := time.Now()
		err2 := base.baseline(page)
		t2 := time.Now()
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		tFast += t1.Sub(t0)
		tBase += t2.Sub(t1)
	}
	b.StopTimer()
	if fast.pl.stats.Unique != base.pl.stats.Unique {
		b.Fatalf("paths disagree: %d vs %d assets", fast.pl.stats.Unique, base.pl.stats.Unique)
	}
	// Allocations of each path alone, in steady state (pools warm): the
	// allocs/op above mixes both paths.
	allocsPerPage := func(pages int, run func() error) float64 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range pages {
			if err := run(); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&m1)
		return float64(m1.Mallocs-m0.Mallocs) / float64(pages)
	}
	aFast := allocsPerPage(20, func() error { return fast.fast(ctx) })
	aBase := allocsPerPage(3, func() error { return base.baseline(page) })
	N := float64(b.N)
	b.ReportMetric(float64(tBase)/float64(tFast), "x_encoding_json")
	b.ReportMetric(float64(tFast.Nanoseconds())/N/n, "fast_ns/asset")
	b.ReportMetric(float64(tBase.Nanoseconds())/N/n, "json_ns/asset")
	b.ReportMetric(aFast, "fast_allocs/page")
	b.ReportMetric(aFast/n, "fast_allocs/asset")
	b.ReportMetric(aBase, "json_allocs/page")
	b.ReportMetric(aBase/n, "json_allocs/asset")
}

// benchEnv is newEnv with the client's pool sized to the concurrency, as
// main sizes it.
func benchEnv(tb testing.TB, inv *mitest.Inventory, concurrency int) *env {
	return newEnv(tb, inv, envOpts{
		cfg:      Config{Concurrency: concurrency},
		clientFn: func(c *client.Config) { c.MaxConns = concurrency },
	})
}

func checkBenchScrape(tb testing.TB, res *Result, wantAssets int64) {
	tb.Helper()
	if !res.Up {
		tb.Fatalf("scrape failed: %v", res.Err)
	}
	var got int64
	for _, w := range res.Workspaces {
		for _, p := range w.Projects {
			if !p.Success {
				tb.Fatalf("project %d failed: %v", p.Project.ID, p.Err)
			}
			got += p.Stats.Unique + p.Stats.WithoutID
		}
	}
	if got != wantAssets {
		tb.Fatalf("counted %d assets, want %d", got, wantAssets)
	}
}

// timingObserver adds up the time of every API request (from sending it
// to reading its whole body), to tell the time spent waiting on the API
// from the time requests are not in flight.
type timingObserver struct {
	client.Observer
	n     atomic.Int64
	total atomic.Int64 // nanoseconds
}

func (o *timingObserver) ObserveRequest(op client.Operation, status int, d time.Duration) {
	o.n.Add(1)
	o.total.Add(int64(d))
	if o.Observer != nil {
		o.Observer.ObserveRequest(op, status, d)
	}
}

// BenchmarkScrapeBound: 20 projects of 20,000 synthetic assets (400 pages
// of 1000) behind an API that answers every request after latency L, read
// with Concurrency 16. The schedule bound is
//
//	L × (discovery round trips + 1 + ceil((pages − projects) / concurrency))
//
// with 2 discovery round trips (workspace list; then project list and
// workspace details in parallel). x_bound is the scrape time over the bound
// (target ≤ 1.2). x_sequential is how many times faster the scrape is than
// a sequential pager, computed as L × requests (a lower bound on the
// sequential time, as it leaves out all but the latency; measuring it would
// take 400 × L per scrape).
func BenchmarkScrapeBound(b *testing.B) {
	const (
		projects    = 20
		perProject  = 20_000
		pageSize    = 1000
		concurrency = 16
		discovery   = 2
	)
	// latency=0 is no target: it is the floor the scrape's CPU work sets on
	// this machine, to tell a scheduling gap from a CPU limit.
	for _, lat := range []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			inv := mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: projects, AssetsPerProject: perProject, Synthetic: true})
			obs := &timingObserver{}
			e := newEnv(b, inv, envOpts{
				cfg: Config{Concurrency: concurrency},
				clientFn: func(c *client.Config) {
					c.MaxConns = concurrency
					obs.Observer = c.Observer // nil: retries are not counted here
					c.Observer = obs
				},
				// The simulator serves its pages from memory after a first
				// pass, so that its encoding does not take the exporter's CPU
				// on a 2-core machine (NCP encodes on its own servers). CPU
				// per million assets (BenchmarkScrapeLarge) includes it.
				sim: []mitest.Option{mitest.WithPageCache(512 << 20)},
			})
			if res := e.scraper.Scrape(context.Background(), Scope{}); !res.Up {
				b.Fatalf("warm-up scrape failed: %v", res.Err)
			}
			if lat > 0 {
				e.sim.SetFault(mitest.Scope{}, mitest.Fault{Latency: lat})
			}
			pages := projects * ((perProject + pageSize - 1) / pageSize)
			rounds := discovery + 1 + (pages-projects+concurrency-1)/concurrency
			bound := time.Duration(rounds) * lat
			var took time.Duration
			var requests, inflight int64
			var cpu float64
			b.ResetTimer()
			var reqTime time.Duration
			var reqs int64
			for i := 0; i < b.N; i++ {
				e.sim.ResetCounters()
				obs.n.Store(0)
				obs.total.Store(0)
				c0 := processCPUSeconds(b)
				res := e.scraper.Scrape(context.Background(), Scope{})
				cpu += processCPUSeconds(b) - c0
				took += res.Duration
				b.StopTimer()
				checkBenchScrape(b, res, projects*perProject)
				requests += e.sim.TotalRequests()
				reqTime += time.Duration(obs.total.Load())
				reqs += obs.n.Load()
				inflight = max(inflight, e.sim.MaxInFlight())
				b.StartTimer()
			}
			N := float64(b.N)
			mean := float64(took) / N
			b.ReportMetric(mean/1e6, "scrape_ms")
			b.ReportMetric(cpu/N, "cpu_s")
			b.ReportMetric(float64(requests)/N, "requests")
			b.ReportMetric(float64(inflight), "max_in_flight")
			// req_ms is the mean time of a request, sending to whole body
			// read (latency, simulator encoding, transfer); slot_use is the
			// share of concurrency × scrape time that requests were in
			// flight: the rest is decoding under the bound, and idle slots.
			b.ReportMetric(float64(reqTime)/float64(reqs)/1e6, "req_ms")
			b.ReportMetric(float64(reqTime)/(concurrency*float64(took)), "slot_use")
			if lat == 0 {
				return
			}
			b.ReportMetric(float64(bound)/1e6, "bound_ms")
			b.ReportMetric(mean/float64(bound), "x_bound")
			b.ReportMetric(float64(requests)/N*float64(lat)/mean, "x_sequential")
		})
	}
}

// heapSampler samples the heap every millisecond and records two peaks
// above a baseline taken after two GCs (the second one empties sync.Pool
// victims, so buffers pooled by an earlier pass are not counted as free):
// objects, the bytes of live and not yet swept objects (what the process
// must hold: the peak the issue asks for), and live, the bytes found live
// by the latest GC (steadier: it does not depend on when GCs run).
type heapSampler struct {
	base       [2]uint64
	peak       [2]atomic.Uint64
	stop       chan struct{}
	done       sync.WaitGroup
	objs, live uint64
}

func heapSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{})}
	s := heapSamples()
	metrics.Read(s)
	h.base = [2]uint64{s[0].Value.Uint64(), s[1].Value.Uint64()}
	h.done.Go(func() {
		s := heapSamples()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			h.sample(s)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

func (h *heapSampler) sample(s []metrics.Sample) {
	metrics.Read(s)
	for i := range s {
		if v := s[i].Value.Uint64(); v > h.peak[i].Load() {
			h.peak[i].Store(v)
		}
	}
}

// end stops sampling and sets objs and live, the peaks above the baseline.
func (h *heapSampler) end() *heapSampler {
	close(h.stop)
	h.done.Wait()
	h.sample(heapSamples())
	h.objs = h.peak[0].Load() - min(h.base[0], h.peak[0].Load())
	h.live = h.peak[1].Load() - min(h.base[1], h.peak[1].Load())
	return h
}

// processCPUSeconds is the process's user+system CPU time so far.
func processCPUSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// simOnly pages the whole asset list of one project with raw signed GETs,
// concurrency at a time, discarding the bodies through small buffers: the
// simulator's share (plus a minimal HTTP client) of a scrape's memory and
// CPU.
func simOnly(tb testing.TB, sim *mitest.Server, pages, pageSize, concurrency int) {
	tb.Helper()
	tr := client.NewTransport(concurrency)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Go(func() {
			buf := make([]byte, 32<<10)
			for {
				p := int(next.Add(1))
				if p > pages {
					return
				}
				url := sim.URL + "/api/v1/workspaces/" + benchWS + "/projects/" + strconv.Itoa(benchProject) + "/assets?pageNum=" + strconv.Itoa(p) + "&pageSize=" + strconv.Itoa(pageSize)
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				mitest.SignRequest(req, mitest.DefaultAccessKey, mitest.DefaultSecretKey, time.Now())
				resp, err := hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, err = io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("page %d: status %d, %w", p, resp.StatusCode, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

type largeFigures struct {
	peak, simPeak uint64  // bytes above the baseline
	live          uint64  // peak live heap above the baseline
	cpu, simCPU   float64 // seconds
}

// scrapeLarge scrapes one project of n synthetic assets `scrapes` times in
// a row, with one heap sampler over all of them, after (when sim is set)
// paging the list with the simulator alone.
func scrapeLarge(b *testing.B, n, scrapes int, sim bool) largeFigures {
	const concurrency = 16
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: benchWS, Projects: []*mitest.Project{
		{ID: benchProject, Name: "large", Synthetic: &mitest.SyntheticAssets{Count: n, Seed: 5}},
	}}}}
	e := benchEnv(b, inv, concurrency)
	pageSize := e.api.PageSize()
	var f largeFigures

	if sim {
		h := startHeapSampler()
		c0 := processCPUSeconds(b)
		simOnly(b, e.sim, (n+pageSize-1)/pageSize, pageSize, concurrency)
		f.simCPU = processCPUSeconds(b) - c0
		f.simPeak = h.end().objs
	}

	h := startHeapSampler()
	c0 := processCPUSeconds(b)
	for range scrapes {
		res := e.scraper.Scrape(context.Background(), Scope{})
		b.StopTimer()
		checkBenchScrape(b, res, int64(n))
		b.StartTimer()
	}
	f.cpu = (processCPUSeconds(b) - c0) / float64(scrapes)
	h.end()
	f.peak, f.live = h.objs, h.live
	return f
}

// BenchmarkScrapeLarge scrapes one project of 1,000,000 synthetic assets,
// and ten times one of 100,000 (the same number of pages, so the same
// number of GC cycles in which to meet a high peak), through HTTP on
// loopback with Concurrency 16 and no latency. It reports:
//   - peak_MiB_*: the peak heap (live and not yet swept objects, above a
//     post-GC baseline, sampled every millisecond) of the whole process,
//     simulator included; x_100k is the 1M peak over the 100k peak (target
//     ≤ 1.5; the 1M peak's target is ≤ 32 MiB);
//   - live_MiB_*: the peak of the heap found live by a GC, steadier;
//   - sim_peak_MiB_1M and sim_cpu_s/M_assets: the simulator alone, paging
//     the 1M list with raw GETs whose bodies are discarded (its share; heap
//     peaks do not add up, CPU seconds do);
//   - cpu_s/M_assets: process CPU (user+sys) per million assets scraped.
func BenchmarkScrapeLarge(b *testing.B) {
	const MiB = 1 << 20
	var small, large largeFigures
	for i := 0; i < b.N; i++ {
		s := scrapeLarge(b, 100_000, 10, false)
		l := scrapeLarge(b, 1_000_000, 1, true)
		small.peak, small.live = max(small.peak, s.peak), max(small.live, s.live)
		large.peak, large.simPeak, large.live = max(large.peak, l.peak), max(large.simPeak, l.simPeak), max(large.live, l.live)
		small.cpu += s.cpu
		large.cpu += l.cpu
		large.simCPU += l.simCPU
	}
	N := float64(b.N)
	b.ReportMetric(float64(large.peak)/MiB, "peak_MiB_1M")
	b.ReportMetric(float64(small.peak)/MiB, "peak_MiB_100k")
	b.ReportMetric(float64(large.peak)/float64(small.peak), "x_100k")
	b.ReportMetric(float64(large.live)/MiB, "live_MiB_1M")
	b.ReportMetric(float64(small.live)/MiB, "live_MiB_100k")
	b.ReportMetric(float64(large.simPeak)/MiB, "sim_peak_MiB_1M")
	b.ReportMetric(large.cpu/N, "cpu_s/M_assets")
	b.ReportMetric(large.simCPU/N, "sim_cpu_s/M_assets")
	b.ReportMetric(small.cpu/N*10, "cpu_s/M_assets_100k")
}

// TestConnectionReuse: a scrape opens no more TCP connections than its
// concurrency, and a second scrape reuses them.
func TestConnectionReuse(t *testing.T) {
	inv := mitest.Generate(3, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 4, AssetsPerProject: 4500, Synthetic: true})
	for _, c := range []int{1, 4, 16} {
		t.Run("concurrency="+strconv.Itoa(c), func(t *testing.T) {
			e := benchEnv(t, inv, c)
			// A little latency, so that requests overlap and the pool fills.
			e.sim.SetFault(mitest.Scope{}, mitest.Fault{Latency: 2 * time.Millisecond})
			for range 2 {
				checkBenchScrape(t, e.scraper.Scrape(context.Background(), Scope{}), 2*4*4500)
			}
			conns, reqs, inflight := e.sim.ConnectionsOpened(), e.sim.TotalRequests(), e.sim.MaxInFlight()
			t.Logf("%d requests over %d connections, at most %d in flight", reqs, conns, inflight)
			if conns > int64(c) {
				t.Errorf("%d connections opened, want at most %d (the concurrency)", conns, c)
			}
			if inflight > int64(c) {
				t.Errorf("%d requests in flight, want at most %d", inflight, c)
			}
			if want := int64(2 * (1 + 2*2 + 2*4*5)); reqs != want {
				t.Errorf("%d requests, want %d", reqs, want)
			}
		})
	}
}
