package mitest

// Coordinates of the demo project whose asset list always fails.
const (
	DemoFailingWorkspace       = "media-staging"
	DemoFailingProject   int64 = 2003
)

type demoProject struct {
	id     int64
	name   string
	assets int
}

type demoWorkspace struct {
	name, bucket string
	monthly      int64
	projects     []demoProject
}

var demoLayout = []demoWorkspace{
	{"media-prod", "media-prod-bucket", 1840, []demoProject{
		{1001, "Base Project", 2400},
		{1002, "news-clips", 18000},
		{1003, "interviews", 6500},
		{1004, "ad-campaigns", 1200},
		{1005, "social-shorts", 9800},
	}},
	{DemoFailingWorkspace, "media-staging-bucket", 312, []demoProject{
		{2001, "Base Project", 150},
		{2002, "qa-samples", 820},
		{DemoFailingProject, "broken-uploads", 430},
		{2004, "empty-project", 0},
	}},
	{"archive-2024", "", 0, []demoProject{
		{3001, "Base Project", 4100},
		{3002, "tv-archive", 12000},
		{3003, "photo-library", 7300},
	}},
}

// DemoInventory returns the inventory the exporter's --demo mode shows:
// 3 workspaces, 12 projects (one base project each, one empty) and 62,700
// generated assets. The project DemoFailingProject of DemoFailingWorkspace
// fails when served by NewDemoServer.
func DemoInventory() *Inventory {
	inv := &Inventory{}
	nextID := int64(100001)
	for _, dw := range demoLayout {
		ws := &Workspace{
			Name:                 dw.name,
			URL:                  "https://mi.ncloud.com/workspaces/" + dw.name,
			BucketName:           dw.bucket,
			MonthlyAnalysisCount: dw.monthly,
			CreatedUserName:      "admin",
			CreatedTime:          "2024-03-02T10:15:00",
			UpdatedUserName:      "admin",
			UpdatedTime:          "2025-04-23T16:49:24",
		}
		for i, dp := range dw.projects {
			ws.Projects = append(ws.Projects, &Project{
				ID:              dp.id,
				Name:            dp.name,
				IsBase:          i == 0,
				CreatedUserName: "admin",
				CreatedTime:     "2024-03-02T10:15:00",
				UpdatedUserName: "editor",
				UpdatedTime:     "2025-04-23T17:13:37",
				Synthetic:       &SyntheticAssets{Count: dp.assets, Seed: dp.id * 7919, FirstID: nextID},
			})
			nextID += int64(dp.assets)
		}
		inv.Workspaces = append(inv.Workspaces, ws)
	}
	return inv
}

// DemoFault is the fault NewDemoServer sets on the failing demo project:
// every asset-list call answers 503 with the gateway's "Endpoint Error".
var DemoFault = Fault{Status: 503, Body: BodyGateway, ErrorCode: "500"}

// NewDemoServer starts a server with DemoInventory whose failing project
// always answers DemoFault.
func NewDemoServer(opts ...Option) *Server {
	s := NewServer(DemoInventory(), opts...)
	s.SetFault(Scope{Operation: OpListAssets, Workspace: DemoFailingWorkspace, ProjectID: DemoFailingProject}, DemoFault)
	return s
}
