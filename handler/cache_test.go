package handler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// The asset cache (--scrape.cache-ttl).

// TestCache: within the TTL only discovery calls reach the API; after it
// the projects are listed again; a failed refresh shows as a failure, not
// as stale or partial figures.
func TestCache(t *testing.T) {
	const ttl = 800 * time.Millisecond
	inv := mitest.Generate(8, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 2, AssetsPerProject: 25})
	e := newEnv(t, inv, envOpts{pageSize: 10, cfg: scrape.Config{CacheTTL: ttl}})
	const nProjects = 4
	scrape := func(step string) map[string]*dto.MetricFamily {
		t.Helper()
		r := e.fetch(context.Background(), "/metrics", "5")
		if r.err != nil || r.status != 200 {
			t.Fatalf("%s: %d %v", step, r.status, r.err)
		}
		return parseFamilies(t, r.body)
	}
	checkCacheCounts := func(step string, fams map[string]*dto.MetricFamily, hits, misses float64) {
		t.Helper()
		h, _ := sampleValue(fams, "ncp_mediaintel_cache_requests_total", map[string]string{"result": "hit"})
		m, _ := sampleValue(fams, "ncp_mediaintel_cache_requests_total", map[string]string{"result": "miss"})
		if h != hits || m != misses {
			t.Errorf("%s: cache hits %v, misses %v; want %v, %v", step, h, m, hits, misses)
		}
	}
	discovery := opCounts{client.OpListWorkspaces: 1, client.OpGetWorkspace: 2, client.OpListProjects: 2, client.OpListAssets: 0}
	victim := inv.Workspaces[1].Projects[1]
	victimWS := inv.Workspaces[1].Name

	first := scrape("first scrape")
	checkCacheCounts("first scrape", first, 0, nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if age, ok := sampleValue(first, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID)); !ok || age != 0 {
			t.Errorf("first scrape: %s/%d cache_age_seconds %v (present %v), want 0", ws, p.ID, age, ok)
		}
	})

	// Within the TTL: discovery again, no asset list.
	time.Sleep(150 * time.Millisecond)
	e.sim.ResetCounters()
	second := scrape("scrape within the TTL")
	if got := countOps(e.sim); fmt.Sprint(got) != fmt.Sprint(discovery) {
		t.Errorf("scrape within the TTL sent %v, want only discovery %v", got, discovery)
	}
	checkCacheCounts("scrape within the TTL", second, nProjects, nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		age, _ := sampleValue(second, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID))
		if age < 0.15 || age >= ttl.Seconds() {
			t.Errorf("%s/%d served from the cache with cache_age_seconds %v; want the 0.15 s since it was listed, under the TTL", ws, p.ID, age)
		}
		if fmt.Sprint(assetFigures(second, ws, p.ID)) != fmt.Sprint(assetFigures(first, ws, p.ID)) {
			t.Errorf("%s/%d: cached figures differ from the listed ones", ws, p.ID)
		}
		if d, _ := sampleValue(second, "ncp_mediaintel_project_scrape_duration_seconds", projSel(ws, p.ID)); d != 0 {
			t.Errorf("%s/%d: project_scrape_duration_seconds %v for a cache hit, want 0", ws, p.ID, d)
		}
	})

	// After the TTL every project is listed again; one fails.
	time.Sleep(ttl)
	e.sim.ResetCounters()
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: victim.ID}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	third := scrape("scrape after the TTL")
	checkCacheCounts("scrape after the TTL", third, nProjects, 2*nProjects)
	eachProject(inv, func(ws string, p *mitest.Project) {
		if p == victim {
			return
		}
		if got := e.sim.RequestsFor(ws, p.ID); got != pagesOf(p, 10) {
			t.Errorf("after the TTL %s/%d had %d asset-list calls, want %d", ws, p.ID, got, pagesOf(p, 10))
		}
		if age, _ := sampleValue(third, "ncp_mediaintel_cache_age_seconds", projSel(ws, p.ID)); age != 0 {
			t.Errorf("after the TTL %s/%d cache_age_seconds %v, want 0", ws, p.ID, age)
		}
	})
	if ok, present := sampleValue(third, "ncp_mediaintel_project_scrape_success", projSel(victimWS, victim.ID)); !present || ok != 0 {
		t.Errorf("failed refresh: project_scrape_success %v (present %v), want 0", ok, present)
	}
	for k := range seriesMatching(third, projSel(victimWS, victim.ID)) {
		if !strings.HasPrefix(k, "ncp_mediaintel_project_scrape_success{") && !strings.HasPrefix(k, "ncp_mediaintel_project_info{") &&
			!strings.HasPrefix(k, "ncp_mediaintel_project_scrape_duration_seconds{") && !strings.HasPrefix(k, "ncp_mediaintel_project_scrape_failure{") {
			t.Errorf("failed refresh exported %s; want no asset series (neither stale nor partial)", k)
		}
	}

	// The fault cleared: the cache kept only successful listings, and the
	// failed project's old entry has expired, so it is listed again while
	// the others are served from the cache.
	e.sim.ClearFaults()
	e.sim.ResetCounters()
	fourth := scrape("scrape after the fault cleared")
	checkCacheCounts("scrape after the fault cleared", fourth, 2*nProjects-1, 2*nProjects+1)
	if got := e.sim.Requests(client.OpListAssets); got != pagesOf(victim, 10) || e.sim.RequestsFor(victimWS, victim.ID) != got {
		t.Errorf("after the fault cleared: %d asset-list calls (%d for the failed project), want %d for it alone", got, e.sim.RequestsFor(victimWS, victim.ID), pagesOf(victim, 10))
	}
	if fmt.Sprint(assetFigures(fourth, victimWS, victim.ID)) != fmt.Sprint(assetFigures(first, victimWS, victim.ID)) {
		t.Errorf("failed project's figures after recovery differ from the first scrape's")
	}
}
