package deploy

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const (
	releaseScriptPath = "deploy/release.sh"
	modulePath        = "github.com/mediaintel/mediaintel_exporter"
	// releaseDistEnv names a directory deploy/release.sh has written (.ci/run
	// builds all six platforms there, then runs TestReleaseArchives on it).
	// Unset, the test runs the script itself for releasePlatformsEnv.
	releaseDistEnv = "MEDIAINTEL_RELEASE_DIST"
	// releasePlatformsEnv lists the platforms the test builds when it runs
	// the script itself: space-separated, default linux-amd64 windows-amd64
	// (a tarball, a zip, and a binary that runs here).
	releasePlatformsEnv = "MEDIAINTEL_RELEASE_PLATFORMS"
)

// releasePlatform is one archive of a release: its name in the file names,
// and the GOOS, GOARCH and GOARM its binary must be built for.
type releasePlatform struct{ Name, GOOS, GOARCH, GOARM string }

var releasePlatforms = []releasePlatform{
	{"linux-amd64", "linux", "amd64", ""},
	{"linux-arm64", "linux", "arm64", ""},
	{"linux-armv7", "linux", "arm", "7"},
	{"darwin-amd64", "darwin", "amd64", ""},
	{"darwin-arm64", "darwin", "arm64", ""},
	{"windows-amd64", "windows", "amd64", ""},
}

// TestReleaseArchives checks what deploy/release.sh writes: for each
// platform, the archive named as the Prometheus exporters name theirs with
// one top directory holding the binary, LICENSE, README.md and
// CHANGELOG.md; the binary built for that platform (go version -m's
// build information: GOOS, GOARCH, GOARM, static, trimmed, a Go at least
// go.mod's go line) and, where it runs, saying the VERSION file's version;
// its CycloneDX SBOM; and sha256sums.txt over all of them.
func TestReleaseArchives(t *testing.T) {
	root := testutil.RepoRoot(t)
	ver := strings.TrimSpace(readFile(t, filepath.Join(root, "VERSION")))
	dist := os.Getenv(releaseDistEnv)
	var want []releasePlatform
	if dist == "" {
		names := strings.Fields(os.Getenv(releasePlatformsEnv))
		if len(names) == 0 {
			names = []string{"linux-amd64", "windows-amd64"}
		}
		for _, n := range names {
			i := slices.IndexFunc(releasePlatforms, func(p releasePlatform) bool { return p.Name == n })
			if i < 0 {
				t.Fatalf("%s: unknown platform %q", releasePlatformsEnv, n)
			}
			want = append(want, releasePlatforms[i])
		}
		// The archivers deploy/release.sh runs; zip is the one a machine
		// may lack.
		for _, tool := range []string{"tar", "gzip", "zip", "sha256sum"} {
			requireTool(t, tool)
		}
		dist = t.TempDir()
		cmd := exec.Command("bash", append([]string{filepath.Join(root, releaseScriptPath)}, names...)...)
		cmd.Env = append(os.Environ(), "DIST="+dist)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", releaseScriptPath, strings.Join(names, " "), err, out)
		}
		t.Logf("%s %s: %.0f s", releaseScriptPath, strings.Join(names, " "), time.Since(start).Seconds())
	} else {
		want = releasePlatforms
	}

	// Exactly the expected files, each in sha256sums.txt with its hash.
	var wantFiles []string
	for _, p := range want {
		wantFiles = append(wantFiles, archiveName(ver, p), sbomName(ver, p))
	}
	wantFiles = append(wantFiles, "sha256sums.txt")
	slices.Sort(wantFiles)
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, wantFiles) {
		t.Errorf("%s holds %q, want %q", dist, got, wantFiles)
	}
	checkSums(t, dist, wantFiles[:len(wantFiles)-1])

	for _, p := range want {
		t.Run(p.Name, func(t *testing.T) {
			bin := checkArchive(t, root, filepath.Join(dist, archiveName(ver, p)), ver, p)
			checkReleaseBinary(t, root, bin, ver, p)
			checkSBOM(t, filepath.Join(dist, sbomName(ver, p)), bin, ver)
		})
	}
}

func releaseBase(ver string, p releasePlatform) string {
	return fmt.Sprintf("mediaintel_exporter-%s.%s", ver, p.Name)
}

func archiveName(ver string, p releasePlatform) string {
	if p.GOOS == "windows" {
		return releaseBase(ver, p) + ".zip"
	}
	return releaseBase(ver, p) + ".tar.gz"
}

func sbomName(ver string, p releasePlatform) string { return releaseBase(ver, p) + ".bom.json" }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkSums: sha256sums.txt (sha256sum's format) lists exactly files, each
// with its hash.
func checkSums(t *testing.T, dist string, files []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Errorf("sha256sums.txt: line %q is not \"HASH  NAME\"", sc.Text())
			continue
		}
		listed = append(listed, name)
		b, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Errorf("sha256sums.txt lists %s: %v", name, err)
			continue
		}
		if got := sha256Hex(b); got != sum {
			t.Errorf("sha256sums.txt lists SHA-256 %s for %s, the file has %s", sum, name, got)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, files) {
		t.Errorf("sha256sums.txt lists %q, want %q", listed, files)
	}
}

// checkArchive checks the archive's entries and returns the path of its
// binary, extracted into a temporary directory.
func checkArchive(t *testing.T, root, path, ver string, p releasePlatform) string {
	t.Helper()
	base := releaseBase(ver, p)
	exe := "mediaintel_exporter"
	if p.GOOS == "windows" {
		exe += ".exe"
	}
	files := map[string][]byte{}
	var dirs []string
	add := func(name string, isDir bool, mode os.FileMode, r io.Reader) {
		if isDir {
			dirs = append(dirs, strings.TrimSuffix(name, "/"))
			return
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		files[name] = b
		if name == base+"/"+exe && p.GOOS != "windows" && mode&0o111 == 0 {
			t.Errorf("%s: %s is not executable (mode %v)", path, name, mode)
		}
	}
	if p.GOOS == "windows" {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			add(f.Name, f.FileInfo().IsDir(), f.Mode(), r)
			r.Close()
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if h.Typeflag != tar.TypeDir && h.Typeflag != tar.TypeReg {
				t.Errorf("%s: %s is neither a file nor a directory (type %c)", path, h.Name, h.Typeflag)
			}
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s: %s is owned by %d:%d, want 0:0", path, h.Name, h.Uid, h.Gid)
			}
			add(h.Name, h.Typeflag == tar.TypeDir, h.FileInfo().Mode(), tr)
		}
	}
	if !slices.Equal(dirs, []string{base}) {
		t.Errorf("%s: directories %q, want the one top directory %s/", path, dirs, base)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	wantNames := []string{base + "/CHANGELOG.md", base + "/LICENSE", base + "/README.md", base + "/" + exe}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("%s holds %q, want %q", path, names, wantNames)
	}
	for _, doc := range []string{"LICENSE", "README.md", "CHANGELOG.md"} {
		if !bytes.Equal(files[base+"/"+doc], []byte(readFile(t, filepath.Join(root, doc)))) {
			t.Errorf("%s: %s differs from the repository's", path, doc)
		}
	}
	bin := filepath.Join(t.TempDir(), exe)
	if err := os.WriteFile(bin, files[base+"/"+exe], 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// checkReleaseBinary: built for p, statically, trimmed, by a Go at least
// go.mod's go line; on this machine's platform, --version says ver and the
// commit.
func checkReleaseBinary(t *testing.T, root, bin, ver string, p releasePlatform) {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	if goLine := "go" + goLine(t, root); version.Compare(info.GoVersion, goLine) < 0 {
		t.Errorf("%s was built with %s, want %s or newer (go.mod's go line)", bin, info.GoVersion, goLine)
	}
	if info.Main.Path != modulePath {
		t.Errorf("%s is module %q, want %s", bin, info.Main.Path, modulePath)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": p.GOOS, "GOARCH": p.GOARCH, "CGO_ENABLED": "0", "-trimpath": "true"}
	if p.GOARM != "" {
		want["GOARM"] = p.GOARM
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("go version -m %s: %s=%q, want %q (settings %v)", bin, k, settings[k], v, settings)
		}
	}
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH {
		return // it cannot run here
	}
	out := testutil.RunTool(t, time.Minute, root, bin, "--version")
	if !strings.Contains(out, "mediaintel_exporter, version "+ver+" ") {
		t.Errorf("%s --version does not say version %s:\n%s", bin, ver, out)
	}
	if head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		if rev := strings.TrimSpace(string(head)); !strings.Contains(out, "revision: "+rev+")") {
			t.Errorf("%s --version does not say revision %s (HEAD):\n%s", bin, rev, out)
		}
	}
}

// cdxComponent is the part of a CycloneDX component the test reads.
type cdxComponent struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// checkSBOM: a CycloneDX JSON document about bin: the application at
// v<ver>, the binary's SHA-256, and every module the binary was built from
// (its build information) with the same version.
func checkSBOM(t *testing.T, path, bin, ver string) {
	t.Helper()
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component  cdxComponent `json:"component"`
			Properties []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"properties"`
		} `json:"metadata"`
		Components []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
		t.Errorf("%s: bomFormat %q, specVersion %q: not a CycloneDX document", path, bom.BOMFormat, bom.SpecVersion)
	}
	app := bom.Metadata.Component
	if app.Type != "application" || app.Name != modulePath || app.Version != "v"+ver {
		t.Errorf("%s: about %s %s@%s, want application %s@v%s", path, app.Type, app.Name, app.Version, modulePath, ver)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var sum string
	for _, p := range bom.Metadata.Properties {
		if p.Name == "cdx:gomod:binary:hash:SHA-256" {
			sum = p.Value
		}
	}
	if want := sha256Hex(b); sum != want {
		t.Errorf("%s: binary SHA-256 %q, the archive's binary has %s", path, sum, want)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	components := map[string]string{}
	for _, c := range bom.Components {
		components[c.Name] = c.Version
	}
	for _, d := range info.Deps {
		if components[d.Path] != d.Version {
			t.Errorf("%s: module %s is at %q, the binary has %s", path, d.Path, components[d.Path], d.Version)
		}
	}
	if len(info.Deps) == 0 {
		t.Errorf("%s: its binary lists no modules", path)
	}
}
