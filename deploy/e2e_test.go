package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/dashboards"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// End-to-end timing: short enough for a test, long enough that a healthy
// project's scrape (about 0.5s for the demo's 62,700 assets) never runs out
// of time on a loaded CI machine.
const (
	e2eScrapeInterval = "3s"
	e2eEvalInterval   = "1s"
	// Alerts' "for" in the test copy of alerts.yml: two failed scrapes in a
	// row, so one slow scrape cannot make a healthy project alert.
	e2eFor = "5s"
	// e2eBacklog is MediaIntelAnalysisBacklogStuck's threshold, in seconds.
	e2eBacklog = "10"
)

// mustReplace applies a regexp replacement that must match: the examples
// are the source of the test configurations, and a change to them that the
// test no longer understands must fail loudly.
func mustReplace(t *testing.T, what, text, re, repl string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	if !r.MatchString(text) {
		t.Fatalf("%s: %q not found; update the e2e test with the example", what, re)
	}
	return r.ReplaceAllString(text, repl)
}

// writeTestRules copies recording.yml and alerts.yml into dir, with every
// alert's "for" shortened to e2eFor.
func writeTestRules(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(deployDir(t), "prometheus")
	copyFile(t, filepath.Join(src, "recording.yml"), filepath.Join(dir, "recording.yml"))
	alerts := mustReplace(t, "alerts.yml", readFile(t, filepath.Join(src, "alerts.yml")), `(?m)^(\s+for:\s*)\S+\s*$`, "${1}"+e2eFor)
	// The backlog alert's hour becomes e2eBacklog: the demo's stuck
	// project has been pending only since the exporter started.
	alerts = mustReplace(t, "alerts.yml", alerts, `ncp_mediaintel_analysis_oldest_pending_seconds > 3600`, "ncp_mediaintel_analysis_oldest_pending_seconds > "+e2eBacklog)
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), []byte(alerts), 0o644); err != nil {
		t.Fatal(err)
	}
}

// promAPI queries a Prometheus server's HTTP API.
type promAPI struct {
	base string
}

// get fetches /api/v1/<path> and decodes "data" into out; it returns an
// error for a transport or API error.
func (p promAPI) get(path string, params url.Values, out any) error {
	u := p.base + "/api/v1/" + path
	if params != nil {
		u += "?" + params.Encode()
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: %s: %w (%.200s)", u, resp.Status, err, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s: %s", u, env.Error)
	}
	return json.Unmarshal(env.Data, out)
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

type promResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// query runs an instant query and returns the number of series or samples
// in the result (scalars count as one).
func (p promAPI) query(expr string) (int, []promSeries, error) {
	var r promResult
	if err := p.get("query", url.Values{"query": {expr}}, &r); err != nil {
		return 0, nil, err
	}
	if r.ResultType == "scalar" || r.ResultType == "string" {
		return 1, nil, nil
	}
	var s []promSeries
	if err := json.Unmarshal(r.Result, &s); err != nil {
		return 0, nil, err
	}
	return len(s), s, nil
}

func (p promAPI) queryRange(expr string, span, step time.Duration) (int, error) {
	now := time.Now()
	var r promResult
	err := p.get("query_range", url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(now.Add(-span).Unix(), 10)},
		"end":   {strconv.FormatInt(now.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}, &r)
	if err != nil {
		return 0, err
	}
	var s []promSeries
	if err := json.Unmarshal(r.Result, &s); err != nil {
		return 0, err
	}
	return len(s), nil
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (p promAPI) alerts() ([]promAlert, error) {
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := p.get("alerts", nil, &data)
	return data.Alerts, err
}

// webhook records the alerts Alertmanager sends to it.
type webhook struct {
	mu     sync.Mutex
	alerts []promAlert // every alert of every notification, with its status as State
	count  int
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var msg struct {
		Version string `json:"version"`
		Alerts  []struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || r.Method != http.MethodPost {
		http.Error(rw, "want a POSTed Alertmanager webhook message", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count++
	for _, a := range msg.Alerts {
		w.alerts = append(w.alerts, promAlert{Labels: a.Labels, Annotations: a.Annotations, State: a.Status})
	}
}

func (w *webhook) notifications() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func (w *webhook) snapshot() []promAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]promAlert(nil), w.alerts...)
}

// TestE2E runs the exporter (--demo), a real Prometheus loading the example
// configuration and rules, and a real Alertmanager sending to a webhook in
// the test. It checks the target is scraped, every dashboard query returns
// data, and the failing demo project's alert goes all the way to the
// webhook while no healthy project alerts. It runs once per Prometheus
// release (see prometheusReleases) with Debian's Alertmanager.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	forEachPrometheus(t, testE2E)
}

func testE2E(t *testing.T, rel promRelease) {
	promBin, amBin := rel.Prometheus, requireTool(t, "prometheus-alertmanager", "alertmanager")
	start := time.Now()
	failingWS, failingProject := mitest.DemoFailingWorkspace, strconv.FormatInt(mitest.DemoFailingProject, 10)

	// The webhook receiver, and Alertmanager sending to it.
	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)

	amDir := t.TempDir()
	amConf := readFile(t, filepath.Join(deployDir(t), "alertmanager", "alertmanager.yml"))
	amConf = mustReplace(t, "alertmanager.yml", amConf, `url: http://127\.0\.0\.1:5001/mediaintel`, "url: "+hookSrv.URL+"/mediaintel")
	amConf = mustReplace(t, "alertmanager.yml", amConf, `group_wait: \S+`, "group_wait: 1s")
	amConf = mustReplace(t, "alertmanager.yml", amConf, `group_interval: \S+`, "group_interval: 1s")
	if err := os.WriteFile(filepath.Join(amDir, "alertmanager.yml"), []byte(amConf), 0o644); err != nil {
		t.Fatal(err)
	}
	am := testutil.StartServer(t, "alertmanager", amBin, func(addr string) []string {
		return []string{
			"--config.file=" + filepath.Join(amDir, "alertmanager.yml"),
			"--storage.path=" + filepath.Join(amDir, "data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
		}
	}, "/-/ready")

	// The exporter.
	// A short recheck, so that the demo's uploads reach their analysis
	// queue within the test's time.
	exp := testutil.StartExporter(t, testutil.BuildExporter(t), "--demo", "--status.recheck=3s")

	// Prometheus, with prometheus.yml pointed at both and sped up.
	promDir := t.TempDir()
	writeTestRules(t, promDir)
	conf := readFile(t, filepath.Join(deployDir(t), "prometheus", "prometheus.yml"))
	conf = mustReplace(t, "prometheus.yml", conf, `"localhost:9847"`, `"`+exp.Addr+`"`)
	conf = mustReplace(t, "prometheus.yml", conf, `"localhost:9093"`, `"`+am.Addr+`"`)
	conf = mustReplace(t, "prometheus.yml", conf, `scrape_interval: \S+`, "scrape_interval: "+e2eScrapeInterval)
	conf = mustReplace(t, "prometheus.yml", conf, `scrape_timeout: \S+`, "scrape_timeout: "+e2eScrapeInterval)
	conf = mustReplace(t, "prometheus.yml", conf, `evaluation_interval: \S+`, "evaluation_interval: "+e2eEvalInterval)
	if err := os.WriteFile(filepath.Join(promDir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := testutil.StartServer(t, "prometheus", promBin, func(addr string) []string {
		return []string{
			"--config.file=" + filepath.Join(promDir, "prometheus.yml"),
			"--storage.tsdb.path=" + filepath.Join(promDir, "data"),
			"--web.listen-address=" + addr,
		}
	}, "/-/ready")
	api := promAPI{base: "http://" + prom.Addr}

	// 1. The exporter is scraped and its samples stored.
	testutil.EventuallyNoError(t, 60*time.Second, "the mediaintel target is up", func() error {
		n, s, err := api.query(`up{job="mediaintel"} == 1`)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("up: %d series %v", n, s)
		}
		return nil
	})
	testutil.EventuallyNoError(t, 60*time.Second, "several scrapes are stored", func() error {
		n, s, err := api.query(`count_over_time(ncp_mediaintel_up[1m]) >= 3`)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("count_over_time: %v", s)
		}
		return nil
	})
	if n, _, err := api.query(`ncp_mediaintel_build_info{version="` + testutil.ExporterVersion + `"}`); err != nil || n != 1 {
		t.Errorf("build_info does not carry the version deploy/build.sh was given (%d series, %v)", n, err)
	}

	// 2. Every rule evaluates without error, and every alerting rule has the
	// labels and annotations the house style wants.
	checkRulesHealthy(t, api)

	// 3. Every dashboard query returns data.
	checkDashboardQueries(t, api)

	// 4. The failing project's alert fires in Prometheus...
	isFailingProject := func(l map[string]string) bool {
		return l["workspace"] == failingWS && l["project_id"] == failingProject
	}
	testutil.EventuallyNoError(t, 60*time.Second, "MediaIntelProjectScrapeFailing fires for the demo's failing project", func() error {
		alerts, err := api.alerts()
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "MediaIntelProjectScrapeFailing" && a.State == "firing" && isFailingProject(a.Labels) {
				return nil
			}
		}
		return fmt.Errorf("alerts: %+v", alerts)
	})
	// ... and reaches the webhook through Alertmanager.
	testutil.EventuallyNoError(t, 60*time.Second, "the webhook receives MediaIntelProjectScrapeFailing for the failing project", func() error {
		for _, a := range hook.snapshot() {
			if a.Labels["alertname"] == "MediaIntelProjectScrapeFailing" && a.State == "firing" && isFailingProject(a.Labels) {
				if a.Labels["severity"] == "" || a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
					return fmt.Errorf("alert without severity, summary or description: %+v", a)
				}
				return nil
			}
		}
		return fmt.Errorf("webhook got %d notifications: %+v", hook.notifications(), hook.snapshot())
	})

	// 4b. The demo's stuck analysis queue fires MediaIntelAnalysisBacklogStuck
	// and it reaches the webhook; the projects whose analyses move do not.
	isStuckProject := func(l map[string]string) bool {
		return l["workspace"] == mitest.DemoStuckWorkspace && l["project_id"] == strconv.FormatInt(mitest.DemoStuckProject, 10)
	}
	testutil.EventuallyNoError(t, 180*time.Second, "the webhook receives MediaIntelAnalysisBacklogStuck for the demo's stuck project", func() error {
		for _, a := range hook.snapshot() {
			if a.Labels["alertname"] == "MediaIntelAnalysisBacklogStuck" && a.State == "firing" && isStuckProject(a.Labels) {
				return nil
			}
		}
		_, pending, err := api.query(`ncp_mediaintel_analysis_oldest_pending_seconds > 0`)
		return fmt.Errorf("webhook got %d notifications: %+v; oldest pending: %+v (%w)", hook.notifications(), hook.snapshot(), pending, err)
	})
	for _, a := range hook.snapshot() {
		if a.Labels["alertname"] == "MediaIntelAnalysisBacklogStuck" && !isStuckProject(a.Labels) {
			t.Errorf("a project whose analyses move alerts as stuck: %+v", a)
		}
	}

	// 4c. The demo project whose scene summaries all fail fires
	// MediaIntelSceneSummariesFailing, and it reaches the webhook.
	isSummaryFailingProject := func(l map[string]string) bool {
		return l["workspace"] == mitest.DemoSummaryFailingWorkspace && l["project_id"] == strconv.FormatInt(mitest.DemoSummaryFailingProject, 10)
	}
	testutil.EventuallyNoError(t, 240*time.Second, "the webhook receives MediaIntelSceneSummariesFailing for the demo's failing summaries", func() error {
		for _, a := range hook.snapshot() {
			if a.Labels["alertname"] == "MediaIntelSceneSummariesFailing" && a.State == "firing" && isSummaryFailingProject(a.Labels) {
				if a.Annotations["runbook_url"] == "" {
					return fmt.Errorf("alert without runbook_url: %+v", a)
				}
				return nil
			}
		}
		_, seen, err := api.query(`ncp_mediaintel_scene_summaries_observed_total{status="failed"} > 0`)
		return fmt.Errorf("webhook got %d notifications; summaries seen to fail: %+v (%w)", hook.notifications(), seen, err)
	})

	// 5. No healthy project alerts, in Prometheus or at the webhook.
	alerts, err := api.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append(alerts, hook.snapshot()...) {
		if a.Labels["alertname"] == "MediaIntelProjectScrapeFailing" && !isFailingProject(a.Labels) {
			t.Errorf("a healthy project alerts: %+v", a)
		}
		if a.Labels["alertname"] == "MediaIntelAPIUnreachable" || a.Labels["alertname"] == "MediaIntelExporterDown" {
			t.Errorf("the demo exporter should be healthy: %+v", a)
		}
	}
	t.Logf("end-to-end test done in %s", time.Since(start).Round(time.Second))
}

// checkRulesHealthy asserts that Prometheus loaded all rules, evaluates
// them without error, and that alerting rules carry severity, summary,
// description and runbook_url.
func checkRulesHealthy(t *testing.T, api promAPI) {
	t.Helper()
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name        string            `json:"name"`
				Type        string            `json:"type"`
				Health      string            `json:"health"`
				LastError   string            `json:"lastError"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	var alerting int
	testutil.EventuallyNoError(t, 30*time.Second, "every rule has been evaluated", func() error {
		alerting = 0
		if err := api.get("rules", nil, &data); err != nil {
			return err
		}
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return fmt.Errorf("rule %s in %s: health %q %s", r.Name, g.Name, r.Health, r.LastError)
				}
				if r.Type == "alerting" {
					alerting++
				}
			}
		}
		return nil
	})
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.Annotations["runbook_url"] == "") {
				t.Errorf("alert %s lacks severity, summary, description or runbook_url", r.Name)
			}
		}
	}
	if want := len(alertBlocks(readFile(t, filepath.Join(deployDir(t), "prometheus", "alerts.yml")))); alerting != want {
		t.Errorf("Prometheus loaded %d alerting rules, alerts.yml has %d", alerting, want)
	}
}

// checkDashboardQueries runs every query of the committed dashboard against
// Prometheus, variables substituted (all workspaces and projects), and
// asserts each returns data. Range queries run over the last 30 seconds.
func checkDashboardQueries(t *testing.T, api promAPI) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "dashboards", dashboards.FileName))
	if err != nil {
		t.Fatal(err)
	}
	queries, err := dashboards.Queries(raw)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"workspace": ".+", "project": ".+", "datasource": "prometheus",
		"__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
		// At least four scrape intervals, as Grafana's $__rate_interval is.
		"__rate_interval": "15s", "__interval": e2eScrapeInterval, "__interval_ms": "3000",
	}
	pending := map[string]dashboards.Query{}
	for _, q := range queries {
		pending[q.Where] = q
	}
	testutil.EventuallyNoError(t, 60*time.Second, "every dashboard query returns data", func() error {
		var empty []string
		for where, q := range pending {
			expr := dashboards.ExpandVariables(q.Expr, vars)
			var n int
			var err error
			if q.Instant {
				n, _, err = api.query(expr)
			} else {
				n, err = api.queryRange(expr, 30*time.Second, 3*time.Second)
			}
			switch {
			case err != nil:
				empty = append(empty, fmt.Sprintf("%s: %v\n    %s", where, err, expr))
			case n == 0:
				empty = append(empty, fmt.Sprintf("%s: no data\n    %s", where, expr))
			default:
				delete(pending, where)
			}
		}
		if len(empty) > 0 {
			sort.Strings(empty)
			return fmt.Errorf("%d of %d queries fail:\n  %s", len(empty), len(queries), strings.Join(empty, "\n  "))
		}
		return nil
	})
}

// TestE2EShardedDiscovery runs two Prometheus servers with the sharded
// example (shards 0 and 1), discovering the demo exporter's projects through
// /discovery?per=project and scraping each through /probe; it checks that
// every project is scraped by exactly one of them. It runs once per
// Prometheus release; run it alone with
// go test -C deploy -run TestE2EShardedDiscovery.
func TestE2EShardedDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	forEachPrometheus(t, testE2EShardedDiscovery)
}

func testE2EShardedDiscovery(t *testing.T, rel promRelease) {
	promBin := rel.Prometheus
	exp := testutil.StartExporter(t, testutil.BuildExporter(t), "--demo")

	// What the exporter's discovery offers.
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	body := exp.Get(t, "/discovery?per=project")
	if err := json.Unmarshal([]byte(body), &groups); err != nil {
		t.Fatalf("/discovery?per=project is not Prometheus HTTP SD JSON: %v\n%.500s", err, body)
	}
	all := map[string]bool{}
	for _, g := range groups {
		ws, p := g.Labels["__param_workspace"], g.Labels["__param_project"]
		if ws == "" || p == "" {
			t.Fatalf("/discovery?per=project target without __param_workspace or __param_project: %+v", g)
		}
		all[ws+"/"+p] = true
	}
	if len(all) < 2 {
		t.Fatalf("/discovery?per=project lists %d projects; the demo has more", len(all))
	}

	tmpl := readFile(t, filepath.Join(deployDir(t), "prometheus", "prometheus-sharded.yml"))
	var shards []promAPI
	for _, shard := range []string{"0", "1"} {
		dir := t.TempDir()
		writeTestRules(t, dir)
		conf := strings.ReplaceAll(tmpl, "__SHARD__", shard)
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `localhost:9847`, exp.Addr)
		// No Alertmanager in this test.
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `(?s)\nalerting:.*?\n\n`, "\n")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `refresh_interval: \S+`, "refresh_interval: 1s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `scrape_interval: \S+`, "scrape_interval: 2s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `scrape_timeout: \S+`, "scrape_timeout: 2s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `evaluation_interval: \S+`, "evaluation_interval: "+e2eEvalInterval)
		if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		p := testutil.StartServer(t, "prometheus shard "+shard, promBin, func(addr string) []string {
			return []string{
				"--config.file=" + filepath.Join(dir, "prometheus.yml"),
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=" + addr,
			}
		}, "/-/ready")
		shards = append(shards, promAPI{base: "http://" + p.Addr})
	}

	// Each shard's scraped projects, from the samples it stored.
	scraped := make([]map[string]bool, len(shards))
	testutil.EventuallyNoError(t, 90*time.Second, "every project is scraped by exactly one shard", func() error {
		owner := map[string][]int{}
		for i, api := range shards {
			_, series, err := api.query(`count by (workspace, project_id) (ncp_mediaintel_project_scrape_success)`)
			if err != nil {
				return err
			}
			scraped[i] = map[string]bool{}
			for _, s := range series {
				key := s.Metric["workspace"] + "/" + s.Metric["project_id"]
				scraped[i][key] = true
				owner[key] = append(owner[key], i)
			}
		}
		var problems []string
		for key := range all {
			if len(owner[key]) != 1 {
				problems = append(problems, fmt.Sprintf("%s scraped by shards %v", key, owner[key]))
			}
		}
		for key := range owner {
			if !all[key] {
				problems = append(problems, fmt.Sprintf("%s scraped but not discovered", key))
			}
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	})
	for i, s := range scraped {
		if len(s) == 0 {
			t.Errorf("shard %d scrapes no project: the hashmod split is degenerate", i)
		}
		t.Logf("shard %d scrapes %d projects: %v", i, len(s), slices.Sorted(maps.Keys(s)))
	}

	// The probe targets are named after their project and report up.
	for i, api := range shards {
		n, series, err := api.query(`up{job="mediaintel_probe"} == 0`)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("shard %d has probe targets down: %+v", i, series)
		}
	}
}
