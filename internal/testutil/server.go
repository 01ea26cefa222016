package testutil

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Server is a server process a test started with StartServer: a real
// Prometheus or Alertmanager, say.
type Server struct {
	// Name is what the test calls it, in messages.
	Name string
	// Addr is the host:port it listens on.
	Addr string
	out  *LockedBuffer
}

// Log returns what the process has written to stdout and stderr so far.
func (s *Server) Log() string { return s.out.String() }

// StartServer runs bin with args(addr) on a free loopback port until
// http://addr<readyPath> answers 200 (60 s at most), retrying on another
// port if the process exits early (the port may have been taken
// meanwhile). The process is killed when the test ends, and the end of its
// output logged if the test failed.
func StartServer(t testing.TB, name, bin string, args func(addr string) []string, readyPath string) *Server {
	t.Helper()
	var lastErr error
	for range 3 {
		s := &Server{Name: name, Addr: FreeAddr(t), out: &LockedBuffer{}}
		cmd := exec.Command(bin, args(s.Addr)...) //nolint:gosec // G204: the test's own server binary and flags
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
		if err := waitHTTP(exited, "http://"+s.Addr+readyPath, 60*time.Second); err != nil {
			stop()
			lastErr = fmt.Errorf("%w\n%s output:\n%s", err, name, s.Log())
			continue
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("%s output (end):\n%s", name, Tail(s.Log(), 60))
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
			if err != nil {
				return fmt.Errorf("%s not ready after %s: %w", u, timeout, err)
			}
			return fmt.Errorf("%s not ready after %s", u, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Tail returns the last lines of s.
func Tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
