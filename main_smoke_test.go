package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

func smokeGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBinaryAgainstSimulator runs the built binary with --mi.api-url at the
// simulator and credentials in the environment, and scrapes it over HTTP.
func TestBinaryAgainstSimulator(t *testing.T) {
	sim := mitest.NewServer(mitest.Generate(11, mitest.GenConfig{Workspaces: 2, ProjectsPerWorkspace: 2, AssetsPerProject: 1500}))
	defer sim.Close()
	p := startExporter(t, baseEnv("NCLOUD_ACCESS_KEY_ID="+mitest.DefaultAccessKey, "NCLOUD_SECRET_ACCESS_KEY="+mitest.DefaultSecretKey), nil, "--mi.api-url="+sim.URL)
	base := "http://" + p.Addr
	status, body := smokeGet(t, base+"/metrics")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	for _, want := range []string{"\nncp_mediaintel_up{account=\"default\"} 1\n", `ncp_mediaintel_project_scrape_success{account="default",project_id=`, `ncp_mediaintel_assets{account="default",format="mp4"`, "ncp_mediaintel_build_info{", "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q\nlogs:\n%s", want, p.Log())
		}
	}
	if failed := regexp.MustCompile(`(?m)^ncp_mediaintel_project_scrape_success\{.*\} 0$`).FindString(body); failed != "" {
		t.Errorf("a project failed: %s\n%s", failed, p.Log())
	}
	if sim.Requests(client.OpListWorkspaces) != 1 {
		t.Errorf("workspace list calls = %d, want 1", sim.Requests(client.OpListWorkspaces))
	}
	status, body = smokeGet(t, base+"/")
	if status != 200 || !strings.Contains(body, "/metrics") || strings.Contains(body, "DEMO") {
		t.Errorf("landing page: status %d, body:\n%s", status, body)
	}
}

func TestBinaryDemoSaysSynthetic(t *testing.T) {
	p := startExporter(t, baseEnv(), nil, "--demo")
	base := "http://" + p.Addr
	status, body := smokeGet(t, base+"/")
	if status != 200 || !strings.Contains(body, "synthetic") {
		t.Errorf("landing page should say the data is synthetic: %d\n%s", status, body)
	}
	_, metrics := smokeGet(t, base+"/metrics")
	want := fmt.Sprintf(`ncp_mediaintel_project_scrape_success{account="default",project_id="%d",workspace="%s"} 0`, mitest.DemoFailingProject, mitest.DemoFailingWorkspace)
	if !strings.Contains(metrics, want) {
		t.Errorf("demo metrics lack the failing project %q", want)
	}
	if !strings.Contains(p.Log(), "SYNTHETIC") {
		t.Errorf("log does not say the data is synthetic:\n%s", p.Log())
	}
	// The debug probe of the failing project shows the failing call, its
	// status and the verdict, and the landing page offers it.
	debugURL := fmt.Sprintf("%s/probe?account=default&workspace=%s&project=%d&debug=true", base, mitest.DemoFailingWorkspace, mitest.DemoFailingProject)
	status, body = smokeGet(t, debugURL)
	for _, want := range []string{
		fmt.Sprintf("GET /api/v1/workspaces/%s/projects/%d/assets?pageNum=1&pageSize=1000  attempt 4: HTTP 503 code 500", mitest.DemoFailingWorkspace, mitest.DemoFailingProject),
		fmt.Sprintf(`project %s/%d "broken-uploads": FAILED (server_error)`, mitest.DemoFailingWorkspace, mitest.DemoFailingProject),
		fmt.Sprintf(`ncp_mediaintel_project_scrape_failure{account="default",project_id="%d",reason="server_error",workspace="%s"} 1`, mitest.DemoFailingProject, mitest.DemoFailingWorkspace),
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("the debug probe (%d) lacks %q:\n%s", status, want, body)
		}
	}
	if _, landing := smokeGet(t, base+"/"); !strings.Contains(landing, `name="debug" value="true"`) || !strings.Contains(landing, `action="probe"`) {
		t.Errorf("the landing page has no debug probe form:\n%s", landing)
	}
}

func TestBinaryRefusesBadStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no credentials", nil, nil, "NCLOUD_ACCESS_KEY"},
		{"no secret", []string{"NCLOUD_ACCESS_KEY=ak"}, nil, "NCLOUD_SECRET_KEY"},
		{"one key file", nil, []string{"--ncp.access-key-file=/nonexistent"}, "an access key file without a secret key file"},
		{"bad workspace", []string{"NCLOUD_ACCESS_KEY=a", "NCLOUD_SECRET_KEY=b"}, []string{"--mi.workspace=Bad_Name"}, "Bad_Name"},
		{"bad regexp", []string{"NCLOUD_ACCESS_KEY=a", "NCLOUD_SECRET_KEY=b"}, []string{"--mi.project-include=("}, "invalid project filter"},
		{"bad page size", []string{"NCLOUD_ACCESS_KEY=a", "NCLOUD_SECRET_KEY=b"}, []string{"--mi.page-size=5000"}, "page size"},
		{"bad zone", []string{"NCLOUD_ACCESS_KEY=a", "NCLOUD_SECRET_KEY=b"}, []string{"--mi.timezone=Mars/Base"}, "timezone"},
		{"bad url", []string{"NCLOUD_ACCESS_KEY=a", "NCLOUD_SECRET_KEY=b"}, []string{"--mi.api-url=ftp://x"}, "API URL"},
		{"zero concurrency", nil, []string{"--demo", "--mi.concurrency=0"}, "--mi.concurrency"},
		{"negative offset", nil, []string{"--demo", "--scrape.timeout-offset=-1s"}, "--scrape.timeout-offset"},
		{"zero max requests", nil, []string{"--demo", "--web.max-requests=0"}, "--web.max-requests"},
		{"negative rate", nil, []string{"--demo", "--mi.rate-limit=-1"}, "--mi.rate-limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(testutil.BuildExporter(t), append([]string{"--web.listen-address=" + testutil.FreeAddr(t)}, tc.args...)...)
			cmd.Env = baseEnv(tc.env...) // nothing from the environment of whoever runs the tests
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("exporter started; want a non-zero exit\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
