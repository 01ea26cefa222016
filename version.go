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

// The version of a build that deploy/build.sh's -ldflags did not stamp
// (go install github.com/mediaintel/mediaintel_exporter@v0.2.0, go build,
// go run): taken from the Go build information before main runs, so that
// --version, the startup log and ncp_mediaintel_build_info say it too.
func init() {
	bi, _ := debug.ReadBuildInfo()
	version.Version, version.Revision = buildVersion(bi, version.Version, version.Revision, versionFile)
}

// pseudoRevision is the commit at the end of a Go pseudo-version
// (v0.2.1-0.20261201093000-0123456789ab, +incompatible or +dirty after it).
var pseudoRevision = regexp.MustCompile(`[.-]\d{14}-([0-9a-f]{12})(?:\+.*)?$`)

// buildVersion returns the version and revision to report. Values set by
// -ldflags (ldVersion, ldRevision) win. Else the version is the main
// module's version in bi without its "v" (a go install of a tag or a
// pseudo-version, or a VCS-stamped build), or, for a build that has none
// ("(devel)", as with -buildvcs=false), the VERSION file's; the revision
// is the VCS commit in bi ("-modified" after it for a dirty tree), else the
// commit a pseudo-version names, else "" (prometheus/common then says
// "unknown").
func buildVersion(bi *debug.BuildInfo, ldVersion, ldRevision, file string) (ver, rev string) {
	ver, rev = ldVersion, ldRevision
	if ver != "" {
		return ver, rev
	}
	ver = strings.TrimSpace(file)
	if bi == nil {
		return ver, rev
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		ver = strings.TrimPrefix(v, "v")
	}
	if rev != "" {
		return ver, rev
	}
	var vcsRev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			vcsRev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case vcsRev != "" && modified:
		rev = vcsRev + "-modified"
	case vcsRev != "":
		rev = vcsRev
	default:
		if m := pseudoRevision.FindStringSubmatch(bi.Main.Version); m != nil {
			rev = m[1]
		}
	}
	return ver, rev
}
