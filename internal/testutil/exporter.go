package testutil

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Exporter is a running exporter process, started by StartExporter.
type Exporter struct {
	// Addr is the host:port it listens on.
	Addr string

	cmd  *exec.Cmd
	out  *LockedBuffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// ExporterOptions are the less common settings of StartExporterWith.
type ExporterOptions struct {
	// Env is the process's whole environment; nil means this process's.
	Env []string
	// Ready tells whether the exporter on addr is ready; nil means that
	// http://addr/-/healthy answers 200.
	Ready func(addr string) bool
}

// StartExporter runs the exporter binary bin with args on a free loopback
// port (it adds --web.listen-address), waits until /-/healthy answers 200
// (30 s at most), and stops it with SIGTERM when the test ends, failing the
// test if it then exits uncleanly. Pass "--demo" for the built-in
// synthetic data.
func StartExporter(t testing.TB, bin string, args ...string) *Exporter {
	t.Helper()
	return StartExporterWith(t, bin, ExporterOptions{}, args...)
}

// StartExporterWith is StartExporter with an environment and a readiness
// check of the caller's.
func StartExporterWith(t testing.TB, bin string, opts ExporterOptions, args ...string) *Exporter {
	t.Helper()
	if opts.Ready == nil {
		opts.Ready = healthy
	}
	var lastErr error
	for range 3 { // the free port may have been taken meanwhile
		e, err := startExporter(bin, opts, args)
		if err == nil {
			t.Cleanup(func() {
				e.Stop(t)
				if t.Failed() {
					t.Logf("exporter output:\n%s", e.Log())
				}
			})
			return e
		}
		lastErr = err
	}
	t.Fatalf("starting the exporter: %v", lastErr)
	return nil
}

func startExporter(bin string, opts ExporterOptions, args []string) (*Exporter, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	e := &Exporter{Addr: addr, out: &LockedBuffer{}, done: make(chan struct{})}
	e.cmd = exec.Command(bin, append(args, "--web.listen-address="+e.Addr)...) //nolint:gosec // G204: the test's own exporter binary and flags
	e.cmd.Env = opts.Env
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { e.err = e.cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !opts.Ready(e.Addr) {
		select {
		case <-e.done:
			if e.err == nil {
				return nil, fmt.Errorf("exporter exited early, with status 0:\n%s", e.Log())
			}
			return nil, fmt.Errorf("exporter exited early: %w\n%s", e.err, e.Log())
		default:
		}
		if time.Now().After(deadline) {
			_ = e.cmd.Process.Kill()
			<-e.done
			return nil, fmt.Errorf("exporter on %s not ready after 30 s:\n%s", e.Addr, e.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e, nil
}

func healthy(addr string) bool {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/-/healthy")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Log returns what the exporter has written to stdout and stderr so far.
func (e *Exporter) Log() string { return e.out.String() }

// Stop sends SIGTERM and waits for the exit, failing the test if the
// exporter exits uncleanly or is still running 10 s later (it is then
// killed). Stopping a stopped exporter does nothing; the test's cleanup
// stops it anyway.
func (e *Exporter) Stop(t testing.TB) {
	t.Helper()
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
		if e.err != nil {
			t.Errorf("exporter exited with %v after SIGTERM:\n%s", e.err, e.Log())
		}
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
		t.Errorf("exporter did not stop within 10 s of SIGTERM:\n%s", e.Log())
	}
}

// Kill ends the exporter with SIGKILL, as an out-of-memory killer or a
// node failure would, and waits for it to be gone.
func (e *Exporter) Kill(t testing.TB) {
	t.Helper()
	_ = e.cmd.Process.Kill()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("exporter still running 10 s after SIGKILL")
	}
}

// Get fetches path (with its query) from the exporter and returns the body,
// failing the test on a transport error or a status other than 200.
func (e *Exporter) Get(t testing.TB, path string) string {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get("http://" + e.Addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	return string(body)
}
