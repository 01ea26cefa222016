package dashboards

import (
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

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

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
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != dashboard.VariableTypeDatasource || v.Query == nil || v.Query.String == nil || *v.Query.String != "prometheus" {
		t.Errorf("want a datasource variable of type prometheus, got %+v", v)
	}
	for name, query := range map[string]string{
		"workspace": `label_values(ncp_mediaintel_project_info, workspace)`,
		"project":   `label_values(ncp_mediaintel_project_info{workspace=~"$workspace"}, project_id)`,
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
	wantRows := []string{"Overview", "By format", "Growth", "Projects", "Usage", "Asset health", "Analysis pipeline", "Exporter health", "Failures"}
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
	exp := testutil.StartExporter(t, bin, "--demo")
	exported := testutil.MetricNames(exp.Get(t, "/metrics"))
	for n := range failing.MetricNames(t, bin) {
		exported[n] = true
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
