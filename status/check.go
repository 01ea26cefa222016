package status

import (
	"context"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// next pops the asset due first, if it is due, and marks it in flight;
// otherwise it returns how long until one is due. Assets that left the
// window are forgotten here, never asked about.
func (t *Tracker) next() (*asset, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	since := t.since(now)
	for len(t.queue) > 0 {
		a := t.queue[0]
		if wait := time.Duration(a.due - now.UnixNano()); wait > 0 {
			return nil, wait
		}
		if !a.recent(since) {
			t.remove(a)
			continue
		}
		t.queue.remove(a)
		a.flags |= flagInFlight
		t.inFlight[a] = struct{}{}
		return a, 0
	}
	return nil, time.Hour
}

// Run checks assets as they fall due until ctx ends, then waits for the
// checks in flight. With a Store, it commits the account's changes every
// commitInterval and once more on its way out; it leaves the Store open
// (its owner closes it once every Tracker's Run has returned).
func (t *Tracker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if t.store != nil {
			t.commit()
		}
	}()
	if t.store != nil {
		wg.Go(func() { t.commitEvery(ctx, commitInterval) })
	}
	slots := make(chan struct{}, t.cfg.Workers)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		a := t.waitNext(ctx)
		if a == nil {
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			t.check(ctx, a)
		})
	}
}

// commitEvery commits the account's changes every interval until ctx ends.
func (t *Tracker) commitEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.commit()
		}
	}
}

// waitNext blocks until an asset is due (nil when ctx ends first).
func (t *Tracker) waitNext(ctx context.Context) *asset {
	for {
		a, wait := t.next()
		if a != nil {
			return a
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-t.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// answer is what one status call returned; the field of its kind is set.
type answer struct {
	imp client.ImportStatus
	ana client.AnalysisStatus
	sum client.SceneSummaryStatus
}

// check asks the API about a and applies the answer.
func (t *Tracker) check(ctx context.Context, a *asset) {
	t.mu.Lock()
	kind, ws, pid, api := t.nextKind(a), a.proj.key.ws, a.proj.key.id, t.api
	t.mu.Unlock()

	ans, err := t.ask(ctx, api, kind, ws, pid, a.id)

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inFlight, a)
	a.flags &^= flagInFlight
	result := checkResult(err)
	if err == nil || ctx.Err() == nil {
		t.checks[checkKey{kind, result}]++
	}
	if a.flags&flagRemoved != 0 {
		return
	}
	changed := a.flags&flagChanged != 0
	a.flags &^= flagChanged
	if err != nil {
		t.checkFailed(ctx, a, kind, result, err)
		return
	}
	now := t.now()
	a.checked = now.UnixNano()
	switch kind {
	case CheckImport:
		t.setNext(a, t.applyImport(a, ans.imp, now).UnixNano())
	case CheckAnalysis:
		t.setNext(a, t.applyAnalysis(a, ans.ana, now).UnixNano())
	case CheckSceneSummary:
		t.setSummaryNext(a, t.applySummary(a, ans.sum, now).UnixNano())
	}
	if changed {
		t.recheckAll(a, now.UnixNano())
	}
	t.dirty(a)
	t.signal() // the dispatcher may be waiting for a later asset
}

// nextKind is the status call a's next check makes: its import until the
// upload is COMPLETED, then its analysis, or its scene summary when that
// is due first (the caller holds t.mu).
func (t *Tracker) nextKind(a *asset) CheckKind {
	switch {
	case a.imp != ImportCompleted:
		return CheckImport
	case t.summaryStage(a) && a.sumNext != 0 && a.sumNext < a.next:
		return CheckSceneSummary
	}
	return CheckAnalysis
}

// ask makes the status call of kind, bounded by the check timeout.
func (t *Tracker) ask(ctx context.Context, api API, kind CheckKind, ws string, pid, id int64) (ans answer, err error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	switch kind {
	case CheckImport:
		ans.imp, err = api.ImportStatus(ctx, ws, pid, id)
	case CheckAnalysis:
		ans.ana, err = api.AnalysisStatus(ctx, ws, pid, id)
	case CheckSceneSummary:
		ans.sum, err = api.SceneSummaryStatus(ctx, ws, pid, id)
	}
	return ans, err
}

// checkResult is a check's result label: the HTTP status, or "error" when
// no answer came.
func checkResult(err error) string {
	if err == nil {
		return "200"
	}
	if e, ok := client.AsError(err); ok && e.StatusCode != 0 {
		return client.StatusLabel(e.StatusCode)
	}
	return "error"
}

// checkFailed reschedules a after a failed check, or forgets it after a
// 404 (the caller holds t.mu).
func (t *Tracker) checkFailed(ctx context.Context, a *asset, kind CheckKind, result string, err error) {
	ws, pid := a.proj.key.ws, a.proj.key.id
	switch {
	case ctx.Err() != nil:
		// Shutting down: the check is made after the restart.
		t.requeue(a)
	case result == "404" && kind == CheckSceneSummary:
		// No summary (docs/api.md): a settled state, not a deleted asset.
		now := t.now()
		a.checked = now.UnixNano()
		t.setSummaryNext(a, t.applySummary(a, client.SceneSummaryStatus{Status: "BEFORE_SUMMARIZE"}, now).UnixNano())
		t.dirty(a)
		t.signal()
	case result == "404":
		t.log.Debug("asset gone; no longer tracked", "workspace", ws, "project_id", pid, "asset_id", a.id)
		a.proj.gone[a.id] = tombstone{updated: a.updated, seen: t.gen}
		t.remove(a)
	default:
		t.log.Warn("status check failed; trying again later", "workspace", ws, "project_id", pid, "asset_id", a.id, "kind", kind.String(), "err", err)
		retry := t.now().Add(t.cfg.Recheck).UnixNano()
		if kind == CheckSceneSummary {
			t.setSummaryNext(a, retry)
		} else {
			t.setNext(a, retry)
		}
		t.signal()
	}
}

// applyImport takes an import-status answer and returns when a is due
// next (the caller holds t.mu).
func (t *Tracker) applyImport(a *asset, imp client.ImportStatus, now time.Time) time.Time {
	st, ok := parseImport(imp.Status)
	if !ok {
		t.unknownValue("uploadStatus", imp.Status)
	}
	a.imp = st
	switch st {
	case ImportCompleted:
		return now // its analysis next
	case ImportInProgress:
		a.flags |= flagWatched
		return now.Add(t.cfg.Recheck)
	}
	return now.Add(t.cfg.Reverify)
}

// applyAnalysis takes an index/status answer and returns when a is due
// next (the caller holds t.mu).
func (t *Tracker) applyAnalysis(a *asset, ana client.AnalysisStatus, now time.Time) time.Time {
	st, ok := parseAnalysis(ana.Status)
	if !ok {
		t.unknownValue("status", ana.Status)
	}
	prev := a.ana
	a.ana = st
	a.reason = ReasonOther
	if st == AnalysisFailed {
		a.reason = reasonOf(ana.Message)
	}
	next := t.moveOn(st.pending(), &a.pendingSince, now)
	// An end counts when the Tracker saw the analysis before it: not an
	// asset found already analysed at its first check after a start.
	if st != prev && st.final() && (prev >= AnalysisBeforeAnalyze || a.flags&flagWatched != 0) {
		a.proj.observed[st]++
	}
	a.flags &^= flagWatched
	if st != prev && t.summaryStage(a) {
		a.sumNext = now.UnixNano() // a new analysis: its summary is asked about again
	}
	return next
}

// applySummary takes a scene-summary/status answer and returns when a's
// summary is due next (the caller holds t.mu).
func (t *Tracker) applySummary(a *asset, sum client.SceneSummaryStatus, now time.Time) time.Time {
	st, ok := parseSummary(sum.Status)
	if !ok {
		t.unknownValue("scene_summary_status", sum.Status)
	}
	prev := a.sum
	a.sum = st
	next := t.moveOn(st.pending(), &a.sumPendingSince, now)
	// An end counts when the Tracker saw the summary queued or running.
	if st != prev && st.final() && prev.pending() {
		a.proj.summaries[st]++
	}
	return next
}

// moveOn keeps *since, when a stage's state is first seen pending (0 when
// it is not), and returns when the stage is due next: a pending state a
// recheck later, a settled one a reverify later.
func (t *Tracker) moveOn(pending bool, since *int64, now time.Time) time.Time {
	if !pending {
		*since = 0
		return now.Add(t.cfg.Reverify)
	}
	if *since == 0 {
		*since = now.UnixNano()
	}
	return now.Add(t.cfg.Recheck)
}
