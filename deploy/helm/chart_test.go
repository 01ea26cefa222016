package helm

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// renderCase is one set of values the chart is rendered with.
type renderCase struct {
	name string
	vals map[string]any
}

// renderCases are the default values, every ci/*.yaml file, and the
// combinations that those do not reach.
func renderCases(t *testing.T) []renderCase {
	t.Helper()
	cases := []renderCase{{name: "default", vals: map[string]any{}}}
	for _, f := range ciValueFiles(t) {
		cases = append(cases, renderCase{name: "ci/" + f, vals: valuesFile(t, f)})
	}
	return append(cases,
		renderCase{"perProject", set("scrapeMode", "perProject")},
		renderCase{"perProject-renamed-jobs", set("scrapeMode", "perProject", "serviceMonitor.jobName", "media-exporter",
			"serviceMonitor.probeJobName", "media.probe", "serviceMonitor.internalJobName", "media+internal")},
		renderCase{"https-existing-web-config", set("web.scheme", "https", "web.existingSecret", "mi-web", "web.tlsSecret", "mi-tls")},
		renderCase{"status-emptyDir", set("statusTracking.enabled", true)},
		renderCase{"created-credentials", set("credentials.create", true, "credentials.accessKey", "AKTEST", "credentials.secretKey", "SKTEST")},
		renderCase{"pdb-minAvailable", set("podDisruptionBudget.enabled", true, "podDisruptionBudget.minAvailable", 1)},
		renderCase{"monitoring-off", set("serviceMonitor.enabled", false, "prometheusRule.enabled", false, "dashboard.enabled", false)},
		renderCase{"two-replicas", set("replicaCount", 2, "serviceMonitor.stableInstance", false)},
		renderCase{"named-account", set("accountName", "media-prod")},
		renderCase{"background", set("background.enabled", true, "background.maxStaleness", "20m")},
		renderCase{"accounts-server-role", merge(withServerRole(), set("networkPolicy.enabled", true, "web.enableLifecycle", true))},
		renderCase{"histograms-left-to-prometheus", set("serviceMonitor.convertClassicHistogramsToNHCB", nil,
			"serviceMonitor.scrapeNativeHistograms", nil, "serviceMonitor.scrapeClassicHistograms", nil)},
	)
}

// TestLint runs helm's linter (helm lint --strict) on the chart with the
// default values and with each ci/*.yaml file: errors and warnings fail.
func TestLint(t *testing.T) {
	cases := []renderCase{{name: "default", vals: map[string]any{}}}
	for _, f := range ciValueFiles(t) {
		cases = append(cases, renderCase{name: "ci/" + f, vals: valuesFile(t, f)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lint.All(chartDir(t), c.vals, testNamespace, true)
			if len(l.Messages) == 0 {
				t.Fatal("the linter said nothing: it did not run")
			}
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestRender renders every case; each object must decode strictly into its
// API type (render does that) and carry valid names and labels. It checks
// what the default and the all-options installs consist of.
func TestRender(t *testing.T) {
	want := map[string]map[string]int{
		"default": {"ServiceAccount": 1, "Service": 1, "Deployment": 1, "ServiceMonitor": 1, "PrometheusRule": 1, "ConfigMap": 1},
		"ci/all-values.yaml": {"ServiceAccount": 1, "Secret": 2, "Service": 1, "Deployment": 1, "ServiceMonitor": 1,
			"ScrapeConfig": 1, "PrometheusRule": 1, "ConfigMap": 1, "NetworkPolicy": 1, "PodDisruptionBudget": 1},
		"ci/demo-values.yaml": {"ServiceAccount": 1, "Service": 1, "Deployment": 1, "ServiceMonitor": 1, "ScrapeConfig": 1, "PrometheusRule": 1, "ConfigMap": 1},
		"ci/accounts-values.yaml": {"ServiceAccount": 1, "Service": 1, "Deployment": 1, "ServiceMonitor": 1, "ScrapeConfig": 1,
			"PrometheusRule": 1, "ConfigMap": 2, "NetworkPolicy": 1},
		"monitoring-off": {"ServiceAccount": 1, "Service": 1, "Deployment": 1},
	}
	total := 0
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			total += len(r.Objects)
			if w, ok := want[c.name]; ok {
				got := r.kinds()
				if !mapsEqual(got, w) {
					t.Errorf("objects by kind: got %v, want %v", got, w)
				}
			}
			for _, o := range r.Objects {
				checkMeta(t, o)
			}
			t.Logf("%d objects: %v", len(r.Objects), r.kinds())
		})
	}
	t.Logf("%d objects rendered and decoded strictly in all", total)
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkMeta checks the object's name, namespace and labels against the API
// server's rules, and the chart's common labels.
func checkMeta(t *testing.T, o object) {
	t.Helper()
	var m struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(o.Raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range validation.IsDNS1123Subdomain(m.Metadata.Name) {
		t.Errorf("%s name %q: %s", o.Kind, m.Metadata.Name, e)
	}
	if o.Kind == "Service" {
		for _, e := range validation.IsDNS1035Label(m.Metadata.Name) {
			t.Errorf("Service name %q: %s", m.Metadata.Name, e)
		}
	}
	for _, e := range validation.IsDNS1123Label(m.Metadata.Namespace) {
		t.Errorf("%s %s namespace %q: %s", o.Kind, o.Name, m.Metadata.Namespace, e)
	}
	for k, v := range m.Metadata.Labels {
		for _, e := range validation.IsQualifiedName(k) {
			t.Errorf("%s %s label key %q: %s", o.Kind, o.Name, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			t.Errorf("%s %s label %s=%q: %s", o.Kind, o.Name, k, v, e)
		}
	}
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "helm.sh/chart", "app.kubernetes.io/managed-by"} {
		if m.Metadata.Labels[k] == "" {
			t.Errorf("%s %s lacks the label %s", o.Kind, o.Name, k)
		}
	}
}

// selects reports whether a label selector selects the labels.
func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		t.Errorf("empty selector: it would select every pod")
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return s.Matches(labels.Set(l))
}

// TestWiring checks that the objects find each other: the Deployment's and
// Service's selectors pick the pods, the Service's port is the container's,
// the ServiceMonitor picks the Service and names its port, the ScrapeConfig
// reaches the Service by its cluster DNS name, the NetworkPolicy and the
// PodDisruptionBudget select the pods and the NetworkPolicy opens the port.
func TestWiring(t *testing.T) {
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			dep := only[*appsv1.Deployment](t, r)
			svc := only[*corev1.Service](t, r)
			pod := dep.Spec.Template
			if !selects(t, dep.Spec.Selector, pod.Labels) {
				t.Errorf("the Deployment's selector %v does not select its pods %v", dep.Spec.Selector, pod.Labels)
			}
			if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, pod.Labels) {
				t.Errorf("the Service's selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
			}
			ctr := pod.Spec.Containers[0]
			portByName := map[string]int32{}
			for _, p := range ctr.Ports {
				portByName[p.Name] = p.ContainerPort
			}
			if len(svc.Spec.Ports) != 1 {
				t.Fatalf("want one Service port, got %v", svc.Spec.Ports)
			}
			sp := svc.Spec.Ports[0]
			if _, ok := portByName[sp.TargetPort.String()]; !ok {
				t.Errorf("the Service's targetPort %q is no container port (%v)", sp.TargetPort.String(), portByName)
			}
			if want := "--web.listen-address=:" + strconv.Itoa(int(portByName["http"])); !slices.Contains(ctr.Args, want) {
				t.Errorf("the exporter does not listen on the container port: want %s in %v", want, ctr.Args)
			}
			if sa := pod.Spec.ServiceAccountName; sa != "" {
				if sas := all[*corev1.ServiceAccount](r); len(sas) == 1 && sas[0].Name != sa {
					t.Errorf("the pod runs as ServiceAccount %q, the chart creates %q", sa, sas[0].Name)
				}
			}

			for _, sm := range all[*monitoringv1.ServiceMonitor](r) {
				if !selects(t, &sm.Spec.Selector, svc.Labels) {
					t.Errorf("ServiceMonitor %s selects %v, not the Service's labels %v", sm.Name, sm.Spec.Selector, svc.Labels)
				}
				if ns := sm.Spec.NamespaceSelector; !ns.Any && !slices.Contains(ns.MatchNames, svc.Namespace) &&
					!(len(ns.MatchNames) == 0 && sm.Namespace == svc.Namespace) {
					t.Errorf("ServiceMonitor %s/%s does not look in the Service's namespace %s: %+v", sm.Namespace, sm.Name, svc.Namespace, ns)
				}
				if len(sm.Spec.Endpoints) != 1 {
					t.Fatalf("ServiceMonitor %s: want one endpoint, got %d", sm.Name, len(sm.Spec.Endpoints))
				}
				if ep := sm.Spec.Endpoints[0]; ep.Port != sp.Name {
					t.Errorf("ServiceMonitor %s scrapes port %v, the Service's is %q", sm.Name, ep.Port, sp.Name)
				}
			}

			addr := svc.Name + "." + svc.Namespace + ".svc:" + strconv.Itoa(int(sp.Port))
			for _, sc := range all[*monitoringv1alpha1.ScrapeConfig](r) {
				if len(sc.Spec.HTTPSDConfigs) != 1 {
					t.Fatalf("ScrapeConfig %s: want one httpSDConfigs entry, got %d", sc.Name, len(sc.Spec.HTTPSDConfigs))
				}
				u := string(sc.Spec.HTTPSDConfigs[0].URL)
				if !strings.Contains(u, "://"+addr+"/discovery") {
					t.Errorf("ScrapeConfig %s discovers at %s, not at the Service %s", sc.Name, u, addr)
				}
				if !hasRelabel(sc.Spec.RelabelConfigs, "__address__", addr) {
					t.Errorf("ScrapeConfig %s does not send the scrapes to the Service %s: %+v", sc.Name, addr, sc.Spec.RelabelConfigs)
				}
			}

			for _, np := range all[*networkingv1.NetworkPolicy](r) {
				if !selects(t, &np.Spec.PodSelector, pod.Labels) {
					t.Errorf("NetworkPolicy %s does not select the pods", np.Name)
				}
				if len(np.Spec.Ingress) == 0 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port == nil {
					t.Fatalf("NetworkPolicy %s: the first ingress rule names no port: %+v", np.Name, np.Spec.Ingress)
				}
				if p := np.Spec.Ingress[0].Ports[0].Port.String(); portByName[p] == 0 && p != strconv.Itoa(int(portByName["http"])) {
					t.Errorf("NetworkPolicy %s opens port %s, not the metrics port", np.Name, p)
				}
				if len(np.Spec.Ingress[0].From) == 0 {
					t.Errorf("NetworkPolicy %s lets every pod in", np.Name)
				}
				ports := map[string]bool{}
				for _, e := range np.Spec.Egress {
					for _, p := range e.Ports {
						if p.Port != nil {
							ports[p.Port.String()+"/"+string(*p.Protocol)] = true
						}
					}
				}
				for _, p := range []string{"53/UDP", "53/TCP", "443/TCP"} {
					if !ports[p] {
						t.Errorf("NetworkPolicy %s does not let out %s (egress %v)", np.Name, p, ports)
					}
				}
				if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
					t.Errorf("NetworkPolicy %s policyTypes %v: both directions must be restricted", np.Name, np.Spec.PolicyTypes)
				}
			}
			for _, pdb := range all[*policyv1.PodDisruptionBudget](r) {
				if !selects(t, pdb.Spec.Selector, pod.Labels) {
					t.Errorf("PodDisruptionBudget %s does not select the pods", pdb.Name)
				}
				if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
					t.Errorf("PodDisruptionBudget %s: want exactly one of minAvailable and maxUnavailable: %+v", pdb.Name, pdb.Spec)
				}
			}
		})
	}
}

func hasRelabel(rcs []monitoringv1.RelabelConfig, target, replacement string) bool {
	for _, rc := range rcs {
		if rc.TargetLabel == target && rc.Replacement != nil && *rc.Replacement == replacement {
			return true
		}
	}
	return false
}

// dockerfileFacts reads the exporter image's user and port from the
// repository's Dockerfile, which builds the image the chart runs.
func dockerfileFacts(t *testing.T) (uid int64, port int32) {
	t.Helper()
	df := string(readFile(t, filepath.Join(testutil.RepoRoot(t), "Dockerfile")))
	u := regexp.MustCompile(`(?m)^USER\s+(\d+)`).FindStringSubmatch(df)
	p := regexp.MustCompile(`(?m)^EXPOSE\s+(\d+)`).FindStringSubmatch(df)
	e := regexp.MustCompile(`(?m)^ENTRYPOINT\s`).FindString(df)
	if u == nil || p == nil || e == "" {
		t.Fatalf("the Dockerfile has no numeric USER, EXPOSE or ENTRYPOINT; the chart relies on all three")
	}
	uid, _ = strconv.ParseInt(u[1], 10, 64)
	pp, _ := strconv.Atoi(p[1])
	return uid, int32(pp)
}

// TestPodSecurity checks, for every case, the pod as the kubelet would run
// it (a container's securityContext overriding the pod's): non-root as the
// image's user, read-only root file system, no privilege escalation, every
// capability dropped, seccomp RuntimeDefault, no service account token, no
// host namespaces, and only the state volume writable.
func TestPodSecurity(t *testing.T) {
	uid, port := dockerfileFacts(t)
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dep := only[*appsv1.Deployment](t, render(t, c.vals))
			ps := dep.Spec.Template.Spec
			ctr := ps.Containers[0]
			psc := ps.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			sc := ctr.SecurityContext
			if sc == nil {
				t.Fatal("the container has no securityContext")
			}
			runAsNonRoot := firstBool(sc.RunAsNonRoot, psc.RunAsNonRoot)
			runAsUser := firstInt(sc.RunAsUser, psc.RunAsUser)
			if !runAsNonRoot {
				t.Error("runAsNonRoot is not true")
			}
			if runAsUser == nil || *runAsUser != uid {
				t.Errorf("runAsUser %v, want the image's user %d", runAsUser, uid)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("readOnlyRootFilesystem is not true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Error("privileged")
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("capabilities %+v: want drop ALL and nothing added", sc.Capabilities)
			}
			seccomp := sc.SeccompProfile
			if seccomp == nil {
				seccomp = psc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccompProfile %+v, want RuntimeDefault", seccomp)
			}
			if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
				t.Error("the service account token is mounted; the exporter never calls the Kubernetes API")
			}
			if ps.HostNetwork || ps.HostPID || ps.HostIPC {
				t.Error("a host namespace is shared")
			}
			if len(ctr.Command) != 0 {
				t.Errorf("command %v replaces the image's entrypoint", ctr.Command)
			}
			if len(ctr.Ports) != 1 || ctr.Ports[0].ContainerPort != port {
				t.Errorf("container ports %+v, want the image's %d", ctr.Ports, port)
			}
			for _, m := range ctr.VolumeMounts {
				if !m.ReadOnly && m.Name != "state" {
					t.Errorf("volume %s is mounted writable at %s", m.Name, m.MountPath)
				}
			}
			web, _ := c.vals["web"].(map[string]any)
			scheme := corev1.URISchemeHTTP
			if web["scheme"] == "https" {
				scheme = corev1.URISchemeHTTPS
			}
			// Liveness: the process serves. Startup and readiness: it is
			// ready for scrapes (its state loaded, in background mode the
			// first refresh pass ended), which never depends on the API.
			for _, pp := range []struct {
				what, path string
				p          *corev1.Probe
			}{{"liveness", "/-/healthy", ctr.LivenessProbe}, {"startup", "/-/ready", ctr.StartupProbe}, {"readiness", "/-/ready", ctr.ReadinessProbe}} {
				p := pp.p
				if p == nil {
					t.Fatalf("the %s probe is missing", pp.what)
				}
				switch {
				case p.HTTPGet != nil:
					if p.HTTPGet.Path != pp.path || p.HTTPGet.Port.String() != "http" || p.HTTPGet.Scheme != scheme {
						t.Errorf("%s probe GETs %s %s on %s, want %s %s on http", pp.what, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String(), scheme, pp.path)
					}
					if web["basicAuth"] == true {
						t.Errorf("an HTTP %s probe with basic auth on: it would get 401", pp.what)
					}
				case p.TCPSocket != nil:
					if web["basicAuth"] != true {
						t.Errorf("a TCP %s probe without basic auth: %s should be asked", pp.what, pp.path)
					}
				default:
					t.Errorf("probe without a handler: %+v", p)
				}
			}
			if ctr.Resources.Requests.Memory().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %+v: want a memory request and limit", ctr.Resources)
			}
		})
	}
}

func firstBool(ps ...*bool) bool {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return false
}

func firstInt(ps ...*int64) *int64 {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// TestCredentials checks how the key reaches the exporter: as files of a
// Secret volume mounted whole (no subPath, so a rotated Secret is seen), the
// paths passed with --ncp.*-key-file (one account) or written in the
// configuration file (accounts), readable by the pod's user, and never as
// an argument or an environment variable.
func TestCredentials(t *testing.T) {
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			dep := only[*appsv1.Deployment](t, r)
			ps := dep.Spec.Template.Spec
			ctr := ps.Containers[0]
			demo, _ := c.vals["demo"].(bool)
			flags := map[string]string{}
			for _, a := range ctr.Args {
				if k, v, ok := strings.Cut(a, "="); ok {
					flags[k] = v
				}
			}
			for _, e := range ctr.Env {
				if strings.HasPrefix(e.Name, "NCLOUD_") {
					t.Errorf("environment variable %s: the key goes through files", e.Name)
				}
			}
			if demo {
				if !slices.Contains(ctr.Args, "--demo") {
					t.Error("demo=true without --demo")
				}
				if flags["--ncp.access-key-file"] != "" || flags["--config.file"] != "" {
					t.Error("demo mode mounts credentials")
				}
				return
			}
			if accts := valuesAccounts(c.vals); len(accts) > 0 {
				for _, f := range []string{"--ncp.access-key-file", "--ncp.secret-key-file", "--ncp.account"} {
					if _, ok := flags[f]; ok {
						t.Errorf("%s with accounts: the configuration file names every account and its key", f)
					}
				}
				checkAccountKeys(t, r, accts)
				return
			}
			if flags["--config.file"] != "" {
				t.Errorf("--config.file without accounts")
			}
			var secretName, akKey, skKey string
			if cr, _ := c.vals["credentials"].(map[string]any); cr != nil && cr["create"] == true {
				s := only[*corev1.Secret](t, rendered{Objects: filter(r.Objects, func(o object) bool { return strings.HasSuffix(o.Name, "-credentials") })})
				secretName = s.Name
				akKey, skKey = "access-key", "secret-key"
				if k, ok := cr["accessKeyKey"].(string); ok {
					akKey = k
				}
				if k, ok := cr["secretKeyKey"].(string); ok {
					skKey = k
				}
				for k, want := range map[string]any{akKey: cr["accessKey"], skKey: cr["secretKey"]} {
					if string(s.Data[k]) != want {
						t.Errorf("Secret %s key %s holds %q, want the value given", s.Name, k, s.Data[k])
					}
					for _, a := range ctr.Args {
						if strings.Contains(a, want.(string)) {
							t.Errorf("argument %q carries a key", a)
						}
					}
					for _, o := range r.Objects {
						if o.Kind != "Secret" && strings.Contains(string(o.Raw), want.(string)) {
							t.Errorf("%s %s carries a key", o.Kind, o.Name)
						}
					}
				}
			} else {
				secretName, akKey, skKey = "mediaintel-exporter-credentials", "access-key", "secret-key"
				if len(all[*corev1.Secret](r)) > 0 && c.name == "default" {
					t.Error("the default install creates a Secret; it should use the existing one")
				}
			}
			if flags["--ncp.account"] != accountName(c.vals) {
				t.Errorf("--ncp.account=%q, want the value accountName %q", flags["--ncp.account"], accountName(c.vals))
			}
			for flag, key := range map[string]string{"--ncp.access-key-file": akKey, "--ncp.secret-key-file": skKey} {
				path := flags[flag]
				if path == "" {
					t.Errorf("no %s argument in %v", flag, ctr.Args)
					continue
				}
				checkKeyFile(t, ps, flag+"="+path, path, secretName, key)
			}
		})
	}
}

// accountName is the value accountName of vals, or its default.
func accountName(vals map[string]any) string {
	if n, ok := vals["accountName"].(string); ok {
		return n
	}
	return "default"
}

// checkKeyFile checks that the file path is the key key of the Secret
// secretName, as the pod mounts it: a Secret volume mounted whole at the
// file's directory (no subPath, so a rotated Secret is seen), read-only,
// the key projected to the file's name, readable by the pod's user.
func checkKeyFile(t *testing.T, ps corev1.PodSpec, what, path, secretName, key string) {
	t.Helper()
	m := mountFor(ps.Containers[0], filepath.Dir(path))
	if m == nil {
		t.Errorf("%s: no volume is mounted at %s", what, filepath.Dir(path))
		return
	}
	if m.SubPath != "" || m.SubPathExpr != "" {
		t.Errorf("%s: the credentials are mounted with subPath: a rotated Secret would not reach the exporter", what)
	}
	if !m.ReadOnly {
		t.Errorf("%s: the credentials are mounted writable", what)
	}
	vol := volumeNamed(ps, m.Name)
	if vol == nil || vol.Secret == nil || vol.Secret.SecretName != secretName {
		t.Errorf("%s: volume %s is not the Secret %s: %+v", what, m.Name, secretName, vol)
		return
	}
	found := false
	for _, it := range vol.Secret.Items {
		if it.Key == key && it.Path == filepath.Base(path) {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: the Secret's key %s is not projected to %s (items %+v)", what, key, filepath.Base(path), vol.Secret.Items)
	}
	mode := int32(0o644)
	if vol.Secret.DefaultMode != nil {
		mode = *vol.Secret.DefaultMode
	}
	fsGroup := ps.SecurityContext != nil && ps.SecurityContext.FSGroup != nil
	if mode&0o004 == 0 && !(mode&0o040 != 0 && fsGroup) {
		t.Errorf("%s: the key files (mode %o, fsGroup %v) are not readable by the pod's user", what, mode, fsGroup)
	}
}

func filter(objs []object, keep func(object) bool) []object {
	var out []object
	for _, o := range objs {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

func mountFor(c corev1.Container, dir string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if filepath.Clean(c.VolumeMounts[i].MountPath) == filepath.Clean(dir) {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeNamed(ps corev1.PodSpec, name string) *corev1.Volume {
	for i := range ps.Volumes {
		if ps.Volumes[i].Name == name {
			return &ps.Volumes[i]
		}
	}
	return nil
}

// TestWebConfig checks --web.config.file: passed only with a web config,
// pointing at the mounted Secret's key; the inline config is stored as YAML.
func TestWebConfig(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		ctr := only[*appsv1.Deployment](t, render(t, nil)).Spec.Template.Spec.Containers[0]
		for _, a := range ctr.Args {
			if strings.HasPrefix(a, "--web.config.file") {
				t.Errorf("%s without a web config", a)
			}
		}
	})
	for _, c := range []renderCase{
		{"existing", set("web.existingSecret", "mi-web", "web.configKey", "config.yml")},
		{"inline", set("web.config", map[string]any{"basic_auth_users": map[string]any{"prometheus": "$2y$10$x"}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			ps := only[*appsv1.Deployment](t, r).Spec.Template.Spec
			var path string
			for _, a := range ps.Containers[0].Args {
				if v, ok := strings.CutPrefix(a, "--web.config.file="); ok {
					path = v
				}
			}
			if path == "" {
				t.Fatalf("no --web.config.file in %v", ps.Containers[0].Args)
			}
			m := mountFor(ps.Containers[0], filepath.Dir(path))
			if m == nil {
				t.Fatalf("nothing mounted at %s", filepath.Dir(path))
			}
			vol := volumeNamed(ps, m.Name)
			if vol == nil || vol.Secret == nil {
				t.Fatalf("volume %s is not a Secret", m.Name)
			}
			if c.name == "existing" {
				if vol.Secret.SecretName != "mi-web" || filepath.Base(path) != "config.yml" {
					t.Errorf("web config from %s key %s, want mi-web config.yml", vol.Secret.SecretName, filepath.Base(path))
				}
				return
			}
			s := only[*corev1.Secret](t, r)
			if s.Name != vol.Secret.SecretName {
				t.Errorf("the web config volume is %s, the chart's Secret %s", vol.Secret.SecretName, s.Name)
			}
			var cfg map[string]any
			if err := yaml.UnmarshalStrict(s.Data[filepath.Base(path)], &cfg); err != nil || cfg["basic_auth_users"] == nil {
				t.Errorf("the web config Secret's %s is not the config given (%v): %q", filepath.Base(path), err, s.Data[filepath.Base(path)])
			}
		})
	}
}

// TestWebConfigRollout checks that a change of web.scheme or of the inline
// web config changes the pod template (the exporter decides on TLS at
// start), and that the pod template carries no such annotation without a
// web config.
func TestWebConfigRollout(t *testing.T) {
	annotation := func(vals map[string]any) string {
		t.Helper()
		return only[*appsv1.Deployment](t, render(t, vals)).Spec.Template.Annotations["checksum/web-config"]
	}
	if a := annotation(nil); a != "" {
		t.Errorf("checksum/web-config %q without a web config", a)
	}
	base := set("web.existingSecret", "mi-web")
	variants := []map[string]any{
		base,
		merge(base, set("web.scheme", "https")),
		set("web.config", map[string]any{"basic_auth_users": map[string]any{"a": "x"}}),
		set("web.config", map[string]any{"basic_auth_users": map[string]any{"a": "y"}}),
	}
	seen := map[string]int{}
	for i, v := range variants {
		a := annotation(v)
		if a == "" {
			t.Errorf("variant %d: no checksum/web-config", i)
		}
		if j, ok := seen[a]; ok {
			t.Errorf("variants %d and %d give the same checksum/web-config: the pod would not roll", j, i)
		}
		seen[a] = i
	}
}

// operatorDuration is prometheus-operator's Duration pattern
// (monitoringv1.Duration's kubebuilder validation): the CRD rejects others.
var operatorDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// parseOperatorDuration reads a prometheus-operator Duration.
func parseOperatorDuration(t *testing.T, d string) time.Duration {
	t.Helper()
	if !operatorDuration.MatchString(d) || d == "" {
		t.Fatalf("duration %q does not match prometheus-operator's pattern", d)
	}
	units := map[string]time.Duration{"y": 365 * 24 * time.Hour, "w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}
	var total time.Duration
	for _, m := range regexp.MustCompile(`([0-9]+)(ms|y|w|d|h|m|s)`).FindAllStringSubmatch(d, -1) {
		n, _ := strconv.Atoi(m[1])
		total += time.Duration(n) * units[m[2]]
	}
	return total
}

// TestScrapeModes checks the one value that switches between scraping
// /metrics and one /probe target per project or per workspace, and the
// scrape settings: interval 60s and timeout 30s by default, a timeout
// within the interval, and job labels that the rendered alerts match.
func TestScrapeModes(t *testing.T) {
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			jobRE := renderedJobMatcher(t, r)
			mode, _ := c.vals["scrapeMode"].(string)
			if mode == "" {
				mode = "metrics"
			}
			sms := all[*monitoringv1.ServiceMonitor](r)
			scs := all[*monitoringv1alpha1.ScrapeConfig](r)
			if sm, _ := c.vals["serviceMonitor"].(map[string]any); sm != nil && sm["enabled"] == false {
				if len(sms)+len(scs) != 0 {
					t.Errorf("serviceMonitor.enabled=false still renders %d ServiceMonitors and %d ScrapeConfigs", len(sms), len(scs))
				}
				return
			}
			if len(sms) != 1 {
				t.Fatalf("want one ServiceMonitor, got %d", len(sms))
			}
			ep := sms[0].Spec.Endpoints[0]
			jobs := []string{jobOf(t, ep.RelabelConfigs)}
			switch mode {
			case "metrics":
				if len(scs) != 0 {
					t.Errorf("metrics mode renders a ScrapeConfig")
				}
				if ep.Path != "/metrics" {
					t.Errorf("ServiceMonitor path %q, want /metrics", ep.Path)
				}
				checkTimes(t, c.name, string(ep.Interval), string(ep.ScrapeTimeout))
				if ep.HonorLabels {
					t.Error("honorLabels on /metrics: the exporter's labels collide with no target label")
				}
			case "perProject", "perWorkspace":
				if len(scs) != 1 {
					t.Fatalf("%s mode: want one ScrapeConfig, got %d", mode, len(scs))
				}
				if ep.Path != "/internal/metrics" {
					t.Errorf("%s mode: the ServiceMonitor scrapes %q, want /internal/metrics", mode, ep.Path)
				}
				if ep.ScrapeTimeout != "" {
					t.Errorf("the /internal/metrics endpoint has a scrapeTimeout %q: it answers at once", ep.ScrapeTimeout)
				}
				sc := scs[0].Spec
				u := string(sc.HTTPSDConfigs[0].URL)
				wantQuery := map[string]string{"perProject": "/discovery?per=project", "perWorkspace": "/discovery"}[mode]
				if !strings.HasSuffix(u, wantQuery) {
					t.Errorf("%s mode discovers at %s, want ...%s", mode, u, wantQuery)
				}
				if sc.MetricsPath == nil || *sc.MetricsPath != "/probe" {
					t.Errorf("ScrapeConfig metricsPath %v, want /probe", sc.MetricsPath)
				}
				if sc.HonorLabels == nil || !*sc.HonorLabels {
					t.Error("ScrapeConfig without honorLabels: the exporter's workspace and project_id would become exported_*")
				}
				if sc.JobName == nil {
					t.Fatal("ScrapeConfig without jobName: its job would be scrapeConfig/<namespace>/<name>, which the alerts do not match")
				}
				jobs = append(jobs, *sc.JobName)
				checkTimes(t, c.name, string(ptrOr(sc.ScrapeInterval)), string(ptrOr(sc.ScrapeTimeout)))
				params := []string{"__param_account", "__param_workspace"}
				if mode == "perProject" {
					params = append(params, "__param_project")
				}
				for _, target := range []string{"instance", "__tmp_hash"} {
					ok := false
					for _, rc := range sc.RelabelConfigs {
						if rc.TargetLabel == target && slices.Equal(labelNames(rc.SourceLabels), params) {
							ok = true
						}
					}
					if !ok {
						t.Errorf("ScrapeConfig: no relabeling of %v into %s", params, target)
					}
				}
			}
			for _, j := range jobs {
				if jobRE != nil && !jobRE.MatchString(j) {
					t.Errorf("job %q is not matched by the alerts' job matcher %s", j, jobRE)
				}
			}
		})
	}
}

func ptrOr(d *monitoringv1.Duration) monitoringv1.Duration {
	if d == nil {
		return ""
	}
	return *d
}

func labelNames(ls []monitoringv1.LabelName) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return out
}

// checkTimes checks the scrape interval and timeout: valid, the timeout
// within the interval (Prometheus refuses the configuration otherwise), and
// 60s and 30s by default.
func checkTimes(t *testing.T, caseName, interval, timeout string) {
	t.Helper()
	iv, to := parseOperatorDuration(t, interval), parseOperatorDuration(t, timeout)
	if to > iv {
		t.Errorf("scrape timeout %s exceeds the interval %s", timeout, interval)
	}
	if caseName == "default" && (iv != time.Minute || to != 30*time.Second) {
		t.Errorf("default interval %s and timeout %s, want 60s and 30s", interval, timeout)
	}
}

// jobOf returns the job label a relabeling list sets.
func jobOf(t *testing.T, rcs []monitoringv1.RelabelConfig) string {
	t.Helper()
	for _, rc := range rcs {
		if rc.TargetLabel == "job" && rc.Replacement != nil {
			return *rc.Replacement
		}
	}
	t.Fatalf("no relabeling sets the job label: %+v", rcs)
	return ""
}

// renderedJobMatcher returns the job matcher of the rendered
// PrometheusRule's alerts, anchored as PromQL anchors it, or nil when the
// chart renders no PrometheusRule.
func renderedJobMatcher(t *testing.T, r rendered) *regexp.Regexp {
	t.Helper()
	prs := all[*monitoringv1.PrometheusRule](r)
	if len(prs) == 0 {
		return nil
	}
	var found []string
	re := regexp.MustCompile(`job\s*=~\s*("(?:[^"\\]|\\.)*")`)
	for _, g := range prs[0].Spec.Groups {
		for _, rule := range g.Rules {
			for _, m := range re.FindAllStringSubmatch(rule.Expr.String(), -1) {
				v, err := strconv.Unquote(m[1])
				if err != nil {
					t.Fatalf("rule %s: job matcher %s: %v", rule.Alert, m[1], err)
				}
				found = append(found, v)
			}
		}
	}
	if len(found) == 0 {
		t.Fatal("the PrometheusRule matches no job: MediaIntelExporterDown should")
	}
	for _, f := range found[1:] {
		if f != found[0] {
			t.Fatalf("the PrometheusRule's alerts match different jobs: %q", found)
		}
	}
	return regexp.MustCompile("^(?:" + found[0] + ")$")
}

// TestStatusTracking checks the analysis-pipeline values: off by default
// (no --status flags, no state volume), on with --status.window and
// --status.state-file on the mounted volume, an emptyDir by default and an
// existing claim (with the Recreate strategy) when named.
func TestStatusTracking(t *testing.T) {
	for _, c := range []struct {
		name     string
		vals     map[string]any
		on       bool
		claim    string
		recreate bool
	}{
		{"default", nil, false, "", false},
		{"emptyDir", set("statusTracking.enabled", true, "statusTracking.window", "6h"), true, "", false},
		{"claim", set("statusTracking.enabled", true, "statusTracking.persistence.existingClaim", "mi-state"), true, "mi-state", true},
		{"claim-but-off", set("statusTracking.persistence.existingClaim", "mi-state"), false, "", false},
		{"claim-own-strategy", set("statusTracking.enabled", true, "statusTracking.persistence.existingClaim", "mi-state",
			"strategy", map[string]any{"type": "RollingUpdate"}), true, "mi-state", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dep := only[*appsv1.Deployment](t, render(t, c.vals))
			ps := dep.Spec.Template.Spec
			ctr := ps.Containers[0]
			var status []string
			stateFile := ""
			for _, a := range ctr.Args {
				if strings.HasPrefix(a, "--status.") {
					status = append(status, a)
				}
				if v, ok := strings.CutPrefix(a, "--status.state-file="); ok {
					stateFile = v
				}
			}
			vol := volumeNamed(ps, "state")
			if !c.on {
				if len(status) > 0 || vol != nil {
					t.Errorf("status tracking is off, yet args %v and volume %+v", status, vol)
				}
				return
			}
			if !slices.ContainsFunc(status, func(s string) bool { return strings.HasPrefix(s, "--status.window=") }) {
				t.Errorf("no --status.window in %v", status)
			}
			if stateFile != "/var/lib/mediaintel/state.db" {
				t.Errorf("--status.state-file=%q, want /var/lib/mediaintel/state.db", stateFile)
			}
			m := mountFor(ctr, filepath.Dir(stateFile))
			if m == nil || m.Name != "state" || m.ReadOnly {
				t.Fatalf("the state file's directory is not the writable state volume: %+v", m)
			}
			switch {
			case vol == nil:
				t.Fatal("no state volume")
			case c.claim != "":
				if vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != c.claim {
					t.Errorf("state volume %+v, want the claim %s", vol.VolumeSource, c.claim)
				}
			default:
				if vol.EmptyDir == nil {
					t.Errorf("state volume %+v, want an emptyDir", vol.VolumeSource)
				}
			}
			if got := dep.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType; got != c.recreate {
				t.Errorf("strategy %q; want Recreate: %v", dep.Spec.Strategy.Type, c.recreate)
			}
		})
	}
}

// TestValuesRejected checks that wrong values fail at helm template time,
// through values.schema.json or the chart's own checks, with a message
// naming the value.
func TestValuesRejected(t *testing.T) {
	checkRejected(t, []rejection{
		{"unknown mode", set("scrapeMode", "perAsset"), "scrapeMode"},
		{"typo", set("serviceMonitor.intervall", "60s"), "intervall"},
		{"unknown top-level value", set("replicas", 1), "replicas"},
		{"bad interval", set("serviceMonitor.interval", "1 minute"), "interval"},
		{"bad window", set("statusTracking.window", "1d"), "window"},
		{"argument not a flag", set("extraArgs", []any{"mi.workspace=x"}), "extraArgs"},
		{"bad scheme", set("web.scheme", "ftp"), "scheme"},
		{"two replicas, one instance", set("replicaCount", 2), "stableInstance"},
		{"created Secret without keys", set("credentials.create", true), "credentials.accessKey"},
		{"no Secret named", set("credentials.existingSecret", ""), "credentials.existingSecret"},
	})
}

// TestNotes checks that NOTES.txt renders and tells what matters.
func TestNotes(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want []string
	}{
		{"default", nil, []string{"create secret generic mediaintel-exporter-credentials", "ServiceMonitor media/mi-mediaintel-exporter", "No additionalLabels"}},
		{"perProject", set("scrapeMode", "perProject", "serviceMonitor.additionalLabels", map[string]any{"release": "kps"}), []string{"ScrapeConfig media/mi-mediaintel-exporter-probe", "per project", "/internal/metrics"}},
		{"demo", set("demo", true), []string{"DEMO MODE", "two accounts (default and lab)"}},
		{"accounts", merge(withServerRole(), set("background.enabled", true)), []string{"3 NCP account(s)", "ConfigMap mi-mediaintel-exporter-config",
			"prod: Secret ncp-prod (keys access-key and secret-key)", "lab_2: Secret ncp-lab (keys ak and sk)", "on-vm: the NCP server's role",
			"Background mode: each account is read every 5m"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			if strings.Contains(r.Notes, "<no value>") {
				t.Errorf("NOTES.txt renders <no value>:\n%s", r.Notes)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Notes, w) {
					t.Errorf("NOTES.txt lacks %q:\n%s", w, r.Notes)
				}
			}
		})
	}
}

// TestSourceFilesAreLinks checks that the chart's files/ are symbolic links
// to the repository's rule files and dashboard, not copies, and that they
// resolve.
func TestSourceFilesAreLinks(t *testing.T) {
	root := testutil.RepoRoot(t)
	for link, target := range map[string]string{
		"alerts.yml":      filepath.Join(root, "deploy", "prometheus", "alerts.yml"),
		"recording.yml":   filepath.Join(root, "deploy", "prometheus", "recording.yml"),
		"mediaintel.json": filepath.Join(root, "dashboards", "mediaintel.json"),
	} {
		p := filepath.Join(chartDir(t), "files", link)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("files/%s: %v", link, err)
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("files/%s is a copy, not a symbolic link to %s", link, target)
			continue
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Errorf("files/%s does not resolve: %v", link, err)
			continue
		}
		want, _ := filepath.EvalSymlinks(target)
		if resolved != want {
			t.Errorf("files/%s resolves to %s, want %s", link, resolved, want)
		}
		if dest, _ := os.Readlink(p); filepath.IsAbs(dest) {
			t.Errorf("files/%s links to an absolute path %s: a clone elsewhere breaks it", link, dest)
		}
	}
}

// TestPackagedChart packages the chart as helm package does and renders the
// package: the linked files' contents must be in it (a chart repository
// serves the package, where the links no longer exist), giving the same
// objects as the chart directory.
func TestPackagedChart(t *testing.T) {
	ch := loadChart(t)
	tgz, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatalf("packaging: %v", err)
	}
	pkg, err := loader.Load(tgz)
	if err != nil {
		t.Fatalf("loading the package %s: %v", tgz, err)
	}
	vals := valuesFile(t, "all-values.yaml")
	fromDir, fromPkg := renderChart(t, ch, vals), renderChart(t, pkg, vals)
	if len(fromDir.Objects) != len(fromPkg.Objects) {
		t.Fatalf("the package renders %d objects, the directory %d", len(fromPkg.Objects), len(fromDir.Objects))
	}
	for i := range fromDir.Objects {
		if string(fromDir.Objects[i].Raw) != string(fromPkg.Objects[i].Raw) {
			t.Errorf("%s %s differs between the package and the directory", fromDir.Objects[i].Kind, fromDir.Objects[i].Name)
		}
	}
	cm := only[*corev1.ConfigMap](t, fromPkg)
	if cm.Data["mediaintel.json"] != string(readFile(t, filepath.Join(testutil.RepoRoot(t), "dashboards", "mediaintel.json"))) {
		t.Error("the packaged chart's dashboard is not dashboards/mediaintel.json")
	}
	fi, _ := os.Stat(tgz)
	t.Logf("package %s: %d bytes", filepath.Base(tgz), fi.Size())
}

// TestDashboardConfigMap checks that the ConfigMap holds
// dashboards/mediaintel.json byte for byte, with the Grafana sidecar's label.
func TestDashboardConfigMap(t *testing.T) {
	want := readFile(t, filepath.Join(testutil.RepoRoot(t), "dashboards", "mediaintel.json"))
	for _, c := range []renderCase{
		{"default", nil},
		{"relabelled", set("dashboard.labels", map[string]any{"grafana_dashboard": "mediaintel"}, "dashboard.namespace", "grafana")},
	} {
		t.Run(c.name, func(t *testing.T) {
			cm := only[*corev1.ConfigMap](t, render(t, c.vals))
			if len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
				t.Errorf("the ConfigMap holds %d keys and %d binary keys, want the dashboard alone", len(cm.Data), len(cm.BinaryData))
			}
			got, ok := cm.Data["mediaintel.json"]
			if !ok {
				t.Fatal("no mediaintel.json key (the sidecar writes each key as a file)")
			}
			if got != string(want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("the dashboard differs from dashboards/mediaintel.json at byte %d of %d (got %d bytes)", i, len(want), len(got))
			}
			wantLabel := "1"
			if c.name == "relabelled" {
				wantLabel = "mediaintel"
				if cm.Namespace != "grafana" {
					t.Errorf("namespace %s, want grafana", cm.Namespace)
				}
			}
			if cm.Labels["grafana_dashboard"] != wantLabel {
				t.Errorf("label grafana_dashboard=%q, want %q", cm.Labels["grafana_dashboard"], wantLabel)
			}
		})
	}
}

// TestDashboardEncodings renders dashboards the chart must also keep byte
// for byte, though the repository's is none of them: with several trailing
// newlines, none, a carriage return, a tab, leading spaces on the first line.
func TestDashboardEncodings(t *testing.T) {
	ch := loadChart(t)
	for _, content := range []string{
		"{\n  \"a\": 1\n}\n\n\n",
		"{\n  \"a\": 1\n}",
		"{\r\n  \"a\": 1\r\n}\r\n",
		"  {\n\t\"a\": \"x  \"   \n\n}\n",
		"{\"é\": \"\\u0000 <&> '\"}\n",
	} {
		for _, f := range ch.Files {
			if f.Name == "files/mediaintel.json" {
				f.Data = []byte(content)
			}
		}
		cm := only[*corev1.ConfigMap](t, renderChart(t, ch, nil))
		if cm.Data["mediaintel.json"] != content {
			t.Errorf("dashboard %q came out as %q", content, cm.Data["mediaintel.json"])
		}
	}
}

// TestLinkCheckedOutAsText renders the chart as a checkout without symbolic
// links would load it (git's core.symlinks=false: each link a text file
// holding its target): the rules and the dashboard must fail to render
// rather than hold the link's text.
func TestLinkCheckedOutAsText(t *testing.T) {
	for _, name := range []string{"files/alerts.yml", "files/recording.yml", "files/mediaintel.json"} {
		t.Run(name, func(t *testing.T) {
			ch := loadChart(t)
			found := false
			for _, f := range ch.Files {
				if f.Name == name {
					dest, err := os.Readlink(filepath.Join(chartDir(t), name))
					if err != nil {
						t.Fatal(err)
					}
					f.Data = []byte(dest)
					found = true
				}
			}
			if !found {
				t.Fatalf("the chart has no %s", name)
			}
			if _, err := renderValues(t, ch, nil); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("rendering with %s as a text file: %v, want an error naming it", name, err)
			}
		})
	}
}
