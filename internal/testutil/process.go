package testutil

import (
	"fmt"
	"os/exec"
	"time"
)

// The one way the tests start a server process (the exporter binary, a
// real Prometheus or Alertmanager): on a free loopback port, polled until
// it is ready, with a new port if it exits early (another process may
// have taken the port meanwhile).
const (
	startAttempts = 3
	startTimeout  = 60 * time.Second
	startPoll     = 50 * time.Millisecond
)

// process is a running server process and its output.
type process struct {
	addr string
	cmd  *exec.Cmd
	out  *LockedBuffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// startProcess runs bin with args(addr) and the environment env (nil: this
// process's) on a free loopback address until ready(addr) is true, trying
// up to startAttempts ports.
func startProcess(bin string, env []string, args func(addr string) []string, ready func(addr string) bool) (*process, error) {
	var lastErr error
	for range startAttempts {
		p, err := startOnce(bin, env, args, ready)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin string, env []string, args func(addr string) []string, ready func(addr string) bool) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	p := &process{addr: addr, out: &LockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args(addr)...) //nolint:gosec // G204: the test's own server binary and flags
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(startTimeout)
	for !ready(addr) {
		select {
		case <-p.done:
			if p.err == nil {
				return nil, fmt.Errorf("%s exited early, with status 0:\n%s", bin, p.out)
			}
			return nil, fmt.Errorf("%s exited early: %w\n%s", bin, p.err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s on %s not ready after %s:\n%s", bin, addr, startTimeout, p.out)
		}
		time.Sleep(startPoll)
	}
	return p, nil
}

// kill ends the process with SIGKILL and waits for it to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
