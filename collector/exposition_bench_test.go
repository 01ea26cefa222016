package collector_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// The Accept header of Prometheus 3 with its default scrape protocols.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
	"application/openmetrics-text;version=0.0.1;q=0.4," +
	"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
	"text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// BenchmarkExposition: the scrape exposition of MEDIAINTEL_BENCH_PROJECTS
// projects (default 10,000) of 50 assets, the Results of a real scrape of
// the simulator (histograms on, no status tracking: the scale benchmark's
// setting), served to Prometheus 3's Accept header two ways, alternately
// in one loop:
//
//   - writer: collector.WriteResults family by family into an expfmt
//     encoder, gzipped at BestSpeed (what handler.serveResults does);
//   - registry: the same samples as const metrics sent by a Collector,
//     gathered by a prometheus.Registry and served by promhttp.HandlerFor
//     (gzip at its default level), the way of most exporters and of
//     release 0.2.0. Its Collect builds the const metrics from
//     WriteResults' families, so its time includes the writer's building
//     of them (build_ms, measured with an encoder that discards);
//   - registry_prebuilt: the registry path with the const metrics built
//     before the scrape, its lower bound.
//
// Each is measured with gzip and without (identity), to tell the
// library's cost from the compression level's. Both expositions must hold
// the same lines. Reported: x_registry_* (registry time over the writer's,
// same compression), the times, the bytes allocated per scrape
// (alloc_MiB_*) and the peak heap above the baseline (peak_MiB_*, sampled
// every millisecond).
func BenchmarkExposition(b *testing.B) {
	results := benchResults(b)
	accounts := []collector.Account{{Name: results[0].Account}}
	opts := collector.ResultOptions{Histograms: true}
	writer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveWriter(w, r, accounts, results, opts) })
	reg := prometheus.NewRegistry()
	reg.MustRegister(&constCollector{accounts: accounts, results: results, opts: opts})
	registry := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	prebuilt := &prebuiltCollector{}
	prebuilt.metrics = collectAll(b, &constCollector{accounts: accounts, results: results, opts: opts})
	preReg := prometheus.NewRegistry()
	preReg.MustRegister(prebuilt)
	registryPrebuilt := promhttp.HandlerFor(preReg, promhttp.HandlerOpts{EnableOpenMetrics: true})

	// The same exposition both ways, and the samples it has; gzipped, the
	// sizes at both levels.
	gzWriter, _ := keep(b, writer, true)
	gzRegistry, _ := keep(b, registry, true)
	a, ct := keep(b, writer, false)
	c, ct2 := keep(b, registry, false)
	if ct != ct2 {
		b.Fatalf("the writer answers %q, the registry %q", ct, ct2)
	}
	if diff := diffLines(a.body, c.body); diff != "" {
		b.Fatalf("the writer's and the registry's expositions differ:\n%s", diff)
	}
	samples := 0
	for line := range strings.SplitSeq(string(a.body), "\n") {
		if line != "" && line[0] != '#' {
			samples++
		}
	}

	type variant struct {
		name string
		h    http.Handler
		gzip bool
	}
	variants := []variant{
		{"writer_gzip", writer, true}, {"registry_gzip", registry, true},
		{"writer_identity", writer, false}, {"registry_identity", registry, false},
		{"registry_prebuilt_identity", registryPrebuilt, false},
	}
	took := map[string][]time.Duration{}
	alloc := map[string]uint64{}
	peak := map[string]uint64{}
	var build []time.Duration
	n := 0
	for b.Loop() {
		n++
		for _, v := range variants {
			runtime.GC()
			s := startHeapSampler()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			serve(b, v.h, v.gzip)
			took[v.name] = append(took[v.name], time.Since(start))
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			alloc[v.name] += after.TotalAlloc - before.TotalAlloc
			peak[v.name] = max(peak[v.name], s.stop())
		}
		start := time.Now()
		if err := collector.WriteResults(discard{}, accounts, results, opts); err != nil {
			b.Fatal(err)
		}
		build = append(build, time.Since(start))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	const MiB = 1 << 20
	for _, v := range variants {
		b.ReportMetric(ms(medianOf(took[v.name])), v.name+"_ms")
		b.ReportMetric(float64(alloc[v.name])/float64(n)/MiB, "alloc_MiB_"+v.name)
		b.ReportMetric(float64(peak[v.name])/MiB, "peak_MiB_"+v.name)
	}
	ratio := func(x, y string) float64 { return float64(medianOf(took[x])) / float64(medianOf(took[y])) }
	b.ReportMetric(ratio("registry_gzip", "writer_gzip"), "x_registry_gzip")
	b.ReportMetric(ratio("registry_identity", "writer_identity"), "x_registry_identity")
	b.ReportMetric(ratio("registry_prebuilt_identity", "writer_identity"), "x_registry_prebuilt_identity")
	b.ReportMetric(ms(medianOf(build)), "build_ms")
	b.ReportMetric(float64(samples), "samples")
	b.ReportMetric(float64(len(a.body))/MiB, "text_MiB")
	b.ReportMetric(float64(gzWriter.n)/MiB, "gzip_MiB_writer")
	b.ReportMetric(float64(gzRegistry.n)/MiB, "gzip_MiB_registry")
	b.Logf("%d samples, %d bytes (%s); times: %v; building the families alone: %v", samples, len(a.body), ct, took, build)
}

// benchResults scrapes a simulator of MEDIAINTEL_BENCH_PROJECTS projects
// (default 10,000) of 50 assets in 10 workspaces.
func benchResults(tb testing.TB) []*scrape.Result {
	tb.Helper()
	projects := 10_000
	if v := os.Getenv("MEDIAINTEL_BENCH_PROJECTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("MEDIAINTEL_BENCH_PROJECTS=%q: want a number of projects, at least 1", v)
		}
		projects = n
	}
	ws := min(10, projects)
	inv := mitest.Generate(24, mitest.GenConfig{Workspaces: ws, ProjectsPerWorkspace: projects / ws, AssetsPerProject: 50, Synthetic: true})
	sim := mitest.NewServer(inv)
	defer sim.Close()
	api, err := client.New(sim.ClientConfig())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := scrape.NewScraper(api, scrape.Config{Account: "default"})
	if err != nil {
		tb.Fatal(err)
	}
	res := s.Scrape(context.Background(), scrape.Scope{})
	n := 0
	for _, w := range res.Workspaces {
		for _, p := range w.Projects {
			if !p.Success {
				tb.Fatalf("project %d failed: %v", p.Project.ID, p.Err)
			}
			n++
		}
	}
	if !res.Up || n != projects/ws*ws {
		tb.Fatalf("scraped %d projects (up %v: %v); want %d", n, res.Up, res.Err, projects/ws*ws)
	}
	return []*scrape.Result{res}
}

// serveWriter is handler.serveResults without the process metrics: the
// families written one by one, gzipped at BestSpeed when asked.
func serveWriter(w http.ResponseWriter, r *http.Request, accounts []collector.Account, results []*scrape.Result, opts collector.ResultOptions) {
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		z := gzipPool.Get().(*gzip.Writer)
		z.Reset(w)
		defer func() { _ = z.Close(); gzipPool.Put(z) }()
		out = z
	}
	enc := expfmt.NewEncoder(out, format)
	err := collector.WriteResults(enc, accounts, results, opts)
	if c, ok := enc.(expfmt.Closer); ok && err == nil {
		err = c.Close()
	}
	if err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
}

var gzipPool = sync.Pool{New: func() any {
	z, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return z
}}

// constCollector sends the exposition's samples as const metrics, built
// in Collect from the families WriteResults makes.
type constCollector struct {
	accounts []collector.Account
	results  []*scrape.Result
	opts     collector.ResultOptions
}

func (*constCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the families are the writer's

func (c *constCollector) Collect(ch chan<- prometheus.Metric) {
	if err := collector.WriteResults(&toConst{ch: ch}, c.accounts, c.results, c.opts); err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("invalid", "", nil, nil), err)
	}
}

// toConst is an expfmt.Encoder that turns each family into const metrics,
// as a Collector of the registry's way would make them.
type toConst struct{ ch chan<- prometheus.Metric }

func (t *toConst) Encode(mf *dto.MetricFamily) error {
	var names []string
	for _, lp := range mf.Metric[0].GetLabel() {
		names = append(names, lp.GetName())
	}
	desc := prometheus.NewDesc(mf.GetName(), mf.GetHelp(), names, nil)
	for _, m := range mf.Metric {
		values := make([]string, len(m.Label))
		for i, lp := range m.Label {
			values[i] = lp.GetValue()
		}
		if h := m.GetHistogram(); h != nil {
			buckets := make(map[float64]uint64, len(h.Bucket))
			for _, bk := range h.Bucket {
				buckets[bk.GetUpperBound()] = bk.GetCumulativeCount()
			}
			t.ch <- prometheus.MustNewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
			continue
		}
		t.ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), values...)
	}
	return nil
}

// prebuiltCollector sends const metrics made before.
type prebuiltCollector struct{ metrics []prometheus.Metric }

func (*prebuiltCollector) Describe(chan<- *prometheus.Desc) {}

func (p *prebuiltCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p.metrics {
		ch <- m
	}
}

func collectAll(tb testing.TB, c prometheus.Collector) []prometheus.Metric {
	tb.Helper()
	ch := make(chan prometheus.Metric, 1024)
	go func() { c.Collect(ch); close(ch) }()
	var out []prometheus.Metric
	for m := range ch {
		out = append(out, m)
	}
	return out
}

type discard struct{}

func (discard) Encode(*dto.MetricFamily) error { return nil }

// response is an http.ResponseWriter that counts the body's bytes, and
// keeps them when keep is set.
type response struct {
	header http.Header
	status int
	keep   bool
	n      int
	body   []byte
}

func (r *response) Header() http.Header    { return r.header }
func (r *response) WriteHeader(status int) { r.status = status }
func (r *response) Write(p []byte) (int, error) {
	r.n += len(p)
	if r.keep {
		r.body = append(r.body, p...)
	}
	return len(p), nil
}

// keep asks h for the exposition as serve does, and returns the body,
// decompressed, and its Content-Type.
func keep(tb testing.TB, h http.Handler, gz bool) (*response, string) {
	tb.Helper()
	w := request(tb, h, gz, true)
	if enc := w.header.Get("Content-Encoding"); enc == "gzip" {
		z, err := gzip.NewReader(bytes.NewReader(w.body))
		if err != nil {
			tb.Fatal(err)
		}
		if w.body, err = io.ReadAll(z); err != nil {
			tb.Fatal(err)
		}
	} else if gz {
		tb.Fatalf("asked for gzip, got Content-Encoding %q", enc)
	}
	return w, w.header.Get("Content-Type")
}

// serve asks h for the exposition as Prometheus 3 would (with gzip or
// not) and throws the answer away.
func serve(tb testing.TB, h http.Handler, gz bool) {
	tb.Helper()
	request(tb, h, gz, false)
}

func request(tb testing.TB, h http.Handler, gz, keep bool) *response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, "/metrics", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", prometheusAccept)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	w := &response{header: http.Header{}, status: http.StatusOK, keep: keep}
	h.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		tb.Fatalf("status %d: %.500s", w.status, w.body)
	}
	return w
}

// diffLines says which lines one exposition has and the other lacks
// (their order aside: a registry sorts the samples of a family).
func diffLines(a, b []byte) string {
	lines := func(x []byte) []string {
		var out []string
		sc := bufio.NewScanner(bytes.NewReader(x))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		slices.Sort(out)
		return out
	}
	la, lb := lines(a), lines(b)
	var diff []string
	i, j := 0, 0
	for (i < len(la) || j < len(lb)) && len(diff) < 20 {
		switch {
		case j == len(lb) || (i < len(la) && la[i] < lb[j]):
			diff = append(diff, "writer only:   "+la[i])
			i++
		case i == len(la) || lb[j] < la[i]:
			diff = append(diff, "registry only: "+lb[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return strings.Join(diff, "\n")
}

// heapSampler samples the bytes of live and dead heap objects every
// millisecond and keeps the largest rise over where it started.
type heapSampler struct {
	base uint64
	max  atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{base: heapObjects(), done: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				if v := heapObjects(); v > s.base && v-s.base > s.max.Load() {
					s.max.Store(v - s.base)
				}
			}
		}
	})
	return s
}

func (s *heapSampler) stop() uint64 {
	close(s.done)
	s.wg.Wait()
	if v := heapObjects(); v > s.base && v-s.base > s.max.Load() {
		s.max.Store(v - s.base)
	}
	return s.max.Load()
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
