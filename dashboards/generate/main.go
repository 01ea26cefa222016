// Command generate writes the dashboard built by package dashboards to
// dashboards/mediaintel.json, or to the file named by its argument. It runs
// through "go generate" in the dashboards module: "go -C dashboards generate"
// from the repository root.
package main

import (
	"fmt"
	"os"

	"github.com/mediaintel/mediaintel_exporter/dashboards"
)

func main() {
	out := dashboards.FileName
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	b, err := dashboards.JSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil { //nolint:gosec // G306: a committed file that Grafana users import: world-readable on purpose
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
