package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parser walks the YAML node tree of one file. It works on nodes rather
// than decoding into structs so that every error, a wrong value as much as
// an unknown key, carries the line it is about.
type parser struct {
	path string
	data []byte
}

// fail returns an *Error at line, outside any account.
func (p *parser) fail(line int, format string, args ...any) *Error {
	return &Error{File: p.path, Line: line, Err: fmt.Errorf(format, args...)}
}

func (p *parser) parse() (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(p.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.fail(0, "empty: want a mapping with the key accounts")
		}
		return nil, p.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, p.syntaxError(err)
	default:
		return nil, p.fail(extra.Line, "a second YAML document: the file holds one")
	}
	root := doc.Content[0] // a DocumentNode from Decode has one child
	if root.Kind != yaml.MappingNode {
		return nil, p.fail(root.Line, "want a mapping with the key accounts, got %s", describe(root))
	}
	ents, perr := entries(root)
	if perr != nil {
		return nil, p.fail(perr.line, "%s", perr.msg)
	}
	var list *yaml.Node
	var listKey *yaml.Node
	for _, e := range ents {
		if e.key.Value != "accounts" {
			return nil, p.fail(e.key.Line, "unknown top-level key %s (the only one is accounts)", quote(e.key.Value))
		}
		listKey, list = e.key, resolve(e.val)
	}
	if list == nil {
		return nil, p.fail(0, "no accounts: give at least one")
	}
	if isNull(list) || list.Kind == yaml.SequenceNode && len(list.Content) == 0 {
		return nil, p.fail(listKey.Line, "accounts: empty: give at least one")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.fail(listKey.Line, "accounts: want a list of accounts, got %s", describe(list))
	}
	if len(list.Content) > MaxAccounts {
		return nil, p.fail(list.Content[MaxAccounts].Line, "accounts: more than %d", MaxAccounts)
	}
	f := &File{Path: p.path, Accounts: make([]Account, 0, len(list.Content))}
	lines := map[string]int{} // name -> line of its account
	for i, item := range list.Content {
		a, err := p.account(item, i+1)
		if err != nil {
			return nil, err
		}
		if first, ok := lines[a.Name]; ok {
			return nil, &Error{File: p.path, Line: a.Line, Account: a.Name, Item: i + 1,
				Err: fmt.Errorf("name already used by the account at line %d", first)}
		}
		lines[a.Name] = a.Line
		f.Accounts = append(f.Accounts, a)
	}
	return f, nil
}

// yamlLine matches the line yaml.v3 puts in front of a syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns an error of the YAML parser into an *Error with its
// line and, where it can tell, the account it is in.
func (p *parser) syntaxError(err error) *Error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return p.fail(0, "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
	}
	line, _ := strconv.Atoi(m[1]) // digits matched above
	e := p.fail(line, "not valid YAML: %s", m[2])
	e.Item, e.Account = accountAt(p.data, line)
	return e
}

// accountAt guesses which account of data the line is in, for an error
// of the YAML parser at that line: it parses the lines before it and
// looks at the indentation of the line itself. It returns 0 and "" when
// it cannot tell, the account's position and its name ("" when unknown)
// when it can.
func accountAt(data []byte, line int) (item int, name string) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if line < 2 || line > len(lines) {
		return 0, ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(bytes.Join(lines[:line-1], nil), &doc) != nil || len(doc.Content) != 1 {
		return 0, ""
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return 0, ""
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "accounts" {
			list = root.Content[i+1]
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode || list.Style&yaml.FlowStyle != 0 || len(list.Content) == 0 {
		return 0, ""
	}
	text := lines[line-1]
	col := len(text) - len(bytes.TrimLeft(text, " ")) + 1
	switch {
	case col > list.Column:
		// Inside the last item.
		last := resolve(list.Content[len(list.Content)-1])
		if last.Kind == yaml.MappingNode {
			name = rawName(last)
		}
		return len(list.Content), name
	case col == list.Column && bytes.HasPrefix(bytes.TrimLeft(text, " "), []byte("-")):
		return len(list.Content) + 1, "" // a new item
	}
	return 0, ""
}

// entry is one key and its value in a mapping.
type entry struct{ key, val *yaml.Node }

// problem is an error at a line, before the account it is in is known.
type problem struct {
	line int
	msg  string
}

func problemf(line int, format string, args ...any) *problem {
	return &problem{line: line, msg: fmt.Sprintf(format, args...)}
}

// maxMergeDepth bounds merge keys (<<) within merged mappings; an anchor
// may even contain itself.
const maxMergeDepth = 8

// maxMergeWork bounds the keys one mapping's merge keys may visit: a few
// anchors that each merge the next several times would otherwise visit
// an exponential number.
const maxMergeWork = 10000

// entries returns the keys and values of the mapping n in order, the
// entries of merge keys (<<: *anchor) after those written out, which
// win. A key given twice, or one that is not a plain scalar, is a problem.
func entries(n *yaml.Node) ([]entry, *problem) {
	m := merger{seen: map[string]int{}, work: maxMergeWork}
	if p := m.collect(n, 0); p != nil {
		return nil, p
	}
	return m.out, nil
}

// merger collects the entries of one mapping.
type merger struct {
	out  []entry
	seen map[string]int // key -> line
	work int            // keys left to visit
}

func (m *merger) collect(n *yaml.Node, depth int) *problem {
	if depth > maxMergeDepth {
		return problemf(n.Line, "merge keys (<<) nested more than %d deep", maxMergeDepth)
	}
	if m.work -= len(n.Content)/2 + 1; m.work < 0 {
		return problemf(n.Line, "merge keys (<<) merge more than %d keys", maxMergeWork)
	}
	var merges []*yaml.Node
	own := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return problemf(k.Line, "want a plain key, got %s", describe(k))
		}
		if first, ok := own[k.Value]; ok {
			return problemf(k.Line, "key %s given twice (first at line %d)", quote(k.Value), first)
		}
		own[k.Value] = k.Line
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, ok := m.seen[k.Value]; ok {
			continue // a merge of an outer mapping: the outer key wins
		}
		m.seen[k.Value] = k.Line
		m.out = append(m.out, entry{k, v})
	}
	for _, v := range merges {
		v = resolve(v)
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, s := range srcs {
			s = resolve(s)
			if s.Kind != yaml.MappingNode {
				return problemf(s.Line, "merge key (<<): want a mapping, got %s", describe(s))
			}
			if p := m.collect(s, depth+1); p != nil {
				return p
			}
		}
	}
	return nil
}

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "want X, got Y".
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "no value"
		case "!!str":
			return "the string " + quote(n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + quote(n.Value)
		}
		return "the value " + quote(n.Value)
	}
	return "something else"
}

// maxQuote bounds the text an error quotes from the file.
const maxQuote = 64

// quote returns s quoted on one line, cut to maxQuote bytes.
func quote(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	cut := maxQuote
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
