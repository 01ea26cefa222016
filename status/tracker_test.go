package status

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// fakeAPI answers from a table of statuses, as the service would for one
// project. The tests against the simulator, through the whole exporter,
// are in handler/status_test.go.
type fakeAPI struct {
	mu       sync.Mutex
	imp      map[int64]client.ImportStatus
	ana      map[int64]client.AnalysisStatus
	sum      map[int64]client.SceneSummaryStatus
	errs     map[int64]error // for the import and analysis calls
	sumErrs  map[int64]error // for the scene summary call
	calls    map[CheckKind]int
	perAsset map[int64]int
	perKind  map[CheckKind]map[int64]int
}

func newFake() *fakeAPI {
	return &fakeAPI{imp: map[int64]client.ImportStatus{}, ana: map[int64]client.AnalysisStatus{}, sum: map[int64]client.SceneSummaryStatus{},
		errs: map[int64]error{}, sumErrs: map[int64]error{}, calls: map[CheckKind]int{}, perAsset: map[int64]int{},
		perKind: map[CheckKind]map[int64]int{CheckImport: {}, CheckAnalysis: {}, CheckSceneSummary: {}}}
}

// setSummary makes the scene summary call for id answer status.
func (f *fakeAPI) setSummary(id int64, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sum[id] = client.SceneSummaryStatus{Status: status}
}

// count records one call of kind for id (the caller holds f.mu).
func (f *fakeAPI) count(kind CheckKind, id int64) {
	f.calls[kind]++
	f.perAsset[id]++
	f.perKind[kind][id]++
}

// asked is how many calls of kind were made for id.
func (f *fakeAPI) asked(kind CheckKind, id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perKind[kind][id]
}

func (f *fakeAPI) set(id int64, imp, ana, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imp[id] = client.ImportStatus{Status: imp}
	f.ana[id] = client.AnalysisStatus{Status: ana, Message: msg}
}

func (f *fakeAPI) ImportStatus(_ context.Context, _ string, _, id int64) (client.ImportStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count(CheckImport, id)
	if err := f.errs[id]; err != nil {
		return client.ImportStatus{}, err
	}
	return f.imp[id], nil
}

func (f *fakeAPI) AnalysisStatus(_ context.Context, _ string, _, id int64) (client.AnalysisStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count(CheckAnalysis, id)
	if err := f.errs[id]; err != nil {
		return client.AnalysisStatus{}, err
	}
	return f.ana[id], nil
}

func (f *fakeAPI) SceneSummaryStatus(_ context.Context, _ string, _, id int64) (client.SceneSummaryStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count(CheckSceneSummary, id)
	if err := f.sumErrs[id]; err != nil {
		return client.SceneSummaryStatus{}, err
	}
	return f.sum[id], nil
}

func (f *fakeAPI) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[CheckImport] + f.calls[CheckAnalysis] + f.calls[CheckSceneSummary]
}

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func newTracker(t *testing.T, api API, cfg Config) (*Tracker, *testutil.Clock, *bytes.Buffer) {
	t.Helper()
	clk := testutil.NewClock(t0)
	logs := &bytes.Buffer{}
	if cfg.Window == 0 {
		cfg.Window = time.Hour
	}
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	tr, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr, clk, logs
}

// checkDue makes, one after the other, every check due now.
func (t *Tracker) checkDue(ctx context.Context) int {
	n := 0
	for {
		a, _ := t.next()
		if a == nil {
			return n
		}
		t.check(ctx, a)
		n++
	}
}

func recent(ids ...int64) []Asset {
	out := make([]Asset, len(ids))
	for i, id := range ids {
		out[i] = Asset{ID: id, Created: t0.Add(-10 * time.Minute).Unix(), Updated: t0.Add(-5 * time.Minute).Unix()}
	}
	return out
}

func checkSums(t *testing.T, s Summary) {
	t.Helper()
	var imp, ana int64
	for _, n := range s.Import {
		imp += n
	}
	for _, n := range s.Analysis {
		ana += n
	}
	if imp != s.Recent || ana != s.Recent {
		t.Errorf("import states sum to %d, analysis states to %d, want recent %d", imp, ana, s.Recent)
	}
}

// TestLifecycle follows assets through every kind of state and checks
// when each is asked about again.
func TestLifecycle(t *testing.T) {
	api := newFake()
	api.set(1, "IN_PROGRESS", "", "")
	api.set(2, "COMPLETED", "WAIT_ANALYZE", "")
	api.set(3, "FAILED", "", "")
	api.set(4, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.set(5, "COMPLETED", "ANALYZE_FAIL", "An error occurred during video analysis (person extraction failure).")
	api.set(6, "COMPLETED", "BEFORE_ANALYZE", "")
	tr, clk, _ := newTracker(t, api, Config{})
	ctx := context.Background()

	s := tr.Observe("ws", 7, recent(1, 2, 3, 4, 5, 6))
	if s.Recent != 6 || s.Import[ImportUnchecked] != 6 || s.Analysis[AnalysisNotImported] != 6 {
		t.Fatalf("before any check: %+v", s)
	}
	// Six import checks, then an analysis check for the four imported.
	if n := tr.checkDue(ctx); n != 10 || api.calls[CheckImport] != 6 || api.calls[CheckAnalysis] != 4 {
		t.Fatalf("first round: %d checks (%v), want 6 import + 4 analysis", n, api.calls)
	}
	s = tr.Summary("ws", 7)
	checkSums(t, s)
	wantImp := [NumImportStates]int64{ImportInProgress: 1, ImportCompleted: 4, ImportFailed: 1}
	wantAna := [NumAnalysisStates]int64{AnalysisNotImported: 2, AnalysisWaitAnalyze: 1, AnalysisCompleted: 1, AnalysisFailed: 1, AnalysisBeforeAnalyze: 1}
	if s.Import != wantImp || s.Analysis != wantAna || s.Failures[ReasonPersonExtraction] != 1 {
		t.Errorf("after the first round: %+v", s)
	}

	// Nothing is due before the recheck interval.
	clk.Add(59 * time.Second)
	if n := tr.checkDue(ctx); n != 0 {
		t.Errorf("%d checks before the recheck interval", n)
	}
	// The moving states (1 importing, 2 waiting) are checked again.
	clk.Add(time.Second)
	api.set(2, "COMPLETED", "ANALYZING", "")
	if n := tr.checkDue(ctx); n != 2 || api.perAsset[1] != 2 || api.perAsset[2] != 3 {
		t.Errorf("recheck: %d checks, per asset %v; want assets 1 and 2 once more", n, api.perAsset)
	}
	// Asset 2 has been pending since the first round: 60 s.
	if s := tr.Summary("ws", 7); s.OldestPending != time.Minute || s.Analysis[AnalysisAnalyzing] != 1 {
		t.Errorf("oldest pending %v, analyzing %d", s.OldestPending, s.Analysis[AnalysisAnalyzing])
	}
	// Settled states are not asked about again within the reverify
	// interval, even as the listing goes on naming them unchanged.
	for range 10 {
		clk.Add(30 * time.Minute)
		tr.Observe("ws", 7, recent(1, 2, 3, 4, 5, 6))
		tr.checkDue(ctx)
	}
	for _, id := range []int64{3, 4, 5, 6} {
		want := map[int64]int{3: 1, 4: 2, 5: 2, 6: 2}[id]
		if got := api.perAsset[id]; got != want {
			t.Errorf("asset %d asked %d times in 5 h, want %d", id, got, want)
		}
	}
}

// TestWindow: the window is judged on createdTime or updatedTime; an asset
// outside it is never asked about, and one that leaves it is forgotten.
func TestWindow(t *testing.T) {
	api := newFake()
	for id := int64(1); id <= 3; id++ {
		api.set(id, "COMPLETED", "ANALYZE_COMPLETED", "")
	}
	tr, clk, _ := newTracker(t, api, Config{Window: time.Hour})
	old := t0.Add(-2 * time.Hour).Unix()
	tr.Observe("ws", 1, []Asset{
		{ID: 1, Created: old, Updated: t0.Add(-time.Minute).Unix()}, // updated recently
		{ID: 2, Created: t0.Add(-50 * time.Minute).Unix()},          // created recently
		{ID: 3, Created: old, Updated: old},                         // the scrape filters these; the tracker too
	})
	tr.checkDue(context.Background())
	if api.perAsset[3] != 0 || api.perAsset[1] != 2 || api.perAsset[2] != 2 {
		t.Errorf("calls per asset %v; want 1 and 2 checked, 3 never", api.perAsset)
	}
	clk.Add(15 * time.Minute) // asset 2 leaves the window
	if s := tr.Summary("ws", 1); s.Recent != 1 {
		t.Errorf("recent %d after asset 2 left the window, want 1", s.Recent)
	}
	clk.Add(7 * time.Hour)
	tr.checkDue(context.Background())
	if api.total() != 4 {
		t.Errorf("%d calls; assets out of the window were asked about", api.total())
	}
}

// TestUpdatedTimeRechecks: a settled asset whose updatedTime changes is
// checked again at once; one that the listing drops is forgotten.
func TestUpdatedTimeRechecks(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.set(2, "COMPLETED", "ANALYZE_COMPLETED", "")
	tr, clk, _ := newTracker(t, api, Config{})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2))
	tr.checkDue(ctx)
	clk.Add(time.Minute)
	api.set(1, "COMPLETED", "WAIT_ANALYZE", "") // someone asked for a new analysis
	moved := recent(1, 2)
	moved[0].Updated = clk.Now().Unix()
	s := tr.Observe("ws", 1, moved[:1]) // asset 2 is no longer listed
	if s.Recent != 1 {
		t.Errorf("recent %d, want 1 after asset 2 left the listing", s.Recent)
	}
	if n := tr.checkDue(ctx); n != 1 || api.calls[CheckAnalysis] != 3 || api.calls[CheckImport] != 2 {
		t.Errorf("%d checks (%v); want one analysis check of asset 1", n, api.calls)
	}
	if s := tr.Summary("ws", 1); s.Analysis[AnalysisWaitAnalyze] != 1 {
		t.Errorf("after the new analysis request: %+v", s)
	}
}

// TestGone: a 404 drops the asset; it is not tracked again while the
// listing names it unchanged, and is once it changes.
func TestGone(t *testing.T) {
	api := newFake()
	api.errs[1] = &client.Error{StatusCode: 404, Message: "not found"}
	api.set(2, "IN_PROGRESS", "", "")
	tr, clk, _ := newTracker(t, api, Config{})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2))
	tr.checkDue(ctx)
	for range 5 {
		clk.Add(time.Minute)
		if s := tr.Observe("ws", 1, recent(1, 2)); s.Recent != 1 {
			t.Fatalf("recent %d, want 1 (asset 1 is gone)", s.Recent)
		}
		tr.checkDue(ctx)
	}
	if api.perAsset[1] != 1 {
		t.Errorf("the gone asset was asked %d times, want 1", api.perAsset[1])
	}
	if got := tr.Stats().Checks; !hasCheck(got, CheckImport, "404", 1) {
		t.Errorf("checks %v lack one 404", got)
	}
	delete(api.errs, 1)
	api.set(1, "COMPLETED", "BEFORE_ANALYZE", "")
	changed := recent(1, 2)
	changed[0].Updated = clk.Now().Unix()
	tr.Observe("ws", 1, changed)
	tr.checkDue(ctx)
	if s := tr.Summary("ws", 1); s.Recent != 2 || s.Analysis[AnalysisBeforeAnalyze] != 1 {
		t.Errorf("after asset 1 changed: %+v", s)
	}
}

func hasCheck(cs []CheckCount, k CheckKind, result string, n int64) bool {
	for _, c := range cs {
		if c.Kind == k && c.Result == result && c.N == n {
			return true
		}
	}
	return false
}

// TestBadAnswers: an error fails that check alone and is tried again
// after the recheck interval; an undocumented status is "other", logged
// once per value, not per asset.
func TestBadAnswers(t *testing.T) {
	api := newFake()
	api.errs[1] = &client.Error{Message: "decoding response", Err: os.ErrInvalid}
	for id := int64(2); id <= 6; id++ {
		api.set(id, "COMPLETED", "ANALYZE_PAUSED", "")
	}
	api.set(7, "UPLOADING", "", "")
	tr, clk, logs := newTracker(t, api, Config{})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2, 3, 4, 5, 6, 7))
	tr.checkDue(ctx)
	s := tr.Summary("ws", 1)
	checkSums(t, s)
	if s.Analysis[AnalysisOther] != 5 || s.Import[ImportOther] != 1 || s.Import[ImportUnchecked] != 1 {
		t.Errorf("summary %+v", s)
	}
	if n := strings.Count(logs.String(), "ANALYZE_PAUSED"); n != 1 {
		t.Errorf("ANALYZE_PAUSED logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "UPLOADING") {
		t.Errorf("UPLOADING not logged")
	}
	if !hasCheck(tr.Stats().Checks, CheckImport, "error", 1) {
		t.Errorf("checks %v lack the failed one", tr.Stats().Checks)
	}
	clk.Add(time.Minute)
	delete(api.errs, 1)
	api.set(1, "IN_PROGRESS", "", "")
	tr.checkDue(ctx)
	if s := tr.Summary("ws", 1); s.Import[ImportInProgress] != 1 {
		t.Errorf("the failed check was not tried again: %+v", s)
	}
}

func TestReasons(t *testing.T) {
	for msg, want := range map[string]FailureReason{
		"An error occurred during video analysis (video parsing failure).":     ReasonMediaParsing,
		"An error occurred during video analysis (person extraction failure).": ReasonPersonExtraction,
		"An error occurred during video analysis (keyword encoding failure).":  ReasonKeywordEncoding,
		"An error occurred while processing the analysis result.":              ReasonResultProcessing,
		"영상 분석 중 오류가 발생했습니다(영상 파싱 실패).":                                        ReasonMediaParsing,
		"영상 분석 중 오류가 발생했습니다(인물 추출 실패).":                                        ReasonPersonExtraction,
		"영상 분석 중 오류가 발생했습니다(키워드 인코딩 실패).":                                      ReasonKeywordEncoding,
		"분석 결과 처리 중 오류가 발생했습니다.":                                               ReasonResultProcessing,
		"":                  ReasonOther,
		"GPU out of memory": ReasonOther,
	} {
		if got := reasonOf(msg); got != want {
			t.Errorf("reasonOf(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestObserved counts the analyses seen to end, not the states found
// already ended at the first check.
func TestObserved(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "WAIT_ANALYZE", "")
	api.set(2, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.set(3, "COMPLETED", "ANALYZING", "")
	tr, clk, _ := newTracker(t, api, Config{})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2, 3))
	tr.checkDue(ctx)
	clk.Add(time.Minute)
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.set(3, "COMPLETED", "ANALYZE_FAIL", "keyword encoding failure")
	tr.checkDue(ctx)
	obs := tr.Stats().Observed
	if len(obs) != 1 || obs[0].N[AnalysisCompleted] != 1 || obs[0].N[AnalysisFailed] != 1 || obs[0].N[AnalysisCancelled] != 0 {
		t.Errorf("observed %+v; want one completed (asset 1) and one failed (asset 3)", obs)
	}
}

// TestQueueAndLag: what is due and not yet checked, and for how long.
func TestQueueAndLag(t *testing.T) {
	api := newFake()
	tr, clk, _ := newTracker(t, api, Config{})
	tr.Observe("ws", 1, recent(1, 2, 3))
	clk.Add(90 * time.Second)
	if st := tr.Stats(); st.Queue != 3 || st.Lag != 90*time.Second {
		t.Errorf("queue %d lag %v; want 3 and 90s", st.Queue, st.Lag)
	}
	tr.checkDue(context.Background())
	if st := tr.Stats(); st.Queue != 0 || st.Lag != 0 {
		t.Errorf("after checking: queue %d lag %v", st.Queue, st.Lag)
	}
}

// TestRun: the background worker checks what falls due, and nothing of it
// outlives Run; on its way out it commits, and leaves the Store open.
func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	api := newFake()
	for id := int64(1); id <= 20; id++ {
		api.set(id, "COMPLETED", "ANALYZE_COMPLETED", "")
	}
	st, err := OpenStore(filepath.Join(t.TempDir(), "state.db"), "legacy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr, err := New(api, Config{Window: time.Hour, Workers: 3, Store: st, Account: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	ids := make([]int64, 20)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	now := time.Now()
	as := make([]Asset, len(ids))
	for i, id := range ids {
		as[i] = Asset{ID: id, Created: now.Unix()}
	}
	tr.Observe("ws", 1, as)
	deadline := time.Now().Add(10 * time.Second)
	for api.total() < 40 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if api.total() != 40 {
		t.Errorf("%d calls, want 40 (import and analysis of 20 assets)", api.total())
	}
	if s := tr.Summary("ws", 1); s.Analysis[AnalysisCompleted] != 20 {
		t.Errorf("summary %+v", s)
	}
	// The Store is still open, and holds what Run committed last.
	again, err := New(api, Config{Window: time.Hour, Store: st, Account: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if s := again.Summary("ws", 1); s.Analysis[AnalysisCompleted] != 20 {
		t.Errorf("after Run, the Store holds %+v; want the 20 analysed assets", s)
	}
}

// TestObservedNewUploads: an upload that appears after the project's first
// listing, or whose import the Tracker saw in progress, counts its end
// even when the first analysis answer is already final.
func TestObservedNewUploads(t *testing.T) {
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "") // there at the start: not counted
	api.set(2, "IN_PROGRESS", "", "")
	tr, clk, _ := newTracker(t, api, Config{})
	ctx := context.Background()
	tr.Observe("ws", 1, recent(1, 2))
	tr.checkDue(ctx)
	clk.Add(time.Minute)
	api.set(2, "COMPLETED", "ANALYZE_FAIL", "keyword encoding failure") // watched while importing
	api.set(3, "COMPLETED", "ANALYZE_CANCEL", "")                       // a new upload
	tr.Observe("ws", 1, recent(1, 2, 3))
	tr.checkDue(ctx)
	obs := tr.Stats().Observed
	if len(obs) != 1 || obs[0].N[AnalysisCompleted] != 0 || obs[0].N[AnalysisFailed] != 1 || obs[0].N[AnalysisCancelled] != 1 {
		t.Errorf("observed %+v; want the failed asset 2 and the cancelled asset 3", obs)
	}
}

// TestRetain: projects and workspaces that a complete list no longer names
// are forgotten with their assets, which are then never asked about.
func TestRetain(t *testing.T) {
	api := newFake()
	tr, _, _ := newTracker(t, api, Config{})
	tr.Observe("ws-a", 1, recent(1, 2))
	tr.Observe("ws-a", 2, recent(3))
	tr.Observe("ws-b", 7, recent(4))
	tr.Retain("ws-a", []int64{2, 9})
	tr.RetainWorkspaces([]string{"ws-a", "ws-c"})
	if s := tr.Summary("ws-a", 1); s.Recent != 0 {
		t.Errorf("project 1, no longer listed, still has %d assets", s.Recent)
	}
	if s := tr.Summary("ws-b", 7); s.Recent != 0 {
		t.Errorf("workspace ws-b, no longer listed, still has %d assets", s.Recent)
	}
	if s := tr.Summary("ws-a", 2); s.Recent != 1 {
		t.Errorf("project 2 has %d assets, want 1", s.Recent)
	}
	tr.checkDue(context.Background())
	if api.total() != 1 || api.perAsset[3] != 1 {
		t.Errorf("calls per asset %v; want only asset 3 asked about", api.perAsset)
	}
	if st := tr.Stats(); len(st.Observed) != 1 {
		t.Errorf("%d projects tracked, want 1", len(st.Observed))
	}
}

// TestWorkersFollowRate: by default one check in flight per status request
// a second, 1 to MaxWorkers; without a rate, DefaultRate's.
func TestWorkersFollowRate(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		workers int
		want    int
	}{
		{0, 0, int(math.Ceil(DefaultRate))},
		{0.2, 0, 1},
		{5, 0, 5},
		{5.5, 0, 6},
		{100, 0, MaxWorkers},
		{100, 3, 3}, // set by the caller
	} {
		if got := (Config{Rate: tc.rate, Workers: tc.workers}).withDefaults().Workers; got != tc.want {
			t.Errorf("rate %v, workers %d: %d workers, want %d", tc.rate, tc.workers, got, tc.want)
		}
	}
}
