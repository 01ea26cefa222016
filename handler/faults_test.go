package handler_test

import (
	"bufio"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// The fault matrix runs one scrape of /metrics per fault against a small
// account (two workspaces, five projects, pages of two assets) and checks
// that the fault hurts exactly what it should: one project, one workspace,
// or discovery (ncp_mediaintel_up 0), leaving everything else intact, that a
// log line names the cause, and that ncp_mediaintel_api_requests_total
// counts the outcome under the right code.

const (
	fmWS1 = "ws-one"
	fmWS2 = "ws-two"
	// Every asset of the matrix inventory is an mp4 of this size and duration.
	fmSize  = 100
	fmDurMs = 2000
)

// fmProjects is the matrix inventory: workspace, project ID, asset count.
var fmProjects = []struct {
	ws  string
	id  int64
	n   int
	pgs int // pages of fmPageSize
}{
	{fmWS1, 11, 5, 3},
	{fmWS1, 12, 3, 2},
	{fmWS1, 13, 0, 1},
	{fmWS2, 21, 4, 2},
	{fmWS2, 22, 1, 1},
}

const fmPageSize = 2

// fmNegativeDuration is an mp4 of fmSize bytes lasting -5 ms (the asset
// helper leaves negative durations out).
func fmNegativeDuration(id int64) mitest.Asset {
	a := asset(id, "mp4", "1920x1080", fmDurMs, fmSize, "")
	a.Meta.DurationMs = mitest.Ptr(int64(-5))
	return a
}

func fmInventory() *mitest.Inventory {
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: fmWS1, MonthlyAnalysisCount: 42},
		{Name: fmWS2, MonthlyAnalysisCount: 7},
	}}
	for _, p := range fmProjects {
		pr := &mitest.Project{ID: p.id, Name: "project-" + strconv.FormatInt(p.id, 10), IsBase: p.id%10 == 1}
		for i := range p.n {
			pr.Assets = append(pr.Assets, asset(p.id*1000+int64(i), "mp4", "1920x1080", fmDurMs, fmSize, "2025-04-23T16:49:24"))
		}
		ws := inv.Workspaces[0]
		if p.ws == fmWS2 {
			ws = inv.Workspaces[1]
		}
		ws.Projects = append(ws.Projects, pr)
	}
	return inv
}

// fmPages is the number of asset-list requests of a clean scrape, leaving
// out the projects of skipWS (if set) and project skipPID.
func fmPages(skipWS string, skipPID int64) float64 {
	n := 0
	for _, p := range fmProjects {
		if p.ws == skipWS || p.id == skipPID {
			continue
		}
		n += p.pgs
	}
	return float64(n)
}

// fmExposition is a parsed text exposition: series (as written) to value.
type fmExposition map[string]float64

func fmParse(t testing.TB, body string) fmExposition {
	t.Helper()
	m := fmExposition{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad fmExposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// fmSeries names a series as the text exposition writes it: labels
// sorted, account="default" (the one account of these tests) among them.
func fmSeries(name string, kv ...string) string {
	kv = append([]string{"account", exporter.DefaultAccount}, kv...)
	type pair struct{ k, v string }
	var ps []pair
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", p.k, p.v)
	}
	b.WriteByte('}')
	return b.String()
}

func (m fmExposition) want(t testing.TB, s string, v float64) {
	t.Helper()
	got, ok := m[s]
	if !ok {
		t.Errorf("fmSeries %s is missing", s)
		return
	}
	if got != v {
		t.Errorf("%s = %v, want %v", s, got, v)
	}
}

func (m fmExposition) absent(t testing.TB, s string) {
	t.Helper()
	if v, ok := m[s]; ok {
		t.Errorf("fmSeries %s = %v should be absent", s, v)
	}
}

// fmLabels are the label pairs of a project, for fmSeries.
func fmLabels(ws string, id int64, more ...string) []string {
	return append([]string{"workspace", ws, "project_id", strconv.FormatInt(id, 10)}, more...)
}

// fmWantIntact checks the series of a project that was read in full:
// n mp4 assets of fmSize bytes and fmDurMs each.
func fmWantIntact(t testing.TB, m fmExposition, ws string, id int64, n int) {
	t.Helper()
	m.want(t, fmSeries(collector.Namespace+"_project_scrape_success", fmLabels(ws, id)...), 1)
	m.want(t, fmSeries(collector.Namespace+"_project_assets_reported", fmLabels(ws, id)...), float64(n))
	m.want(t, fmSeries(collector.Namespace+"_assets", fmLabels(ws, id, "format", "mp4")...), float64(n))
	m.want(t, fmSeries(collector.Namespace+"_assets_size_bytes", fmLabels(ws, id, "format", "mp4")...), float64(n*fmSize))
	m.want(t, fmSeries(collector.Namespace+"_assets_duration_seconds", fmLabels(ws, id, "format", "mp4")...), float64(n*fmDurMs)/1000)
}

// fmFailedSeries are the only series a failed project keeps.
var fmFailedSeries = []string{"_project_info{", "_project_scrape_success{", "_project_scrape_duration_seconds{", "_project_scrape_failure{"}

// fmWantProjectFailed checks that a project is marked failed and has no asset
// series.
func fmWantProjectFailed(t testing.TB, m fmExposition, ws string, id int64) {
	t.Helper()
	m.want(t, fmSeries(collector.Namespace+"_project_scrape_success", fmLabels(ws, id)...), 0)
	pl := fmt.Sprintf("project_id=%q", strconv.FormatInt(id, 10))
	wl := fmt.Sprintf("workspace=%q", ws)
next:
	for s := range m {
		if !strings.Contains(s, pl) || !strings.Contains(s, wl) {
			continue
		}
		for _, ok := range fmFailedSeries {
			if strings.HasPrefix(s, collector.Namespace+ok) {
				continue next
			}
		}
		t.Errorf("failed project %s/%d has fmSeries %s", ws, id, s)
	}
}

// fmWantWorkspaceFailed checks that a workspace is marked failed and has no
// project series.
func fmWantWorkspaceFailed(t testing.TB, m fmExposition, ws string) {
	t.Helper()
	m.want(t, fmSeries(collector.Namespace+"_workspace_scrape_success", "workspace", ws), 0)
	m.absent(t, fmSeries(collector.Namespace+"_workspace_projects", "workspace", ws))
	wl := fmt.Sprintf("workspace=%q", ws)
	for s := range m {
		if strings.Contains(s, wl) && strings.Contains(s, "project_id=") {
			t.Errorf("failed workspace %s has project fmSeries %s", ws, s)
		}
	}
}

// fmWantScrape checks the outcome of a matrix scrape: failWS/failPID name
// what must have failed (nothing when both are zero), down means
// discovery failed; everything else but project self (checked by the
// case itself) must be intact.
func fmWantScrape(t testing.TB, m fmExposition, failWS string, failPID int64, down bool, self int64) {
	t.Helper()
	if down {
		m.want(t, fmSeries(collector.Namespace+"_up"), 0)
		for s := range m {
			if strings.HasPrefix(s, collector.Namespace+"_workspace_") || strings.HasPrefix(s, collector.Namespace+"_project_") {
				t.Errorf("discovery failed, yet fmSeries %s is exported", s)
			}
		}
		return
	}
	m.want(t, fmSeries(collector.Namespace+"_up"), 1)
	for _, ws := range []string{fmWS1, fmWS2} {
		if ws == failWS && failPID == 0 {
			fmWantWorkspaceFailed(t, m, ws)
			continue
		}
		m.want(t, fmSeries(collector.Namespace+"_workspace_scrape_success", "workspace", ws), 1)
		m.want(t, fmSeries(collector.Namespace+"_workspace_projects", "workspace", ws), map[string]float64{fmWS1: 3, fmWS2: 2}[ws])
	}
	for _, p := range fmProjects {
		switch {
		case p.id == self:
		case p.ws == failWS && failPID == 0:
		case p.ws == failWS && p.id == failPID:
			fmWantProjectFailed(t, m, p.ws, p.id)
		default:
			fmWantIntact(t, m, p.ws, p.id, p.n)
		}
	}
}

// fmReqCount is an expected value of ncp_mediaintel_api_requests_total; a
// negative n means "at least one".
type fmReqCount struct {
	op   client.Operation
	code string
	n    float64
}

type fmCase struct {
	name string
	// setup sets faults on the simulator or changes its inventory.
	setup    func(t *testing.T, e *env)
	clientFn func(*client.Config)
	cfg      scrape.Config
	// timeout is the X-Prometheus-Scrape-Timeout-Seconds header ("5" when
	// empty; the offset is 250 ms).
	timeout string
	failWS  string
	failPID int64
	down    bool
	// self is a project the case checks itself (its series differ from
	// the matrix inventory's).
	self int64
	// reason is the failure reason the exporter must give what failed
	// (from fmReasons by the case's name when empty).
	reason client.Reason
	logs   []string
	reqs   []fmReqCount
	// check runs extra assertions on the scrape.
	check func(t *testing.T, e *env, m fmExposition, took time.Duration)
}

func fmOnProject(id int64, f mitest.Fault) func(*testing.T, *env) {
	return func(_ *testing.T, e *env) {
		e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: id}, f)
	}
}

func fmOnWorkspace(op client.Operation, ws string, f mitest.Fault) func(*testing.T, *env) {
	return func(_ *testing.T, e *env) {
		e.sim.SetFault(mitest.Scope{Operation: op, Workspace: ws}, f)
	}
}

func fmOnDiscovery(f mitest.Fault) func(*testing.T, *env) {
	return func(_ *testing.T, e *env) {
		e.sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, f)
	}
}

// fmUseServer points the client at another server (or address) than the
// environment's simulator.
func fmUseServer(url string) func(*client.Config) {
	return func(c *client.Config) { c.BaseURL = url }
}

// fmGatewayReason is the reason of a gateway error: the HTTP status
// decides, and code 210 (Permission Denied) makes a 401 forbidden.
func fmGatewayReason(status int, code string) client.Reason {
	switch {
	case status == 401 && code == "210", status == 403:
		return client.ReasonForbidden
	case status == 401:
		return client.ReasonUnauthenticated
	case status == 404:
		return client.ReasonNotFound
	case status == 429:
		return client.ReasonThrottled
	case status >= 500:
		return client.ReasonServerError
	}
	return client.ReasonOther // 400, 413
}

// fmReasons are the failure reasons of the cases that do not say theirs.
var fmReasons = map[string]client.Reason{
	"MI code 10001 with HTTP 400":               client.ReasonOther,
	"MI code 10001 nested under responseError":  client.ReasonOther,
	"MI code 10001 with HTTP 200":               client.ReasonBadResponse,
	"404 for a vanished project":                client.ReasonNotFound,
	"404 for a vanished workspace":              client.ReasonNotFound,
	"empty body with HTTP 200":                  client.ReasonBadResponse,
	"empty body with HTTP 502":                  client.ReasonServerError,
	"HTML 502 from a proxy on a project":        client.ReasonServerError,
	"HTML 502 from a proxy on a workspace":      client.ReasonServerError,
	"plain text 503 from a proxy":               client.ReasonServerError,
	"truncated JSON on a project":               client.ReasonBadResponse,
	"truncated JSON on a project list":          client.ReasonBadResponse,
	"truncated JSON on discovery":               client.ReasonBadResponse,
	"malformed JSON":                            client.ReasonBadResponse,
	"non-numeric string size is a decode error": client.ReasonBadResponse,
	"body over the size cap":                    client.ReasonBadResponse,
	"pageNo that does not match":                client.ReasonBadResponse,
	"request that hangs 60 s":                   client.ReasonTimeout,
	"connection reset mid-body, always":         client.ReasonNetwork,
	"refused connection":                        client.ReasonNetwork,
	"DNS failure":                               client.ReasonNetwork,
	"401 from clock skew":                       client.ReasonUnauthenticated,
}

// fmLevelCases puts each kind of fault on a project's asset list, a
// workspace's project list and the workspace list (discovery), each
// with its reason: the failure metric of each level must say it.
func fmLevelCases() []fmCase {
	capped := func(c *client.Config) { c.MaxBodyBytes = 4096 }
	kinds := []struct {
		name     string
		fault    mitest.Fault
		clientFn func(*client.Config)
		timeout  string
		reason   client.Reason
		// assetsOnly: a fault of asset pages alone (the client checks
		// pageNo of asset pages, which it fetches in parallel).
		assetsOnly bool
	}{
		{name: "HTML 502", fault: mitest.Fault{Status: 502, Body: mitest.BodyHTML}, reason: client.ReasonServerError},
		{name: "truncated JSON", fault: mitest.Fault{Body: mitest.BodyTruncated}, reason: client.ReasonBadResponse},
		{name: "oversized body", fault: mitest.Fault{Body: mitest.BodyHuge, HugeBytes: 1 << 20}, clientFn: capped, reason: client.ReasonBadResponse},
		{name: "wrong pageNo", fault: mitest.Fault{WrongPageNo: true}, reason: client.ReasonBadResponse, assetsOnly: true},
		{name: "reset mid-body", fault: mitest.Fault{ResetMidBody: true}, reason: client.ReasonNetwork},
		{name: "reset before the status line", fault: mitest.Fault{ResetBeforeHeaders: true}, reason: client.ReasonNetwork},
		{name: "hang past the deadline", fault: mitest.Fault{Hang: true}, timeout: "1", reason: client.ReasonTimeout},
		{name: "403", fault: mitest.Fault{Status: 403, Body: mitest.BodyGateway, ErrorCode: "230"}, reason: client.ReasonForbidden},
	}
	var cases []fmCase
	for _, k := range kinds {
		cases = append(cases, fmCase{name: k.name + " at the project level", setup: fmOnProject(12, k.fault), clientFn: k.clientFn, timeout: k.timeout,
			failWS: fmWS1, failPID: 12, reason: k.reason})
		if !k.assetsOnly {
			cases = append(cases,
				fmCase{name: k.name + " at the workspace level", setup: fmOnWorkspace(client.OpListProjects, fmWS2, k.fault),
					clientFn: k.clientFn, timeout: k.timeout, failWS: fmWS2, reason: k.reason},
				fmCase{name: k.name + " at the discovery level", setup: fmOnDiscovery(k.fault), clientFn: k.clientFn, timeout: k.timeout,
					down: true, reason: k.reason})
		}
	}
	return cases
}

// fmWantFailure checks the failure metrics of a matrix scrape: exactly
// one, for what failed, with the case's reason, and the failed call in
// api_request_failures_total.
func fmWantFailure(t testing.TB, m fmExposition, tc fmCase) {
	t.Helper()
	var failures []string
	for s, v := range m {
		for _, f := range []string{"_project_scrape_failure{", "_workspace_scrape_failure{", "_discovery_failure{"} {
			if strings.HasPrefix(s, collector.Namespace+f) && v != 0 {
				failures = append(failures, s)
			}
		}
	}
	if tc.failWS == "" && !tc.down {
		if len(failures) != 0 {
			t.Errorf("nothing failed, yet %v", failures)
		}
		return
	}
	reason := tc.reason
	if reason == "" {
		reason = fmReasons[tc.name]
	}
	if reason == "" {
		t.Fatalf("the case %q says no failure reason", tc.name)
	}
	var want string
	var op client.Operation
	switch {
	case tc.down:
		want, op = fmSeries(collector.Namespace+"_discovery_failure", "reason", string(reason)), client.OpListWorkspaces
	case tc.failPID == 0:
		want, op = fmSeries(collector.Namespace+"_workspace_scrape_failure", "reason", string(reason), "workspace", tc.failWS), client.OpListProjects
	default:
		want, op = fmSeries(collector.Namespace+"_project_scrape_failure", fmLabels(tc.failWS, tc.failPID, "reason", string(reason))...), client.OpListAssets
	}
	if len(failures) != 1 || failures[0] != want {
		t.Errorf("failure series %v, want only %s", failures, want)
	}
	if n := m[fmSeries(collector.Namespace+"_api_request_failures_total", "operation", string(op), "reason", string(reason))]; n < 1 {
		t.Errorf("api_request_failures_total{operation=%q,reason=%q} = %v, want at least 1", op, reason, n)
	}
}

func fmGatewayCases() []fmCase {
	var cases []fmCase
	for _, g := range mitest.GatewayErrors {
		attempts := 1.0
		if g.HTTP == 429 || g.HTTP >= 500 {
			attempts = 4 // retried up to MaxAttempts
		}
		code := strconv.Itoa(g.HTTP)
		for _, numeric := range []bool{false, true} {
			kind := "string"
			if numeric {
				kind = "number"
			}
			f := mitest.Fault{Status: g.HTTP, Body: mitest.BodyGateway, ErrorCode: g.Code, ErrorCodeNumeric: numeric}
			reason := fmGatewayReason(g.HTTP, g.Code)
			logs := []string{"HTTP " + code, "code " + g.Code, g.Message}
			cases = append(cases,
				fmCase{
					name:    fmt.Sprintf("gateway %d %s (%s) on a project", g.HTTP, g.Code, kind),
					setup:   fmOnProject(12, f),
					failWS:  fmWS1,
					failPID: 12,
					reason:  reason,
					logs:    append([]string{"project_id=12"}, logs...),
					reqs:    []fmReqCount{{client.OpListAssets, code, attempts}, {client.OpListAssets, "200", fmPages("", 12)}},
				},
				fmCase{
					name:   fmt.Sprintf("gateway %d %s (%s) on a workspace", g.HTTP, g.Code, kind),
					setup:  fmOnWorkspace(client.OpListProjects, fmWS2, f),
					failWS: fmWS2,
					reason: reason,
					logs:   append([]string{"workspace=" + fmWS2, "workspace scrape failed"}, logs...),
					reqs:   []fmReqCount{{client.OpListProjects, code, attempts}, {client.OpListProjects, "200", 1}, {client.OpListAssets, "200", fmPages(fmWS2, 0)}},
				},
				fmCase{
					name:   fmt.Sprintf("gateway %d %s (%s) on discovery", g.HTTP, g.Code, kind),
					setup:  fmOnDiscovery(f),
					down:   true,
					reason: reason,
					logs:   append([]string{"workspace discovery failed"}, logs...),
					reqs:   []fmReqCount{{client.OpListWorkspaces, code, attempts}, {client.OpListProjects, "200", 0}},
				},
			)
		}
	}
	return cases
}

func TestFaultMatrix(t *testing.T) {
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}()
	skewed := mitest.NewServer(fmInventory(), mitest.WithClock(func() time.Time { return time.Now().Add(10 * time.Minute) }))
	t.Cleanup(skewed.Close)
	okPages := fmPages("", 0)

	cases := append(fmGatewayCases(), fmLevelCases()...)
	cases = append(cases, []fmCase{
		{
			name:    "MI code 10001 with HTTP 400",
			setup:   fmOnProject(12, mitest.Fault{Status: 400, Body: mitest.BodyMI}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "HTTP 400 code 10001", "Invalid Request."},
			reqs:    []fmReqCount{{client.OpListAssets, "400", 1}},
		},
		{
			name:    "MI code 10001 nested under responseError",
			setup:   fmOnProject(12, mitest.Fault{Status: 400, Body: mitest.BodyMINested}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "HTTP 400 code 10001", "Invalid Request."},
			reqs:    []fmReqCount{{client.OpListAssets, "400", 1}},
		},
		{
			name:    "MI code 10001 with HTTP 200",
			setup:   fmOnProject(12, mitest.Fault{Status: 200, Body: mitest.BodyMI}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "code 10001", "Invalid Request."},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 12) + 1}},
		},
		{
			name:    "404 for a vanished project",
			setup:   fmOnProject(12, mitest.Fault{Status: 404, Body: mitest.BodyMI, ErrorCode: "404", Message: "Not Found"}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "HTTP 404", "Not Found"},
			reqs:    []fmReqCount{{client.OpListAssets, "404", 1}},
		},
		{
			name:   "404 for a vanished workspace",
			setup:  fmOnWorkspace(client.OpListProjects, fmWS2, mitest.Fault{Status: 404, Body: mitest.BodyMI, ErrorCode: "404", Message: "Not Found"}),
			failWS: fmWS2,
			logs:   []string{"workspace=" + fmWS2, "HTTP 404"},
			reqs:   []fmReqCount{{client.OpListProjects, "404", 1}},
		},
		{
			name:    "empty body with HTTP 200",
			setup:   fmOnProject(12, mitest.Fault{Status: 200, Body: mitest.BodyEmpty}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "empty response body"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 12) + 1}},
		},
		{
			name:    "empty body with HTTP 502",
			setup:   fmOnProject(12, mitest.Fault{Status: 502, Body: mitest.BodyEmpty}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "HTTP 502", "empty body"},
			reqs:    []fmReqCount{{client.OpListAssets, "502", 4}},
		},
		{
			name:    "HTML 502 from a proxy on a project",
			setup:   fmOnProject(12, mitest.Fault{Status: 502, Body: mitest.BodyHTML}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "HTTP 502", "HTML body", "502 Bad Gateway"},
			reqs:    []fmReqCount{{client.OpListAssets, "502", 4}},
		},
		{
			name:   "HTML 502 from a proxy on a workspace",
			setup:  fmOnWorkspace(client.OpListProjects, fmWS1, mitest.Fault{Status: 502, Body: mitest.BodyHTML}),
			failWS: fmWS1,
			logs:   []string{"workspace=" + fmWS1, "HTML body"},
			reqs:   []fmReqCount{{client.OpListProjects, "502", 4}},
		},
		{
			name:    "plain text 503 from a proxy",
			setup:   fmOnProject(21, mitest.Fault{Status: 503, Body: mitest.BodyPlain}),
			failWS:  fmWS2,
			failPID: 21,
			logs:    []string{"project_id=21", "HTTP 503", "upstream connect error"},
			reqs:    []fmReqCount{{client.OpListAssets, "503", 4}},
		},
		{
			name:    "truncated JSON on a project",
			setup:   fmOnProject(12, mitest.Fault{Body: mitest.BodyTruncated}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "truncated response body"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 12) + 1}},
		},
		{
			name:   "truncated JSON on a project list",
			setup:  fmOnWorkspace(client.OpListProjects, fmWS2, mitest.Fault{Body: mitest.BodyTruncated}),
			failWS: fmWS2,
			logs:   []string{"workspace=" + fmWS2, "truncated response body"},
			reqs:   []fmReqCount{{client.OpListProjects, "200", 2}},
		},
		{
			name:  "truncated JSON on discovery",
			setup: fmOnDiscovery(mitest.Fault{Body: mitest.BodyTruncated}),
			down:  true,
			logs:  []string{"workspace discovery failed", "truncated response body"},
			reqs:  []fmReqCount{{client.OpListWorkspaces, "200", 1}},
		},
		{
			name:    "malformed JSON",
			setup:   fmOnProject(22, mitest.Fault{Body: mitest.BodyMalformed}),
			failWS:  fmWS2,
			failPID: 22,
			logs:    []string{"project_id=22", "decoding response"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", okPages}},
		},
		{
			// Numeric strings (metaData.size "100", projectId "12",
			// totalCount "2", monthlyAnalysisCount "42") and "code" as a
			// number are tolerated by design: everything is read.
			name:  "wrong JSON types that are tolerated",
			setup: func(_ *testing.T, e *env) { e.sim.SetFault(mitest.Scope{}, mitest.Fault{Body: mitest.BodyWrongTypes}) },
			reqs:  []fmReqCount{{client.OpListAssets, "200", okPages}},
			check: func(t *testing.T, _ *env, m fmExposition, _ time.Duration) {
				m.want(t, fmSeries(collector.Namespace+"_workspace_monthly_analyses", "workspace", fmWS1), 42)
				m.want(t, fmSeries(collector.Namespace+"_workspace_monthly_analyses", "workspace", fmWS2), 7)
			},
		},
		{
			name: "non-numeric string size is a decode error",
			setup: func(_ *testing.T, e *env) {
				e.sim.Update(func(inv *mitest.Inventory) {
					p := inv.Workspaces[0].Projects[1] // 12
					raw := mitest.Asset{Raw: `{"assetId":12999,"metaData":{"size":"big","format":"mp4"}}`}
					p.Assets = append([]mitest.Asset{raw}, p.Assets[:1]...) // still 2 pages
				})
			},
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "want integer", "size"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 12) + 1}},
		},
		{
			name:     "body over the size cap",
			clientFn: func(c *client.Config) { c.MaxBodyBytes = 4096 },
			setup:    fmOnProject(12, mitest.Fault{Body: mitest.BodyHuge, HugeBytes: 1 << 20}),
			failWS:   fmWS1,
			failPID:  12,
			logs:     []string{"project_id=12", "over the 4096 byte cap"},
			reqs:     []fmReqCount{{client.OpListAssets, "200", fmPages("", 12) + 1}},
		},
		{
			name:  "lying totalPage",
			setup: fmOnProject(11, mitest.Fault{LyingTotalPage: 1e9}),
			reqs:  []fmReqCount{{client.OpListAssets, "200", okPages}},
			check: func(t *testing.T, e *env, _ fmExposition, _ time.Duration) {
				// ceil(5/2) requests: totalCount is trusted over totalPage.
				if got := e.sim.RequestsFor(fmWS1, 11); got != 3 {
					t.Errorf("asset-list requests for project 11 = %d, want 3", got)
				}
			},
		},
		{
			name:    "pageNo that does not match",
			setup:   fmOnProject(11, mitest.Fault{WrongPageNo: true}),
			failWS:  fmWS1,
			failPID: 11,
			logs:    []string{"project_id=11", "asked for page 1, answered with page 2"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 11) + 1}},
		},
		{
			// The list shrinks while it is paged: the second page lost two
			// assets at the front, and the third page is past the new end
			// (empty). totalCount moved, so the project is paged again and
			// the exact count exported.
			name:  "page past the end after the list shrank",
			cfg:   scrape.Config{Concurrency: 1},
			setup: fmOnProject(11, mitest.Fault{Shift: -2, Times: 3}),
			logs:  []string{"project_id=11", "changed while it was paged"},
			check: func(t *testing.T, e *env, _ fmExposition, _ time.Duration) {
				if got := e.sim.RequestsFor(fmWS1, 11); got != 6 {
					t.Errorf("asset-list requests for project 11 = %d, want 6 (3 pages, twice)", got)
				}
			},
		},
		{
			// The list keeps growing at the front during both passes: pages
			// repeat assets (duplicates) and assets are pushed past the
			// pages read (misses). With one request at a time the second
			// pass sees totalCount 8 (5 + 3 inserted) on its first page, so
			// it reads 4 pages, at shifts 3 to 6: [i3 i2] [i2 i1] [i1 a1]
			// [a1 a2]. Exported: the de-duplicated count 5 (i3, i2, i1, a1,
			// a2), never the sum of page lengths (8), and totalCount 8 as
			// reported on the pass's first page.
			name:  "list shifting while paged",
			cfg:   scrape.Config{Concurrency: 1},
			setup: fmOnProject(11, mitest.Fault{Shift: 1}),
			self:  11,
			logs:  []string{"project_id=11", "changed again while it was paged", "counted=5", "reported=8"},
			check: func(t *testing.T, e *env, m fmExposition, _ time.Duration) {
				m.want(t, fmSeries(collector.Namespace+"_project_scrape_success", fmLabels(fmWS1, 11)...), 1)
				m.want(t, fmSeries(collector.Namespace+"_project_assets_reported", fmLabels(fmWS1, 11)...), 8)
				total := 0.0
				for f := range scrape.Format(scrape.NumFormats) {
					total += m[fmSeries(collector.Namespace+"_assets", fmLabels(fmWS1, 11, "format", f.String())...)]
				}
				if total != 5 {
					t.Errorf("assets of project 11 summed over formats = %v, want 5 (de-duplicated)", total)
				}
				if got := e.sim.RequestsFor(fmWS1, 11); got != 7 {
					t.Errorf("asset-list requests for project 11 = %d, want 7 (3 pages, then 4)", got)
				}
			},
		},
		{
			// By design a negative or absurd value is left out of the sums
			// and counted in assets_invalid_metadata; the asset still counts.
			name: "negative and absurd sizes and durations",
			setup: func(_ *testing.T, e *env) {
				e.sim.Update(func(inv *mitest.Inventory) {
					p := inv.Workspaces[1].Projects[0] // 21
					p.Assets = append(p.Assets,
						asset(21901, "mp4", "1920x1080", fmDurMs, -1, ""),
						asset(21902, "mp4", "1920x1080", fmDurMs, 2<<40, ""),
						fmNegativeDuration(21903),
						asset(21904, "mp4", "1920x1080", 8*24*3600*1000, fmSize, ""),
					)
				})
			},
			self: 21,
			check: func(t *testing.T, _ *env, m fmExposition, _ time.Duration) {
				l := func(more ...string) []string { return fmLabels(fmWS2, 21, more...) }
				m.want(t, fmSeries(collector.Namespace+"_project_scrape_success", l()...), 1)
				m.want(t, fmSeries(collector.Namespace+"_assets", l("format", "mp4")...), 8)
				m.want(t, fmSeries(collector.Namespace+"_assets_size_bytes", l("format", "mp4")...), 6*fmSize)
				m.want(t, fmSeries(collector.Namespace+"_assets_duration_seconds", l("format", "mp4")...), 6*fmDurMs/1000)
				m.want(t, fmSeries(collector.Namespace+"_assets_invalid_metadata", l("field", "size")...), 2)
				m.want(t, fmSeries(collector.Namespace+"_assets_invalid_metadata", l("field", "duration")...), 2)
				m.want(t, fmSeries(collector.Namespace+"_assets_invalid_metadata", fmLabels(fmWS2, 22, "field", "size")...), 0)
			},
		},
		{
			name: "unknown formats",
			setup: func(_ *testing.T, e *env) {
				e.sim.Update(func(inv *mitest.Inventory) {
					p := inv.Workspaces[1].Projects[1] // 22
					p.Assets = append(p.Assets,
						asset(22901, "avi", "1920x1080", fmDurMs, fmSize, ""),
						asset(22902, "FLV", "1920x1080", fmDurMs, fmSize, ""),
						asset(22903, "quicktime", "1920x1080", fmDurMs, fmSize, ""),
					)
				})
			},
			self: 22,
			check: func(t *testing.T, _ *env, m fmExposition, _ time.Duration) {
				l := func(more ...string) []string { return fmLabels(fmWS2, 22, more...) }
				m.want(t, fmSeries(collector.Namespace+"_assets", l("format", "mp4")...), 1)
				m.want(t, fmSeries(collector.Namespace+"_assets", l("format", "other")...), 3)
				m.want(t, fmSeries(collector.Namespace+"_assets_size_bytes", l("format", "other")...), 3*fmSize)
				m.absent(t, fmSeries(collector.Namespace+"_assets", l("format", "avi")...))
				m.absent(t, fmSeries(collector.Namespace+"_assets", l("format", "unknown")...))
			},
		},
		{
			name:    "request that hangs 60 s",
			timeout: "1", // a 750 ms deadline
			setup:   fmOnProject(22, mitest.Fault{Latency: 60 * time.Second}),
			failWS:  fmWS2,
			failPID: 22,
			logs:    []string{"project_id=22", "not finished by the scrape deadline"},
			reqs:    []fmReqCount{{client.OpListAssets, "error", 1}, {client.OpListAssets, "200", fmPages("", 22)}},
			check: func(t *testing.T, _ *env, m fmExposition, took time.Duration) {
				// Answered at its 750 ms deadline, not after the 60 s hang
				// (the margin is for a loaded machine under -race).
				if took > 5*time.Second {
					t.Errorf("scrape took %v, want it answered at its 750 ms deadline", took)
				}
				m.want(t, fmSeries(collector.Namespace+"_scrape_timeout_seconds"), 0.75)
			},
		},
		{
			name:  "connection reset mid-body, once",
			setup: fmOnProject(11, mitest.Fault{ResetMidBody: true, Times: 1}),
			logs:  []string{},
			// The cut-short body is a transport failure ("error"); the retry is a 200.
			reqs: []fmReqCount{{client.OpListAssets, "200", okPages}, {client.OpListAssets, "error", 1}},
			check: func(t *testing.T, _ *env, m fmExposition, _ time.Duration) {
				m.want(t, fmSeries(collector.Namespace+"_api_retries_total", "operation", "list_assets"), 1)
			},
		},
		{
			name:    "connection reset mid-body, always",
			setup:   fmOnProject(12, mitest.Fault{ResetMidBody: true}),
			failWS:  fmWS1,
			failPID: 12,
			logs:    []string{"project_id=12", "reading response body", "after 4 attempts"},
			reqs:    []fmReqCount{{client.OpListAssets, "200", fmPages("", 12)}, {client.OpListAssets, "error", 4}},
		},
		{
			name:     "refused connection",
			clientFn: fmUseServer(closedPort),
			down:     true,
			logs:     []string{"workspace discovery failed", "connection refused"},
			reqs:     []fmReqCount{{client.OpListWorkspaces, "error", 4}, {client.OpListWorkspaces, "200", 0}},
		},
		{
			name:     "DNS failure",
			clientFn: fmUseServer("http://nonexistent.invalid"),
			down:     true,
			logs:     []string{"workspace discovery failed", "lookup nonexistent.invalid"},
			reqs:     []fmReqCount{{client.OpListWorkspaces, "error", -1}, {client.OpListWorkspaces, "200", 0}},
		},
		{
			name:     "401 from clock skew",
			clientFn: fmUseServer(skewed.URL),
			down:     true,
			logs:     []string{"workspace discovery failed", "HTTP 401", "check the key and this host's clock"},
			reqs:     []fmReqCount{{client.OpListWorkspaces, "401", 1}},
		},
		{
			// Half the requests are throttled. With 16 attempts per call a
			// call fails with probability 2^-16, so the scrape completes and
			// every project succeeds (the default of 4 attempts would lose
			// about one call in 16).
			name:     "429 storm on half the requests",
			clientFn: func(c *client.Config) { c.MaxAttempts = 16 },
			setup: func(_ *testing.T, e *env) {
				e.sim.SetFault(mitest.Scope{}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "410", Probability: 0.5, Seed: 7})
			},
			reqs: []fmReqCount{{client.OpListAssets, "200", okPages}, {client.OpListAssets, "429", -1}},
			check: func(t *testing.T, _ *env, m fmExposition, took time.Duration) {
				if took > 4750*time.Millisecond {
					t.Errorf("scrape took %v, past its deadline", took)
				}
				if r := m[fmSeries(collector.Namespace+"_api_retries_total", "operation", "list_assets")]; r < 1 {
					t.Errorf("no asset-list retries counted (%v)", r)
				}
			},
		},
		{
			name:  "workspace details fail",
			setup: fmOnWorkspace(client.OpGetWorkspace, fmWS2, mitest.Fault{Status: 503, Body: mitest.BodyGateway}),
			logs:  []string{"workspace=" + fmWS2, "monthly analyses not exported", "HTTP 503"},
			reqs:  []fmReqCount{{client.OpGetWorkspace, "503", 4}, {client.OpGetWorkspace, "200", 1}},
			check: func(t *testing.T, _ *env, m fmExposition, _ time.Duration) {
				m.want(t, fmSeries(collector.Namespace+"_workspace_monthly_analyses", "workspace", fmWS1), 42)
				m.absent(t, fmSeries(collector.Namespace+"_workspace_monthly_analyses", "workspace", fmWS2))
			},
		},
	}...)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, fmInventory(), envOpts{
				cfg:      tc.cfg,
				opts:     handler.Options{TimeoutOffset: 250 * time.Millisecond, Histograms: true},
				pageSize: fmPageSize,
				clientFn: tc.clientFn,
			})
			if tc.setup != nil {
				tc.setup(t, e)
			}
			timeout := tc.timeout
			if timeout == "" {
				timeout = "5"
			}
			secs, _ := strconv.ParseFloat(timeout, 64)
			start := time.Now()
			status, body := e.get(t, "/metrics", timeout)
			took := time.Since(start)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			// The deadline is the timeout less 250 ms; the second of margin
			// is for a loaded machine under -race, not for the exporter.
			if limit := time.Duration(secs * float64(time.Second)); took > limit+time.Second {
				t.Errorf("scrape took %v, well past its %v scrape timeout", took, limit)
			}
			m := fmParse(t, body)
			fmWantScrape(t, m, tc.failWS, tc.failPID, tc.down, tc.self)
			fmWantFailure(t, m, tc)
			logs := e.logs.String()
			for _, want := range tc.logs {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			if tc.failPID != 0 || tc.failWS != "" || tc.down {
				if !strings.Contains(logs, "level=ERROR") {
					t.Errorf("no error logged:\n%s", logs)
				}
			}
			for _, rc := range tc.reqs {
				s := fmSeries(collector.Namespace+"_api_requests_total", "operation", string(rc.op), "code", rc.code)
				got := m[s]
				if rc.n < 0 && got < 1 || rc.n >= 0 && got != rc.n {
					want := strconv.FormatFloat(rc.n, 'f', -1, 64)
					if rc.n < 0 {
						want = "at least 1"
					}
					t.Errorf("%s = %v, want %s", s, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, e, m, took)
			}
			if t.Failed() {
				t.Logf("exposition:\n%s", stable(body))
			}
		})
	}
}
