package handler_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
)

// FuzzScrapeTimeout: the header value comes from the network. ScrapeTimeout
// never panics and returns either an error or a positive deadline of at
// most a day.
func FuzzScrapeTimeout(f *testing.F) {
	for _, s := range []string{"", "10", " 2.5 ", "0", "-1", "NaN", "+Inf", "1e-300", "1e300", "0x1p-2", "0.0000000001", "abc", "1_0", "1e9"} {
		f.Add(s, int64(10*time.Second), int64(500*time.Millisecond))
	}
	f.Fuzz(func(t *testing.T, header string, def, offset int64) {
		// The exporter's default is positive (NewExporter) and its offset
		// a flag: any value, negative included.
		d := time.Duration(def)
		if d <= 0 {
			d = -d%time.Hour + time.Millisecond
		}
		got, err := handler.ScrapeTimeout(header, d, time.Duration(offset))
		if err != nil {
			if got != 0 {
				t.Errorf("handler.ScrapeTimeout(%q) = %v with error %v", header, got, err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(header) {
				t.Errorf("error is not valid UTF-8: %q", err)
			}
			return
		}
		if got <= 0 {
			t.Errorf("handler.ScrapeTimeout(%q, %v, %v) = %v, want a positive deadline or an error", header, d, time.Duration(offset), got)
		}
		if strings.TrimSpace(header) != "" && got > 24*time.Hour {
			t.Errorf("handler.ScrapeTimeout(%q) = %v, over the one-day cap", header, got)
		}
	})
}

// FuzzParseTarget: /probe parameters from a raw query string. Accepted
// targets have a valid workspace name and, if any, a positive project ID
// (an empty project parameter is none); a target is never a URL.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"workspace=ws-alpha", "workspace=ws-alpha&project=11", "workspace=ws-alpha&project=0",
		"workspace=http://evil.example/&project=1", "workspace=ws-alpha&workspace=ws-beta",
		"workspace=ws-alpha&project=-1", "workspace=ws-alpha&project=99999999999999999999",
		"workspace=%2e%2e%2fadmin", "target=http://x", "workspace=ws%00a", "workspace=WS-ALPHA",
		"workspace=ws-alpha&project=1&project=2", "workspace=ws-alpha&project=+1", "workspace=ws-alpha;project=1",
		"workspace=ab", "workspace=" + strings.Repeat("a", 64), "%zz", "workspace=ws-alpha&project=0x10",
		"workspace=ws-alpha&debug=true", "workspace=ws-alpha&project=2&debug=false", "workspace=ws-alpha&debug=1",
		"workspace=ws-alpha&debug=true&debug=true", "account=prod&workspace=ws-alpha", "account=Prod&workspace=ws-alpha",
		"account=&workspace=ws-alpha", "account=a&account=b&workspace=ws-alpha", "account=-x&workspace=ws-alpha",
		"workspace=ws-alpha&project=", "workspace=ws-alpha&project=&project=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // partial values on error, as r.URL.Query()
		if d, err := handler.ParseDebug(q); err != nil && (d || len(err.Error()) > 512) || err == nil && d != (q.Get("debug") == "true") {
			t.Errorf("ParseDebug(%q) = %v, %v", raw, d, err)
		}
		s, err := handler.ParseTarget(q)
		if err != nil {
			if msg := err.Error(); len(msg) > 512 || !utf8.ValidString(msg) {
				t.Errorf("error message unfit for an HTTP answer (%d bytes): %q", len(msg), msg)
			}
			if s != (handler.Target{}) {
				t.Errorf("error %v with a target %+v", err, s)
			}
			return
		}
		if s.Account != "" && (!handler.ValidAccountName(s.Account) || s.Account != q.Get("account")) {
			t.Errorf("account %q from %q", s.Account, raw)
		}
		if !client.ValidWorkspaceName(s.Workspace) {
			t.Errorf("accepted invalid workspace %q from %q", s.Workspace, raw)
		}
		if strings.ContainsAny(s.Workspace, ":/?#@.%") {
			t.Errorf("accepted a workspace that could be (part of) a URL: %q", s.Workspace)
		}
		if s.ProjectID < 0 || (q.Get("project") != "") != (s.ProjectID > 0) {
			t.Errorf("project ID %d from %q", s.ProjectID, raw)
		}
		if len(q["workspace"]) != 1 || q.Get("workspace") != s.Workspace {
			t.Errorf("workspace %q does not come from exactly one workspace parameter in %q", s.Workspace, raw)
		}
	})
}

// FuzzDiscoveryParams drives /discovery and /probe with fuzzed raw query
// strings and scrape timeout headers against a small simulator: the only
// answers are 200, 400, 502 and 503, and nothing panics.
func FuzzDiscoveryParams(f *testing.F) {
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "ws-alpha", MonthlyAnalysisCount: 3, Projects: []*mitest.Project{
			{ID: 11, Name: "base", IsBase: true, Assets: []mitest.Asset{asset(1, "mp4", "1920x1080", 1000, 10, "")}},
			{ID: 12, Name: "broken"},
		}},
		{Name: "ws-beta", Projects: []*mitest.Project{{ID: 21, Name: "b"}}},
		{Name: "ws-gone"},
	}}
	e := newEnv(f, inv, envOpts{opts: handler.Options{Timeout: 2 * time.Second, TimeoutOffset: 100 * time.Millisecond, MaxInFlight: 4}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 12}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListProjects, Workspace: "ws-gone"}, mitest.Fault{Status: 404, Body: mitest.BodyMI, ErrorCode: "404"})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListProjects, Workspace: "ws-beta"}, mitest.Fault{Status: 502, Body: mitest.BodyHTML})
	for _, s := range []struct{ q, h string }{
		{"", ""}, {"per=project", "2"}, {"per=workspace", ""}, {"per=nope", ""}, {"per=project&per=project", ""},
		{"x=1", ""}, {"per=project", "0.0001"}, {"per=project", "-3"}, {"per=project", "1e-300"},
		{"workspace=ws-alpha", ""}, {"workspace=ws-alpha&project=11", "1"}, {"workspace=ws-alpha&project=12", ""},
		{"workspace=ws-alpha&project=99", ""}, {"workspace=ws-gone", ""}, {"workspace=ws-beta", ""},
		{"workspace=nosuch", ""}, {"%zz&per=project", ""}, {"workspace=ws-alpha", "NaN"},
	} {
		f.Add(s.q, s.h)
	}
	ok := map[int]bool{200: true, 400: true, 502: true, 503: true}
	f.Fuzz(func(t *testing.T, rawQuery, header string) {
		// Keep each run fast: no deadline over 200 ms.
		if d, err := handler.ScrapeTimeout(header, time.Second, 0); err == nil && d > 200*time.Millisecond {
			header = "0.2"
		}
		for _, h := range []http.Handler{e.h.Discovery(), e.h.Probe()} {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.RawQuery = rawQuery
			if header != "" {
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if !ok[rec.Code] {
				t.Errorf("query %q, header %q: status %d: %s", rawQuery, header, rec.Code, rec.Body.String())
			}
			if rec.Code == 200 && rec.Body.Len() == 0 {
				t.Errorf("query %q: empty 200 answer", rawQuery)
			}
		}
	})
}
