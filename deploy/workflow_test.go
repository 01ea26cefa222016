package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const workflowPath = ".github/workflows/ci.yml"

// ghWorkflow is what checkWorkflow reads of a GitHub Actions workflow.
type ghWorkflow struct {
	On   map[string]any   `yaml:"on"`
	Jobs map[string]ghJob `yaml:"jobs"`
}

type ghJob struct {
	RunsOn    any      `yaml:"runs-on"`
	Container any      `yaml:"container"` // an image name, or a map with image
	Timeout   int      `yaml:"timeout-minutes"`
	Steps     []ghStep `yaml:"steps"`
}

type ghStep struct {
	Name string         `yaml:"name"`
	Uses string         `yaml:"uses"`
	Run  string         `yaml:"run"`
	With map[string]any `yaml:"with"`
}

// containerImage is the job's container image, "" if it runs on the
// runner itself.
func (j ghJob) containerImage() string {
	switch c := j.Container.(type) {
	case string:
		return c
	case map[string]any:
		s, _ := c["image"].(string)
		return s
	}
	return ""
}

// uses returns the index of the first step that uses action (owner/name, any
// version), -1 if none does.
func (j ghJob) uses(action string) int {
	return slices.IndexFunc(j.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, action+"@") })
}

// ciRunStep returns the index of the step that runs .ci/run, and whether it
// runs it as root (sudo), -1 if no step does.
func (j ghJob) ciRunStep() (int, bool) {
	for i, s := range j.Steps {
		for l := range strings.SplitSeq(s.Run, "\n") {
			switch strings.TrimSpace(l) {
			case "bash .ci/run":
				return i, false
			case "sudo bash .ci/run", "sudo -E bash .ci/run":
				return i, true
			}
		}
	}
	return -1, false
}

// checkWorkflow returns what is wrong with the CI workflow: a job must run
// bash .ci/run (the README's test command) on pushes and pull requests, as
// root (apt-get), after a checkout of the full history (the tests read git
// history), with a Go from actions/setup-go that can fetch go.mod's
// toolchain, and keep .ci/run's cache directory (ciCache, as .ci/lib.sh
// names it under the home directory) between runs.
func checkWorkflow(text, ciCache string) (problems []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var wf ghWorkflow
	if err := yaml.Unmarshal([]byte(text), &wf); err != nil {
		return []string{"not YAML a workflow can be read from: " + err.Error()}
	}
	for _, event := range []string{"push", "pull_request"} {
		if _, ok := wf.On[event]; !ok {
			bad("the workflow does not run on %s", event)
		}
	}
	var names []string
	for name, j := range wf.Jobs {
		if i, _ := j.ciRunStep(); i >= 0 {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		bad("want one job with a step that runs \"bash .ci/run\", found %d (%v)", len(names), names)
		return problems
	}
	name := names[0]
	j := wf.Jobs[name]
	run, sudo := j.ciRunStep()
	if img := j.containerImage(); !sudo && !strings.HasPrefix(img, "debian:") {
		bad("job %s runs .ci/run neither as root in a Debian container (container %q) nor with sudo: its apt-get would fail", name, img)
	}
	if j.Timeout <= 0 || j.Timeout > 120 {
		bad("job %s: timeout-minutes %d, want a bound of at most 120 (.ci/run takes about 20 minutes cold)", name, j.Timeout)
	}

	co := j.uses("actions/checkout")
	switch {
	case co < 0:
		bad("job %s has no actions/checkout step", name)
	case co > run:
		bad("job %s checks out after it runs .ci/run", name)
	default:
		if d := fmt.Sprint(j.Steps[co].With["fetch-depth"]); d != "0" {
			bad("job %s checks out with fetch-depth %s, want 0: the tests read the git history", name, d)
		}
	}

	sg := j.uses("actions/setup-go")
	switch {
	case sg < 0:
		bad("job %s has no actions/setup-go step", name)
	case sg > run:
		bad("job %s sets up Go after it runs .ci/run", name)
	default:
		// .ci/run sets GOTOOLCHAIN from go.mod's go line; a Go of at least
		// 1.21 fetches that toolchain itself.
		with := j.Steps[sg].With
		v, _ := with["go-version"].(string)
		file, _ := with["go-version-file"].(string)
		if file != "go.mod" && !goAtLeast121(v) {
			bad("job %s: setup-go with go-version %q and go-version-file %q, want go-version-file: go.mod or a go-version of at least 1.21", name, v, file)
		}
	}

	cached := false
	for _, s := range j.Steps[:run] {
		if strings.HasPrefix(s.Uses, "actions/cache@") {
			p, _ := s.With["path"].(string)
			for l := range strings.SplitSeq(p, "\n") {
				cached = cached || strings.TrimSpace(l) == "~/"+ciCache
			}
		}
	}
	if !cached {
		bad("job %s does not cache ~/%s (the tools .ci/run builds once) before it runs .ci/run", name, ciCache)
	}
	return problems
}

// goAtLeast121 reports whether a setup-go go-version (1.26.10, 1.26.x,
// stable) is a Go of at least 1.21.
func goAtLeast121(v string) bool {
	if v == "stable" {
		return true
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 1 || (major == 1 && minor >= 21)
}

// ciCacheDir is the cache directory .ci/lib.sh uses by default, under the
// home directory: .cache/mediaintel_exporter-ci.
func ciCacheDir(t *testing.T, root string) string {
	t.Helper()
	const def = `${XDG_CACHE_HOME:-$HOME/.cache}/`
	lib := readFile(t, filepath.Join(root, ".ci", "lib.sh"))
	for l := range strings.SplitSeq(lib, "\n") {
		if rest, ok := strings.CutPrefix(l, "ci_cache=${MEDIAINTEL_CI_CACHE:-"+def); ok {
			return ".cache/" + strings.TrimSuffix(rest, "}")
		}
	}
	t.Fatalf(".ci/lib.sh no longer sets ci_cache=${MEDIAINTEL_CI_CACHE:-%s...}; update this test", def)
	return ""
}

// TestWorkflow checks the GitHub Actions workflow: it runs .ci/run, the
// whole CI, as a fresh checkout needs it run.
func TestWorkflow(t *testing.T) {
	root := testutil.RepoRoot(t)
	for _, p := range checkWorkflow(readFile(t, filepath.Join(root, workflowPath)), ciCacheDir(t, root)) {
		t.Error(p)
	}
}

// TestWorkflowChecks: each way of getting the workflow wrong is reported,
// starting from the real one.
func TestWorkflowChecks(t *testing.T) {
	root := testutil.RepoRoot(t)
	wf := readFile(t, filepath.Join(root, workflowPath))
	cache := ciCacheDir(t, root)
	if cache != ".cache/mediaintel_exporter-ci" {
		t.Errorf(".ci/lib.sh's cache directory is %q, want .cache/mediaintel_exporter-ci (the README names it)", cache)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"not YAML", "jobs:", "jobs: [", "not YAML"},
		{"no pull requests", "  pull_request:\n", "", "does not run on pull_request"},
		{"make test instead", "run: bash .ci/run", "run: make test", `want one job with a step that runs "bash .ci/run", found 0`},
		{"other script", "run: bash .ci/run", "run: bash .ci/lint", "found 0"},
		{"shallow clone", "fetch-depth: 0", "fetch-depth: 1", "fetch-depth 1, want 0"},
		{"default depth", "        with:\n          fetch-depth: 0\n", "", "fetch-depth <nil>, want 0"},
		{"no checkout", "      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n", "", "no actions/checkout step"},
		{"no root", "    container: debian:bookworm\n", "", "neither as root"},
		{"other container", "container: debian:bookworm", "container: golang:1.26", "neither as root"},
		{"no setup-go", "      - uses: actions/setup-go@v5\n        with:\n          go-version-file: go.mod\n", "", "no actions/setup-go step"},
		{"old Go", "go-version-file: go.mod", "go-version: \"1.20\"", `go-version "1.20"`},
		{"no cache", "path: ~/.cache/mediaintel_exporter-ci", "path: ~/.cache/other", "does not cache ~/.cache/mediaintel_exporter-ci"},
		{"no timeout", "    timeout-minutes: 90\n", "", "timeout-minutes 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(wf, tc.old) {
				t.Fatalf("%s no longer has %q; update this case", workflowPath, tc.old)
			}
			problems := checkWorkflow(strings.Replace(wf, tc.old, tc.new, 1), cache)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("want a problem with %q, got %q", tc.want, problems)
			}
		})
	}
	// Accepted alternatives: sudo on the runner, a go-version.
	alt := strings.Replace(wf, "    container: debian:bookworm\n", "", 1)
	alt = strings.Replace(alt, "run: bash .ci/run", "run: sudo -E bash .ci/run", 1)
	alt = strings.Replace(alt, "go-version-file: go.mod", "go-version: \"1.22\"", 1)
	if problems := checkWorkflow(alt, cache); len(problems) > 0 {
		t.Errorf("sudo on the runner with Go 1.22: %q", problems)
	}
}
