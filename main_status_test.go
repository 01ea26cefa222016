package main

import (
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// statusChecks is the number of status calls the exporter has made.
func statusChecks(t *testing.T, e *testutil.Exporter) float64 {
	t.Helper()
	body := e.Get(t, "/internal/metrics")
	var n float64
	for _, kind := range []string{"import", "analysis"} {
		v, _ := metricValue(body, `ncp_mediaintel_status_checks_total{kind="`+kind+`",result="200"}`)
		n += v
	}
	return n
}

var loadedRE = regexp.MustCompile(`msg="status state loaded" .*assets=(\d+)`)

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
		v, _ := metricValue(first.Get(t, "/internal/metrics"), "ncp_mediaintel_status_queue_assets")
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
// commits), restarts on the same file without error, three times over.
func TestStatusStateFileSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildExporter(t)
	state := filepath.Join(t.TempDir(), "state.db")
	args := []string{"--demo", "--mi.project-include=1003", "--status.window=100000h", "--status.rate=5000",
		"--status.state-file=" + state}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var last int
	for round := range 3 {
		e := testutil.StartExporter(t, bin, args...)
		log := e.Log()
		if strings.Contains(log, "set aside") || strings.Contains(log, "level=ERROR") {
			t.Fatalf("round %d: the state file was not reusable:\n%s", round, log)
		}
		if n := loaded(log); round > 0 && n < 1 {
			t.Fatalf("round %d: loaded %d assets after the kill (the last run had made %d checks):\n%s", round, n, last, log)
		}
		e.Get(t, "/metrics")
		testutil.Eventually(t, 30*time.Second, "status calls under way", func() bool { return statusChecks(t, e) > 500 })
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond) // commits every 2 s: land anywhere in one
		last = int(statusChecks(t, e))
		e.Kill(t)
		t.Logf("round %d: killed after %d status calls; %d assets had been loaded", round, last, loaded(log))
	}
	e := testutil.StartExporter(t, bin, args...)
	if strings.Contains(e.Log(), "set aside") || loaded(e.Log()) < 1 {
		t.Fatalf("after three kills the state file is not reusable:\n%s", e.Log())
	}
	body := e.Get(t, "/metrics")
	if v, ok := metricValue(body, `ncp_mediaintel_recent_assets{project_id="1003",workspace="media-prod"}`); !ok || v < 6500 {
		t.Errorf("recent_assets of project 1003 = %v (present %v), want at least 6500", v, ok)
	}
}
