package handler

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// TestTraceBounded: a trace keeps its first maxTraced attempts and counts
// the rest, so a debug probe of a huge workspace holds bounded memory.
func TestTraceBounded(t *testing.T) {
	tr := &trace{start: time.Now()}
	for i := range maxTraced + 5 {
		tr.TraceAttempt(client.Attempt{Op: client.OpListAssets, URI: "/p", N: i + 1})
	}
	if len(tr.lines) != maxTraced || tr.dropped != 5 {
		t.Fatalf("%d kept, %d dropped; want %d and 5", len(tr.lines), tr.dropped, maxTraced)
	}
	var b bytes.Buffer
	writeTrace(&b, tr)
	if !strings.Contains(b.String(), "API calls (10005)") || !strings.Contains(b.String(), "and 5 more, not kept") {
		t.Errorf("the trace does not say what it left out:\n%.300s", b.String()[len(b.String())-300:])
	}
}
