package main

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// TestBackgroundReadiness is issue #24's readiness through the binary:
// in background mode /-/healthy answers 200 from the start, /-/ready 503
// until the first refresh pass has ended (the API answers each call after
// a second, so the pass takes seconds), then 200; from then on /metrics
// answers from memory at once, without a call to the API.
func TestBackgroundReadiness(t *testing.T) {
	t.Parallel()
	inv := matrixInventory()
	sim := mitest.NewServer(inv)
	t.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{}, mitest.Fault{Latency: time.Second})
	c := &http.Client{Timeout: 10 * time.Second}
	healthy := func(addr string) bool {
		status, _, err := getStatus(c, "http://"+addr+"/-/healthy")
		return err == nil && status == http.StatusOK
	}
	start := time.Now()
	p := startExporter(t, baseEnv("NCLOUD_ACCESS_KEY="+mitest.DefaultAccessKey, "NCLOUD_SECRET_KEY="+mitest.DefaultSecretKey), healthy,
		"--mi.api-url="+sim.URL, "--scrape.mode=background", "--scrape.refresh-interval=5m")
	base := "http://" + p.Addr

	var notReady int
	var readyAt time.Duration
	for readyAt == 0 {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("not ready 60 s after the start:\n%s", p.Log())
		}
		if !healthy(p.Addr) {
			t.Fatalf("/-/healthy is not 200 at +%v", time.Since(start).Round(time.Millisecond))
		}
		status, body, err := getStatus(c, base+"/-/ready")
		switch {
		case err != nil:
			t.Fatalf("/-/ready: %v", err)
		case status == http.StatusServiceUnavailable:
			notReady++
		case status == http.StatusOK:
			readyAt = time.Since(start)
		default:
			t.Fatalf("/-/ready answered %d %q", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("/-/ready: 503 %d times, then 200 at +%v", notReady, readyAt.Round(time.Millisecond))
	// Three rounds of calls at least (workspaces, projects, assets), a
	// second each.
	if notReady < 5 || readyAt < 3*time.Second {
		t.Errorf("/-/ready was 503 %d times and 200 after %v: want 503 until the first pass, which takes three seconds at least", notReady, readyAt)
	}

	// Ready: the scrapes are answered from memory, at once.
	before := sim.TotalRequests()
	for range 3 {
		t0 := time.Now()
		body := p.Get(t, "/metrics")
		if took := time.Since(t0); took > 900*time.Millisecond {
			t.Errorf("a scrape in background mode took %v, with an API that answers after a second", took)
		}
		got := parseExposition(t, body)
		if v := got[series("ncp_mediaintel_up", map[string]string{"account": "default"})]; v != 1 {
			t.Errorf("up = %v once ready", v)
		}
		for _, w := range inv.Workspaces {
			for _, pr := range w.Projects {
				s := series("ncp_mediaintel_project_assets_reported", map[string]string{"account": "default", "workspace": w.Name, "project_id": itoa(pr.ID)})
				if v, ok := got[s]; !ok || v != float64(pr.AssetCount()) {
					t.Errorf("%s = %v (present %v), want %d", s, v, ok, pr.AssetCount())
				}
			}
		}
	}
	if after := sim.TotalRequests(); after != before {
		t.Errorf("the scrapes sent %d requests to the API; in background mode they answer from memory", after-before)
	}
	internal := parseExposition(t, p.Get(t, "/internal/metrics"))
	if v := internal[series("ncp_mediaintel_refresh_passes_total", map[string]string{"account": "default", "result": "success"})]; v != 1 {
		t.Errorf("refresh_passes_total{result=\"success\"} = %v, want 1 (the first pass)", v)
	}
}

// TestBackgroundFlagsRefused: flag values that contradict each other or
// background mode stop the exporter with status 2, naming the flag and
// what it wants.
func TestBackgroundFlagsRefused(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildExporter(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scrape.refresh-interval=0"}, `flag=--scrape.refresh-interval want="more than 0"`},
		{[]string{"--scrape.mode=background", "--scrape.refresh-interval=0s"}, `flag=--scrape.refresh-interval want="more than 0"`},
		{[]string{"--scrape.max-staleness=1m", "--scrape.refresh-interval=5m"}, `flag=--scrape.max-staleness want="at least --scrape.refresh-interval"`},
		{[]string{"--scrape.mode=background", "--scrape.cache-ttl=1m"}, `flag=--scrape.cache-ttl want="0 with --scrape.mode=background`},
		{[]string{"--scrape.max-staleness=-1m"}, `flag=--scrape.max-staleness`},
		// kingpin's own message, which names the values but not the flag.
		{[]string{"--scrape.mode=sometimes"}, `enum value must be one of on-scrape,background, got 'sometimes'`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"--demo", "--web.listen-address=" + testutil.FreeAddr(t)}, tc.args...)...)
			cmd.Env = baseEnv()
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the exporter still ran 30 s after it was started with %v:\n%s", tc.args, out)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2:\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("the output lacks %s:\n%s", tc.want, out)
			}
			if strings.Contains(string(out), "Listening on") {
				t.Errorf("the exporter listened before refusing its flags:\n%s", out)
			}
		})
	}
}
