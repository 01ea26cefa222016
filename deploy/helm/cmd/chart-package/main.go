// Command chart-package packages a Helm chart directory into
// NAME-VERSION.tgz as "helm package --app-version V -d DIR CHART" does, with
// the code behind that command (helm.sh/helm/v3's chart loader and
// chartutil.Save), so that packaging needs no helm binary. Files the chart
// reads through symbolic links are packaged with their content.
//
// Usage: chart-package -app-version V [-d DIR] CHART
//
// deploy/helm/package.sh runs it with the repository's VERSION file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

func main() {
	appVersion := flag.String("app-version", "", "the chart's appVersion (required)")
	dest := flag.String("d", ".", "the directory to write the package to")
	flag.Parse()
	if flag.NArg() != 1 || *appVersion == "" {
		fmt.Fprintln(os.Stderr, "usage: chart-package -app-version V [-d DIR] CHART")
		os.Exit(2)
	}
	name, err := packageChart(flag.Arg(0), *appVersion, *dest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-package:", err)
		os.Exit(1)
	}
	fmt.Println(name)
}

// packageChart writes the chart in dir, with appVersion set, into dest
// and returns the package's path.
func packageChart(dir, appVersion, dest string) (string, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return "", fmt.Errorf("loading the chart: %w", err)
	}
	// As helm package: the chart's version must be semantic.
	if _, err := semver.NewVersion(ch.Metadata.Version); err != nil {
		return "", fmt.Errorf("chart version %q: %w", ch.Metadata.Version, err)
	}
	if len(ch.Metadata.Dependencies) > 0 {
		return "", errors.New("the chart has dependencies, which helm package would check and this does not")
	}
	ch.Metadata.AppVersion = appVersion
	if err := os.MkdirAll(dest, 0o750); err != nil {
		return "", err
	}
	name, err := chartutil.Save(ch, dest)
	if err != nil {
		return "", fmt.Errorf("writing the package: %w", err)
	}
	return name, nil
}
