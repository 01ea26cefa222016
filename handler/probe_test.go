package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Tests of /probe (one workspace or project, no process metrics) and
// /discovery (Prometheus HTTP service discovery).

// processPrefixes name the process-lifetime metrics /probe must leave out.
var processPrefixes = []string{"go_", "process_", "ncp_mediaintel_api_", "ncp_mediaintel_build_info",
	"ncp_mediaintel_scrapes_", "ncp_mediaintel_cache_requests_", "ncp_mediaintel_rate_limiter_"}

// selectText renders the series of fams whose labels include match, with
// their HELP and TYPE, as exposition text; volatile durations read 0.
func selectText(t testing.TB, fams map[string]*dto.MetricFamily, match map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		f := fams[name]
		out := &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, match) {
				continue
			}
			if name == "ncp_mediaintel_project_scrape_duration_seconds" || slices.Contains(timestamps, name) {
				m.Gauge.Value = new(float64) // volatile: differs between two scrapes
			}
			out.Metric = append(out.Metric, m)
		}
		if len(out.Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, out); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestProbeMatchesMetrics: /probe of a project (or a workspace) serves
// exactly that project's (workspace's) series of /metrics, and none of
// another target nor of the process.
func TestProbeMatchesMetrics(t *testing.T) {
	inv := mitest.Generate(21, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 3, AssetsPerProject: 40})
	e := newEnv(t, inv, envOpts{opts: handler.Options{Histograms: true}})
	r := e.fetch(context.Background(), "/metrics", "5")
	if r.status != 200 {
		t.Fatalf("/metrics: %d %v", r.status, r.err)
	}
	metrics := parseFamilies(t, r.body)
	for _, p := range processPrefixes[:4] {
		found := false
		for name := range metrics {
			found = found || strings.HasPrefix(name, p)
		}
		if !found {
			t.Fatalf("/metrics has no %s* metric; the check that /probe leaves them out would prove nothing", p)
		}
	}

	noProcess := func(t *testing.T, fams map[string]*dto.MetricFamily) {
		for name := range fams {
			for _, p := range processPrefixes {
				if strings.HasPrefix(name, p) {
					t.Errorf("/probe serves process metric %s", name)
				}
			}
		}
	}
	// onlyTarget: every series is the account's (up, scrape duration and
	// timeout, discovery, account_info) or belongs to the target.
	onlyTarget := func(t *testing.T, fams map[string]*dto.MetricFamily, match map[string]string) {
		for name, f := range fams {
			for _, m := range f.GetMetric() {
				l := labelsOf(m)
				if len(l) == 0 {
					if !slices.Contains([]string{"ncp_mediaintel_up", "ncp_mediaintel_scrape_duration_seconds", "ncp_mediaintel_scrape_timeout_seconds",
						"ncp_mediaintel_discovery_last_success_timestamp_seconds", "ncp_mediaintel_account_info"}, name) {
						t.Errorf("unexpected unlabelled series %s", name)
					}
					continue
				}
				for k, v := range match {
					if l[k] != v {
						t.Errorf("series %s%v is not of the target %v", name, l, match)
					}
				}
			}
		}
	}

	for _, w := range inv.Workspaces {
		t.Run(w.Name, func(t *testing.T) {
			r := e.fetch(context.Background(), "/probe?workspace="+w.Name, "5")
			if r.status != 200 {
				t.Fatalf("%d %v: %s", r.status, r.err, r.body)
			}
			probe := parseFamilies(t, r.body)
			match := map[string]string{"workspace": w.Name}
			want, got := selectText(t, metrics, match), selectText(t, probe, match)
			if got != want {
				t.Errorf("/probe?workspace=%s differs from its series in /metrics:\n%s", w.Name, lineDiff(want, got))
			}
			if v, _ := sampleValue(probe, "ncp_mediaintel_workspace_projects", match); v != 3 {
				t.Errorf("workspace_projects %v, want 3", v)
			}
			if up, _ := sampleValue(probe, "ncp_mediaintel_up", nil); up != 1 {
				t.Errorf("up %v", up)
			}
			onlyTarget(t, probe, match)
			noProcess(t, probe)
		})
		for _, p := range w.Projects {
			t.Run(w.Name+"/"+strconv.FormatInt(p.ID, 10), func(t *testing.T) {
				r := e.fetch(context.Background(), "/probe?workspace="+w.Name+"&project="+strconv.FormatInt(p.ID, 10), "5")
				if r.status != 200 {
					t.Fatalf("%d %v: %s", r.status, r.err, r.body)
				}
				probe := parseFamilies(t, r.body)
				match := projSel(w.Name, p.ID)
				want, got := selectText(t, metrics, match), selectText(t, probe, match)
				if got != want {
					t.Errorf("/probe of the project differs from its series in /metrics:\n%s", lineDiff(want, got))
				}
				if !strings.Contains(got, "ncp_mediaintel_assets{") || !strings.Contains(got, "ncp_mediaintel_asset_size_distribution_bytes_bucket{") {
					t.Errorf("project probe lacks asset series:\n%s", got)
				}
				for _, name := range []string{"ncp_mediaintel_workspace_scrape_success", "ncp_mediaintel_workspace_projects", "ncp_mediaintel_workspace_monthly_analyses"} {
					if _, ok := probe[name]; ok {
						t.Errorf("project probe serves workspace series %s", name)
					}
				}
				onlyTarget(t, probe, match)
				noProcess(t, probe)
			})
		}
	}
	// One pass for /metrics, then one per probe: 2 workspace probes and 6
	// project probes, each project listed once per probe that covers it.
	eachProject(inv, func(ws string, p *mitest.Project) {
		if got := e.sim.RequestsFor(ws, p.ID); got != 3 {
			t.Errorf("%s/%d listed %d times, want 3 (/metrics, workspace probe, project probe)", ws, p.ID, got)
		}
	})
}

// TestProbeDeadline: the probe's deadline comes from the scrape timeout
// header minus the offset, or the default without the header.
func TestProbeDeadline(t *testing.T) {
	inv := mitest.Generate(22, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 2, AssetsPerProject: 5})
	w, hung := inv.Workspaces[0], inv.Workspaces[0].Projects[1]
	e := newEnv(t, inv, envOpts{opts: handler.Options{Timeout: 700 * time.Millisecond, TimeoutOffset: 100 * time.Millisecond}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: hung.ID}, mitest.Fault{Hang: true})
	path := "/probe?workspace=" + w.Name + "&project=" + strconv.FormatInt(hung.ID, 10)
	for _, tc := range []struct {
		header string
		want   float64
	}{
		{"0.6", 0.5}, // header minus the offset
		{"", 0.7},    // the default
		{"0.15", 0.05},
	} {
		t.Run("header="+tc.header, func(t *testing.T) {
			r := e.fetch(context.Background(), path, tc.header)
			if r.status != 200 {
				t.Fatalf("%d %v: %s", r.status, r.err, r.body)
			}
			d := time.Duration(tc.want * float64(time.Second))
			if r.took < d-20*time.Millisecond || r.took > d+1500*time.Millisecond {
				t.Errorf("answered after %v, want at the %v deadline", r.took, d)
			}
			fams := parseFamilies(t, r.body)
			if got, _ := sampleValue(fams, "ncp_mediaintel_scrape_timeout_seconds", nil); got != tc.want {
				t.Errorf("scrape_timeout_seconds %v, want %v", got, tc.want)
			}
			if ok, present := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(w.Name, hung.ID)); !present || ok != 0 {
				t.Errorf("hung project: project_scrape_success %v (present %v), want 0", ok, present)
			}
		})
	}
	for _, bad := range []string{"abc", "0", "-1", "NaN"} {
		if r := e.fetch(context.Background(), path, bad); r.status != 400 || !strings.Contains(r.body, "X-Prometheus-Scrape-Timeout-Seconds") {
			t.Errorf("header %q: %d %q, want 400 naming the header", bad, r.status, r.body)
		}
	}
}

// TestParseTarget: the targets /probe accepts; an empty project (an HTML
// form's empty field) is none, the whole workspace.
func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  handler.Target
	}{
		{"workspace=ws-a", handler.Target{Scope: scrape.Scope{Workspace: "ws-a"}}},
		{"workspace=ws-a&project=12", handler.Target{Scope: scrape.Scope{Workspace: "ws-a", ProjectID: 12}}},
		{"workspace=ws-a&project=", handler.Target{Scope: scrape.Scope{Workspace: "ws-a"}}},
		{"account=lab&workspace=ws-a&project=&debug=true", handler.Target{Account: "lab", Scope: scrape.Scope{Workspace: "ws-a"}}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := handler.ParseTarget(q); err != nil || got != tc.want {
			t.Errorf("ParseTarget(%s) = %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
}

// TestProbeValidation: bad targets are refused with 400 and a message,
// without a request to the API unless the target had to be looked up.
func TestProbeValidation(t *testing.T) {
	inv := mitest.Generate(23, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 2, AssetsPerProject: 3})
	ws, other := inv.Workspaces[0].Name, inv.Workspaces[1].Name
	pid := strconv.FormatInt(inv.Workspaces[0].Projects[0].ID, 10)
	otherPID := strconv.FormatInt(inv.Workspaces[1].Projects[0].ID, 10)
	for _, tc := range []struct {
		name, query, msg string
		cfg              scrape.Config
		lookup           bool // the API is asked before the answer
	}{
		{"no parameters", "", "exactly one workspace", scrape.Config{}, false},
		{"no workspace", "project=" + pid, "exactly one workspace", scrape.Config{}, false},
		{"empty workspace", "workspace=", "workspace \"\"", scrape.Config{}, false},
		{"upper case", "workspace=UPPER", `workspace "UPPER"`, scrape.Config{}, false},
		{"too short", "workspace=a", `workspace "a"`, scrape.Config{}, false},
		{"path", "workspace=" + url.QueryEscape("../x"), `workspace "../x"`, scrape.Config{}, false},
		{"url", "workspace=" + url.QueryEscape("http://evil"), `workspace "http://evil"`, scrape.Config{}, false},
		{"not an integer", "workspace=" + ws + "&project=abc", `project "abc"`, scrape.Config{}, false},
		{"fraction", "workspace=" + ws + "&project=1.5", `project "1.5"`, scrape.Config{}, false},
		{"negative", "workspace=" + ws + "&project=-5", `project "-5"`, scrape.Config{}, false},
		{"zero", "workspace=" + ws + "&project=0", `project "0"`, scrape.Config{}, false},
		{"extra parameter", "workspace=" + ws + "&target=x", `unknown parameter "target"`, scrape.Config{}, false},
		{"module parameter", "workspace=" + ws + "&module=mi", `unknown parameter "module"`, scrape.Config{}, false},
		{"repeated workspace", "workspace=" + ws + "&workspace=" + other, "exactly one workspace", scrape.Config{}, false},
		{"repeated project", "workspace=" + ws + "&project=" + pid + "&project=" + pid, "at most one account and one project", scrape.Config{}, false},
		{"not configured", "workspace=" + other, "not among the workspaces configured for account \"default\"", scrape.Config{Workspaces: []string{ws}}, false},
		{"unknown workspace", "workspace=no-such-workspace", "unknown target", scrape.Config{}, true},
		{"unknown project", "workspace=" + ws + "&project=999999", "unknown target", scrape.Config{}, true},
		{"project of another workspace", "workspace=" + ws + "&project=" + otherPID, "unknown target", scrape.Config{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, inv, envOpts{cfg: tc.cfg})
			r := e.fetch(context.Background(), "/probe?"+tc.query, "5")
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.msg) {
				t.Errorf("%d %q, want 400 with %q", r.status, r.body, tc.msg)
			}
			if asked := e.sim.TotalRequests() > 0; asked != tc.lookup {
				t.Errorf("%d API requests; want some: %v", e.sim.TotalRequests(), tc.lookup)
			}
		})
	}
}

// sdTargetGroup is a Prometheus HTTP SD target group, decoded strictly.
type sdTargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// discoveryInventory lists workspaces and project IDs out of order, with
// IDs whose string order differs from their numeric order.
func discoveryInventory() *mitest.Inventory {
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "ws-b", Projects: []*mitest.Project{{ID: 100, Name: "hundred"}, {ID: 9, Name: "nine"}, {ID: 10, Name: "ten"}, {ID: 2, Name: "two", IsBase: true}}},
		{Name: "ws-a", Projects: []*mitest.Project{{ID: 30, Name: "thirty"}, {ID: 7, Name: "seven", IsBase: true}}},
	}}
}

// wsGroup and projectGroup are target groups of the tests' one account.
func wsGroup(host, ws string) sdTargetGroup {
	return sdTargetGroup{Targets: []string{host}, Labels: map[string]string{"__param_account": "default", "account": "default", "__param_workspace": ws, "workspace": ws}}
}

func projectGroup(host, ws string, id int64, name string) sdTargetGroup {
	p := strconv.FormatInt(id, 10)
	return sdTargetGroup{Targets: []string{host}, Labels: map[string]string{"__param_account": "default", "account": "default",
		"__param_workspace": ws, "__param_project": p, "workspace": ws, "project_id": p, "project_name": name}}
}

func (e *env) discover(t testing.TB, host, query string) (int, []sdTargetGroup, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/discovery"+query, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, nil, string(b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	var groups []sdTargetGroup
	if err := dec.Decode(&groups); err != nil {
		t.Fatalf("not Prometheus HTTP SD JSON: %v", err)
	}
	if groups == nil {
		t.Errorf("answer is null, want a JSON array")
	}
	for _, g := range groups {
		if len(g.Targets) == 0 {
			t.Errorf("group without targets: %v", g)
		}
		for k, v := range g.Labels {
			if !model.LegacyValidation.IsValidLabelName(k) || !model.LabelValue(v).IsValid() {
				t.Errorf("invalid label %q=%q", k, v)
			}
		}
	}
	return resp.StatusCode, groups, ""
}

// TestDiscovery: target groups per workspace or per project, sorted by
// workspace then numeric project ID, labelled for relabelling into
// /probe, with the exporter's address as the request named it.
func TestDiscovery(t *testing.T) {
	const host = "mi-exporter.example:9116"
	perWS := []sdTargetGroup{wsGroup(host, "ws-a"), wsGroup(host, "ws-b")}
	all := []sdTargetGroup{
		projectGroup(host, "ws-a", 7, "seven"), projectGroup(host, "ws-a", 30, "thirty"),
		projectGroup(host, "ws-b", 2, "two"), projectGroup(host, "ws-b", 9, "nine"),
		projectGroup(host, "ws-b", 10, "ten"), projectGroup(host, "ws-b", 100, "hundred"),
	}
	for _, tc := range []struct {
		name, query string
		cfg         scrape.Config
		want        []sdTargetGroup
	}{
		{"default", "", scrape.Config{}, perWS},
		{"per workspace", "?per=workspace", scrape.Config{}, perWS},
		{"per project", "?per=project", scrape.Config{}, all},
		{"include", "?per=project", scrape.Config{ProjectInclude: regexp.MustCompile(`^(?:9|10|seven|hundred)$`)},
			[]sdTargetGroup{all[0], all[3], all[4], all[5]}},
		{"include and exclude", "?per=project", scrape.Config{ProjectInclude: regexp.MustCompile(`^(?:9|10|seven|hundred)$`), ProjectExclude: regexp.MustCompile(`^(?:100)$`)},
			[]sdTargetGroup{all[0], all[3], all[4]}},
		{"exclude everything of a workspace", "?per=project", scrape.Config{ProjectExclude: regexp.MustCompile(`^(?:thirty|7)$`)}, all[2:]},
		{"configured workspaces", "", scrape.Config{Workspaces: []string{"ws-b"}}, perWS[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, discoveryInventory(), envOpts{cfg: tc.cfg})
			status, groups, body := e.discover(t, host, tc.query)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if !reflect.DeepEqual(groups, tc.want) {
				t.Errorf("groups:\n got %v\nwant %v", groups, tc.want)
			}
			// Discovery lists; it never reads an asset.
			if n := e.sim.Requests(client.OpListAssets); n != 0 {
				t.Errorf("%d asset-list requests for discovery", n)
			}
		})
	}

	t.Run("target follows the Host", func(t *testing.T) {
		e := newEnv(t, discoveryInventory(), envOpts{})
		for _, h := range []string{"10.0.0.7:9116", "[::1]:9116", "exporter-2.internal:80"} {
			_, groups, _ := e.discover(t, h, "")
			if len(groups) != 2 || groups[0].Targets[0] != h || groups[1].Targets[0] != h {
				t.Errorf("Host %s: groups %v", h, groups)
			}
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		e := newEnv(t, discoveryInventory(), envOpts{})
		for _, q := range []string{"?per=host", "?per=Project", "?per=project&per=project", "?per=workspace&per=project", "?workspace=ws-a", "?per=project&x=1"} {
			status, _, body := e.discover(t, host, q)
			if status != http.StatusBadRequest || !strings.Contains(body, "want") {
				t.Errorf("%s: %d %q, want 400 with a message", q, status, body)
			}
		}
		if n := e.sim.TotalRequests(); n != 0 {
			t.Errorf("%d API requests for bad discovery requests", n)
		}
	})

	t.Run("API down", func(t *testing.T) {
		e := newEnv(t, discoveryInventory(), envOpts{})
		e.sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
		if status, _, body := e.discover(t, host, ""); status != http.StatusBadGateway || !strings.Contains(body, "discovery failed") {
			t.Errorf("%d %q, want 502 discovery failed", status, body)
		}
	})
}
