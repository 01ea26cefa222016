package main

// BenchmarkBackgroundScale: the (#24) scale targets of background
// mode, measured against release 0.2.0 in one run. .ci/bench runs it at the
// full size and prints a table; .ci/run runs it once, small.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const (
	// release020 is the commit of release 0.2.0, the exporter the
	// background mode is measured against.
	release020 = "a9e85ac"
	// scaleProjectsVar sizes the inventory (default scaleDefaultProjects).
	scaleProjectsVar     = "MEDIAINTEL_BENCH_PROJECTS"
	scaleDefaultProjects = 10_000
	scaleAssets          = 50 // per project
	scaleWorkspaces      = 10
	scaleLatency         = 20 * time.Millisecond // of every API request
	scaleScrapes         = 20                    // background scrapes timed
	scaleCachedScrapes   = 3                     // 0.2.0's cached scrapes timed
	// prometheusAccept is the Accept header of Prometheus 3 with its
	// default scrape protocols.
	prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
		"application/openmetrics-text;version=0.0.1;q=0.4," +
		"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
		"text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)

// BenchmarkBackgroundScale: MEDIAINTEL_BENCH_PROJECTS projects (default
// 10,000) of 50 assets in 10 workspaces, behind ONE simulator in this
// process that answers every request after 20 ms and serves its pages from
// memory once encoded (NCP encodes on its own servers). Against it, one
// after the other:
//
//   - release 0.2.0 (commit a9e85ac, built once and cached) with
//     --scrape.cache-ttl=1h: a first scrape fills its cache, then three
//     cached scrapes are timed (the median; the issue's "second, cached
//     scrape");
//   - today's exporter with --scrape.mode=background
//     --scrape.refresh-interval=1h: once /-/ready says the first pass has
//     ended, 20 scrapes are timed (the median), and the simulator's
//     request count is read before and after them.
//
// A scrape is timed as Prometheus makes it: a GET of /metrics with
// Prometheus 3's Accept header and Accept-Encoding: gzip, from sending it
// to reading the whole (compressed) body, on a kept-alive connection. Both
// expositions must agree on the projects scraped and the assets counted,
// so that the two do the same work.
//
// Reported: x_020_cached, the background median over 0.2.0's cached median
// (target ≤ 0.25); peak_rss_MiB, the background exporter's VmHWM after the
// scrapes, its first pass included (target ≤ 200), and pass_peak_rss_MiB,
// the same before the scrapes; api_calls_per_20_scrapes (target 0; the
// benchmark fails otherwise); pass_calls, the requests of the first pass;
// the samples and bytes of a scrape; 0.2.0's figures for information.
func BenchmarkBackgroundScale(b *testing.B) {
	projects := scaleProjects(b)
	ws := min(scaleWorkspaces, projects)
	if projects%ws != 0 {
		b.Fatalf("%s=%d: want a multiple of %d", scaleProjectsVar, projects, ws)
	}
	old := buildRelease(b, release020)
	bin := testutil.BuildExporter(b)
	inv := mitest.Generate(24, mitest.GenConfig{Workspaces: ws, ProjectsPerWorkspace: projects / ws, AssetsPerProject: scaleAssets, Synthetic: true})
	sim := mitest.NewServer(inv, mitest.WithPageCache(2<<30))
	b.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{}, mitest.Fault{Latency: scaleLatency})
	env := baseEnv(
		"NCLOUD_ACCESS_KEY="+mitest.DefaultAccessKey, "NCLOUD_SECRET_KEY="+mitest.DefaultSecretKey, // 0.2.0's names
		"NCLOUD_ACCESS_KEY_ID="+mitest.DefaultAccessKey, "NCLOUD_SECRET_ACCESS_KEY="+mitest.DefaultSecretKey)
	// Long enough for a first, uncached scrape of the whole inventory.
	timeout := "--scrape.timeout=30m"

	var ratios, peaks, calls []float64
	var last scaleFigures
	for b.Loop() {
		// 0.2.0, with its cache.
		sim.ResetCounters()
		oldExp := testutil.StartExporterWith(b, old, testutil.ExporterOptions{Env: env}, "--mi.api-url="+sim.URL, "--scrape.cache-ttl=1h", timeout)
		c := newScrapeClient()
		first := c.scrape(b, oldExp.Addr)
		first.check(b, "0.2.0's first scrape", projects)
		firstCalls := sim.TotalRequests()
		var cached []time.Duration
		var oldScrape scrapeFigures
		for range scaleCachedScrapes {
			oldScrape = c.scrape(b, oldExp.Addr)
			cached = append(cached, oldScrape.took)
		}
		oldScrape.check(b, "0.2.0's cached scrape", projects)
		oldCalls := (sim.TotalRequests() - firstCalls) / scaleCachedScrapes
		oldPeak := peakRSS(b, oldExp.PID())
		oldExp.Stop(b)

		// Today's exporter, in background mode.
		sim.ResetCounters()
		start := time.Now()
		bg := testutil.StartExporterWith(b, bin, testutil.ExporterOptions{Env: env, Ready: healthy},
			"--mi.api-url="+sim.URL, "--scrape.mode=background", "--scrape.refresh-interval=1h", timeout)
		testutil.Eventually(b, 30*time.Minute, "the first refresh pass ends (/-/ready answers 200)", func() bool {
			return answers200("http://" + bg.Addr + "/-/ready")
		})
		passTook := time.Since(start)
		passCalls := sim.TotalRequests()
		passPeak := peakRSS(b, bg.PID())
		c = newScrapeClient()
		var times []time.Duration
		var s scrapeFigures
		for range scaleScrapes {
			s = c.scrape(b, bg.Addr)
			times = append(times, s.took)
		}
		scrapeCalls := sim.TotalRequests() - passCalls
		peak := peakRSS(b, bg.PID())
		bg.Stop(b)
		s.check(b, "the background scrape", projects)
		if s.assets != oldScrape.assets || s.projectsOK != oldScrape.projectsOK {
			b.Fatalf("the background scrape counts %g assets in %d projects, 0.2.0's %g in %d: not the same work",
				s.assets, s.projectsOK, oldScrape.assets, oldScrape.projectsOK)
		}
		if s.contentType != oldScrape.contentType {
			b.Fatalf("the background scrape is %q, 0.2.0's %q: not the same format", s.contentType, oldScrape.contentType)
		}
		if scrapeCalls != 0 {
			b.Errorf("%d scrapes in background mode made %d API requests; want 0 within the refresh interval", scaleScrapes, scrapeCalls)
		}

		last = scaleFigures{
			old: oldScrape, oldFirst: first.took, oldCached: median(cached), oldCalls: oldCalls, oldPeak: oldPeak,
			bg: s, bgMedian: median(times), pass: passTook, passCalls: passCalls, passPeak: passPeak, peak: peak,
		}
		ratios = append(ratios, float64(last.bgMedian)/float64(last.oldCached))
		peaks = append(peaks, float64(peak))
		calls = append(calls, float64(scrapeCalls))
		b.Logf("%d projects × %d assets, %s a request: 0.2.0 first scrape %s (%d requests), cached %v (%d requests each); "+
			"background first pass %s (%d requests), scrapes %v (%d requests in all)",
			projects, scaleAssets, scaleLatency, first.took.Round(time.Millisecond), firstCalls, roundAll(cached), oldCalls,
			passTook.Round(time.Millisecond), passCalls, roundAll(times), scrapeCalls)
		b.Logf("exposition (%s): 0.2.0 %d samples, %d bytes (%d gzipped); background %d samples, %d bytes (%d gzipped)",
			s.contentType, oldScrape.samples, oldScrape.bytes, oldScrape.gzipBytes, s.samples, s.bytes, s.gzipBytes)
	}
	const MiB = 1 << 20
	b.ReportMetric(slices.Max(ratios), "x_020_cached")
	b.ReportMetric(slices.Max(peaks)/MiB, "peak_rss_MiB")
	b.ReportMetric(slices.Max(calls), "api_calls_per_20_scrapes")
	b.ReportMetric(float64(last.passCalls), "pass_calls")
	b.ReportMetric(float64(last.passPeak)/MiB, "pass_peak_rss_MiB")
	b.ReportMetric(last.pass.Seconds(), "pass_s")
	b.ReportMetric(float64(last.bgMedian)/float64(time.Millisecond), "scrape_ms")
	b.ReportMetric(float64(last.bg.samples), "samples")
	b.ReportMetric(float64(last.bg.bytes)/MiB, "text_MiB")
	b.ReportMetric(float64(last.bg.gzipBytes)/MiB, "gzip_MiB")
	b.ReportMetric(float64(last.oldCached)/float64(time.Millisecond), "v020_cached_ms")
	b.ReportMetric(last.oldFirst.Seconds(), "v020_first_s")
	b.ReportMetric(float64(last.oldPeak)/MiB, "v020_peak_rss_MiB")
	b.ReportMetric(float64(last.oldCalls), "v020_cached_calls")
	b.ReportMetric(float64(last.old.samples), "v020_samples")
}

// scaleFigures are one run's measurements of both exporters.
type scaleFigures struct {
	old                 scrapeFigures
	oldFirst, oldCached time.Duration
	oldCalls            int64
	oldPeak             int64
	bg                  scrapeFigures
	bgMedian, pass      time.Duration
	passCalls           int64
	passPeak, peak      int64
}

func scaleProjects(tb testing.TB) int {
	v := os.Getenv(scaleProjectsVar)
	if v == "" {
		return scaleDefaultProjects
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a number of projects, at least 1", scaleProjectsVar, v)
	}
	return n
}

func healthy(addr string) bool { return answers200("http://" + addr + "/-/healthy") }

func answers200(url string) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// scrapeClient scrapes as Prometheus does, over a connection it keeps.
type scrapeClient struct{ c *http.Client }

func newScrapeClient() *scrapeClient {
	return &scrapeClient{c: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
}

// scrapeFigures are what one scrape took and what its exposition says.
type scrapeFigures struct {
	took        time.Duration
	contentType string
	gzipBytes   int
	bytes       int
	samples     int
	assets      float64 // the sum of ncp_mediaintel_assets
	projectsOK  int     // ncp_mediaintel_project_scrape_success samples of 1
	projectsBad int     // ... of 0
}

// scrape GETs /metrics of the exporter on addr and reads the figures of
// its answer; took covers the request and the reading of the compressed
// body, not the decompression.
func (c *scrapeClient) scrape(tb testing.TB, addr string) scrapeFigures {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", prometheusAccept)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "1800")
	start := time.Now()
	resp, err := c.c.Do(req)
	if err != nil {
		tb.Fatalf("scraping %s: %v", addr, err)
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	resp.Body.Close()
	if err != nil {
		tb.Fatalf("scraping %s: reading the body: %v", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("scraping %s: %s\n%.2000s", addr, resp.Status, body)
	}
	f := scrapeFigures{took: took, contentType: resp.Header.Get("Content-Type"), gzipBytes: len(body)}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		tb.Fatalf("scraping %s: the answer is not gzipped (Content-Encoding %q)", addr, resp.Header.Get("Content-Encoding"))
	}
	z, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("scraping %s: %v", addr, err)
	}
	text, err := io.ReadAll(z)
	if err != nil {
		tb.Fatalf("scraping %s: decompressing: %v", addr, err)
	}
	f.bytes = len(text)
	if err := f.read(text); err != nil {
		tb.Fatalf("scraping %s: %v", addr, err)
	}
	return f
}

// read counts the samples of a text or OpenMetrics exposition, and sums
// the figures the two exporters are compared on.
func (f *scrapeFigures) read(text []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f.samples++
		name, _, _ := strings.Cut(line, "{")
		if name != "ncp_mediaintel_assets" && name != "ncp_mediaintel_project_scrape_success" {
			continue
		}
		fields := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		if len(fields) == 0 {
			return fmt.Errorf("a sample without a value: %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return fmt.Errorf("the value of %q: %w", line, err)
		}
		switch {
		case name == "ncp_mediaintel_assets":
			f.assets += v
		case v == 1:
			f.projectsOK++
		default:
			f.projectsBad++
		}
	}
	return sc.Err()
}

// check fails the benchmark unless the scrape read every one of projects
// and their assets.
func (f scrapeFigures) check(tb testing.TB, what string, projects int) {
	tb.Helper()
	if f.projectsOK != projects || f.projectsBad != 0 {
		tb.Fatalf("%s: %d projects scraped, %d failed; want all %d", what, f.projectsOK, f.projectsBad, projects)
	}
	if want := float64(projects * scaleAssets); f.assets != want {
		tb.Fatalf("%s: %g assets, want %g", what, f.assets, want)
	}
}

// peakRSS is the peak resident set (VmHWM) of process pid, in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("the peak RSS of the exporter: %v", err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("VmHWM of /proc/%d/status: %q: %v", pid, rest, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("/proc/%d/status has no VmHWM line", pid)
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// ciCache is the cache directory .ci/lib.sh keeps between runs.
func ciCache(tb testing.TB) string {
	if d := os.Getenv("MEDIAINTEL_CI_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "mediaintel_exporter-ci")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		tb.Fatalf("no cache directory for the build of release %s: %v", release020, err)
	}
	return filepath.Join(home, ".cache", "mediaintel_exporter-ci")
}

// buildRelease returns the exporter built from commit of this repository
// by that commit's own deploy/build.sh, with the Go running this test. It
// is built once and kept in the CI cache, keyed by the commit and the Go.
func buildRelease(tb testing.TB, commit string) string {
	tb.Helper()
	dir := filepath.Join(ciCache(tb), "mediaintel_exporter-"+commit+"-"+runtime.Version())
	bin := filepath.Join(dir, "mediaintel_exporter")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	root := testutil.RepoRoot(tb)
	src := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := func(dir string, env []string, name string, args ...string) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("building release %s: %s %s: %v\n%s", commit, name, strings.Join(args, " "), err, out)
		}
	}
	tarball := filepath.Join(src, "src.tar")
	run(root, nil, "git", "archive", "--format=tar", "-o", tarball, commit)
	run(src, nil, "tar", "-xf", tarball)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// go test puts its own GOROOT/bin first on PATH: the Go running this
	// test builds the release too.
	run(src, append(os.Environ(), "VERSION=0.2.0", "REVISION="+commit, "BRANCH=release", "BUILD_USER=bench", "BUILD_DATE=20000101-00:00:00"),
		"sh", "deploy/build.sh", filepath.Join(tmp, "mediaintel_exporter"))
	// Another run may have built it meanwhile: either copy will do.
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(bin); serr != nil {
			tb.Fatalf("keeping the build of release %s: %v", commit, err)
		}
	}
	return bin
}
