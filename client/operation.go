package client

// Operation names an API call. The values are stable: they are used as
// metric label values.
type Operation string

// The operations the client performs, one a call of docs/api.md, each
// with the path it requests below /api/v1.
const (
	OpListWorkspaces Operation = "list_workspaces"     // /workspaces
	OpGetWorkspace   Operation = "get_workspace"       // /workspaces/{workspace}
	OpListProjects   Operation = "list_projects"       // /workspaces/{workspace}/projects
	OpListAssets     Operation = "list_assets"         // .../projects/{project}/assets
	OpImportStatus   Operation = "get_import_status"   // .../assets/{asset}/import-status
	OpAnalysisStatus Operation = "get_analysis_status" // .../assets/{asset}/index/status
	// OpSceneSummaryStatus: .../assets/{asset}/scene-summary/status
	OpSceneSummaryStatus Operation = "get_scene_summary_status"
)

// Operations lists every Operation, for pre-initialising metrics.
var Operations = []Operation{OpListWorkspaces, OpGetWorkspace, OpListProjects, OpListAssets, OpImportStatus, OpAnalysisStatus, OpSceneSummaryStatus}
