package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	appsv1 "k8s.io/api/apps/v1"
)

// versionFile is the repository's VERSION file: the exporter's version.
func versionFile(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(string(readFile(t, filepath.Join(testutil.RepoRoot(t), "VERSION"))))
}

// TestChartVersion: the chart's appVersion is the VERSION file's, its
// version is semantic, and the image it runs by default is that release's
// (tag "v" + appVersion), while image.tag and image.digest override it.
func TestChartVersion(t *testing.T) {
	ver := versionFile(t)
	ch := loadChart(t)
	if ch.Metadata.AppVersion != ver {
		t.Errorf("Chart.yaml appVersion %q, want the VERSION file's %q", ch.Metadata.AppVersion, ver)
	}
	if _, err := semver.StrictNewVersion(ch.Metadata.Version); err != nil {
		t.Errorf("Chart.yaml version %q: %v", ch.Metadata.Version, err)
	}
	repo := "ghcr.io/mediaintel/mediaintel_exporter"
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"default", map[string]any{}, repo + ":v" + ver},
		{"tag", set("image.tag", "v9.9.9"), repo + ":v9.9.9"},
		{"digest", set("image.digest", "sha256:"+strings.Repeat("ab", 32)), repo + "@sha256:" + strings.Repeat("ab", 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := only[*appsv1.Deployment](t, renderChart(t, ch, tc.vals))
			if got := d.Spec.Template.Spec.Containers[0].Image; got != tc.want {
				t.Errorf("image %q, want %q", got, tc.want)
			}
			if got := d.Labels["app.kubernetes.io/version"]; got != ver {
				t.Errorf("label app.kubernetes.io/version %q, want %q", got, ver)
			}
		})
	}
}

// TestChartPackage runs deploy/helm/package.sh (make helm-package) and
// checks the package: mediaintel-exporter-<version>.tgz with the VERSION
// file's appVersion, regular files only, the files the chart reads through
// symbolic links (the rules, the dashboard) with their targets' content,
// and a chart that renders.
func TestChartPackage(t *testing.T) {
	ver := versionFile(t)
	src := loadChart(t)
	dest := t.TempDir()
	cmd := exec.Command("sh", filepath.Join(helmDir(t), "package.sh"), dest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("package.sh: %v\n%s", err, out)
	}
	pkg := filepath.Join(dest, "mediaintel-exporter-"+src.Metadata.Version+".tgz")
	if !strings.Contains(string(out), pkg) {
		t.Errorf("package.sh does not say it wrote %s:\n%s", pkg, out)
	}

	// The archive as written: regular files under mediaintel-exporter/.
	files := map[string][]byte{}
	f, err := os.Open(pkg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s: %s is not a regular file (type %c)", pkg, h.Name, h.Typeflag)
			continue
		}
		name, ok := strings.CutPrefix(h.Name, "mediaintel-exporter/")
		if !ok {
			t.Errorf("%s: %s is outside mediaintel-exporter/", pkg, h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}

	// Every symbolic link of the chart directory is packaged as its
	// target's content.
	links := 0
	err = filepath.WalkDir(chartDir(t), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return err
		}
		links++
		rel, _ := filepath.Rel(chartDir(t), path)
		target, err := os.ReadFile(path) // follows the link
		if err != nil {
			return err
		}
		switch got, ok := files[filepath.ToSlash(rel)]; {
		case !ok:
			t.Errorf("%s lacks %s (a link to its real content)", pkg, rel)
		case len(got) == 0 || !bytes.Equal(got, target):
			t.Errorf("%s: %s (%d bytes) is not its link target's content (%d bytes)", pkg, rel, len(got), len(target))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if links == 0 {
		t.Error("the chart directory has no symbolic links: the test expects files/ to link the rules and the dashboard")
	}

	ch, err := loader.Load(pkg)
	if err != nil {
		t.Fatalf("helm cannot load %s: %v", pkg, err)
	}
	if ch.Metadata.AppVersion != ver || ch.Metadata.Version != src.Metadata.Version {
		t.Errorf("%s: version %q, appVersion %q; want %q, %q", pkg, ch.Metadata.Version, ch.Metadata.AppVersion, src.Metadata.Version, ver)
	}
	if kinds := renderChart(t, ch, map[string]any{}).kinds(); kinds["PrometheusRule"] != 1 || kinds["ConfigMap"] != 1 {
		t.Errorf("the packaged chart renders %v, want its PrometheusRule and dashboard ConfigMap", kinds)
	}
}
