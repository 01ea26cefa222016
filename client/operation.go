package client

// Operation names an API call. The values are stable: they are used as
// metric label values.
type Operation string

// The operations the client performs.
const (
	OpListWorkspaces Operation = "list_workspaces"
	OpGetWorkspace   Operation = "get_workspace"
	OpListProjects   Operation = "list_projects"
	OpListAssets     Operation = "list_assets"
	OpImportStatus   Operation = "get_import_status"
	OpAnalysisStatus Operation = "get_analysis_status"
)

// Operations lists every Operation, for pre-initialising metrics.
var Operations = []Operation{OpListWorkspaces, OpGetWorkspace, OpListProjects, OpListAssets, OpImportStatus, OpAnalysisStatus}
