package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/dashboards"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// The background mode of TestE2EBackground: passes every
// e2eRefreshInterval, figures too old after as long (the least the
// exporter allows), so that a pass that hangs makes the figures it was to
// renew stale for most of an interval before the pass ends.
const e2eRefreshInterval = 30 * time.Second

// TestE2EBackground runs the exporter in background mode
// (--scrape.mode=background) over the tests' simulator of the demo's two
// accounts, scraped by the newest Prometheus release with the example
// configuration, rules and Alertmanager. It checks that the dashboard's
// data-age and refresh panels have data; that the project whose listing
// always fails pages as failing (reason server_error), never as stale;
// and that when the API hangs on one project of one account, the pass
// that would renew its figures runs late, MediaIntelProjectFiguresStale
// fires for that project of that account only, and reaches the webhook.
func TestE2EBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	rels := prometheusReleases(t)
	rel := rels[len(rels)-1]
	start := time.Now()

	hook := &webhook{}
	am := startAlertmanager(t, hook)
	sim := newE2ESimulator(t)
	interval := e2eRefreshInterval.String()
	exp := startSimExporter(t, sim, "--scrape.mode=background", "--scrape.refresh-interval="+interval, "--scrape.max-staleness="+interval)
	api := startPrometheus(t, rel, "prometheus "+rel.Version, prometheusConfig(t, rel, "prometheus.yml", exp.Addr, am.Addr))

	// 1. Both accounts, their staleness limit, and the refresh panels.
	checkAccountsApart(t, api)
	testutil.EventuallyNoError(t, 30*time.Second, "the staleness limit of both accounts is stored", func() error {
		_, series, err := api.query(`ncp_mediaintel_refresh_max_staleness_seconds == ` + strconv.Itoa(int(e2eRefreshInterval.Seconds())))
		if err != nil {
			return err
		}
		if len(series) != 2 {
			return fmt.Errorf("ncp_mediaintel_refresh_max_staleness_seconds: %+v", series)
		}
		return nil
	})
	checkDashboardQueries(t, api, func(q dashboards.Query) bool {
		return strings.Contains(q.Expr, "ncp_mediaintel_refresh_") || strings.Contains(q.Expr, "ncp_mediaintel_project_last_success_timestamp_seconds")
	})

	// 2. The project whose listing always fails has no figures to grow old:
	// it pages as failing, with its reason.
	failing := map[string]string{"account": accountDefault, "workspace": mitest.DemoFailingWorkspace, "project_id": strconv.FormatInt(mitest.DemoFailingProject, 10)}
	a := waitForWebhook(t, hook, 60*time.Second, "MediaIntelProjectScrapeFailing", failing)
	if !strings.Contains(a.Annotations["description"], "reason server_error") {
		t.Errorf("MediaIntelProjectScrapeFailing does not name the reason: %q", a.Annotations["description"])
	}

	// 3. The API hangs on one project of account lab, in the workspace name
	// both accounts have. The next pass waits for it until its deadline
	// (the staleness limit): meanwhile its figures grow older than the
	// limit, and no pass has failed to read it.
	stale := map[string]string{"account": accountLab, "workspace": sharedWS, "project_id": "5002"}
	testutil.EventuallyNoError(t, 60*time.Second, "Prometheus has the figures of "+fmt.Sprint(stale), func() error {
		n, series, err := api.query(`ncp_mediaintel_project_last_success_timestamp_seconds{account="lab", workspace="` + sharedWS + `", project_id="5002"}`)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%+v", series)
		}
		return nil
	})
	hang := mitest.Scope{Operation: client.OpListAssets, Workspace: sharedWS, ProjectID: 5002}
	lab := sim.Account(mitest.DemoLabAccessKey)
	lab.SetFault(hang, mitest.Fault{Hang: true})
	a = waitForWebhook(t, hook, 3*e2eRefreshInterval, "MediaIntelProjectFiguresStale", stale)
	lab.ClearFault(hang)
	t.Logf("MediaIntelProjectFiguresStale after %s: %s", time.Since(start).Round(time.Second), a.Annotations["description"])
	for _, want := range []string{"of account lab", "staleness limit (30s)"} {
		if !strings.Contains(a.Annotations["summary"]+a.Annotations["description"], want) {
			t.Errorf("MediaIntelProjectFiguresStale does not say %q: %+v", want, a.Annotations)
		}
	}

	// 4. Only that project of that account was stale; nothing else paged
	// but the failing project.
	alerts, err := api.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append(alerts, hook.snapshot()...) {
		switch a.Labels["alertname"] {
		case "MediaIntelProjectFiguresStale":
			if !hasLabels(a.Labels, stale) {
				t.Errorf("a project whose refresh is on time alerts as stale: %+v", a)
			}
		case "MediaIntelAPIUnreachable", "MediaIntelExporterDown", "MediaIntelWorkspaceScrapeFailing":
			t.Errorf("the exporter should be healthy: %+v", a)
		}
	}
	t.Logf("background end-to-end test done in %s", time.Since(start).Round(time.Second))
}
