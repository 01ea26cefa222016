package collector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// result is a Result with one project of each kind: listed, count-only,
// failed and served from the cache.
func result() *scrape.Result {
	var s scrape.Stats
	s.Count[scrape.FormatMP4], s.Bytes[scrape.FormatMP4], s.DurMs[scrape.FormatMP4] = 2, 3000, 90000
	s.Count[scrape.FormatUnknown], s.Bytes[scrape.FormatUnknown], s.DurMs[scrape.FormatUnknown] = 1, 70, 500
	s.Res[scrape.Res1080p], s.Res[scrape.ResUnknown] = 2, 1
	s.Reasons[scrape.ReasonMetadataMissing] = 1
	s.LastCreated, s.LastUpdated = 1745394564, 1745394600
	at := time.Unix(1745394000, 0)
	return &scrape.Result{
		Up: true, Duration: 1500 * time.Millisecond, Timeout: 9500 * time.Millisecond,
		Workspaces: []*scrape.WorkspaceResult{{
			Name: "ws-a", Success: true, ProjectCount: 5, Monthly: 42, HasMonthly: true,
			Projects: []*scrape.ProjectResult{
				{Workspace: "ws-a", Project: client.Project{ID: 1, Name: "listed", IsBase: true}, Success: true, Duration: time.Second, Reported: 3, Stats: &s, At: at},
				{Workspace: "ws-a", Project: client.Project{ID: 2, Name: "counted"}, Success: true, Duration: time.Second, Reported: 1000, CountOnly: true, At: at},
				{Workspace: "ws-a", Project: client.Project{ID: 3, Name: "failed"}, Err: errors.New("HTTP 503"), Duration: 2 * time.Second},
				{Workspace: "ws-a", Project: client.Project{ID: 4, Name: "cached"}, Success: true, Reported: 3, Stats: &s, At: at, FromCache: true},
			},
		}, {Name: "ws-b", Err: errors.New("HTTP 401")}},
	}
}

// TestResultCollector compares the exposition of a Result with the text it
// must produce, for the families where the choices are made.
func TestResultCollector(t *testing.T) {
	c := NewResultCollector(result(), ResultOptions{CacheAge: true})
	c.now = func() time.Time { return time.Unix(1745394030, 0) }
	const want = `
# HELP ncp_mediaintel_assets Assets in the project by format, de-duplicated by asset ID.
# TYPE ncp_mediaintel_assets gauge
ncp_mediaintel_assets{format="heic",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="jpg",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mkv",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mov",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mp4",project_id="1",workspace="ws-a"} 2
ncp_mediaintel_assets{format="png",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="unknown",project_id="1",workspace="ws-a"} 1
ncp_mediaintel_assets{format="webm",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_assets{format="heic",project_id="4",workspace="ws-a"} 0
ncp_mediaintel_assets{format="jpg",project_id="4",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mkv",project_id="4",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mov",project_id="4",workspace="ws-a"} 0
ncp_mediaintel_assets{format="mp4",project_id="4",workspace="ws-a"} 2
ncp_mediaintel_assets{format="png",project_id="4",workspace="ws-a"} 0
ncp_mediaintel_assets{format="unknown",project_id="4",workspace="ws-a"} 1
ncp_mediaintel_assets{format="webm",project_id="4",workspace="ws-a"} 0
# HELP ncp_mediaintel_cache_age_seconds Age of the project's asset figures: 0 when read in this scrape, more when served from the cache (--scrape.cache-ttl).
# TYPE ncp_mediaintel_cache_age_seconds gauge
ncp_mediaintel_cache_age_seconds{project_id="1",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{project_id="2",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{project_id="4",workspace="ws-a"} 30
# HELP ncp_mediaintel_project_assets_reported Number of assets in the project as the API reported it (totalCount).
# TYPE ncp_mediaintel_project_assets_reported gauge
ncp_mediaintel_project_assets_reported{project_id="1",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{project_id="2",workspace="ws-a"} 1000
ncp_mediaintel_project_assets_reported{project_id="4",workspace="ws-a"} 3
# HELP ncp_mediaintel_project_scrape_success 1 if every page of the project's asset list was read in time; when 0 no asset series are exported for the project.
# TYPE ncp_mediaintel_project_scrape_success gauge
ncp_mediaintel_project_scrape_success{project_id="1",workspace="ws-a"} 1
ncp_mediaintel_project_scrape_success{project_id="2",workspace="ws-a"} 1
ncp_mediaintel_project_scrape_success{project_id="3",workspace="ws-a"} 0
ncp_mediaintel_project_scrape_success{project_id="4",workspace="ws-a"} 1
# HELP ncp_mediaintel_workspace_scrape_success 1 if the workspace's project list was read in this scrape.
# TYPE ncp_mediaintel_workspace_scrape_success gauge
ncp_mediaintel_workspace_scrape_success{workspace="ws-a"} 1
ncp_mediaintel_workspace_scrape_success{workspace="ws-b"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "ncp_mediaintel_assets", "ncp_mediaintel_cache_age_seconds",
		"ncp_mediaintel_project_assets_reported", "ncp_mediaintel_project_scrape_success", "ncp_mediaintel_workspace_scrape_success"); err != nil {
		t.Error(err)
	}
}

// TestResultCollectorOptions: the histograms, the cache age and the
// workspace series come and go with their options; nothing else does.
func TestResultCollectorOptions(t *testing.T) {
	for _, tc := range []struct {
		opts    ResultOptions
		present []string
		absent  []string
	}{
		{ResultOptions{}, []string{"ncp_mediaintel_workspace_projects"}, []string{"ncp_mediaintel_asset_size_distribution_bytes", "ncp_mediaintel_cache_age_seconds"}},
		{ResultOptions{Histograms: true}, []string{"ncp_mediaintel_asset_size_distribution_bytes", "ncp_mediaintel_video_duration_distribution_seconds"}, []string{"ncp_mediaintel_cache_age_seconds"}},
		{ResultOptions{ProjectOnly: true}, []string{"ncp_mediaintel_project_info"}, []string{"ncp_mediaintel_workspace_projects", "ncp_mediaintel_workspace_monthly_analyses", "ncp_mediaintel_workspace_scrape_success"}},
	} {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewResultCollector(result(), tc.opts))
		fams, err := reg.Gather()
		if err != nil {
			t.Fatalf("%+v: %v", tc.opts, err)
		}
		got := map[string]bool{}
		for _, f := range fams {
			got[f.GetName()] = true
		}
		for _, n := range tc.present {
			if !got[n] {
				t.Errorf("%+v: %s missing", tc.opts, n)
			}
		}
		for _, n := range tc.absent {
			if got[n] {
				t.Errorf("%+v: %s present", tc.opts, n)
			}
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("%+v: lint %v %v", tc.opts, err, problems)
		}
	}
}

func TestLimiterMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	l := client.NewAdaptiveLimiter(40, 5)
	RegisterLimiterMetrics(reg, l)
	l.Throttled()
	l.Throttled() // within a second of the first: no second reduction
	const want = `
# HELP ncp_mediaintel_rate_limiter_allowed_requests_per_second Request rate the limiter allows now: --mi.rate-limit, halved by a 429 and recovering by a tenth of it each second.
# TYPE ncp_mediaintel_rate_limiter_allowed_requests_per_second gauge
ncp_mediaintel_rate_limiter_allowed_requests_per_second 20
# HELP ncp_mediaintel_rate_limiter_reductions_total Times a 429 answer lowered the allowed rate (at most once a second; every 429 is in api_requests_total).
# TYPE ncp_mediaintel_rate_limiter_reductions_total counter
ncp_mediaintel_rate_limiter_reductions_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ncp_mediaintel_rate_limiter_allowed_requests_per_second", "ncp_mediaintel_rate_limiter_reductions_total"); err != nil {
		t.Error(err)
	}
}
