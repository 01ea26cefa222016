// Package config reads the exporter's configuration file (--config.file):
// the accounts to scrape, where each one's credentials are, and the
// settings an account takes instead of the flags'. docs/configuration.md
// describes the schema.
//
// The package only reads and validates. It resolves no credential and
// opens no key file: the file holds no secret, only where secrets are.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
)

// Bounds on a configuration file.
const (
	// MaxFileBytes is the largest file Load and Parse accept.
	MaxFileBytes = 1 << 20
	// MaxAccounts is the most accounts one file may list.
	MaxAccounts = 256
	// MaxConcurrency is the largest concurrency an account may ask for.
	MaxConcurrency = 256
	// MaxWorkspaces is the most workspaces one account may list.
	MaxWorkspaces = 256
	// MaxLabels is the most static labels one account may carry.
	MaxLabels = 32
	// MaxLabelValueBytes is the longest label value, in bytes.
	MaxLabelValueBytes = 1024
)

// File is a parsed configuration file.
type File struct {
	// Path is the file's name as given to Load or Parse.
	Path string
	// Accounts in file order; never empty, names unique.
	Accounts []Account
}

// Account is one entry of the accounts list.
//
// Each optional setting is nil when the file does not set it: the exporter
// then takes the value of the corresponding flag (docs/configuration.md).
type Account struct {
	// Name is unique in the file and matches [a-z0-9][a-z0-9_-]{0,62}.
	Name string
	// Line is the line of the account's list item.
	Line int
	// Source says where the account's credentials are.
	Source Source

	// APIURL (api_url): http(s)://host[:port][/prefix].
	APIURL *string
	// Workspaces (workspaces): valid workspace names, at least one, no
	// repeats; nil when unset.
	Workspaces []string
	// ProjectInclude, ProjectExclude and CountOnly (project_include,
	// project_exclude, count_only) are regular expressions as written,
	// matched like the flags (anchored: ^(?:EXPR)$); each compiles. ""
	// is no filter, as for the flags.
	ProjectInclude *string
	ProjectExclude *string
	CountOnly      *string
	// RateLimit (rate_limit): requests per second, 0 for no limit.
	RateLimit *float64
	// RateBurst (rate_burst): at least 1.
	RateBurst *int
	// Concurrency (concurrency): 1 to MaxConcurrency.
	Concurrency *int
	// StatusRate (status_rate): status requests per second, more than 0.
	StatusRate *float64
	// Labels (labels): static labels of ncp_mediaintel_account_info; nil
	// when unset.
	Labels map[string]string
}

// SourceKind names a kind of credential source.
type SourceKind int

// The credential sources; an account has exactly one.
const (
	// KeyFiles: access_key_file and secret_key_file.
	KeyFiles SourceKind = iota + 1
	// Configure: ncloud_configure, the NCP CLI's configure file, and an
	// optional profile.
	Configure
	// ServerRole: server_role: true, the temporary keys of the role of the
	// server the exporter runs on, from its metadata service.
	ServerRole
	// Env: access_key_env and secret_key_env, names of environment
	// variables.
	Env
)

// String returns the key that selects the kind in a file.
func (k SourceKind) String() string {
	switch k {
	case KeyFiles:
		return "access_key_file"
	case Configure:
		return "ncloud_configure"
	case ServerRole:
		return "server_role"
	case Env:
		return "access_key_env"
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// Source is where an account's credentials are. Only the fields of its
// Kind are set. Paths are cleaned, and a relative path is taken from the
// folder of the configuration file.
type Source struct {
	Kind SourceKind
	// KeyFiles: files holding the access key and the secret key.
	AccessKeyFile string
	SecretKeyFile string
	// Configure: the NCP CLI's configure file, and its [section] (""
	// when unset: DEFAULT, or the whole file when it has no sections).
	Configure string
	Profile   string
	// Env: names of the environment variables holding the keys.
	AccessKeyEnv string
	SecretKeyEnv string
}

// Error is what Load and Parse return for a file they refuse: it names
// the file, the line and the account where that applies. Its message is
// one line and holds no credential value.
type Error struct {
	File string
	// Line is 1-based; 0 when no line applies.
	Line int
	// Account is the account's name, "" when the error is outside an
	// account or the account has no valid name.
	Account string
	// Item is the 1-based position of the account in the list, 0 when
	// the error is outside an account.
	Item int
	// Err is the cause.
	Err error
}

// Error returns "FILE:LINE: account "NAME": cause", leaving out what does
// not apply.
func (e *Error) Error() string {
	var b bytes.Buffer
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	switch {
	case e.Account != "":
		fmt.Fprintf(&b, "account %q: ", e.Account)
	case e.Item > 0:
		fmt.Fprintf(&b, "account #%d: ", e.Item)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Load reads and parses the file at path. A file that cannot be read, is
// not a regular file or is larger than MaxFileBytes is an error.
func Load(path string) (*File, error) {
	fail := func(err error) (*File, error) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("cannot %s: %w", pe.Op, pe.Err) // the path is already in front
		}
		return nil, &Error{File: path, Err: err}
	}
	// A FIFO or a device would block or never end: ask before opening.
	fi, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	f, err := os.Open(path) //nolint:gosec // G304: reading the file the operator named is the point
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return fail(err)
	}
	return Parse(path, data)
}

// Parse parses data, the contents of the file at path; path names the
// file in errors and is where relative paths in it are taken from.
func Parse(path string, data []byte) (*File, error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{File: path, Err: fmt.Errorf("larger than %d bytes", MaxFileBytes)}
	}
	p := &parser{path: path, data: data}
	f, err := p.parse()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// LabelNames returns the names of the static labels of all accounts,
// sorted, each once: an account_info metric carries them all, with ""
// for an account that does not set one.
func (f *File) LabelNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, a := range f.Accounts {
		for n := range a.Labels {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}
