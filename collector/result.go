// Package collector exposes what the exporter knows as Prometheus metrics:
// a scrape's Results, with the status tracker's summary of each project,
// written family by family (WriteResults, Families), and the
// process-lifetime metrics of the API client, the rate limiter, the cache,
// the status tracker, the refresher and the HTTP side (prometheus
// Collectors). Names and HELP texts are fixed when the package loads.
//
// The scraping itself is in package scrape, the HTTP handlers in package
// handler.
package collector

import (
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// Namespace prefixes every metric of the exporter.
const Namespace = "ncp_mediaintel"

const (
	gaugeType   = dto.MetricType_GAUGE
	counterType = dto.MetricType_COUNTER
	histType    = dto.MetricType_HISTOGRAM
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// reason is the failure label of err (scrape.FailureReasonOf).
func reason(err error) string {
	if r := scrape.FailureReasonOf(err); r != "" {
		return string(r)
	}
	return "other"
}

// unix is t in Unix seconds, to the millisecond.
func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// The families of the scrape exposition, in the order they are written
// (Families). Each writes its samples from the Results (x.results) or
// the accounts (x.accounts).
var (
	_ = newFamily("up", "1 if workspace discovery succeeded in this scrape (in background mode: in the latest refresh pass), 0 if it failed (key, permission, clock or API problem).", gaugeType,
		func(x *exposition, _ *Family) {
			for _, v := range x.results {
				x.gauge(b2f(v.r.Up), v.r.Account)
			}
		}, "account")
	_ = newFamily("scrape_duration_seconds", "Time this scrape of the account took (in background mode: to answer from memory).", gaugeType,
		func(x *exposition, _ *Family) {
			for _, v := range x.results {
				x.gauge(v.r.Duration.Seconds(), v.r.Account)
			}
		}, "account")
	_ = newFamily("scrape_timeout_seconds", "Deadline this scrape had: the Prometheus scrape timeout minus the offset, or --scrape.timeout.", gaugeType,
		func(x *exposition, _ *Family) {
			for _, v := range x.results {
				x.gauge(v.r.Timeout.Seconds(), v.r.Account)
			}
		}, "account")
	_ = newFamily("discovery_failure", "1 while workspace discovery failed (ncp_mediaintel_up 0), for the reason of the error that failed it; absent when it succeeded.", gaugeType,
		func(x *exposition, _ *Family) {
			for _, v := range x.results {
				if !v.r.Up {
					x.gauge(1, v.r.Account, reason(v.r.Err))
				}
			}
		}, "account", "reason")
	_ = newFamily("discovery_last_success_timestamp_seconds", "When workspace discovery last succeeded: in on-scrape mode this scrape's, in background mode the latest refresh pass's that succeeded.", gaugeType,
		func(x *exposition, _ *Family) {
			for _, v := range x.results {
				if !v.r.DiscoveredAt.IsZero() {
					x.gauge(unix(v.r.DiscoveredAt), v.r.Account)
				}
			}
		}, "account")
	_ = newFamily("account_info", "An NCP account the exporter reads; always 1. Its other labels are the account's static labels from the configuration file.", gaugeType,
		writeAccountInfo, "account")
	_ = newFamily("credentials_expiry_timestamp_seconds", "When the account's current temporary key (server role) expires; absent for a key that does not expire.", gaugeType,
		func(x *exposition, _ *Family) {
			for _, a := range x.accounts {
				if !a.KeyExpiry.IsZero() {
					x.gauge(unix(a.KeyExpiry), a.Name)
				}
			}
		}, "account")
	_ = newFamily("refresh_max_staleness_seconds", "Background mode: the age beyond which a project's figures are no longer exported (--scrape.max-staleness).", gaugeType,
		func(x *exposition, _ *Family) {
			for _, a := range x.accounts {
				if a.MaxStaleness > 0 {
					x.gauge(a.MaxStaleness.Seconds(), a.Name)
				}
			}
		}, "account")
)

// The workspace families; none in a project probe.
var (
	_ = newFamily("workspace_scrape_success", "1 if the workspace's project list was read in this scrape (in background mode: by the latest refresh pass).", gaugeType,
		workspaces(func(x *exposition, acct string, w *scrape.WorkspaceResult) {
			x.gauge(b2f(w.Success), acct, w.Name)
		}), "account", "workspace")
	_ = newFamily("workspace_scrape_failure", "1 while the workspace's project list failed, for the reason of the error that failed it; absent when it succeeded.", gaugeType,
		workspaces(func(x *exposition, acct string, w *scrape.WorkspaceResult) {
			if !w.Success {
				x.gauge(1, acct, w.Name, reason(w.Err))
			}
		}), "account", "workspace", "reason")
	_ = newFamily("workspace_projects", "Number of projects in the workspace (before project filters).", gaugeType,
		workspaces(func(x *exposition, acct string, w *scrape.WorkspaceResult) {
			if w.Success {
				x.gauge(float64(w.ProjectCount), acct, w.Name)
			}
		}), "account", "workspace")
	_ = newFamily("workspace_monthly_analyses", "Analyses run in the workspace this month (monthlyAnalysisCount).", gaugeType,
		workspaces(func(x *exposition, acct string, w *scrape.WorkspaceResult) {
			if w.HasMonthly {
				x.gauge(float64(w.Monthly), acct, w.Name)
			}
		}), "account", "workspace")
	_ = newFamily("workspace_last_success_timestamp_seconds", "When the workspace's project list was last read.", gaugeType,
		workspaces(func(x *exposition, acct string, w *scrape.WorkspaceResult) {
			if !w.ReadAt.IsZero() {
				x.gauge(unix(w.ReadAt), acct, w.Name)
			}
		}), "account", "workspace")
)

// workspaces makes a family's write function that calls each for every
// workspace, unless the exposition is a project probe's.
func workspaces(each func(x *exposition, account string, w *scrape.WorkspaceResult)) func(*exposition, *Family) {
	return func(x *exposition, _ *Family) {
		if x.opts.ProjectOnly {
			return
		}
		for _, v := range x.results {
			for _, w := range v.r.Workspaces {
				each(x, v.r.Account, w)
			}
		}
	}
}

// projects makes a family's write function that calls each for every
// project (read: only those whose figures are exported).
func projects(read bool, each func(x *exposition, p *scrape.ProjectResult, acct, ws, id string)) func(*exposition, *Family) {
	return func(x *exposition, _ *Family) {
		for _, v := range x.results {
			for _, pv := range v.projects {
				if !read || pv.p.Read {
					each(x, pv.p, v.r.Account, pv.p.Workspace, pv.id)
				}
			}
		}
	}
}

// figures is projects(true, ...) for projects with Stats (not count-only).
func figures(each func(x *exposition, s *scrape.Stats, acct, ws, id string)) func(*exposition, *Family) {
	return projects(true, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
		if p.Stats != nil {
			each(x, p.Stats, acct, ws, id)
		}
	})
}

// statuses is projects(true, ...) for projects with a tracker summary.
func statuses(each func(x *exposition, st *status.Summary, acct, ws, id string)) func(*exposition, *Family) {
	return projects(true, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
		if p.Status != nil {
			each(x, p.Status, acct, ws, id)
		}
	})
}

var projectLabels = []string{"account", "workspace", "project_id"}

func labels(extra ...string) []string {
	return append(append([]string(nil), projectLabels...), extra...)
}

// The project families.
var (
	_ = newFamily("project_info", "Project metadata; always 1.", gaugeType,
		projects(false, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			base := "false"
			if p.Project.IsBase {
				base = "true"
			}
			x.gauge(1, acct, ws, id, p.Project.Name, base)
		}), labels("project_name", "base_project")...)
	_ = newFamily("project_scrape_success", "1 if every page of the project's asset list was read in time (in background mode: by the latest refresh pass, and the figures are younger than --scrape.max-staleness).", gaugeType,
		projects(false, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			x.gauge(b2f(p.Success), acct, ws, id)
		}), projectLabels...)
	_ = newFamily("project_scrape_failure", "1 while the project's listing failed, for the reason of the first error that failed it (docs/runbook.md, Failure reasons); absent when it succeeded.", gaugeType,
		projects(false, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			if !p.Success {
				x.gauge(1, acct, ws, id, reason(p.Err))
			}
		}), labels("reason")...)
	_ = newFamily("project_scrape_duration_seconds", "Time spent listing the project's assets (0 when served from the cache; in background mode, the latest refresh pass's listing).", gaugeType,
		projects(false, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			x.gauge(p.Duration.Seconds(), acct, ws, id)
		}), projectLabels...)
	_ = newFamily("project_last_success_timestamp_seconds", "When the project's exported figures were read: the end of its latest complete listing (in background mode also after its figures became too old to export).", gaugeType,
		projects(false, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			if !p.ReadAt.IsZero() {
				x.gauge(unix(p.ReadAt), acct, ws, id)
			}
		}), projectLabels...)
	_ = newFamily("cache_age_seconds", "Age of the project's asset figures: 0 when read in this scrape, more when served from the cache (--scrape.cache-ttl).", gaugeType,
		projects(true, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			if !x.opts.CacheAge {
				return
			}
			age := 0.0
			if p.FromCache {
				age = x.opts.Now.Sub(p.ReadAt).Seconds()
			}
			x.gauge(age, acct, ws, id)
		}), projectLabels...)
	_ = newFamily("project_assets_reported", "Number of assets in the project as the API reported it (totalCount).", gaugeType,
		projects(true, func(x *exposition, p *scrape.ProjectResult, acct, ws, id string) {
			x.gauge(float64(p.Reported), acct, ws, id)
		}), projectLabels...)
	_ = newFamily("assets", "Assets in the project by format, de-duplicated by asset ID.", gaugeType,
		formats(func(s *scrape.Stats, f scrape.Format) float64 { return float64(s.Count[f]) }), labels("format")...)
	_ = newFamily("assets_size_bytes", "Sum of the assets' sizes by format; unknown holds the assets without a format.", gaugeType,
		formats(func(s *scrape.Stats, f scrape.Format) float64 { return float64(s.Bytes[f]) }), labels("format")...)
	_ = newFamily("assets_duration_seconds", "Sum of the assets' durations by format; unknown holds the assets without a format.", gaugeType,
		formats(func(s *scrape.Stats, f scrape.Format) float64 { return float64(s.DurMs[f]) / 1000 }), labels("format")...)
	_ = newFamily("project_last_asset_created_timestamp_seconds", "Creation time of the project's newest asset.", gaugeType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			if s.LastCreated > 0 {
				x.gauge(float64(s.LastCreated), acct, ws, id)
			}
		}), projectLabels...)
	_ = newFamily("project_last_asset_updated_timestamp_seconds", "Most recent modification time of the project's assets.", gaugeType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			if s.LastUpdated > 0 {
				x.gauge(float64(s.LastUpdated), acct, ws, id)
			}
		}), projectLabels...)
	_ = newFamily("assets_invalid_metadata", "Assets whose size or duration was negative or absurd (over 1 TiB, over 7 days); the value was left out of the sums.", gaugeType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			for f := range scrape.InvalidField(scrape.NumInvalidFields) {
				x.gauge(float64(s.Invalid[f]), acct, ws, id, f.String())
			}
		}), labels("field")...)
	_ = newFamily("assets_out_of_spec", "Assets outside Media Intelligence's documented limits, by reason; an asset with several problems counts under each.", gaugeType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			for r := range scrape.Reason(scrape.NumReasons) {
				x.gauge(float64(s.Reasons[r]), acct, ws, id, r.String())
			}
		}), labels("reason")...)
	_ = newFamily("assets_by_resolution", "Assets by resolution class of their shorter side.", gaugeType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			for r := range scrape.Resolution(scrape.NumResolutions) {
				x.gauge(float64(s.Res[r]), acct, ws, id, r.String())
			}
		}), labels("resolution")...)
	_ = newFamily("asset_size_distribution_bytes", "Distribution of the sizes of the project's assets (every format).", histType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			if x.opts.Histograms {
				x.histogram(&s.SizeHist, scrape.SizeBuckets, acct, ws, id)
			}
		}), projectLabels...)
	_ = newFamily("video_duration_distribution_seconds", "Distribution of the durations of the project's videos (mp4, mkv, mov, webm).", histType,
		figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
			if x.opts.Histograms {
				x.histogram(&s.DurHist, scrape.DurationBuckets, acct, ws, id)
			}
		}), projectLabels...)
)

// formats makes the write function of a per-format family: the documented
// formats always, other and unknown when not zero.
func formats(value func(s *scrape.Stats, f scrape.Format) float64) func(*exposition, *Family) {
	return figures(func(x *exposition, s *scrape.Stats, acct, ws, id string) {
		for f := range scrape.Format(scrape.NumFormats) {
			if int(f) >= scrape.NumDocumentedFormats && s.Count[f] == 0 {
				continue
			}
			x.gauge(value(s, f), acct, ws, id, f.String())
		}
	})
}

// The status tracker's families: every label value present; the scene
// summary families only with that stage on.
var (
	_ = newFamily("recent_assets", "Recent assets of the project (created or updated within --status.window), de-duplicated.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			x.gauge(float64(st.Recent), acct, ws, id)
		}), projectLabels...)
	_ = newFamily("recent_assets_import_status", "Recent assets by last known upload status; the statuses sum to recent_assets.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			for s := range status.ImportState(status.NumImportStates) {
				x.gauge(float64(st.Import[s]), acct, ws, id, s.String())
			}
		}), labels("status")...)
	_ = newFamily("recent_assets_analysis_status", "Recent assets by last known analysis status (not_imported until the upload is COMPLETED); the statuses sum to recent_assets.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			for s := range status.AnalysisState(status.NumAnalysisStates) {
				x.gauge(float64(st.Analysis[s]), acct, ws, id, s.String())
			}
		}), labels("status")...)
	_ = newFamily("recent_assets_analysis_failures", "Recent assets whose analysis failed, by the reason read from the failure message.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			for r := range status.FailureReason(status.NumReasons) {
				x.gauge(float64(st.Failures[r]), acct, ws, id, r.String())
			}
		}), labels("reason")...)
	_ = newFamily("analysis_oldest_pending_seconds", "How long the longest-waiting recent asset has been seen waiting for or in analysis (WAIT_ANALYZE or ANALYZING); 0 when none is.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			x.gauge(st.OldestPending.Seconds(), acct, ws, id)
		}), projectLabels...)
	_ = newFamily("recent_assets_scene_summary_status", "Recent assets by last known scene summary status (not_analyzed until the analysis is ANALYZE_COMPLETED); the statuses sum to recent_assets.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			if !st.SceneSummaries {
				return
			}
			for s := range status.SummaryState(status.NumSummaryStates) {
				x.gauge(float64(st.SceneSummary[s]), acct, ws, id, s.String())
			}
		}), labels("status")...)
	_ = newFamily("scene_summary_oldest_pending_seconds", "How long the longest-waiting recent asset has been seen with its scene summary queued or running (WAIT_SUMMARIZE or SUMMARIZING); 0 when none is.", gaugeType,
		statuses(func(x *exposition, st *status.Summary, acct, ws, id string) {
			if st.SceneSummaries {
				x.gauge(st.SummaryOldestPending.Seconds(), acct, ws, id)
			}
		}), projectLabels...)
)
