package deploy

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/mediaintel/mediaintel_exporter/internal/failing"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

var (
	alertNameRE = regexp.MustCompile(`(?m)^\s*- alert:\s*(\S+)\s*$`)
	severityRE  = regexp.MustCompile(`(?m)^\s+severity:\s*(\S+)\s*$`)
	forRE       = regexp.MustCompile(`(?m)^\s+for:\s*(\S+)\s*$`)
)

// TestRulesCheck runs promtool check rules on the alerting and recording
// rules, with each Prometheus release's promtool.
func TestRulesCheck(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	forEachPrometheus(t, func(t *testing.T, rel promRelease) {
		out := testutil.RunTool(t, time.Minute, dir, rel.Promtool, "check", "rules", "alerts.yml", "recording.yml")
		t.Log(out)
	})
}

// TestRulesUnit runs the promtool unit tests of the rules (alerts_test.yml),
// with each Prometheus release's promtool.
func TestRulesUnit(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	forEachPrometheus(t, func(t *testing.T, rel promRelease) {
		out := testutil.RunTool(t, 2*time.Minute, dir, rel.Promtool, "test", "rules", "alerts_test.yml")
		t.Log(out)
	})
}

// alertBlocks splits alerts.yml into one text block per alerting rule.
func alertBlocks(text string) map[string]string {
	blocks := map[string]string{}
	idx := alertNameRE.FindAllStringSubmatchIndex(text, -1)
	for i, m := range idx {
		end := len(text)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		// A block ends at the next rule or group, whichever comes first.
		block := text[m[0]:end]
		if g := strings.Index(block, "\n  - name:"); g >= 0 {
			block = block[:g]
		}
		blocks[text[m[2]:m[3]]] = block
	}
	return blocks
}

// TestRulesConventions checks what promtool does not: every alert has a
// severity label from a known set, a summary and a description, a "for"; and
// alerts_test.yml has for every alert at least one case where it fires and
// one where it must stay silent.
func TestRulesConventions(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	blocks := alertBlocks(readFile(t, filepath.Join(dir, "alerts.yml")))
	tests := readFile(t, filepath.Join(dir, "alerts_test.yml"))

	// The alerts the deployment promises; adding one is fine, losing one is not.
	want := []string{
		"MediaIntelExporterDown", "MediaIntelAPIUnreachable",
		"MediaIntelWorkspaceScrapeFailing", "MediaIntelProjectScrapeFailing",
		"MediaIntelScrapeNearTimeout", "MediaIntelAPIThrottled", "MediaIntelAPIErrors",
		"MediaIntelProjectAssetsDropped", "MediaIntelProjectBytesDropped",
		"MediaIntelWorkspaceNearProjectLimit", "MediaIntelOutOfSpecAssetsAppeared",
		"MediaIntelAnalysisBacklogStuck", "MediaIntelAnalysesFailing", "MediaIntelImportsFailing",
		"MediaIntelStatusBudgetTooSmall", "MediaIntelSceneSummaryBacklogStuck", "MediaIntelSceneSummariesFailing",
		"MediaIntelProjectFiguresStale",
	}
	for _, name := range want {
		if _, ok := blocks[name]; !ok {
			t.Errorf("alerts.yml has no alert %s", name)
		}
	}

	// Split the unit tests into alert_rule_test cases: "alertname: X" followed
	// by its exp_alerts, up to the next case.
	caseRE := regexp.MustCompile(`(?m)^\s+alertname:\s*(\S+)\s*\n\s+exp_alerts:(.*)$`)
	fires, silent := map[string]int{}, map[string]int{}
	for _, m := range caseRE.FindAllStringSubmatch(tests, -1) {
		if strings.TrimSpace(m[2]) == "[]" {
			silent[m[1]]++
		} else {
			fires[m[1]]++
		}
	}

	for name, block := range blocks {
		sev := severityRE.FindStringSubmatch(block)
		switch {
		case sev == nil:
			t.Errorf("%s: no severity label", name)
		case sev[1] != "critical" && sev[1] != "warning" && sev[1] != "info":
			t.Errorf("%s: severity %q, want critical, warning or info", name, sev[1])
		}
		for _, ann := range []string{"summary:", "description:"} {
			if !strings.Contains(block, "\n          "+ann) {
				t.Errorf("%s: no %s annotation", name, strings.TrimSuffix(ann, ":"))
			}
		}
		if forRE.FindStringSubmatch(block) == nil {
			t.Errorf("%s: no \"for\" (every alert here waits before firing)", name)
		}
		if fires[name] == 0 {
			t.Errorf("alerts_test.yml: no case where %s fires", name)
		}
		if silent[name] == 0 {
			t.Errorf("alerts_test.yml: no case where %s stays silent (exp_alerts: [])", name)
		}
	}
	for name := range fires {
		if _, ok := blocks[name]; !ok {
			t.Errorf("alerts_test.yml tests %s, which alerts.yml does not define", name)
		}
	}
}

// TestRulesMetricsExist checks every exporter metric the rules name — in
// expressions and in the descriptions that tell what to check — against a
// real scrape of the exporter in --demo mode (/metrics and the process
// metrics on /internal/metrics), and, for the failure series that a healthy
// exporter does not export, of an exporter whose API fails.
func TestRulesMetricsExist(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	// A name not preceded by ":" or a word character: recorded series
	// (project:ncp_mediaintel_...:sum) are not the exporter's.
	nameRE := regexp.MustCompile(`(^|[^:\w])(ncp_mediaintel_\w+)`)
	used := map[string]bool{}
	for _, f := range []string{"alerts.yml", "recording.yml"} {
		for _, m := range nameRE.FindAllStringSubmatch(readFile(t, filepath.Join(dir, f)), -1) {
			used[m[2]] = true
		}
	}
	if len(used) < 8 {
		t.Fatalf("only %d metric names found in the rules: %v", len(used), used)
	}
	exported := exporterMetricNames(t)
	for _, n := range slices.Sorted(maps.Keys(used)) {
		if !exported[n] {
			t.Errorf("the rules name %s, which the exporter does not export", n)
		}
	}
}

// exporterMetricNames returns every metric name the built exporter
// exports in one of its modes: --demo (two accounts) on-scrape and in
// background mode, on /metrics and on /internal/metrics, and, for the
// failure series that a healthy exporter does not export, against an API
// that fails.
func exporterMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	bin := testutil.BuildExporter(t)
	exported := map[string]bool{}
	for _, args := range [][]string{{"--demo"}, {"--demo", "--scrape.mode=background"}} {
		exp := testutil.StartExporter(t, bin, args...)
		for _, path := range []string{"/metrics", "/internal/metrics"} {
			for n := range testutil.MetricNames(exp.Get(t, path)) {
				exported[n] = true
			}
		}
		exp.Stop(t)
	}
	for n := range failing.MetricNames(t, bin) {
		exported[n] = true
	}
	return exported
}

// runbookRepo is where the rule files' runbook_url annotations point: the
// repository's docs/runbook.md, at the tag of the release the rules ship
// in (runbookURL), an anchor per alert.
const runbookRepo = "https://github.com/mediaintel/mediaintel_exporter/blob/"

// runbookURL is the runbook of the release the VERSION file names, whose
// tag is v<VERSION> (docs/releasing.md): a page links the runbook of the
// rules that sent it, not today's main, whose sections may have changed.
func runbookURL(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(readFile(t, filepath.Join(testutil.RepoRoot(t), "VERSION")))
	if v == "" {
		t.Fatal("VERSION is empty")
	}
	return runbookRepo + "v" + v + "/docs/runbook.md"
}

var (
	runbookURLRE = regexp.MustCompile(`(?m)^\s+runbook_url:\s*"?([^"\s]+)"?\s*$`)
	anchorLinkRE = regexp.MustCompile(`\]\(#([^)]+)\)`)
)

// TestRunbook checks that every alert of alerts.yml, whichever are added
// later, has a runbook_url pointing at its own section of docs/runbook.md:
// the repository's runbook, an anchor that is one of its headings' (as
// GitHub makes them), and a heading that names the alert. The runbook's own
// links to its sections must resolve too.
func TestRunbook(t *testing.T) {
	runbook := readFile(t, filepath.Join(testutil.RepoRoot(t), "docs", "runbook.md"))
	anchors := testutil.MarkdownAnchors(runbook)
	want := runbookURL(t)
	blocks := alertBlocks(readFile(t, filepath.Join(deployDir(t), "prometheus", "alerts.yml")))
	if len(blocks) < 15 {
		t.Fatalf("only %d alerts found in alerts.yml", len(blocks))
	}
	for _, name := range slices.Sorted(maps.Keys(blocks)) {
		m := runbookURLRE.FindAllStringSubmatch(blocks[name], -1)
		if len(m) != 1 {
			t.Errorf("%s: %d runbook_url annotations, want one", name, len(m))
			continue
		}
		anchor, problem := runbookAnchor(m[0][1], want)
		switch {
		case problem != "":
			t.Errorf("%s: %s", name, problem)
		case anchors[anchor] == "":
			t.Errorf("%s: runbook_url anchor #%s is no heading of docs/runbook.md (write a section \"## %s\")", name, anchor, name)
		case !strings.Contains(anchors[anchor], name):
			t.Errorf("%s: runbook_url #%s leads to the section %q, which is not the alert's", name, anchor, anchors[anchor])
		}
	}
	for _, m := range anchorLinkRE.FindAllStringSubmatch(runbook, -1) {
		if anchors[m[1]] == "" {
			t.Errorf("docs/runbook.md links to #%s, which is none of its headings", m[1])
		}
	}
}

// runbookAnchor returns the anchor of a runbook_url, or what is wrong with
// it: it must be want (the release's runbook) with an anchor; a link to a
// branch (blob/main) is called out as such.
func runbookAnchor(url, want string) (anchor, problem string) {
	base, anchor, ok := strings.Cut(url, "#")
	switch {
	case strings.HasPrefix(base, runbookRepo) && !strings.HasPrefix(base, runbookRepo+"v"):
		return "", fmt.Sprintf("runbook_url %s points at a branch, not at the release's tag: want %s#<anchor>", url, want)
	case base != want:
		return "", fmt.Sprintf("runbook_url %s, want %s#<anchor> (the release of the VERSION file)", url, want)
	case !ok || anchor == "":
		return "", fmt.Sprintf("runbook_url %s has no #anchor", url)
	}
	return anchor, ""
}

// TestRunbookAnchor: the runbook_url check refuses a link to main, to
// another release and to no section.
func TestRunbookAnchor(t *testing.T) {
	want := runbookRepo + "v1.2.3/docs/runbook.md"
	for _, tc := range []struct {
		url, anchor, problem string
	}{
		{want + "#mediaintelexporterdown", "mediaintelexporterdown", ""},
		{runbookRepo + "main/docs/runbook.md#mediaintelexporterdown", "", "points at a branch"},
		{runbookRepo + "v1.2.2/docs/runbook.md#mediaintelexporterdown", "", "want " + want},
		{"https://wiki.example.com/runbook#mediaintelexporterdown", "", "want " + want},
		{want, "", "has no #anchor"},
		{want + "#", "", "has no #anchor"},
	} {
		anchor, problem := runbookAnchor(tc.url, want)
		if anchor != tc.anchor || !strings.Contains(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("runbookAnchor(%q) = %q, %q; want %q and a problem saying %q", tc.url, anchor, problem, tc.anchor, tc.problem)
		}
	}
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// groupingRE finds the label lists of by (...), on (...) and without (...)
// in a PromQL expression.
var groupingRE = regexp.MustCompile(`\b(by|on|without)\s*\(([^()]*)\)`)

// accountProblems says where a rule loses the account label: an
// aggregation by (...) or a match on (...) that names labels but not
// account, or an aggregation without (account). An empty list (on ()) keeps
// nothing on purpose.
func accountProblems(expr string) []string {
	var problems []string
	for _, m := range groupingRE.FindAllStringSubmatch(expr, -1) {
		labels := map[string]bool{}
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels[l] = true
			}
		}
		switch {
		case m[1] == "without" && labels["account"]:
			problems = append(problems, m[0]+" drops the account")
		case m[1] != "without" && len(labels) > 0 && !labels["account"]:
			problems = append(problems, m[0]+" does not keep the account")
		}
	}
	return problems
}

// TestRulesKeepAccount: every recording rule and alert keeps the account
// label through its aggregations and joins, and every alert's summary and
// description name the account, since two accounts can have workspaces
// and projects of the same name. MediaIntelExporterDown is the exception:
// it is about Prometheus' targets, and counts the /probe targets of all
// accounts together on purpose.
func TestRulesKeepAccount(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	n := 0
	for _, f := range []string{"recording.yml", "alerts.yml"} {
		var rf ruleFile
		if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(dir, f))), &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				n++
				name := r.Alert + r.Record
				if r.Alert == "MediaIntelExporterDown" {
					continue
				}
				for _, p := range accountProblems(r.Expr) {
					t.Errorf("%s: %s", name, p)
				}
				if r.Alert == "" {
					continue
				}
				for _, a := range []string{"summary", "description"} {
					if !strings.Contains(r.Annotations[a], "$labels.account") {
						t.Errorf("%s: the %s does not name the account ({{ $labels.account }})", name, a)
					}
				}
				for _, q := range regexp.MustCompile("`[^`]*`").FindAllString(r.Annotations["description"], -1) {
					if strings.Contains(q, "ncp_mediaintel_") && !strings.Contains(q, `account="%s"`) {
						t.Errorf("%s: the query %s of the description does not select the alert's account", name, q)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d rules read", n)
	}
}

func TestAccountProblems(t *testing.T) {
	for expr, want := range map[string]int{
		`sum without (format) (x)`:                                       0,
		`sum without (account, format) (x)`:                              1,
		`count by (job, instance) (x == 0)`:                              1,
		`count by (job, instance, account) (x == 0)`:                     0,
		`a unless on (job, instance, operation) b`:                       1,
		`a > on (job, instance, account) group_left () b unless on () c`: 0,
		`max by(reason) (y)`:                                             1,
	} {
		if got := accountProblems(expr); len(got) != want {
			t.Errorf("accountProblems(%q) = %q, want %d problems", expr, got, want)
		}
	}
}
