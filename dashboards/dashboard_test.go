package dashboards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/failing"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuild()
	os.Exit(code)
}

// testVars are the values the tests give Grafana's variables: every
// workspace and project, and plausible intervals.
var testVars = map[string]string{
	"job":             ".*",
	"instance":        ".*",
	"account":         ".*",
	"workspace":       ".*",
	"project":         ".*",
	"datasource":      "prometheus",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__interval_ms":   "15000",
}

func committed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(FileName)
	if err != nil {
		t.Fatalf("reading the committed dashboard: %v (run go -C dashboards generate from the repository root)", err)
	}
	return b
}

// TestGeneratedFileIsCurrent: the committed JSON is exactly what the code
// generates.
func TestGeneratedFileIsCurrent(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if got := committed(t); !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the code generates (%d vs %d bytes): run go -C dashboards generate from the repository root and commit the result", FileName, len(got), len(want))
	}
}

// TestDashboardModel decodes the JSON strictly into the SDK's dashboard model
// and checks what a user of the dashboard relies on.
func TestDashboardModel(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw := committed(t)
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("decoding into the SDK's dashboard model: %v", err)
	}
	// The SDK's strict decoder is unusable in v0.0.22 (it returns an empty
	// error list as a non-nil error and drops every panel), so strictness is
	// checked by a round trip instead: encoding the decoded model must give
	// back the same JSON, i.e. the model understood every field.
	again, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var before, after any
	if err := json.Unmarshal(raw, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &after); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the dashboard does not survive a round trip through the SDK's model: some field is unknown to it")
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: want a current Grafana JSON model (>= 39)", d.SchemaVersion)
	}
	if d.Uid == nil || *d.Uid != UID {
		t.Errorf("uid %v, want %s", d.Uid, UID)
	}

	vars := map[string]dashboard.VariableModel{}
	var order []string
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		order = append(order, v.Name)
	}
	// Each variable narrows the next: Grafana refreshes them in this order.
	if want := []string{"datasource", "job", "instance", "account", "workspace", "project"}; !slices.Equal(order, want) {
		t.Errorf("variables %q, want %q", order, want)
	}
	if v, ok := vars["datasource"]; !ok || v.Type != dashboard.VariableTypeDatasource || v.Query == nil || v.Query.String == nil || *v.Query.String != "prometheus" {
		t.Errorf("want a datasource variable of type prometheus, got %+v", v)
	}
	for name, query := range map[string]string{
		"job":       `label_values({__name__=~"ncp_mediaintel_up|ncp_mediaintel_build_info"}, job)`,
		"instance":  `label_values({__name__=~"ncp_mediaintel_up|ncp_mediaintel_build_info", job=~"$job"}, instance)`,
		"account":   `label_values({__name__=~"ncp_mediaintel_up|ncp_mediaintel_api_requests_total", job=~"$job", instance=~"$instance"}, account)`,
		"workspace": `label_values(ncp_mediaintel_project_info{job=~"$job", instance=~"$instance", account=~"$account"}, workspace)`,
		"project":   `label_values(ncp_mediaintel_project_info{job=~"$job", instance=~"$instance", account=~"$account", workspace=~"$workspace"}, project_id)`,
	} {
		v, ok := vars[name]
		switch {
		case !ok:
			t.Errorf("no %s variable", name)
		case v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.String == nil || *v.Query.String != query:
			t.Errorf("variable %s: want a query variable %q, got %+v", name, query, v)
		case v.Multi == nil || !*v.Multi || v.IncludeAll == nil || !*v.IncludeAll:
			t.Errorf("variable %s: want multi-value with All", name)
		case v.Datasource == nil || v.Datasource.Uid == nil || *v.Datasource.Uid != "${datasource}":
			t.Errorf("variable %s: not on ${datasource}", name)
		}
	}

	var rows []string
	titles := map[string]bool{}
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			rows = append(rows, *p.RowPanel.Title)
			continue
		}
		panel := p.Panel
		title := ""
		if panel.Title != nil {
			title = *panel.Title
		}
		if title == "" || titles[title] {
			t.Errorf("panel %q: titles must be present and unique", title)
		}
		titles[title] = true
		if panel.Datasource == nil || panel.Datasource.Uid == nil || *panel.Datasource.Uid != "${datasource}" {
			t.Errorf("panel %q: datasource is not ${datasource}", title)
		}
		if panel.FieldConfig == nil || panel.FieldConfig.Defaults.Unit == nil || *panel.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q has no unit", title)
		}
		if panel.Description == nil || *panel.Description == "" {
			t.Errorf("panel %q has no description", title)
		}
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
	}
	wantRows := []string{"Overview", "By format", "Growth", "Projects", "Usage", "Asset health", "Analysis pipeline", "Exporter health", "Failures", "Accounts", "Data age and refresh"}
	if strings.Join(rows, "|") != strings.Join(wantRows, "|") {
		t.Errorf("rows %q, want %q", rows, wantRows)
	}
}

// TestQueriesParse parses every PromQL expression of the dashboard,
// variables substituted, with Prometheus' own parser, and checks each is an
// instant vector or a scalar. (deploy's end-to-end test runs them against
// real Prometheus servers, 2.x and 3.x.)
func TestQueriesParse(t *testing.T) {
	queries, err := Queries(committed(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 30 {
		t.Fatalf("only %d queries found; the walk over the dashboard is broken", len(queries))
	}
	for _, q := range queries {
		if _, err := parseQuery(q.Expr); err != nil {
			t.Errorf("%s: %v\n    %s", q.Where, err, q.Expr)
		}
	}
}

// TestMetricsExist checks every metric name the dashboard's queries use
// against a real scrape of the exporter in --demo mode, and, for the
// failure series that a healthy exporter does not export, of an exporter
// whose API fails.
func TestMetricsExist(t *testing.T) {
	queries, err := Queries(committed(t))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string][]string{}
	for _, q := range queries {
		names, err := metricNames(q.Expr)
		if err != nil {
			t.Fatalf("%s: %v", q.Where, err)
		}
		for _, m := range names {
			used[m] = append(used[m], q.Where)
		}
	}
	if len(used) < 15 {
		t.Fatalf("only %d metric names found in the queries; the extraction is broken: %v", len(used), used)
	}

	bin := testutil.BuildExporter(t)
	exported := map[string]bool{}
	// The names, and which of them carry the account label: on-scrape and
	// background mode (the refresh metrics), with two accounts (--demo).
	withAccount, withoutAccount := map[string]bool{}, map[string]bool{}
	for _, args := range [][]string{{"--demo"}, {"--demo", "--scrape.mode=background"}} {
		exp := testutil.StartExporter(t, bin, args...)
		for _, path := range []string{"/metrics", "/internal/metrics"} {
			body := exp.Get(t, path)
			for n := range testutil.MetricNames(body) {
				exported[n] = true
			}
			accountLabels(body, withAccount, withoutAccount)
		}
		exp.Stop(t)
	}
	for n := range failing.MetricNames(t, bin) {
		exported[n] = true
	}
	for n := range serverRoleMetricNames(t, bin) {
		exported[n] = true
	}
	// ExporterOnly names exactly the exporter's metrics without an account
	// label (those the exporter exports in these modes; the configuration
	// reload metrics need --config.file).
	for n := range withoutAccount {
		if strings.HasPrefix(n, "ncp_mediaintel_") && !slices.Contains(ExporterOnly, n) {
			t.Errorf("%s has no account label, and ExporterOnly does not list it: its queries would not find it once an account is picked", n)
		}
	}
	for _, n := range ExporterOnly {
		if withAccount[n] {
			t.Errorf("ExporterOnly lists %s, which has an account label: select the account", n)
		}
	}
	// The recording rules the dashboard reads are Prometheus', from the
	// rules file the deployment loads beside the alerts.
	rules, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy", "prometheus", "recording.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*- record: (\S+)`).FindAllStringSubmatch(string(rules), -1) {
		exported[m[1]] = true
	}
	for _, problem := range unexported(used, exported) {
		t.Error(problem)
	}
	if t.Failed() {
		t.Logf("the exporter exports: %s", strings.Join(slices.Sorted(maps.Keys(exported)), " "))
	}
}

// unexported says, sorted, which of the used metrics (name -> where) the
// exporter does not export.
func unexported(used map[string][]string, exported map[string]bool) []string {
	var problems []string
	for _, n := range slices.Sorted(maps.Keys(used)) {
		if !exported[n] {
			problems = append(problems, fmt.Sprintf("metric %s is not in the exporter's /metrics (used by %s)", n, strings.Join(used[n], "; ")))
		}
	}
	return problems
}

// TestUnexported: a dashboard query on a metric the exporter lacks (a
// rename, a typo) is reported.
func TestUnexported(t *testing.T) {
	used := map[string][]string{"ncp_mediaintel_up": {"Overview/A"}, "ncp_mediaintel_assets_totl": {"Growth/B", "Projects/A"}}
	got := unexported(used, map[string]bool{"ncp_mediaintel_up": true, "ncp_mediaintel_assets": true})
	want := []string{"metric ncp_mediaintel_assets_totl is not in the exporter's /metrics (used by Growth/B; Projects/A)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unexported = %q, want %q", got, want)
	}
}

// TestQueryHelpers pins the query walk and the variable expansion.
func TestQueryHelpers(t *testing.T) {
	got := ExpandVariables(`rate(x{a=~"$workspace",b="${project}"}[$__rate_interval]) [$__range] $__range_s [[workspace]]`, testVars)
	want := `rate(x{a=~".*",b=".*"}[1m]) [1h] 3600 .*`
	if got != want {
		t.Errorf("ExpandVariables = %q, want %q", got, want)
	}
	qs, err := Queries([]byte(`{"panels":[{"title":"r","type":"row","panels":[{"title":"p","targets":[{"refId":"A","expr":"up","instant":true,"range":false}]}]}],
		"templating":{"list":[{"name":"v","type":"query","query":{"query":"label_values(up{job=\"x\"}, instance)"}},{"name":"ds","type":"datasource","query":"prometheus"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Expr != `up{job="x"}` || qs[1].Expr != "up" || !qs[1].Instant {
		t.Errorf("Queries = %+v", qs)
	}
	if _, err := Queries([]byte(`{"templating":{"list":[{"name":"v","type":"query","query":"query_result(up)"}]}}`)); err == nil {
		t.Error("a variable query other than label_values should be reported")
	}
}

// accountLabels sorts the sample names of an exposition into those whose
// samples carry an account label and those whose samples do not.
func accountLabels(exposition string, with, without map[string]bool) {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name, rest = name[:i], ""
		}
		name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		labels, _, _ := strings.Cut(rest, "}")
		if strings.HasPrefix(labels, `account="`) || strings.Contains(labels, `,account="`) {
			with[name] = true
		} else {
			without[name] = true
		}
	}
}

// TestQuerySelectors: every selector of an exporter metric (or of a
// recording rule of it) selects the job, the instance and the account
// variables (the job and instance only for ExporterOnly metrics), and every
// grouping or join that keeps the workspace keeps the account: two
// exporters, or two accounts with a workspace of the same name, never add
// up unpicked. The variables chain: each selects those before it.
func TestQuerySelectors(t *testing.T) {
	queries, err := Queries(committed(t))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, q := range queries {
		p, err := selectorProblems(q)
		if err != nil {
			t.Fatalf("%s: %v", q.Where, err)
		}
		problems = append(problems, p...)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestSelectorProblems(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want int
	}{
		{Query{Where: "p", Expr: `sum(ncp_mediaintel_assets{job=~"$job", instance=~"$instance", account=~"$account"})`}, 0},
		{Query{Where: "p", Expr: `sum(ncp_mediaintel_assets{job=~"$job", account=~"$account"})`}, 1},
		{Query{Where: "p", Expr: `sum(ncp_mediaintel_assets)`}, 3},
		{Query{Where: "p", Expr: `sum by (workspace) (ncp_mediaintel_assets{job=~"$job", instance=~"$instance", account=~"$account"})`}, 1},
		{Query{Where: "p", Expr: `a{job=~"$job", instance=~"$instance", account=~"$account"} * on (workspace) group_left b{job=~"$job", instance=~"$instance", account=~"$account"}`}, 1},
		{Query{Where: "p", Expr: `max(ncp_mediaintel_build_info{job=~"$job", instance=~"$instance"})`}, 0},
		{Query{Where: "p", Expr: `max(ncp_mediaintel_build_info{job=~"$job", instance=~"$instance", account=~"$account"})`}, 1},
		{Query{Where: "p", Expr: `max(up{job="x"})`}, 0},
		{Query{Where: "variable job", Expr: `ncp_mediaintel_up`}, 0},
		{Query{Where: "variable instance", Expr: `ncp_mediaintel_up`}, 1},
		{Query{Where: "variable instance", Expr: `ncp_mediaintel_up{job=~"$job"}`}, 0},
		{Query{Where: "variable project", Expr: `ncp_mediaintel_project_info{job=~"$job", instance=~"$instance", account=~"$account"}`}, 1},
	} {
		got, err := selectorProblems(tc.q)
		if err != nil || len(got) != tc.want {
			t.Errorf("selectorProblems(%+v) = %q, %v; want %d problems", tc.q, got, err, tc.want)
		}
	}
}

// serverRoleMetricNames returns the metric names the built exporter bin
// exports for an account whose key is the server role's temporary one
// (credentials_expiry_timestamp_seconds is only for those): bin reads the
// key from a test double of NCP's metadata service, and the simulator
// accepts it.
func serverRoleMetricNames(t *testing.T, bin string) map[string]bool {
	t.Helper()
	sim := mitest.NewServer(mitest.Generate(3, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 5}))
	t.Cleanup(sim.Close)
	md := testutil.StartMetadataServer(t, testutil.MetadataOptions{Issue: func(ak, sk string, expires time.Time) {
		sim.Account(mitest.DefaultAccessKey).AddKey(ak, sk, expires)
	}})
	conf := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(conf, []byte("accounts:\n  - name: on-vm\n    server_role: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "NCLOUD_METADATA_API_ENDPOINT="+md.URL)
	exp := testutil.StartExporterWith(t, bin, testutil.ExporterOptions{Env: env}, "--config.file="+conf, "--mi.api-url="+sim.URL)
	names := testutil.MetricNames(exp.Get(t, "/metrics"))
	if !names["ncp_mediaintel_credentials_expiry_timestamp_seconds"] {
		t.Errorf("an account of the server role has no ncp_mediaintel_credentials_expiry_timestamp_seconds:\n%s", exp.Log())
	}
	return names
}
