package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/mediaintel/mediaintel_exporter/client"
)

var (
	validName      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	validEnvName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	validLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Bounds on single values.
const (
	maxPathBytes    = 4096
	maxProfileBytes = 256
	maxLabelName    = 128
)

// credKeys are the keys of the credential sources, in the order an error
// names them.
var credKeys = []string{
	"access_key_file", "secret_key_file",
	"ncloud_configure", "profile",
	"server_role",
	"access_key_env", "secret_key_env",
}

// kindOf is the source each credential key belongs to.
var kindOf = map[string]SourceKind{
	"access_key_file": KeyFiles, "secret_key_file": KeyFiles,
	"ncloud_configure": Configure, "profile": Configure,
	"server_role":    ServerRole,
	"access_key_env": Env, "secret_key_env": Env,
}

// accountKeys are the keys an account may have.
var accountKeys = map[string]bool{
	"name": true, "access_key_file": true, "secret_key_file": true,
	"ncloud_configure": true, "profile": true, "server_role": true,
	"access_key_env": true, "secret_key_env": true,
	"api_url": true, "workspaces": true, "project_include": true,
	"project_exclude": true, "count_only": true, "rate_limit": true,
	"rate_burst": true, "concurrency": true, "status_rate": true,
	"labels": true,
}

// accountParser collects one account.
type accountParser struct {
	*parser
	a    Account
	item int
	// cred holds the credential keys given: the line of each and its value.
	cred map[string]credValue
}

type credValue struct {
	line  int
	value string
	on    bool // server_role
}

// fail returns an *Error at line in this account.
func (ap *accountParser) fail(line int, format string, args ...any) *Error {
	return &Error{File: ap.path, Line: line, Account: ap.a.Name, Item: ap.item, Err: fmt.Errorf(format, args...)}
}

// account parses the item'th list item n.
func (p *parser) account(n *yaml.Node, item int) (Account, error) {
	ap := &accountParser{parser: p, item: item, cred: map[string]credValue{}}
	ap.a.Line = n.Line
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return Account{}, ap.fail(ap.a.Line, "want a mapping with name and a credential source, got %s", describe(n))
	}
	ents, perr := entries(n)
	if perr != nil {
		ap.a.Name = rawName(n)
		return Account{}, ap.fail(perr.line, "%s", perr.msg)
	}
	// The name first, so that every other error can name the account.
	named := false
	for _, e := range ents {
		if e.key.Value != "name" {
			continue
		}
		s, err := ap.str(e)
		if err != nil {
			return Account{}, err
		}
		if !validName.MatchString(s) {
			return Account{}, ap.fail(e.key.Line, "name %s: want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", quote(s))
		}
		ap.a.Name, named = s, true
	}
	if !named {
		return Account{}, ap.fail(ap.a.Line, "no name")
	}
	for _, e := range ents {
		if err := ap.setting(e); err != nil {
			return Account{}, err
		}
	}
	if err := ap.source(); err != nil {
		return Account{}, err
	}
	return ap.a, nil
}

// rawName is the first valid name written in the mapping n, to name the
// account in an error found before its name is read; "" when none.
func rawName(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; n.Content[i].Value == "name" && v.Kind == yaml.ScalarNode && validName.MatchString(v.Value) {
			return v.Value
		}
	}
	return ""
}

// setting takes one key of the account.
func (ap *accountParser) setting(e entry) error {
	a := &ap.a
	var err error
	switch k := e.key.Value; k {
	case "name":
	case "access_key_file", "secret_key_file", "ncloud_configure":
		var s string
		if s, err = ap.filePath(e); err == nil {
			ap.cred[k] = credValue{line: e.key.Line, value: s}
		}
	case "access_key_env", "secret_key_env":
		var s string
		if s, err = ap.str(e); err == nil && !validEnvName.MatchString(s) {
			err = ap.fail(e.key.Line, "%s: want the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)", k)
		}
		if err == nil {
			ap.cred[k] = credValue{line: e.key.Line, value: s}
		}
	case "profile":
		var s string
		if s, err = ap.str(e); err == nil && (len(s) > maxProfileBytes || strings.ContainsAny(s, "[]") || hasControl(s) || strings.TrimSpace(s) != s) {
			err = ap.fail(e.key.Line, "profile: want a section name of the configure file, without brackets")
		}
		if err == nil {
			ap.cred[k] = credValue{line: e.key.Line, value: s}
		}
	case "server_role":
		v := resolve(e.val)
		var on bool
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&on) != nil {
			return ap.fail(e.key.Line, "server_role: want true or false, got %s", describe(v))
		}
		ap.cred[k] = credValue{line: e.key.Line, on: on}
	case "api_url":
		var s string
		if s, err = ap.str(e); err == nil {
			if err = ap.checkURL(e, s); err == nil {
				a.APIURL = &s
			}
		}
	case "workspaces":
		a.Workspaces, err = ap.workspaces(e)
	case "project_include":
		a.ProjectInclude, err = ap.regexp(e)
	case "project_exclude":
		a.ProjectExclude, err = ap.regexp(e)
	case "count_only":
		a.CountOnly, err = ap.regexp(e)
	case "rate_limit":
		a.RateLimit, err = ap.float(e, 0, true, "0 (no limit) or more")
	case "status_rate":
		a.StatusRate, err = ap.float(e, 0, false, "more than 0")
	case "rate_burst":
		a.RateBurst, err = ap.int(e, 1, math.MaxInt32, fmt.Sprintf("1 to %d", math.MaxInt32))
	case "concurrency":
		a.Concurrency, err = ap.int(e, 1, MaxConcurrency, fmt.Sprintf("1 to %d", MaxConcurrency))
	case "labels":
		a.Labels, err = ap.labels(e)
	default:
		hint := ""
		if alt := strings.ReplaceAll(k, "-", "_"); accountKeys[alt] {
			hint = " (did you mean " + alt + "?)"
		}
		err = ap.fail(e.key.Line, "unknown key %s%s", quote(k), hint)
	}
	return err
}

// source picks the account's one credential source from the keys given.
func (ap *accountParser) source() error {
	// Each source given, at the line of its first key, in file order.
	type given struct {
		kind SourceKind
		key  string
		line int
	}
	var srcs []given
	for _, k := range credKeys {
		c, ok := ap.cred[k]
		kind := kindOf[k]
		if !ok || kind == ServerRole && !c.on {
			continue
		}
		if n := len(srcs); n > 0 && srcs[n-1].kind == kind {
			if c.line < srcs[n-1].line {
				srcs[n-1].key, srcs[n-1].line = k, c.line
			}
			continue
		}
		srcs = append(srcs, given{kind, k, c.line})
	}
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].line < srcs[j].line })
	kinds := make([]SourceKind, len(srcs))
	named := make([]string, len(srcs))
	for i, g := range srcs {
		kinds[i] = g.kind
		named[i] = fmt.Sprintf("%s (line %d)", g.key, g.line)
	}
	switch len(kinds) {
	case 0:
		line, why := ap.a.Line, ""
		if c, ok := ap.cred["server_role"]; ok {
			line, why = c.line, " (server_role: false is none)"
		}
		return ap.fail(line, "no credential source%s: give access_key_file and secret_key_file, ncloud_configure, server_role: true, or access_key_env and secret_key_env", why)
	case 1:
	default:
		return ap.fail(srcs[1].line, "more than one credential source: %s and %s; give exactly one",
			strings.Join(named[:len(named)-1], ", "), named[len(named)-1])
	}
	s := &ap.a.Source
	s.Kind = kinds[0]
	pair := func(a, b string) (string, string, error) {
		ca, okA := ap.cred[a]
		cb, okB := ap.cred[b]
		switch {
		case !okB:
			return "", "", ap.fail(ca.line, "%s without %s", a, b)
		case !okA:
			return "", "", ap.fail(cb.line, "%s without %s", b, a)
		}
		return ca.value, cb.value, nil
	}
	var err error
	switch s.Kind {
	case KeyFiles:
		s.AccessKeyFile, s.SecretKeyFile, err = pair("access_key_file", "secret_key_file")
	case Env:
		s.AccessKeyEnv, s.SecretKeyEnv, err = pair("access_key_env", "secret_key_env")
	case Configure:
		c, ok := ap.cred["ncloud_configure"]
		if !ok {
			return ap.fail(ap.cred["profile"].line, "profile without ncloud_configure")
		}
		s.Configure, s.Profile = c.value, ap.cred["profile"].value
	}
	return err
}

// str returns e's value as a string: any scalar but null, not empty. Its
// errors never quote the value, which may be mistaken for a key.
func (ap *accountParser) str(e entry) (string, error) {
	v := resolve(e.val)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		return "", ap.fail(e.key.Line, "%s: want a string, got %s", e.key.Value, describe(v))
	}
	if v.Value == "" {
		return "", ap.fail(e.key.Line, "%s: empty; leave the key out instead", e.key.Value)
	}
	if !utf8.ValidString(v.Value) {
		return "", ap.fail(e.key.Line, "%s: not valid UTF-8", e.key.Value)
	}
	return v.Value, nil
}

// filePath returns e's value as a path: cleaned, and taken from the folder of
// the configuration file when relative.
func (ap *accountParser) filePath(e entry) (string, error) {
	s, err := ap.str(e)
	if err != nil {
		return "", err
	}
	switch {
	case len(s) > maxPathBytes:
		return "", ap.fail(e.key.Line, "%s: longer than %d bytes", e.key.Value, maxPathBytes)
	case strings.ContainsRune(s, 0):
		return "", ap.fail(e.key.Line, "%s: holds a NUL byte", e.key.Value)
	case strings.HasPrefix(s, "~"):
		return "", ap.fail(e.key.Line, "%s: ~ is not expanded; give an absolute path", e.key.Value)
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(filepath.Dir(ap.path), s)
	}
	return filepath.Clean(s), nil
}

// checkURL applies the client's rules for its base URL: http or https, a
// host, an optional path prefix, nothing else. A user or password is
// refused too: the file holds no secret. The value is never quoted.
func (ap *accountParser) checkURL(e entry, s string) error {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.RawQuery != "", u.Fragment != "", u.Opaque != "", u.ForceQuery:
		return ap.fail(e.key.Line, "api_url: want http(s)://host[:port][/prefix], without a query or fragment")
	case u.User != nil:
		return ap.fail(e.key.Line, "api_url: holds a user or password; the file holds no secret")
	}
	return nil
}

// workspaces returns e's value as a list of workspace names.
func (ap *accountParser) workspaces(e entry) ([]string, error) {
	v := resolve(e.val)
	if v.Kind != yaml.SequenceNode {
		return nil, ap.fail(e.key.Line, "workspaces: want a list of workspace names, got %s", describe(v))
	}
	if len(v.Content) == 0 {
		return nil, ap.fail(e.key.Line, "workspaces: empty; leave the key out for --mi.workspace (default: every workspace)")
	}
	if len(v.Content) > MaxWorkspaces {
		return nil, ap.fail(v.Content[MaxWorkspaces].Line, "workspaces: more than %d", MaxWorkspaces)
	}
	out := make([]string, 0, len(v.Content))
	first := map[string]int{}
	for _, w := range v.Content {
		w = resolve(w)
		if w.Kind != yaml.ScalarNode || isNull(w) || !client.ValidWorkspaceName(w.Value) {
			return nil, ap.fail(w.Line, "workspaces: %s is not a workspace name (3-63 characters of a-z, 0-9 and '-')", describe(w))
		}
		if l, ok := first[w.Value]; ok {
			return nil, ap.fail(w.Line, "workspaces: %s listed twice (first at line %d)", quote(w.Value), l)
		}
		first[w.Value] = w.Line
		out = append(out, w.Value)
	}
	return out, nil
}

// regexp returns e's value as a regular expression that compiles, alone
// and anchored like the flags' (^(?:EXPR)$). "" is allowed: no filter.
func (ap *accountParser) regexp(e entry) (*string, error) {
	v := resolve(e.val)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		return nil, ap.fail(e.key.Line, "%s: want a regular expression, got %s", e.key.Value, describe(v))
	}
	s := v.Value
	// The expression alone first: "a)|(b" compiles once anchored, but
	// not as one expression.
	_, err := regexp.Compile(s)
	if err == nil {
		_, err = regexp.Compile("^(?:" + s + ")$")
	}
	if err != nil {
		why := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			why = se.Code.String()
		}
		return nil, ap.fail(e.key.Line, "%s: %s is not a valid regular expression: %s", e.key.Value, quote(s), why)
	}
	return &s, nil
}

// float returns e's value as a finite number above min (or at min when
// orEqual).
func (ap *accountParser) float(e entry, low float64, orEqual bool, want string) (*float64, error) {
	v := resolve(e.val)
	var f float64
	tag := v.ShortTag()
	if v.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || v.Decode(&f) != nil ||
		math.IsNaN(f) || math.IsInf(f, 0) || f < low || f == low && !orEqual {
		return nil, ap.fail(e.key.Line, "%s: want a number, %s; got %s", e.key.Value, want, describe(v))
	}
	return &f, nil
}

// int returns e's value as an integer in [low, high].
func (ap *accountParser) int(e entry, low, high int, want string) (*int, error) {
	v := resolve(e.val)
	var i int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&i) != nil || i < low || i > high {
		return nil, ap.fail(e.key.Line, "%s: want an integer, %s; got %s", e.key.Value, want, describe(v))
	}
	return &i, nil
}

// labels returns e's value as a map of static labels.
func (ap *accountParser) labels(e entry) (map[string]string, error) {
	v := resolve(e.val)
	if v.Kind != yaml.MappingNode {
		return nil, ap.fail(e.key.Line, "labels: want a mapping of label names to values, got %s", describe(v))
	}
	ents, perr := entries(v)
	if perr != nil {
		return nil, ap.fail(perr.line, "labels: %s", perr.msg)
	}
	if len(ents) > MaxLabels {
		return nil, ap.fail(ents[MaxLabels].key.Line, "labels: more than %d", MaxLabels)
	}
	out := make(map[string]string, len(ents))
	for _, l := range ents {
		name := l.key.Value
		switch {
		case len(name) > maxLabelName || !validLabelName.MatchString(name):
			return nil, ap.fail(l.key.Line, "labels: %s is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, at most %d characters)", quote(name), maxLabelName)
		case strings.HasPrefix(name, "__"):
			return nil, ap.fail(l.key.Line, "labels: %s: names starting with __ are reserved", quote(name))
		case name == "account":
			return nil, ap.fail(l.key.Line, "labels: \"account\" is the account's name, set by the exporter")
		}
		val := resolve(l.val)
		switch {
		case val.Kind != yaml.ScalarNode || isNull(val):
			return nil, ap.fail(l.key.Line, "labels: %s: want a value, got %s", name, describe(val))
		case val.Value == "":
			return nil, ap.fail(l.key.Line, "labels: %s: empty (an empty value is no label)", name)
		case !utf8.ValidString(val.Value):
			return nil, ap.fail(l.key.Line, "labels: %s: not valid UTF-8", name)
		case len(val.Value) > MaxLabelValueBytes:
			return nil, ap.fail(l.key.Line, "labels: %s: longer than %d bytes", name, MaxLabelValueBytes)
		}
		out[name] = val.Value
	}
	return out, nil
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
