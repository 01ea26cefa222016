// Package dashboards builds the Grafana dashboard of mediaintel_exporter as
// code, with the Grafana Foundation SDK. The JSON that users import,
// mediaintel.json, is generated from it by "go -C dashboards generate" and
// committed; a test checks that the two agree.
package dashboards

//go:generate go run ./generate

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// FileName is the name of the generated dashboard, in this directory.
const FileName = "mediaintel.json"

// UID is the dashboard's stable identifier, kept across regenerations so that
// links and provisioning keep working.
const UID = "ncp-mediaintel"

// Selectors shared by the queries: the dashboard's workspace and project
// variables (multi-value, "All" is ".*").
const (
	wsSel   = `workspace=~"$workspace"`
	projSel = `workspace=~"$workspace", project_id=~"$project"`
	// projectName joins project_info onto a per-project vector so the
	// project's name is a label: use as  <expr> * on (workspace, project_id) group_left (project_name) <projectName>.
	projectName = `max by (workspace, project_id, project_name) (ncp_mediaintel_project_info{` + projSel + `})`
)

func ptr[T any](v T) *T { return &v }

// datasource is the ${datasource} variable, used by every panel and query.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

// withName attaches the project_name label to a per-project expression.
func withName(expr string) string {
	return expr + "\n  * on (workspace, project_id) group_left (project_name)\n" + projectName
}

// q is a range query.
func q(expr, legend string) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().Expr(expr).Datasource(datasource()).Range()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// qi is an instant query, for stats, bar gauges and tables.
func qi(expr, legend string) *prometheus.DataqueryBuilder {
	return q(expr, legend).Instant()
}

// qt is an instant query in table format, for the project table.
func qt(expr, refID string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).Datasource(datasource()).
		Instant().Format(prometheus.PromQueryFormatTable).RefId(refID)
}

func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

func step(v *float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: v, Color: color}
}

// okMapping shows 1/0 success gauges as words.
func okMapping(ok, bad string) []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"1": {Text: ptr(ok), Color: ptr("green"), Index: ptr(int32(0))},
			"0": {Text: ptr(bad), Color: ptr("red"), Index: ptr(int32(1))},
		},
	}}}
}

func lastReduce() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

func statPanel(title, desc, unit string, target cog.Builder[variants.Dataquery]) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Unit(unit).
		Datasource(datasource()).WithTarget(target).Height(4).Span(4).
		ReduceOptions(lastReduce()).GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeNone)
}

func barPanel(title, desc, unit string, target cog.Builder[variants.Dataquery]) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().Title(title).Description(desc).Unit(unit).
		Datasource(datasource()).WithTarget(target).Height(8).Span(8).
		ReduceOptions(lastReduce()).Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).ShowUnfilled(true).Min(0)
}

func tsPanel(title, desc, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).
		Datasource(datasource()).Height(8).Span(12).FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).ShowLegend(true))
}

func heatmapPanel(title, desc, unit, expr string) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().Title(title).Description(desc).Unit(unit).
		Datasource(datasource()).Height(8).Span(8).Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit(unit)).
		WithTarget(q(expr, "{{le}}").Format(prometheus.PromQueryFormatHeatmap))
}

// Build returns the dashboard.
func Build() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("NCP Media Intelligence").
		Uid(UID).
		Description("Media assets, usage and exporter health of NAVER Cloud Platform Media Intelligence, from mediaintel_exporter.").
		Tags([]string{"ncp", "media-intelligence", "mediaintel_exporter"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("5m").
		Time("now-7d", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("workspace").
			Label("Workspace").
			Description("Media Intelligence workspaces, as seen in ncp_mediaintel_project_info.").
			Datasource(datasource()).
			Query(dashboard.StringOrMap{String: ptr(`label_values(ncp_mediaintel_project_info, workspace)`)}).
			Definition(`label_values(ncp_mediaintel_project_info, workspace)`).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).IncludeAll(true).AllValue(".*")).
		WithVariable(dashboard.NewQueryVariableBuilder("project").
			Label("Project ID").
			Description("Project IDs of the selected workspaces; the project table shows their names.").
			Datasource(datasource()).
			Query(dashboard.StringOrMap{String: ptr(`label_values(ncp_mediaintel_project_info{workspace=~"$workspace"}, project_id)`)}).
			Definition(`label_values(ncp_mediaintel_project_info{workspace=~"$workspace"}, project_id)`).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortNumericalAsc).
			Multi(true).IncludeAll(true).AllValue(".*"))

	overview(b)
	byFormat(b)
	growth(b)
	projects(b)
	usage(b)
	assetHealth(b)
	pipeline(b)
	exporterHealth(b)
	// Last, so that the panels above keep their ids (and links to them).
	failures(b)

	d, err := b.Build()
	if err != nil {
		return d, err
	}
	number(&d)
	return d, nil
}

// number gives every panel and row a unique id, in layout order, and every
// query without one a refId (A, B, ...), as Grafana would on first save: the
// generated file is then stable and panel links (viewPanel=N) keep working.
func number(d *dashboard.Dashboard) {
	id := uint32(0)
	refs := func(p *dashboard.Panel) {
		id++
		p.Id = ptr(id)
		for i, t := range p.Targets {
			if dq, ok := t.(prometheus.Dataquery); ok && dq.RefId == nil {
				dq.RefId = ptr(string(rune('A' + i)))
				p.Targets[i] = dq
			}
		}
	}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			refs(p.Panel)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				refs(&p.RowPanel.Panels[i])
			}
		}
	}
}

// JSON returns the dashboard as the bytes of mediaintel.json.
func JSON() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, fmt.Errorf("building the dashboard: %w", err)
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the dashboard: %w", err)
	}
	return append(out, '\n'), nil
}

func overview(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Overview")).
		WithPanel(statPanel("Assets", "Media assets in the selected projects.", units.Short,
			qi(`sum(ncp_mediaintel_assets{`+projSel+`})`, ""))).
		WithPanel(statPanel("Stored media", "Total size of the selected projects' assets, as the API reports it.", units.BytesIEC,
			qi(`sum(ncp_mediaintel_assets_size_bytes{`+projSel+`})`, ""))).
		WithPanel(statPanel("Hours of media", "Total playing time of the video assets, in hours.", units.Hours,
			qi(`sum(ncp_mediaintel_assets_duration_seconds{`+projSel+`}) / 3600`, ""))).
		WithPanel(statPanel("Projects", "Projects in the selected workspaces.", units.Short,
			qi(`count(ncp_mediaintel_project_info{`+projSel+`})`, ""))).
		WithPanel(statPanel("Projects failing", "Projects whose last scrape failed (ncp_mediaintel_project_scrape_success == 0); their asset metrics are missing.", units.Short,
			qi(`count(ncp_mediaintel_project_scrape_success{`+projSel+`} == 0) or vector(0)`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "red"))).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(statPanel("Exporter API access", "ncp_mediaintel_up: whether the exporter could list the workspaces (key, IAM permission and clock are right). The lowest value over all exporters.", units.Short,
			qi(`min(ncp_mediaintel_up)`, "")).
			Mappings(okMapping("OK", "FAILING")).
			Thresholds(thresholds(step(nil, "red"), step(ptr(1.0), "green"))).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone))
}

func byFormat(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("By format")).
		WithPanel(barPanel("Assets by format", "Asset count per file format. \"other\" is a format Media Intelligence does not list; \"unknown\" an asset without format metadata.", units.Short,
			qi(`sum by (format) (ncp_mediaintel_assets{`+projSel+`})`, "{{format}}"))).
		WithPanel(barPanel("Stored bytes by format", "Total asset size per file format; \"unknown\" holds the assets without a format, so the bars add up to every size the API reported.", units.BytesIEC,
			qi(`sum by (format) (ncp_mediaintel_assets_size_bytes{`+projSel+`})`, "{{format}}"))).
		WithPanel(barPanel("Hours by format", "Total playing time per file format, in hours (images have none).", units.Hours,
			qi(`sum by (format) (ncp_mediaintel_assets_duration_seconds{`+projSel+`}) / 3600`, "{{format}}"))).
		WithPanel(tsPanel("Stored bytes by format over time", "Total asset size per format, stacked: the stack is the project's whole stored size.", units.BytesIEC).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (format) (ncp_mediaintel_assets_size_bytes{`+projSel+`})`, "{{format}}")).Span(24))
}

func growth(b *dashboard.DashboardBuilder) {
	delta := func(metric, window, extra string) string {
		return `sum(delta(` + metric + `{` + projSel + `}[` + window + `]))` + extra
	}
	netDesc := "Net change (uploads minus deletions) over %s, from the first and last value in the window."
	b.WithRow(dashboard.NewRowBuilder("Growth")).
		WithPanel(statPanel("Assets added, 24h", fmt.Sprintf(netDesc, "the last 24 hours"), units.Short,
			qi(delta("ncp_mediaintel_assets", "24h", ""), "")).Span(4)).
		WithPanel(statPanel("Bytes added, 24h", fmt.Sprintf(netDesc, "the last 24 hours"), units.BytesIEC,
			qi(delta("ncp_mediaintel_assets_size_bytes", "24h", ""), "")).Span(4)).
		WithPanel(statPanel("Hours added, 24h", fmt.Sprintf(netDesc, "the last 24 hours"), units.Hours,
			qi(delta("ncp_mediaintel_assets_duration_seconds", "24h", " / 3600"), "")).Span(4)).
		WithPanel(statPanel("Assets added, 7d", fmt.Sprintf(netDesc, "the last 7 days"), units.Short,
			qi(delta("ncp_mediaintel_assets", "7d", ""), "")).Span(4)).
		WithPanel(statPanel("Bytes added, 7d", fmt.Sprintf(netDesc, "the last 7 days"), units.BytesIEC,
			qi(delta("ncp_mediaintel_assets_size_bytes", "7d", ""), "")).Span(4)).
		WithPanel(statPanel("Newest upload", "When the most recent asset of the selected projects was created.", units.DateTimeFromNow,
			qi(`max(ncp_mediaintel_project_last_asset_created_timestamp_seconds{`+projSel+`}) * 1000`, "")).
			GraphMode(common.BigValueGraphModeNone).Span(4)).
		WithPanel(tsPanel("Assets over time", "Asset count per workspace.", units.Short).
			WithTarget(q(`sum by (workspace) (ncp_mediaintel_assets{`+projSel+`})`, "{{workspace}}"))).
		WithPanel(tsPanel("Stored bytes over time", "Total asset size per workspace.", units.BytesIEC).
			WithTarget(q(`sum by (workspace) (ncp_mediaintel_assets_size_bytes{`+projSel+`})`, "{{workspace}}"))).
		WithPanel(tsPanel("Daily net growth", "Change of stored bytes over the preceding 24 hours, per workspace: a sustained negative value means media is being deleted.", units.BytesIEC).
			WithTarget(q(`sum by (workspace) (delta(ncp_mediaintel_assets_size_bytes{`+projSel+`}[24h]))`, "{{workspace}}")).Span(12)).
		WithPanel(tsPanel("Net growth over the dashboard's range", "Change of the asset count over the whole time range picked above, per workspace.", units.Short).
			WithTarget(q(`sum by (workspace) (delta(ncp_mediaintel_assets{`+projSel+`}[$__range]))`, "{{workspace}}")).Span(12))
}

func projects(b *dashboard.DashboardBuilder) {
	perProject := func(agg, metric, extra string) string {
		return withName(agg + ` by (workspace, project_id) (` + metric + `{` + projSel + `})` + extra)
	}
	rename := map[string]any{
		"workspace": "Workspace", "project_id": "Project ID", "project_name": "Project",
		"Value #A": "Assets", "Value #B": "Stored", "Value #C": "Hours",
		"Value #D": "Newest upload", "Value #E": "Scrape",
	}
	order := map[string]any{
		"Workspace": 0, "Project ID": 1, "Project": 2, "Assets": 3, "Stored": 4, "Hours": 5, "Newest upload": 6, "Scrape": 7,
	}
	tbl := table.NewPanelBuilder().Title("Project inventory").
		Description("One row per project: its name from ncp_mediaintel_project_info, asset count, stored bytes, hours of media, the newest asset's creation time and whether the last scrape succeeded. A failing project has no asset figures.").
		Datasource(datasource()).Height(10).Span(16).Unit(units.Short).
		WithTarget(qt(perProject("sum", "ncp_mediaintel_assets", ""), "A")).
		WithTarget(qt(perProject("sum", "ncp_mediaintel_assets_size_bytes", ""), "B")).
		WithTarget(qt(perProject("sum", "ncp_mediaintel_assets_duration_seconds", " / 3600"), "C")).
		WithTarget(qt(perProject("max", "ncp_mediaintel_project_last_asset_created_timestamp_seconds", " * 1000"), "D")).
		WithTarget(qt(perProject("min", "ncp_mediaintel_project_scrape_success", ""), "E")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  rename,
			"indexByName":   order,
		}}).
		OverrideByName("Stored", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.BytesIEC}}).
		OverrideByName("Hours", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.Hours}, {Id: "decimals", Value: 1}}).
		OverrideByName("Newest upload", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.DateTimeFromNow}}).
		OverrideByName("Scrape", []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: okMapping("OK", "FAILING")},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background"}},
		}).
		Footer(common.NewTableFooterOptionsBuilder().Show(true).Reducer([]string{"sum"}).
			Fields([]string{"Assets", "Stored", "Hours"})).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("Stored").Desc(true),
		})

	top := barPanel("Top 10 projects by stored bytes", "The ten largest projects of the selection.", units.BytesIEC,
		qi(`topk(10, `+perProject("sum", "ncp_mediaintel_assets_size_bytes", "")+`)`, "{{project_name}} ({{workspace}}/{{project_id}})")).
		Height(10)

	b.WithRow(dashboard.NewRowBuilder("Projects")).WithPanel(tbl).WithPanel(top)
}

func usage(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Usage")).
		WithPanel(tsPanel("Monthly analyses per workspace", "monthlyAnalysisCount of each workspace: the analyses run this month, the only usage figure the API offers. It restarts every month.", units.Short).
			WithTarget(q(`max by (workspace) (ncp_mediaintel_workspace_monthly_analyses{`+wsSel+`})`, "{{workspace}}")).Span(12)).
		WithPanel(barPanel("Analyses this month", "Analyses run this month, per workspace.", units.Short,
			qi(`max by (workspace) (ncp_mediaintel_workspace_monthly_analyses{`+wsSel+`})`, "{{workspace}}")).Span(6)).
		WithPanel(barPanel("Projects per workspace", "Projects in each workspace against Media Intelligence's limit of 1000 per workspace.", units.Short,
			qi(`max by (workspace) (ncp_mediaintel_workspace_projects{`+wsSel+`})`, "{{workspace}}")).
			Max(1000).Thresholds(thresholds(step(nil, "green"), step(ptr(800.0), "orange"), step(ptr(900.0), "red"))).Span(6))
}

func assetHealth(b *dashboard.DashboardBuilder) {
	quantile := func(p, metric string) string {
		return `histogram_quantile(` + p + `, sum by (le) (` + metric + `_bucket{` + projSel + `}))`
	}
	b.WithRow(dashboard.NewRowBuilder("Asset health")).
		WithPanel(barPanel("Out-of-spec assets by reason", "Assets that Media Intelligence cannot analyse: outside 360p–1080p, video over 6 hours or 10 GB, image over 10 MB, an unsupported format, or metadata missing. An asset can count under several reasons.", units.Short,
			qi(`sum by (reason) (ncp_mediaintel_assets_out_of_spec{`+projSel+`})`, "{{reason}}"))).
		WithPanel(barPanel("Out-of-spec assets by project", "The projects with the most out-of-spec assets (all reasons added up).", units.Short,
			qi(`topk(10, `+withName(`sum by (workspace, project_id) (ncp_mediaintel_assets_out_of_spec{`+projSel+`})`)+`)`, "{{project_name}} ({{workspace}}/{{project_id}})"))).
		WithPanel(piechart.NewPanelBuilder().Title("Resolution mix").
			Description("Assets by resolution class (the shorter side; unknown when the metadata has none).").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(8).
			ReduceOptions(lastReduce()).PieType(piechart.PieChartTypeDonut).
			WithTarget(qi(`sum by (resolution) (ncp_mediaintel_assets_by_resolution{`+projSel+`})`, "{{resolution}}"))).
		WithPanel(heatmapPanel("Asset size distribution", "How many assets fall in each size bucket, over time (from the ncp_mediaintel_asset_size_distribution_bytes histogram of the current inventory).", units.BytesIEC,
			`sum by (le) (ncp_mediaintel_asset_size_distribution_bytes_bucket{`+projSel+`})`)).
		WithPanel(heatmapPanel("Video duration distribution", "How many videos fall in each duration bucket, over time (from the ncp_mediaintel_video_duration_distribution_seconds histogram).", units.Seconds,
			`sum by (le) (ncp_mediaintel_video_duration_distribution_seconds_bucket{`+projSel+`})`)).
		WithPanel(tsPanel("Asset size p50 / p95", "Median and 95th percentile asset size, estimated from the histogram buckets.", units.BytesIEC).
			WithTarget(q(quantile("0.5", "ncp_mediaintel_asset_size_distribution_bytes"), "p50")).
			WithTarget(q(quantile("0.95", "ncp_mediaintel_asset_size_distribution_bytes"), "p95")).Span(8))
}

// pipeline is the analysis pipeline row: what the status tracker knows of
// recent assets (--status.window) in each stage (import, analysis, scene
// summary), the console's view of them, and of the tracker itself.
func pipeline(b *dashboard.DashboardBuilder) {
	sum := func(metric, by string) string {
		return `sum by (` + by + `) (` + metric + `{` + projSel + `})`
	}
	b.WithRow(dashboard.NewRowBuilder("Analysis pipeline")).
		WithPanel(statPanel("Recent assets", "Assets created or updated within the exporter's --status.window, whose import and analysis it tracks.", units.Short,
			qi(`sum(ncp_mediaintel_recent_assets{`+projSel+`})`, "")).Span(4)).
		WithPanel(statPanel("Oldest pending analysis", "How long the longest-waiting recent asset has been queued for or in analysis. Over an hour for 15 minutes fires MediaIntelAnalysisBacklogStuck.", units.Seconds,
			qi(`max(ncp_mediaintel_analysis_oldest_pending_seconds{`+projSel+`})`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1800.0), "orange"), step(ptr(3600.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Analyses failed, 1h", "Analyses of recent assets the exporter saw fail in the last hour.", units.Short,
			qi(`sum(increase(ncp_mediaintel_analyses_observed_total{status="failed", `+projSel+`}[1h]))`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Imports failed", "Recent assets whose upload failed (FAILED, FILE_NOT_EXIST or INVALID_METADATA).", units.Short,
			qi(`sum(ncp_mediaintel_recent_assets_import_status{status=~"failed|file_not_exist|invalid_metadata", `+projSel+`})`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Status checks due", "Status checks that are due and not yet made; with the lag, the sign that --status.rate is too low for the window.", units.Short,
			qi(`sum(ncp_mediaintel_status_queue_assets)`, "")).Span(4)).
		WithPanel(statPanel("Status check lag", "How overdue the most overdue status check is. Over 10 minutes for 30 minutes fires MediaIntelStatusBudgetTooSmall.", units.Seconds,
			qi(`max(ncp_mediaintel_status_check_lag_seconds)`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(300.0), "orange"), step(ptr(600.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("In progress (console)", "Recent assets whose analysis or scene summary waits or runs, as NCP's console counts them (recording rule project:ncp_mediaintel_recent_assets_in_progress:sum).", units.Short,
			qi(`sum(project:ncp_mediaintel_recent_assets_in_progress:sum{`+projSel+`})`, "")).Span(4)).
		WithPanel(statPanel("Failed (console)", "Recent assets whose analysis or scene summary failed, as NCP's console counts them \"analysis failed\".", units.Short,
			qi(`sum(project:ncp_mediaintel_recent_assets_failed:sum{`+projSel+`})`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Completed (console)", "Recent assets whose scene summary completed: every stage done.", units.Short,
			qi(`sum(project:ncp_mediaintel_recent_assets_completed:sum{`+projSel+`})`, "")).Span(4)).
		WithPanel(statPanel("Oldest pending scene summary", "How long the longest-waiting recent asset has had its scene summary queued or running. Over an hour for 15 minutes fires MediaIntelSceneSummaryBacklogStuck.", units.Seconds,
			qi(`max(ncp_mediaintel_scene_summary_oldest_pending_seconds{`+projSel+`})`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1800.0), "orange"), step(ptr(3600.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Scene summaries failed, 1h", "Scene summaries of recent assets the exporter saw fail in the last hour; any fires MediaIntelSceneSummariesFailing.", units.Short,
			qi(`sum(increase(ncp_mediaintel_scene_summaries_observed_total{status="failed", `+projSel+`}[1h]))`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "red"))).
			ColorMode(common.BigValueColorModeValue).Span(4)).
		WithPanel(statPanel("Scene summaries running", "Recent assets whose scene summary is queued (WAIT_SUMMARIZE) or running (SUMMARIZING).", units.Short,
			qi(`sum(ncp_mediaintel_recent_assets_scene_summary_status{status=~"wait_summarize|summarizing", `+projSel+`})`, "")).Span(4)).
		WithPanel(tsPanel("Analysis status of recent assets", "Recent assets by the last known status of their latest analysis, stacked: the stack is every recent asset.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(sum("ncp_mediaintel_recent_assets_analysis_status", "status"), "{{status}}")).Span(12)).
		WithPanel(tsPanel("Import status of recent assets", "Recent assets by the last known status of their upload, stacked.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(sum("ncp_mediaintel_recent_assets_import_status", "status"), "{{status}}")).Span(12)).
		WithPanel(tsPanel("Scene summary status of recent assets", "Recent assets by the last known status of their scene summary, stacked (not_analyzed until the analysis completed; before_summarize: never summarised).", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(sum("ncp_mediaintel_recent_assets_scene_summary_status", "status"), "{{status}}")).Span(12)).
		WithPanel(tsPanel("The console's view", "Recent assets as NCP's console counts them: in progress (analysis or summary waiting or running), failed (analysis or summary failed), completed (summary completed).", units.Short).
			WithTarget(q(`sum(project:ncp_mediaintel_recent_assets_in_progress:sum{`+projSel+`})`, "in progress")).
			WithTarget(q(`sum(project:ncp_mediaintel_recent_assets_failed:sum{`+projSel+`})`, "failed")).
			WithTarget(q(`sum(project:ncp_mediaintel_recent_assets_completed:sum{`+projSel+`})`, "completed")).Span(12)).
		WithPanel(tsPanel("Oldest pending analysis by project", "How long each project's longest-waiting recent asset has been queued for or in analysis.", units.Seconds).
			WithTarget(q(`max by (workspace, project_id) (ncp_mediaintel_analysis_oldest_pending_seconds{`+projSel+`})`, "{{workspace}}/{{project_id}}")).
			Min(0).Span(8)).
		WithPanel(barPanel("Analysis failures by reason", "Recent assets whose analysis failed, by the reason in the failure message.", units.Short,
			qi(sum("ncp_mediaintel_recent_assets_analysis_failures", "reason"), "{{reason}}"))).
		WithPanel(tsPanel("Analysis throughput", "Analyses of recent assets the exporter saw end, per hour, by outcome.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (status) (rate(ncp_mediaintel_analyses_observed_total{`+projSel+`}[$__rate_interval])) * 3600`, "{{status}} / h")).Span(8)).
		WithPanel(tsPanel("Oldest pending scene summary by project", "How long each project's longest-waiting recent asset has had its scene summary queued or running.", units.Seconds).
			WithTarget(q(`max by (workspace, project_id) (ncp_mediaintel_scene_summary_oldest_pending_seconds{`+projSel+`})`, "{{workspace}}/{{project_id}}")).
			Min(0).Span(12)).
		WithPanel(tsPanel("Scene summary throughput", "Scene summaries of recent assets the exporter saw end, per hour, by outcome.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (status) (rate(ncp_mediaintel_scene_summaries_observed_total{`+projSel+`}[$__rate_interval])) * 3600`, "{{status}} / h")).Span(12)).
		WithPanel(tsPanel("Status tracker", "The tracker's checks due and not made, and its lag: both should stay near zero.", units.Short).
			WithTarget(q(`sum(ncp_mediaintel_status_queue_assets)`, "checks due")).
			WithTarget(q(`max(ncp_mediaintel_status_check_lag_seconds)`, "lag (s)")).Span(12)).
		WithPanel(tsPanel("Status checks by result", "Status calls per second, by kind and HTTP status (\"error\": no answer). 404 is an asset deleted since it was listed.", units.RequestsPerSecond).
			WithTarget(q(`sum by (kind, result) (rate(ncp_mediaintel_status_checks_total[$__rate_interval]))`, "{{kind}} {{result}}")).Span(12))
}

func exporterHealth(b *dashboard.DashboardBuilder) {
	rate := func(metric, sel, by string) string {
		return `sum by (` + by + `) (rate(` + metric + sel + `[$__rate_interval]))`
	}
	latency := func(p string) string {
		return `histogram_quantile(` + p + `, sum by (le, operation) (rate(ncp_mediaintel_api_request_duration_seconds_bucket[$__rate_interval])))`
	}
	b.WithRow(dashboard.NewRowBuilder("Exporter health")).
		WithPanel(tsPanel("Scrape duration vs timeout", "How long each exporter's scrape took, against the deadline it had (Prometheus' scrape timeout). Above 80% for long, see the MediaIntelScrapeNearTimeout alert.", units.Seconds).
			WithTarget(q(`max by (instance) (ncp_mediaintel_scrape_duration_seconds)`, "duration {{instance}}")).
			WithTarget(q(`max by (instance) (ncp_mediaintel_scrape_timeout_seconds)`, "timeout {{instance}}")).
			Min(0).Span(8)).
		WithPanel(tsPanel("Project scrape duration", "Time spent listing each project's assets.", units.Seconds).
			WithTarget(q(`max by (workspace, project_id) (ncp_mediaintel_project_scrape_duration_seconds{`+projSel+`})`, "{{workspace}}/{{project_id}}")).
			Min(0).Span(8)).
		WithPanel(statetimeline.NewPanelBuilder().Title("Project scrape success").
			Description("Whether each project's assets could be listed, scrape by scrape.").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(8).
			Mappings(okMapping("OK", "FAILING")).
			Thresholds(thresholds(step(nil, "red"), step(ptr(1.0), "green"))).
			WithTarget(q(`min by (workspace, project_id) (ncp_mediaintel_project_scrape_success{`+projSel+`})`, "{{workspace}}/{{project_id}}"))).
		WithPanel(tsPanel("API requests by code", "Requests to the Media Intelligence API per HTTP status (\"error\": no HTTP answer). 429 is throttling, 401 a key, signature or clock problem, 403 a missing permission.", units.RequestsPerSecond).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(rate("ncp_mediaintel_api_requests_total", "", "code"), "{{code}}")).Span(8)).
		WithPanel(tsPanel("API error ratio by operation", "Share of requests per operation that did not succeed (any status but 2xx, or no answer).", units.PercentUnit).
			WithTarget(q(`(`+rate("ncp_mediaintel_api_requests_total", `{code!~"2.."}`, "operation")+`
  or `+rate("ncp_mediaintel_api_requests_total", "", "operation")+` * 0)
/ `+rate("ncp_mediaintel_api_requests_total", "", "operation"), "{{operation}}")).
			Min(0).Span(8)).
		WithPanel(tsPanel("API retries", "Requests retried after a throttling answer, a 5xx or a network error, per operation.", units.RequestsPerSecond).
			WithTarget(q(rate("ncp_mediaintel_api_retries_total", "", "operation"), "{{operation}}")).Span(8)).
		WithPanel(tsPanel("API request latency", "p50 and p99 latency of API requests per operation, from ncp_mediaintel_api_request_duration_seconds.", units.Seconds).
			WithTarget(q(latency("0.5"), "p50 {{operation}}")).
			WithTarget(q(latency("0.99"), "p99 {{operation}}")).Span(12)).
		WithPanel(table.NewPanelBuilder().Title("Exporter build").
			Description("Version of each running exporter, from ncp_mediaintel_build_info.").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(12).
			Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
			WithTarget(qt(`max by (instance, version, revision, goversion) (ncp_mediaintel_build_info)`, "A")).
			WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]any{"Time": true, "Value": true},
			}}))
}

// failures is what fails now and why: the reason of every failing project,
// workspace and discovery (the *_failure gauges, present only while
// failing), and the API calls that failed after their retries.
func failures(b *dashboard.DashboardBuilder) {
	rate := func(by string) string {
		return `sum by (` + by + `) (rate(ncp_mediaintel_api_request_failures_total[$__rate_interval]))`
	}
	project := `max by (workspace, project_id, reason) (ncp_mediaintel_project_scrape_failure{` + projSel + `})`
	// One query, so the table lists what fails whichever kind it is; a
	// project without project_info still shows, without a name.
	failing := `label_replace(
  (` + withName(project) + `)
    or on (workspace, project_id)
  ` + project + `,
  "scope", "project", "", "")
or
label_replace(max by (workspace, reason) (ncp_mediaintel_workspace_scrape_failure{` + wsSel + `}), "scope", "workspace", "", "")
or
label_replace(max by (instance, reason) (ncp_mediaintel_discovery_failure), "scope", "discovery", "", "")`
	tbl := table.NewPanelBuilder().Title("Failing now").
		Description("What failed in the last scrape, and why: projects whose asset listing failed, workspaces whose project list failed, exporters whose discovery failed (the reason label of ncp_mediaintel_project_scrape_failure, _workspace_scrape_failure and _discovery_failure). Reasons: unauthenticated (key or clock), forbidden (IAM permission), not_found, throttled, server_error (5xx), timeout, network, bad_response, credentials (no usable key), other; docs/runbook.md says what fixes each. Empty when all is well.").
		Datasource(datasource()).Height(8).Span(24).Unit(units.Short).
		WithTarget(qt(failing, "A")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true},
			"renameByName": map[string]any{
				"scope": "Failing", "workspace": "Workspace", "project_id": "Project ID", "project_name": "Project",
				"instance": "Exporter", "reason": "Reason",
			},
			"indexByName": map[string]any{"Failing": 0, "Workspace": 1, "Project ID": 2, "Project": 3, "Exporter": 4, "Reason": 5},
		}}).
		OverrideByName("Reason", []dashboard.DynamicConfigValue{
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
		}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("Failing"),
		})
	b.WithRow(dashboard.NewRowBuilder("Failures")).
		WithPanel(tbl).
		WithPanel(tsPanel("Failed API calls by reason", "API calls that failed after their retries, per second, by reason (ncp_mediaintel_api_request_failures_total, process-lifetime: from /metrics or /internal/metrics). Each one left a project, a workspace, discovery or a status check without its figures.", units.RequestsPerSecond).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(rate("reason"), "{{reason}}")).Min(0)).
		WithPanel(tsPanel("Failed API calls by operation", "The same calls by API operation and reason: list_assets is a project's listing, list_projects a workspace's, list_workspaces discovery, get_*_status the analysis pipeline's checks.", units.RequestsPerSecond).
			WithTarget(q(rate("operation, reason"), "{{operation}} {{reason}}")).Min(0))
}
