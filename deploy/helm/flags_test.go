package helm

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	appsv1 "k8s.io/api/apps/v1"
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

// TestExporterStartsWithRenderedArgs runs the exporter with the arguments
// the Deployment passes (the mounted paths moved into a temporary directory
// holding key files, and the listen address onto loopback), and checks that
// it starts and answers the readiness probe's path, then the liveness
// probe's. No scrape is made: the key is a placeholder and the API is never
// called (readiness must not depend on it).
func TestExporterStartsWithRenderedArgs(t *testing.T) {
	bin := testutil.BuildExporter(t)
	for _, c := range []renderCase{
		{"default", nil},
		{"demo", set("demo", true)},
		{"created-credentials", set("credentials.create", true, "credentials.accessKey", "AKTEST", "credentials.secretKey", "SKTEST",
			"extraArgs", []any{"--mi.concurrency=4", "--scrape.cache-ttl=50s"}, "log.format", "json")},
	} {
		t.Run(c.name, func(t *testing.T) {
			dep := only[*appsv1.Deployment](t, render(t, c.vals))
			ctr := dep.Spec.Template.Spec.Containers[0]
			dir := t.TempDir()
			for _, m := range ctr.VolumeMounts {
				if err := os.MkdirAll(filepath.Join(dir, m.MountPath), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range ctr.Args {
				if f, ok := strings.CutPrefix(a, "--ncp.access-key-file="); ok {
					writeTemp(t, filepath.Join(dir, filepath.Dir(f)), filepath.Base(f), []byte("placeholder-access-key\n"))
				}
				if f, ok := strings.CutPrefix(a, "--ncp.secret-key-file="); ok {
					writeTemp(t, filepath.Join(dir, filepath.Dir(f)), filepath.Base(f), []byte("placeholder-secret-key\n"))
				}
			}
			var probePath string
			if ctr.ReadinessProbe != nil && ctr.ReadinessProbe.HTTPGet != nil {
				probePath = ctr.ReadinessProbe.HTTPGet.Path
			}
			if probePath == "" {
				t.Fatal("no HTTP readiness probe")
			}
			if ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil {
				t.Fatal("no HTTP liveness probe")
			}
			srv := testutil.StartServer(t, "exporter "+c.name, bin, func(addr string) []string {
				var args []string
				for _, a := range ctr.Args {
					switch {
					case strings.HasPrefix(a, "--web.listen-address="):
						a = "--web.listen-address=" + addr
					case strings.Contains(a, "=/"):
						k, v, _ := strings.Cut(a, "=")
						a = k + "=" + filepath.Join(dir, v)
					}
					args = append(args, a)
				}
				return args
			}, probePath)
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + srv.Addr + ctr.LivenessProbe.HTTPGet.Path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("liveness probe %s: %s", ctr.LivenessProbe.HTTPGet.Path, resp.Status)
			}
		})
	}
}
