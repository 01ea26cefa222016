package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// statusChecks is the number of status calls the exporter has made, of
// the kinds given (all three when none is).
func statusChecks(t *testing.T, e *testutil.Exporter, kinds ...string) float64 {
	t.Helper()
	body := e.Get(t, "/internal/metrics")
	if len(kinds) == 0 {
		kinds = []string{"import", "analysis", "scene_summary"}
	}
	var n float64
	for _, kind := range kinds {
		v, _ := metricValue(body, `ncp_mediaintel_status_checks_total{account="default",kind="`+kind+`",result="200"}`)
		n += v
	}
	return n
}

var loadedRE = regexp.MustCompile(`msg="status state loaded" .*account=default .*assets=(\d+)`)

// loaded is the number of assets the exporter's log says it loaded from
// its state file (-1 when it says nothing).
func loaded(log string) int {
	m := loadedRE.FindStringSubmatch(log)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestStatusRestartIsFree: with a state file, the built exporter restarted
// after its tracker settled makes no status calls for the settled assets.
func TestStatusRestartIsFree(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildExporter(t)
	args := []string{"--demo", "--mi.project-include=2001|2002", "--status.window=100000h", "--status.rate=2000",
		"--status.state-file=" + filepath.Join(t.TempDir(), "state.db")}

	first := testutil.StartExporter(t, bin, args...)
	first.Get(t, "/metrics") // the listing names the 970 assets to the tracker
	testutil.Eventually(t, 60*time.Second, "the tracker to settle", func() bool {
		v, _ := metricValue(first.Get(t, "/internal/metrics"), `ncp_mediaintel_status_queue_assets{account="default"}`)
		return v == 0 && statusChecks(t, first) >= 970
	})
	before := statusChecks(t, first)
	first.Stop(t)

	second := testutil.StartExporter(t, bin, args...)
	if n := loaded(second.Log()); n < 970 {
		t.Fatalf("the restarted exporter loaded %d assets from its state file, want at least 970:\n%s", n, second.Log())
	}
	second.Get(t, "/metrics")
	time.Sleep(2 * time.Second) // time for any check it would make
	second.Get(t, "/metrics")
	// Only the demo's new uploads (one every 3 s, shared by 11 projects)
	// may need checks.
	if after := statusChecks(t, second); after > 10 {
		t.Errorf("the restarted exporter made %v status calls (the first run %v), want at most a few for new uploads", after, before)
	}
	t.Logf("first run: %v status calls; after the restart: %v", before, statusChecks(t, second))
}

// TestStatusStateFileSurvivesSIGKILL: the built exporter, killed with
// SIGKILL in the middle of a burst of status updates (and so of state-file
// commits, one every 2 s), restarts on the same file without error, three
// times over; the file then still keeps the state across a clean restart.
func TestStatusStateFileSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildExporter(t)
	state := filepath.Join(t.TempDir(), "state.db")
	// Each round brings a new project's assets (6,500, 7,300, 9,800) for a
	// burst of checks of its own, beside the state kept so far.
	include := []string{"1003", "1003|3003", "1003|3003|1005"}
	args := func(round int) []string {
		return []string{"--demo", "--mi.project-include=" + include[round], "--status.window=100000h", "--status.rate=5000",
			"--status.state-file=" + state}
	}
	reusable := func(round string, log string) {
		t.Helper()
		if strings.Contains(log, "set aside") || strings.Contains(log, "level=ERROR") || loaded(log) < 0 {
			t.Fatalf("%s: the state file was not reusable:\n%s", round, log)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 3 {
		e := testutil.StartExporter(t, bin, args(round)...)
		reusable(fmt.Sprintf("round %d", round), e.Log())
		e.Get(t, "/metrics")
		testutil.Eventually(t, 30*time.Second, "status calls under way", func() bool { return statusChecks(t, e) > 500 })
		// Anywhere in the first two commits, in the middle of one or not.
		time.Sleep(time.Duration(rng.IntN(4000)) * time.Millisecond)
		calls := statusChecks(t, e)
		e.Kill(t)
		t.Logf("round %d: killed after %v status calls; %d assets had been loaded", round, calls, loaded(e.Log()))
	}
	// A run that ends cleanly commits what it has: the next start loads it.
	e := testutil.StartExporter(t, bin, args(2)...)
	reusable("after three kills", e.Log())
	failedSummaries := func(e *testutil.Exporter) float64 {
		v, _ := metricValue(e.Get(t, "/metrics"), `ncp_mediaintel_recent_assets_scene_summary_status{account="default",project_id="1003",status="failed",workspace="media-prod"}`)
		return v
	}
	// Until the scene summaries of project 1003, which all fail, are known.
	testutil.Eventually(t, 60*time.Second, "failed scene summaries known", func() bool { return failedSummaries(e) >= 1000 })
	time.Sleep(3 * time.Second) // a commit, at least
	e.Stop(t)
	last := testutil.StartExporter(t, bin, args(2)...)
	reusable("after a clean stop", last.Log())
	if n := loaded(last.Log()); n < 6500 {
		t.Errorf("loaded %d assets after a clean stop, want the 6500 of project 1003:\n%s", n, last.Log())
	}
	body := last.Get(t, "/metrics")
	if v, ok := metricValue(body, `ncp_mediaintel_recent_assets{account="default",project_id="1003",workspace="media-prod"}`); !ok || v < 6500 {
		t.Errorf("recent_assets of project 1003 = %v (present %v), want at least 6500", v, ok)
	}
	// The scene summary stage survived too: project 1003's summaries all
	// fail, and more of them show failed than this run has asked about.
	failed := failedSummaries(last)
	if asked := statusChecks(t, last, "scene_summary"); failed < 1000 || failed <= asked {
		t.Errorf("%v failed scene summaries shown after the restart, %v asked about by this run: the state file kept none", failed, asked)
	}
}
