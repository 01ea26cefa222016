package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBuild()
	os.Exit(code)
}

// fakeTB records a Fatal or a Skip and ends its goroutine, as testing.T
// does.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func (f *fakeTB) Fatal(args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skip(args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn with a fakeTB in a goroutine of its own and returns what it
// failed with ("" if it did not).
func run(fn func(t testing.TB)) string {
	fatal, _ := runTB(fn)
	return fatal
}

// runTB is run that also returns what fn skipped with ("" if it did not).
func runTB(fn func(t testing.TB)) (fatal, skipped string) {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() { defer close(done); fn(f) }()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal, f.skipped
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Errorf("%d bytes written, want 800", got)
	}
}

func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q, want 127.0.0.1:port", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	l.Close()
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, 5*time.Second, "third call", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
	msg := run(func(t testing.TB) { Eventually(t, 50*time.Millisecond, "never", func() bool { return false }) })
	if !strings.Contains(msg, "never: not true after 50ms") {
		t.Errorf("a timeout failed with %q", msg)
	}
	msg = run(func(t testing.TB) {
		EventuallyNoError(t, 50*time.Millisecond, "never", func() error { return fmt.Errorf("the reason") })
	})
	if !strings.Contains(msg, "never: not true after 50ms: the reason") {
		t.Errorf("a timeout failed with %q", msg)
	}
}

func TestRunTool(t *testing.T) {
	dir := t.TempDir()
	if got := RunTool(t, 10*time.Second, dir, "sh", "-c", "pwd; echo to-stderr >&2"); got != dir+"\nto-stderr\n" {
		t.Errorf("RunTool returned %q, want the directory and the standard error", got)
	}
	msg := run(func(t testing.TB) { RunTool(t, 10*time.Second, dir, "sh", "-c", "echo the-output; exit 3") })
	if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "the-output") {
		t.Errorf("a failing command failed with %q", msg)
	}
	start := time.Now()
	msg = run(func(t testing.TB) { RunTool(t, 100*time.Millisecond, dir, "sleep", "30") })
	if !strings.Contains(msg, "killed") || time.Since(start) > 10*time.Second {
		t.Errorf("a command past its deadline failed with %q after %v", msg, time.Since(start))
	}
}

func TestRepoRoot(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "module github.com/mediaintel/mediaintel_exporter\n") {
		t.Errorf("RepoRoot's go.mod is not the exporter's:\n%.200s", b)
	}
}

func TestMetricNames(t *testing.T) {
	got := MetricNames("# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_sum 1\n\nup 1\n  g{a=\"b c\"} 2 1700000000\n# a comment\n")
	want := []string{"g", "h_seconds", "h_seconds_bucket", "h_seconds_sum", "up"}
	if len(got) != len(want) {
		t.Errorf("MetricNames = %v, want %v", got, want)
	}
	for _, n := range want {
		if !got[n] {
			t.Errorf("MetricNames lacks %s: %v", n, got)
		}
	}
}

// TestExporter builds the exporter, runs it in demo mode, scrapes it and
// stops it, as the tests elsewhere do.
func TestExporter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the exporter: skipped with -short")
	}
	bin := BuildExporter(t)
	if again := BuildExporter(t); again != bin {
		t.Errorf("second BuildExporter gave %s, the first %s: want one build per process", again, bin)
	}
	e := StartExporter(t, bin, "--demo")
	names := MetricNames(e.Get(t, "/metrics"))
	if !names["ncp_mediaintel_up"] || !names["ncp_mediaintel_build_info"] {
		t.Errorf("the demo's /metrics lacks ncp_mediaintel_up or _build_info: %v", names)
	}
	if !strings.Contains(e.Get(t, "/metrics"), `version="`+ExporterVersion+`"`) {
		t.Errorf("build_info does not carry version %s", ExporterVersion)
	}
	e.Stop(t)
	e.Stop(t) // stopping twice is harmless
	if !strings.Contains(e.Log(), "SYNTHETIC") {
		t.Errorf("the demo's log does not say the data is synthetic:\n%s", e.Log())
	}

	// A binary that exits at once is reported with its output.
	msg := run(func(t testing.TB) { StartExporter(t, bin, "--no-such-flag") })
	if !strings.Contains(msg, "exited early") || !strings.Contains(msg, "no-such-flag") {
		t.Errorf("an exporter that cannot start failed the test with %q", msg)
	}
}
