package scrape_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// BenchmarkScrapeTracking scrapes 10 projects of 20,000 synthetic assets
// with status tracking off and on, alternately, through one client and
// simulator (pages cached, no latency: the exporter's own CPU is what
// differs, on 2 cores shared with the simulator). With tracking on, the
// tracker's worker runs its status checks at the default 5 a second
// against the same simulator, and the window covers 5% of the assets (a
// day of a few months' uploads) or, the worst case, all of them (each
// listing then hands 20,000 recent assets to the tracker). x_tracking is
// the median scrape time with tracking over the median without (target
// ≤ 1.05 at 5%).
func BenchmarkScrapeTracking(b *testing.B) {
	const projects, perProject, concurrency = 10, 20_000, 8
	inv := mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: projects, AssetsPerProject: perProject, Synthetic: true})
	// The newest time (created or updated) of each asset of project 1, to
	// choose windows by the share of assets they cover.
	var newest []int64
	p1 := inv.Workspaces[0].Projects[0]
	for i := range p1.AssetCount() {
		a := p1.AssetAt(i)
		var t int64
		for _, s := range []*string{a.CreatedTime, a.UpdatedTime} {
			if s != nil {
				if v, ok := client.ParseTime([]byte(*s), time.UTC); ok {
					t = max(t, v)
				}
			}
		}
		newest = append(newest, t)
	}
	sort.Slice(newest, func(i, j int) bool { return newest[i] > newest[j] })
	for _, share := range []float64{0.05, 1} {
		since := newest[int(share*float64(len(newest)-1))]
		window := time.Since(time.Unix(since, 0)) + time.Hour
		b.Run(fmt.Sprintf("recent=%g%%", share*100), func(b *testing.B) { benchTracking(b, inv, window, projects, perProject, concurrency) })
	}
}

func benchTracking(b *testing.B, inv *mitest.Inventory, window time.Duration, projects, perProject, concurrency int) {
	e := newEnv(b, inv, envOpts{
		cfg: scrape.Config{Concurrency: concurrency},
		sim: []mitest.Option{mitest.WithPageCache(512 << 20)},
	})
	// The same exporter with tracking on (status calls at the default
	// --status.rate), reading the same simulator.
	tracked := attach(b, e.sim, envOpts{cfg: scrape.Config{Concurrency: concurrency}, status: &status.Config{Window: window}}).scraper
	var recent int64
	run := func(s *scrape.Scraper) time.Duration {
		res := s.Scrape(context.Background(), scrape.Scope{})
		checkBenchScrape(b, res, int64(projects*perProject))
		if s == tracked {
			recent = 0
			for _, p := range res.Workspaces[0].Projects {
				recent += p.Status.Recent
			}
		}
		return res.Duration
	}
	run(e.scraper) // warm the simulator's page cache
	run(tracked)   // the first listing adds the assets: not the steady state
	var off, on []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so that neither always follows the
		// other's garbage.
		if i%2 == 0 {
			off = append(off, run(e.scraper))
			on = append(on, run(tracked))
		} else {
			on = append(on, run(tracked))
			off = append(off, run(e.scraper))
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2])
	}
	b.ReportMetric(median(off)/1e6, "off_ms")
	b.ReportMetric(median(on)/1e6, "on_ms")
	b.ReportMetric(median(on)/median(off), "x_tracking")
	b.ReportMetric(float64(recent), "tracked_assets")
}
