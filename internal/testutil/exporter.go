package testutil

import (
	"io"
	"net/http"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// Exporter is a running exporter process, started by StartExporter.
type Exporter struct {
	// Addr is the host:port it listens on.
	Addr string
	p    *process
}

// ExporterOptions are the less common settings of StartExporterWith.
type ExporterOptions struct {
	// Env is the process's whole environment; nil means this process's.
	Env []string
	// Ready tells whether the exporter on addr is ready; nil means that
	// http://addr/-/ready answers 200 (the exporter is built, its state
	// file loaded and, in background mode, its first refresh pass ended).
	Ready func(addr string) bool
}

// StartExporter runs the exporter binary bin with args on a free loopback
// port (it adds --web.listen-address), waits until /-/ready answers 200
// (60 s at most), and stops it with SIGTERM when the test ends, failing the
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
	ready := opts.Ready
	if ready == nil {
		ready = func(addr string) bool { return answers200("http://" + addr + "/-/ready") }
	}
	withAddr := func(addr string) []string { return append(slices.Clone(args), "--web.listen-address="+addr) }
	p, err := startProcess(bin, opts.Env, withAddr, ready)
	if err != nil {
		t.Fatalf("starting the exporter: %v", err)
	}
	e := &Exporter{Addr: p.addr, p: p}
	t.Cleanup(func() {
		e.Stop(t)
		if t.Failed() {
			t.Logf("exporter output:\n%s", e.Log())
		}
	})
	return e
}

// PID is the exporter's process ID, to read what the system says of the
// process (/proc/PID/status: its peak resident set).
func (e *Exporter) PID() int { return e.p.cmd.Process.Pid }

// Log returns what the exporter has written to stdout and stderr so far.
func (e *Exporter) Log() string { return e.p.out.String() }

// Stop sends SIGTERM and waits for the exit, failing the test if the
// exporter exits uncleanly or is still running 10 s later (it is then
// killed). Stopping a stopped exporter does nothing; the test's cleanup
// stops it anyway.
func (e *Exporter) Stop(t testing.TB) {
	t.Helper()
	p := e.p
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("exporter exited with %v after SIGTERM:\n%s", p.err, e.Log())
		}
	case <-time.After(10 * time.Second):
		p.kill()
		t.Errorf("exporter did not stop within 10 s of SIGTERM:\n%s", e.Log())
	}
}

// Signal sends sig to the exporter (SIGHUP to reload its configuration
// file, say).
func (e *Exporter) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := e.p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to the exporter: %v", sig, err)
	}
}

// Exited reports whether the exporter process has ended.
func (e *Exporter) Exited() bool {
	select {
	case <-e.p.done:
		return true
	default:
		return false
	}
}

// Kill ends the exporter with SIGKILL, as an out-of-memory killer or a
// node failure would, and waits for it to be gone.
func (e *Exporter) Kill(t testing.TB) {
	t.Helper()
	_ = e.p.cmd.Process.Kill()
	select {
	case <-e.p.done:
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
