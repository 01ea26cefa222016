package status

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// TestSceneSummaryLifecycle follows the scene summaries of analysed assets
// through every documented state, a 404 (no summary) and an undocumented
// value, and checks when each is asked about again; assets whose analysis
// is not completed are never asked about their summary.
func TestSceneSummaryLifecycle(t *testing.T) {
	api := newFake()
	for id := int64(1); id <= 8; id++ {
		api.set(id, "COMPLETED", "ANALYZE_COMPLETED", "")
	}
	api.setSummary(1, "BEFORE_SUMMARIZE")
	api.setSummary(2, "WAIT_SUMMARIZE")
	api.setSummary(3, "SUMMARIZING")
	api.setSummary(4, "SUMMARIZE_COMPLETED")
	api.setSummary(5, "SUMMARIZE_FAIL")
	api.setSummary(6, "SUMMARIZE_CANCELED")
	api.sumErrs[7] = &client.Error{StatusCode: 404, Message: "Scene summary not found."}
	api.setSummary(8, "SUMMARIZE_PAUSED")
	api.set(9, "COMPLETED", "ANALYZING", "")
	api.set(10, "IN_PROGRESS", "", "")
	tr, clk, logs := newTracker(t, api, Config{SceneSummaries: true, Window: 24 * time.Hour})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
	if n := tr.checkDue(ctx); n != 10+9+8 {
		t.Fatalf("first round: %d checks (%v); want 10 import, 9 analysis, 8 summary", n, api.calls)
	}
	s := tr.Summary("ws", 1)
	checkSums(t, s)
	want := [NumSummaryStates]int64{SummaryBeforeSummarize: 2, SummaryWaitSummarize: 1, SummarySummarizing: 1, SummaryCompleted: 1,
		SummaryFailed: 1, SummaryCancelled: 1, SummaryOther: 1, SummaryNotAnalyzed: 2}
	if !s.SceneSummaries || s.SceneSummary != want {
		t.Errorf("summary states %v, want %v", s.SceneSummary, want)
	}
	if api.asked(CheckSceneSummary, 9) != 0 || api.asked(CheckSceneSummary, 10) != 0 {
		t.Errorf("assets whose analysis is not completed were asked about their summary")
	}
	if s.SummaryOldestPending <= 0 {
		t.Errorf("summary oldest pending %v with two summaries pending; want more than 0", s.SummaryOldestPending)
	}
	if n := strings.Count(logs.String(), "SUMMARIZE_PAUSED"); n != 1 {
		t.Errorf("the undocumented value logged %d times, want once:\n%s", n, logs)
	}
	if !hasCheck(tr.Stats().Checks, CheckSceneSummary, "404", 1) || !hasCheck(tr.Stats().Checks, CheckSceneSummary, "200", 7) {
		t.Errorf("checks %v; want 7 summary checks answered 200 and one 404", tr.Stats().Checks)
	}

	// 1.5 s later the pending summaries read 1.5 s: sub-second precision.
	clk.Add(1500 * time.Millisecond)
	if got := tr.Summary("ws", 1).SummaryOldestPending; got != 1500*time.Millisecond {
		t.Errorf("summary oldest pending %v, want 1.5s", got)
	}
	// After the recheck interval only the moving summaries (2, 3) and the
	// moving analysis (9) and import (10) are asked again.
	clk.Add(time.Minute)
	api.setSummary(2, "SUMMARIZING")
	api.setSummary(3, "SUMMARIZE_FAIL")
	if n := tr.checkDue(ctx); n != 4 || api.asked(CheckSceneSummary, 2) != 2 || api.asked(CheckSceneSummary, 3) != 2 {
		t.Errorf("recheck: %d checks; want summaries 2 and 3, analysis 9, import 10 again", n)
	}
	obs := tr.Stats().Observed[0].Summaries
	if obs[SummaryFailed] != 1 || obs[SummaryCompleted] != 0 || obs[SummaryCancelled] != 0 {
		t.Errorf("observed %v; want the failure seen of asset 3 only (the ends found at a first check do not count)", obs)
	}
	clk.Add(time.Minute)
	api.setSummary(2, "SUMMARIZE_COMPLETED")
	tr.checkDue(ctx)
	if obs := tr.Stats().Observed[0].Summaries; obs[SummaryCompleted] != 1 {
		t.Errorf("observed %v; want asset 2's completion", obs)
	}
	if s := tr.Summary("ws", 1); s.SummaryOldestPending != 0 {
		t.Errorf("summary oldest pending %v with none pending", s.SummaryOldestPending)
	}
	// The 404 is settled: not asked again within the reverify interval; the
	// asset is still tracked.
	for range 10 {
		clk.Add(30 * time.Minute)
		tr.Observe("ws", 1, recent(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
		tr.checkDue(ctx)
	}
	if got := api.asked(CheckSceneSummary, 7); got != 1 {
		t.Errorf("the summary 404 was asked %d times in 5 h, want once", got)
	}
	if s := tr.Summary("ws", 1); s.Recent != 10 || s.SceneSummary[SummaryBeforeSummarize] != 2 {
		t.Errorf("after 5 h: %+v; want all 10 assets, the 404 counted as before_summarize", s)
	}
	clk.Add(time.Hour) // past the reverify interval
	tr.checkDue(ctx)
	if got := api.asked(CheckSceneSummary, 7); got != 2 {
		t.Errorf("the summary 404 was asked %d times after 6 h, want twice", got)
	}
}

// TestSceneSummaryFollowsAnalysis: a new analysis (its status changes)
// makes the summary count as not analysed while it runs and be asked
// about again once it completes; an updatedTime change asks both again.
func TestSceneSummaryFollowsAnalysis(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.setSummary(1, "SUMMARIZE_COMPLETED")
	tr, clk, _ := newTracker(t, api, Config{SceneSummaries: true})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1))
	tr.checkDue(ctx)
	// Someone asks for a new analysis: the listing shows a new updatedTime.
	clk.Add(time.Minute)
	api.set(1, "COMPLETED", "WAIT_ANALYZE", "")
	moved := recent(1)
	moved[0].Updated = clk.Now().Unix()
	tr.Observe("ws", 1, moved)
	tr.checkDue(ctx)
	s := tr.Summary("ws", 1)
	if s.Analysis[AnalysisWaitAnalyze] != 1 || s.SceneSummary[SummaryNotAnalyzed] != 1 {
		t.Errorf("during the new analysis: %+v", s)
	}
	if got := api.asked(CheckSceneSummary, 1); got != 1 {
		t.Errorf("summary asked %d times while the new analysis waits, want 1", got)
	}
	clk.Add(time.Minute)
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.setSummary(1, "BEFORE_SUMMARIZE") // the new index has no summary yet
	tr.checkDue(ctx)
	if got := api.asked(CheckSceneSummary, 1); got != 2 {
		t.Errorf("summary asked %d times after the analysis completed again, want 2", got)
	}
	if s := tr.Summary("ws", 1); s.SceneSummary[SummaryBeforeSummarize] != 1 {
		t.Errorf("after the new analysis: %+v", s.SceneSummary)
	}
	// An updatedTime change asks the analysis and the summary again.
	clk.Add(time.Minute)
	moved[0].Updated = clk.Now().Unix()
	tr.Observe("ws", 1, moved)
	before := api.asked(CheckAnalysis, 1)
	tr.checkDue(ctx)
	if api.asked(CheckAnalysis, 1) != before+1 || api.asked(CheckSceneSummary, 1) != 3 {
		t.Errorf("after an updatedTime change: analysis %d (was %d), summary %d; want one more of each",
			api.asked(CheckAnalysis, 1), before, api.asked(CheckSceneSummary, 1))
	}
}

// TestSceneSummariesOff: with the stage off no summary call is made, and
// the Summary says the stage is not tracked.
func TestSceneSummariesOff(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.setSummary(1, "SUMMARIZING")
	tr, clk, _ := newTracker(t, api, Config{})
	for range 5 {
		tr.Observe("ws", 1, recent(1))
		tr.checkDue(context.Background())
		clk.Add(time.Hour)
	}
	if api.calls[CheckSceneSummary] != 0 {
		t.Errorf("%d scene summary calls with the stage off", api.calls[CheckSceneSummary])
	}
	if s := tr.Summary("ws", 1); s.SceneSummaries || s.SceneSummary != [NumSummaryStates]int64{} {
		t.Errorf("summary with the stage off: %+v", s)
	}
}

// TestAnalysisOldestPendingSubSecond: the analysis' oldest pending is kept
// below the second, so that a just-pending asset never reads 0.
func TestAnalysisOldestPendingSubSecond(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "WAIT_ANALYZE", "")
	tr, clk, _ := newTracker(t, api, Config{})
	tr.Observe("ws", 1, recent(1))
	tr.checkDue(context.Background())
	if got := tr.Summary("ws", 1).OldestPending; got <= 0 {
		t.Errorf("oldest pending %v right after the asset was seen waiting; want more than 0", got)
	}
	clk.Add(250 * time.Millisecond)
	if got := tr.Summary("ws", 1).OldestPending; got != 250*time.Millisecond {
		t.Errorf("oldest pending %v, want 250ms", got)
	}
}
