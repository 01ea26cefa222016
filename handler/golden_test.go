package handler_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/status"
)

var update = flag.Bool("update", false, "rewrite golden files")

func asset(id int64, format, res string, durMs, size int64, created string) mitest.Asset {
	a := mitest.Asset{ID: mitest.Ptr(id), FileName: mitest.Ptr("f.bin"), Key: mitest.Ptr("k"),
		Meta: &mitest.Meta{Format: mitest.Ptr(format), Resolution: mitest.Ptr(res), Size: mitest.Ptr(size)}}
	if durMs >= 0 {
		a.Meta.DurationMs = mitest.Ptr(durMs)
	}
	if created != "" {
		a.CreatedTime = mitest.Ptr(created)
		a.UpdatedTime = mitest.Ptr(created)
	}
	return a
}

// goldenInventory has one of each case the exposition must get right.
func goldenInventory() *mitest.Inventory {
	noMeta := mitest.Asset{ID: mitest.Ptr(int64(105)), CreatedTime: mitest.Ptr("2025-01-01T00:00:00")}
	emptyFormat := asset(106, "", "1280x720", 1000, 10, "")
	noFormat := mitest.Asset{ID: mitest.Ptr(int64(110)), Meta: &mitest.Meta{Resolution: mitest.Ptr("640x480"), Size: mitest.Ptr(int64(4000)), DurationMs: mitest.Ptr(int64(2500))}}
	negative := asset(107, "mov", "1920x1080", -5, -1, "")
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "ws-alpha", MonthlyAnalysisCount: 42, Projects: []*mitest.Project{
			{ID: 11, Name: "Base project", IsBase: true, Assets: []mitest.Asset{
				// Seoul time without offset: 2025-04-23T07:49:24Z = 1745394564.
				asset(101, "mp4", "1920x1080", 60000, 1000, "2025-04-23T16:49:24"),
				// Upper case format; an offset is honoured: 1745391600.
				asset(102, "MKV", "1280x720", 120500, 2000, "2025-04-23T07:00:00+00:00"),
				asset(103, "png", "640x360", -1, 300, "2025-04-22T10:00:00"),
				asset(104, "avi", "320x240", 1000, 5000, ""),
				noMeta,
				// Unknown format: counted under unknown with size and duration.
				emptyFormat,
				noFormat,
				negative,
				// The same asset listed twice is counted once.
				asset(101, "mp4", "1920x1080", 60000, 1000, "2025-04-23T16:49:24"),
				// Out of spec: a 7 h, 11 GiB 4K video and a 20 MiB image.
				asset(108, "webm", "3840x2160", 7*3600*1000, 11<<30, ""),
				asset(109, "jpg", "1080x1920", -1, 20<<20, ""),
			}},
			{ID: 12, Name: "empty"},
			{ID: 13, Name: "broken"},
			{ID: 14, Name: "slow"},
		}},
		{Name: "ws-locked", MonthlyAnalysisCount: 7, Projects: []*mitest.Project{{ID: 31, Name: "never seen"}}},
	}}
}

// volatile metrics change from run to run and are left out of the golden text.
var volatile = []string{
	"ncp_mediaintel_scrape_duration_seconds", "ncp_mediaintel_project_scrape_duration_seconds",
	"ncp_mediaintel_scrape_timeout_seconds", "ncp_mediaintel_api_request_duration_seconds",
	"go_", "process_", "ncp_mediaintel_build_info",
}

// timestamps are the families whose values are points in time: stable
// keeps their series and writes T for the value.
var timestamps = []string{
	"ncp_mediaintel_discovery_last_success_timestamp_seconds", "ncp_mediaintel_workspace_last_success_timestamp_seconds",
	"ncp_mediaintel_project_last_success_timestamp_seconds",
}

func stable(exposition string) string {
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		name := line
		if strings.HasPrefix(line, "# ") {
			if f := strings.Fields(line); len(f) > 2 {
				name = f[2]
			}
		}
		for _, v := range volatile {
			if strings.HasPrefix(name, v) {
				continue next
			}
		}
		for _, ts := range timestamps {
			if strings.HasPrefix(line, ts+"{") {
				if i := strings.LastIndexByte(line, ' '); i > 0 {
					line = line[:i] + " T"
				}
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.String()
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (run with -update after checking):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff is a line diff of want and got (longest common subsequence):
// "-" lines only in want, "+" lines only in got, each with its line number,
// so that a reordered or a duplicated line shows as well as a changed one.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the length of the longest common subsequence of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "+%4d %s\n", j+1, g[j])
			j++
		default:
			fmt.Fprintf(&b, "-%4d %s\n", i+1, w[i])
			i++
		}
	}
	return b.String()
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ name, want, got, diff string }{
		{"same", "a\nb\n", "a\nb\n", ""},
		{"changed", "a\nb\nc", "a\nB\nc", "+   2 B\n-   2 b\n"},
		{"reordered", "a\nb\nc", "b\na\nc", "+   1 b\n-   2 b\n"},
		{"duplicated", "a\nb", "a\nb\nb", "+   3 b\n"},
		{"dropped", "a\nb\nb", "a\nb", "-   3 b\n"},
	} {
		if d := lineDiff(tc.want, tc.got); d != tc.diff {
			t.Errorf("%s: lineDiff =\n%s\nwant\n%s", tc.name, d, tc.diff)
		}
	}
}

func TestMetricsGolden(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: handler.Options{TimeoutOffset: 500 * time.Millisecond, Histograms: true}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 13}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 14}, mitest.Fault{Hang: true})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListProjects, Workspace: "ws-locked"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"})
	e.sim.SetFault(mitest.Scope{Operation: client.OpGetWorkspace, Workspace: "ws-locked"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"})

	start := time.Now()
	status, body := e.get(t, "/metrics", "2")
	took := time.Since(start)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	// The hanging project must not hold the scrape past its deadline.
	if took > 5*time.Second { // the hang is for ever: anything near the deadline proves it was cut
		t.Errorf("scrape took %v, want under the 2 s scrape timeout", took)
	}
	if took < 1400*time.Millisecond {
		t.Errorf("scrape took %v; the hanging project should have held it to the 1.5 s deadline", took)
	}
	compareGolden(t, "metrics.golden.prom", stable(body))
	// The per-format sums add up to every valid size and duration listed:
	// 1000+2000+300+5000+10+4000+(11 GiB)+(20 MiB) bytes (107's -1 is
	// invalid) and 60+120.5+1+1+2.5+25200 s (107's -5 ms is invalid).
	fams := parseFamilies(t, body)
	sum := func(name string) (total float64) {
		for _, m := range fams[name].GetMetric() {
			if l := labelsOf(m); l["workspace"] == "ws-alpha" && l["project_id"] == "11" {
				total += metricValue(m)
			}
		}
		return total
	}
	bytes, secs := sum("ncp_mediaintel_assets_size_bytes"), sum("ncp_mediaintel_assets_duration_seconds")
	if want := float64(1000 + 2000 + 300 + 5000 + 10 + 4000 + 11<<30 + 20<<20); bytes != want {
		t.Errorf("assets_size_bytes of project 11 sum to %v, want %v", bytes, want)
	}
	if want := 60 + 120.5 + 1 + 1 + 2.5 + 25200; secs != want {
		t.Errorf("assets_duration_seconds of project 11 sum to %v, want %v", secs, want)
	}
	if hs := fams["ncp_mediaintel_asset_size_distribution_bytes"].GetMetric(); len(hs) == 0 || hs[0].GetHistogram().GetSampleSum() != bytes {
		t.Errorf("size distribution of project 11 does not sum to the per-format total %v", bytes)
	}
	logs := e.logs.String()
	for _, want := range []string{"project_id=13", "HTTP 503", "project_id=14", "deadline", "workspace=ws-locked", "Permission Denied"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestMetricsLint lints every family the exporter serves, the failure
// and status tracking ones included (all three stages).
func TestMetricsLint(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{opts: handler.Options{Histograms: true},
		status: &status.Config{Window: 1000000 * time.Hour, SceneSummaries: true}})
	e.sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 13}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	code, body := e.get(t, "/metrics", "")
	if code != 200 || !strings.Contains(body, "ncp_mediaintel_recent_assets_scene_summary_status{") || !strings.Contains(body, "ncp_mediaintel_project_scrape_failure{") {
		t.Fatalf("no status summary or failure to lint (%d):\n%.3000s", code, body)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestUpZeroWhenDiscoveryFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault mitest.Fault
		log   string
	}{
		{"bad key", mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"}, "clock"},
		{"api down", mitest.Fault{Status: 503, Body: mitest.BodyGateway, ErrorCode: "500"}, "HTTP 503"},
		{"proxy html", mitest.Fault{Status: 502, Body: mitest.BodyHTML}, "HTML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, goldenInventory(), envOpts{})
			e.sim.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, tc.fault)
			status, body := e.get(t, "/metrics", "5")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if !strings.Contains(body, "\nncp_mediaintel_up{account=\"default\"} 0\n") {
				t.Errorf("want ncp_mediaintel_up 0 in:\n%s", stable(body))
			}
			if strings.Contains(body, "ncp_mediaintel_workspace_scrape_success") {
				t.Error("no workspace series expected when discovery failed")
			}
			if !strings.Contains(e.logs.String(), tc.log) {
				t.Errorf("log lacks %q: %s", tc.log, e.logs.String())
			}
		})
	}
}
