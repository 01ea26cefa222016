// Package collector exposes what the exporter knows as Prometheus metrics:
// a scrape's Result, with the status tracker's summary of each project, as
// constant metrics (ResultCollector), and the process-lifetime metrics of
// the API client, the rate limiter, the cache, the status tracker and the
// HTTP side. Descriptors are built once, with fixed HELP text.
//
// The scraping itself is in package scrape, the HTTP handlers in package
// handler.
package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// Namespace prefixes every metric of the exporter.
const Namespace = "ncp_mediaintel"

var (
	labelsWS      = []string{"workspace"}
	labelsProject = []string{"workspace", "project_id"}
	labelsFormat  = []string{"workspace", "project_id", "format"}
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// The per-scrape metrics.
var (
	upDesc       = newDesc("up", "1 if workspace discovery succeeded in this scrape, 0 if it failed (key, permission, clock or API problem).")
	durationDesc = newDesc("scrape_duration_seconds", "Time this scrape of the Media Intelligence API took.")
	timeoutDesc  = newDesc("scrape_timeout_seconds", "Deadline this scrape had: the Prometheus scrape timeout minus the offset, or --scrape.timeout.")

	discoveryFailDesc = newDesc("discovery_failure", "1 while workspace discovery failed in this scrape (ncp_mediaintel_up 0), for the reason of the error that failed it; absent when it succeeded.", "reason")

	wsSuccessDesc  = newDesc("workspace_scrape_success", "1 if the workspace's project list was read in this scrape.", labelsWS...)
	wsFailDesc     = newDesc("workspace_scrape_failure", "1 while the workspace's project list failed in this scrape, for the reason of the error that failed it; absent when it succeeded.", "workspace", "reason")
	wsProjectsDesc = newDesc("workspace_projects", "Number of projects in the workspace (before project filters).", labelsWS...)
	wsMonthlyDesc  = newDesc("workspace_monthly_analyses", "Analyses run in the workspace this month (monthlyAnalysisCount).", labelsWS...)

	projInfoDesc     = newDesc("project_info", "Project metadata; always 1.", "workspace", "project_id", "project_name", "base_project")
	projSuccessDesc  = newDesc("project_scrape_success", "1 if every page of the project's asset list was read in time; when 0 no asset series are exported for the project.", labelsProject...)
	projFailDesc     = newDesc("project_scrape_failure", "1 while the project's listing failed in this scrape, for the reason of the first error that failed it; absent when it succeeded.", "workspace", "project_id", "reason")
	projDurationDesc = newDesc("project_scrape_duration_seconds", "Time spent listing the project's assets (0 when served from the cache).", labelsProject...)
	projReportDesc   = newDesc("project_assets_reported", "Number of assets in the project as the API reported it (totalCount).", labelsProject...)
	cacheAgeDesc     = newDesc("cache_age_seconds", "Age of the project's asset figures: 0 when read in this scrape, more when served from the cache (--scrape.cache-ttl).", labelsProject...)

	assetsDesc      = newDesc("assets", "Assets in the project by format, de-duplicated by asset ID.", labelsFormat...)
	bytesDesc       = newDesc("assets_size_bytes", "Sum of the assets' sizes by format; unknown holds the assets without a format.", labelsFormat...)
	secondsDesc     = newDesc("assets_duration_seconds", "Sum of the assets' durations by format; unknown holds the assets without a format.", labelsFormat...)
	lastCreatedDesc = newDesc("project_last_asset_created_timestamp_seconds", "Creation time of the project's newest asset.", labelsProject...)
	lastUpdatedDesc = newDesc("project_last_asset_updated_timestamp_seconds", "Most recent modification time of the project's assets.", labelsProject...)
	invalidDesc     = newDesc("assets_invalid_metadata", "Assets whose size or duration was negative or absurd (over 1 TiB, over 7 days); the value was left out of the sums.", "workspace", "project_id", "field")
	outOfSpecDesc   = newDesc("assets_out_of_spec", "Assets outside Media Intelligence's documented limits, by reason; an asset with several problems counts under each.", "workspace", "project_id", "reason")
	byResDesc       = newDesc("assets_by_resolution", "Assets by resolution class of their shorter side.", "workspace", "project_id", "resolution")
	sizeHistDesc    = newDesc("asset_size_distribution_bytes", "Distribution of the sizes of the project's assets (every format).", labelsProject...)
	durHistDesc     = newDesc("video_duration_distribution_seconds", "Distribution of the durations of the project's videos (mp4, mkv, mov, webm).", labelsProject...)

	recentDesc         = newDesc("recent_assets", "Recent assets of the project (created or updated within --status.window), de-duplicated.", labelsProject...)
	importStatusDesc   = newDesc("recent_assets_import_status", "Recent assets by last known upload status; the statuses sum to recent_assets.", "workspace", "project_id", "status")
	analysisStatusDesc = newDesc("recent_assets_analysis_status", "Recent assets by last known analysis status (not_imported until the upload is COMPLETED); the statuses sum to recent_assets.", "workspace", "project_id", "status")
	failuresDesc       = newDesc("recent_assets_analysis_failures", "Recent assets whose analysis failed, by the reason read from the failure message.", "workspace", "project_id", "reason")
	oldestPendingDesc  = newDesc("analysis_oldest_pending_seconds", "How long the longest-waiting recent asset has been seen waiting for or in analysis (WAIT_ANALYZE or ANALYZING); 0 when none is.", labelsProject...)
	summaryStatusDesc  = newDesc("recent_assets_scene_summary_status", "Recent assets by last known scene summary status (not_analyzed until the analysis is ANALYZE_COMPLETED); the statuses sum to recent_assets.", "workspace", "project_id", "status")
	summaryPendingDesc = newDesc("scene_summary_oldest_pending_seconds", "How long the longest-waiting recent asset has been seen with its scene summary queued or running (WAIT_SUMMARIZE or SUMMARIZING); 0 when none is.", labelsProject...)
)

// ResultOptions say which optional series a ResultCollector exports.
type ResultOptions struct {
	// Histograms exports the size and duration distributions.
	Histograms bool
	// CacheAge exports cache_age_seconds (the cache is on).
	CacheAge bool
	// ProjectOnly leaves out the workspace series (a project probe).
	ProjectOnly bool
}

// ResultCollector exposes one scrape's Result as constant metrics.
type ResultCollector struct {
	res  *scrape.Result
	opts ResultOptions
	now  func() time.Time
}

// NewResultCollector returns a collector of res.
func NewResultCollector(res *scrape.Result, opts ResultOptions) *ResultCollector {
	return &ResultCollector{res: res, opts: opts, now: time.Now}
}

// Describe implements prometheus.Collector.
func (c *ResultCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, durationDesc, timeoutDesc, discoveryFailDesc, wsSuccessDesc, wsFailDesc, wsProjectsDesc, wsMonthlyDesc,
		projInfoDesc, projSuccessDesc, projFailDesc, projDurationDesc, projReportDesc, cacheAgeDesc, assetsDesc, bytesDesc, secondsDesc,
		lastCreatedDesc, lastUpdatedDesc, invalidDesc, outOfSpecDesc, byResDesc, sizeHistDesc, durHistDesc,
		recentDesc, importStatusDesc, analysisStatusDesc, failuresDesc, oldestPendingDesc, summaryStatusDesc, summaryPendingDesc} {
		ch <- d
	}
}

// reasonOf is the failure label of err: client.ReasonOf, "other" when
// nothing says why.
func reasonOf(err error) string {
	if r := client.ReasonOf(err); r != "" {
		return string(r)
	}
	return string(client.ReasonOther)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func gauge(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
}

// Collect implements prometheus.Collector.
func (c *ResultCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.res
	ch <- gauge(upDesc, b2f(r.Up))
	ch <- gauge(durationDesc, r.Duration.Seconds())
	ch <- gauge(timeoutDesc, r.Timeout.Seconds())
	if !r.Up {
		ch <- gauge(discoveryFailDesc, 1, reasonOf(r.Err))
	}
	for _, w := range r.Workspaces {
		if !c.opts.ProjectOnly {
			ch <- gauge(wsSuccessDesc, b2f(w.Success), w.Name)
			if !w.Success {
				ch <- gauge(wsFailDesc, 1, w.Name, reasonOf(w.Err))
			}
			if w.Success {
				ch <- gauge(wsProjectsDesc, float64(w.ProjectCount), w.Name)
			}
			if w.HasMonthly {
				ch <- gauge(wsMonthlyDesc, float64(w.Monthly), w.Name)
			}
		}
		for _, p := range w.Projects {
			c.collectProject(ch, p)
		}
	}
}

func (c *ResultCollector) collectProject(ch chan<- prometheus.Metric, p *scrape.ProjectResult) {
	ws, id := p.Workspace, strconv.FormatInt(p.Project.ID, 10)
	ch <- gauge(projInfoDesc, 1, ws, id, p.Project.Name, strconv.FormatBool(p.Project.IsBase))
	ch <- gauge(projSuccessDesc, b2f(p.Success), ws, id)
	ch <- gauge(projDurationDesc, p.Duration.Seconds(), ws, id)
	if !p.Success {
		ch <- gauge(projFailDesc, 1, ws, id, reasonOf(p.Err))
		return
	}
	if c.opts.CacheAge {
		age := 0.0
		if p.FromCache {
			age = c.now().Sub(p.At).Seconds()
		}
		ch <- gauge(cacheAgeDesc, age, ws, id)
	}
	ch <- gauge(projReportDesc, float64(p.Reported), ws, id)
	if st := p.Status; st != nil {
		collectStatus(ch, st, ws, id)
	}
	s := p.Stats
	if s == nil {
		return // count-only
	}
	for f := range scrape.Format(scrape.NumFormats) {
		if int(f) >= scrape.NumDocumentedFormats && s.Count[f] == 0 {
			continue
		}
		name := f.String()
		ch <- gauge(assetsDesc, float64(s.Count[f]), ws, id, name)
		ch <- gauge(bytesDesc, float64(s.Bytes[f]), ws, id, name)
		ch <- gauge(secondsDesc, float64(s.DurMs[f])/1000, ws, id, name)
	}
	if s.LastCreated > 0 {
		ch <- gauge(lastCreatedDesc, float64(s.LastCreated), ws, id)
	}
	if s.LastUpdated > 0 {
		ch <- gauge(lastUpdatedDesc, float64(s.LastUpdated), ws, id)
	}
	for f := range scrape.InvalidField(scrape.NumInvalidFields) {
		ch <- gauge(invalidDesc, float64(s.Invalid[f]), ws, id, f.String())
	}
	for r := range scrape.Reason(scrape.NumReasons) {
		ch <- gauge(outOfSpecDesc, float64(s.Reasons[r]), ws, id, r.String())
	}
	for r := range scrape.Resolution(scrape.NumResolutions) {
		ch <- gauge(byResDesc, float64(s.Res[r]), ws, id, r.String())
	}
	if c.opts.Histograms {
		ch <- prometheus.MustNewConstHistogram(sizeHistDesc, s.SizeHist.Count, s.SizeHist.Sum, s.SizeHist.Cumulative(scrape.SizeBuckets), ws, id)
		ch <- prometheus.MustNewConstHistogram(durHistDesc, s.DurHist.Count, s.DurHist.Sum, s.DurHist.Cumulative(scrape.DurationBuckets), ws, id)
	}
}

// collectStatus exports the status tracker's summary of one project,
// every label value present.
func collectStatus(ch chan<- prometheus.Metric, st *status.Summary, ws, id string) {
	ch <- gauge(recentDesc, float64(st.Recent), ws, id)
	for s := range status.ImportState(status.NumImportStates) {
		ch <- gauge(importStatusDesc, float64(st.Import[s]), ws, id, s.String())
	}
	for s := range status.AnalysisState(status.NumAnalysisStates) {
		ch <- gauge(analysisStatusDesc, float64(st.Analysis[s]), ws, id, s.String())
	}
	for r := range status.FailureReason(status.NumReasons) {
		ch <- gauge(failuresDesc, float64(st.Failures[r]), ws, id, r.String())
	}
	ch <- gauge(oldestPendingDesc, st.OldestPending.Seconds(), ws, id)
	if !st.SceneSummaries {
		return // the stage is off: no such family
	}
	for s := range status.SummaryState(status.NumSummaryStates) {
		ch <- gauge(summaryStatusDesc, float64(st.SceneSummary[s]), ws, id, s.String())
	}
	ch <- gauge(summaryPendingDesc, st.SummaryOldestPending.Seconds(), ws, id)
}
