package deploy

import (
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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
		"MediaIntelStatusBudgetTooSmall",
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
	bin := testutil.BuildExporter(t)
	exp := testutil.StartExporter(t, bin, "--demo")
	exported := testutil.MetricNames(exp.Get(t, "/metrics"))
	for n := range testutil.MetricNames(exp.Get(t, "/internal/metrics")) {
		exported[n] = true
	}
	for n := range failing.MetricNames(t, bin) {
		exported[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(used)) {
		if !exported[n] {
			t.Errorf("the rules name %s, which the exporter does not export", n)
		}
	}
}

// runbookURL is where the rule files' runbook_url annotations point: the
// repository's docs/runbook.md, an anchor per alert.
const runbookURL = "https://github.com/mediaintel/mediaintel_exporter/blob/main/docs/runbook.md"

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
		base, anchor, ok := strings.Cut(m[0][1], "#")
		switch {
		case !ok || base != runbookURL:
			t.Errorf("%s: runbook_url %s, want %s#<anchor>", name, m[0][1], runbookURL)
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
