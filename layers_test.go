package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFoldersAreLayers: no package imports a package whose folder holds
// it (a folder inside another is a layer below it), in any module of the
// repository. Commands (package main) and test-support packages named in
// the xxxtest idiom of net/http/httptest may.
func TestFoldersAreLayers(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "go.mod", "*/go.mod").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	modules := strings.Fields(string(out))
	if len(modules) < 2 {
		t.Fatalf("found the modules %v; want the root's and the nested ones", modules)
	}
	checked := 0
	for _, gomod := range modules {
		cmd := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
		cmd.Dir = filepath.Dir(gomod)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		list, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list in %s: %v\n%s", cmd.Dir, err, stderr.String())
		}
		for _, bad := range upwardImports(string(list)) {
			t.Errorf("module %s: %s", cmd.Dir, bad)
		}
		checked += strings.Count(string(list), "\n")
	}
	t.Logf("%d packages in %d modules checked", checked, len(modules))
}

// upwardImports reads go list lines ("name importpath imports...") and
// returns "P imports Q" for each package P that imports a Q whose folder
// holds P.
func upwardImports(list string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(list))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] == "main" || strings.HasSuffix(f[0], "test") {
			continue
		}
		for _, imp := range f[2:] {
			if strings.HasPrefix(f[1], imp+"/") {
				bad = append(bad, f[1]+" imports "+imp)
			}
		}
	}
	return bad
}

func TestUpwardImports(t *testing.T) {
	list := strings.Join([]string{
		"exporter example.com/m/exporter example.com/m/handler example.com/m/client",
		"exportertest example.com/m/exporter/exportertest example.com/m/exporter",
		"main example.com/m/deploy/cmd/x example.com/m/deploy",
		"failing example.com/m/internal/testutil/failing example.com/m/internal/testutil fmt",
		"collector example.com/m/collector example.com/m/collectorx",
	}, "\n")
	got := upwardImports(list)
	if len(got) != 1 || got[0] != "example.com/m/internal/testutil/failing imports example.com/m/internal/testutil" {
		t.Errorf("upwardImports = %q; want only the failing package's import of testutil", got)
	}
}
