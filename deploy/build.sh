#!/bin/sh
# Builds the mediaintel_exporter binary the way the container image does: the
# Dockerfile runs this very script, so the two cannot drift apart.
#
# Usage: deploy/build.sh [OUTPUT]     (default: ./mediaintel_exporter)
#
# The version information comes from the environment (the Dockerfile passes
# its build arguments through): VERSION, REVISION, BRANCH, BUILD_USER and
# BUILD_DATE. An unset VERSION is the VERSION file's; the others are taken
# from git where there is a checkout, else given a placeholder. The binary
# is static (CGO_ENABLED=0), stripped, and built with -trimpath so it does
# not depend on where it was built.
#
# GOOS, GOARCH and GOARM (6 or 7 for GOARCH=arm) cross-compile, as the
# Dockerfile's builder and deploy/release.sh do; unset, the binary is for
# the machine that builds it.
set -eu

out=${1:-mediaintel_exporter}
case "$out" in
/*) ;;
*) out="$(pwd)/$out" ;;
esac

cd "$(dirname "$0")/.."

# The Go that builds it: GOTOOLCHAIN when set (the golang images set it to
# "local"), else exactly the version go.mod's go line names, which the go
# command fetches from the module proxy once. go.mod's go line is also the
# floor: an older Go with GOTOOLCHAIN=local refuses to build.
GOTOOLCHAIN=${GOTOOLCHAIN:-go$(sed -n 's/^go //p' go.mod)}
export GOTOOLCHAIN

git_or() { git "$@" 2>/dev/null || true; }

VERSION=${VERSION:-$(cat VERSION)}
REVISION=${REVISION:-$(git_or rev-parse HEAD)}
REVISION=${REVISION:-unknown}
BRANCH=${BRANCH:-$(git_or rev-parse --abbrev-ref HEAD)}
BRANCH=${BRANCH:-unknown}
BUILD_USER=${BUILD_USER:-$(id -un 2>/dev/null || echo unknown)@$(hostname 2>/dev/null || echo unknown)}
BUILD_DATE=${BUILD_DATE:-$(date -u +%Y%m%d-%H:%M:%S)}

set -x
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=${BRANCH} -X github.com/prometheus/common/version.BuildUser=${BUILD_USER} -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" -o "$out" .
