package deploy

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// inCI reports whether the tests run in CI, where a missing tool is a failure
// rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireTool returns the path of the first of names found on PATH or as an
// absolute path. When none is found the test is skipped, except in CI
// (CI=true), where .ci/run installs the tools and their absence is a failure.
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := "none of " + strings.Join(names, ", ") + " found on PATH (Debian: apt-get install prometheus prometheus-alertmanager; .ci/run does this)"
	if inCI() {
		t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(msg + "; skipping because CI is not \"true\"")
	return ""
}

// repoRoot is the module root: the parent of this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source file")
	}
	return filepath.Dir(filepath.Dir(file))
}

// deployDir is this package's directory.
func deployDir(t *testing.T) string { return filepath.Join(repoRoot(t), "deploy") }

// runTool runs a command with a deadline and returns its combined output,
// failing the test (with the output) if it exits non-zero.
func runTool(t *testing.T, timeout time.Duration, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// readFile reads a file or fails the test.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// requireExporterSource fails the test, with a message that says why, when
// the exporter's main package is not in the repository yet.
func requireExporterSource(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot(t), "main.go")); err != nil {
		t.Fatalf("the exporter's main.go is not in the repository yet (%v): this test builds and runs the exporter and cannot work before it lands", err)
	}
}
