package handler_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// seoulTime is t as the API writes it: Seoul time without an offset.
func seoulTime(t time.Time) string {
	loc, _ := time.LoadLocation("Asia/Seoul")
	return t.In(loc).Format("2006-01-02T15:04:05")
}

// statusSeries is every status series of the exposition, as
// "name{label=value,...}" -> value, for the projects of workspace ws.
func statusSeries(t *testing.T, body, ws string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, f := range parseFamilies(t, body) {
		if !strings.Contains(name, "recent_assets") && !strings.Contains(name, "oldest_pending") {
			continue
		}
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			if l["workspace"] != ws {
				continue
			}
			k := strings.TrimPrefix(name, "ncp_mediaintel_") + "{" + l["project_id"]
			for _, lab := range []string{"status", "reason"} {
				if v, ok := l[lab]; ok {
					k += "," + v
				}
			}
			out[k+"}"] = metricValue(m)
		}
	}
	return out
}

// TestStatusExactValues: against a simulator inventory with a known state
// at a fixed clock, every status series of /metrics and of a project
// /probe equals the expected count, and both sums equal recent_assets.
func TestStatusExactValues(t *testing.T) {
	// One clock for the simulator, the client's signatures and the tracker.
	clk := testutil.NewClock(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	now := clk.Now()
	recent, old := seoulTime(now.Add(-10*time.Minute)), seoulTime(now.Add(-48*time.Hour))
	type want struct {
		st     mitest.AssetStatus
		recent bool
	}
	cases := map[int64]want{
		1:  {mitest.AssetStatus{Upload: "IN_PROGRESS"}, true},
		2:  {mitest.AssetStatus{Upload: "FAILED"}, true},
		3:  {mitest.AssetStatus{Upload: "FILE_NOT_EXIST"}, true},
		4:  {mitest.AssetStatus{Upload: "INVALID_METADATA", UploadResult: "Unsupported resolution"}, true},
		5:  {mitest.AssetStatus{Upload: "UPLOADING"}, true}, // undocumented: other
		6:  {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "BEFORE_ANALYZE"}, true},
		7:  {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "WAIT_ANALYZE"}, true},
		8:  {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZING"}, true},
		9:  {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", IndexID: 91}, true},
		10: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_CANCEL"}, true},
		11: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: mitest.FailureMessages[0]}, true},
		12: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: mitest.FailureMessages[5], MessageField: "analysisStatusMessage"}, true},
		13: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: mitest.FailureMessages[6]}, true},
		14: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: mitest.FailureMessages[3], MessageField: "analysisStatusMessage"}, true},
		15: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: "GPU on fire"}, true},
		16: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_PAUSED"}, true}, // undocumented: other
		17: {mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED"}, false},
	}
	var assets []mitest.Asset
	for id := int64(1); id <= 17; id++ {
		created := recent
		if !cases[id].recent {
			created = old
		}
		assets = append(assets, mitest.Asset{ID: mitest.Ptr(id), CreatedTime: mitest.Ptr(created), UpdatedTime: mitest.Ptr(created)})
	}
	assets = append(assets,
		assets[0], // listed twice: counted once
		// Updated recently though created long ago: recent.
		mitest.Asset{ID: mitest.Ptr(int64(18)), CreatedTime: mitest.Ptr(old), UpdatedTime: mitest.Ptr(recent)},
		// No assetId: cannot be tracked.
		mitest.Asset{CreatedTime: mitest.Ptr(recent)},
		// Listed, but the status calls answer 404 (deleted since): dropped.
		mitest.Asset{Raw: `{"assetId":19,"createdTime":"` + recent + `"}`},
	)
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-status", Projects: []*mitest.Project{
		{ID: 21, Name: "tracked", Assets: assets},
		{ID: 22, Name: "counted", Assets: assets[:3]},
		{ID: 23, Name: "broken", Assets: assets[:3]},
	}}}}
	e := newEnv(t, inv, envOpts{
		cfg:      scrape.Config{CountOnly: mustRegexp("^counted$")},
		sim:      []mitest.Option{mitest.WithClock(clk.Now)},
		clientFn: func(c *client.Config) { c.Now = clk.Now },
		status:   &status.Config{Window: time.Hour, Now: clk.Now},
		// The scene summary stage, on in the binary, is the next test's.
		noSummaries: true,
	})
	for id, c := range cases {
		e.sim.SetAssetStatus("ws-status", 21, id, c.st)
	}
	e.sim.SetAssetStatus("ws-status", 21, 18, mitest.AssetStatus{Upload: "COMPLETED", Analysis: "WAIT_ANALYZE"})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 23}, mitest.Fault{Status: 503})

	e.fetch(context.Background(), "/metrics", "10") // names the recent assets to the tracker
	testutil.Eventually(t, 10*time.Second, "every due status check made", func() bool {
		st := e.tracker.Stats()
		return st.Queue == 0 && e.sim.Requests(client.OpImportStatus) >= 18
	})
	clk.Add(30 * time.Second) // the two waiting assets have been pending 30 s
	r := e.fetch(context.Background(), "/metrics", "10")
	got := statusSeries(t, r.body, "ws-status")

	w := map[string]float64{
		"recent_assets{21}":                                     17, // 1-16, 18 (17 is old, 19 gone)
		"analysis_oldest_pending_seconds{21}":                   30,
		"recent_assets_import_status{21,unchecked}":             0,
		"recent_assets_import_status{21,in_progress}":           1,
		"recent_assets_import_status{21,completed}":             12,
		"recent_assets_import_status{21,failed}":                1,
		"recent_assets_import_status{21,file_not_exist}":        1,
		"recent_assets_import_status{21,invalid_metadata}":      1,
		"recent_assets_import_status{21,other}":                 1,
		"recent_assets_analysis_status{21,not_imported}":        5,
		"recent_assets_analysis_status{21,unchecked}":           0,
		"recent_assets_analysis_status{21,before_analyze}":      1,
		"recent_assets_analysis_status{21,wait_analyze}":        2,
		"recent_assets_analysis_status{21,analyzing}":           1,
		"recent_assets_analysis_status{21,completed}":           1,
		"recent_assets_analysis_status{21,failed}":              5,
		"recent_assets_analysis_status{21,cancelled}":           1,
		"recent_assets_analysis_status{21,other}":               1,
		"recent_assets_analysis_failures{21,media_parsing}":     1,
		"recent_assets_analysis_failures{21,person_extraction}": 1,
		"recent_assets_analysis_failures{21,keyword_encoding}":  1,
		"recent_assets_analysis_failures{21,result_processing}": 1,
		"recent_assets_analysis_failures{21,other}":             1,
	}
	if diff := mapDiff(w, got); diff != "" {
		t.Errorf("status series of /metrics differ (-want +got):\n%s", diff)
	}
	// A project /probe carries the same series of its project.
	pr := e.fetch(context.Background(), "/probe?workspace=ws-status&project=21", "10")
	if diff := mapDiff(w, statusSeries(t, pr.body, "ws-status")); diff != "" {
		t.Errorf("status series of the project probe differ (-want +got):\n%s", diff)
	}
	if e.sim.Requests(client.OpImportStatus) != 18 || e.sim.Requests(client.OpAnalysisStatus) != 12 {
		t.Errorf("%d import and %d analysis requests; want 18 (17 recent + the gone one) and 12 (the imported ones)",
			e.sim.Requests(client.OpImportStatus), e.sim.Requests(client.OpAnalysisStatus))
	}
	if !strings.Contains(e.logs.String(), "UPLOADING") || strings.Count(e.logs.String(), "ANALYZE_PAUSED") != 1 {
		t.Errorf("undocumented values not logged once each:\n%s", e.logs.String())
	}
}

// TestSceneSummaryExactValues: at a fixed clock, the scene summary series
// of /metrics and of a project /probe are exact over analysed assets in
// every documented summary state, an undocumented one and a 404 (no
// summary), and assets whose analysis is not completed, which are never
// asked about their summary.
func TestSceneSummaryExactValues(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	recent := seoulTime(clk.Now().Add(-10 * time.Minute))
	analysed := func(summary string) mitest.AssetStatus {
		return mitest.AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", IndexID: 5, Summary: summary}
	}
	cases := map[int64]mitest.AssetStatus{
		1:  analysed("BEFORE_SUMMARIZE"),
		2:  analysed("WAIT_SUMMARIZE"),
		3:  analysed("SUMMARIZING"),
		4:  analysed("SUMMARIZE_COMPLETED"),
		5:  analysed("SUMMARIZE_FAIL"),
		6:  analysed("SUMMARIZE_CANCELED"),
		7:  analysed("SUMMARIZE_PAUSED"), // undocumented: other
		8:  {Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", SummaryNotFound: true, SummaryExtra: true},
		9:  {Upload: "IN_PROGRESS"},
		10: {Upload: "COMPLETED", Analysis: "WAIT_ANALYZE"},
		11: {Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: mitest.FailureMessages[0]},
	}
	var assets []mitest.Asset
	for id := int64(1); id <= 11; id++ {
		assets = append(assets, mitest.Asset{ID: mitest.Ptr(id), CreatedTime: mitest.Ptr(recent), UpdatedTime: mitest.Ptr(recent)})
	}
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-summary", Projects: []*mitest.Project{{ID: 31, Name: "summaries", Assets: assets}}}}}
	e := newEnv(t, inv, envOpts{
		sim:      []mitest.Option{mitest.WithClock(clk.Now)},
		clientFn: func(c *client.Config) { c.Now = clk.Now },
		status:   &status.Config{Window: time.Hour, Now: clk.Now, SceneSummaries: true},
	})
	for id, st := range cases {
		e.sim.SetAssetStatus("ws-summary", 31, id, st)
	}
	e.fetch(context.Background(), "/metrics", "10")
	testutil.Eventually(t, 10*time.Second, "every due status check made", func() bool {
		return e.tracker.Stats().Queue == 0 && e.sim.Requests(client.OpSceneSummaryStatus) >= 8
	})
	clk.Add(30 * time.Second) // the two pending summaries, and asset 10's analysis, have waited 30 s
	body := e.fetch(context.Background(), "/metrics", "10").body
	w := map[string]float64{
		"recent_assets{31}":                                       11,
		"analysis_oldest_pending_seconds{31}":                     30,
		"scene_summary_oldest_pending_seconds{31}":                30,
		"recent_assets_import_status{31,unchecked}":               0,
		"recent_assets_import_status{31,in_progress}":             1,
		"recent_assets_import_status{31,completed}":               10,
		"recent_assets_import_status{31,failed}":                  0,
		"recent_assets_import_status{31,file_not_exist}":          0,
		"recent_assets_import_status{31,invalid_metadata}":        0,
		"recent_assets_import_status{31,other}":                   0,
		"recent_assets_analysis_status{31,not_imported}":          1,
		"recent_assets_analysis_status{31,unchecked}":             0,
		"recent_assets_analysis_status{31,before_analyze}":        0,
		"recent_assets_analysis_status{31,wait_analyze}":          1,
		"recent_assets_analysis_status{31,analyzing}":             0,
		"recent_assets_analysis_status{31,completed}":             8,
		"recent_assets_analysis_status{31,failed}":                1,
		"recent_assets_analysis_status{31,cancelled}":             0,
		"recent_assets_analysis_status{31,other}":                 0,
		"recent_assets_analysis_failures{31,media_parsing}":       1,
		"recent_assets_analysis_failures{31,person_extraction}":   0,
		"recent_assets_analysis_failures{31,keyword_encoding}":    0,
		"recent_assets_analysis_failures{31,result_processing}":   0,
		"recent_assets_analysis_failures{31,other}":               0,
		"recent_assets_scene_summary_status{31,not_analyzed}":     3,
		"recent_assets_scene_summary_status{31,unchecked}":        0,
		"recent_assets_scene_summary_status{31,before_summarize}": 2, // 1, and 8 (404)
		"recent_assets_scene_summary_status{31,wait_summarize}":   1,
		"recent_assets_scene_summary_status{31,summarizing}":      1,
		"recent_assets_scene_summary_status{31,completed}":        1,
		"recent_assets_scene_summary_status{31,failed}":           1,
		"recent_assets_scene_summary_status{31,cancelled}":        1,
		"recent_assets_scene_summary_status{31,other}":            1,
	}
	if diff := mapDiff(w, statusSeries(t, body, "ws-summary")); diff != "" {
		t.Errorf("status series of /metrics differ (-want +got):\n%s", diff)
	}
	pr := e.fetch(context.Background(), "/probe?workspace=ws-summary&project=31", "10")
	if diff := mapDiff(w, statusSeries(t, pr.body, "ws-summary")); diff != "" {
		t.Errorf("status series of the project probe differ (-want +got):\n%s", diff)
	}
	fams := parseFamilies(t, body)
	for labels, want := range map[[2]string]float64{{"scene_summary", "200"}: 7, {"scene_summary", "404"}: 1, {"analysis", "200"}: 10, {"import", "200"}: 11} {
		if v, ok := sampleValue(fams, "ncp_mediaintel_status_checks_total", map[string]string{"kind": labels[0], "result": labels[1]}); !ok || v != want {
			t.Errorf("status_checks_total{kind=%q,result=%q} = %v (present %v), want %v", labels[0], labels[1], v, ok, want)
		}
	}
	for _, st := range []string{"completed", "failed", "cancelled"} { // ends found at the first check do not count
		if v, ok := sampleValue(fams, "ncp_mediaintel_scene_summaries_observed_total", map[string]string{"workspace": "ws-summary", "project_id": "31", "status": st}); !ok || v != 0 {
			t.Errorf("scene_summaries_observed_total{status=%q} = %v (present %v), want 0", st, v, ok)
		}
	}
	for id := int64(9); id <= 11; id++ {
		if n := e.sim.StatusRequestsFor("ws-summary", 31, id); n != map[int64]int64{9: 1, 10: 2, 11: 2}[id] {
			t.Errorf("asset %d (not analysed) asked %d times; want no summary call", id, n)
		}
	}
	if e.sim.Requests(client.OpSceneSummaryStatus) != 8 {
		t.Errorf("%d scene summary requests, want 8 (the analysed assets)", e.sim.Requests(client.OpSceneSummaryStatus))
	}
	if strings.Count(e.logs.String(), "SUMMARIZE_PAUSED") != 1 {
		t.Errorf("the undocumented summary status not logged once:\n%s", e.logs.String())
	}
}

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// mapDiff lists the keys whose values differ.
func mapDiff(want, got map[string]float64) string {
	var lines []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			lines = append(lines, fmt.Sprintf("- %s %v\n+ %s %v (present %v)", k, v, k, g, ok))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("+ %s %v (unexpected)", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// listedNow is n stored assets with IDs from first, created at created.
func listedNow(first int64, n int, created time.Time) []mitest.Asset {
	out := make([]mitest.Asset, n)
	ct := seoulTime(created)
	for i := range out {
		out[i] = mitest.Asset{ID: mitest.Ptr(first + int64(i)), CreatedTime: mitest.Ptr(ct), UpdatedTime: mitest.Ptr(ct)}
	}
	return out
}

// TestStatusBudget: the status requests of a run (import, analysis and
// scene summary calls together) stay within rate × elapsed + burst; an
// asset in a final state is not asked about again unless its updatedTime
// changes; an asset outside the window is never asked about; with the
// scene summary stage off no summary call is made.
func TestStatusBudget(t *testing.T) {
	for _, summaries := range []bool{true, false} {
		t.Run(fmt.Sprintf("scene_summaries=%v", summaries), func(t *testing.T) { testStatusBudget(t, summaries) })
	}
}

func testStatusBudget(t *testing.T, summaries bool) {
	const rate, recentN, oldN = 40.0, 60, 40
	settle := &mitest.Pipeline{ImportTime: time.Millisecond, WaitTime: time.Millisecond, AnalysisTime: time.Millisecond,
		SummaryWaitTime: time.Millisecond, SummaryTime: time.Millisecond}
	assets := append(listedNow(1, recentN, time.Now().Add(-time.Minute)), listedNow(1001, oldN, time.Now().Add(-3*time.Hour))...)
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-budget", Projects: []*mitest.Project{{ID: 5, Assets: assets, Pipeline: settle}}}}}
	start := time.Now()
	e := newEnv(t, inv, envOpts{status: &status.Config{Window: time.Hour, Rate: rate}, noSummaries: !summaries})
	statusRequests := func() int64 {
		return e.sim.Requests(client.OpImportStatus) + e.sim.Requests(client.OpAnalysisStatus) + e.sim.Requests(client.OpSceneSummaryStatus)
	}
	// Each settled asset: one import check, one analysis check when
	// imported, and one summary check when analysed.
	checksOf := func(id int64) int64 {
		st := settle.StatusAt(id, time.Now(), time.Now().Add(time.Hour))
		n := int64(1)
		if st.Upload == "COMPLETED" {
			n++
		}
		if st.Analysis == "ANALYZE_COMPLETED" && summaries {
			n++
		}
		return n
	}
	var want int64
	for id := int64(1); id <= recentN; id++ {
		want += checksOf(id)
	}
	e.fetch(context.Background(), "/metrics", "10")
	for statusRequests() < want {
		if elapsed := time.Since(start).Seconds(); float64(statusRequests()) > rate*elapsed+1 {
			t.Fatalf("%d status requests after %.2f s: over %v a second plus a burst of 1", statusRequests(), elapsed, rate)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("only %d of %d status requests after 20 s", statusRequests(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start).Seconds()
	if got := float64(statusRequests()); got > rate*elapsed+1 || got < rate*elapsed*0.5 {
		t.Errorf("%v status requests in %.2f s at %v a second", got, elapsed, rate)
	}
	if n := e.sim.Requests(client.OpSceneSummaryStatus); summaries && n == 0 || !summaries && n != 0 {
		t.Errorf("%d scene summary requests with the stage %v", n, map[bool]string{true: "on", false: "off"}[summaries])
	}
	// More scrapes: settled assets are not asked again.
	for range 3 {
		e.fetch(context.Background(), "/metrics", "10")
		time.Sleep(200 * time.Millisecond)
	}
	if got := statusRequests(); got != want {
		t.Errorf("%d status requests after more scrapes, want still %d", got, want)
	}
	for id := int64(1001); id < 1001+oldN; id++ {
		if n := e.sim.StatusRequestsFor("ws-budget", 5, id); n != 0 {
			t.Errorf("asset %d, outside the window, was asked about %d times", id, n)
		}
	}
	// Asset 7 is updated (a new analysis requested): asked about again
	// once: its import, or its analysis once imported, and its summary too
	// when analysed.
	before := e.sim.StatusRequestsFor("ws-budget", 5, 7)
	again := int64(1)
	if st := settle.StatusAt(7, time.Now(), time.Now().Add(time.Hour)); st.Analysis == "ANALYZE_COMPLETED" && summaries {
		again++
	}
	e.sim.Update(func(inv *mitest.Inventory) {
		inv.Workspaces[0].Projects[0].Assets[6].UpdatedTime = mitest.Ptr(seoulTime(time.Now()))
	})
	e.fetch(context.Background(), "/metrics", "10")
	testutil.Eventually(t, 5*time.Second, "asset 7 asked again", func() bool { return e.sim.StatusRequestsFor("ws-budget", 5, 7) >= before+again })
	time.Sleep(200 * time.Millisecond)
	if got := statusRequests(); got != want+again {
		t.Errorf("%d status requests after one asset changed, want %d", got, want+again)
	}
}

// TestStatusMovement: as the simulator moves assets on (wait, analysing,
// then completed or failed), the metrics follow within --status.recheck
// plus the tracker's lag.
func TestStatusMovement(t *testing.T) {
	const recheck = 200 * time.Millisecond
	// Listed times have whole seconds: an asset's pipeline may have run up
	// to a second when the tracker first hears of it. Waiting and
	// analysing last long enough to be seen after that, also on a busy
	// machine (at 800 ms each, CI once saw none pending).
	pl := &mitest.Pipeline{ImportTime: 300 * time.Millisecond, WaitTime: 1500 * time.Millisecond, AnalysisTime: 1500 * time.Millisecond}
	const n = 20
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-move", Projects: []*mitest.Project{{ID: 6, Pipeline: pl}}}}}
	e := newEnv(t, inv, envOpts{status: &status.Config{Window: time.Hour, Recheck: recheck}})
	// The project is listed empty, then n assets are uploaded.
	e.fetch(context.Background(), "/metrics", "10")
	created := time.Now().Truncate(time.Second)
	e.sim.Update(func(inv *mitest.Inventory) { inv.Workspaces[0].Projects[0].Assets = listedNow(1, n, created) })
	// settledAt is when the simulator's state of an asset stops moving.
	settledAt := map[int64]time.Time{}
	for id := int64(1); id <= n; id++ {
		final := pl.StatusAt(id, created, created.Add(time.Hour))
		for d := time.Duration(0); ; d += 10 * time.Millisecond {
			if pl.StatusAt(id, created, created.Add(d)) == final {
				settledAt[id] = created.Add(d)
				break
			}
		}
	}
	final := map[string]float64{}
	for id := int64(1); id <= n; id++ {
		st := pl.StatusAt(id, created, created.Add(time.Hour))
		switch {
		case st.Upload != "COMPLETED":
			final["not_imported"]++
		case st.Analysis == "ANALYZE_COMPLETED":
			final["completed"]++
		case st.Analysis == "ANALYZE_FAIL":
			final["failed"]++
		case st.Analysis == "ANALYZE_CANCEL":
			final["cancelled"]++
		case st.Analysis == "BEFORE_ANALYZE":
			final["before_analyze"]++
		}
	}
	sawPending := false
	deadline := time.Now().Add(15 * time.Second)
	// The tracker learns of the assets from the first scrape's listing: an
	// asset that settled before that cannot show sooner.
	first := time.Now()
	for id, s := range settledAt {
		if s.Before(first) {
			settledAt[id] = first
		}
	}
	for {
		at := time.Now()
		r := e.fetch(context.Background(), "/metrics", "10")
		got := statusSeries(t, r.body, "ws-move")
		lag := e.tracker.Stats().Lag
		sawPending = sawPending || got["recent_assets_analysis_status{6,wait_analyze}"]+got["recent_assets_analysis_status{6,analyzing}"] > 0
		// Every asset settled by at − recheck − lag (and a little for
		// scheduling) shows its final state.
		var settled float64
		for _, s := range settledAt {
			if s.Before(at.Add(-recheck - lag - 300*time.Millisecond)) {
				settled++
			}
		}
		var shown float64
		for k, v := range final {
			shown += min(v, got["recent_assets_analysis_status{6,"+k+"}"])
		}
		if shown < settled {
			t.Fatalf("at %v: %v assets settled a recheck and the lag (%v) ago, %v shown settled: %v",
				at.Sub(created), settled, lag, shown, got)
		}
		if settled == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after 15 s: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawPending {
		t.Error("never saw an analysis waiting or running")
	}
	// analyses_observed_total counts each analysis the tracker saw end.
	testutil.Eventually(t, 5*time.Second, "observed analyses", func() bool {
		fams := parseFamilies(t, e.fetch(context.Background(), "/metrics", "10").body)
		ok := true
		for _, s := range []string{"completed", "failed", "cancelled"} {
			v, _ := sampleValue(fams, "ncp_mediaintel_analyses_observed_total", map[string]string{"workspace": "ws-move", "project_id": "6", "status": s})
			ok = ok && v == final[s]
		}
		return ok
	})
}

// TestSceneSummaryMovement: as the simulator's scene summaries wait, run
// and end, the summary series follow, and each summary seen queued or
// running and then ending is counted in scene_summaries_observed_total.
func TestSceneSummaryMovement(t *testing.T) {
	// A summary waits at least 400 ms: longer than a recheck, so that the
	// tracker sees every one that is asked for queued.
	pl := &mitest.Pipeline{ImportTime: 100 * time.Millisecond, WaitTime: 200 * time.Millisecond, AnalysisTime: 200 * time.Millisecond,
		SummaryWaitTime: 4 * time.Second, SummaryTime: time.Second}
	const n = 30
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-sum", Projects: []*mitest.Project{{ID: 8, Pipeline: pl}}}}}
	e := newEnv(t, inv, envOpts{status: &status.Config{Window: time.Hour, Recheck: 200 * time.Millisecond, SceneSummaries: true}})
	e.fetch(context.Background(), "/metrics", "10") // the project, listed empty
	created := time.Now().Truncate(time.Second)
	e.sim.Update(func(inv *mitest.Inventory) { inv.Workspaces[0].Projects[0].Assets = listedNow(1, n, created) })
	final := map[string]float64{}
	for id := int64(1); id <= n; id++ {
		st := pl.StatusAt(id, created, created.Add(time.Hour))
		switch {
		case st.Analysis != "ANALYZE_COMPLETED":
			final["not_analyzed"]++
		case st.Summary == "BEFORE_SUMMARIZE":
			final["before_summarize"]++
		case st.Summary == "SUMMARIZE_COMPLETED":
			final["completed"]++
		case st.Summary == "SUMMARIZE_FAIL":
			final["failed"]++
		case st.Summary == "SUMMARIZE_CANCELED":
			final["cancelled"]++
		}
	}
	if final["completed"] == 0 || final["failed"]+final["cancelled"] == 0 {
		t.Fatalf("the inventory does not exercise the summary outcomes: %v", final)
	}
	sawPending := false
	testutil.EventuallyNoError(t, 30*time.Second, "every summary in its final state", func() error {
		got := statusSeries(t, e.fetch(context.Background(), "/metrics", "10").body, "ws-sum")
		sawPending = sawPending || got["recent_assets_scene_summary_status{8,wait_summarize}"]+got["recent_assets_scene_summary_status{8,summarizing}"] > 0
		for k, v := range final {
			if g := got["recent_assets_scene_summary_status{8,"+k+"}"]; g != v {
				return fmt.Errorf("%s: %v, want %v (%v)", k, g, v, got)
			}
		}
		return nil
	})
	if !sawPending {
		t.Error("never saw a scene summary waiting or running")
	}
	fams := parseFamilies(t, e.fetch(context.Background(), "/metrics", "10").body)
	for _, s := range []string{"completed", "failed", "cancelled"} {
		if v, _ := sampleValue(fams, "ncp_mediaintel_scene_summaries_observed_total", map[string]string{"workspace": "ws-sum", "project_id": "8", "status": s}); v != final[s] {
			t.Errorf("scene_summaries_observed_total{status=%q} = %v, want %v", s, v, final[s])
		}
	}
}

// TestStatusFaults: every fault of the fault matrix on the status calls
// fails those checks alone; the scrape is unaffected, and once the fault
// clears the tracker catches up.
func TestStatusFaults(t *testing.T) {
	faults := map[string]mitest.Fault{
		"503":          {Status: 503, Body: mitest.BodyGateway, ErrorCode: "500"},
		"429":          {Status: 429, Body: mitest.BodyGateway, ErrorCode: "420"},
		"401":          {Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"},
		"html":         {Status: 502, Body: mitest.BodyHTML},
		"empty":        {Body: mitest.BodyEmpty},
		"truncated":    {Body: mitest.BodyTruncated},
		"malformed":    {Body: mitest.BodyMalformed},
		"wrong types":  {Body: mitest.BodyWrongTypes},
		"plain":        {Status: 500, Body: mitest.BodyPlain},
		"huge":         {Body: mitest.BodyHuge},
		"reset":        {ResetMidBody: true},
		"hang":         {Hang: true},
		"slow":         {Latency: 300 * time.Millisecond},
		"mi code":      {Status: 200, Body: mitest.BodyMI, ErrorCode: "10001"},
		"nested error": {Status: 400, Body: mitest.BodyMINested, ErrorCode: "10001"},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pl := &mitest.Pipeline{ImportTime: time.Millisecond, WaitTime: time.Millisecond, AnalysisTime: time.Millisecond}
			inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "ws-fault", Projects: []*mitest.Project{{ID: 8, Assets: listedNow(1, 5, time.Now().Add(-time.Minute)), Pipeline: pl}}}}}
			e := newEnv(t, inv, envOpts{
				status:   &status.Config{Window: time.Hour, Recheck: 100 * time.Millisecond, Timeout: 500 * time.Millisecond},
				clientFn: func(c *client.Config) { c.MaxBodyBytes = 64 << 10 },
			})
			e.sim.SetFault(mitest.Scope{Operation: client.OpImportStatus}, f)
			e.sim.SetFault(mitest.Scope{Operation: client.OpAnalysisStatus}, f)
			r := e.fetch(context.Background(), "/metrics", "10")
			if r.status != 200 || !strings.Contains(r.body, `ncp_mediaintel_project_scrape_success{account="default",project_id="8",workspace="ws-fault"} 1`) {
				t.Fatalf("scrape with faulty status calls: %d\n%s", r.status, r.body)
			}
			testutil.Eventually(t, 10*time.Second, "status calls made", func() bool { return e.sim.Requests(client.OpImportStatus) >= 5 })
			e.sim.ClearFaults()
			testutil.Eventually(t, 10*time.Second, "the tracker to catch up", func() bool {
				got := statusSeries(t, e.fetch(context.Background(), "/metrics", "10").body, "ws-fault")
				return got["recent_assets_import_status{8,unchecked}"] == 0 && got["recent_assets_analysis_status{8,unchecked}"] == 0 &&
					got["recent_assets{8}"] == 5
			})
		})
	}
}
