package handler_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter/exportertest"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// The rate limiter (--mi.rate-limit).

// limitedEnv is an env with --mi.rate-limit=rps and --mi.rate-burst=burst.
func limitedEnv(t testing.TB, inv *mitest.Inventory, rps float64, burst int, o envOpts) (*env, *tap, *client.AdaptiveLimiter) {
	o.rateLimit, o.rateBurst = rps, burst
	e, tp := newTapEnv(t, inv, o)
	return e, tp, exportertest.Only(t, e.exp).Limiter
}

// TestRateLimitHeld: a 20-project scrape keeps to the configured rate.
//
// The bucket starts full, so the first burst requests go out at once; after
// them request k is sent 1/rps after request k-1. The rate is therefore
// measured from the first request after the burst to the last one:
// (requests - 1) / (time between them). Over the whole scrape, the burst
// would inflate it by burst/duration.
func TestRateLimitHeld(t *testing.T) {
	const rps, burst = 40.0, 5
	inv := mitest.Generate(10, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 20, AssetsPerProject: 25})
	e, tp, _ := limitedEnv(t, inv, rps, burst, envOpts{pageSize: 10})
	r := e.fetch(context.Background(), "/metrics", "30")
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
			t.Errorf("%s/%d failed", ws, p.ID)
		}
	})
	reqs := tp.requests()
	if len(reqs) != 3+20*3 {
		t.Fatalf("%d requests, want 63", len(reqs))
	}
	paced := reqs[burst:]
	span := paced[len(paced)-1].at.Sub(paced[0].at)
	got := float64(len(paced)-1) / span.Seconds()
	whole := float64(len(reqs)) / reqs[len(reqs)-1].at.Sub(reqs[0].at).Seconds()
	t.Logf("rate after the burst %.2f/s (%.1f%% off %v/s); over the whole scrape %.2f/s", got, 100*(got-rps)/rps, rps, whole)
	if math.Abs(got-rps)/rps > 0.10 {
		t.Errorf("request rate %.2f/s, want %v/s ± 10%%", got, rps)
	}
	if w, _ := sampleValue(fams, "ncp_mediaintel_rate_limiter_wait_seconds_total", nil); w < 1 {
		t.Errorf("rate_limiter_wait_seconds_total %v; 58 requests at 40/s should have waited over 1 s in all", w)
	}
}

// TestRateLimitBacksOffAndRecovers: a 429 (gateway 410, Throttle Limited)
// halves the rate; it climbs back to the setting on its own.
func TestRateLimitBacksOffAndRecovers(t *testing.T) {
	t.Parallel()
	const rps = 100.0
	inv := mitest.Generate(11, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
	e, _, lim := limitedEnv(t, inv, rps, 10, envOpts{})
	victim := inv.Workspaces[0].Projects[1]
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: victim.ID},
		mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "410", Times: 1})
	r := e.fetch(context.Background(), "/metrics", "10")
	cut := time.Now()
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(inv.Workspaces[0].Name, victim.ID)); ok != 1 {
		t.Errorf("throttled project not retried to success")
	}
	if n, _ := sampleValue(fams, "ncp_mediaintel_rate_limiter_reductions_total", nil); n != 1 || lim.Reductions() != 1 {
		t.Errorf("rate_limiter_reductions_total %v, Reductions %d; want 1", n, lim.Reductions())
	}
	if n, _ := sampleValue(fams, "ncp_mediaintel_api_requests_total", map[string]string{"operation": "list_assets", "code": "429"}); n != 1 {
		t.Errorf("api_requests_total{code=429} %v, want 1", n)
	}
	if got := lim.Rate(); got < rps/2 || got > rps/2+rps/10 {
		t.Errorf("rate right after the 429: %v, want about %v", got, rps/2)
	}
	// Scrapes go on without 429s: the rate climbs back by a tenth of the
	// setting a second. (The limiter applies the increase when a request
	// waits, so Rate is read after a scrape.)
	prev := lim.Rate()
	for lim.Rate() < rps {
		time.Sleep(250 * time.Millisecond)
		if res := e.scraper.Scrape(context.Background(), scrape.Scope{}); !res.Up {
			t.Fatalf("scrape while recovering: %v", res.Err)
		}
		cur := lim.Rate()
		if cur < prev {
			t.Fatalf("rate went down from %v to %v while recovering", prev, cur)
		}
		if el := time.Since(cut).Seconds(); cur > rps/2+rps/10*(el+0.5) {
			t.Fatalf("rate %v after %.2f s: faster than a tenth a second", cur, el)
		}
		if time.Since(cut) > 7*time.Second {
			t.Fatalf("rate %v of %v after %v; want full recovery within about 5 s", cur, rps, time.Since(cut))
		}
		prev = cur
	}
	if took := time.Since(cut); took < 4*time.Second {
		t.Errorf("recovered in %v; additive increase should take about 5 s", took)
	}
	r = e.fetch(context.Background(), "/metrics", "10")
	if got, _ := sampleValue(parseFamilies(t, r.body), "ncp_mediaintel_rate_limiter_allowed_requests_per_second", nil); got != rps {
		t.Errorf("rate_limiter_allowed_requests_per_second %v after recovery, want %v", got, rps)
	}
}

// TestRateLimitWaitCountsAgainstDeadline: with a low rate and a short
// deadline, projects fail by the deadline instead of the scrape overrunning.
func TestRateLimitWaitCountsAgainstDeadline(t *testing.T) {
	inv := mitest.Generate(12, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 20, AssetsPerProject: 5})
	e, tp, _ := limitedEnv(t, inv, 2, 1, envOpts{})
	r := e.fetch(context.Background(), "/metrics", "1")
	if r.status != 200 {
		t.Fatalf("scrape: %d %v", r.status, r.err)
	}
	if r.took > 3*time.Second { // waiting for the limiter past the deadline would take 6 s
		t.Errorf("scrape with a 1 s deadline took %v", r.took)
	}
	fams := parseFamilies(t, r.body)
	failed := 0
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok == 0 {
			failed++
		}
	})
	if failed < 18 {
		t.Errorf("%d of 20 projects failed; at 2/s with a 1 s deadline at most 2 requests fit after discovery", failed)
	}
	// One token at once, then one every 0.5 s: at most 3 by the deadline.
	if n := len(tp.requests()); n > 3 {
		t.Errorf("%d requests reached the API in 1 s at 2/s, burst 1", n)
	}
	if !strings.Contains(e.logs.String(), "rate limiter") {
		t.Errorf("logs do not say the rate limiter held the projects back")
	}
}
