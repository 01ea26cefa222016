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

// Selectors shared by the queries: the dashboard's variables, each
// multi-value with "All" as ".*". Every query selects the job, the instance
// and the account, so that two exporters, or two accounts with a workspace
// of the same name, never add up unless the user picks both.
const (
	// exporterSel selects the exporter's targets. Alone only for the few
	// series without an account label (ExporterOnly).
	exporterSel = `job=~"$job", instance=~"$instance"`
	// accountSel selects the accounts: every series with an account label.
	accountSel = exporterSel + `, account=~"$account"`
	wsSel      = accountSel + `, workspace=~"$workspace"`
	projSel    = wsSel + `, project_id=~"$project"`
	// projectName joins project_info onto a per-project vector so the
	// project's name is a label: use as  <expr> * on (account, workspace, project_id) group_left (project_name) <projectName>.
	projectName = `max by (account, workspace, project_id, project_name) (ncp_mediaintel_project_info{` + projSel + `})`
)

// ExporterOnly lists the metrics of the exporter that carry no account
// label (they are the process's, not an account's): their queries select
// the job and instance only. A test checks the list against the exporter's
// exposition.
var ExporterOnly = []string{
	"ncp_mediaintel_build_info",
	"ncp_mediaintel_scrapes_coalesced_total",
	"ncp_mediaintel_scrapes_rejected_total",
	"ncp_mediaintel_config_last_reload_successful",
	"ncp_mediaintel_config_last_reload_success_timestamp_seconds",
}

// targetMetrics is a selector of a series every target of the exporter
// has: ncp_mediaintel_up on /metrics and /probe, build_info on /metrics and
// /internal/metrics. The job and instance variables list them all, so that
// the process-wide panels (API calls, the status tracker), which come from
// /internal/metrics beside per-project /probe targets, can be picked too.
const targetMetrics = `{__name__=~"ncp_mediaintel_up|ncp_mediaintel_build_info"`

// accountMetrics is the same for the account variable: the accounts of
// every target, /internal/metrics' (whose API counters carry the account)
// included.
const accountMetrics = `{__name__=~"ncp_mediaintel_up|ncp_mediaintel_api_requests_total"`

func ptr[T any](v T) *T { return &v }

// datasource is the ${datasource} variable, used by every panel and query.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

// withName attaches the project_name label to a per-project expression.
func withName(expr string) string {
	return expr + "\n  * on (account, workspace, project_id) group_left (project_name)\n" + projectName
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

// variable is a query variable of the dashboard: label_values of a
// selector that the variables before it narrow down, multi-value with All.
func variable(name, label, desc, query string, sort dashboard.VariableSort) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(desc).
		Datasource(datasource()).
		Query(dashboard.StringOrMap{String: ptr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(sort).
		Multi(true).IncludeAll(true).AllValue(".*")
}

// classicOrNative is a quantile of a histogram whichever way Prometheus
// stored it: classic buckets (metric_bucket, Prometheus 2, or 3 without
// native histograms) or a native histogram (Prometheus 3 with
// scrape_native_histograms or convert_classic_histograms_to_nhcb, as the
// example configurations have it), as the PromQL documentation's migration
// pattern does. inner wraps each side: "" for a gauge histogram, "rate"
// for a counter histogram (with the range rng). by lists the labels kept
// besides le.
func classicOrNative(q, metric, sel, inner, rng, by string) string {
	wrap := func(s string) string {
		if inner == "" {
			return s
		}
		return inner + "(" + s + "[" + rng + "])"
	}
	byLe, sumOther := "le", "sum("
	if by != "" {
		byLe, sumOther = "le, "+by, "sum by ("+by+") ("
	}
	return `histogram_quantile(` + q + `, sum by (` + byLe + `) (` + wrap(metric+`_bucket{`+sel+`}`) + `) or ` + sumOther + wrap(metric+`{`+sel+`}`) + `))`
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
		WithVariable(variable("job", "Job", "Prometheus jobs that scrape the exporter: /metrics, /probe targets and /internal/metrics.",
			`label_values(`+targetMetrics+`}, job)`, dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(variable("instance", "Instance", "Targets of the selected jobs: an exporter, or a /probe target (account/workspace/project in the examples).",
			`label_values(`+targetMetrics+`, job=~"$job"}, instance)`, dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(variable("account", "Account", "NCP accounts the selected targets read (--config.file, or --ncp.account).",
			`label_values(`+accountMetrics+`, `+exporterSel+`}, account)`, dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(variable("workspace", "Workspace", "Media Intelligence workspaces of the selected accounts, as seen in ncp_mediaintel_project_info.",
			`label_values(ncp_mediaintel_project_info{`+accountSel+`}, workspace)`, dashboard.VariableSortAlphabeticalAsc)).
		WithVariable(variable("project", "Project ID", "Project IDs of the selected workspaces; the project table shows their names.",
			`label_values(ncp_mediaintel_project_info{`+wsSel+`}, project_id)`, dashboard.VariableSortNumericalAsc))

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
	accounts(b)
	dataAge(b)

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
		WithPanel(statPanel("Exporter API access", "ncp_mediaintel_up: whether the exporter could list the workspaces of the account (key, IAM permission and clock are right). The lowest value over the selected exporters and accounts; the Accounts row has one per account.", units.Short,
			qi(`min(ncp_mediaintel_up{`+accountSel+`})`, "")).
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
			WithTarget(q(`sum by (account, workspace) (ncp_mediaintel_assets{`+projSel+`})`, "{{account}}/{{workspace}}"))).
		WithPanel(tsPanel("Stored bytes over time", "Total asset size per workspace.", units.BytesIEC).
			WithTarget(q(`sum by (account, workspace) (ncp_mediaintel_assets_size_bytes{`+projSel+`})`, "{{account}}/{{workspace}}"))).
		WithPanel(tsPanel("Daily net growth", "Change of stored bytes over the preceding 24 hours, per workspace: a sustained negative value means media is being deleted.", units.BytesIEC).
			WithTarget(q(`sum by (account, workspace) (delta(ncp_mediaintel_assets_size_bytes{`+projSel+`}[24h]))`, "{{account}}/{{workspace}}")).Span(12)).
		WithPanel(tsPanel("Net growth over the dashboard's range", "Change of the asset count over the whole time range picked above, per workspace.", units.Short).
			WithTarget(q(`sum by (account, workspace) (delta(ncp_mediaintel_assets{`+projSel+`}[$__range]))`, "{{account}}/{{workspace}}")).Span(12))
}

func projects(b *dashboard.DashboardBuilder) {
	perProject := func(agg, metric, extra string) string {
		return withName(agg + ` by (account, workspace, project_id) (` + metric + `{` + projSel + `})` + extra)
	}
	rename := map[string]any{
		"account": "Account", "workspace": "Workspace", "project_id": "Project ID", "project_name": "Project",
		"Value #A": "Assets", "Value #B": "Stored", "Value #C": "Hours",
		"Value #D": "Newest upload", "Value #E": "Scrape",
	}
	order := map[string]any{
		"Account": 0, "Workspace": 1, "Project ID": 2, "Project": 3, "Assets": 4, "Stored": 5, "Hours": 6, "Newest upload": 7, "Scrape": 8,
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
		qi(`topk(10, `+perProject("sum", "ncp_mediaintel_assets_size_bytes", "")+`)`, "{{project_name}} ({{account}}/{{workspace}}/{{project_id}})")).
		Height(10)

	b.WithRow(dashboard.NewRowBuilder("Projects")).WithPanel(tbl).WithPanel(top)
}

func usage(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Usage")).
		WithPanel(tsPanel("Monthly analyses per workspace", "monthlyAnalysisCount of each workspace: the analyses run this month, the only usage figure the API offers. It restarts every month.", units.Short).
			WithTarget(q(`max by (account, workspace) (ncp_mediaintel_workspace_monthly_analyses{`+wsSel+`})`, "{{account}}/{{workspace}}")).Span(12)).
		WithPanel(barPanel("Analyses this month", "Analyses run this month, per workspace.", units.Short,
			qi(`max by (account, workspace) (ncp_mediaintel_workspace_monthly_analyses{`+wsSel+`})`, "{{account}}/{{workspace}}")).Span(6)).
		WithPanel(barPanel("Projects per workspace", "Projects in each workspace against Media Intelligence's limit of 1000 per workspace.", units.Short,
			qi(`max by (account, workspace) (ncp_mediaintel_workspace_projects{`+wsSel+`})`, "{{account}}/{{workspace}}")).
			Max(1000).Thresholds(thresholds(step(nil, "green"), step(ptr(800.0), "orange"), step(ptr(900.0), "red"))).Span(6))
}

func assetHealth(b *dashboard.DashboardBuilder) {
	quantile := func(p, metric string) string {
		return classicOrNative(p, metric, projSel, "", "", "")
	}
	b.WithRow(dashboard.NewRowBuilder("Asset health")).
		WithPanel(barPanel("Out-of-spec assets by reason", "Assets that Media Intelligence cannot analyse: outside 360p–1080p, video over 6 hours or 10 GB, image over 10 MB, an unsupported format, or metadata missing. An asset can count under several reasons.", units.Short,
			qi(`sum by (reason) (ncp_mediaintel_assets_out_of_spec{`+projSel+`})`, "{{reason}}"))).
		WithPanel(barPanel("Out-of-spec assets by project", "The projects with the most out-of-spec assets (all reasons added up).", units.Short,
			qi(`topk(10, `+withName(`sum by (account, workspace, project_id) (ncp_mediaintel_assets_out_of_spec{`+projSel+`})`)+`)`, "{{project_name}} ({{account}}/{{workspace}}/{{project_id}})"))).
		WithPanel(piechart.NewPanelBuilder().Title("Resolution mix").
			Description("Assets by resolution class (the shorter side; unknown when the metadata has none).").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(8).
			ReduceOptions(lastReduce()).PieType(piechart.PieChartTypeDonut).
			WithTarget(qi(`sum by (resolution) (ncp_mediaintel_assets_by_resolution{`+projSel+`})`, "{{resolution}}"))).
		WithPanel(heatmapPanel("Asset size distribution", "How many assets fall in each size bucket, over time (from the ncp_mediaintel_asset_size_distribution_bytes histogram of the current inventory: classic buckets, or the native histogram Prometheus 3 makes of them).", units.BytesIEC,
			`sum by (le) (ncp_mediaintel_asset_size_distribution_bytes_bucket{`+projSel+`}) or sum(ncp_mediaintel_asset_size_distribution_bytes{`+projSel+`})`)).
		WithPanel(heatmapPanel("Video duration distribution", "How many videos fall in each duration bucket, over time (from the ncp_mediaintel_video_duration_distribution_seconds histogram, classic or native).", units.Seconds,
			`sum by (le) (ncp_mediaintel_video_duration_distribution_seconds_bucket{`+projSel+`}) or sum(ncp_mediaintel_video_duration_distribution_seconds{`+projSel+`})`)).
		WithPanel(tsPanel("Asset size p50 / p95", "Median and 95th percentile asset size, estimated from the histogram buckets (classic, or the native histogram with the same buckets that Prometheus 3 stores with convert_classic_histograms_to_nhcb: the same figures).", units.BytesIEC).
			WithTarget(q(quantile("0.5", "ncp_mediaintel_asset_size_distribution_bytes"), "p50")).
			WithTarget(q(quantile("0.95", "ncp_mediaintel_asset_size_distribution_bytes"), "p95")).Span(8)).
		WithPanel(tsPanel("Video duration p50 / p95", "Median and 95th percentile video duration, estimated from the histogram buckets (classic or native, as above).", units.Seconds).
			WithTarget(q(quantile("0.5", "ncp_mediaintel_video_duration_distribution_seconds"), "p50")).
			WithTarget(q(quantile("0.95", "ncp_mediaintel_video_duration_distribution_seconds"), "p95")).Span(8))
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
			qi(`sum(ncp_mediaintel_status_queue_assets{`+accountSel+`})`, "")).Span(4)).
		WithPanel(statPanel("Status check lag", "How overdue the most overdue status check is. Over 10 minutes for 30 minutes fires MediaIntelStatusBudgetTooSmall.", units.Seconds,
			qi(`max(ncp_mediaintel_status_check_lag_seconds{`+accountSel+`})`, "")).
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
			WithTarget(q(`max by (account, workspace, project_id) (ncp_mediaintel_analysis_oldest_pending_seconds{`+projSel+`})`, "{{account}}/{{workspace}}/{{project_id}}")).
			Min(0).Span(8)).
		WithPanel(barPanel("Analysis failures by reason", "Recent assets whose analysis failed, by the reason in the failure message.", units.Short,
			qi(sum("ncp_mediaintel_recent_assets_analysis_failures", "reason"), "{{reason}}"))).
		WithPanel(tsPanel("Analysis throughput", "Analyses of recent assets the exporter saw end, per hour, by outcome.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (status) (rate(ncp_mediaintel_analyses_observed_total{`+projSel+`}[$__rate_interval])) * 3600`, "{{status}} / h")).Span(8)).
		WithPanel(tsPanel("Oldest pending scene summary by project", "How long each project's longest-waiting recent asset has had its scene summary queued or running.", units.Seconds).
			WithTarget(q(`max by (account, workspace, project_id) (ncp_mediaintel_scene_summary_oldest_pending_seconds{`+projSel+`})`, "{{account}}/{{workspace}}/{{project_id}}")).
			Min(0).Span(12)).
		WithPanel(tsPanel("Scene summary throughput", "Scene summaries of recent assets the exporter saw end, per hour, by outcome.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (status) (rate(ncp_mediaintel_scene_summaries_observed_total{`+projSel+`}[$__rate_interval])) * 3600`, "{{status}} / h")).Span(12)).
		WithPanel(tsPanel("Status tracker", "The tracker's checks due and not made, and its lag: both should stay near zero.", units.Short).
			WithTarget(q(`sum(ncp_mediaintel_status_queue_assets{`+accountSel+`})`, "checks due")).
			WithTarget(q(`max(ncp_mediaintel_status_check_lag_seconds{`+accountSel+`})`, "lag (s)")).Span(12)).
		WithPanel(tsPanel("Status checks by result", "Status calls per second, by kind and HTTP status (\"error\": no answer). 404 is an asset deleted since it was listed.", units.RequestsPerSecond).
			WithTarget(q(`sum by (kind, result) (rate(ncp_mediaintel_status_checks_total{`+accountSel+`}[$__rate_interval]))`, "{{kind}} {{result}}")).Span(12))
}

func exporterHealth(b *dashboard.DashboardBuilder) {
	rate := func(metric, extra, by string) string {
		sel := accountSel
		if extra != "" {
			sel = extra + ", " + accountSel
		}
		return `sum by (` + by + `) (rate(` + metric + `{` + sel + `}[$__rate_interval]))`
	}
	latency := func(p string) string {
		return classicOrNative(p, "ncp_mediaintel_api_request_duration_seconds", accountSel, "rate", "$__rate_interval", "operation")
	}
	b.WithRow(dashboard.NewRowBuilder("Exporter health")).
		WithPanel(tsPanel("Scrape duration vs timeout", "How long each exporter's scrape took, against the deadline it had (Prometheus' scrape timeout). Above 80% for long, see the MediaIntelScrapeNearTimeout alert.", units.Seconds).
			WithTarget(q(`max by (instance, account) (ncp_mediaintel_scrape_duration_seconds{`+accountSel+`})`, "duration {{account}} {{instance}}")).
			WithTarget(q(`max by (instance, account) (ncp_mediaintel_scrape_timeout_seconds{`+accountSel+`})`, "timeout {{account}} {{instance}}")).
			Min(0).Span(8)).
		WithPanel(tsPanel("Project scrape duration", "Time spent listing each project's assets.", units.Seconds).
			WithTarget(q(`max by (account, workspace, project_id) (ncp_mediaintel_project_scrape_duration_seconds{`+projSel+`})`, "{{account}}/{{workspace}}/{{project_id}}")).
			Min(0).Span(8)).
		WithPanel(statetimeline.NewPanelBuilder().Title("Project scrape success").
			Description("Whether each project's assets could be listed, scrape by scrape.").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(8).
			Mappings(okMapping("OK", "FAILING")).
			Thresholds(thresholds(step(nil, "red"), step(ptr(1.0), "green"))).
			WithTarget(q(`min by (account, workspace, project_id) (ncp_mediaintel_project_scrape_success{`+projSel+`})`, "{{account}}/{{workspace}}/{{project_id}}"))).
		WithPanel(tsPanel("API requests by code", "Requests to the Media Intelligence API per HTTP status (\"error\": no HTTP answer). 429 is throttling, 401 a key, signature or clock problem, 403 a missing permission.", units.RequestsPerSecond).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(rate("ncp_mediaintel_api_requests_total", "", "code"), "{{code}}")).Span(8)).
		WithPanel(tsPanel("API error ratio by operation", "Share of requests per operation that did not succeed (any status but 2xx, or no answer).", units.PercentUnit).
			WithTarget(q(`(`+rate("ncp_mediaintel_api_requests_total", `code!~"2.."`, "operation")+`
  or `+rate("ncp_mediaintel_api_requests_total", "", "operation")+` * 0)
/ `+rate("ncp_mediaintel_api_requests_total", "", "operation"), "{{operation}}")).
			Min(0).Span(8)).
		WithPanel(tsPanel("API retries", "Requests retried after a throttling answer, a 5xx or a network error, per operation.", units.RequestsPerSecond).
			WithTarget(q(rate("ncp_mediaintel_api_retries_total", "", "operation"), "{{operation}}")).Span(8)).
		WithPanel(tsPanel("API request latency", "p50 and p99 latency of API requests per operation, from ncp_mediaintel_api_request_duration_seconds: its classic buckets, or on Prometheus 3 with native-histogram scraping its native buckets (each 1.1 times the one before), whose estimate may differ from the classic one within a classic bucket.", units.Seconds).
			WithTarget(q(latency("0.5"), "p50 {{operation}}")).
			WithTarget(q(latency("0.99"), "p99 {{operation}}")).Span(12)).
		WithPanel(table.NewPanelBuilder().Title("Exporter build").
			Description("Version of each running exporter, from ncp_mediaintel_build_info.").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(12).
			Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
			WithTarget(qt(`max by (instance, version, revision, goversion) (ncp_mediaintel_build_info{`+exporterSel+`})`, "A")).
			WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]any{"Time": true, "Value": true},
			}}))
}

// failures is what fails now and why: the reason of every failing project,
// workspace and discovery (the *_failure gauges, present only while
// failing), and the API calls that failed after their retries.
func failures(b *dashboard.DashboardBuilder) {
	rate := func(by string) string {
		return `sum by (` + by + `) (rate(ncp_mediaintel_api_request_failures_total{` + accountSel + `}[$__rate_interval]))`
	}
	project := `max by (account, workspace, project_id, reason) (ncp_mediaintel_project_scrape_failure{` + projSel + `})`
	// One query, so the table lists what fails whichever kind it is; a
	// project without project_info still shows, without a name.
	failing := `label_replace(
  (` + withName(project) + `)
    or on (account, workspace, project_id)
  ` + project + `,
  "scope", "project", "", "")
or
label_replace(max by (account, workspace, reason) (ncp_mediaintel_workspace_scrape_failure{` + wsSel + `}), "scope", "workspace", "", "")
or
label_replace(max by (instance, account, reason) (ncp_mediaintel_discovery_failure{` + accountSel + `}), "scope", "discovery", "", "")`
	tbl := table.NewPanelBuilder().Title("Failing now").
		Description("What failed in the last scrape, and why: projects whose asset listing failed, workspaces whose project list failed, accounts whose discovery failed (the reason label of ncp_mediaintel_project_scrape_failure, _workspace_scrape_failure and _discovery_failure). Reasons: unauthenticated (key or clock), forbidden (IAM permission), not_found, throttled, server_error (5xx), timeout, network, bad_response, credentials (no usable key), other; in background mode also not_yet_read (no pass has read it yet) and stale (figures older than the staleness limit). docs/runbook.md says what fixes each. Empty when all is well.").
		Datasource(datasource()).Height(8).Span(24).Unit(units.Short).
		WithTarget(qt(failing, "A")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true},
			"renameByName": map[string]any{
				"scope": "Failing", "account": "Account", "workspace": "Workspace", "project_id": "Project ID", "project_name": "Project",
				"instance": "Exporter", "reason": "Reason",
			},
			"indexByName": map[string]any{"Failing": 0, "Account": 1, "Workspace": 2, "Project ID": 3, "Project": 4, "Exporter": 5, "Reason": 6},
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

// accounts is the row of the NCP accounts the exporters read: their static
// labels (ncp_mediaintel_account_info, from the configuration file), whether
// the exporter can list their workspaces, how many projects they have, and
// when a temporary key (server role) expires.
func accounts(b *dashboard.DashboardBuilder) {
	tbl := table.NewPanelBuilder().Title("Accounts").
		Description("One row per account: its static labels from the configuration file (ncp_mediaintel_account_info), whether the exporter can list its workspaces (ncp_mediaintel_up), its projects, and when its temporary key expires (server role only; ncp_mediaintel_credentials_expiry_timestamp_seconds).").
		Datasource(datasource()).Height(8).Span(16).Unit(units.Short).
		WithTarget(qt(`max without (job, instance) (ncp_mediaintel_account_info{`+accountSel+`})`, "A")).
		WithTarget(qt(`min by (account) (ncp_mediaintel_up{`+accountSel+`})`, "B")).
		WithTarget(qt(`count by (account) (ncp_mediaintel_project_info{`+accountSel+`})`, "C")).
		WithTarget(qt(`min by (account) (ncp_mediaintel_credentials_expiry_timestamp_seconds{`+accountSel+`}) * 1000`, "D")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value #A": true, "__name__": true},
			"renameByName": map[string]any{
				"account": "Account", "Value #B": "API access", "Value #C": "Projects", "Value #D": "Key expires",
			},
			"indexByName": map[string]any{"Account": 0, "API access": 1, "Projects": 2, "Key expires": 3},
		}}).
		OverrideByName("API access", []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: okMapping("OK", "FAILING")},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background"}},
		}).
		OverrideByName("Key expires", []dashboard.DynamicConfigValue{{Id: "unit", Value: units.DateTimeFromNow}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("Account"),
		})
	b.WithRow(dashboard.NewRowBuilder("Accounts")).
		WithPanel(tbl).
		WithPanel(statetimeline.NewPanelBuilder().Title("API access by account").
			Description("ncp_mediaintel_up of each account, scrape by scrape: whether its workspaces could be listed.").
			Datasource(datasource()).Unit(units.Short).Height(8).Span(8).
			Mappings(okMapping("OK", "FAILING")).
			Thresholds(thresholds(step(nil, "red"), step(ptr(1.0), "green"))).
			WithTarget(q(`min by (account) (ncp_mediaintel_up{`+accountSel+`})`, "{{account}}")))
}

// dataAge is how old the figures are, and, in background mode
// (--scrape.mode=background), how the refresh passes keep them fresh.
func dataAge(b *dashboard.DashboardBuilder) {
	age := `time() - max by (account, workspace, project_id) (ncp_mediaintel_project_last_success_timestamp_seconds{` + projSel + `})`
	b.WithRow(dashboard.NewRowBuilder("Data age and refresh")).
		WithPanel(tsPanel("Age of each project's figures", "Time since the exporter last read each project's figures (ncp_mediaintel_project_last_success_timestamp_seconds). On-scrape mode: about the scrape interval. Background mode: up to the refresh interval, more while a pass is late; past the account's staleness limit (the dashed limit lines, ncp_mediaintel_refresh_max_staleness_seconds) the figures are no longer exported and MediaIntelProjectFiguresStale fires.", units.Seconds).
			WithTarget(q(age, "{{account}}/{{workspace}}/{{project_id}}")).
			WithTarget(q(`max by (account) (ncp_mediaintel_refresh_max_staleness_seconds{`+accountSel+`})`, "limit {{account}}")).
			OverrideByQuery("B", []dashboard.DynamicConfigValue{
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
				{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
			}).
			Min(0).Span(16)).
		WithPanel(statPanel("Oldest figures", "The age of the oldest figures of the selected projects: in background mode, compare with the staleness limit (--scrape.max-staleness, three refresh intervals by default).", units.Seconds,
			qi(`max(`+age+`)`, "")).
			GraphMode(common.BigValueGraphModeArea).Span(8)).
		WithPanel(tsPanel("Refresh passes by result", "Background mode: refresh passes per hour by result (ncp_mediaintel_refresh_passes_total): success, partial (discovery read, some workspace or project not), failure (discovery failed). Each pass costs a full read of the account's API, once per --scrape.refresh-interval, whatever the number of scrapes.", units.Short).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(q(`sum by (account, result) (increase(ncp_mediaintel_refresh_passes_total{`+accountSel+`}[1h]))`, "{{account}} {{result}}")).
			Min(0).Span(8)).
		WithPanel(tsPanel("Refresh pass duration", "Background mode: how long each account's latest pass took (ncp_mediaintel_refresh_last_pass_duration_seconds), and the time since it ended. A pass that takes longer than the refresh interval makes the next start late.", units.Seconds).
			WithTarget(q(`max by (account) (ncp_mediaintel_refresh_last_pass_duration_seconds{`+accountSel+`})`, "duration {{account}}")).
			WithTarget(q(`time() - max by (account) (ncp_mediaintel_refresh_last_pass_end_timestamp_seconds{`+accountSel+`})`, "since the end {{account}}")).
			Min(0).Span(8)).
		WithPanel(statPanel("Late passes, 24h", "Background mode: passes that started late in the last 24 hours because the one before took longer than the refresh interval (ncp_mediaintel_refresh_passes_late_total). Raise --scrape.refresh-interval if it keeps growing.", units.Short,
			qi(`sum(increase(ncp_mediaintel_refresh_passes_late_total{`+accountSel+`}[24h]))`, "")).
			Thresholds(thresholds(step(nil, "green"), step(ptr(1.0), "orange"))).
			ColorMode(common.BigValueColorModeValue).Span(8))
}
