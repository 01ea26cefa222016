package testutil

import (
	"reflect"
	"testing"
)

func TestGitHubSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"MediaIntelAPIErrors", "mediaintelapierrors"},
		{"Failure reasons", "failure-reasons"},
		{"The `reason` label, and what it means", "the-reason-label-and-what-it-means"},
		{"Getting at the [exporter](#x)", "getting-at-the-exporter"},
		{"snake_case and 2 -- dashes", "snake_case-and-2----dashes"},
		{"What we scan for, and how", "what-we-scan-for-and-how"},
		{"Sharding with the operator's `shards`", "sharding-with-the-operators-shards"},
		{"Bounds: 1–16 (ü)", "bounds-116-ü"},
	} {
		if got := GitHubSlug(tc.heading); got != tc.want {
			t.Errorf("GitHubSlug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

func TestMarkdownAnchors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      map[string]string
	}{
		{"repeated", "# A\n## A\n### A ###\n", map[string]string{"a": "A", "a-1": "A", "a-2": "A"}},
		{"fenced", "```sh\n# not a heading\n```\n# B\n", map[string]string{"b": "B"}},
		{"tilde fence holding backticks", "~~~\n```\n# no\n~~~\n# C\n", map[string]string{"c": "C"}},
		{"longer closing fence", "```\n# no\n`````\n# D\n", map[string]string{"d": "D"}},
		{"no space after #", "#hashtag\n#### E\n", map[string]string{"e": "E"}},
		{"C# kept", "## C#\n", map[string]string{"c": "C#"}},
		{"indented code", "    # no\n", map[string]string{}},
	} {
		if got := MarkdownAnchors(tc.doc); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: MarkdownAnchors = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMarkdownLinks(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []MarkdownLink
	}{
		{"inline", "see [a](b.md) and [c](d.md#e)\n", []MarkdownLink{{1, "b.md"}, {1, "d.md#e"}}},
		{"image and title", "![alt](img.png \"T\")\n[x](y.md 'T')\n", []MarkdownLink{{1, "img.png"}, {2, "y.md"}}},
		{"angle brackets", "[x](<a b.md>)\n", []MarkdownLink{{1, "a b.md"}}},
		{"text over two lines", "one\n[two\nlines](x.md)\n", []MarkdownLink{{2, "x.md"}}},
		{"code span in the text", "[`code`](x.md)\n", []MarkdownLink{{1, "x.md"}}},
		{"brackets in the text", "[a [b] c](x.md)\n", []MarkdownLink{{1, "x.md"}}},
		{"reference definition", "text\n[ref]: ../r.md\n", []MarkdownLink{{2, "../r.md"}}},
		{"in a code span", "`[x](no.md)` and ``a ` [y](no.md)``\n", nil},
		{"code span over two lines", "`[x](no.md)\n[y](no.md)` [z](yes.md)\n", []MarkdownLink{{2, "yes.md"}}},
		{"unclosed backtick", "a ` b [x](yes.md)\n", []MarkdownLink{{1, "yes.md"}}},
		{"fenced", "```md\n[x](no.md)\n```\n[y](yes.md)\n", []MarkdownLink{{4, "yes.md"}}},
		{"autolink and bare brackets", "<https://x> [ours] [a]\n", nil},
	} {
		if got := MarkdownLinks(tc.doc); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: MarkdownLinks = %v, want %v", tc.name, got, tc.want)
		}
	}
}
