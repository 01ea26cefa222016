#!/bin/sh
# Packages the Helm chart as helm package does, into DIR (default: dist/ at
# the repository root): mediaintel-exporter-<Chart.yaml version>.tgz, with
# appVersion the VERSION file's. No helm binary needed: cmd/chart-package
# uses Helm as a Go library, as the chart's tests do. The same as
#
#   helm package --app-version "$(cat VERSION)" -d dist deploy/helm/mediaintel-exporter
#
# Usage: deploy/helm/package.sh [DIR]        (run by `make helm-package`)
set -eu

out=${1:-dist}
cd "$(dirname "$0")/../.."
case "$out" in
/*) ;;
*) out="$(pwd)/$out" ;;
esac
GOTOOLCHAIN=${GOTOOLCHAIN:-go$(sed -n 's/^go //p' go.mod)}
export GOTOOLCHAIN
app_version=$(cat VERSION)
cd deploy/helm
go run ./cmd/chart-package -app-version "$app_version" -d "$out" mediaintel-exporter
