package helm

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// inCI reports whether the tests run in CI, where a missing tool is a
// failure rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireTool returns the path of the first of names found on PATH. When
// none is, the test is skipped, except in CI (CI=true), where ci.sh installs
// the tools and their absence is a failure.
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := "none of " + strings.Join(names, ", ") + " found on PATH (Debian: apt-get install prometheus; deploy/helm/ci.sh does this)"
	if inCI() {
		t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(msg + "; skipping because CI is not \"true\"")
	return ""
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
