package testutil

import (
	"net/http"
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
	p    *process
}

// Log returns what the process has written to stdout and stderr so far.
func (s *Server) Log() string { return s.p.out.String() }

// StartServer runs bin with args(addr) on a free loopback port until
// http://addr<readyPath> answers 200 (60 s at most), retrying on another
// port if the process exits early (the port may have been taken
// meanwhile). The process is killed when the test ends, and the end of its
// output logged if the test failed.
func StartServer(t testing.TB, name, bin string, args func(addr string) []string, readyPath string) *Server {
	t.Helper()
	p, err := startProcess(bin, nil, args, func(addr string) bool { return answers200("http://" + addr + readyPath) })
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s := &Server{Name: name, Addr: p.addr, p: p}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (end):\n%s", name, Tail(s.Log(), 60))
		}
	})
	return s
}

// answers200 reports whether a GET of u answers 200.
func answers200(u string) bool {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Tail returns the last lines of s.
func Tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
