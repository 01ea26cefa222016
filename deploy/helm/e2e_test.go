package helm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// translateScrapeConfig is a hand translation of a prometheus-operator
// ScrapeConfig with httpSDConfigs into the plain scrape_configs entry the
// operator writes for it (prometheus-operator v0.95,
// pkg/prometheus/promcfg.go, generateScrapeConfig): job_name
// scrapeConfig/<namespace>/<name>; relabel_configs that first keep the job
// name in __tmp_prometheus_job_name and set job to spec.jobName, then the
// ScrapeConfig's relabelings in order, then, with the Prometheus resource's
// spec.shards > 1, the operator's sharding rules (shardingRules).
//
// resolve stands in for the cluster's DNS: it maps the Service's
// <name>.<namespace>.svc:<port> to the address the exporter listens on in
// the test. TLS and basic auth are not translated: the test renders without
// them, and a ScrapeConfig that has them is refused here. The histogram
// fields depend on the Prometheus version: withHistograms adds them.
func translateScrapeConfig(t *testing.T, sc *monitoringv1alpha1.ScrapeConfig, resolve func(string) string, shards, shard int) map[string]any {
	t.Helper()
	s := sc.Spec
	if s.TLSConfig != nil || s.BasicAuth != nil || len(s.StaticConfigs) > 0 || len(s.KubernetesSDConfigs) > 0 {
		t.Fatalf("ScrapeConfig %s uses fields this translation does not cover", sc.Name)
	}
	if len(s.HTTPSDConfigs) == 0 || s.JobName == nil || s.MetricsPath == nil {
		t.Fatalf("ScrapeConfig %s: want httpSDConfigs, jobName and metricsPath", sc.Name)
	}
	var sds []any
	for _, h := range s.HTTPSDConfigs {
		if h.TLSConfig != nil || h.BasicAuth != nil {
			t.Fatalf("ScrapeConfig %s: httpSDConfigs with TLS or basic auth are not translated", sc.Name)
		}
		u, err := url.Parse(string(h.URL))
		if err != nil {
			t.Fatal(err)
		}
		u.Host = resolve(u.Host)
		sd := map[string]any{"url": u.String()}
		if h.RefreshInterval != nil {
			sd["refresh_interval"] = string(*h.RefreshInterval)
		}
		sds = append(sds, sd)
	}
	relabel := []any{
		map[string]any{"source_labels": []string{"job"}, "target_label": "__tmp_prometheus_job_name"},
		map[string]any{"target_label": "job", "action": "replace", "replacement": *s.JobName},
	}
	for _, rc := range s.RelabelConfigs {
		relabel = append(relabel, translateRelabel(rc, resolve))
	}
	if shards > 1 {
		relabel = append(relabel, shardingRules(shards, shard)...)
	}
	cfg := map[string]any{
		"job_name":        "scrapeConfig/" + sc.Namespace + "/" + sc.Name,
		"metrics_path":    *s.MetricsPath,
		"http_sd_configs": sds,
		"relabel_configs": relabel,
		"scrape_interval": string(ptrOr(s.ScrapeInterval)),
		"scrape_timeout":  string(ptrOr(s.ScrapeTimeout)),
		"honor_labels":    s.HonorLabels != nil && *s.HonorLabels,
	}
	var metricRelabel []any
	for _, rc := range s.MetricRelabelConfigs {
		metricRelabel = append(metricRelabel, translateRelabel(rc, resolve))
	}
	if len(metricRelabel) > 0 {
		cfg["metric_relabel_configs"] = metricRelabel
	}
	if s.Scheme != nil {
		cfg["scheme"] = strings.ToLower(string(*s.Scheme))
	}
	return cfg
}

// translateRelabel writes a RelabelConfig in Prometheus' own field names,
// only the fields that are set (as the operator does). A replacement that
// names the Service's address is resolved like a DNS name would be.
func translateRelabel(rc monitoringv1.RelabelConfig, resolve func(string) string) map[string]any {
	m := map[string]any{}
	if len(rc.SourceLabels) > 0 {
		m["source_labels"] = labelNames(rc.SourceLabels)
	}
	if rc.Separator != nil {
		m["separator"] = *rc.Separator
	}
	if rc.TargetLabel != "" {
		m["target_label"] = rc.TargetLabel
	}
	if rc.Regex != "" {
		m["regex"] = rc.Regex
	}
	if rc.Modulus != 0 {
		m["modulus"] = rc.Modulus
	}
	if rc.Replacement != nil {
		m["replacement"] = resolve(*rc.Replacement)
	}
	if rc.Action != "" {
		m["action"] = strings.ToLower(rc.Action)
	}
	return m
}

// shardingRules are the relabelings prometheus-operator appends to a
// ScrapeConfig for a Prometheus resource with spec.shards > 1, with
// $(SHARD) as the config reloader substitutes it on shard number shard: the
// hash is taken from __tmp_hash when a relabeling set it, else from
// __address__.
func shardingRules(shards, shard int) []any {
	return []any{
		map[string]any{"source_labels": []string{"__address__", "__tmp_hash"}, "target_label": "__tmp_hash", "regex": "(.+);", "replacement": "$1", "action": "replace"},
		map[string]any{"source_labels": []string{"__tmp_hash"}, "target_label": "__tmp_hash", "modulus": shards, "action": "hashmod"},
		map[string]any{"source_labels": []string{"__tmp_hash", "__tmp_disable_sharding"}, "regex": strconv.Itoa(shard) + ";|.+;.+", "action": "keep"},
	}
}

// translateServiceMonitor writes the /internal/metrics ServiceMonitor as a
// static target at the exporter (what its endpoints discovery would find:
// the one pod behind the Service), with the endpoint's relabelings.
func translateServiceMonitor(t *testing.T, sm *monitoringv1.ServiceMonitor, exporterAddr string) map[string]any {
	t.Helper()
	ep := sm.Spec.Endpoints[0]
	relabel := []any{}
	for _, rc := range ep.RelabelConfigs {
		if rc.Action == "labeldrop" {
			continue // pod and container: labels endpoints discovery would have set
		}
		relabel = append(relabel, translateRelabel(rc, func(s string) string { return s }))
	}
	return map[string]any{
		"job_name":        "serviceMonitor/" + sm.Namespace + "/" + sm.Name + "/0",
		"metrics_path":    ep.Path,
		"scrape_interval": string(ep.Interval),
		"static_configs":  []any{map[string]any{"targets": []string{exporterAddr}}},
		"relabel_configs": relabel,
	}
}

// discovered returns the /probe parameters of the exporter's discovery,
// "account/workspace/project" or "account/workspace", as a set.
func discovered(t *testing.T, exporterAddr, query string) map[string]bool {
	t.Helper()
	resp, err := http.Get("http://" + exporterAddr + "/discovery" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var groups []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&groups); err != nil {
		t.Fatalf("/discovery%s: %v", query, err)
	}
	out := map[string]bool{}
	for _, g := range groups {
		key := g.Labels["__param_account"] + "/" + g.Labels["__param_workspace"]
		if p := g.Labels["__param_project"]; p != "" {
			key += "/" + p
		}
		out[key] = true
	}
	return out
}

type promTarget struct {
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Labels     map[string]string `json:"labels"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
}

// activeTargets reads a Prometheus server's active targets.
func activeTargets(base string) ([]promTarget, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/api/v1/targets?state=active")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		Status string `json:"status"`
		Data   struct {
			ActiveTargets []promTarget `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != "success" {
		return nil, fmt.Errorf("/api/v1/targets: %w %.300s", err, body)
	}
	return env.Data.ActiveTargets, nil
}

// poolState sums up a scrape pool: its targets by instance, and the ones
// that are not up yet.
func poolState(targets []promTarget, pool string) (instances map[string]promTarget, notUp []string) {
	instances = map[string]promTarget{}
	for _, tg := range targets {
		if tg.ScrapePool != pool {
			continue
		}
		instances[tg.Labels["instance"]] = tg
		if tg.Health != "up" {
			notUp = append(notUp, fmt.Sprintf("%s (%s %s)", tg.Labels["instance"], tg.Health, tg.LastError))
		}
	}
	sort.Strings(notUp)
	return instances, notUp
}

// startPrometheus writes the scrape configs into a configuration and runs
// a real Prometheus on it.
func startPrometheus(t *testing.T, name string, scrapeConfigs []any) string {
	t.Helper()
	return startPrometheusBin(t, name, requireTool(t, "prometheus"), scrapeConfigs)
}

// startPrometheusBin is startPrometheus with the Prometheus binary bin.
func startPrometheusBin(t *testing.T, name, bin string, scrapeConfigs []any) string {
	t.Helper()
	dir := t.TempDir()
	conf, err := yaml.Marshal(map[string]any{
		"global":         map[string]any{"scrape_interval": "2s", "evaluation_interval": "2s"},
		"scrape_configs": scrapeConfigs,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, dir, "prometheus.yml", conf)
	t.Logf("%s configuration:\n%s", name, conf)
	s := testutil.StartServer(t, name, bin, func(addr string) []string {
		return []string{
			"--config.file=" + path,
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
		}
	}, "/-/ready")
	return "http://" + s.Addr
}

// e2eValues shortens the scrape and discovery intervals so that a test sees
// several scrapes; everything else is the chart's default.
func e2eValues(mode string) map[string]any {
	return set("scrapeMode", mode,
		"serviceMonitor.interval", "2s", "serviceMonitor.scrapeTimeout", "2s",
		"serviceMonitor.internalInterval", "2s", "serviceMonitor.discoveryRefreshInterval", "5s")
}

// TestScrapeConfigE2E renders the per-project and per-workspace modes,
// translates their ScrapeConfigs (and the /internal/metrics ServiceMonitor)
// into plain scrape_configs, and runs them in a real Prometheus against the
// demo exporter: one target per demo project and per workspace, named after
// it, all up. Two more Prometheus servers stand for a Prometheus resource
// with spec.shards: 2, each with the operator's sharding rules: every
// project must be scraped by exactly one of them, and both must get some.
func TestScrapeConfigE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	requireTool(t, "prometheus")
	start := time.Now()
	exp := testutil.StartServer(t, "exporter", testutil.BuildExporter(t), func(addr string) []string {
		return []string{"--demo", "--web.listen-address=" + addr}
	}, "/-/healthy")

	projects := discovered(t, exp.Addr, "?per=project")
	workspaces := discovered(t, exp.Addr, "")
	if len(projects) < 2 || len(workspaces) < 2 {
		t.Fatalf("the demo exporter discovers %d projects and %d workspaces; it has more", len(projects), len(workspaces))
	}
	// Two accounts, each with a workspace media-prod: their targets must
	// be told apart.
	accounts := map[string]bool{}
	for w := range workspaces {
		a, ws, _ := strings.Cut(w, "/")
		if ws == "media-prod" {
			accounts[a] = true
		}
	}
	if len(accounts) < 2 {
		t.Fatalf("the demo exporter discovers the workspace media-prod in the accounts %v; it has it in two", accounts)
	}

	type job struct {
		pool, jobLabel string
		want           map[string]bool
	}
	var configs []any
	var jobs []job
	var perProjectSC *monitoringv1alpha1.ScrapeConfig
	var resolve func(string) string
	for _, mode := range []string{"perProject", "perWorkspace"} {
		r := render(t, e2eValues(mode))
		sc := only[*monitoringv1alpha1.ScrapeConfig](t, r)
		svc := only[*corev1.Service](t, r)
		svcAddr := svc.Name + "." + svc.Namespace + ".svc:" + strconv.Itoa(int(svc.Spec.Ports[0].Port))
		resolve = func(s string) string { return strings.ReplaceAll(s, svcAddr, exp.Addr) }
		// Two modes in one Prometheus: tell their ScrapeConfigs apart as two
		// releases would.
		sc.Name += "-" + strings.ToLower(mode)
		cfg := translateScrapeConfig(t, sc, resolve, 1, 0)
		configs = append(configs, cfg)
		want := projects
		if mode == "perWorkspace" {
			want = workspaces
		} else {
			perProjectSC = sc
			sm := only[*monitoringv1.ServiceMonitor](t, r)
			smCfg := translateServiceMonitor(t, sm, exp.Addr)
			configs = append(configs, smCfg)
			jobs = append(jobs, job{smCfg["job_name"].(string), jobOf(t, sm.Spec.Endpoints[0].RelabelConfigs), map[string]bool{sm.Name: true}})
		}
		jobs = append(jobs, job{cfg["job_name"].(string), *sc.Spec.JobName, want})
	}
	base := startPrometheus(t, "prometheus", configs)

	deadline := 90 * time.Second
	var last string
	ok := false
	for end := time.Now().Add(deadline); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		targets, err := activeTargets(base)
		if err != nil {
			last = err.Error()
			continue
		}
		var problems []string
		for _, j := range jobs {
			got, notUp := poolState(targets, j.pool)
			if len(got) != len(j.want) {
				problems = append(problems, fmt.Sprintf("%s: %d targets, want %d", j.pool, len(got), len(j.want)))
			}
			for inst := range j.want {
				if _, ok := got[inst]; !ok {
					problems = append(problems, fmt.Sprintf("%s: no target %s", j.pool, inst))
				}
			}
			if len(notUp) > 0 {
				problems = append(problems, fmt.Sprintf("%s: not up: %s", j.pool, strings.Join(notUp, ", ")))
			}
			for inst, tg := range got {
				if tg.Labels["job"] != j.jobLabel {
					problems = append(problems, fmt.Sprintf("%s %s: job %q, want %q", j.pool, inst, tg.Labels["job"], j.jobLabel))
				}
			}
		}
		if len(problems) == 0 {
			ok = true
			for _, j := range jobs {
				got, _ := poolState(targets, j.pool)
				for inst, tg := range got {
					if strings.Contains(j.pool, "scrapeConfig") && !strings.Contains(tg.ScrapeURL, "/probe?") {
						t.Errorf("%s %s is scraped at %s, not /probe", j.pool, inst, tg.ScrapeURL)
					}
				}
				t.Logf("%s: %d targets up, job %q", j.pool, len(got), j.jobLabel)
			}
			break
		}
		sort.Strings(problems)
		last = strings.Join(problems, "; ")
	}
	if !ok {
		t.Fatalf("targets not as expected after %s: %s", deadline, last)
	}

	// The operator's shards: the same per-project ScrapeConfig on shard 0
	// and shard 1 of 2.
	var shardBases []string
	for shard := 0; shard < 2; shard++ {
		cfg := translateScrapeConfig(t, perProjectSC, resolve, 2, shard)
		shardBases = append(shardBases, startPrometheus(t, fmt.Sprintf("prometheus shard %d", shard), []any{cfg}))
	}
	pool := "scrapeConfig/" + perProjectSC.Namespace + "/" + perProjectSC.Name
	ok = false
	var per [2]map[string]promTarget
	for end := time.Now().Add(deadline); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		var problems []string
		owners := map[string]int{}
		for i, b := range shardBases {
			targets, err := activeTargets(b)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			var notUp []string
			per[i], notUp = poolState(targets, pool)
			if len(notUp) > 0 {
				problems = append(problems, fmt.Sprintf("shard %d: not up: %s", i, strings.Join(notUp, ", ")))
			}
			for inst := range per[i] {
				owners[inst]++
			}
		}
		for p := range projects {
			if owners[p] != 1 {
				problems = append(problems, fmt.Sprintf("%s scraped by %d shards", p, owners[p]))
			}
		}
		if len(owners) != len(projects) {
			problems = append(problems, fmt.Sprintf("%d projects scraped, %d discovered", len(owners), len(projects)))
		}
		if len(problems) == 0 {
			ok = true
			break
		}
		sort.Strings(problems)
		last = strings.Join(problems, "; ")
	}
	if !ok {
		t.Fatalf("sharded targets not as expected after %s: %s", deadline, last)
	}
	for i := range per {
		if len(per[i]) == 0 {
			t.Errorf("shard %d scrapes no project: all targets hash alike (the __tmp_hash relabeling is missing?)", i)
		}
		t.Logf("shard %d: %d projects up", i, len(per[i]))
	}
	t.Logf("end-to-end: %d projects, %d workspaces, done in %s", len(projects), len(workspaces), time.Since(start).Round(time.Millisecond))
}
