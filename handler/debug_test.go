package handler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
)

// TestDebugProbe: /probe?...&debug=true answers the probe's trace as
// text: every call in order with its path and query, attempt and HTTP
// status, the verdict per project, and the exposition the probe returns
// without debug.
func TestDebugProbe(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: handler.Options{Histograms: true}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 13}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 14}, mitest.Fault{Hang: true})
	r := e.fetch(context.Background(), "/probe?workspace=ws-alpha&debug=true", "2")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	for _, want := range []string{
		"Debug probe of account default, workspace=ws-alpha",
		"list_projects            GET /api/v1/workspaces/ws-alpha/projects  attempt 1: HTTP 200",
		"get_workspace            GET /api/v1/workspaces/ws-alpha  attempt 1: HTTP 200",
		"GET /api/v1/workspaces/ws-alpha/projects/11/assets?pageNum=1&pageSize=1000  attempt 1: HTTP 200",
		"GET /api/v1/workspaces/ws-alpha/projects/13/assets?pageNum=1&pageSize=1000  attempt 4: HTTP 503 code 500",
		"GET /api/v1/workspaces/ws-alpha/projects/14/assets?pageNum=1&pageSize=1000  attempt 1: no answer",
		"discovery: ok",
		"workspace ws-alpha: ok, 4 projects listed",
		`project ws-alpha/11 "Base project": ok, 10 assets counted (reported 11)`,
		`project ws-alpha/13 "broken": FAILED (server_error): list_assets workspace=ws-alpha project=13 page=1: HTTP 503`,
		`project ws-alpha/14 "slow": FAILED (timeout)`,
		"Exposition the probe would return:",
		`ncp_mediaintel_project_scrape_failure{account="default",project_id="13",reason="server_error",workspace="ws-alpha"} 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the debug answer lacks %q:\n%s", want, r.body)
		}
	}
	for _, attempt := range []string{"attempt 1: HTTP 503", "attempt 2: HTTP 503", "attempt 3: HTTP 503"} {
		if !strings.Contains(r.body, "projects/13/assets?pageNum=1&pageSize=1000  "+attempt) {
			t.Errorf("the debug answer lacks project 13's %s", attempt)
		}
	}
	// The exposition is the probe's own (volatile durations aside).
	_, expo, _ := strings.Cut(r.body, "Exposition the probe would return:\n")
	plain := e.fetch(context.Background(), "/probe?workspace=ws-alpha", "2")
	if stable(expo) != stable(plain.body) {
		t.Errorf("the debug exposition differs from the probe's:\n%s", lineDiff(stable(plain.body), stable(expo)))
	}
	// A project probe, and the checks of the parameter.
	if p := e.fetch(context.Background(), "/probe?workspace=ws-alpha&project=12&debug=true", "2"); !strings.Contains(p.body, `project ws-alpha/12 "empty": ok, 0 assets counted`) ||
		strings.Contains(p.body, "get_workspace") {
		t.Errorf("project debug probe:\n%s", p.body)
	}
	if p := e.fetch(context.Background(), "/probe?workspace=ws-alpha&project=99&debug=true", "2"); !strings.Contains(p.body, "unknown target") {
		t.Errorf("debug probe of an unknown project does not say so:\n%s", p.body)
	}
	for _, q := range []string{"debug=yes", "debug=true&debug=true", "debug="} {
		if p := e.fetch(context.Background(), "/probe?workspace=ws-alpha&"+q, "2"); p.status != 400 || !strings.Contains(p.body, "want true or false") {
			t.Errorf("%s: %d %s", q, p.status, p.body)
		}
	}
}

// TestDebugProbeBounded: the debug probe is served within
// --web.max-requests like every scrape, and never joins another pass.
func TestDebugProbeBounded(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: handler.Options{MaxInFlight: 1}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 14}, mitest.Fault{Hang: true})
	done := make(chan scrapeResult, 1)
	go func() { done <- e.fetch(context.Background(), "/probe?workspace=ws-alpha", "3") }()
	deadline := time.Now().Add(2 * time.Second)
	for e.h.Passes() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := e.fetch(context.Background(), "/probe?workspace=ws-alpha&debug=true", "3"); r.status != 503 {
		t.Errorf("a debug probe beyond --web.max-requests answered %d, want 503", r.status)
	}
	<-done
	before := e.sim.Requests(client.OpListProjects)
	if r := e.fetch(context.Background(), "/probe?workspace=ws-alpha&debug=true", "1"); r.status != 200 || e.sim.Requests(client.OpListProjects) != before+1 {
		t.Errorf("debug probe: %d, %d project list calls; want its own pass", r.status, e.sim.Requests(client.OpListProjects)-before)
	}
}
