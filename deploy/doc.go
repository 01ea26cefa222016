// Package deploy holds the deployment examples of mediaintel_exporter —
// Prometheus alerting and recording rules, Prometheus and Alertmanager
// configurations, the container build script — and the tests that check them
// with the real tools: promtool, amtool, BuildKit's Dockerfile parser, and an
// end-to-end run of the exporter with Prometheus (2.x and 3.x) and
// Alertmanager.
//
// The package has no code of its own; it exists for its tests. It is a module
// of its own, so that what only its tests need (BuildKit's parser) stays out
// of the exporter's go.mod: run them with "go test -C deploy ./...".
// MEDIAINTEL_PROMETHEUS_BINS lists the Prometheus servers to test against
// (":"-separated, each with its promtool beside it); without it, the
// prometheus on PATH.
package deploy
