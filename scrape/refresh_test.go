package scrape_test

import (
	"context"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// newRefresher is a Refresher of sim with one pass made, or none.
func newRefresher(t *testing.T, sim *mitest.Server, cfg scrape.RefreshConfig) *scrape.Refresher {
	t.Helper()
	api, err := client.New(sim.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := scrape.NewScraper(api, scrape.Config{Account: "acct", Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	return scrape.NewRefresher(s, cfg)
}

func projectOf(t *testing.T, res *scrape.Result, ws string, id int64) *scrape.ProjectResult {
	t.Helper()
	for _, w := range res.Workspaces {
		for _, p := range w.Projects {
			if w.Name == ws && p.Project.ID == id {
				return p
			}
		}
	}
	t.Fatalf("project %s/%d not in the snapshot", ws, id)
	return nil
}

func twoProjects() *mitest.Inventory {
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-bg", Projects: []*mitest.Project{
		{ID: 1, Name: "one", Assets: []mitest.Asset{asset(11, "mp4", "1920x1080", 60000, 1000), asset(12, "png", "1080x1080", -1, 10)}},
		{ID: 2, Name: "two", Assets: []mitest.Asset{asset(21, "mov", "1280x720", 1000, 500)}},
	}}}}
}

// TestRefresherSnapshot: before a pass nothing is read; after one the
// figures are exact; snapshots make no API request; a change appears
// after the next pass.
func TestRefresherSnapshot(t *testing.T) {
	inv := twoProjects()
	sim := mitest.NewServer(inv)
	t.Cleanup(sim.Close)
	r := newRefresher(t, sim, scrape.RefreshConfig{Interval: time.Hour})

	res := r.Snapshot(scrape.Scope{})
	if res.Up || scrape.FailureReasonOf(res.Err) != scrape.FailNotYetRead || len(res.Workspaces) != 0 || res.Account != "acct" {
		t.Fatalf("before a pass: up %v, err %v, %d workspaces", res.Up, res.Err, len(res.Workspaces))
	}
	select {
	case <-r.FirstPass():
		t.Fatal("first pass ended before it ran")
	default:
	}
	r.Pass(context.Background())
	<-r.FirstPass()
	calls := sim.TotalRequests()
	for range 20 {
		res = r.Snapshot(scrape.Scope{})
	}
	if got := sim.TotalRequests(); got != calls {
		t.Errorf("20 snapshots made %d API requests", got-calls)
	}
	if !res.Up || res.DiscoveredAt.IsZero() || len(res.Workspaces) != 1 || !res.Workspaces[0].Success || res.Workspaces[0].ProjectCount != 2 {
		t.Fatalf("after a pass: %+v", res)
	}
	p1 := projectOf(t, res, "ws-bg", 1)
	if !p1.Success || !p1.Read || p1.Reported != 2 || p1.Stats.Count[scrape.FormatMP4] != 1 || p1.Stats.Count[scrape.FormatPNG] != 1 || p1.ReadAt.IsZero() {
		t.Errorf("project 1: %+v", p1)
	}

	sim.Update(func(inv *mitest.Inventory) {
		inv.Workspaces[0].Projects[1].Assets = append(inv.Workspaces[0].Projects[1].Assets, asset(22, "mov", "1280x720", 1000, 500))
	})
	if got := projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 2).Stats.Count[scrape.FormatMOV]; got != 1 {
		t.Errorf("before the next pass: %d mov assets; want the old figure, 1", got)
	}
	r.Pass(context.Background())
	if got := projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 2).Stats.Count[scrape.FormatMOV]; got != 2 {
		t.Errorf("after the next pass: %d mov assets; want 2", got)
	}
	if st := r.Stats(); st.Passes[scrape.PassSuccess] != 2 || st.LastEnd.IsZero() {
		t.Errorf("stats %+v; want 2 successful passes", st)
	}
}

// TestRefresherKeepsFiguresUntilStale: a project whose listing fails
// keeps its last complete figures, with success 0 and the failure's
// reason, until they are older than the staleness limit; then it has no
// figures, and its last success time stays.
func TestRefresherKeepsFiguresUntilStale(t *testing.T) {
	sim := mitest.NewServer(twoProjects())
	t.Cleanup(sim.Close)
	const stale = 600 * time.Millisecond
	r := newRefresher(t, sim, scrape.RefreshConfig{Interval: 300 * time.Millisecond, MaxStaleness: stale})
	r.Pass(context.Background())
	good := projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 1)

	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 1}, mitest.Fault{Status: 503})
	r.Pass(context.Background())
	p := projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 1)
	if p.Success || !p.Read || p.Stats != good.Stats || !p.ReadAt.Equal(good.ReadAt) || scrape.FailureReasonOf(p.Err) != client.ReasonServerError {
		t.Errorf("after a failed refresh: success %v, read %v, reason %q; want the old figures with reason server_error", p.Success, p.Read, scrape.FailureReasonOf(p.Err))
	}
	if other := projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 2); !other.Success || !other.Read {
		t.Errorf("the other project: %+v", other)
	}
	if st := r.Stats(); st.Passes[scrape.PassPartial] != 1 {
		t.Errorf("passes %v; want one partial", st.Passes)
	}

	testutil.Eventually(t, 5*time.Second, "the figures to be too old", func() bool {
		return time.Since(good.ReadAt) > stale
	})
	p = projectOf(t, r.Snapshot(scrape.Scope{}), "ws-bg", 1)
	if p.Success || p.Read || p.Stats != nil || !p.ReadAt.Equal(good.ReadAt) || scrape.FailureReasonOf(p.Err) != client.ReasonServerError {
		t.Errorf("once too old: success %v, read %v, stats %v, reason %q; want no figures, the last success time, reason server_error", p.Success, p.Read, p.Stats != nil, scrape.FailureReasonOf(p.Err))
	}
}

// TestRefresherDiscoveryFails: a pass whose discovery fails keeps the
// workspaces and projects known, marks them failed for discovery's reason,
// and keeps their figures until they are too old.
func TestRefresherDiscoveryFails(t *testing.T) {
	sim := mitest.NewServer(twoProjects())
	t.Cleanup(sim.Close)
	r := newRefresher(t, sim, scrape.RefreshConfig{Interval: time.Hour})
	r.Pass(context.Background())
	sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Status: 401, ErrorCode: "200"})
	r.Pass(context.Background())
	res := r.Snapshot(scrape.Scope{})
	if res.Up || scrape.FailureReasonOf(res.Err) != client.ReasonUnauthenticated || res.DiscoveredAt.IsZero() {
		t.Errorf("discovery: up %v, reason %q, last success %v", res.Up, scrape.FailureReasonOf(res.Err), res.DiscoveredAt)
	}
	w := res.Workspaces[0]
	p := projectOf(t, res, "ws-bg", 2)
	if w.Success || scrape.FailureReasonOf(w.Err) != client.ReasonUnauthenticated || p.Success || !p.Read || scrape.FailureReasonOf(p.Err) != client.ReasonUnauthenticated {
		t.Errorf("workspace success %v (%v), project success %v read %v (%v)", w.Success, w.Err, p.Success, p.Read, p.Err)
	}
	if st := r.Stats(); st.Passes[scrape.PassFailure] != 1 {
		t.Errorf("passes %v; want one failure", st.Passes)
	}
}

// TestRefresherScopes: a probe's snapshot holds its workspace or project
// only; an unknown workspace is NotFound once a workspace list was read.
func TestRefresherScopes(t *testing.T) {
	sim := mitest.NewServer(twoProjects())
	t.Cleanup(sim.Close)
	r := newRefresher(t, sim, scrape.RefreshConfig{Interval: time.Hour})
	if res := r.Snapshot(scrape.Scope{Workspace: "ws-none"}); len(res.Workspaces) != 1 || res.Workspaces[0].NotFound {
		t.Errorf("before a pass, a workspace is not known to be missing: %+v", res.Workspaces)
	}
	r.Pass(context.Background())
	if res := r.Snapshot(scrape.Scope{Workspace: "ws-none"}); len(res.Workspaces) != 1 || !res.Workspaces[0].NotFound || res.Up {
		t.Errorf("unknown workspace: %+v", res.Workspaces[0])
	}
	res := r.Snapshot(scrape.Scope{Workspace: "ws-bg", ProjectID: 2})
	if !res.Up || len(res.Workspaces) != 1 || len(res.Workspaces[0].Projects) != 1 || res.Workspaces[0].Projects[0].Project.ID != 2 {
		t.Errorf("project probe: %+v", res.Workspaces)
	}
	if targets := r.Targets(true); len(targets) != 2 || targets[1].Project.ID != 2 {
		t.Errorf("targets %+v", targets)
	}
}

// TestRefresherNoOverlap: Run never starts a pass while one runs; a pass
// longer than the interval is followed at once, and counted as late.
func TestRefresherNoOverlap(t *testing.T) {
	sim := mitest.NewServer(twoProjects())
	t.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Latency: 150 * time.Millisecond})
	r := newRefresher(t, sim, scrape.RefreshConfig{Interval: 50 * time.Millisecond, MaxStaleness: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	testutil.Eventually(t, 10*time.Second, "three passes", func() bool { return r.Stats().Passes[scrape.PassSuccess] >= 3 })
	cancel()
	<-done
	st := r.Stats()
	if st.Late < 2 {
		t.Errorf("late passes %d; want every pass after the first (%d)", st.Late, st.Passes[scrape.PassSuccess])
	}
	if most := sim.MaxInFlight(); most > 2 {
		t.Errorf("%d requests in flight at once: passes overlapped (one pass has 2 projects)", most)
	}
}
