// Package exportertest builds and runs the real mediaintel_exporter binary for
// tests outside the main package (the deployment and dashboard tests), in
// --demo mode, on a free loopback port.
package exportertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the version the test binary is built with; build_info shows it.
const Version = "0.0.0-exportertest"

// RepoRoot is the module root.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate exportertest's source file")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Build compiles the exporter with deploy/build.sh into a temporary
// directory and returns the binary's path. It fails the test with a clear
// message when the exporter's main.go is not in the repository yet.
func Build(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "main.go")); err != nil {
		t.Fatalf("the exporter's main.go is not in the repository yet (%v): this test runs the real exporter and cannot work before it lands", err)
	}
	out := filepath.Join(t.TempDir(), "mediaintel_exporter")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "deploy", "build.sh"), out)
	cmd.Env = append(os.Environ(), "VERSION="+Version, "REVISION=test", "BRANCH=test", "BUILD_USER=test", "BUILD_DATE=20000101-00:00:00")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the exporter with deploy/build.sh: %v\n%s", err, b)
	}
	return out
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Exporter is a running exporter process.
type Exporter struct {
	Addr string // host:port it listens on
	cmd  *exec.Cmd
	log  *lockedBuffer
}

// Log returns what the exporter has logged so far.
func (e *Exporter) Log() string { return e.log.String() }

// Start runs bin --demo on a free loopback port with the extra args, waits
// until it answers /-/healthy (30s at most) and stops it when the test ends.
func Start(t testing.TB, bin string, args ...string) *Exporter {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken meanwhile
		e, err := start(t, bin, args...)
		if err == nil {
			return e
		}
		lastErr = err
	}
	t.Fatalf("starting the exporter: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, args ...string) (*Exporter, error) {
	addr := FreeAddr(t)
	e := &Exporter{Addr: addr, log: &lockedBuffer{}}
	e.cmd = exec.Command(bin, append([]string{"--demo", "--web.listen-address=" + addr, "--log.level=info"}, args...)...)
	e.cmd.Stdout = e.log
	e.cmd.Stderr = e.log
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- e.cmd.Wait() }()
	stop := func() {
		_ = e.cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("exporter exited early (%v); log:\n%s", err, e.Log())
		default:
		}
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("exporter on %s not healthy after 30s (%v); log:\n%s", addr, err, e.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.Log())
		}
	})
	return e, nil
}

// Get fetches path (with query) from the exporter and returns the body,
// failing the test on a transport error or a status other than 200.
func (e *Exporter) Get(t testing.TB, path string) string {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Get("http://" + e.Addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	return string(body)
}

// MetricNames returns the metric names in a text exposition: every sample's
// name, plus the family name of every # TYPE line (so a histogram is known
// both as x and as x_bucket, x_sum, x_count).
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

// Sorted returns the keys of a set, sorted.
func Sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
