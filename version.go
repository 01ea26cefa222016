package main

import (
	_ "embed"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// versionFile is the VERSION file: the version this tree is released as.
//
//go:embed VERSION
var versionFile string

// prometheus/common/version reports what deploy/build.sh's -ldflags stamp,
// and for an unstamped revision it reads the VCS commit from the Go build
// information itself (vcs.revision, "-modified" for a dirty tree; else
// "unknown"). It leaves the version empty without -ldflags, and knows no
// commit for a go install of a module version, which carries no VCS
// settings. A build that -ldflags did not stamp (go install
// github.com/mediaintel/mediaintel_exporter@v0.2.0, go build, go run) gets
// those two here, before main runs, so that --version, the startup log and
// ncp_mediaintel_build_info say them too.
func init() {
	bi, _ := debug.ReadBuildInfo()
	version.Version, version.Revision = buildVersion(bi, version.Version, version.GetRevision(), versionFile)
}

// pseudoRevision is the commit at the end of a Go pseudo-version
// (v0.2.1-0.20261201093000-0123456789ab, +incompatible or +dirty after it).
var pseudoRevision = regexp.MustCompile(`[.-]\d{14}-([0-9a-f]{12})(?:\+.*)?$`)

// buildVersion returns the version and revision to report, given the
// version -ldflags set (ver, "" if none) and the revision
// prometheus/common/version would report (rev: -ldflags', else the VCS
// commit, else "unknown"). A version set by -ldflags wins; else it is the
// main module's version in bi without its "v" (a go install of a tag or a
// pseudo-version, or a VCS-stamped build) or, for a build that has none
// ("(devel)", as with -buildvcs=false), the VERSION file's. An unknown
// revision becomes the commit a pseudo-version names, if bi has one.
func buildVersion(bi *debug.BuildInfo, ver, rev, file string) (string, string) {
	if ver == "" {
		ver = strings.TrimSpace(file)
		if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = strings.TrimPrefix(bi.Main.Version, "v")
		}
	}
	if rev == "unknown" && bi != nil {
		if m := pseudoRevision.FindStringSubmatch(bi.Main.Version); m != nil {
			rev = m[1]
		}
	}
	return ver, rev
}
