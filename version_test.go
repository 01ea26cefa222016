package main

import (
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

// TestBuildVersion: the version and revision reported for each way of
// building, from a fake build information and what prometheus/common/version
// makes of it (this machine builds with -buildvcs=false, so a real binary
// carries no VCS stamps to test with). The library reads vcs.revision and
// vcs.modified itself: libRev is what its GetRevision returns.
func TestBuildVersion(t *testing.T) {
	const full = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name                 string
		bi                   *debug.BuildInfo
		ldVersion, libRev    string
		wantVersion, wantRev string
	}{
		{
			name:      "deploy/build.sh: -ldflags win",
			bi:        &debug.BuildInfo{Main: debug.Module{Version: "v0.2.1-0.20261201093000-0123456789ab"}},
			ldVersion: "0.2.0", libRev: "abc123",
			wantVersion: "0.2.0", wantRev: "abc123",
		},
		{
			name:      "-ldflags version, the VCS commit",
			bi:        &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}},
			ldVersion: "0.2.0", libRev: full,
			wantVersion: "0.2.0", wantRev: full,
		},
		{
			name:        "go install ...@v0.2.0: the module version, no commit known",
			bi:          &debug.BuildInfo{Main: debug.Module{Path: "github.com/mediaintel/mediaintel_exporter", Version: "v0.2.0"}},
			libRev:      "unknown",
			wantVersion: "0.2.0", wantRev: "unknown",
		},
		{
			name:        "go install ...@<commit>: the pseudo-version and its commit",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "v0.2.1-0.20261201093000-0123456789ab"}},
			libRev:      "unknown",
			wantVersion: "0.2.1-0.20261201093000-0123456789ab", wantRev: "0123456789ab",
		},
		{
			name:        "pseudo-version after a pre-release tag",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0-rc.1.0.20261201093000-0123456789ab"}},
			libRev:      "unknown",
			wantVersion: "0.3.0-rc.1.0.20261201093000-0123456789ab", wantRev: "0123456789ab",
		},
		{
			name:        "go build in a clean checkout at a tag",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}},
			libRev:      full,
			wantVersion: "0.2.0", wantRev: full,
		},
		{
			name:        "go build in a dirty checkout: the library's commit, not the pseudo-version's",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "v0.2.1-0.20261201093000-fedcba987654+dirty"}},
			libRev:      full + "-modified",
			wantVersion: "0.2.1-0.20261201093000-fedcba987654+dirty", wantRev: full + "-modified",
		},
		{
			name:        "go build -buildvcs=false: the VERSION file",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			libRev:      "unknown",
			wantVersion: "0.2.0", wantRev: "unknown",
		},
		{
			name:        "no main module version: the VERSION file",
			bi:          &debug.BuildInfo{},
			libRev:      "unknown",
			wantVersion: "0.2.0", wantRev: "unknown",
		},
		{
			name:        "no build information",
			libRev:      "unknown",
			wantVersion: "0.2.0", wantRev: "unknown",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver, rev := buildVersion(tc.bi, tc.ldVersion, tc.libRev, "0.2.0\n")
			if ver != tc.wantVersion || rev != tc.wantRev {
				t.Errorf("buildVersion = %q, %q; want %q, %q", ver, rev, tc.wantVersion, tc.wantRev)
			}
		})
	}
}

// TestVersionStamped: init gave prometheus/common/version a version and a
// revision in this (unstamped) test binary too.
func TestVersionStamped(t *testing.T) {
	if version.Version == "" || version.Revision == "" {
		t.Errorf("version %q, revision %q: want both set by init", version.Version, version.Revision)
	}
	if version.Revision != version.GetRevision() {
		t.Errorf("Revision %q, GetRevision %q: want init to have set what GetRevision reports", version.Revision, version.GetRevision())
	}
}

// TestVersionFile: the embedded VERSION file is one line, a bare semantic
// version (deploy/build.sh, the chart and the release archives take it as is).
func TestVersionFile(t *testing.T) {
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\n$`)
	if !semver.MatchString(versionFile) {
		t.Errorf("VERSION holds %q, want one line MAJOR.MINOR.PATCH", versionFile)
	}
}

// TestChangelogVersion: the newest released heading of CHANGELOG.md
// ("## 0.2.0 / 2026-12-01", after an optional "## main / unreleased") is
// the VERSION file's version: a release renames the heading and sets
// VERSION together.
func TestChangelogVersion(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(versionFile)
	heading := regexp.MustCompile(`(?m)^## (.+)$`)
	for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
		if m[1] == "main / unreleased" {
			continue
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(want) + ` / \d{4}-\d{2}-\d{2}$`).MatchString(m[1]) {
			t.Errorf("CHANGELOG.md's newest release heading is %q, want \"%s / YYYY-MM-DD\" (the VERSION file's)", m[1], want)
		}
		return
	}
	t.Error("CHANGELOG.md has no release heading")
}
