package scrape_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/exporter/exportertest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// env is the exporter as main builds it (exporter.New), reading a
// simulator; the tests here drive its Scraper directly.
type env struct {
	sim     *mitest.Server
	api     *client.Client
	scraper *scrape.Scraper
	process *prometheus.Registry
	logs    *testutil.LockedBuffer
}

type envOpts struct {
	cfg      scrape.Config
	pageSize int
	clientFn func(*client.Config)
	sim      []mitest.Option
	// status, when set, turns status tracking on.
	status *status.Config
}

func newEnv(t testing.TB, inv *mitest.Inventory, o envOpts) *env {
	t.Helper()
	sim := mitest.NewServer(inv, o.sim...)
	t.Cleanup(sim.Close)
	return attach(t, sim, o)
}

// attach builds an exporter that reads sim, and starts its background
// work until the test ends.
func attach(t testing.TB, sim *mitest.Server, o envOpts) *env {
	t.Helper()
	x, logs := exportertest.New(t, sim, func(c *exporter.Config) {
		a := &c.Accounts[0]
		a.Scrape = o.cfg
		if o.pageSize != 0 {
			a.API.PageSize = o.pageSize
		}
		if o.clientFn != nil {
			o.clientFn(&a.API)
		}
		if o.status != nil {
			c.Status = *o.status
			c.Status.SceneSummaries = true // as in the binary
			a.StatusRate = o.status.Rate
		}
	})
	a := exportertest.Only(t, x)
	return &env{sim: sim, api: a.API, scraper: a.Scraper, process: x.Process, logs: logs}
}

func asset(id int64, format, res string, durMs, size int64) mitest.Asset {
	a := mitest.Asset{ID: mitest.Ptr(id), Meta: &mitest.Meta{Format: mitest.Ptr(format), Resolution: mitest.Ptr(res), Size: mitest.Ptr(size)}}
	if durMs >= 0 {
		a.Meta.DurationMs = mitest.Ptr(durMs)
	}
	return a
}

func oneProject(assets ...mitest.Asset) *mitest.Inventory {
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-one", Projects: []*mitest.Project{{ID: 5, Name: "p", Assets: assets}}}}}
}

// TestCallBudget asserts the API calls one scrape costs.
func TestCallBudget(t *testing.T) {
	inv := mitest.Generate(7, mitest.GenConfig{Workspaces: 3, ProjectsPerWorkspace: 4, AssetsPerProject: 2500})
	e := newEnv(t, inv, envOpts{})
	res := e.scraper.Scrape(context.Background(), scrape.Scope{})
	if !res.Up {
		t.Fatalf("scrape failed: %v", res.Err)
	}
	if got := e.sim.Requests(client.OpListWorkspaces); got != 1 {
		t.Errorf("workspace list calls = %d, want 1", got)
	}
	if got := e.sim.Requests(client.OpListProjects); got != 3 {
		t.Errorf("project list calls = %d, want 3 (one per workspace)", got)
	}
	if got := e.sim.Requests(client.OpGetWorkspace); got != 3 {
		t.Errorf("workspace details calls = %d, want 3", got)
	}
	for _, w := range inv.Workspaces {
		for _, p := range w.Projects {
			want := int64(max(1, (p.AssetCount()+999)/1000))
			if got := e.sim.RequestsFor(w.Name, p.ID); got != want {
				t.Errorf("%s/%d: %d asset-list calls, want %d (%d assets)", w.Name, p.ID, got, want, p.AssetCount())
			}
		}
	}
	for _, w := range res.Workspaces {
		for _, p := range w.Projects {
			if !p.Success || p.Stats.Unique != p.Reported {
				t.Errorf("%s/%d: success=%v counted %d, reported %d", w.Name, p.Project.ID, p.Success, p.Stats.Unique, p.Reported)
			}
		}
	}
}

// TestShiftingList: the list moves while it is paged; duplicates are
// dropped and the project is paged again for an exact count.
func TestShiftingList(t *testing.T) {
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-shift", Projects: []*mitest.Project{
		{ID: 21, Name: "moving", Synthetic: &mitest.SyntheticAssets{Count: 2500, Seed: 3}},
	}}}}
	e := newEnv(t, inv, envOpts{cfg: scrape.Config{Concurrency: 1}})
	// The second request sees 5 new assets at the front: page 2 repeats
	// five assets of page 1, and totalCount moves to 2505.
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 21}, mitest.Fault{Shift: 5, Times: 2})
	res := e.scraper.Scrape(context.Background(), scrape.Scope{})
	p := res.Workspaces[0].Projects[0]
	if !p.Success {
		t.Fatalf("project failed: %v", p.Err)
	}
	if p.Stats.Unique != 2500 || p.Reported != 2500 {
		t.Errorf("counted %d, reported %d; want 2500 after paging again", p.Stats.Unique, p.Reported)
	}
	if got := e.sim.RequestsFor("ws-shift", 21); got != 6 {
		t.Errorf("asset-list calls = %d, want 6 (3 pages, twice)", got)
	}
	if !strings.Contains(e.logs.String(), "changed while it was paged") {
		t.Errorf("no log line about the shifting list: %s", e.logs.String())
	}
}

func TestDuplicatesAcrossPagesCountedOnce(t *testing.T) {
	var assets []mitest.Asset
	for i := range 30 {
		assets = append(assets, asset(int64(1+i%20), "mp4", "1920x1080", 1000, 10))
	}
	e := newEnv(t, oneProject(assets...), envOpts{pageSize: 7})
	res := e.scraper.Scrape(context.Background(), scrape.Scope{})
	s := res.Workspaces[0].Projects[0].Stats
	if s.Count[scrape.FormatMP4] != 20 || s.Duplicates != 10 || s.Bytes[scrape.FormatMP4] != 200 {
		t.Errorf("mp4 count %d, duplicates %d, bytes %d; want 20, 10, 200", s.Count[scrape.FormatMP4], s.Duplicates, s.Bytes[scrape.FormatMP4])
	}
}

// TestTotalsAddUp: every valid size and duration the listing reported is
// summed under some format class, unknown included, so the per-format sums
// add up to the listing's totals. Only an asset without metaData, or with
// an invalid value, adds nothing.
func TestTotalsAddUp(t *testing.T) {
	noFormat := mitest.Asset{ID: mitest.Ptr(int64(6)), Meta: &mitest.Meta{Resolution: mitest.Ptr("1280x720"), Size: mitest.Ptr(int64(7000)), DurationMs: mitest.Ptr(int64(4000))}}
	nullFormat := mitest.Asset{ID: mitest.Ptr(int64(7)), Meta: &mitest.Meta{Format: mitest.Ptr("x"), Size: mitest.Ptr(int64(11))}, Nulls: mitest.FieldFormat}
	assets := []mitest.Asset{
		asset(1, "mp4", "1920x1080", 60000, 1000),
		asset(2, "PNG", "640x360", -1, 300),
		asset(3, "avi", "320x240", 1500, 5000),
		asset(4, "", "1280x720", 2000, 20),
		noFormat,
		nullFormat,
		{ID: mitest.Ptr(int64(8))},                   // no metaData: nothing to add
		asset(9, "mov", "1920x1080", -5, -1),         // invalid size: left out, counted as invalid
		asset(10, "heic", "1080x1920", 500, 1<<40+1), // absurd size left out, duration kept
	}
	var wantBytes, wantDurMs int64 = 1000 + 300 + 5000 + 20 + 7000 + 11, 60000 + 1500 + 2000 + 4000 + 500
	e := newEnv(t, oneProject(assets...), envOpts{})
	p := e.scraper.Scrape(context.Background(), scrape.Scope{}).Workspaces[0].Projects[0]
	if !p.Success {
		t.Fatalf("project failed: %v", p.Err)
	}
	s := p.Stats
	var bytes, durMs, count int64
	for f := range scrape.Format(scrape.NumFormats) {
		bytes += s.Bytes[f]
		durMs += s.DurMs[f]
		count += s.Count[f]
	}
	if bytes != wantBytes || durMs != wantDurMs || count != int64(len(assets)) {
		t.Errorf("per-format sums: %d bytes, %d ms, %d assets; want %d, %d, %d", bytes, durMs, count, wantBytes, wantDurMs, len(assets))
	}
	if got, want := s.Bytes[scrape.FormatUnknown], int64(20+7000+11); got != want {
		t.Errorf("unknown bytes %d, want %d (empty, absent and null format)", got, want)
	}
	if got, want := s.DurMs[scrape.FormatUnknown], int64(2000+4000); got != want {
		t.Errorf("unknown duration %d ms, want %d", got, want)
	}
	if s.Count[scrape.FormatUnknown] != 4 {
		t.Errorf("unknown count %d, want 4", s.Count[scrape.FormatUnknown])
	}
	if s.SizeHist.Count != 6 || int64(s.SizeHist.Sum) != wantBytes {
		t.Errorf("size histogram count %d sum %v; want 6 and %d", s.SizeHist.Count, s.SizeHist.Sum, wantBytes)
	}
	if s.Invalid[scrape.InvalidSize] != 2 || s.Invalid[scrape.InvalidDuration] != 0 {
		t.Errorf("invalid sizes %d durations %d; want 2 and 0", s.Invalid[scrape.InvalidSize], s.Invalid[scrape.InvalidDuration])
	}
}

func TestConfiguredWorkspacesDeduplicated(t *testing.T) {
	s, err := scrape.NewScraper(nil, scrape.Config{Workspaces: []string{"ws-a", "ws-b", "ws-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Workspaces(); len(got) != 2 || got[0] != "ws-a" || got[1] != "ws-b" {
		t.Errorf("workspaces %v, want [ws-a ws-b]", got)
	}
	if _, err := scrape.NewScraper(nil, scrape.Config{Workspaces: []string{"Bad_Name"}}); err == nil {
		t.Error("an invalid workspace name was accepted")
	}
}
