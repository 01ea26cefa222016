package status

import "strings"

// ImportState is an asset's last known upload (import) status.
type ImportState uint8

// The import states (docs/api.md, "Import status"); Other is any value the
// API docs do not list. InProgress is pending: it moves on by itself and
// is checked again Config.Recheck later.
const (
	ImportUnchecked ImportState = iota
	ImportInProgress
	ImportCompleted
	ImportFailed
	ImportFileNotExist
	ImportInvalidMetadata
	ImportOther
	// NumImportStates is the number of import states.
	NumImportStates = int(ImportOther) + 1
)

var importNames = [NumImportStates]string{"unchecked", "in_progress", "completed", "failed", "file_not_exist", "invalid_metadata", "other"}

// String is the state's label value.
func (s ImportState) String() string { return importNames[s] }

// parseImport maps result.uploadStatus to its state; ok is false for a
// value the docs do not list.
func parseImport(v string) (s ImportState, ok bool) {
	switch v {
	case "IN_PROGRESS":
		return ImportInProgress, true
	case "COMPLETED":
		return ImportCompleted, true
	case "FAILED":
		return ImportFailed, true
	case "FILE_NOT_EXIST":
		return ImportFileNotExist, true
	case "INVALID_METADATA":
		return ImportInvalidMetadata, true
	}
	return ImportOther, false
}

// AnalysisState is the last known status of an asset's latest analysis.
type AnalysisState uint8

// The analysis states (docs/api.md, "Analysis status"). NotImported is
// never stored: it is what an asset whose upload is not COMPLETED (or not
// yet checked) counts as. WaitAnalyze and Analyzing are pending: they move
// on by themselves and are checked again Config.Recheck later.
const (
	AnalysisNotImported AnalysisState = iota
	AnalysisUnchecked
	AnalysisBeforeAnalyze
	AnalysisWaitAnalyze
	AnalysisAnalyzing
	AnalysisCompleted
	AnalysisFailed
	AnalysisCancelled
	AnalysisOther
	// NumAnalysisStates is the number of analysis states.
	NumAnalysisStates = int(AnalysisOther) + 1
)

var analysisNames = [NumAnalysisStates]string{"not_imported", "unchecked", "before_analyze", "wait_analyze", "analyzing", "completed", "failed", "cancelled", "other"}

// String is the state's label value.
func (s AnalysisState) String() string { return analysisNames[s] }

// pending is true for the states that move on by themselves.
func (s AnalysisState) pending() bool { return s == AnalysisWaitAnalyze || s == AnalysisAnalyzing }

// final is true for the states whose arrival is an analysis observed.
func (s AnalysisState) final() bool {
	return s == AnalysisCompleted || s == AnalysisFailed || s == AnalysisCancelled
}

// parseAnalysis maps result.status to its state; ok is false for a value
// the docs do not list.
func parseAnalysis(v string) (s AnalysisState, ok bool) {
	switch v {
	case "BEFORE_ANALYZE":
		return AnalysisBeforeAnalyze, true
	case "WAIT_ANALYZE":
		return AnalysisWaitAnalyze, true
	case "ANALYZING":
		return AnalysisAnalyzing, true
	case "ANALYZE_COMPLETED":
		return AnalysisCompleted, true
	case "ANALYZE_FAIL":
		return AnalysisFailed, true
	case "ANALYZE_CANCEL":
		return AnalysisCancelled, true
	}
	return AnalysisOther, false
}

// FailureReason is why an analysis failed, read from its message.
type FailureReason uint8

// The documented failure reasons, and Other for any other message.
const (
	ReasonOther FailureReason = iota
	ReasonMediaParsing
	ReasonPersonExtraction
	ReasonKeywordEncoding
	ReasonResultProcessing
	// NumReasons is the number of failure reasons.
	NumReasons = int(ReasonResultProcessing) + 1
)

var reasonNames = [NumReasons]string{"other", "media_parsing", "person_extraction", "keyword_encoding", "result_processing"}

// String is the reason's label value.
func (r FailureReason) String() string { return reasonNames[r] }

// reasonWords are what the documented messages say, in English and in
// Korean, checked in this order: "An error occurred during video analysis
// (video parsing failure)" and the like.
var reasonWords = []struct {
	r     FailureReason
	words []string
}{
	{ReasonMediaParsing, []string{"parsing", "parse", "파싱"}},
	{ReasonPersonExtraction, []string{"person", "인물"}},
	{ReasonKeywordEncoding, []string{"keyword", "키워드"}},
	{ReasonResultProcessing, []string{"result", "결과"}},
}

// reasonOf reads the failure reason from an analysis message.
func reasonOf(msg string) FailureReason {
	m := strings.ToLower(msg)
	for _, rw := range reasonWords {
		for _, w := range rw.words {
			if strings.Contains(m, w) {
				return rw.r
			}
		}
	}
	return ReasonOther
}

// SummaryState is the last known status of an asset's scene summary
// (docs/api.md, "Scene-summary status").
type SummaryState uint8

// The scene summary states. NotAnalyzed is never stored: it is what an
// asset whose analysis is not ANALYZE_COMPLETED (or not yet known) counts
// as. A 404 of the call means no summary: BeforeSummarize. WaitSummarize
// and Summarizing are pending: they move on by themselves and are checked
// again Config.Recheck later.
const (
	SummaryNotAnalyzed SummaryState = iota
	SummaryUnchecked
	SummaryBeforeSummarize
	SummaryWaitSummarize
	SummarySummarizing
	SummaryCompleted
	SummaryFailed
	SummaryCancelled
	SummaryOther
	// NumSummaryStates is the number of scene summary states.
	NumSummaryStates = int(SummaryOther) + 1
)

var summaryNames = [NumSummaryStates]string{"not_analyzed", "unchecked", "before_summarize", "wait_summarize", "summarizing", "completed", "failed", "cancelled", "other"}

// String is the state's label value.
func (s SummaryState) String() string { return summaryNames[s] }

// pending is true for the states that move on by themselves.
func (s SummaryState) pending() bool { return s == SummaryWaitSummarize || s == SummarySummarizing }

// final is true for the states whose arrival is a summary observed.
func (s SummaryState) final() bool {
	return s == SummaryCompleted || s == SummaryFailed || s == SummaryCancelled
}

// parseSummary maps result.status of scene-summary/status to its state;
// ok is false for a value the docs do not list. The docs spell the
// cancelled state with one L.
func parseSummary(v string) (s SummaryState, ok bool) {
	switch v {
	case "BEFORE_SUMMARIZE":
		return SummaryBeforeSummarize, true
	case "WAIT_SUMMARIZE":
		return SummaryWaitSummarize, true
	case "SUMMARIZING":
		return SummarySummarizing, true
	case "SUMMARIZE_COMPLETED":
		return SummaryCompleted, true
	case "SUMMARIZE_FAIL":
		return SummaryFailed, true
	case "SUMMARIZE_CANCELED":
		return SummaryCancelled, true
	}
	return SummaryOther, false
}
