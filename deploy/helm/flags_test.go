package helm

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// exporterFlags returns the flags mediaintel_exporter --help lists, by name
// without dashes; a boolean flag listed as --[no-]x is also known as no-x.
func exporterFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := testutil.BuildExporter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out.String())
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(\[no-\])?([a-z0-9][a-z0-9.\-]*)`).FindAllStringSubmatch(out.String(), -1) {
		flags[m[2]] = true
		if m[1] != "" {
			flags["no-"+m[2]] = true
		}
	}
	// The parse must have worked: these flags have been there from the start.
	for _, f := range []string{"web.listen-address", "ncp.access-key-file", "ncp.secret-key-file", "log.level", "demo", "no-scrape.histograms"} {
		if !flags[f] {
			t.Fatalf("--help does not list --%s (or this test no longer reads it):\n%s", f, out.String())
		}
	}
	return flags
}

// unknownFlags returns the arguments that are not flags in the set.
func unknownFlags(args []string, flags map[string]bool) []string {
	var bad []string
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "--")
		name, _, _ = strings.Cut(name, "=")
		if !ok || !flags[name] {
			bad = append(bad, a)
		}
	}
	return bad
}

// TestArgsAreExporterFlags checks that every argument the Deployment passes,
// in every case, is a flag that the exporter built from this repository
// lists in --help.
func TestArgsAreExporterFlags(t *testing.T) {
	flags := exporterFlags(t)
	if bad := unknownFlags([]string{"--web.listen-address=:1", "--nonsense", "web.listen-address", "--no-demo-at-all"}, flags); len(bad) != 3 {
		t.Fatalf("the check itself is broken: it flags %v", bad)
	}
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			args := only[*appsv1.Deployment](t, render(t, c.vals)).Spec.Template.Spec.Containers[0].Args
			if len(args) < 3 {
				t.Fatalf("only %d arguments: %v", len(args), args)
			}
			if bad := unknownFlags(args, flags); len(bad) > 0 {
				var names []string
				for n := range flags {
					names = append(names, n)
				}
				sort.Strings(names)
				t.Errorf("arguments that mediaintel_exporter --help does not list: %v\n(it lists: %s)", bad, strings.Join(names, " "))
			}
		})
	}
}

// placeholderSecrets are the Secrets the chart's test values name, with
// placeholder keys: enough for the exporter to start, never to call the
// API.
var placeholderSecrets = map[string]map[string]string{
	"mediaintel-exporter-credentials": {"access-key": "placeholder-access-key\n", "secret-key": "placeholder-secret-key\n"},
	"ncp-prod":                        {"access-key": "placeholder-prod-access-key", "secret-key": "placeholder-prod-secret-key"},
	"ncp-lab":                         {"ak": "placeholder-lab-access-key", "sk": "placeholder-lab-secret-key"},
}

// TestExporterStartsWithRenderedArgs runs the exporter with the arguments
// the Deployment passes, on the pod's files laid out in a temporary
// directory (the key files, the accounts' configuration file), and checks
// that it starts and answers the startup and readiness probes' path, then
// the liveness probe's. No scrape is made: the keys are placeholders and
// the API is never called (readiness must not depend on it); in
// background mode the demo's simulator is read.
func TestExporterStartsWithRenderedArgs(t *testing.T) {
	bin := testutil.BuildExporter(t)
	for _, c := range []renderCase{
		{"default", nil},
		{"demo", set("demo", true)},
		{"demo-background", set("demo", true, "background.enabled", true, "background.refreshInterval", "1m", "background.maxStaleness", "10m",
			"accountName", "media")},
		{"created-credentials", set("credentials.create", true, "credentials.accessKey", "AKTEST", "credentials.secretKey", "SKTEST",
			"extraArgs", []any{"--mi.concurrency=4", "--scrape.cache-ttl=50s"}, "log.format", "json")},
		{"accounts", merge(twoAccounts(), set("web.enableLifecycle", true))},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.vals)
			p := layOutPod(t, r, placeholderSecrets)
			ctr := p.spec.Containers[0]
			for what, probe := range map[string]*corev1.Probe{"startup": ctr.StartupProbe, "readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe} {
				if probe == nil || probe.HTTPGet == nil {
					t.Fatalf("no HTTP %s probe", what)
				}
			}
			e := testutil.StartExporterWith(t, bin, testutil.ExporterOptions{
				Env: p.env(t),
				Ready: func(addr string) bool {
					return get200("http://"+addr+ctr.StartupProbe.HTTPGet.Path) && get200("http://"+addr+ctr.ReadinessProbe.HTTPGet.Path)
				},
			}, p.args()...)
			if !get200("http://" + e.Addr + ctr.LivenessProbe.HTTPGet.Path) {
				t.Errorf("liveness probe %s does not answer 200", ctr.LivenessProbe.HTTPGet.Path)
			}
		})
	}
}

// get200 reports whether a GET of u answers 200.
func get200(u string) bool {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
