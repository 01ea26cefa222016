package helm

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
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

// repoRoot is the exporter's repository root, two levels up.
func repoRoot(t testing.TB) string { return filepath.Dir(filepath.Dir(helmDir(t))) }

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

// runTool runs a command with a deadline and returns its combined output,
// failing the test (with the output) if it exits non-zero.
func runTool(t *testing.T, timeout time.Duration, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string // removed by TestMain
)

// TestMain removes the exporter binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// exporterBinary builds the exporter once per test run with deploy/build.sh,
// the script the Dockerfile runs, from the repository root.
func exporterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root := repoRoot(t)
		if _, err := os.Stat(filepath.Join(root, "main.go")); err != nil {
			buildErr = fmt.Errorf("the exporter's main.go is not at %s: %w", root, err)
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "mediaintel-helm-test-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "mediaintel_exporter")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "deploy", "build.sh"), buildBin)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "VERSION=0.0.0-helmtest", "REVISION=test", "BRANCH=test", "BUILD_USER=test", "BUILD_DATE=20000101-00:00:00")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the exporter with deploy/build.sh: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a process started by a test, listening on addr.
type server struct {
	name string
	addr string
	out  *syncBuffer
}

// startServer runs bin with args(addr) on a free loopback port until
// http://addr<readyPath> answers 200 (60 s at most), retrying on another port
// if the process exits early (the port may have been taken meanwhile). The
// process is killed when the test ends, and its output logged if it failed.
func startServer(t *testing.T, name, bin string, args func(addr string) []string, readyPath string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s := &server{name: name, addr: freeAddr(t), out: &syncBuffer{}}
		cmd := exec.Command(bin, args(s.addr)...)
		cmd.Stdout, cmd.Stderr = s.out, s.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := waitHTTP(exited, "http://"+s.addr+readyPath, 60*time.Second); err != nil {
			stop()
			lastErr = fmt.Errorf("%w\n%s output:\n%s", err, name, s.out.String())
			continue
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("%s output (end):\n%s", name, tail(s.out.String(), 40))
			}
		})
		return s
	}
	t.Fatalf("starting %s: %v", name, lastErr)
	return nil
}

func waitHTTP(exited <-chan struct{}, u string, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("exited before answering %s", u)
		default:
		}
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (%w)", u, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
