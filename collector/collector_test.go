package collector

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env is an exporter wired to a simulator, as main wires it.
type env struct {
	sim     *mitest.Server
	api     *client.Client
	scraper *Scraper
	exp     *Exporter
	process *prometheus.Registry
	logs    *syncBuffer
	srv     *httptest.Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOpts struct {
	cfg      Config
	opts     Options
	pageSize int
	clientFn func(*client.Config)
	sim      []mitest.Option
}

func newEnv(t testing.TB, inv *mitest.Inventory, o envOpts) *env {
	t.Helper()
	e := &env{sim: mitest.NewServer(inv, o.sim...), process: prometheus.NewRegistry(), logs: &syncBuffer{}}
	t.Cleanup(e.sim.Close)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	ccfg := client.Config{
		BaseURL:     e.sim.URL,
		Credentials: client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey)),
		PageSize:    o.pageSize,
		MaxAttempts: 4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Location:    seoul,
		Observer:    NewAPIMetrics(e.process),
		MaxConns:    8,
	}
	if o.clientFn != nil {
		o.clientFn(&ccfg)
	}
	e.api, err = client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.api.CloseIdleConnections)
	cfg := o.cfg
	cfg.Logger = logger
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	e.scraper, err = NewScraper(e.api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := o.opts
	opts.Process = e.process
	opts.Logger = logger
	e.exp = NewExporter(e.scraper, opts)
	e.process.MustRegister(e.exp.SelfCollectors()...)
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.exp.MetricsHandler())
	mux.Handle("/probe", e.exp.ProbeHandler())
	mux.Handle("/discovery", e.exp.DiscoveryHandler())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// get scrapes path with the given Prometheus scrape timeout header.
func (e *env) get(t testing.TB, path string, timeout string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func asset(id int64, format, res string, durMs, size int64, created string) mitest.Asset {
	a := mitest.Asset{ID: mitest.Ptr(id), FileName: mitest.Ptr("f.bin"), Key: mitest.Ptr("k"),
		Meta: &mitest.Meta{Format: mitest.Ptr(format), Resolution: mitest.Ptr(res), Size: mitest.Ptr(size)}}
	if durMs >= 0 {
		a.Meta.DurationMs = mitest.Ptr(durMs)
	}
	if created != "" {
		a.CreatedTime = mitest.Ptr(created)
		a.UpdatedTime = mitest.Ptr(created)
	}
	return a
}

// goldenInventory has one of each case the exposition must get right.
func goldenInventory() *mitest.Inventory {
	noMeta := mitest.Asset{ID: mitest.Ptr(int64(105)), CreatedTime: mitest.Ptr("2025-01-01T00:00:00")}
	emptyFormat := asset(106, "", "1280x720", 1000, 10, "")
	negative := asset(107, "mov", "1920x1080", -5, -1, "")
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "ws-alpha", MonthlyAnalysisCount: 42, Projects: []*mitest.Project{
			{ID: 11, Name: "Base project", IsBase: true, Assets: []mitest.Asset{
				// Seoul time without offset: 2025-04-23T07:49:24Z = 1745394564.
				asset(101, "mp4", "1920x1080", 60000, 1000, "2025-04-23T16:49:24"),
				// Upper case format; an offset is honoured: 1745391600.
				asset(102, "MKV", "1280x720", 120500, 2000, "2025-04-23T07:00:00+00:00"),
				asset(103, "png", "640x360", -1, 300, "2025-04-22T10:00:00"),
				asset(104, "avi", "320x240", 1000, 5000, ""),
				noMeta,
				emptyFormat,
				negative,
				// The same asset listed twice is counted once.
				asset(101, "mp4", "1920x1080", 60000, 1000, "2025-04-23T16:49:24"),
				// Out of spec: a 7 h, 11 GiB 4K video and a 20 MiB image.
				asset(108, "webm", "3840x2160", 7*3600*1000, 11<<30, ""),
				asset(109, "jpg", "1080x1920", -1, 20<<20, ""),
			}},
			{ID: 12, Name: "empty"},
			{ID: 13, Name: "broken"},
			{ID: 14, Name: "slow"},
		}},
		{Name: "ws-locked", MonthlyAnalysisCount: 7, Projects: []*mitest.Project{{ID: 31, Name: "never seen"}}},
	}}
}

// volatile metrics change from run to run and are left out of the golden text.
var volatile = []string{
	"ncp_mediaintel_scrape_duration_seconds", "ncp_mediaintel_project_scrape_duration_seconds",
	"ncp_mediaintel_scrape_timeout_seconds", "ncp_mediaintel_api_request_duration_seconds",
	"go_", "process_", "ncp_mediaintel_build_info",
}

func stable(exposition string) string {
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		name := line
		if strings.HasPrefix(line, "# ") {
			if f := strings.Fields(line); len(f) > 2 {
				name = f[2]
			}
		}
		for _, v := range volatile {
			if strings.HasPrefix(name, v) {
				continue next
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.String()
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (run with -update after checking):\n%s", path, lineDiff(string(want), got))
	}
}

func lineDiff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

func TestMetricsGolden(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: Options{TimeoutOffset: 500 * time.Millisecond, Histograms: true}})
	e.sim.SetFault(mitest.Scope{Operation: mitest.OpListAssets, ProjectID: 13}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	e.sim.SetFault(mitest.Scope{Operation: mitest.OpListAssets, ProjectID: 14}, mitest.Fault{Hang: true})
	e.sim.SetFault(mitest.Scope{Operation: mitest.OpListProjects, Workspace: "ws-locked"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"})
	e.sim.SetFault(mitest.Scope{Operation: mitest.OpGetWorkspace, Workspace: "ws-locked"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"})

	start := time.Now()
	status, body := e.get(t, "/metrics", "2")
	took := time.Since(start)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	// The hanging project must not hold the scrape past its deadline.
	if took > 2*time.Second {
		t.Errorf("scrape took %v, want under the 2 s scrape timeout", took)
	}
	if took < 1400*time.Millisecond {
		t.Errorf("scrape took %v; the hanging project should have held it to the 1.5 s deadline", took)
	}
	compareGolden(t, "metrics.golden.prom", stable(body))
	for _, want := range []string{"ncp_mediaintel_scrape_duration_seconds ", "ncp_mediaintel_scrape_timeout_seconds 1.5", `ncp_mediaintel_project_scrape_duration_seconds{project_id="11",workspace="ws-alpha"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	logs := e.logs.String()
	for _, want := range []string{"project_id=13", "HTTP 503", "project_id=14", "deadline", "workspace=ws-locked", "Permission Denied"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestMetricsLint(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: Options{Histograms: true}})
	res := e.scraper.Scrape(context.Background(), Scope{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&ResultCollector{d: newDescs(false), res: res, histograms: true})
	problems, err := testutil.GatherAndLint(prometheus.Gatherers{reg, e.process})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestUpZeroWhenDiscoveryFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault mitest.Fault
		log   string
	}{
		{"bad key", mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"}, "clock"},
		{"api down", mitest.Fault{Status: 503, Body: mitest.BodyGateway, ErrorCode: "500"}, "HTTP 503"},
		{"proxy html", mitest.Fault{Status: 502, Body: mitest.BodyHTML}, "HTML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, goldenInventory(), envOpts{})
			e.sim.SetFault(mitest.Scope{Operation: mitest.OpListWorkspaces}, tc.fault)
			status, body := e.get(t, "/metrics", "5")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if !strings.Contains(body, "\nncp_mediaintel_up 0\n") {
				t.Errorf("want ncp_mediaintel_up 0 in:\n%s", stable(body))
			}
			if strings.Contains(body, "ncp_mediaintel_workspace_scrape_success") {
				t.Error("no workspace series expected when discovery failed")
			}
			if !strings.Contains(e.logs.String(), tc.log) {
				t.Errorf("log lacks %q: %s", tc.log, e.logs.String())
			}
		})
	}
}

// TestCallBudget asserts the API calls one scrape costs.
func TestCallBudget(t *testing.T) {
	inv := mitest.Generate(7, mitest.GenConfig{Workspaces: 3, ProjectsPerWorkspace: 4, AssetsPerProject: 2500})
	e := newEnv(t, inv, envOpts{})
	res := e.scraper.Scrape(context.Background(), Scope{})
	if !res.Up {
		t.Fatalf("scrape failed: %v", res.Err)
	}
	if got := e.sim.Requests(mitest.OpListWorkspaces); got != 1 {
		t.Errorf("workspace list calls = %d, want 1", got)
	}
	if got := e.sim.Requests(mitest.OpListProjects); got != 3 {
		t.Errorf("project list calls = %d, want 3 (one per workspace)", got)
	}
	if got := e.sim.Requests(mitest.OpGetWorkspace); got != 3 {
		t.Errorf("workspace details calls = %d, want 3", got)
	}
	for _, w := range inv.Workspaces {
		for _, p := range w.Projects {
			want := int64(max(1, (p.AssetCount()+999)/1000))
			if got := e.sim.RequestsFor(w.Name, p.ID); got != want {
				t.Errorf("%s/%d: %d asset-list calls, want %d (%d assets)", w.Name, p.ID, got, want, p.AssetCount())
			}
		}
	}
	for _, w := range res.Workspaces {
		for _, p := range w.Projects {
			if !p.Success || p.Stats.Unique != p.Reported {
				t.Errorf("%s/%d: success=%v counted %d, reported %d", w.Name, p.Project.ID, p.Success, p.Stats.Unique, p.Reported)
			}
		}
	}
}

// TestShiftingList: the list moves while it is paged; duplicates are
// dropped and the project is paged again for an exact count.
func TestShiftingList(t *testing.T) {
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-shift", Projects: []*mitest.Project{
		{ID: 21, Name: "moving", Synthetic: &mitest.SyntheticAssets{Count: 2500, Seed: 3}},
	}}}}
	e := newEnv(t, inv, envOpts{cfg: Config{Concurrency: 1}})
	// The second request sees 5 new assets at the front: page 2 repeats
	// five assets of page 1, and totalCount moves to 2505.
	e.sim.SetFault(mitest.Scope{Operation: mitest.OpListAssets, ProjectID: 21}, mitest.Fault{Shift: 5, Times: 2})
	res := e.scraper.Scrape(context.Background(), Scope{})
	p := res.Workspaces[0].Projects[0]
	if !p.Success {
		t.Fatalf("project failed: %v", p.Err)
	}
	if p.Stats.Unique != 2500 || p.Reported != 2500 {
		t.Errorf("counted %d, reported %d; want 2500 after paging again", p.Stats.Unique, p.Reported)
	}
	if got := e.sim.RequestsFor("ws-shift", 21); got != 6 {
		t.Errorf("asset-list calls = %d, want 6 (3 pages, twice)", got)
	}
	if !strings.Contains(e.logs.String(), "changed while it was paged") {
		t.Errorf("no log line about the shifting list: %s", e.logs.String())
	}
}

func TestDuplicatesAcrossPagesCountedOnce(t *testing.T) {
	var assets []mitest.Asset
	for i := range 30 {
		assets = append(assets, asset(int64(1+i%20), "mp4", "1920x1080", 1000, 10, ""))
	}
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-dup", Projects: []*mitest.Project{{ID: 5, Name: "dups", Assets: assets}}}}}
	e := newEnv(t, inv, envOpts{pageSize: 7})
	res := e.scraper.Scrape(context.Background(), Scope{})
	s := res.Workspaces[0].Projects[0].Stats
	if s.Count[0] != 20 || s.Duplicates != 10 || s.Bytes[0] != 200 {
		t.Errorf("mp4 count %d, duplicates %d, bytes %d; want 20, 10, 200", s.Count[0], s.Duplicates, s.Bytes[0])
	}
}
