package testutil

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

var (
	// mdHeadingRE is an ATX heading: "## Text", optionally closed by #s.
	mdHeadingRE = regexp.MustCompile(`^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$`)
	// mdInlineLinkRE is a link or image in a heading: only its text counts.
	mdInlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// GitHubSlug is the anchor GitHub gives a Markdown heading (github-slugger):
// the heading's text in lower case, every character but letters, digits,
// marks, "_", "-" and spaces removed, spaces made "-". Link targets are not
// part of the text, and code marks are punctuation.
func GitHubSlug(heading string) string {
	text := mdInlineLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarkdownAnchors returns the anchors of a Markdown document's ATX
// headings, each with its heading's text. GitHub numbers repeated anchors
// "x", "x-1", "x-2". Lines inside fenced code blocks are no headings.
func MarkdownAnchors(doc string) map[string]string {
	anchors := map[string]string{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		if f, ok := fenceOf(line); ok && (fence == "" || strings.HasPrefix(f, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			continue
		}
		m := mdHeadingRE.FindStringSubmatch(line)
		if fence != "" || m == nil {
			continue
		}
		slug := GitHubSlug(m[2])
		if n := seen[slug]; n > 0 {
			seen[slug]++
			slug = fmt.Sprintf("%s-%d", slug, n)
		} else {
			seen[slug] = 1
		}
		anchors[slug] = m[2]
	}
	return anchors
}

// fenceOf returns the fence a line opens or closes (``` or ~~~, three or
// more, indented by at most three spaces).
func fenceOf(line string) (string, bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return "", false
	}
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			return strings.Repeat(c, n), true
		}
	}
	return "", false
}

// MarkdownLink is a link of a Markdown document: its target as written
// (angle brackets and title removed) and the line it starts on.
type MarkdownLink struct {
	Line   int
	Target string
}

var (
	// mdLinkRE is an inline link or image, [text](target "title"), whose
	// text may hold one level of brackets and run over several lines.
	mdLinkRE = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^<>\n]*>|[^\s()]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^()]*\)))?\s*\)`)
	// mdRefDefRE is a link reference definition: [label]: target.
	mdRefDefRE = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:[ \t]*(<[^<>\n]*>|\S+)`)
)

// MarkdownLinks returns the inline links, images and link reference
// definitions of doc, in order, leaving out what fenced code blocks and code
// spans hold. Autolinks (<https://...>) are left out: they are never
// relative.
func MarkdownLinks(doc string) []MarkdownLink {
	text := maskCode(doc)
	var links []MarkdownLink
	add := func(m []int) { // m: the match and its target group
		target := strings.TrimSuffix(strings.TrimPrefix(text[m[2]:m[3]], "<"), ">")
		links = append(links, MarkdownLink{Line: 1 + strings.Count(text[:m[0]], "\n"), Target: target})
	}
	refs := mdRefDefRE.FindAllStringSubmatchIndex(text, -1)
	inline := mdLinkRE.FindAllStringSubmatchIndex(text, -1)
	for len(refs) > 0 || len(inline) > 0 {
		if len(inline) == 0 || (len(refs) > 0 && refs[0][0] < inline[0][0]) {
			add(refs[0])
			refs = refs[1:]
			continue
		}
		add(inline[0])
		inline = inline[1:]
	}
	return links
}

// maskCode returns doc with the lines of fenced code blocks emptied and
// code spans blanked, their newlines kept, so that offsets still give the
// line numbers.
func maskCode(doc string) string {
	lines := strings.Split(doc, "\n")
	fence := ""
	for i, line := range lines {
		if f, ok := fenceOf(line); ok && (fence == "" || strings.HasPrefix(f, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			lines[i] = ""
			continue
		}
		if fence != "" {
			lines[i] = ""
		}
	}
	b := []byte(strings.Join(lines, "\n"))
	for i := 0; i < len(b); {
		if b[i] != '`' {
			i++
			continue
		}
		n := runOf(b, i)
		end := closingRun(b, i+n, n)
		if end < 0 {
			i += n // no closing run: the backticks are literal
			continue
		}
		for j := i; j < end+n; j++ {
			if b[j] != '\n' {
				b[j] = ' '
			}
		}
		i = end + n
	}
	return string(b)
}

// runOf is the length of the run of backticks at b[i].
func runOf(b []byte, i int) int {
	n := 0
	for i+n < len(b) && b[i+n] == '`' {
		n++
	}
	return n
}

// closingRun is where a run of exactly n backticks starts at or after
// from, within the paragraph (before a blank line); -1 if none.
func closingRun(b []byte, from, n int) int {
	for j := from; j < len(b); {
		switch {
		case b[j] == '\n' && j+1 < len(b) && b[j+1] == '\n':
			return -1
		case b[j] == '`':
			m := runOf(b, j)
			if m == n {
				return j
			}
			j += m
		default:
			j++
		}
	}
	return -1
}
