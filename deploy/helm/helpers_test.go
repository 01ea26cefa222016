package helm

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// requireTool returns the path of the first of names on PATH; when none is
// there, the test is skipped, or failed under .ci/run and ci.sh (see
// testutil.RequireTool).
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	return testutil.RequireTool(t, names...)
}

// prometheusBinsEnv lists Prometheus servers, separated by ":", each with
// its promtool beside it: .ci/run sets it to Debian's 2.x and a current 3.x
// (as for the deploy module's tests) before it runs ci.sh.
const prometheusBinsEnv = "MEDIAINTEL_PROMETHEUS_BINS"

var promtoolVersionRE = regexp.MustCompile(`(?m)^promtool, version v?(\S+)`)

// forEachPromtool runs f as a subtest per promtool, named after its version:
// the promtools beside the servers of MEDIAINTEL_PROMETHEUS_BINS, else the
// promtool on PATH (see requireTool).
func forEachPromtool(t *testing.T, f func(t *testing.T, promtool string)) {
	t.Helper()
	var tools []string
	if v := os.Getenv(prometheusBinsEnv); v != "" {
		for _, bin := range filepath.SplitList(v) {
			tools = append(tools, filepath.Join(filepath.Dir(bin), "promtool"))
		}
	} else {
		tools = []string{requireTool(t, "promtool")}
	}
	for _, p := range tools {
		name := p
		if m := promtoolVersionRE.FindStringSubmatch(testutil.RunTool(t, time.Minute, "", p, "--version")); m != nil {
			name = "promtool-" + m[1]
		}
		t.Run(name, func(t *testing.T) { f(t, p) })
	}
}

// helmDir is the directory of this module (deploy/helm).
func helmDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source file")
	}
	return filepath.Dir(file)
}

// chartDir is the chart's directory.
func chartDir(t testing.TB) string { return filepath.Join(helmDir(t), "mediaintel-exporter") }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMain removes the exporter binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuild()
	os.Exit(code)
}

// rejection is values the chart must refuse, and a word its error names.
type rejection struct {
	name string
	vals map[string]any
	want string
}

// checkRejected renders the chart with each case's values and checks that
// the render fails with an error that names what is wrong.
func checkRejected(t *testing.T, cases []rejection) {
	t.Helper()
	ch := loadChart(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderValues(t, ch, c.vals)
			if err == nil {
				t.Fatalf("values %v were accepted", c.vals)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("the error does not name %q: %v", c.want, err)
			}
		})
	}
}
