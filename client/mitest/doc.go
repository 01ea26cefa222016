// Package mitest is a strict simulator of the NAVER Cloud Platform Media
// Intelligence API: a real HTTP server on 127.0.0.1, in the spirit of
// net/http/httptest, used by tests, benchmarks and the exporter's --demo mode.
// It is not test-only code: it ships in the exporter binary, which runs it
// in-process for --demo (NewDemoServer).
//
// It answers the seven read calls the exporter makes, named by client's
// operations (see docs/api.md): list workspaces, workspace details, list
// projects, list assets, and an asset's import status (get_import_status),
// analysis status (get_analysis_status) and scene summary status
// (get_scene_summary_status), with the documented JSON shapes. It is as strict as the API Gateway: every request must be signed
// (signature v2) with known credentials and a timestamp within five minutes
// of the server clock, and paging parameters must be in range.
//
// In tests:
//
//	s := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{
//		Workspaces: 2, ProjectsPerWorkspace: 3, AssetsPerProject: 2500,
//	}))
//	defer s.Close()
//	s.SetFault(mitest.Scope{Operation: client.OpListAssets, Page: 2},
//		mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", Times: 1})
//	// point the client at s.URL with mitest.DefaultAccessKey and
//	// mitest.DefaultSecretKey, then check s.Requests(client.OpListAssets)...
//
// Accounts (WithAccount) put several NCP accounts behind the one URL, as
// NCP does: the access key a request is signed with selects the account,
// and each has its own inventory, asset statuses, faults and request
// counters (Server.Account). The Server's own setters and per-project
// counters act on the default account, which NewServer's inventory and
// WithCredentials belong to. Keys can be added to an account, with an
// expiry, while the server runs (Account.AddKey), and the requests sent
// with each key are counted (Server.RequestsWithKey).
//
// Faults (SetFault) inject latency, hangs, error statuses with every body
// shape the service and its proxies produce, truncated, malformed or huge
// bodies, connection resets, and lists that shift or lie about their paging.
//
// For the demo, NewDemoServer serves two accounts. The default one has
// DemoInventory, in which one project (DemoFailingWorkspace,
// DemoFailingProject) always fails, one (DemoStuckWorkspace,
// DemoStuckProject) has a stuck analysis queue and one
// (DemoSummaryFailingWorkspace, DemoSummaryFailingProject) sees every scene
// summary fail, while new assets arrive every DemoUploadEvery. The second,
// signed with DemoLabAccessKey and DemoLabSecretKey, has DemoLabInventory,
// whose DemoSharedWorkspace is named as one of the first account's, and
// gets an upload every other DemoUploadEvery.
//
// For benchmarks, SyntheticAssets generates assets on the fly, so a project
// of a million assets costs no memory, and pages are encoded without
// reflection into pooled buffers.
package mitest
