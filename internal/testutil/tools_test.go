package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequireTool checks both ways a missing tool can go: skipped when
// RequireToolsEnv is unset or false (make test), failed when it is true
// (.ci/run), and a value that is neither fails rather than guesses.
func TestRequireTool(t *testing.T) {
	// A PATH of one directory holding one executable, so that the test
	// does not depend on what this machine has installed.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "present-tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)

	const (
		found = "found"
		skip  = "skip"
		fail  = "fail"
	)
	tests := []struct {
		name   string
		env    *string // nil: unset
		tools  []string
		want   string
		inMsgs []string
	}{
		{"present, unset", nil, []string{"present-tool"}, found, nil},
		{"present, required", ptr("1"), []string{"absent-tool", "present-tool"}, found, nil},
		{"absent, unset", nil, []string{"promtool"}, skip,
			[]string{"promtool is not on PATH", "apt-get install prometheus)", "skipped", RequireToolsEnv + "=1"}},
		{"absent, empty", ptr(""), []string{"promtool"}, skip, []string{"promtool is not on PATH"}},
		{"absent, 0", ptr("0"), []string{"amtool"}, skip, []string{"apt-get install prometheus-alertmanager)"}},
		{"absent, 1", ptr("1"), []string{"promtool"}, fail,
			[]string{"promtool is not on PATH", "apt-get install prometheus)", RequireToolsEnv + " is set", "fails rather than skips"}},
		{"absent, true", ptr("true"), []string{"prometheus-alertmanager", "alertmanager"}, fail,
			[]string{"none of prometheus-alertmanager, alertmanager is on PATH", "apt-get install prometheus-alertmanager)"}},
		{"absent, unknown tool", ptr("1"), []string{"zip"}, fail, []string{"zip is not on PATH", "apt-get install zip)"}},
		{"bad value", ptr("yes"), []string{"promtool"}, fail, []string{RequireToolsEnv + `="yes"`, "want 1"}},
		{"bad value, tool present", ptr("yes"), []string{"present-tool"}, found, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env == nil {
				t.Setenv(RequireToolsEnv, "") // restored after the test
				os.Unsetenv(RequireToolsEnv)
			} else {
				t.Setenv(RequireToolsEnv, *tc.env)
			}
			var path string
			fatal, skipped := runTB(func(t testing.TB) { path = RequireTool(t, tc.tools...) })
			var msg string
			switch {
			case fatal != "" && skipped != "":
				t.Fatalf("both failed (%q) and skipped (%q)", fatal, skipped)
			case fatal != "":
				msg = fatal
				if tc.want != fail {
					t.Fatalf("RequireTool(%q) failed with %q, want %s", tc.tools, fatal, tc.want)
				}
			case skipped != "":
				msg = skipped
				if tc.want != skip {
					t.Fatalf("RequireTool(%q) skipped with %q, want %s", tc.tools, skipped, tc.want)
				}
			default:
				if tc.want != found {
					t.Fatalf("RequireTool(%q) = %q, want %s", tc.tools, path, tc.want)
				}
				if want := filepath.Join(dir, "present-tool"); path != want {
					t.Errorf("RequireTool(%q) = %q, want %q", tc.tools, path, want)
				}
			}
			for _, s := range tc.inMsgs {
				if !strings.Contains(msg, s) {
					t.Errorf("the message %q lacks %q", msg, s)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }
