package handler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// maxTraced bounds the attempts a debug probe keeps: a workspace of a
// thousand large projects makes a million calls, and the trace is held in
// memory until the answer is written. The rest are counted.
const maxTraced = 10000

// trace collects the attempts of a debug probe, in the order they end.
type trace struct {
	start   time.Time
	mu      sync.Mutex
	lines   []traced
	dropped int
}

type traced struct {
	at time.Duration // since the start of the probe, at the attempt's end
	a  client.Attempt
}

// TraceAttempt implements client.Tracer.
func (t *trace) TraceAttempt(a client.Attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) >= maxTraced {
		t.dropped++
		return
	}
	t.lines = append(t.lines, traced{time.Since(t.start), a})
}

// serveDebug answers /probe?...&debug=true: a pass of its own over scope
// (never shared with other scrapes), then, as text, every API call it
// made in order (operation, path and query, attempt, HTTP status, API
// code and message, duration, bytes; never a header, the signature or a
// key), the verdict of discovery, of each workspace and of each project,
// and the exposition the probe would have returned.
func (h *Handler) serveDebug(ctx context.Context, w http.ResponseWriter, a *Account, scope scrape.Scope) {
	tr := &trace{start: time.Now()}
	res := a.Scraper.ScrapeTraced(ctx, scope, tr)
	var expo bytes.Buffer
	enc := expfmt.NewEncoder(&expo, expfmt.NewFormat(expfmt.TypeTextPlain))
	accts := []*Account{a}
	if err := collector.WriteResults(enc, accountSeries(accts), []*scrape.Result{res}, h.resultOptions(accts, scope.ProjectID != 0)); err != nil {
		fmt.Fprintf(&expo, "# writing the exposition failed: %v\n", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Debug probe of account %s, %s, %s, deadline %v\n", a.Name, scope, tr.start.UTC().Format(time.RFC3339), res.Timeout)
	writeKey(&b, a.Key, tr.start)
	if a.Refresher != nil {
		b.WriteString("Background mode: this probe made a pass of its own; scrapes are answered from the refresher's memory.\n")
	}
	b.WriteString("\n")
	writeTrace(&b, tr)
	fmt.Fprintf(&b, "\nVerdict (%v):\n", res.Duration.Round(time.Millisecond))
	writeVerdict(&b, res)
	fmt.Fprintf(&b, "\nExposition the probe would return:\n%s", expo.String())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b.Bytes())
}

// writeKey says where the account's key comes from and, for a temporary
// key, when it expires; never the key.
func writeKey(w io.Writer, k KeyInfo, now time.Time) {
	if k == nil {
		return
	}
	fmt.Fprintf(w, "Key: %s", k.Source())
	if exp := k.Expiry(); !exp.IsZero() {
		fmt.Fprintf(w, ", temporary, expires %s (in %v)", exp.UTC().Format(time.RFC3339), exp.Sub(now).Round(time.Second))
	}
	fmt.Fprintln(w)
}

func writeTrace(w io.Writer, tr *trace) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fmt.Fprintf(w, "API calls (%d), in the order they ended:\n", len(tr.lines)+tr.dropped)
	for i, l := range tr.lines {
		a := l.a
		status := "no answer"
		if a.Status != 0 {
			status = fmt.Sprintf("HTTP %d", a.Status)
		}
		fmt.Fprintf(w, "%3d  +%-8v %-24s GET %s  attempt %d: %s", i+1, l.at.Round(time.Millisecond), a.Op, a.URI, a.N, status)
		if a.Code != "" {
			fmt.Fprintf(w, " code %s", a.Code)
		}
		if a.Message != "" {
			fmt.Fprintf(w, " %q", a.Message)
		}
		if a.Err != "" {
			fmt.Fprintf(w, " (%s)", a.Err)
		}
		fmt.Fprintf(w, ", %v, %d bytes\n", a.Duration.Round(time.Millisecond), a.Bytes)
	}
	if tr.dropped > 0 {
		fmt.Fprintf(w, "     ... and %d more, not kept (a trace keeps the first %d)\n", tr.dropped, maxTraced)
	}
}

// verdict is "ok" or "FAILED (reason): error".
func verdict(ok bool, err error) string {
	if ok {
		return "ok"
	}
	return fmt.Sprintf("FAILED (%s): %v", scrape.FailureReasonOf(err), err)
}

func writeVerdict(w io.Writer, res *scrape.Result) {
	fmt.Fprintf(w, "discovery: %s\n", verdict(res.Up, res.Err))
	for _, ws := range res.Workspaces {
		line := verdict(ws.Success, ws.Err)
		if ws.Success {
			line += fmt.Sprintf(", %d projects listed", ws.ProjectCount)
		}
		if ws.NotFound {
			line += " (unknown target: workspace not found)"
		}
		fmt.Fprintf(w, "workspace %s: %s\n", ws.Name, line)
		if ws.Success && res.Scope.ProjectID != 0 && len(ws.Projects) == 0 {
			fmt.Fprintf(w, "project %s/%d: unknown target: not in the workspace's project list\n", ws.Name, res.Scope.ProjectID)
		}
		for _, p := range ws.Projects {
			line := verdict(p.Success, p.Err)
			switch {
			case p.Success && p.CountOnly:
				line += fmt.Sprintf(", count only: %d assets reported", p.Reported)
			case p.Success:
				line += fmt.Sprintf(", %d assets counted (reported %d), %v", p.Stats.Unique+p.Stats.WithoutID, p.Reported, p.Duration.Round(time.Millisecond))
			}
			if p.FromCache {
				line += ", from the cache"
			}
			fmt.Fprintf(w, "project %s/%d %q: %s\n", ws.Name, p.Project.ID, p.Project.Name, line)
		}
	}
}
