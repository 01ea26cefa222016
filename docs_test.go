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
	"github.com/mediaintel/mediaintel_exporter/scrape"
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

// reasonsDoc is the Markdown file that holds the one table of the failure
// reasons, under reasonsHeading.
const (
	reasonsDoc     = "docs/runbook.md"
	reasonsHeading = "## Failure reasons"
)

// TestFailureReasonsTable: the failure reasons table names every reason of
// scrape.FailureReasons (client.Reasons and the scraper's own), in
// order, and nothing else.
func TestFailureReasonsTable(t *testing.T) {
	doc, err := os.ReadFile(reasonsDoc)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range scrape.FailureReasons {
		reasons = append(reasons, string(r))
	}
	for _, p := range reasonTableProblems(string(doc), reasons) {
		t.Errorf("%s, %q: %s", reasonsDoc, reasonsHeading, p)
	}
}

// reasonCellRE is a reason in a row's first cell: `name`.
var reasonCellRE = regexp.MustCompile("^`([a-z0-9_]+)`$")

// reasonRows returns the reason of each row of the first table after the
// heading reasonsHeading in doc.
func reasonRows(doc string) ([]string, error) {
	lines := strings.Split(doc, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == reasonsHeading })
	if i < 0 {
		return nil, fmt.Errorf("no heading %q", reasonsHeading)
	}
	var rows []string
	inTable := false
	for _, line := range lines[i+1:] {
		if strings.HasPrefix(line, "#") {
			break // the next section
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		if !inTable { // the header row
			inTable = true
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		if strings.Trim(cell, "-: ") == "" {
			continue // the delimiter row
		}
		m := reasonCellRE.FindStringSubmatch(cell)
		if m == nil {
			return nil, fmt.Errorf("row %q: the first cell is no `reason`", line)
		}
		rows = append(rows, m[1])
	}
	if !inTable {
		return nil, fmt.Errorf("no table under the heading %q", reasonsHeading)
	}
	return rows, nil
}

// reasonTableProblems compares the reasons table of doc with reasons, in
// order: one line per row without a reason, reason without a row, row
// repeated, or a difference of order.
func reasonTableProblems(doc string, reasons []string) []string {
	rows, err := reasonRows(doc)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	seen := map[string]bool{}
	for _, r := range rows {
		switch {
		case seen[r]:
			problems = append(problems, fmt.Sprintf("the row `%s` is there twice", r))
		case !slices.Contains(reasons, r):
			problems = append(problems, fmt.Sprintf("the row `%s` names no reason of scrape.FailureReasons", r))
		}
		seen[r] = true
	}
	for _, r := range reasons {
		if !seen[r] {
			problems = append(problems, fmt.Sprintf("scrape.FailureReasons has %q, which has no row: add one", r))
		}
	}
	if len(problems) == 0 && !slices.Equal(rows, reasons) {
		problems = append(problems, fmt.Sprintf("the rows are in the order %v, scrape.FailureReasons in %v", rows, reasons))
	}
	return problems
}

func TestReasonTableProblems(t *testing.T) {
	table := func(rows ...string) string {
		s := "# Runbook\n\n## Failure reasons\n\nSome text.\n\n| reason | what |\n|---|---|\n"
		for _, r := range rows {
			s += "| `" + r + "` | x |\n"
		}
		return s + "\n## Next\n\n| `later` | table |\n"
	}
	reasons := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the problems, in order
	}{
		{"equal", table("a", "b", "c"), nil},
		{"a reason without a row", table("a", "b"), []string{`scrape.FailureReasons has "c", which has no row`}},
		{"a row without a reason", table("a", "b", "x", "c"), []string{"the row `x` names no reason"}},
		{"order", table("b", "a", "c"), []string{"in the order [b a c], scrape.FailureReasons in [a b c]"}},
		{"twice", table("a", "b", "b", "c"), []string{"the row `b` is there twice"}},
		{"no heading", "# Runbook\n\n| `a` |\n", []string{"no heading"}},
		{"no table", "## Failure reasons\n\nText.\n\n## Next\n\n| h |\n|---|\n| `a` |\n", []string{"no table under the heading"}},
		{"not code", "## Failure reasons\n\n| reason |\n|---|\n| a |\n", []string{"the first cell is no `reason`"}},
		{"empty table", "## Failure reasons\n\n| reason |\n|---|\n", []string{`"a", which has no row`, `"b"`, `"c"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reasonTableProblems(tc.doc, reasons)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q, want it to contain %q", got[i], w)
				}
			}
		})
	}
}
