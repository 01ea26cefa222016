package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; an error is one line that starts with
// the file's name and is an *Error; a file it accepts has valid, unique
// account names and one credential source each.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		role,
		role + "  - name: b: c\n",
		"accounts:\n  - &a {name: a, server_role: true, labels: &l {x: y}}\n  - <<: *a\n    name: b\n    labels: *l\n",
		"accounts:\n  - name: a\n    <<: &x {<<: *x}\n",
		"accounts:\n  - name: k\n    access_key_file: ak\n    secret_key_file: /sk\n    workspaces: [abc]\n    project_include: '.*'\n    rate_limit: 1\n    rate_burst: 2\n    concurrency: 3\n    status_rate: 4\n    api_url: https://h/p\n",
		"accounts:\n  - name: c\n    ncloud_configure: /c\n    profile: p\n  - name: e\n    access_key_env: A\n    secret_key_env: B\n",
		"accounts: [{name: a, server_role: true}]\n---\n",
		"a: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("c.yml", data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "c.yml:") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error not one line prefixed with the file: %q", msg)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %#v", err)
			}
			return
		}
		if len(file.Accounts) == 0 || len(file.Accounts) > MaxAccounts {
			t.Fatalf("%d accounts", len(file.Accounts))
		}
		seen := map[string]bool{}
		for _, a := range file.Accounts {
			if !validName.MatchString(a.Name) || seen[a.Name] {
				t.Fatalf("name %q invalid or repeated", a.Name)
			}
			seen[a.Name] = true
			if a.Source.Kind < KeyFiles || a.Source.Kind > Env || a.Line < 1 {
				t.Fatalf("account %q: source %v, line %d", a.Name, a.Source.Kind, a.Line)
			}
		}
	})
}
