package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuild()
	os.Exit(code)
}

// requireTool returns the path of the first of names on PATH; when none is
// there, the test is skipped, or failed under .ci/run (see
// testutil.RequireTool).
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	return testutil.RequireTool(t, names...)
}

// prometheusBinsEnv lists the Prometheus servers to test against, separated
// by the OS's path list separator (":"); .ci/run sets it to Debian's 2.x and
// a current 3.x. Each one's promtool is the promtool beside it.
const prometheusBinsEnv = "MEDIAINTEL_PROMETHEUS_BINS"

// promRelease is one Prometheus release to test against.
type promRelease struct {
	Version    string // as --version prints it, e.g. 2.42.0+ds or 3.16.0
	Prometheus string // the server's binary
	Promtool   string // the promtool beside it
}

// Major is the release's major version, 0 if unknown.
func (r promRelease) Major() int {
	n, _ := strconv.Atoi(strings.SplitN(r.Version, ".", 2)[0])
	return n
}

var (
	versionRE   = regexp.MustCompile(`(?m)^(?:prometheus|promtool), version v?([^\s(]+)`)
	goModuleRE  = regexp.MustCompile(`(?m)^\tmod\tgithub\.com/prometheus/prometheus\tv(\S+)`)
	moduleVerRE = regexp.MustCompile(`^0\.(\d+)(\d\d)\.(\d+)$`)
)

// releaseVersion is the version "bin --version" prints. A binary built by
// go install without version flags prints none: its Go module version
// (go version -m) is told as the release, v0.316.0 as 3.16.0 (Prometheus'
// module versions are v0.MAJOR*100+MINOR.PATCH).
func releaseVersion(t *testing.T, bin string) string {
	t.Helper()
	if m := versionRE.FindStringSubmatch(testutil.RunTool(t, time.Minute, "", bin, "--version")); m != nil {
		return m[1]
	}
	// go test puts its own GOROOT/bin first on PATH.
	m := goModuleRE.FindStringSubmatch(testutil.RunTool(t, time.Minute, "", "go", "version", "-m", bin))
	if m == nil {
		t.Fatalf("%s: no version in --version nor in its Go build information", bin)
	}
	v := m[1]
	if mv := moduleVerRE.FindStringSubmatch(v); mv != nil {
		minor, _ := strconv.Atoi(mv[2])
		v = mv[1] + "." + strconv.Itoa(minor) + "." + mv[3]
	}
	return v
}

// prometheusReleases returns the Prometheus releases the tests run against:
// those of MEDIAINTEL_PROMETHEUS_BINS, else the prometheus on PATH. When the
// tools are required (.ci/run: testutil.ToolsRequired) it must name a 2.x
// and a 3.x release (users run both); otherwise a missing Prometheus skips
// the test.
func prometheusReleases(t *testing.T) []promRelease {
	t.Helper()
	var bins []string
	if v := os.Getenv(prometheusBinsEnv); v != "" {
		bins = filepath.SplitList(v)
	} else if testutil.ToolsRequired(t) {
		t.Fatalf("%s is not set, and %s is: CI tests against Prometheus 2.x and 3.x (.ci/run sets both)", prometheusBinsEnv, testutil.RequireToolsEnv)
	} else {
		bins = []string{requireTool(t, "prometheus")}
	}
	var releases []promRelease
	majors := map[int]bool{}
	for _, bin := range bins {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s names %s: %v", prometheusBinsEnv, bin, err)
		}
		promtool := filepath.Join(filepath.Dir(bin), "promtool")
		if _, err := os.Stat(promtool); err != nil {
			t.Fatalf("no promtool beside %s: %v", bin, err)
		}
		r := promRelease{Version: releaseVersion(t, bin), Prometheus: bin, Promtool: promtool}
		if tv := releaseVersion(t, promtool); tv != r.Version {
			t.Fatalf("%s is version %s, the prometheus beside it %s", promtool, tv, r.Version)
		}
		releases = append(releases, r)
		majors[r.Major()] = true
	}
	if testutil.ToolsRequired(t) && (!majors[2] || !majors[3]) {
		t.Fatalf("%s=%q: CI (%s set) tests against a Prometheus 2.x and a 3.x, found %v", prometheusBinsEnv, testutil.RequireToolsEnv, os.Getenv(prometheusBinsEnv), releases)
	}
	return releases
}

// forEachPrometheus runs f as a subtest per Prometheus release, named after
// its version.
func forEachPrometheus(t *testing.T, f func(t *testing.T, r promRelease)) {
	t.Helper()
	for _, r := range prometheusReleases(t) {
		t.Run("prometheus-"+r.Version, func(t *testing.T) { f(t, r) })
	}
}

// deployDir is this package's directory.
func deployDir(t *testing.T) string { return filepath.Join(testutil.RepoRoot(t), "deploy") }

// readFile reads a file or fails the test.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
