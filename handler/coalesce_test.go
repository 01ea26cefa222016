package handler_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Coalescing: overlapping scrapes of a scope share one API pass.

// TestCoalescedScrapes: overlapping /metrics scrapes share one API pass.
func TestCoalescedScrapes(t *testing.T) {
	for _, n := range []int{2, 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			inv := mitest.Generate(3, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 3, AssetsPerProject: 25})
			e := newEnv(t, inv, envOpts{pageSize: 10, opts: handler.Options{MaxInFlight: 32}})
			// The workspace list is slow, so the others arrive while the
			// first scrape's pass is still running.
			e.sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Latency: 300 * time.Millisecond})

			results := make([]scrapeResult, n)
			var wg sync.WaitGroup
			wg.Go(func() { results[0] = e.fetch(context.Background(), "/metrics", "10") })
			testutil.Eventually(t, 5*time.Second, "the first pass to start", func() bool { return e.sim.Requests(client.OpListWorkspaces) == 1 })
			for i := 1; i < n; i++ {
				wg.Go(func() { results[i] = e.fetch(context.Background(), "/metrics", "10") })
			}
			wg.Wait()
			pass := countOps(e.sim)
			total := e.sim.TotalRequests()

			// One scrape alone, for its budget.
			e.sim.ResetCounters()
			one := e.fetch(context.Background(), "/metrics", "10")
			if one.err != nil || one.status != 200 {
				t.Fatalf("single scrape: %d %v", one.status, one.err)
			}
			if single := countOps(e.sim); fmt.Sprint(single) != fmt.Sprint(pass) || e.sim.TotalRequests() != total {
				t.Errorf("%d overlapping scrapes sent %v (%d requests); one scrape alone sends %v (%d)", n, pass, total, single, e.sim.TotalRequests())
			}
			if pass[client.OpListWorkspaces] != 1 || pass[client.OpListAssets] != 6*3 {
				t.Errorf("API calls %v; want 1 workspace list and 18 asset pages", pass)
			}

			oneFams := parseFamilies(t, one.body)
			if got, _ := sampleValue(oneFams, "ncp_mediaintel_scrapes_coalesced_total", nil); got != float64(n-1) {
				t.Errorf("scrapes_coalesced_total = %v, want %d", got, n-1)
			}
			var first map[string]float64
			for i, r := range results {
				if r.err != nil || r.status != 200 {
					t.Fatalf("scrape %d: %d %v", i, r.status, r.err)
				}
				fams := parseFamilies(t, r.body)
				if up, _ := sampleValue(fams, "ncp_mediaintel_up", nil); up != 1 {
					t.Errorf("scrape %d: up %v", i, up)
				}
				figs := map[string]float64{}
				eachProject(inv, func(ws string, p *mitest.Project) {
					for k, v := range assetFigures(fams, ws, p.ID) {
						figs[k] = v
					}
					if got, _ := sampleValue(fams, "ncp_mediaintel_project_assets_reported", projSel(ws, p.ID)); got != 25 {
						t.Errorf("scrape %d: %s/%d reported %v, want 25", i, ws, p.ID, got)
					}
				})
				if i == 0 {
					first = figs
					continue
				}
				if fmt.Sprint(figs) != fmt.Sprint(first) {
					t.Errorf("scrape %d has other asset figures than scrape 0", i)
				}
			}
		})
	}
}

// TestCoalescedJoinerLeaves: a scrape that goes away while others wait
// for the same pass (the one that started it, or one that joined it) does
// not cancel the pass for the one still waiting.
func TestCoalescedJoinerLeaves(t *testing.T) {
	for _, tc := range []struct {
		name        string
		starterGoes bool
	}{{"joiner leaves", false}, {"starter leaves", true}} {
		t.Run(tc.name, func(t *testing.T) {
			inv := mitest.Generate(4, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
			e := newEnv(t, inv, envOpts{})
			e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Latency: 500 * time.Millisecond})

			ctxStart, cancelStart := context.WithCancel(context.Background())
			ctxJoin, cancelJoin := context.WithCancel(context.Background())
			defer cancelStart()
			defer cancelJoin()
			leave, stay := cancelJoin, make(chan scrapeResult, 1)
			left := make(chan scrapeResult, 1)
			startCh, joinCh := stay, left
			if tc.starterGoes {
				leave, startCh, joinCh = cancelStart, left, stay
			}
			go func() { startCh <- e.fetch(ctxStart, "/metrics", "10") }()
			testutil.Eventually(t, 5*time.Second, "asset lists to start", func() bool { return e.sim.Requests(client.OpListAssets) > 0 })
			go func() { joinCh <- e.fetch(ctxJoin, "/metrics", "10") }()
			testutil.Eventually(t, 2*time.Second, "the second scrape to join", func() bool { return e.h.Waiters(scrape.Scope{}) == 2 })
			leave()
			if r := <-left; r.err == nil {
				t.Error("the cancelled scrape got an answer")
			}
			testutil.Eventually(t, 2*time.Second, "the exporter to see the client go", func() bool { return e.h.Waiters(scrape.Scope{}) == 1 })
			a := <-stay

			if a.err != nil || a.status != 200 {
				t.Fatalf("remaining scrape: %d %v", a.status, a.err)
			}
			fams := parseFamilies(t, a.body)
			eachProject(inv, func(ws string, p *mitest.Project) {
				if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
					t.Errorf("%s/%d: project_scrape_success %v, want 1: the pass was cancelled for the scrape still waiting", ws, p.ID, ok)
				}
			})
			if got := e.sim.Requests(client.OpListAssets); got != 3 {
				t.Errorf("asset-list calls %d, want 3 (one pass)", got)
			}
		})
	}
}

// TestCoalescedAllLeave: when every scrape waiting for a pass has gone,
// the pass is cancelled and its requests end at the API.
func TestCoalescedAllLeave(t *testing.T) {
	inv := mitest.Generate(5, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 3, AssetsPerProject: 5})
	e, tp := newTapEnv(t, inv, envOpts{})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Hang: true})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { e.fetch(ctx, "/metrics", "30") })
	}
	testutil.Eventually(t, 5*time.Second, "both scrapes on one pass with asset lists hanging", func() bool {
		return e.h.Waiters(scrape.Scope{}) == 2 && tp.inflight.Load() == 3
	})
	cancel()
	wg.Wait()
	// The pass had 30 s; it must end now, and its requests with it.
	testutil.Eventually(t, 2*time.Second, "the hanging requests to end", func() bool { return tp.inflight.Load() == 0 })
	testutil.Eventually(t, 2*time.Second, "the pass to end", func() bool { return e.h.Waiters(scrape.Scope{}) == -1 })
	if got := int64(promtestutil.ToFloat64(e.serving.Coalesced)); got != 1 {
		t.Errorf("coalesced %d, want 1", got)
	}

	// The next scrape starts a pass of its own and succeeds.
	e.sim.ClearFaults()
	r := e.fetch(context.Background(), "/metrics", "5")
	if r.err != nil || r.status != 200 {
		t.Fatalf("next scrape: %d %v", r.status, r.err)
	}
	fams := parseFamilies(t, r.body)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws, p.ID)); ok != 1 {
			t.Errorf("%s/%d: project_scrape_success %v after the cancelled pass", ws, p.ID, ok)
		}
	})
}

// TestCoalescedEarlierDeadline: a scrape that joins a pass with a later
// deadline than its own is answered by its own deadline.
func TestCoalescedEarlierDeadline(t *testing.T) {
	inv := mitest.Generate(6, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 2, AssetsPerProject: 5})
	e := newEnv(t, inv, envOpts{})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Hang: true})

	var a scrapeResult
	var wg sync.WaitGroup
	wg.Go(func() { a = e.fetch(context.Background(), "/metrics", "2") })
	testutil.Eventually(t, 5*time.Second, "asset lists to start", func() bool { return e.sim.Requests(client.OpListAssets) == 2 })
	b := e.fetch(context.Background(), "/metrics", "0.3")
	if b.err != nil || b.status != 200 {
		t.Fatalf("joiner: %d %v", b.status, b.err)
	}
	if b.took > 1200*time.Millisecond { // waiting for the pass would take 1.5 s
		t.Errorf("joiner with a 0.3 s deadline answered after %v", b.took)
	}
	if got := int64(promtestutil.ToFloat64(e.serving.Coalesced)); got != 1 {
		t.Errorf("coalesced %d, want 1 (the joiner joined)", got)
	}
	if up, _ := sampleValue(parseFamilies(t, b.body), "ncp_mediaintel_up", nil); up != 0 {
		t.Errorf("joiner answered before the pass ended: want up 0, got %v", up)
	}
	// A joiner whose deadline has passed when it looks at the pass: its
	// context and its own timer are both done; it must not take the
	// context's end for the pass's and wait for the pass.
	dctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	start := time.Now()
	for range 20 {
		if res := e.h.Do(dctx, scrape.Scope{}); res.Err == nil {
			t.Fatalf("expired joiner got a result without an error")
		}
	}
	if took := time.Since(start); took > 500*time.Millisecond || int64(promtestutil.ToFloat64(e.serving.Coalesced)) != 21 {
		t.Errorf("20 expired joiners took %v (coalesced %d of 21): some waited for the pass", took, int64(promtestutil.ToFloat64(e.serving.Coalesced)))
	}
	wg.Wait()
	// Its deadline: the header's 2 s less the default offset.
	if deadline := 2*time.Second - handler.DefaultTimeoutOffset; a.err != nil || a.status != 200 || a.took < deadline-100*time.Millisecond || a.took > deadline+time.Second {
		t.Errorf("first scrape: status %d, err %v, took %v; want 200 at its %v deadline", a.status, a.err, a.took, deadline)
	}
}
