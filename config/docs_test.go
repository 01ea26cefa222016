package config

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// docBlock is a fenced code block of docs/configuration.md.
type docBlock struct {
	info string // the fence's info string: "yaml config", "text"
	line int    // of the opening fence
	text string
}

func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	f, err := os.Open("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{info: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("configuration.md:%d: block not closed", cur.line)
	}
	return blocks
}

// TestDocExamples parses every block of docs/configuration.md marked
// "yaml config", and checks that every block marked "yaml bad-config"
// fails with the error in the "text" block after it, so that the examples
// cannot drift from the parser.
func TestDocExamples(t *testing.T) {
	blocks := docBlocks(t)
	good, bad := 0, 0
	for i, b := range blocks {
		switch b.info {
		case "yaml config":
			good++
			if _, err := Parse("config.yml", []byte(b.text)); err != nil {
				t.Errorf("configuration.md:%d: example refused: %v", b.line, err)
			}
		case "yaml bad-config":
			bad++
			if i+1 == len(blocks) || blocks[i+1].info != "text" {
				t.Errorf("configuration.md:%d: no text block with the error after the bad example", b.line)
				continue
			}
			_, err := Parse("config.yml", []byte(b.text))
			if want := strings.TrimSpace(blocks[i+1].text); err == nil || err.Error() != want {
				t.Errorf("configuration.md:%d: bad example\n gives %v\n  doc %s", b.line, err, want)
			}
		}
	}
	// The four sources, the first example and the anchors; two bad ones.
	if good < 6 || bad < 2 {
		t.Errorf("found %d config examples and %d bad ones; markers renamed?", good, bad)
	}
}

// TestDocMirrorsCode checks what docs/configuration.md says of the code:
// every account key, and the limits.
func TestDocMirrorsCode(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for k := range accountKeys {
		if !strings.Contains(doc, "`"+k+"`") {
			t.Errorf("account key %s is not in the doc", k)
		}
	}
	for _, row := range []string{
		fmt.Sprintf("| file size | %d MiB |", MaxFileBytes>>20),
		fmt.Sprintf("| accounts | %d |", MaxAccounts),
		fmt.Sprintf("| workspaces an account | %d |", MaxWorkspaces),
		fmt.Sprintf("| static labels an account | %d |", MaxLabels),
		fmt.Sprintf("| label value | %d bytes |", MaxLabelValueBytes),
		fmt.Sprintf("| `concurrency` | %d |", MaxConcurrency),
		fmt.Sprintf("| keys merged into one mapping by merge keys (`<<`) | %s, nested at most %d deep |", "10,000", maxMergeDepth),
	} {
		if !strings.Contains(doc, row) {
			t.Errorf("the doc's limits lack the row %q", row)
		}
	}
	if maxMergeWork != 10000 {
		t.Errorf("maxMergeWork is %d; the doc says 10,000", maxMergeWork)
	}
}
