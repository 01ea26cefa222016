// Package deploy holds the deployment examples of mediaintel_exporter —
// Prometheus alerting and recording rules, Prometheus and Alertmanager
// configurations, the container build script — and the tests that check them
// with the real tools: promtool, amtool, and an end-to-end run of the exporter
// with Prometheus and Alertmanager.
//
// The package has no code of its own; it exists for its tests.
package deploy
