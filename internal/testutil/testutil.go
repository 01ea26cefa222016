// Package testutil holds what the tests of several packages and modules of
// this repository need alike: a goroutine-safe output buffer, a free
// loopback address, polling for a condition, the repository root, a tool run
// with a deadline, and the exporter binary built once per test process and
// run as a user would.
//
// It uses the standard library only, so that the nested modules (dashboards,
// deploy) can import it without pulling anything into their builds.
package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// LockedBuffer collects the output of a process (or of any writers) and may
// be read while it is written to.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties the buffer (a long test's log would otherwise grow).
func (l *LockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// FreeAddr returns a 127.0.0.1:port address whose port was free a moment
// ago. Another process may take it meanwhile: StartExporter retries.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	return addr
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Eventually polls cond until it returns true, and fails the test with
// what when it has not within timeout. The interval starts at 10 ms and
// doubles to at most 50 ms, so that quick conditions are seen at once, a
// state that lasts only a moment is not missed, and nothing is polled in a
// busy loop.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyNoError(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = errors.New("condition still false")

// EventuallyNoError is Eventually for a check that says why it is not
// satisfied yet: it polls f until it returns nil and, on timeout, fails the
// test with what and f's last error.
func EventuallyNoError(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 10 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			if errors.Is(err, errNotYet) {
				t.Fatalf("%s: not true after %s", what, timeout)
			}
			t.Fatalf("%s: not true after %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
		interval = min(2*interval, 50*time.Millisecond) // short: a state may last only a moment
	}
}

// RepoRoot returns the directory of the repository's root module (the
// exporter's), found from this source file's location, so that it is right
// from any package and from the nested modules, whatever the working
// directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot locate its own source file")
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // internal/testutil/testutil.go
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("testutil: %s is not the module root (built with -trimpath?): %v", root, err)
	}
	return root
}

// ExporterVersion is the version BuildExporter gives the binary;
// ncp_mediaintel_build_info and --version show it.
const ExporterVersion = "0.0.0-testutil"

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// BuildExporter builds the exporter with deploy/build.sh, the script the
// Dockerfile runs, once per test process, and returns the binary's path. A
// failed build fails every test that asks for the binary, with the build's
// output. The binary lives in a directory of its own that outlives each
// test; RemoveBuild, from TestMain, deletes it.
func BuildExporter(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "mediaintel_exporter-test-")
		if build.err != nil {
			build.err = fmt.Errorf("creating the build directory: %w", build.err)
			return
		}
		bin := filepath.Join(build.dir, "mediaintel_exporter")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// go test puts its own GOROOT/bin first on PATH: the go command
		// that runs these tests builds the exporter too.
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "deploy", "build.sh"), bin) //nolint:gosec // G204: this repository's build script
		cmd.Dir = root
		cmd.Env = append(os.Environ(),
			"VERSION="+ExporterVersion, "REVISION=test", "BRANCH=test", "BUILD_USER=test", "BUILD_DATE=20000101-00:00:00")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building the exporter with deploy/build.sh: %w\n%s", err, out)
			return
		}
		build.bin = bin
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// RemoveBuild deletes what BuildExporter built. Call it from TestMain after
// m.Run.
func RemoveBuild() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// MetricNames returns the metric names in a Prometheus text exposition:
// every sample's name, plus the family name of every # TYPE line (so a
// histogram is known both as x and as x_bucket, x_sum and x_count).
func MetricNames(exposition string) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			if f := strings.Fields(line); len(f) >= 3 {
				names[f[2]] = true
			}
		case strings.HasPrefix(line, "#"):
		default:
			if i := strings.IndexAny(line, "{ "); i > 0 {
				names[line[:i]] = true
			}
		}
	}
	return names
}

// RunTool runs a command in dir with a deadline and returns its combined
// output, failing the test (with the output) when it exits non-zero or runs
// past the deadline.
func RunTool(t testing.TB, timeout time.Duration, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G204: the tools the tests choose (promtool, helm, sh)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}
