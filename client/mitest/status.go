package mitest

import (
	"strconv"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// AssetStatus is what the three status calls answer for an asset.
type AssetStatus struct {
	// Upload is result.uploadStatus of import-status (IN_PROGRESS,
	// COMPLETED, FAILED, FILE_NOT_EXIST, INVALID_METADATA, or anything
	// else to test an undocumented value); UploadResult its message.
	Upload       string
	UploadResult string
	// Analysis is result.status of index/status (BEFORE_ANALYZE,
	// WAIT_ANALYZE, ANALYZING, ANALYZE_COMPLETED, ANALYZE_FAIL,
	// ANALYZE_CANCEL); AnalysisMessage the failure reason.
	Analysis        string
	AnalysisMessage string
	// MessageField is the key the message is sent under:
	// "analyzeStatusMessage" when empty, or "analysisStatusMessage" as the
	// docs' example spells it.
	MessageField string
	// IndexID is result.indexId (0: null).
	IndexID int64
	// Summary is result.status of scene-summary/status (BEFORE_SUMMARIZE,
	// WAIT_SUMMARIZE, SUMMARIZING, SUMMARIZE_COMPLETED, SUMMARIZE_FAIL,
	// SUMMARIZE_CANCELED, or anything else); "" answers BEFORE_SUMMARIZE.
	// SummaryNotFound answers 404 instead: the other reading of an asset
	// that was never summarised (docs/api.md). SummaryExtra adds fields
	// the docs do not show to the answer's result.
	Summary         string
	SummaryNotFound bool
	SummaryExtra    bool
}

// Pipeline makes the import, analysis and scene summary of a project's
// assets move on with the server clock, from each asset's createdTime.
// Each asset takes between a tenth and all of each duration, and its
// outcome, by a hash of its ID: 94% of uploads complete (3% FAILED, 1%
// FILE_NOT_EXIST, 2% INVALID_METADATA); of those, 10% are never analysed
// (BEFORE_ANALYZE), the others wait, are analysed, and end
// ANALYZE_COMPLETED (85%), ANALYZE_FAIL (10%, each documented reason, in
// English or Korean, under either spelling of the message key) or
// ANALYZE_CANCEL (5%). Of the analysed assets, 30% are never summarised
// (half answer BEFORE_SUMMARIZE, half 404: both readings of the docs); the
// others' summaries wait (WAIT_SUMMARIZE), run (SUMMARIZING) and end
// SUMMARIZE_COMPLETED (85%), SUMMARIZE_FAIL (10%) or SUMMARIZE_CANCELED
// (5%). Half of the answers carry fields the docs do not show.
type Pipeline struct {
	ImportTime   time.Duration
	WaitTime     time.Duration
	AnalysisTime time.Duration
	// SummaryWaitTime and SummaryTime are how long a scene summary waits
	// after the analysis, and runs.
	SummaryWaitTime time.Duration
	SummaryTime     time.Duration
	// Stuck keeps every analysis waiting (WAIT_ANALYZE) for ever: a stuck
	// analysis queue.
	Stuck bool
	// SummariesFail makes every scene summary that runs end
	// SUMMARIZE_FAIL: a wave of failing summaries.
	SummariesFail bool
}

// DefaultPipeline moves the assets of projects that set none.
var DefaultPipeline = Pipeline{ImportTime: 30 * time.Second, WaitTime: 2 * time.Minute, AnalysisTime: 5 * time.Minute,
	SummaryWaitTime: time.Minute, SummaryTime: 3 * time.Minute}

// FailureMessages are the analysis failure messages the simulator sends:
// the four documented reasons, in English and in Korean.
var FailureMessages = []string{
	"An error occurred during video analysis (video parsing failure).",
	"An error occurred during video analysis (person extraction failure).",
	"An error occurred during video analysis (keyword encoding failure).",
	"An error occurred while processing the analysis result.",
	"영상 분석 중 오류가 발생했습니다(영상 파싱 실패).",
	"영상 분석 중 오류가 발생했습니다(인물 추출 실패).",
	"영상 분석 중 오류가 발생했습니다(키워드 인코딩 실패).",
	"분석 결과 처리 중 오류가 발생했습니다.",
}

// StatusAt is the status of asset id, created at created, at time now.
func (pl *Pipeline) StatusAt(id int64, created, now time.Time) AssetStatus {
	r := prng{s: mix64(uint64(id) ^ 0x5354415455)}
	share := func(d time.Duration) time.Duration { return d/10 + time.Duration(r.unit()*0.9*float64(d)) }
	imported := created.Add(share(pl.ImportTime))
	waited := imported.Add(share(pl.WaitTime))
	analysed := waited.Add(share(pl.AnalysisTime))
	upload, never, outcome, msg, field := r.n(100), r.n(10) == 0, r.n(100), r.n(len(FailureMessages)), r.n(2)
	// Drawn after the import and analysis ones, which stay as they were.
	summaryQueued := analysed.Add(share(pl.SummaryWaitTime))
	summarised := summaryQueued.Add(share(pl.SummaryTime))
	sum := summaryDraws{queued: summaryQueued, done: summarised, never: r.n(100) < 30, outcome: r.n(100), notFound: r.n(2) == 0, extra: r.n(2) == 0}

	switch {
	case now.Before(imported):
		return AssetStatus{Upload: "IN_PROGRESS", UploadResult: "Upload in progress"}
	case upload < 3:
		return AssetStatus{Upload: "FAILED", UploadResult: "Upload failed"}
	case upload < 4:
		return AssetStatus{Upload: "FILE_NOT_EXIST", UploadResult: "No file"}
	case upload < 6:
		return AssetStatus{Upload: "INVALID_METADATA", UploadResult: "Unsupported resolution (supported resolutions: 360p-1080p)"}
	}
	st := AssetStatus{Upload: "COMPLETED", UploadResult: "Upload completed"}
	switch {
	case never && !pl.Stuck:
		st.Analysis = "BEFORE_ANALYZE"
	case pl.Stuck || now.Before(waited):
		st.Analysis = "WAIT_ANALYZE"
	case now.Before(analysed):
		st.Analysis = "ANALYZING"
	case outcome < 85:
		st.Analysis, st.IndexID = "ANALYZE_COMPLETED", id*10+1
		pl.summaryAt(&st, sum, now)
	case outcome < 95:
		st.Analysis, st.AnalysisMessage = "ANALYZE_FAIL", FailureMessages[msg]
		if field == 1 {
			st.MessageField = "analysisStatusMessage"
		}
	default:
		st.Analysis = "ANALYZE_CANCEL"
	}
	if st.Summary == "" {
		st.SummaryNotFound, st.SummaryExtra = sum.notFound, sum.extra // not analysed: no summary
	}
	return st
}

// summaryDraws are an asset's scene summary times and outcome.
type summaryDraws struct {
	queued, done    time.Time
	never, notFound bool
	extra           bool
	outcome         int
}

// summaryAt sets the scene summary of an analysed asset at now.
func (pl *Pipeline) summaryAt(st *AssetStatus, d summaryDraws, now time.Time) {
	st.SummaryExtra = d.extra
	switch {
	case d.never:
		st.Summary, st.SummaryNotFound = "BEFORE_SUMMARIZE", d.notFound
	case now.Before(d.queued):
		st.Summary = "WAIT_SUMMARIZE"
	case now.Before(d.done):
		st.Summary = "SUMMARIZING"
	case pl.SummariesFail || (d.outcome >= 85 && d.outcome < 95):
		st.Summary = "SUMMARIZE_FAIL"
	case d.outcome < 85:
		st.Summary = "SUMMARIZE_COMPLETED"
	default:
		st.Summary = "SUMMARIZE_CANCELED"
	}
}

type assetKey struct {
	ws       string
	pid, aid int64
}

// SetAssetStatus makes the status calls for one asset of the default
// account answer st, whatever its project's Pipeline says.
func (s *Server) SetAssetStatus(workspace string, projectID, assetID int64, st AssetStatus) {
	s.def.SetAssetStatus(workspace, projectID, assetID, st)
}

// StatusRequestsFor is the number of the default account's status
// requests (all three kinds) for one asset since the start or the last
// ResetCounters.
func (s *Server) StatusRequestsFor(workspace string, projectID, assetID int64) int64 {
	return s.def.StatusRequestsFor(workspace, projectID, assetID)
}

// SetAssetStatus makes the status calls for one asset of the account
// answer st, whatever its project's Pipeline says.
func (a *Account) SetAssetStatus(workspace string, projectID, assetID int64, st AssetStatus) {
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	if a.statuses == nil {
		a.statuses = map[assetKey]AssetStatus{}
	}
	a.statuses[assetKey{workspace, projectID, assetID}] = st
}

// StatusRequestsFor is the number of the account's status requests (all
// three kinds) for one asset since the start or the last ResetCounters.
func (a *Account) StatusRequestsFor(workspace string, projectID, assetID int64) int64 {
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	return a.statusCounts[assetKey{workspace, projectID, assetID}]
}

// assetStatus answers for an asset of p (the caller holds invMu); ok is
// false when p has no such asset.
func (a *Account) assetStatus(ws string, p *Project, id int64) (AssetStatus, bool) {
	created, ok := p.createdTime(id)
	if !ok {
		return AssetStatus{}, false
	}
	a.statusMu.Lock()
	st, set := a.statuses[assetKey{ws, p.ID, id}]
	a.statusMu.Unlock()
	if set {
		return st, true
	}
	pl := p.Pipeline
	if pl == nil {
		pl = &DefaultPipeline
	}
	return pl.StatusAt(id, created, a.s.cfg.clock()), true
}

var seoul = func() *time.Location {
	loc, err := time.LoadLocation(client.DefaultTimezone)
	if err != nil {
		panic(err) // package client embeds time/tzdata
	}
	return loc
}()

// createdTime finds asset id in the project's list and returns its
// createdTime (the zero time when it has none).
func (p *Project) createdTime(id int64) (time.Time, bool) {
	for i := range p.Assets {
		a := &p.Assets[i]
		if a.ID == nil || *a.ID != id {
			continue
		}
		if a.CreatedTime != nil {
			if sec, ok := client.ParseTime([]byte(*a.CreatedTime), seoul); ok {
				return time.Unix(sec, 0), true
			}
		}
		return time.Time{}, true
	}
	if sa := p.Synthetic; sa != nil {
		if i := id - sa.firstID(); i >= 0 && i < int64(sa.Count) {
			var f assetFields
			sa.fields(int(i), p.ID, &f)
			return time.Unix(f.created.unix, 0), true
		}
	}
	return time.Time{}, false
}

func appendImportStatus(b []byte, id int64, st AssetStatus, o encOpts) []byte {
	b = appendSuccessHead(b, o)
	b = append(b, `{"assetId":`...)
	b = strconv.AppendInt(b, id, 10)
	if st.Upload != "" {
		b = append(b, `,"uploadStatus":`...)
		b = appendJSONString(b, st.Upload)
	}
	if st.UploadResult != "" {
		b = append(b, `,"uploadResult":`...)
		b = appendJSONString(b, st.UploadResult)
	}
	return append(b, "}}"...)
}

func appendAnalysisStatus(b []byte, _ int64, st AssetStatus, o encOpts) []byte {
	b = appendSuccessHead(b, o)
	b = append(b, `{"status":`...)
	b = appendJSONString(b, st.Analysis)
	field := st.MessageField
	if field == "" {
		field = "analyzeStatusMessage"
	}
	b = append(b, `,"`...)
	b = append(b, field...)
	b = append(b, `":`...)
	if st.AnalysisMessage == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, st.AnalysisMessage)
	}
	b = append(b, `,"indexId":`...)
	if st.IndexID == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, st.IndexID, 10)
	}
	return append(b, "}}"...)
}

func appendSummaryStatus(b []byte, st AssetStatus, o encOpts) []byte {
	b = appendSuccessHead(b, o)
	b = append(b, `{"status":`...)
	status := st.Summary
	if status == "" {
		status = "BEFORE_SUMMARIZE"
	}
	b = appendJSONString(b, status)
	if st.SummaryExtra {
		// Fields the docs do not show, which a client must ignore.
		b = append(b, `,"message":null,"summaryId":`...)
		b = strconv.AppendInt(b, int64(len(status))*7919, 10)
		b = append(b, `,"updatedTime":"2026-09-17T10:00:00"`...)
	}
	return append(b, "}}"...)
}
