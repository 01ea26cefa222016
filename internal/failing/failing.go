// Package failing runs the built exporter against an API that fails, for
// the tests (of the dashboard, of the rules) that need the failure series
// a healthy exporter does not export. It is a package of its own so that
// testutil stays free of the simulator.
package failing

import (
	"os"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// MetricNames returns the metric names the built exporter bin
// exports while the API fails: the failure series (discovery_failure, the
// workspace and project *_failure gauges) are absent while all is well, so
// a scrape of the healthy --demo cannot show them all. It runs bin against
// a simulator with a workspace whose project list answers 503 and one
// whose asset lists do, scrapes /metrics, then makes the workspace list
// answer 503 too and scrapes again. The dashboard's and the rules' tests
// use it to check the names their queries read.
func MetricNames(t testing.TB, bin string) map[string]bool {
	t.Helper()
	sim := mitest.NewServer(mitest.Generate(7, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 2, AssetsPerProject: 20}))
	t.Cleanup(sim.Close)
	var ws []string
	sim.View(func(inv *mitest.Inventory) {
		for _, w := range inv.Workspaces {
			ws = append(ws, w.Name)
		}
	})
	fault := mitest.Fault{Status: 503, Body: mitest.BodyGateway}
	sim.SetFault(mitest.Scope{Operation: client.OpListProjects, Workspace: ws[0]}, fault)
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, Workspace: ws[1]}, fault)
	env := append(os.Environ(), "NCLOUD_ACCESS_KEY="+mitest.DefaultAccessKey, "NCLOUD_SECRET_KEY="+mitest.DefaultSecretKey)
	exp := testutil.StartExporterWith(t, bin, testutil.ExporterOptions{Env: env}, "--mi.api-url="+sim.URL, "--mi.max-attempts=1")
	names := testutil.MetricNames(exp.Get(t, "/metrics"))
	sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, fault)
	for n := range testutil.MetricNames(exp.Get(t, "/metrics")) {
		names[n] = true
	}
	return names
}
