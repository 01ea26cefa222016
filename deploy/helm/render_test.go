package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// Release name and namespace of the test renders.
const (
	testRelease   = "mi"
	testNamespace = "media"
)

// loadChart loads the chart directory the way helm does (symbolic links
// followed).
func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// valuesFile reads a values file of the chart's ci/ directory.
func valuesFile(t testing.TB, name string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir(t), "ci", name))
	if err != nil {
		t.Fatalf("reading ci/%s: %v", name, err)
	}
	return v.AsMap()
}

// ciValueFiles lists the chart's ci/*.yaml files (chart-testing's installs).
func ciValueFiles(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(chartDir(t), "ci", "*.yaml"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no ci/*.yaml values files (%v)", err)
	}
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	return names
}

// merge deep-merges the maps in order, later ones winning, as helm merges
// -f files and --set values.
func merge(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		for k, v := range l {
			if vm, ok := v.(map[string]any); ok {
				if om, ok := out[k].(map[string]any); ok {
					out[k] = merge(om, vm)
					continue
				}
				out[k] = merge(vm)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// set builds a values map from dotted paths, like helm's --set.
func set(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		path := strings.Split(kv[i].(string), ".")
		m := out
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = kv[i+1]
	}
	return out
}

// object is one rendered Kubernetes object.
type object struct {
	Template string // the template file it came from
	Kind     string
	Name     string
	Raw      []byte // its YAML
	Typed    any    // decoded strictly into its API type
}

// rendered is the output of one helm template.
type rendered struct {
	Objects []object
	Notes   string
}

// renderValues renders the chart as helm template does (release testRelease
// in testNamespace, an install), validating the values against
// values.schema.json, and returns the error instead of failing.
func renderValues(t testing.TB, ch *chart.Chart, vals map[string]any) (map[string]string, error) {
	t.Helper()
	opts := chartutil.ReleaseOptions{Name: testRelease, Namespace: testNamespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(ch, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// render renders the chart with the values and decodes every object
// strictly into its API type, failing the test on any error.
func render(t testing.TB, vals map[string]any) rendered {
	t.Helper()
	return renderChart(t, loadChart(t), vals)
}

func renderChart(t testing.TB, ch *chart.Chart, vals map[string]any) rendered {
	t.Helper()
	files, err := renderValues(t, ch, vals)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	var r rendered
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		content := files[name]
		base := filepath.Base(name)
		switch {
		case base == "NOTES.txt":
			r.Notes = content
			continue
		case strings.HasPrefix(base, "_"):
			continue
		}
		manifests := releaseutil.SplitManifests(content)
		keys := make([]string, 0, len(manifests))
		for k := range manifests {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, k := range keys {
			doc := manifests[k]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			obj, err := decodeStrict(name, []byte(doc))
			if err != nil {
				t.Fatalf("%s: %v\n%.3000s", name, err, doc)
			}
			r.Objects = append(r.Objects, obj)
		}
	}
	for _, o := range r.Objects {
		if strings.Contains(string(o.Raw), "<no value>") {
			t.Errorf("%s %s renders <no value>: a value the template reads is missing", o.Kind, o.Name)
		}
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// apiTypes maps apiVersion and kind to a constructor of the Go type that
// the API server (or the prometheus-operator CRD) decodes them into. A kind
// that is not here is an error: a new template needs a type to be checked.
var apiTypes = map[string]func() any{
	"v1/ServiceAccount":                           func() any { return &corev1.ServiceAccount{} },
	"v1/Secret":                                   func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                                func() any { return &corev1.ConfigMap{} },
	"v1/Service":                                  func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                          func() any { return &appsv1.Deployment{} },
	"networking.k8s.io/v1/NetworkPolicy":          func() any { return &networkingv1.NetworkPolicy{} },
	"policy/v1/PodDisruptionBudget":               func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor":     func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":     func() any { return &monitoringv1.PrometheusRule{} },
	"monitoring.coreos.com/v1alpha1/ScrapeConfig": func() any { return &monitoringv1alpha1.ScrapeConfig{} },
}

// decodeStrict decodes one YAML document into its API type: unknown or
// duplicate fields, and values of the wrong type, are errors.
func decodeStrict(template string, doc []byte) (object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, fmt.Errorf("not YAML: %w", err)
	}
	newT, ok := apiTypes[head.APIVersion+"/"+head.Kind]
	if !ok {
		return object{}, fmt.Errorf("apiVersion %q kind %q has no API type in this test", head.APIVersion, head.Kind)
	}
	typed := newT()
	if err := yaml.UnmarshalStrict(doc, typed); err != nil {
		return object{}, fmt.Errorf("%s %s does not decode strictly into %T: %w", head.Kind, head.Metadata.Name, typed, err)
	}
	if head.Metadata.Name == "" {
		return object{}, fmt.Errorf("%s without a name", head.Kind)
	}
	if head.Metadata.Namespace == "" {
		return object{}, fmt.Errorf("%s %s without a namespace: helm template would leave it to the client's", head.Kind, head.Metadata.Name)
	}
	return object{Template: template, Kind: head.Kind, Name: head.Metadata.Name, Raw: doc, Typed: typed}, nil
}

// kinds counts the objects by kind.
func (r rendered) kinds() map[string]int {
	m := map[string]int{}
	for _, o := range r.Objects {
		m[o.Kind]++
	}
	return m
}

// only returns the single object of a kind, failing if there is not exactly one.
func only[T any](t testing.TB, r rendered) T {
	t.Helper()
	var found []T
	for _, o := range r.Objects {
		if v, ok := o.Typed.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, got %d (objects: %v)", zero, len(found), r.kinds())
	}
	return found[0]
}

// all returns every object of a type.
func all[T any](r rendered) []T {
	var found []T
	for _, o := range r.Objects {
		if v, ok := o.Typed.(T); ok {
			found = append(found, v)
		}
	}
	return found
}

// writeTemp writes content into a new file in a test temporary directory.
func writeTemp(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
