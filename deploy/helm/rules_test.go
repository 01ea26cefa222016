package helm

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"sigs.k8s.io/yaml"
)

// ruleGroups returns the raw spec.groups of the rendered PrometheusRule, as
// the operator hands them to Prometheus.
func ruleGroups(t *testing.T, vals map[string]any) []any {
	t.Helper()
	r := render(t, vals)
	pr := only[*monitoringv1.PrometheusRule](t, r)
	for _, o := range r.Objects {
		if o.Typed != pr {
			continue
		}
		var raw struct {
			Spec struct {
				Groups []any `json:"groups"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(o.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		return raw.Spec.Groups
	}
	t.Fatal("unreachable")
	return nil
}

// sourceGroups reads the groups of deploy/prometheus/recording.yml and
// alerts.yml, in that order.
func sourceGroups(t *testing.T) []any {
	t.Helper()
	var groups []any
	for _, f := range []string{"recording.yml", "alerts.yml"} {
		var file struct {
			Groups []any `json:"groups"`
		}
		if err := yaml.Unmarshal(readFile(t, filepath.Join(testutil.RepoRoot(t), "deploy", "prometheus", f)), &file); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(file.Groups) == 0 {
			t.Fatalf("%s has no groups", f)
		}
		groups = append(groups, file.Groups...)
	}
	return groups
}

// sourceJobMatcher is the job matcher of deploy/prometheus/alerts.yml, which
// the chart rewrites to its own job names.
const sourceJobMatcher = `job=~"mediaintel.*"`

// chartJobMatcher is the matcher the chart should write for the job names
// of its values: exactly those names, quoted as regular expression and as
// PromQL string (Go's rules are PromQL's).
func chartJobMatcher(vals map[string]any) string {
	v := merge(set("serviceMonitor.jobName", "mediaintel", "serviceMonitor.probeJobName", "mediaintel_probe",
		"serviceMonitor.internalJobName", "mediaintel_exporter"), vals)
	sm := v["serviceMonitor"].(map[string]any)
	var names []string
	for _, k := range []string{"jobName", "probeJobName", "internalJobName"} {
		if n := regexp.QuoteMeta(sm[k].(string)); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return "job=~" + strconv.Quote(strings.Join(names, "|"))
}

// expectedGroups is what the PrometheusRule should hold for the values, by
// the chart's README: the rule files' groups, with the job matcher of every
// expression made the chart's, and for alerts: those of
// prometheusRule.disabled left out (and a group left empty), the "for" and
// severity of prometheusRule.alertOverrides, additionalRuleLabels and
// additionalRuleAnnotations added where the alert has no such key, and the
// runbook_url anchors on runbookBaseURL.
func expectedGroups(t *testing.T, vals map[string]any) []any {
	t.Helper()
	pr, _ := vals["prometheusRule"].(map[string]any)
	get := func(k string) map[string]any { m, _ := pr[k].(map[string]any); return m }
	base := "" // the default: the rule files' own URLs
	if b, ok := pr["runbookBaseURL"].(string); ok {
		base = b
	}
	matcher := chartJobMatcher(vals)
	var out []any
	for _, g := range sourceGroups(t) {
		group := g.(map[string]any)
		var rules []any
		for _, r := range group["rules"].([]any) {
			rule := r.(map[string]any)
			rule["expr"] = strings.ReplaceAll(rule["expr"].(string), sourceJobMatcher, matcher)
			name, _ := rule["alert"].(string)
			if name == "" {
				rules = append(rules, rule)
				continue
			}
			if get("disabled")[name] == true {
				continue
			}
			labels, _ := rule["labels"].(map[string]any)
			annotations, _ := rule["annotations"].(map[string]any)
			for k, v := range get("additionalRuleLabels") {
				if _, own := labels[k]; !own {
					labels[k] = v
				}
			}
			for k, v := range get("additionalRuleAnnotations") {
				if _, own := annotations[k]; !own {
					annotations[k] = v
				}
			}
			if o, ok := get("alertOverrides")[name].(map[string]any); ok {
				if f, ok := o["for"]; ok {
					rule["for"] = f
				}
				if sev, ok := o["severity"]; ok {
					labels["severity"] = sev
				}
			}
			if u, ok := annotations["runbook_url"].(string); ok && base != "" {
				_, anchor, _ := strings.Cut(u, "#")
				annotations["runbook_url"] = base + "#" + anchor
			}
			rules = append(rules, rule)
		}
		if len(rules) > 0 {
			group["rules"] = rules
			out = append(out, group)
		}
	}
	return out
}

// TestPrometheusRuleGroups checks that the PrometheusRule holds the groups
// of recording.yml and alerts.yml, every field of every rule, as the values
// change them (expectedGroups): with the default values the only change is
// the job matcher.
func TestPrometheusRuleGroups(t *testing.T) {
	overrides := set(
		"serviceMonitor.jobName", "media-exporter", "serviceMonitor.probeJobName", "media.probe",
		"prometheusRule.runbookBaseURL", "https://wiki.example.com/mediaintel/runbook",
		"prometheusRule.disabled", map[string]any{"MediaIntelOutOfSpecAssetsAppeared": true, "MediaIntelAnalysesFailing": false},
		"prometheusRule.alertOverrides", map[string]any{
			"MediaIntelProjectScrapeFailing": map[string]any{"for": "30m", "severity": "critical"},
			"MediaIntelExporterDown":         map[string]any{"for": "10m"},
		},
		"prometheusRule.additionalRuleLabels", map[string]any{"team": "media", "severity": "info"},
		"prometheusRule.additionalRuleAnnotations", map[string]any{"dashboard": "https://grafana.example.com/d/ncp-mediaintel", "summary": "not this"},
	)
	for _, c := range []renderCase{
		{"default", nil},
		{"ci/all-values.yaml", valuesFile(t, "all-values.yaml")},
		{"overrides", overrides},
		{"runbook on main", set("prometheusRule.runbookBaseURL", "https://github.com/mediaintel/mediaintel_exporter/blob/main/docs/runbook.md")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want := ruleGroups(t, c.vals), expectedGroups(t, c.vals)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("the PrometheusRule's groups differ from recording.yml + alerts.yml as the values change them:\ngot  %.3000s\nwant %.3000s", g, w)
			}
			rules := 0
			for _, g := range got {
				rules += len(g.(map[string]any)["rules"].([]any))
			}
			t.Logf("%d groups, %d rules", len(got), rules)
		})
	}
	t.Run("labels", func(t *testing.T) {
		r := render(t, set("prometheusRule.additionalLabels", map[string]any{"release": "kube-prometheus-stack"}, "prometheusRule.namespace", "monitoring"))
		pr := only[*monitoringv1.PrometheusRule](t, r)
		if pr.Labels["release"] != "kube-prometheus-stack" || pr.Namespace != "monitoring" {
			t.Errorf("PrometheusRule %s/%s labels %v: want release=kube-prometheus-stack in monitoring", pr.Namespace, pr.Name, pr.Labels)
		}
	})
}

// alertRule finds an alerting rule of the PrometheusRule by name.
func alertRule(groups []any, name string) map[string]any {
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["alert"] == name {
				return rule
			}
		}
	}
	return nil
}

// TestPrometheusRuleValues renders the chart with alerts disabled (one of
// a group, and a whole group), "for" and severity overridden, extra labels
// and annotations and another runbook, checks the rules that come out one
// by one, and has promtool check them.
func TestPrometheusRuleValues(t *testing.T) {
	disabled := map[string]any{"MediaIntelOutOfSpecAssetsAppeared": true}
	for _, n := range groupAlertNames(t, "mediaintel.pipeline") {
		disabled[n] = true
	}
	if len(disabled) < 5 {
		t.Fatalf("the group mediaintel.pipeline has %d alerts; the test needs a group to disable whole", len(disabled)-1)
	}
	groups := ruleGroups(t, set(
		"prometheusRule.disabled", disabled,
		"prometheusRule.alertOverrides", map[string]any{"MediaIntelProjectScrapeFailing": map[string]any{"for": "30m", "severity": "critical"}},
		"prometheusRule.additionalRuleLabels", map[string]any{"team": "media", "severity": "info"},
		"prometheusRule.additionalRuleAnnotations", map[string]any{"dashboard": "https://grafana.example.com/d/ncp-mediaintel", "summary": "not this"},
		"prometheusRule.runbookBaseURL", "https://wiki.example.com/mediaintel/runbook",
	))
	for _, g := range groups {
		if name := g.(map[string]any)["name"]; name == "mediaintel.pipeline" {
			t.Errorf("group %s is still there with every alert of it disabled", name)
		}
	}
	for name := range disabled {
		if alertRule(groups, name) != nil {
			t.Errorf("%s is disabled but still there", name)
		}
	}
	if alertRule(groups, "MediaIntelWorkspaceNearProjectLimit") == nil {
		t.Error("disabling MediaIntelOutOfSpecAssetsAppeared dropped the rest of its group")
	}

	p := alertRule(groups, "MediaIntelProjectScrapeFailing")
	if p == nil {
		t.Fatal("MediaIntelProjectScrapeFailing is missing")
	}
	labels, annotations := p["labels"].(map[string]any), p["annotations"].(map[string]any)
	if p["for"] != "30m" {
		t.Errorf("MediaIntelProjectScrapeFailing: for %v, want the override's 30m", p["for"])
	}
	if labels["severity"] != "critical" || labels["team"] != "media" {
		t.Errorf("MediaIntelProjectScrapeFailing: labels %v, want severity critical (the override) and team media", labels)
	}
	if annotations["dashboard"] != "https://grafana.example.com/d/ncp-mediaintel" || annotations["summary"] == "not this" ||
		annotations["runbook_url"] != "https://wiki.example.com/mediaintel/runbook#mediaintelprojectscrapefailing" {
		t.Errorf("MediaIntelProjectScrapeFailing: annotations %v, want the extra dashboard, the alert's own summary, the runbook on the wiki", annotations)
	}
	d := alertRule(groups, "MediaIntelExporterDown")
	if dl := d["labels"].(map[string]any); d["for"] != "5m" || dl["severity"] != "critical" || dl["team"] != "media" {
		t.Errorf("MediaIntelExporterDown, not overridden: for %v, labels %v; want the rule file's 5m and critical, and team media", d["for"], dl)
	}
	records := 0
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["record"] != nil {
				records++
				if rule["labels"] != nil || rule["annotations"] != nil {
					t.Errorf("recording rule %s got labels %v, annotations %v: the values are for alerts", rule["record"], rule["labels"], rule["annotations"])
				}
			}
		}
	}
	want := records + len(alertNames(t)) - len(disabled)
	forEachPromtool(t, func(t *testing.T, promtool string) {
		dir := t.TempDir()
		name := writeRules(t, dir, groups)
		out := testutil.RunTool(t, time.Minute, dir, promtool, "check", "rules", name)
		if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", want)) {
			t.Errorf("promtool check rules: want %d rules:\n%s", want, out)
		}
	})
}

// alertNames lists the alerts of deploy/prometheus/alerts.yml.
// groupAlertNames lists the alerts of one group of the rule files, or of
// every group when group is "".
func groupAlertNames(t *testing.T, group string) []string {
	t.Helper()
	var names []string
	for _, g := range sourceGroups(t) {
		if group != "" && g.(map[string]any)["name"] != group {
			continue
		}
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if n, ok := r.(map[string]any)["alert"].(string); ok {
				names = append(names, n)
			}
		}
	}
	return names
}

func alertNames(t *testing.T) []string {
	t.Helper()
	return groupAlertNames(t, "")
}

// TestPrometheusRuleValuesRejected: a disabled or overridden alert that the
// chart does not have (a typo, or an alert renamed since) fails the render,
// naming it, rather than silently change nothing.
func TestPrometheusRuleValuesRejected(t *testing.T) {
	checkRejected(t, []rejection{
		{"disabled typo", set("prometheusRule.disabled", map[string]any{"MediaIntelExporterDwon": true}), "prometheusRule.disabled names MediaIntelExporterDwon"},
		{"override typo", set("prometheusRule.alertOverrides", map[string]any{"MediaIntelAPIError": map[string]any{"for": "1h"}}), "prometheusRule.alertOverrides names MediaIntelAPIError"},
		{"override of something else", set("prometheusRule.alertOverrides", map[string]any{"MediaIntelAPIErrors": map[string]any{"expr": "vector(1)"}}), "expr"},
		{"bad for", set("prometheusRule.alertOverrides", map[string]any{"MediaIntelAPIErrors": map[string]any{"for": "15 minutes"}}), "for"},
		{"bad label name", set("prometheusRule.additionalRuleLabels", map[string]any{"team-name": "media"}), "team-name"},
		{"runbook with an anchor", set("prometheusRule.runbookBaseURL", "https://wiki.example.com/runbook#top"), "runbookBaseURL"},
	})
}

// writeRules writes rule groups as a Prometheus rule file into dir and
// returns its name.
func writeRules(t *testing.T, dir string, groups []any) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	writeTemp(t, dir, "prometheusrule.yml", b)
	return "prometheusrule.yml"
}

// unitTests returns deploy/prometheus/alerts_test.yml with its rule_files
// pointing at name instead of recording.yml and alerts.yml.
func unitTests(t *testing.T, name string) string {
	t.Helper()
	tests := string(readFile(t, filepath.Join(testutil.RepoRoot(t), "deploy", "prometheus", "alerts_test.yml")))
	re := regexp.MustCompile(`(?m)^rule_files:\n(?:[ \t]+-[^\n]*\n)+`)
	if !re.MatchString(tests) {
		t.Fatal("alerts_test.yml: no top-level rule_files list; update this test with the file")
	}
	return re.ReplaceAllString(tests, "rule_files:\n  - "+name+"\n")
}

// runUnitTests runs promtool test rules on a test file in dir.
func runUnitTests(t *testing.T, promtool, dir, file string) {
	t.Helper()
	out := testutil.RunTool(t, 2*time.Minute, dir, promtool, "test", "rules", file)
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules said no SUCCESS:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}

// TestPrometheusRulePromtool runs promtool check rules on the groups taken
// from the rendered PrometheusRule, and the repository's rule unit tests
// (deploy/prometheus/alerts_test.yml) against them, with each promtool.
func TestPrometheusRulePromtool(t *testing.T) {
	groups := ruleGroups(t, nil)
	forEachPromtool(t, func(t *testing.T, promtool string) {
		dir := t.TempDir()
		name := writeRules(t, dir, groups)
		out := testutil.RunTool(t, time.Minute, dir, promtool, "check", "rules", name)
		if !strings.Contains(out, "SUCCESS") {
			t.Fatalf("promtool check rules said no SUCCESS:\n%s", out)
		}
		t.Log(strings.TrimSpace(out))
		writeTemp(t, dir, "alerts_test.yml", []byte(unitTests(t, name)))
		runUnitTests(t, promtool, dir, "alerts_test.yml")
	})
}

// jobContextRE finds the repository's job names where alerts_test.yml uses
// them as job names: in series selectors, expected labels, and the
// summaries and descriptions that quote the job ("(job X)", "of job X").
// (Elsewhere "mediaintel_exporter" is the program's name.)
var jobContextRE = regexp.MustCompile(`(job="|job: |\(job |of job )(mediaintel_probe|mediaintel_exporter|mediaintel)\b`)

// TestPrometheusRuleJobNames renders the chart with every job name changed
// (to names with regular expression characters in them) and runs the
// repository's rule unit tests on the rendered rules, with the job names in
// them changed the same way: every alert, among them the exporter-down alert
// for each of the chart's targets (/metrics, the /probe targets and
// /internal/metrics), the API-unreachable and the project-failing alerts,
// still fires and stays silent as the tests want. The job names are taken
// from the ServiceMonitor and ScrapeConfig the chart renders. A second test
// file checks that the matcher matches nothing more: not the default names,
// not what the names' dots would match unquoted.
func TestPrometheusRuleJobNames(t *testing.T) {
	vals := set("serviceMonitor.jobName", "media-exporter", "serviceMonitor.probeJobName", "media.probe",
		"serviceMonitor.internalJobName", "media+internal")
	metricsMode := render(t, vals)
	perProject := render(t, merge(vals, set("scrapeMode", "perProject")))
	rename := map[string]string{
		"mediaintel":          jobOf(t, only[*monitoringv1.ServiceMonitor](t, metricsMode).Spec.Endpoints[0].RelabelConfigs),
		"mediaintel_probe":    *only[*monitoringv1alpha1.ScrapeConfig](t, perProject).Spec.JobName,
		"mediaintel_exporter": jobOf(t, only[*monitoringv1.ServiceMonitor](t, perProject).Spec.Endpoints[0].RelabelConfigs),
	}
	if rename["mediaintel"] != "media-exporter" || rename["mediaintel_probe"] != "media.probe" || rename["mediaintel_exporter"] != "media+internal" {
		t.Fatalf("the chart's targets have the jobs %v, not the values' ones", rename)
	}
	groups := ruleGroups(t, vals)
	if g := ruleGroups(t, merge(vals, set("scrapeMode", "perProject"))); !reflect.DeepEqual(g, groups) {
		t.Error("the rules differ between scrape modes: the job matcher should name all three jobs in every mode")
	}
	// The alert's expression may change in the rule file; its job matcher
	// must be the chart's, and the only one.
	e, _ := alertRule(groups, "MediaIntelExporterDown")["expr"].(string)
	if m := `job=~"media-exporter|media\\.probe|media\\+internal"`; !strings.Contains(e, m) || strings.Contains(e, sourceJobMatcher) {
		t.Errorf("MediaIntelExporterDown: expr %q, want the job matcher %s in place of %s", e, m, sourceJobMatcher)
	}

	n := 0
	tests := jobContextRE.ReplaceAllStringFunc(unitTests(t, "prometheusrule.yml"), func(m string) string {
		n++
		sm := jobContextRE.FindStringSubmatch(m)
		return sm[1] + rename[sm[2]]
	})
	if n < 50 {
		t.Fatalf("only %d job names renamed in alerts_test.yml: the renaming is broken", n)
	}
	if left := regexp.MustCompile(`job="mediaintel`).FindString(tests); left != "" {
		t.Fatalf("alerts_test.yml still holds %s after the renaming", left)
	}
	// Quoted YAML strings take a backslash as an escape: the renamed jobs
	// have none.
	negative := `rule_files:
  - prometheusrule.yml
evaluation_interval: 1m
tests:
  - name: the chart's job matcher matches its jobs only
    interval: 1m
    input_series:
      - series: 'up{job="mediaintel", instance="exporter:9847"}'
        values: '0x10'
      - series: 'up{job="mediaXprobe", instance="exporter:9847"}'
        values: '0x10'
      - series: 'up{job="media-exporter-2", instance="exporter:9847"}'
        values: '0x10'
      - series: 'up{job="mediaaainternal", instance="exporter:9847"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 10m
        alertname: MediaIntelExporterDown
        exp_alerts: []
`
	forEachPromtool(t, func(t *testing.T, promtool string) {
		dir := t.TempDir()
		writeRules(t, dir, groups)
		writeTemp(t, dir, "alerts_test.yml", []byte(tests))
		writeTemp(t, dir, "negative_test.yml", []byte(negative))
		runUnitTests(t, promtool, dir, "alerts_test.yml")
		runUnitTests(t, promtool, dir, "negative_test.yml")
	})
}
