// Package helm holds the tests of the mediaintel-exporter Helm chart
// (mediaintel-exporter/): lint, rendering, strict decoding of every object
// into the Kubernetes and prometheus-operator API types, the rules and the
// dashboard against their sources, the exporter's flags, and the per-project
// ScrapeConfig run against a real Prometheus and the demo exporter; and the
// chart's package (package.sh, cmd/chart-package) and its versions.
//
// It is a module of its own, so that Helm, the Kubernetes API types and
// prometheus-operator's stay out of the exporter's go.mod. Run it with
// deploy/helm/ci.sh, or go test ./... in this directory.
package helm
