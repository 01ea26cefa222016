#!/usr/bin/env bash
# Tests of the Helm chart deploy/helm/mediaintel-exporter, with no cluster:
# helm lint and template (Helm v3 as a Go library), strict decoding of every
# object into the Kubernetes and prometheus-operator API types, the
# PrometheusRule through promtool, the dashboard against dashboards/, the
# Deployment's arguments against the exporter's --help, the exporter run on
# the rendered pod (accounts' configuration file and Secrets), the
# per-project ScrapeConfig in a real Prometheus against the demo exporter,
# and the histogram settings in each Prometheus of MEDIAINTEL_PROMETHEUS_BINS
# (as .ci/run sets it; else the prometheus on PATH).
#
# Needs Go (PATH or /usr/local/go/bin), the Go module proxy, and Debian's
# prometheus package (installed here with apt-get when promtool is missing).
# MEDIAINTEL_REQUIRE_TOOLS=1 (set here) makes a missing tool a failure, not
# a skip.
set -euo pipefail
cd "$(dirname "$0")"

export PATH="/usr/local/go/bin:$PATH"
export MEDIAINTEL_REQUIRE_TOOLS=1
# The Go of the root go.mod's go line, as in .ci/run (which sets it too).
GOTOOLCHAIN=${GOTOOLCHAIN:-go$(sed -n 's/^go //p' ../../go.mod)}
export GOTOOLCHAIN
start=$(date +%s)
# Logs and temporary files: a directory of this run's own (inside .ci/run's,
# when it runs this), so that runs at the same time do not collide.
if [ -n "${MEDIAINTEL_CI_WORK:-}" ]; then
  work=$(mktemp -d "$MEDIAINTEL_CI_WORK/helm.XXXXXX")
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/mediaintel-helm-ci.XXXXXX")
fi
echo "helm ci: logs and temporary files in $work"

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "helm ci: installing prometheus (promtool, prometheus)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts its service; the tests run their own on free ports.
  systemctl stop prometheus >/dev/null 2>&1 || true
fi

echo "helm ci: $(go version), $(promtool --version 2>&1 | head -n 1)"
go mod download

echo "helm ci: gofmt, go vet, go mod tidy"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
# -race: vet then compiles the dependencies (Helm, the Kubernetes API types)
# as the race-detector tests below do, so they are compiled once, not twice.
go vet -race ./...
cp go.mod "$work/go.mod.bak"
cp go.sum "$work/go.sum.bak"
go mod tidy
if ! cmp -s go.mod "$work/go.mod.bak" || ! cmp -s go.sum "$work/go.sum.bak"; then
  echo "go mod tidy changes deploy/helm/go.mod or go.sum: run it and commit"
  cp "$work/go.mod.bak" go.mod
  cp "$work/go.sum.bak" go.sum
  exit 1
fi

echo "helm ci: chart tests with the race detector"
log=$work/tests.log
set +e
go test -race -count=1 -timeout 15m -v ./... >"$log" 2>&1
rc=$?
set -e
grep -E '^(ok|FAIL|--- FAIL|panic:)' "$log" || true
passed=$(grep -c '^--- PASS: ' "$log" || true)
failed=$(grep -c '^--- FAIL: ' "$log" || true)
if [ "$rc" -ne 0 ]; then
  echo "helm ci: go test failed (exit $rc); the whole log is in $log; the failing tests' output:"
  # go test -v streams each test's lines after its "=== RUN/NAME/CONT" line:
  # gather them by test and print those of the tests that failed.
  awk '
    /^=== (RUN|NAME|CONT|PAUSE) / { cur = $3; next }
    /^ *--- FAIL: / { failed[$3] = 1 }
    /found symbolic link in path/ { next }
    cur != "" { out[cur] = out[cur] $0 "\n" }
    END { for (t in failed) if (t in out) printf "%s", out[t] }
  ' "$log" | grep -v -- '--- PASS: ' | head -n 200
  grep -E '^(panic:|FAIL)' "$log" | head -n 5 || true
  echo "helm: ${passed} passed, ${failed} failed"
  exit 1
fi
grep -E 'objects rendered and decoded|targets up|projects up|end-to-end:|median asset size|SUCCESS' "$log" | sed 's/^ *//' | sort -u || true
echo "helm ci: passed in $(( $(date +%s) - start ))s"
echo "helm: ${passed} passed, ${failed} failed"
