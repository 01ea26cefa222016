package helm

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
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

// TestPrometheusRuleGroups checks that the PrometheusRule holds exactly the
// groups of recording.yml and alerts.yml, every field of every rule.
func TestPrometheusRuleGroups(t *testing.T) {
	for _, c := range []renderCase{{"default", nil}, {"ci/all-values.yaml", valuesFile(t, "all-values.yaml")}} {
		t.Run(c.name, func(t *testing.T) {
			got, want := ruleGroups(t, c.vals), sourceGroups(t)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("the PrometheusRule's groups differ from recording.yml + alerts.yml:\ngot  %.2000s\nwant %.2000s", g, w)
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

// writeRenderedRules writes the PrometheusRule's groups as a Prometheus
// rule file into dir and returns its name.
func writeRenderedRules(t *testing.T, dir string) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": ruleGroups(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	writeTemp(t, dir, "prometheusrule.yml", b)
	return "prometheusrule.yml"
}

// TestPrometheusRulePromtool runs promtool check rules on the groups taken
// from the rendered PrometheusRule, and the repository's rule unit tests
// (deploy/prometheus/alerts_test.yml) against them.
func TestPrometheusRulePromtool(t *testing.T) {
	promtool := requireTool(t, "promtool")
	dir := t.TempDir()
	name := writeRenderedRules(t, dir)
	out := testutil.RunTool(t, time.Minute, dir, promtool, "check", "rules", name)
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules said no SUCCESS:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))

	// The unit tests, with their rule_files pointing at the rendered groups
	// instead of recording.yml and alerts.yml.
	tests := string(readFile(t, filepath.Join(testutil.RepoRoot(t), "deploy", "prometheus", "alerts_test.yml")))
	re := regexp.MustCompile(`(?m)^rule_files:\n(?:[ \t]+-[^\n]*\n)+`)
	if !re.MatchString(tests) {
		t.Fatal("alerts_test.yml: no top-level rule_files list; update this test with the file")
	}
	tests = re.ReplaceAllString(tests, "rule_files:\n  - "+name+"\n")
	writeTemp(t, dir, "alerts_test.yml", []byte(tests))
	out = testutil.RunTool(t, 2*time.Minute, dir, promtool, "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules said no SUCCESS:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}
