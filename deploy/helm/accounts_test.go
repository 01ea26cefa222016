package helm

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/config"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// twoAccounts is values with two accounts whose keys are in Secrets, one
// with the default key names and one with its own, each with some of the
// optional settings.
func twoAccounts() map[string]any {
	return map[string]any{"accounts": []any{
		map[string]any{"name": "prod", "existingSecret": "ncp-prod",
			"labels": map[string]any{"team": "video", "env": "prod"}, "workspaces": []any{"media-prod"},
			"rateLimit": 0, "projectInclude": ""},
		map[string]any{"name": "lab_2", "existingSecret": "ncp-lab", "accessKeyKey": "ak", "secretKeyKey": "sk",
			"apiURL": "https://mi.apigw.example.com/v2", "projectExclude": "tmp-.*", "countOnly": ".*",
			"rateLimit": 2.5, "rateBurst": 5, "concurrency": 4, "statusRate": 1.5},
	}}
}

// withServerRole is twoAccounts with a third account that reads the
// server role's keys.
func withServerRole() map[string]any {
	v := twoAccounts()
	v["accounts"] = append(v["accounts"].([]any), map[string]any{"name": "on-vm", "serverRole": true, "workspaces": []any{"media-vm"}})
	return v
}

// valuesAccounts returns the accounts value of vals.
func valuesAccounts(vals map[string]any) []map[string]any {
	list, _ := vals["accounts"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, a := range list {
		out = append(out, a.(map[string]any))
	}
	return out
}

// renderedConfig returns the configuration file the pod reads, parsed by
// the exporter's own parser (config.Parse): --config.file names a file in
// a ConfigMap volume mounted whole (so that the kubelet's updates reach
// it) and read-only, and the ConfigMap is one the chart renders.
func renderedConfig(t *testing.T, r rendered) (*config.File, *corev1.ConfigMap) {
	t.Helper()
	ps := only[*appsv1.Deployment](t, r).Spec.Template.Spec
	var path string
	for _, a := range ps.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			path = v
		}
	}
	if path == "" {
		t.Fatalf("no --config.file in %v", ps.Containers[0].Args)
	}
	m := mountFor(ps.Containers[0], filepath.Dir(path))
	if m == nil {
		t.Fatalf("--config.file=%s: nothing is mounted at %s", path, filepath.Dir(path))
	}
	if m.SubPath != "" || m.SubPathExpr != "" || !m.ReadOnly {
		t.Errorf("the configuration is mounted with subPath %q or writable (readOnly %v): a subPath mount never sees the ConfigMap's updates", m.SubPath, m.ReadOnly)
	}
	vol := volumeNamed(ps, m.Name)
	if vol == nil || vol.ConfigMap == nil {
		t.Fatalf("volume %s is not a ConfigMap: %+v", m.Name, vol)
	}
	var cm *corev1.ConfigMap
	for _, c := range all[*corev1.ConfigMap](r) {
		if c.Name == vol.ConfigMap.Name {
			cm = c
		}
	}
	if cm == nil {
		t.Fatalf("the pod mounts the ConfigMap %s, which the chart does not render", vol.ConfigMap.Name)
	}
	data, ok := cm.Data[filepath.Base(path)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s (keys: %v)", cm.Name, filepath.Base(path), cm.Data)
	}
	f, err := config.Parse(path, []byte(data))
	if err != nil {
		t.Fatalf("the exporter refuses the rendered configuration file: %v\n%s", err, data)
	}
	return f, cm
}

// checkAccountKeys checks the accounts of the rendered configuration file
// against the values' accounts: the same names in the same order; a
// Secret's account reads key files that are its Secret's keys as the pod
// mounts them, in a directory of its own; a serverRole account reads the
// server role and has nothing mounted.
func checkAccountKeys(t *testing.T, r rendered, accts []map[string]any) {
	t.Helper()
	f, _ := renderedConfig(t, r)
	ps := only[*appsv1.Deployment](t, r).Spec.Template.Spec
	if len(f.Accounts) != len(accts) {
		t.Fatalf("the configuration file has %d accounts, the values %d", len(f.Accounts), len(accts))
	}
	dirs := map[string]string{}
	for i, want := range accts {
		got := f.Accounts[i]
		if got.Name != want["name"] {
			t.Errorf("account %d is %q, want %q", i, got.Name, want["name"])
		}
		if want["serverRole"] == true {
			if got.Source.Kind != config.ServerRole {
				t.Errorf("account %s: source %v, want server_role", got.Name, got.Source.Kind)
			}
			for _, m := range ps.Containers[0].VolumeMounts {
				if strings.Contains(m.MountPath, "/"+got.Name) {
					t.Errorf("account %s reads the server role, yet %s is mounted at %s", got.Name, m.Name, m.MountPath)
				}
			}
			continue
		}
		if got.Source.Kind != config.KeyFiles {
			t.Errorf("account %s: source %v, want key files", got.Name, got.Source.Kind)
			continue
		}
		ak, sk := "access-key", "secret-key"
		if k, ok := want["accessKeyKey"].(string); ok {
			ak = k
		}
		if k, ok := want["secretKeyKey"].(string); ok {
			sk = k
		}
		secret, _ := want["existingSecret"].(string)
		checkKeyFile(t, ps, "account "+got.Name+" access_key_file", got.Source.AccessKeyFile, secret, ak)
		checkKeyFile(t, ps, "account "+got.Name+" secret_key_file", got.Source.SecretKeyFile, secret, sk)
		dir := filepath.Dir(got.Source.AccessKeyFile)
		if other, ok := dirs[dir]; ok {
			t.Errorf("accounts %s and %s read their keys from the same directory %s", other, got.Name, dir)
		}
		dirs[dir] = got.Name
	}
}

// settingsOf returns the optional settings of a parsed account by the
// names of the chart's values.
func settingsOf(a config.Account) map[string]any {
	m := map[string]any{}
	put := func(k string, set bool, v any) {
		if set {
			m[k] = v
		}
	}
	put("apiURL", a.APIURL != nil, a.APIURL)
	put("workspaces", a.Workspaces != nil, a.Workspaces)
	put("projectInclude", a.ProjectInclude != nil, a.ProjectInclude)
	put("projectExclude", a.ProjectExclude != nil, a.ProjectExclude)
	put("countOnly", a.CountOnly != nil, a.CountOnly)
	put("rateLimit", a.RateLimit != nil, a.RateLimit)
	put("rateBurst", a.RateBurst != nil, a.RateBurst)
	put("concurrency", a.Concurrency != nil, a.Concurrency)
	put("statusRate", a.StatusRate != nil, a.StatusRate)
	put("labels", a.Labels != nil, a.Labels)
	return m
}

// asJSON is v as JSON, so that values of Helm's types (float64, []any)
// compare with the parser's (int, []string).
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAccounts renders accounts and checks what the exporter will read:
// the configuration file, which its own parser accepts, holds every
// account with the settings the values give it (an optional setting left
// out stays out, so that the flag's value applies, and 0 or "" are
// written); each Secret is mounted where its account's key files point;
// --config.file replaces the one account's flags; the NetworkPolicy lets
// out to the metadata service only when an account reads the server role.
func TestAccounts(t *testing.T) {
	for _, c := range []renderCase{
		{"two-secrets", merge(twoAccounts(), set("networkPolicy.enabled", true))},
		{"server-role", merge(withServerRole(), set("networkPolicy.enabled", true))},
		{"ci/accounts-values.yaml", valuesFile(t, "accounts-values.yaml")},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			accts := valuesAccounts(c.vals)
			checkAccountKeys(t, r, accts)
			f, cm := renderedConfig(t, r)
			for i, a := range f.Accounts {
				want := map[string]any{}
				for k, v := range accts[i] {
					switch k {
					case "name", "existingSecret", "accessKeyKey", "secretKeyKey", "serverRole":
					default:
						want[k] = v
					}
				}
				if got, w := asJSON(t, settingsOf(a)), asJSON(t, want); got != w {
					t.Errorf("account %s: settings %s in the configuration file, want those of the values, %s", a.Name, got, w)
				}
			}
			if !strings.Contains(cm.Data["config.yml"], "rendered by the chart") {
				t.Errorf("the configuration file does not say where it comes from:\n%s", cm.Data["config.yml"])
			}
			ps := only[*appsv1.Deployment](t, r).Spec.Template.Spec
			for _, v := range ps.Volumes {
				for _, e := range validation.IsDNS1123Label(v.Name) {
					t.Errorf("volume name %q: %s", v.Name, e)
				}
			}
			serverRole := slices.ContainsFunc(accts, func(a map[string]any) bool { return a["serverRole"] == true })
			for _, np := range all[*networkingv1.NetworkPolicy](r) {
				metadata := false
				for _, e := range np.Spec.Egress {
					for _, to := range e.To {
						if to.IPBlock != nil && to.IPBlock.CIDR == "169.254.169.254/32" && len(e.Ports) == 1 && e.Ports[0].Port.IntValue() == 80 {
							metadata = true
						}
					}
				}
				if metadata != serverRole {
					t.Errorf("NetworkPolicy lets out to the metadata service (169.254.169.254:80): %v; an account reads the server role: %v", metadata, serverRole)
				}
			}
		})
	}
}

// TestAccountsRejected checks that accounts the exporter would refuse, or
// that the chart cannot mount, fail the render with a message naming the
// account and what is wrong.
func TestAccountsRejected(t *testing.T) {
	acct := func(kv ...any) map[string]any { return set(kv...) }
	accounts := func(list ...map[string]any) map[string]any {
		var l []any
		for _, a := range list {
			l = append(l, a)
		}
		return map[string]any{"accounts": l}
	}
	prod := acct("name", "prod", "existingSecret", "ncp-prod")
	checkRejected(t, []rejection{
		{"duplicate name", accounts(prod, acct("name", "lab", "serverRole", true), acct("name", "prod", "serverRole", true)),
			"accounts[2] (prod): the name prod is also that of accounts[0]"},
		{"both sources", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "serverRole", true)), "accounts[0] (prod): both existingSecret and serverRole"},
		{"no source", accounts(prod, acct("name", "lab")), "accounts[1] (lab): no key"},
		{"serverRole false alone", accounts(acct("name", "lab", "serverRole", false)), "accounts[0] (lab): no key"},
		{"empty Secret name", accounts(acct("name", "lab", "existingSecret", "")), "existingSecret"},
		{"key names with serverRole", accounts(acct("name", "vm", "serverRole", true, "accessKeyKey", "ak")), "accessKeyKey"},
		{"upper-case name", accounts(acct("name", "Prod", "existingSecret", "ncp-prod")), "name"},
		{"name too long", accounts(acct("name", strings.Repeat("a", 64), "existingSecret", "ncp-prod")), "name"},
		{"no name", accounts(acct("existingSecret", "ncp-prod")), "name"},
		{"misspelt key", accounts(acct("name", "prod", "existingsecret", "ncp-prod")), "existingsecret"},
		{"config file key", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "rate_limit", 2)), "rate_limit"},
		{"bad workspace", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "workspaces", []any{"Media Prod"})), "workspaces"},
		{"no workspace", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "workspaces", []any{})), "workspaces"},
		{"concurrency 0", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "concurrency", 0)), "concurrency"},
		{"concurrency as a string", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "concurrency", "4")), "concurrency"},
		{"negative rate", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "rateLimit", -1)), "rateLimit"},
		{"api URL with a query", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "apiURL", "https://mi.example.com/?x=1")), "apiURL"},
		{"label named account", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "labels", map[string]any{"account": "x"})), "accounts[0] (prod): labels has a label named account"},
		{"label name with a dash", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "labels", map[string]any{"cost-center": "x"})), "labels"},
		{"label name with __", accounts(acct("name", "prod", "existingSecret", "ncp-prod", "labels", map[string]any{"__x": "x"})), "labels"},
		{"with demo", merge(accounts(prod), set("demo", true)), "demo=true brings its own two accounts"},
		{"with a created Secret", merge(accounts(prod), set("credentials.create", true, "credentials.accessKey", "AK", "credentials.secretKey", "SK")),
			"credentials.create makes a Secret that no account reads"},
		{"bad account name", set("accountName", "Media"), "accountName"},
	})
}

// TestRenderedAccountsRun runs the exporter on the pod the chart renders
// for three accounts in background mode: two with their keys in Secrets
// (the simulator's two accounts' keys, under the key names the values
// give), one reading the server role of a metadata service that is not
// there. The exporter must read both Secrets' accounts, each with its own
// settings and static labels, and report the third as down for want of
// credentials. Then the values change as a helm upgrade changes them, and
// the ConfigMap's new content reaches the running exporter as the kubelet
// brings it (a swap of the ..data link): the exporter reloads it, with no
// restart.
func TestRenderedAccountsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the exporter: skipped with -short")
	}
	sim := mitest.NewDemoServer()
	t.Cleanup(sim.Close)
	// Nothing listens there: the server role has no key to give.
	metadata := "http://" + testutil.FreeAddr(t)
	values := func(labSettings ...any) map[string]any {
		lab := set(append([]any{"name", "lab", "existingSecret", "ncp-lab", "accessKeyKey", "ak", "secretKeyKey", "sk", "apiURL", sim.URL}, labSettings...)...)
		return merge(map[string]any{"accounts": []any{
			set("name", "prod", "existingSecret", "ncp-prod", "apiURL", sim.URL, "labels", map[string]any{"team": "video"}),
			lab,
			set("name", "vm", "serverRole", true, "apiURL", sim.URL),
		}}, set("background.enabled", true, "background.refreshInterval", "1m",
			"extraEnv", []any{map[string]any{"name": "NCLOUD_METADATA_API_ENDPOINT", "value": metadata}}))
	}
	secrets := map[string]map[string]string{
		"ncp-prod": {"access-key": mitest.DefaultAccessKey + "\n", "secret-key": mitest.DefaultSecretKey + "\n"},
		"ncp-lab":  {"ak": mitest.DemoLabAccessKey, "sk": mitest.DemoLabSecretKey},
	}
	p := layOutPod(t, render(t, values("workspaces", []any{"media-prod"}, "labels", map[string]any{"team": "research"})), secrets)
	e := testutil.StartExporterWith(t, testutil.BuildExporter(t), testutil.ExporterOptions{Env: p.env(t)}, p.args()...)

	metrics := e.Get(t, "/metrics")
	for _, want := range []string{
		`ncp_mediaintel_up{account="prod"} 1`,
		`ncp_mediaintel_up{account="lab"} 1`,
		`ncp_mediaintel_up{account="vm"} 0`,
		`ncp_mediaintel_account_info{account="prod",team="video"} 1`,
		`ncp_mediaintel_account_info{account="lab",team="research"} 1`,
		`ncp_mediaintel_workspace_scrape_success{account="lab",workspace="media-prod"} 1`,
		`ncp_mediaintel_workspace_scrape_success{account="prod",workspace="media-prod"} 1`,
		`ncp_mediaintel_workspace_scrape_success{account="prod",workspace="media-staging"} 1`,
		`ncp_mediaintel_discovery_failure{account="vm",reason="credentials"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `account="lab",workspace="research-lab"`) {
		t.Error("/metrics has the lab account's workspace research-lab, which its workspaces setting leaves out")
	}
	if t.Failed() {
		t.Fatalf("/metrics:\n%s", grepLines(metrics, `^ncp_mediaintel_(up|account_info|workspace_scrape_success|discovery_failure)\b`))
	}

	// helm upgrade with lab's workspaces and label changed: the pod spec
	// stays the same (no rollout), the ConfigMap changes.
	r := render(t, values("workspaces", []any{"research-lab"}, "labels", map[string]any{"team": "speech"}))
	if a, b := asJSON(t, only[*appsv1.Deployment](t, r).Spec.Template), asJSON(t, only[*appsv1.Deployment](t, render(t, values())).Spec.Template); a != b {
		t.Fatal("an account's settings change the pod template: an upgrade would roll the pod instead of reloading")
	}
	p.update(t, r)
	var last string
	testutil.Eventually(t, 60*time.Second, "the exporter reloads the changed configuration", func() bool {
		last = e.Get(t, "/metrics")
		return strings.Contains(last, `ncp_mediaintel_account_info{account="lab",team="speech"} 1`) &&
			strings.Contains(last, `ncp_mediaintel_workspace_scrape_success{account="lab",workspace="research-lab"} 1`) &&
			!strings.Contains(last, `account="lab",workspace="media-prod"`) &&
			strings.Contains(last, "ncp_mediaintel_config_last_reload_successful 1")
	})
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(last, `^ncp_mediaintel_(up|account_info|workspace_scrape_success|config_last_reload_successful)\b`))
	}
}

// grepLines returns the lines of s that match the regular expression.
func grepLines(s, expr string) string {
	re := regexp.MustCompile(expr)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBackgroundMode checks the background values: off by default (no
// --scrape.mode), on with --scrape.mode=background and the refresh
// interval, the staleness limit only when set; and the startup budget
// that the Deployment's progress deadline follows.
func TestBackgroundMode(t *testing.T) {
	for _, c := range []struct {
		name     string
		vals     map[string]any
		want     []string
		deadline int32 // 0: Kubernetes' default
	}{
		{"default", nil, nil, 10*180 + 60},
		{"on", set("background.enabled", true), []string{"--scrape.mode=background", "--scrape.refresh-interval=5m"}, 10*180 + 60},
		{"durations", set("background.enabled", true, "background.refreshInterval", "2m", "background.maxStaleness", "1h30m"),
			[]string{"--scrape.mode=background", "--scrape.refresh-interval=2m", "--scrape.max-staleness=1h30m"}, 10*180 + 60},
		{"durations-but-off", set("background.refreshInterval", "2m", "background.maxStaleness", "10m"), nil, 10*180 + 60},
		{"long-start", set("background.enabled", true, "startupProbe.failureThreshold", 720, "startupProbe.initialDelaySeconds", 30),
			[]string{"--scrape.mode=background", "--scrape.refresh-interval=5m"}, 30 + 10*720 + 60},
		{"short-start", set("startupProbe.failureThreshold", 30), nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dep := only[*appsv1.Deployment](t, render(t, c.vals))
			var got []string
			for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--scrape.") {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("arguments %v, want %v", got, c.want)
			}
			var deadline int32
			if d := dep.Spec.ProgressDeadlineSeconds; d != nil {
				deadline = *d
			}
			if deadline != c.deadline {
				t.Errorf("progressDeadlineSeconds %d, want %d (0: unset, the default 600)", deadline, c.deadline)
			}
			sp := dep.Spec.Template.Spec.Containers[0].StartupProbe
			if sp == nil {
				t.Fatal("no startup probe")
			}
			budget := sp.InitialDelaySeconds + sp.PeriodSeconds*sp.FailureThreshold
			if deadline != 0 && deadline <= budget || deadline == 0 && budget+60 > 600 {
				t.Errorf("progressDeadlineSeconds %d does not cover the startup budget of %d s", deadline, budget)
			}
		})
	}
	checkRejected(t, []rejection{
		{"bad interval", set("background.refreshInterval", "5 minutes"), "refreshInterval"},
		{"empty interval", set("background.refreshInterval", ""), "refreshInterval"},
		{"bad staleness", set("background.maxStaleness", "1d"), "maxStaleness"},
		{"cache with background", set("background.enabled", true, "extraArgs", []any{"--scrape.cache-ttl=50s"}), "--scrape.cache-ttl=50s with background.enabled"},
	})
	// A cache TTL of 0 is no cache: allowed.
	render(t, set("background.enabled", true, "extraArgs", []any{"--scrape.cache-ttl=0s"}))
}

// TestLifecycle checks web.enableLifecycle: --web.enable-lifecycle only
// when set.
func TestLifecycle(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			args := only[*appsv1.Deployment](t, render(t, merge(twoAccounts(), set("web.enableLifecycle", on)))).Spec.Template.Spec.Containers[0].Args
			if got := slices.Contains(args, "--web.enable-lifecycle"); got != on {
				t.Errorf("--web.enable-lifecycle in %v: %v, want %v", args, got, on)
			}
		})
	}
}
