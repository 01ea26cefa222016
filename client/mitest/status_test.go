package mitest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// TestStatusEndpoints: both status calls answer the documented bodies,
// through the real client, for stored and generated assets; unknown
// assets are 404; requests must be signed like every other.
func TestStatusEndpoints(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	created := clk.Now().Add(-10 * time.Minute).In(seoul).Format("2006-01-02T15:04:05")
	inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-one", Projects: []*Project{
		{ID: 10, Assets: []Asset{{ID: Ptr(int64(1)), CreatedTime: Ptr(created)}, {ID: Ptr(int64(2)), CreatedTime: Ptr(created)}, {ID: Ptr(int64(3))}},
			Synthetic: &SyntheticAssets{Count: 10, FirstID: 100}},
	}}}}
	s := NewServer(inv, WithClock(clk.Now))
	defer s.Close()
	s.SetAssetStatus("ws-one", 10, 1, AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_FAIL", AnalysisMessage: "영상 분석 중 오류가 발생했습니다(인물 추출 실패).", MessageField: "analysisStatusMessage"})
	s.SetAssetStatus("ws-one", 10, 2, AssetStatus{Upload: "COMPLETED", UploadResult: "Upload completed", Analysis: "ANALYZE_COMPLETED", IndexID: 77})
	cfg := s.ClientConfig()
	cfg.Now = clk.Now
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	a1, err := c.AnalysisStatus(ctx, "ws-one", 10, 1)
	if err != nil || a1.Status != "ANALYZE_FAIL" || a1.Message != "영상 분석 중 오류가 발생했습니다(인물 추출 실패)." || a1.HasIndexID {
		t.Errorf("asset 1 analysis: %+v %v (the message under analysisStatusMessage)", a1, err)
	}
	a2, err := c.AnalysisStatus(ctx, "ws-one", 10, 2)
	if err != nil || a2.Status != "ANALYZE_COMPLETED" || a2.IndexID != 77 || !a2.HasIndexID || a2.Message != "" {
		t.Errorf("asset 2 analysis: %+v %v", a2, err)
	}
	i2, err := c.ImportStatus(ctx, "ws-one", 10, 2)
	if err != nil || i2.Status != "COMPLETED" || i2.Message != "Upload completed" {
		t.Errorf("asset 2 import: %+v %v", i2, err)
	}
	// Generated assets were created long ago: settled.
	for id := int64(100); id < 110; id++ {
		st, err := c.ImportStatus(ctx, "ws-one", 10, id)
		if err != nil || st.Status == "IN_PROGRESS" || st.Status == "" {
			t.Errorf("generated asset %d: %+v %v", id, st, err)
		}
	}
	// Asset 3 has no createdTime: it counts as created long ago.
	if st, err := c.ImportStatus(ctx, "ws-one", 10, 3); err != nil || st.Status == "IN_PROGRESS" {
		t.Errorf("asset 3: %+v %v", st, err)
	}
	for _, id := range []int64{4, 99, 110} {
		_, err := c.ImportStatus(ctx, "ws-one", 10, id)
		if e, ok := client.AsError(err); !ok || e.StatusCode != 404 {
			t.Errorf("unknown asset %d: %v, want a 404", id, err)
		}
	}
	if _, err := c.AnalysisStatus(ctx, "ws-one", 11, 1); err == nil {
		t.Error("an unknown project answered")
	}
	// Unsigned requests are refused as on every path.
	resp, err := http.Get(s.URL + "/api/v1/workspaces/ws-one/projects/10/assets/1/import-status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	if s.Requests(client.OpImportStatus) != 16 || s.Requests(client.OpAnalysisStatus) != 3 {
		t.Errorf("counted %d import and %d analysis requests", s.Requests(client.OpImportStatus), s.Requests(client.OpAnalysisStatus))
	}
}

// TestPipelineMoves: an asset's status moves on with time, never back,
// through the documented states; the outcomes have the documented shares.
// walkPipeline follows asset id of pl every 5 s until horizon, checking
// that the stage key reads never goes back in order; key's stop ends the
// walk early. It returns the last status.
func walkPipeline(t *testing.T, pl *Pipeline, id int64, created time.Time, horizon time.Duration, order map[string]int,
	key func(AssetStatus) (k string, stop bool)) AssetStatus {
	t.Helper()
	last := -1
	var st AssetStatus
	for d := time.Duration(0); d <= horizon; d += 5 * time.Second {
		st = pl.StatusAt(id, created, created.Add(d))
		k, stop := key(st)
		if stop {
			break
		}
		if o := order[k]; o < last {
			t.Fatalf("asset %d went back to %q", id, k)
		} else {
			last = o
		}
	}
	return st
}

func TestPipelineMoves(t *testing.T) {
	order := map[string]int{"IN_PROGRESS": 0, "WAIT_ANALYZE": 1, "ANALYZING": 2, "ANALYZE_COMPLETED": 3, "ANALYZE_FAIL": 3, "ANALYZE_CANCEL": 3}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pl := DefaultPipeline
	outcomes := map[string]int{}
	messages := map[string]bool{}
	fields := map[string]bool{}
	const n = 2000
	for id := int64(1); id <= n; id++ {
		st := walkPipeline(t, &pl, id, created, 10*time.Minute, order, func(st AssetStatus) (string, bool) {
			if st.Analysis == "BEFORE_ANALYZE" || st.Upload == "FAILED" || st.Upload == "FILE_NOT_EXIST" || st.Upload == "INVALID_METADATA" {
				return "", true
			}
			if st.Upload == "COMPLETED" {
				return st.Analysis, false
			}
			return st.Upload, false
		})
		outcome := st.Upload + "/" + st.Analysis
		outcomes[outcome]++
		if st.AnalysisMessage != "" {
			messages[st.AnalysisMessage] = true
			fields[st.MessageField] = true
		}
	}
	share := func(k string) float64 { return float64(outcomes[k]) / n }
	if s := share("COMPLETED/ANALYZE_COMPLETED"); s < 0.65 || s > 0.80 {
		t.Errorf("completed analyses %.2f of assets; %v", s, outcomes)
	}
	if s := share("COMPLETED/ANALYZE_FAIL"); s < 0.05 || s > 0.12 {
		t.Errorf("failed analyses %.2f of assets; %v", s, outcomes)
	}
	if outcomes["COMPLETED/BEFORE_ANALYZE"] == 0 || outcomes["COMPLETED/ANALYZE_CANCEL"] == 0 || outcomes["FAILED/"] == 0 ||
		outcomes["FILE_NOT_EXIST/"] == 0 || outcomes["INVALID_METADATA/"] == 0 {
		t.Errorf("an outcome never happens: %v", outcomes)
	}
	if len(messages) != len(FailureMessages) || !fields[""] || !fields["analysisStatusMessage"] {
		t.Errorf("failure messages %d of %d, fields %v", len(messages), len(FailureMessages), fields)
	}
	stuck := Pipeline{ImportTime: time.Second, Stuck: true}
	for id := int64(1); id <= 100; id++ {
		if st := stuck.StatusAt(id, created, created.Add(24*time.Hour)); st.Summary != "" {
			t.Fatalf("stuck pipeline: asset %d has a scene summary %q", id, st.Summary)
		}
	}
	for id := int64(1); id <= 100; id++ {
		if st := stuck.StatusAt(id, created, created.Add(24*time.Hour)); st.Upload == "COMPLETED" && st.Analysis != "WAIT_ANALYZE" {
			t.Fatalf("stuck pipeline: asset %d is %s a day later", id, st.Analysis)
		}
	}
}

// TestPipelineSummaries: the scene summary of an analysed asset waits,
// runs and ends, never going back; some are never summarised (half of
// them answered BEFORE_SUMMARIZE, half 404); an asset that is not analysed
// has none; SummariesFail fails every summary that runs.
func TestPipelineSummaries(t *testing.T) {
	order := map[string]int{"": 0, "WAIT_SUMMARIZE": 1, "SUMMARIZING": 2, "SUMMARIZE_COMPLETED": 3, "SUMMARIZE_FAIL": 3, "SUMMARIZE_CANCELED": 3, "BEFORE_SUMMARIZE": 3}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pl := DefaultPipeline
	failing := pl
	failing.SummariesFail = true
	outcomes := map[string]int{}
	const n = 2000
	for id := int64(1); id <= n; id++ {
		st := walkPipeline(t, &pl, id, created, 15*time.Minute, order, func(st AssetStatus) (string, bool) {
			if st.Analysis != "ANALYZE_COMPLETED" && st.Summary != "" {
				t.Fatalf("asset %d has a summary %q while its analysis is %q", id, st.Summary, st.Analysis)
			}
			return st.Summary, false
		})
		key := st.Summary
		if st.SummaryNotFound {
			key += "/404"
		}
		outcomes[key]++
		if f := failing.StatusAt(id, created, created.Add(time.Hour)); f.Summary != "" && f.Summary != "SUMMARIZE_FAIL" && f.Summary != "BEFORE_SUMMARIZE" {
			t.Fatalf("failing pipeline: asset %d's summary ends %q", id, f.Summary)
		}
	}
	for _, k := range []string{"SUMMARIZE_COMPLETED", "SUMMARIZE_FAIL", "SUMMARIZE_CANCELED", "BEFORE_SUMMARIZE", "BEFORE_SUMMARIZE/404"} {
		if outcomes[k] == 0 {
			t.Errorf("no asset ends %s: %v", k, outcomes)
		}
	}
	if s := float64(outcomes["SUMMARIZE_COMPLETED"]) / n; s < 0.35 || s > 0.6 {
		t.Errorf("completed summaries %.2f of assets; %v", s, outcomes)
	}
}

// TestSceneSummaryEndpoint: the scene-summary call answers the documented
// body through the real client, with or without fields the docs do not
// show, a 404 for an asset without a summary, and a 404 for an unknown
// asset; it is counted per asset like the other status calls.
func TestSceneSummaryEndpoint(t *testing.T) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-one", Projects: []*Project{
		{ID: 10, Assets: []Asset{{ID: Ptr(int64(1))}, {ID: Ptr(int64(2))}, {ID: Ptr(int64(3))}, {ID: Ptr(int64(4))}}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	s.SetAssetStatus("ws-one", 10, 1, AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", Summary: "SUMMARIZING"})
	s.SetAssetStatus("ws-one", 10, 2, AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", Summary: "SUMMARIZE_CANCELED", SummaryExtra: true})
	s.SetAssetStatus("ws-one", 10, 3, AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED", SummaryNotFound: true})
	s.SetAssetStatus("ws-one", 10, 4, AssetStatus{Upload: "COMPLETED", Analysis: "ANALYZE_COMPLETED"})
	c, err := client.New(s.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for id, want := range map[int64]string{1: "SUMMARIZING", 2: "SUMMARIZE_CANCELED", 4: "BEFORE_SUMMARIZE"} {
		if st, err := c.SceneSummaryStatus(ctx, "ws-one", 10, id); err != nil || st.Status != want {
			t.Errorf("asset %d: %+v %v, want %s", id, st, err, want)
		}
	}
	for _, id := range []int64{3, 99} {
		_, err := c.SceneSummaryStatus(ctx, "ws-one", 10, id)
		if e, ok := client.AsError(err); !ok || e.StatusCode != 404 {
			t.Errorf("asset %d: %v, want a 404", id, err)
		}
	}
	if s.Requests(client.OpSceneSummaryStatus) != 5 || s.StatusRequestsFor("ws-one", 10, 1) != 1 {
		t.Errorf("counted %d scene summary requests, %d for asset 1", s.Requests(client.OpSceneSummaryStatus), s.StatusRequestsFor("ws-one", 10, 1))
	}
}

// TestDemoUploads: the demo server's inventory grows on its own, with
// assets created now, and stops growing when closed.
func TestDemoUploads(t *testing.T) {
	s := NewDemoServer()
	lab := s.Account(DemoLabAccessKey)
	count := func(a *Account) (n int, newest string, newestID int64) {
		a.View(func(inv *Inventory) {
			for _, ws := range inv.Workspaces {
				for _, p := range ws.Projects {
					n += p.AssetCount()
					if len(p.Assets) > 0 {
						last := p.Assets[len(p.Assets)-1]
						newest, newestID = *last.CreatedTime, *last.ID
					}
				}
			}
		})
		return n, newest, newestID
	}
	before, _, _ := count(s.Account(DefaultAccessKey))
	labBefore, _, _ := count(lab)
	time.Sleep(2*DemoUploadEvery + 500*time.Millisecond)
	after, newest, _ := count(s.Account(DefaultAccessKey))
	if after != before+2 {
		t.Errorf("%d assets after two upload periods, want %d", after, before+2)
	}
	// The lab account gets one upload every other period, its own.
	if labAfter, _, id := count(lab); labAfter != labBefore+1 || id != demoLabFirstUploadID {
		t.Errorf("lab: %d assets after two upload periods, want %d; newest upload %d, want %d", labAfter, labBefore+1, id, demoLabFirstUploadID)
	}
	sec, ok := client.ParseTime([]byte(newest), seoul)
	if !ok || time.Since(time.Unix(sec, 0)) > 2*DemoUploadEvery {
		t.Errorf("newest upload created at %q, want about now", newest)
	}
	s.Close()
	var b []byte
	s.View(func(inv *Inventory) { b, _ = json.Marshal(inv.Workspaces[0].Projects[3].Pipeline) })
	if string(b) == "null" {
		t.Errorf("the stuck demo project has no pipeline")
	}
}
