#!/usr/bin/env bash
# Builds the release archives of mediaintel_exporter, named and laid out as
# the Prometheus exporters' are:
#
#   dist/mediaintel_exporter-0.2.0.linux-amd64.tar.gz
#     mediaintel_exporter-0.2.0.linux-amd64/{mediaintel_exporter,LICENSE,README.md,CHANGELOG.md}
#   dist/mediaintel_exporter-0.2.0.windows-amd64.zip   (mediaintel_exporter.exe)
#   dist/mediaintel_exporter-0.2.0.linux-amd64.bom.json  (CycloneDX SBOM of that binary)
#   dist/sha256sums.txt                                   (every archive and SBOM)
#
# Usage: deploy/release.sh [PLATFORM...]     (run by `make release`)
#
# PLATFORM is OS-ARCH as in the archive names: linux-amd64, linux-arm64,
# linux-armv7, darwin-amd64, darwin-arm64, windows-amd64 (all six when none
# is given). Each binary is built by deploy/build.sh with GOOS, GOARCH and
# GOARM set, so the command line is the image's; its version is the VERSION
# file's unless VERSION is set, and REVISION, BRANCH, BUILD_USER and
# BUILD_DATE pass through to build.sh as well. DIST moves the output
# directory (default dist/ at the repository root); the files of an earlier
# release build there are replaced.
#
# The SBOMs are written by cyclonedx-gomod, built once into the CI cache
# directory (.ci/lib.sh). Needs GNU tar (--sort), gzip, zip and sha256sum:
# run it on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

name=mediaintel_exporter
cyclonedx_version=v1.10.0
all=(linux-amd64 linux-arm64 linux-armv7 darwin-amd64 darwin-arm64 windows-amd64)

version=${VERSION:-$(cat VERSION)}
export VERSION="$version"
# One revision and date for every binary of the release.
export REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
export BUILD_DATE=${BUILD_DATE:-$(date -u +%Y%m%d-%H:%M:%S)}
dist=${DIST:-dist}
case "$dist" in
/*) ;;
*) dist="$(pwd)/$dist" ;;
esac

platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=("${all[@]}")
for p in "${platforms[@]}"; do
  case " ${all[*]} " in
  *" $p "*) ;;
  *) echo "release: unknown platform $p (want one of: ${all[*]})" >&2; exit 2 ;;
  esac
done
for tool in tar gzip zip sha256sum; do
  command -v "$tool" >/dev/null || { echo "release: needs $tool (Debian: apt-get install $tool)" >&2; exit 1; }
done

cyclonedx=$(ci_tool github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod "$cyclonedx_version")

mkdir -p "$dist"
rm -rf "$dist/$name"-* "$dist/sha256sums.txt"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Archive entries are owned by root and dated at the commit, not by
# whoever built them when.
mtime=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

for p in "${platforms[@]}"; do
  os=${p%%-*}
  arch=${p#*-}
  goarm=
  if [ "$arch" = armv7 ]; then arch=arm goarm=7; fi
  base="$name-$version.$p"
  exe=$name
  [ "$os" != windows ] || exe=$name.exe
  start=$SECONDS
  mkdir -p "$stage/$base"
  GOOS=$os GOARCH=$arch GOARM=$goarm sh deploy/build.sh "$stage/$base/$exe" 2>/dev/null
  cp LICENSE README.md CHANGELOG.md "$stage/$base/"
  touch -d "$mtime" "$stage/$base" "$stage/$base"/*
  if [ "$os" = windows ]; then
    (cd "$stage" && rm -f "$dist/$base.zip" && zip -q -X -r "$dist/$base.zip" "$base")
  else
    tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - "$base" | gzip -n -9 >"$dist/$base.tar.gz"
  fi
  "$cyclonedx" bin -json -output "$dist/$base.bom.json" -version "v$version" "$stage/$base/$exe"
  echo "release: $base ($((SECONDS - start)) s)"
done

(cd "$dist" && sha256sum "$name-$version".* >sha256sums.txt)
echo "release: $(wc -l <"$dist/sha256sums.txt") files in $dist, checksums in $dist/sha256sums.txt"
