package helm

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// exporterFlags returns the flags mediaintel_exporter --help lists, by name
// without dashes; a boolean flag listed as --[no-]x is also known as no-x.
func exporterFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := exporterBinary(t)
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
