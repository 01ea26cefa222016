package status

import (
	"math"
	"time"
)

// CheckKind names a status call.
type CheckKind uint8

// The status calls.
const (
	CheckImport CheckKind = iota
	CheckAnalysis
	CheckSceneSummary
	NumCheckKinds = int(CheckSceneSummary) + 1
)

var checkKindNames = [NumCheckKinds]string{"import", "analysis", "scene_summary"}

// String is the kind's label value.
func (k CheckKind) String() string { return checkKindNames[k] }

// CheckCount is how many checks of a kind ended with a result: an HTTP
// status ("200", "404", "503") or "error" when no answer came.
type CheckCount struct {
	Kind   CheckKind
	Result string
	N      int64
}

// Observed counts, for one project, the analyses and scene summaries the
// Tracker saw end.
type Observed struct {
	Workspace string
	ProjectID int64
	// N is indexed by AnalysisCompleted, AnalysisFailed and
	// AnalysisCancelled; the other entries stay 0.
	N [NumAnalysisStates]int64
	// Summaries is indexed by SummaryCompleted, SummaryFailed and
	// SummaryCancelled; the other entries stay 0.
	Summaries [NumSummaryStates]int64
}

// Stats are the Tracker's process-lifetime figures.
type Stats struct {
	Checks []CheckCount
	// Queue is the number of checks due now and not yet made.
	Queue int
	// Lag is how overdue the most overdue check is.
	Lag      time.Duration
	Observed []Observed
	// SceneSummaries is set when the scene summary stage is tracked.
	SceneSummaries bool
}

// Stats returns the Tracker's process-lifetime figures.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now().UnixNano()
	st := Stats{Queue: t.queue.countDue(now) + len(t.inFlight), SceneSummaries: t.cfg.SceneSummaries}
	oldest := int64(math.MaxInt64)
	if len(t.queue) > 0 {
		oldest = t.queue[0].due
	}
	for a := range t.inFlight {
		oldest = min(oldest, a.due)
	}
	if oldest < now {
		st.Lag = time.Duration(now - oldest)
	}
	for k, n := range t.checks {
		st.Checks = append(st.Checks, CheckCount{k.kind, k.result, n})
	}
	for _, p := range t.projects {
		st.Observed = append(st.Observed, Observed{p.key.ws, p.key.id, p.observed, p.summaries})
	}
	return st
}
