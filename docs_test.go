package main

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// TestMarkdownLinks: every relative link of every Markdown file tracked by
// git leads to a file of the repository and, where it names an anchor of a
// Markdown file, to one of its headings.
func TestMarkdownLinks(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z", "*.md").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 5 || !slices.Contains(files, "README.md") {
		t.Fatalf("git ls-files found the Markdown files %q; want README.md and the docs", files)
	}
	fsys := os.DirFS(".")
	links := 0
	for _, name := range files {
		n, problems, err := linkProblems(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		links += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	// A pattern that matched nothing would pass every file.
	if links < 50 {
		t.Errorf("found %d links in %d files; the link pattern no longer matches them", links, len(files))
	}
	t.Logf("%d links in %d Markdown files", links, len(files))
}

// schemeRE is a URL scheme (https:, mailto:): the link leaves the
// repository and is not checked.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// linkProblems checks the links of the Markdown file name in fsys, a
// repository's tree: it returns how many links it found and one line per
// broken relative link or anchor. External links are not checked, nor are
// anchors into files other than Markdown (a line of a Go file, say).
func linkProblems(fsys fs.FS, name string) (int, []string, error) {
	doc, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, nil, err
	}
	links := testutil.MarkdownLinks(string(doc))
	var problems []string
	for _, l := range links {
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: link %s: ", name, l.Line, l.Target)+fmt.Sprintf(format, args...))
		}
		if schemeRE.MatchString(l.Target) || strings.HasPrefix(l.Target, "//") {
			continue
		}
		p, anchor, _ := strings.Cut(l.Target, "#")
		p, _, _ = strings.Cut(p, "?")
		p, err := url.PathUnescape(p)
		if err != nil {
			bad("%v", err)
			continue
		}
		target := name
		switch {
		case strings.HasPrefix(p, "/"):
			target = path.Clean(strings.TrimPrefix(p, "/"))
		case p != "":
			target = path.Join(path.Dir(name), p)
		}
		if target == ".." || strings.HasPrefix(target, "../") {
			bad("leads out of the repository")
			continue
		}
		info, err := fs.Stat(fsys, target)
		if err != nil {
			bad("%s does not exist", target)
			continue
		}
		if anchor == "" || info.IsDir() || !strings.EqualFold(path.Ext(target), ".md") {
			continue
		}
		linked := doc
		if target != name {
			if linked, err = fs.ReadFile(fsys, target); err != nil {
				return 0, nil, err
			}
		}
		if _, ok := testutil.MarkdownAnchors(string(linked))[anchor]; !ok {
			bad("%s has no heading whose anchor is #%s", target, anchor)
		}
	}
	return len(links), problems, nil
}

func TestLinkProblems(t *testing.T) {
	tree := fstest.MapFS{
		"README.md":      {Data: []byte("# Top\n\n## Two words\n")},
		"docs/a.md":      {Data: []byte("# A\n\n## Section one\n\n```\n## Not a heading\n```\n")},
		"docs/a b.md":    {Data: []byte("# Spaced\n")},
		"main.go":        {Data: []byte("package main\n")},
		"img/logo.png":   {Data: []byte("png")},
		"deploy/x/y.txt": {Data: []byte("y")},
	}
	for _, tc := range []struct {
		name, file, doc string
		want            []string // substrings of the problems, in order
	}{
		{"file", "doc.md", "[a](docs/a.md) [b](./README.md) [c](docs/) [d](img/logo.png)", nil},
		{"anchors", "doc.md", "[a](docs/a.md#section-one) [b](README.md#two-words) [c](#own)\n\n## Own\n", nil},
		{"from a folder", "docs/b.md", "[a](../README.md#top) [b](a.md#a) [c](../deploy/x/y.txt) [d](/README.md#top)", nil},
		{"escaped, angle brackets, title", "doc.md", "[a](docs/a%20b.md#spaced) [b](<docs/a b.md>) [c](docs/a.md \"A\")", nil},
		{"external", "doc.md", "[a](https://example.com/none.md#none) [b](mailto:x@example.com) [c](//example.com/x) <https://x>", nil},
		{"anchor in a Go file", "doc.md", "[a](main.go#L1)", nil},
		{"in code", "doc.md", "`[a](none.md)`\n\n```\n[b](none.md)\n```\n", nil},
		{"broken file", "doc.md", "x\n[a](docs/none.md)", []string{"doc.md:2: link docs/none.md: docs/none.md does not exist"}},
		{"broken anchor", "doc.md", "[a](docs/a.md#section-two)", []string{"docs/a.md has no heading whose anchor is #section-two"}},
		{"anchor of a fenced line", "doc.md", "[a](docs/a.md#not-a-heading)", []string{"#not-a-heading"}},
		{"broken own anchor", "doc.md", "# Doc\n[a](#dok)", []string{"doc.md:2: link #dok: doc.md has no heading whose anchor is #dok"}},
		{"anchor case", "doc.md", "[a](README.md#Top)", []string{"#Top"}},
		{"relative to the wrong folder", "docs/b.md", "[a](docs/a.md)", []string{"docs/docs/a.md does not exist"}},
		{"out of the tree", "docs/b.md", "[a](../../x.md)", []string{"leads out of the repository"}},
		{"image", "doc.md", "![logo](img/none.png)", []string{"img/none.png does not exist"}},
		{"reference definition", "doc.md", "[a][r]\n\n[r]: docs/none.md\n", []string{"doc.md:3: link docs/none.md"}},
		{"text over two lines", "doc.md", "[a\nb](none.md)", []string{"doc.md:1: link none.md"}},
		{"bad escape", "doc.md", "[a](docs/a%zz.md)", []string{"invalid URL escape"}},
		{"two problems", "doc.md", "[a](x.md) [b](#y)", []string{"x.md does not exist", "#y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{tc.file: {Data: []byte(tc.doc)}}
			for k, v := range tree {
				fsys[k] = v
			}
			n, problems, err := linkProblems(fsys, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 && !strings.Contains(tc.doc, "`") {
				t.Errorf("no link found in %q", tc.doc)
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d matching %q", problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %q, want it to contain %q", problems[i], w)
				}
			}
		})
	}
}
