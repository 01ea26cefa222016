package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
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

	"github.com/mediaintel/mediaintel_exporter/client"
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
	// e2eProjectLimit is MediaIntelWorkspaceNearProjectLimit's threshold:
	// the workspace media-prod of both demo accounts has more projects (5
	// and 3), research-lab fewer (2).
	e2eProjectLimit = "2"
)

// The demo's two accounts (--demo, and the tests' own simulator with the
// same inventories), and the workspace name both have.
const (
	accountDefault = "default"
	accountLab     = "lab"
	sharedWS       = mitest.DemoSharedWorkspace
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
// alert's "for" shortened to e2eFor and two thresholds lowered to what the
// demo reaches within the test.
func writeTestRules(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(deployDir(t), "prometheus")
	copyFile(t, filepath.Join(src, "recording.yml"), filepath.Join(dir, "recording.yml"))
	alerts := mustReplace(t, "alerts.yml", readFile(t, filepath.Join(src, "alerts.yml")), `(?m)^(\s+for:\s*)\S+\s*$`, "${1}"+e2eFor)
	// The backlog alert's hour becomes e2eBacklog: the demo's stuck
	// project has been pending only since the exporter started.
	alerts = mustReplace(t, "alerts.yml", alerts, `ncp_mediaintel_analysis_oldest_pending_seconds > 3600`, "ncp_mediaintel_analysis_oldest_pending_seconds > "+e2eBacklog)
	alerts = mustReplace(t, "alerts.yml", alerts, `ncp_mediaintel_workspace_projects > 900`, "ncp_mediaintel_workspace_projects > "+e2eProjectLimit)
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), []byte(alerts), 0o644); err != nil {
		t.Fatal(err)
	}
}

// prometheusConfig returns the example configuration name of
// deploy/prometheus as a user of rel runs it (forPrometheus: without the
// Prometheus 3 lines on 2.x), pointed at the exporter at exp and the
// Alertmanager at am (none when am is ""), with the test's intervals.
func prometheusConfig(t *testing.T, rel promRelease, name, exp, am string) string {
	t.Helper()
	conf := forPrometheus(rel, readFile(t, filepath.Join(deployDir(t), "prometheus", name)))
	conf = mustReplace(t, name, conf, `localhost:9847`, exp)
	if am == "" {
		conf = mustReplace(t, name, conf, `(?s)\nalerting:.*?\n\n`, "\n")
	} else {
		conf = mustReplace(t, name, conf, `localhost:9093`, am)
	}
	conf = mustReplace(t, name, conf, `scrape_interval: \S+`, "scrape_interval: "+e2eScrapeInterval)
	conf = mustReplace(t, name, conf, `scrape_timeout: \S+`, "scrape_timeout: "+e2eScrapeInterval)
	conf = mustReplace(t, name, conf, `evaluation_interval: \S+`, "evaluation_interval: "+e2eEvalInterval)
	return conf
}

// startPrometheus runs rel's Prometheus with the configuration conf and
// the test copies of the rules (writeTestRules) until it is ready.
func startPrometheus(t *testing.T, rel promRelease, name, conf string) promAPI {
	t.Helper()
	dir := t.TempDir()
	writeTestRules(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartServer(t, name, rel.Prometheus, func(addr string) []string {
		return []string{
			"--config.file=" + filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
		}
	}, "/-/ready")
	return promAPI{base: "http://" + p.Addr}
}

// startAlertmanager runs Debian's Alertmanager with the example
// configuration, sending to hook, its waits shortened.
func startAlertmanager(t *testing.T, hook *webhook) *testutil.Server {
	t.Helper()
	amBin := requireTool(t, "prometheus-alertmanager", "alertmanager")
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	dir := t.TempDir()
	conf := readFile(t, filepath.Join(deployDir(t), "alertmanager", "alertmanager.yml"))
	conf = mustReplace(t, "alertmanager.yml", conf, `url: http://127\.0\.0\.1:5001/mediaintel`, "url: "+hookSrv.URL+"/mediaintel")
	conf = mustReplace(t, "alertmanager.yml", conf, `group_wait: \S+`, "group_wait: 1s")
	conf = mustReplace(t, "alertmanager.yml", conf, `group_interval: \S+`, "group_interval: 1s")
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return testutil.StartServer(t, "alertmanager", amBin, func(addr string) []string {
		return []string{
			"--config.file=" + filepath.Join(dir, "alertmanager.yml"),
			"--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
		}
	}, "/-/ready")
}

// newE2ESimulator starts an API simulator with the demo's two accounts and
// inventories, and its failing project, but without the demo's uploads:
// the figures do not move, so two Prometheus servers read the same ones,
// and the test can make the API fail when it wants.
func newE2ESimulator(t *testing.T) *mitest.Server {
	t.Helper()
	sim := mitest.NewServer(mitest.DemoInventory(), mitest.WithAccount(mitest.DemoLabAccessKey, mitest.DemoLabSecretKey, mitest.DemoLabInventory()))
	t.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, Workspace: mitest.DemoFailingWorkspace, ProjectID: mitest.DemoFailingProject}, mitest.DemoFault)
	return sim
}

// startSimExporter runs the built exporter on sim's two accounts, named as
// the demo's, through a configuration file (docs/configuration.md) whose
// keys are in environment variables, with args added.
func startSimExporter(t *testing.T, sim *mitest.Server, args ...string) *testutil.Exporter {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "accounts.yml")
	if err := os.WriteFile(conf, []byte(`accounts:
  - name: `+accountDefault+`
    access_key_env: E2E_DEFAULT_ACCESS_KEY
    secret_key_env: E2E_DEFAULT_SECRET_KEY
    labels: {environment: e2e}
  - name: `+accountLab+`
    access_key_env: E2E_LAB_ACCESS_KEY
    secret_key_env: E2E_LAB_SECRET_KEY
    labels: {environment: e2e-lab}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"E2E_DEFAULT_ACCESS_KEY="+mitest.DefaultAccessKey, "E2E_DEFAULT_SECRET_KEY="+mitest.DefaultSecretKey,
		"E2E_LAB_ACCESS_KEY="+mitest.DemoLabAccessKey, "E2E_LAB_SECRET_KEY="+mitest.DemoLabSecretKey)
	return testutil.StartExporterWith(t, testutil.BuildExporter(t), testutil.ExporterOptions{Env: env},
		append([]string{"--config.file=" + conf, "--mi.api-url=" + sim.URL}, args...)...)
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
	Metric    map[string]string `json:"metric"`
	Value     []any             `json:"value"`
	Values    [][]any           `json:"values"`
	Histogram []any             `json:"histogram"` // a native histogram's sample: time, {count, sum, buckets}
}

// float is the series' instant value as a number (NaN when it has none).
func (s promSeries) float() float64 {
	if len(s.Value) != 2 {
		return math.NaN()
	}
	str, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

type promResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// query runs an instant query and returns the number of series or samples
// in the result (scalars count as one).
func (p promAPI) query(expr string) (int, []promSeries, error) {
	return p.queryAt(expr, time.Time{})
}

// queryAt is query at the time at (now when zero).
func (p promAPI) queryAt(expr string, at time.Time) (int, []promSeries, error) {
	params := url.Values{"query": {expr}}
	if !at.IsZero() {
		params.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	var r promResult
	if err := p.get("query", params, &r); err != nil {
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

// notification is one message Alertmanager sent to the webhook.
type notification struct {
	GroupLabels map[string]string
	Alerts      []promAlert // with their status as State
}

// webhook records the notifications Alertmanager sends to it.
type webhook struct {
	mu   sync.Mutex
	sent []notification
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var msg struct {
		Version     string            `json:"version"`
		GroupLabels map[string]string `json:"groupLabels"`
		Alerts      []struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || r.Method != http.MethodPost {
		http.Error(rw, "want a POSTed Alertmanager webhook message", http.StatusBadRequest)
		return
	}
	n := notification{GroupLabels: msg.GroupLabels}
	for _, a := range msg.Alerts {
		n.Alerts = append(n.Alerts, promAlert{Labels: a.Labels, Annotations: a.Annotations, State: a.Status})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, n)
}

func (w *webhook) notifications() []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent)
}

// snapshot is every alert of every notification so far.
func (w *webhook) snapshot() []promAlert {
	var all []promAlert
	for _, n := range w.notifications() {
		all = append(all, n.Alerts...)
	}
	return all
}

// firing returns the firing alerts named alertname of the webhook's
// notifications whose labels include want.
func (w *webhook) firing(alertname string, want map[string]string) []promAlert {
	var out []promAlert
	for _, a := range w.snapshot() {
		if a.State == "firing" && a.Labels["alertname"] == alertname && hasLabels(a.Labels, want) {
			out = append(out, a)
		}
	}
	return out
}

// hasLabels reports whether labels include every label of want.
func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// waitForWebhook waits until the webhook has received alertname firing
// with the labels want, with its texts, and returns it.
func waitForWebhook(t *testing.T, hook *webhook, timeout time.Duration, alertname string, want map[string]string) promAlert {
	t.Helper()
	var got promAlert
	testutil.EventuallyNoError(t, timeout, fmt.Sprintf("the webhook receives %s %v", alertname, want), func() error {
		firing := hook.firing(alertname, want)
		if len(firing) == 0 {
			return fmt.Errorf("%d notifications so far: %+v", len(hook.notifications()), hook.notifications())
		}
		got = firing[0]
		if got.Labels["severity"] == "" || got.Annotations["summary"] == "" || got.Annotations["description"] == "" || got.Annotations["runbook_url"] == "" {
			return fmt.Errorf("alert without severity, summary, description or runbook_url: %+v", got)
		}
		return nil
	})
	return got
}

// TestE2E runs the exporter (--demo, two accounts), a real Prometheus
// loading the example configuration and rules, and a real Alertmanager
// sending to a webhook in the test. It checks that both accounts are
// scraped and kept apart, every dashboard query returns data, and alerts
// of each account go all the way to the webhook, each naming its account,
// while no healthy project alerts. It runs once per Prometheus release
// (see prometheusReleases; 3.x with the example's native histograms) with
// Debian's Alertmanager.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	forEachPrometheus(t, testE2E)
}

func testE2E(t *testing.T, rel promRelease) {
	start := time.Now()
	failingWS, failingProject := mitest.DemoFailingWorkspace, strconv.FormatInt(mitest.DemoFailingProject, 10)

	hook := &webhook{}
	am := startAlertmanager(t, hook)
	// A short recheck, so that the demo's uploads reach their analysis
	// queue within the test's time.
	exp := testutil.StartExporter(t, testutil.BuildExporter(t), "--demo", "--status.recheck=3s")
	api := startPrometheus(t, rel, "prometheus", prometheusConfig(t, rel, "prometheus.yml", exp.Addr, am.Addr))

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
		n, s, err := api.query(`count_over_time(ncp_mediaintel_up{account="` + accountLab + `"}[1m]) >= 3`)
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

	// 2. Both accounts, kept apart: their media-prod workspaces are two
	// series, with their own figures.
	checkAccountsApart(t, api)

	// 3. Every rule evaluates without error, and every alerting rule has the
	// labels and annotations the house style wants.
	checkRulesHealthy(t, api)

	// 4. Every dashboard query returns data, but for those of background
	// mode (TestE2EBackground) and of temporary keys (the demo's are not).
	checkDashboardQueries(t, api, func(q dashboards.Query) bool {
		return !strings.Contains(q.Expr, "ncp_mediaintel_refresh_") && !strings.Contains(q.Expr, "ncp_mediaintel_credentials_expiry_")
	})

	// 5. The failing project's alert fires in Prometheus, and reaches the
	// webhook through Alertmanager, with its account and reason.
	failing := map[string]string{"account": accountDefault, "workspace": failingWS, "project_id": failingProject}
	a := waitForWebhook(t, hook, 60*time.Second, "MediaIntelProjectScrapeFailing", failing)
	for _, want := range []string{"of account default", "reason server_error", "/probe?account=default&workspace=media-staging&project=2003&debug=true"} {
		if !strings.Contains(a.Annotations["summary"]+a.Annotations["description"], want) {
			t.Errorf("MediaIntelProjectScrapeFailing does not say %q: %+v", want, a.Annotations)
		}
	}

	// 6. An alert of each account, on the workspace name both have: two
	// alerts, two notifications, each with its account.
	for _, account := range []string{accountDefault, accountLab} {
		a := waitForWebhook(t, hook, 60*time.Second, "MediaIntelWorkspaceNearProjectLimit", map[string]string{"account": account, "workspace": sharedWS})
		if !strings.Contains(a.Annotations["summary"], "of account "+account) {
			t.Errorf("the alert of account %s does not name it: %q", account, a.Annotations["summary"])
		}
	}
	groups := map[string]bool{}
	for _, n := range hook.notifications() {
		if n.GroupLabels["alertname"] == "MediaIntelWorkspaceNearProjectLimit" && n.GroupLabels["workspace"] == sharedWS {
			groups[n.GroupLabels["account"]] = true
			for _, a := range n.Alerts {
				if a.Labels["account"] != n.GroupLabels["account"] {
					t.Errorf("a notification for account %q holds an alert of account %q", n.GroupLabels["account"], a.Labels["account"])
				}
			}
		}
	}
	if !groups[accountDefault] || !groups[accountLab] {
		t.Errorf("the two accounts' %s alerts should be notified apart, got groups %v", sharedWS, groups)
	}

	// 7. The demo's stuck analysis queue fires MediaIntelAnalysisBacklogStuck
	// and it reaches the webhook; the projects whose analyses move do not.
	stuck := map[string]string{"account": accountDefault, "workspace": mitest.DemoStuckWorkspace, "project_id": strconv.FormatInt(mitest.DemoStuckProject, 10)}
	testutil.EventuallyNoError(t, 180*time.Second, "the webhook receives MediaIntelAnalysisBacklogStuck for the demo's stuck project", func() error {
		if len(hook.firing("MediaIntelAnalysisBacklogStuck", stuck)) > 0 {
			return nil
		}
		_, pending, err := api.query(`ncp_mediaintel_analysis_oldest_pending_seconds > 0`)
		return fmt.Errorf("%d notifications; oldest pending: %+v (%w)", len(hook.notifications()), pending, err)
	})
	for _, a := range hook.snapshot() {
		if a.Labels["alertname"] == "MediaIntelAnalysisBacklogStuck" && !hasLabels(a.Labels, stuck) {
			t.Errorf("a project whose analyses move alerts as stuck: %+v", a)
		}
	}

	// 8. The demo project whose scene summaries all fail fires
	// MediaIntelSceneSummariesFailing, and it reaches the webhook.
	summaries := map[string]string{"account": accountDefault, "workspace": mitest.DemoSummaryFailingWorkspace, "project_id": strconv.FormatInt(mitest.DemoSummaryFailingProject, 10)}
	testutil.EventuallyNoError(t, 240*time.Second, "the webhook receives MediaIntelSceneSummariesFailing for the demo's failing summaries", func() error {
		if len(hook.firing("MediaIntelSceneSummariesFailing", summaries)) > 0 {
			return nil
		}
		_, seen, err := api.query(`ncp_mediaintel_scene_summaries_observed_total{status="failed"} > 0`)
		return fmt.Errorf("%d notifications; summaries seen to fail: %+v (%w)", len(hook.notifications()), seen, err)
	})

	// 9. No healthy project alerts, in Prometheus or at the webhook.
	alerts, err := api.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append(alerts, hook.snapshot()...) {
		switch a.Labels["alertname"] {
		case "MediaIntelProjectScrapeFailing":
			if !hasLabels(a.Labels, failing) {
				t.Errorf("a healthy project alerts: %+v", a)
			}
		case "MediaIntelAPIUnreachable", "MediaIntelExporterDown", "MediaIntelProjectFiguresStale", "MediaIntelWorkspaceScrapeFailing":
			t.Errorf("the demo exporter should be healthy: %+v", a)
		}
	}
	t.Logf("end-to-end test done in %s", time.Since(start).Round(time.Second))
}

// checkAccountsApart checks that Prometheus has the demo's two accounts
// apart: an up series each, and the workspace name they share as two
// series with the figures of each (5 and 3 projects).
func checkAccountsApart(t *testing.T, api promAPI) {
	t.Helper()
	testutil.EventuallyNoError(t, 30*time.Second, "both accounts are scraped, apart", func() error {
		_, up, err := api.query(`count by (account) (ncp_mediaintel_up == 1)`)
		if err != nil {
			return err
		}
		accounts := map[string]bool{}
		for _, s := range up {
			accounts[s.Metric["account"]] = true
		}
		if len(up) != 2 || !accounts[accountDefault] || !accounts[accountLab] {
			return fmt.Errorf("count by (account) (ncp_mediaintel_up == 1): %+v", up)
		}
		_, ws, err := api.query(`ncp_mediaintel_workspace_projects{workspace="` + sharedWS + `"}`)
		if err != nil {
			return err
		}
		projects := map[string]float64{}
		for _, s := range ws {
			projects[s.Metric["account"]] = s.float()
		}
		if len(ws) != 2 || projects[accountDefault] != 5 || projects[accountLab] != 3 {
			return fmt.Errorf("ncp_mediaintel_workspace_projects{workspace=%q}: want 5 projects for %s and 3 for %s, got %+v", sharedWS, accountDefault, accountLab, ws)
		}
		return nil
	})
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

// dashboardVars are the values the end-to-end tests give the dashboard's
// variables: every job, instance, account, workspace and project, and
// intervals of the test's scrape interval.
var dashboardVars = map[string]string{
	"job": ".+", "instance": ".+", "account": ".+", "workspace": ".+", "project": ".+", "datasource": "prometheus",
	"__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
	// At least four scrape intervals, as Grafana's $__rate_interval is.
	"__rate_interval": "15s", "__interval": e2eScrapeInterval, "__interval_ms": "3000",
}

// dashboardQueries returns the committed dashboard's queries.
func dashboardQueries(t *testing.T) []dashboards.Query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "dashboards", dashboards.FileName))
	if err != nil {
		t.Fatal(err)
	}
	queries, err := dashboards.Queries(raw)
	if err != nil {
		t.Fatal(err)
	}
	return queries
}

// checkDashboardQueries runs the queries of the committed dashboard that
// keep selects against Prometheus, variables substituted (dashboardVars),
// and asserts each returns data. Range queries run over the last 30
// seconds.
func checkDashboardQueries(t *testing.T, api promAPI, keep func(dashboards.Query) bool) {
	t.Helper()
	pending := map[string]dashboards.Query{}
	for _, q := range dashboardQueries(t) {
		if keep(q) {
			pending[q.Where] = q
		}
	}
	total := len(pending)
	if total < 5 {
		t.Fatalf("only %d dashboard queries to run", total)
	}
	testutil.EventuallyNoError(t, 60*time.Second, "every dashboard query returns data", func() error {
		var empty []string
		for where, q := range pending {
			expr := dashboards.ExpandVariables(q.Expr, dashboardVars)
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
			return fmt.Errorf("%d of %d queries fail:\n  %s", len(empty), total, strings.Join(empty, "\n  "))
		}
		return nil
	})
}

// TestE2EShardedDiscovery runs two Prometheus servers with the sharded
// example (shards 0 and 1), discovering the demo exporter's projects of
// both accounts through /discovery?per=project and scraping each through
// /probe; it checks that every project is scraped by exactly one of them.
// It runs once per Prometheus release; run it alone with
// go test -C deploy -run TestE2EShardedDiscovery.
func TestE2EShardedDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	forEachPrometheus(t, testE2EShardedDiscovery)
}

func testE2EShardedDiscovery(t *testing.T, rel promRelease) {
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
		a, ws, p := g.Labels["__param_account"], g.Labels["__param_workspace"], g.Labels["__param_project"]
		if a == "" || ws == "" || p == "" {
			t.Fatalf("/discovery?per=project target without __param_account, __param_workspace or __param_project: %+v", g)
		}
		all[a+"/"+ws+"/"+p] = true
	}
	if len(all) < 2 {
		t.Fatalf("/discovery?per=project lists %d projects; the demo has more", len(all))
	}

	tmpl := readFile(t, filepath.Join(deployDir(t), "prometheus", "prometheus-sharded.yml"))
	var shards []promAPI
	for _, shard := range []string{"0", "1"} {
		conf := forPrometheus(rel, strings.ReplaceAll(tmpl, "__SHARD__", shard))
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `localhost:9847`, exp.Addr)
		// No Alertmanager in this test.
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `(?s)\nalerting:.*?\n\n`, "\n")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `refresh_interval: \S+`, "refresh_interval: 1s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `scrape_interval: \S+`, "scrape_interval: 2s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `scrape_timeout: \S+`, "scrape_timeout: 2s")
		conf = mustReplace(t, "prometheus-sharded.yml", conf, `evaluation_interval: \S+`, "evaluation_interval: "+e2eEvalInterval)
		shards = append(shards, startPrometheus(t, rel, "prometheus shard "+shard, conf))
	}

	// Each shard's scraped projects, from the samples it stored.
	scraped := make([]map[string]bool, len(shards))
	testutil.EventuallyNoError(t, 90*time.Second, "every project is scraped by exactly one shard", func() error {
		owner := map[string][]int{}
		for i, api := range shards {
			_, series, err := api.query(`count by (account, workspace, project_id) (ncp_mediaintel_project_scrape_success)`)
			if err != nil {
				return err
			}
			scraped[i] = map[string]bool{}
			for _, s := range series {
				key := s.Metric["account"] + "/" + s.Metric["workspace"] + "/" + s.Metric["project_id"]
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

	// The probe targets are named after their account and project, and
	// report up.
	for i, api := range shards {
		n, series, err := api.query(`up{job="mediaintel_probe"} == 0`)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("shard %d has probe targets down: %+v", i, series)
		}
		_, series, err = api.query(`up{job="mediaintel_probe"}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			if want := s.Metric["account"] + "/" + s.Metric["workspace"] + "/" + s.Metric["project_id"]; s.Metric["instance"] != want {
				t.Errorf("shard %d: a probe target's instance is %q, want %q", i, s.Metric["instance"], want)
			}
		}
	}
}

// TestE2EProbeExporterDown runs the per-project example
// (prometheus-probe-sd.yml: a /probe target per project of both demo
// accounts, and /internal/metrics), then kills the exporter: every target
// goes down, and MediaIntelExporterDown fires once, for the exporter's own
// target, not once per project. It runs once per Prometheus release.
func TestE2EProbeExporterDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	forEachPrometheus(t, testE2EProbeExporterDown)
}

func testE2EProbeExporterDown(t *testing.T, rel promRelease) {
	exp := testutil.StartExporter(t, testutil.BuildExporter(t), "--demo")
	conf := prometheusConfig(t, rel, "prometheus-probe-sd.yml", exp.Addr, "")
	conf = mustReplace(t, "prometheus-probe-sd.yml", conf, `refresh_interval: \S+`, "refresh_interval: 1s")
	api := startPrometheus(t, rel, "prometheus "+rel.Version, conf)

	var probes int
	testutil.EventuallyNoError(t, 60*time.Second, "every target is up", func() error {
		_, series, err := api.query(`count by (job) (up == 1) / count by (job) (up)`)
		if err != nil {
			return err
		}
		_, all, err := api.query(`count(up{job="mediaintel_probe"})`)
		if err != nil {
			return err
		}
		if len(all) != 1 {
			return fmt.Errorf("/probe targets: %+v", all)
		}
		probes = int(all[0].float())
		share := map[string]float64{}
		for _, s := range series {
			share[s.Metric["job"]] = s.float()
		}
		// The demo's 17 projects, of both accounts.
		if probes < 17 || share["mediaintel_probe"] != 1 || share["mediaintel_exporter"] != 1 {
			return fmt.Errorf("%d /probe targets; share of the targets up by job: %v", probes, share)
		}
		return nil
	})
	exp.Kill(t)

	downAlerts := func() ([]promAlert, error) {
		alerts, err := api.alerts()
		var out []promAlert
		for _, a := range alerts {
			if a.Labels["alertname"] == "MediaIntelExporterDown" {
				out = append(out, a)
			}
		}
		return out, err
	}
	testutil.EventuallyNoError(t, 60*time.Second, "MediaIntelExporterDown fires for the exporter", func() error {
		alerts, err := downAlerts()
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if a.State == "firing" && a.Labels["job"] == "mediaintel_exporter" {
				return nil
			}
		}
		return fmt.Errorf("alerts: %+v", alerts)
	})
	// Several evaluations later, still that one alert, with all the
	// /probe targets down.
	time.Sleep(3 * time.Second)
	if n, _, err := api.query(`up{job="mediaintel_probe"} == 0`); err != nil || n != probes {
		t.Errorf("%d /probe targets down, want all %d (%v)", n, probes, err)
	}
	alerts, err := downAlerts()
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Labels["job"] != "mediaintel_exporter" || alerts[0].Labels["instance"] != exp.Addr {
		t.Errorf("an exporter with %d /probe targets that is down should page once, for its own target %s; got %d alerts: %+v", probes, exp.Addr, len(alerts), alerts)
	}
}
