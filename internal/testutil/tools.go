package testutil

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// RequireToolsEnv names the environment variable that makes a missing tool
// (prometheus, promtool, Alertmanager, zip) fail a test instead of skipping
// it. .ci/run and deploy/helm/ci.sh set it to 1: they install the tools, so
// a missing one means CI is broken. make test (go test alone) leaves it
// unset, so that a machine without the tools still runs everything else.
const RequireToolsEnv = "MEDIAINTEL_REQUIRE_TOOLS"

// ToolsRequired reports whether a missing tool fails the test rather than
// skipping it: RequireToolsEnv holds a true value of strconv.ParseBool
// ("1", "true"). A value ParseBool does not know fails the test, since
// guessing either way would hide a mistake.
func ToolsRequired(t testing.TB) bool {
	t.Helper()
	v, ok := os.LookupEnv(RequireToolsEnv)
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		t.Fatalf("%s=%q: want 1 (a missing tool fails the test) or 0 (it skips the test)", RequireToolsEnv, v)
	}
	return b
}

// MissingTool skips the test with msg, which names the missing tool, or
// fails it when ToolsRequired.
func MissingTool(t testing.TB, msg string) {
	t.Helper()
	if ToolsRequired(t) {
		t.Fatal(msg + "; " + RequireToolsEnv + " is set (.ci/run installs the tools), so this fails rather than skips")
	}
	t.Skip(msg + "; skipped (set " + RequireToolsEnv + "=1 to fail instead, as .ci/run does)")
}

// debianPackage is the Debian package that installs each tool the tests
// look for, for the message of a missing one.
var debianPackage = map[string]string{
	"prometheus":              "prometheus",
	"promtool":                "prometheus",
	"alertmanager":            "prometheus-alertmanager",
	"prometheus-alertmanager": "prometheus-alertmanager",
	"amtool":                  "prometheus-alertmanager",
}

// RequireTool returns the path of the first of names found on PATH (or
// given as a path). When none is, MissingTool skips or fails the test with
// a message naming them and the Debian packages that have them.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("RequireTool: no tool named")
	}
	var pkgs []string
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		pkg := debianPackage[n]
		if pkg == "" {
			pkg = n
		}
		if !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	what := names[0] + " is not on PATH"
	if len(names) > 1 {
		what = "none of " + strings.Join(names, ", ") + " is on PATH"
	}
	MissingTool(t, what+" (Debian: apt-get install "+strings.Join(pkgs, " ")+")")
	return ""
}
