package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
)

func ptr[T any](v T) *T { return &v }

// role is an account that needs nothing else, for files about other keys.
const role = "accounts:\n  - name: a\n    server_role: true\n"

func TestParseGood(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []Account
	}{
		{
			name: "four sources",
			yaml: `# the issue's example
accounts:
  - name: prod
    access_key_file: /run/secrets/prod/access-key
    secret_key_file: /run/secrets/prod/secret-key
  - name: lab
    ncloud_configure: /home/me/.ncloud/configure
    profile: lab
  - name: on-vm
    server_role: true
  - name: ci
    access_key_env: CI_NCP_ACCESS_KEY
    secret_key_env: CI_NCP_SECRET_KEY
`,
			want: []Account{
				{Name: "prod", Line: 3, Source: Source{Kind: KeyFiles, AccessKeyFile: "/run/secrets/prod/access-key", SecretKeyFile: "/run/secrets/prod/secret-key"}},
				{Name: "lab", Line: 6, Source: Source{Kind: Configure, Configure: "/home/me/.ncloud/configure", Profile: "lab"}},
				{Name: "on-vm", Line: 9, Source: Source{Kind: ServerRole}},
				{Name: "ci", Line: 11, Source: Source{Kind: Env, AccessKeyEnv: "CI_NCP_ACCESS_KEY", SecretKeyEnv: "CI_NCP_SECRET_KEY"}},
			},
		},
		{
			name: "configure without profile; relative paths from the file's folder",
			yaml: `accounts:
  - name: lab
    ncloud_configure: ncloud/configure
  - name: k
    access_key_file: ./keys/../keys/ak
    secret_key_file: sk
`,
			want: []Account{
				{Name: "lab", Line: 2, Source: Source{Kind: Configure, Configure: "/etc/mi/ncloud/configure"}},
				{Name: "k", Line: 4, Source: Source{Kind: KeyFiles, AccessKeyFile: "/etc/mi/keys/ak", SecretKeyFile: "/etc/mi/sk"}},
			},
		},
		{
			name: "server_role false beside another source",
			yaml: "accounts:\n  - name: x\n    server_role: false\n    access_key_env: A\n    secret_key_env: B\n",
			want: []Account{{Name: "x", Line: 2, Source: Source{Kind: Env, AccessKeyEnv: "A", SecretKeyEnv: "B"}}},
		},
		{
			name: "flow style, names of digits",
			yaml: "accounts: [{name: 0, server_role: true}, {name: 1_a-, server_role: true}]",
			want: []Account{{Name: "0", Line: 1, Source: Source{Kind: ServerRole}}, {Name: "1_a-", Line: 1, Source: Source{Kind: ServerRole}}},
		},
		{
			name: "empty filters, count_only everything",
			yaml: role + "    project_include: ''\n    project_exclude: \"\"\n    count_only: .*\n",
			want: []Account{{Name: "a", Line: 2, Source: Source{Kind: ServerRole}, ProjectInclude: ptr(""), ProjectExclude: ptr(""), CountOnly: ptr(".*")}},
		},
		{
			name: "zero rate limit, integers as numbers",
			yaml: role + "    rate_limit: 0\n    status_rate: 2\n    rate_burst: 0x10\n",
			want: []Account{{Name: "a", Line: 2, Source: Source{Kind: ServerRole}, RateLimit: ptr(0.0), StatusRate: ptr(2.0), RateBurst: ptr(16)}},
		},
		{
			name: "anchors, aliases and merge keys",
			yaml: `accounts:
  - &base
    name: a
    server_role: true
    rate_limit: 2
    labels: &team {team: video, tier: 1}
  - <<: *base
    name: b
    rate_limit: 3
  - <<: [{concurrency: 2}, *base]
    name: c
    labels: *team
`,
			want: []Account{
				{Name: "a", Line: 2, Source: Source{Kind: ServerRole}, RateLimit: ptr(2.0), Labels: map[string]string{"team": "video", "tier": "1"}},
				{Name: "b", Line: 7, Source: Source{Kind: ServerRole}, RateLimit: ptr(3.0), Labels: map[string]string{"team": "video", "tier": "1"}},
				{Name: "c", Line: 10, Source: Source{Kind: ServerRole}, RateLimit: ptr(2.0), Concurrency: ptr(2), Labels: map[string]string{"team": "video", "tier": "1"}},
			},
		},
		{
			name: "api_url forms",
			yaml: "accounts:\n" +
				"  - {name: a, server_role: true, api_url: 'https://mi.apigw.ntruss.com'}\n" +
				"  - {name: b, server_role: true, api_url: 'http://127.0.0.1:8080/prefix/'}\n",
			want: []Account{
				{Name: "a", Line: 2, Source: Source{Kind: ServerRole}, APIURL: ptr("https://mi.apigw.ntruss.com")},
				{Name: "b", Line: 3, Source: Source{Kind: ServerRole}, APIURL: ptr("http://127.0.0.1:8080/prefix/")},
			},
		},
		{
			name: "empty labels",
			yaml: role + "    labels: {}\n",
			want: []Account{{Name: "a", Line: 2, Source: Source{Kind: ServerRole}, Labels: map[string]string{}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("/etc/mi/config.yml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if f.Path != "/etc/mi/config.yml" {
				t.Errorf("Path = %q", f.Path)
			}
			if !reflect.DeepEqual(f.Accounts, tc.want) {
				t.Errorf("accounts:\n got %s\nwant %s", dump(f.Accounts), dump(tc.want))
			}
		})
	}
}

// dump prints accounts with the values behind their pointers.
func dump(as []Account) string {
	var b strings.Builder
	for _, a := range as {
		v := reflect.ValueOf(a)
		b.WriteString("\n  {")
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() == reflect.Pointer && !f.IsNil() {
				f = f.Elem()
			}
			fmt.Fprintf(&b, "%s:%+v ", v.Type().Field(i).Name, f)
		}
		b.WriteString("}")
	}
	return b.String()
}

// TestParseEveryField sets every key of an account and checks that each
// field of Account comes out set: a new field that Parse does not fill
// fails here.
func TestParseEveryField(t *testing.T) {
	const file = `accounts:
  - name: full
    access_key_file: /k/ak
    secret_key_file: /k/sk
    api_url: https://mi.example.com/v1
    workspaces: [media-prod, media-lab]
    project_include: 'news-.*|[0-9]+'
    project_exclude: news-test
    count_only: archive-.*
    rate_limit: 2.5
    rate_burst: 5
    concurrency: 8
    status_rate: 0.5
    labels:
      team: video
      env: prod
`
	f, err := Parse("c.yml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := Account{
		Name: "full", Line: 2,
		Source:         Source{Kind: KeyFiles, AccessKeyFile: "/k/ak", SecretKeyFile: "/k/sk"},
		APIURL:         ptr("https://mi.example.com/v1"),
		Workspaces:     []string{"media-prod", "media-lab"},
		ProjectInclude: ptr("news-.*|[0-9]+"),
		ProjectExclude: ptr("news-test"),
		CountOnly:      ptr("archive-.*"),
		RateLimit:      ptr(2.5),
		RateBurst:      ptr(5),
		Concurrency:    ptr(8),
		StatusRate:     ptr(0.5),
		Labels:         map[string]string{"team": "video", "env": "prod"},
	}
	if len(f.Accounts) != 1 || !reflect.DeepEqual(f.Accounts[0], want) {
		t.Fatalf("got %s\nwant %s", dump(f.Accounts), dump([]Account{want}))
	}
	v := reflect.ValueOf(f.Accounts[0])
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("field %s is not set by any key", v.Type().Field(i).Name)
		}
	}
}

func TestParseBad(t *testing.T) {
	long := strings.Repeat("x", 1025)
	var many strings.Builder
	many.WriteString("accounts:\n")
	for i := range MaxAccounts + 1 {
		fmt.Fprintf(&many, "  - {name: a%d, server_role: true}\n", i)
	}
	var manyLabels, manyWS strings.Builder
	for i := range MaxLabels + 1 {
		fmt.Fprintf(&manyLabels, "      l%d: v\n", i)
	}
	for i := range MaxWorkspaces + 1 {
		fmt.Fprintf(&manyWS, "      - ws-%d\n", i)
	}
	// Anchors that each merge the one before ten times: 10^7 keys.
	var bomb strings.Builder
	for i := 1; i <= 7; i++ {
		fmt.Fprintf(&bomb, "    x%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		// The file as a whole.
		{"empty", "", `c.yml: empty: want a mapping with the key accounts`},
		{"only comments", "# nothing\n", `c.yml: empty: want a mapping with the key accounts`},
		{"not YAML", "accounts:\n  - name: a\n    server_role: true\n  - name: b\n    access_key_file: x: y\n", `c.yml:5: account "b": not valid YAML: mapping values are not allowed in this context`},
		{"not YAML, new item", role + "  - name: b: c\n", `c.yml:4: account #2: not valid YAML: mapping values are not allowed in this context`},
		{"not YAML, outside accounts", role + "x: y: z\n", `c.yml:4: not valid YAML: mapping values are not allowed in this context`},
		{"not YAML, first line", "accounts: [\n", `c.yml:1: not valid YAML: did not find expected node content`},
		{"not UTF-8", "accounts: \xff\n", `c.yml: not valid YAML: invalid leading UTF-8 octet`},
		{"tab", role + "\tconcurrency: 2\n", `c.yml:3: account "a": not valid YAML: found a tab character that violates indentation`},
		{"two documents", role + "---\n" + role, `c.yml:4: a second YAML document: the file holds one`},
		{"not a mapping", "- a\n", `c.yml:1: want a mapping with the key accounts, got a list`},
		{"a string", "accounts\n", `c.yml:1: want a mapping with the key accounts, got the string "accounts"`},
		{"unknown top-level key", role + "scrape_interval: 1m\n", `c.yml:4: unknown top-level key "scrape_interval" (the only one is accounts)`},
		{"top-level key twice", role + "accounts: []\n", `c.yml:4: key "accounts" given twice (first at line 1)`},
		{"no accounts", "{}\n", `c.yml: no accounts: give at least one`},
		{"accounts null", "accounts:\n", `c.yml:1: accounts: empty: give at least one`},
		{"accounts empty", "accounts: []\n", `c.yml:1: accounts: empty: give at least one`},
		{"accounts a mapping", "accounts:\n  prod: {}\n", `c.yml:1: accounts: want a list of accounts, got a mapping`},
		{"too many accounts", many.String(), fmt.Sprintf(`c.yml:%d: accounts: more than %d`, MaxAccounts+2, MaxAccounts)},

		// An account's shape and name.
		{"account a string", "accounts:\n  - prod\n", `c.yml:2: account #1: want a mapping with name and a credential source, got the string "prod"`},
		{"no name", "accounts:\n  - server_role: true\n", `c.yml:2: account #1: no name`},
		{"empty name", "accounts:\n  - name: ''\n    server_role: true\n", `c.yml:2: account #1: name: empty; leave the key out instead`},
		{"null name", "accounts:\n  - name:\n    server_role: true\n", `c.yml:2: account #1: name: want a string, got no value`},
		{"name a list", "accounts:\n  - name: [a]\n    server_role: true\n", `c.yml:2: account #1: name: want a string, got a list`},
		{"upper-case name", "accounts:\n  - name: Prod\n    server_role: true\n", `c.yml:2: account #1: name "Prod": want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`},
		{"name starts with -", "accounts:\n  - name: -x\n    server_role: true\n", `c.yml:2: account #1: name "-x": want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`},
		{"name too long", "accounts:\n  - name: " + strings.Repeat("a", 64) + "\n    server_role: true\n", `c.yml:2: account #1: name "` + strings.Repeat("a", 64) + `": want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`},
		{"duplicate name", role + "  - name: b\n    server_role: true\n  - name: a\n    server_role: true\n", `c.yml:6: account "a": name already used by the account at line 2`},
		{"duplicate key", role + "    server_role: false\n", `c.yml:4: account "a": key "server_role" given twice (first at line 3)`},
		{"duplicate name key", "accounts:\n  - name: a\n    name: b\n", `c.yml:3: account "a": key "name" given twice (first at line 2)`},
		{"unknown account key", role + "    secret_key: x\n", `c.yml:4: account "a": unknown key "secret_key"`},
		{"flag spelling", role + "    rate-limit: 2\n", `c.yml:4: account "a": unknown key "rate-limit" (did you mean rate_limit?)`},
		{"non-scalar key", role + "    ? [x]\n    : y\n", `c.yml:4: account "a": want a plain key, got a list`},
		{"merge of a list", "accounts:\n  - name: a\n    <<: [1]\n", `c.yml:3: account "a": merge key (<<): want a mapping, got the number "1"`},
		{"merge bomb", "accounts:\n  - name: a\n    server_role: true\n    x: &a0 {k: v}\n" + bomb.String() + "    <<: *a7\n", `c.yml:4: account "a": merge keys (<<) merge more than 10000 keys`},
		{"merge of itself", "accounts:\n  - name: a\n    <<: &x {<<: *x}\n", `c.yml:3: account "a": merge keys (<<) nested more than 8 deep`},

		// Credential sources.
		{"no source", "accounts:\n  - name: a\n    concurrency: 2\n", `c.yml:2: account "a": no credential source: give access_key_file and secret_key_file, ncloud_configure, server_role: true, or access_key_env and secret_key_env`},
		{"server_role false alone", "accounts:\n  - name: a\n    server_role: false\n", `c.yml:3: account "a": no credential source (server_role: false is none): give access_key_file and secret_key_file, ncloud_configure, server_role: true, or access_key_env and secret_key_env`},
		{"two sources", "accounts:\n  - name: a\n    access_key_file: /ak\n    secret_key_file: /sk\n    ncloud_configure: /c\n", `c.yml:5: account "a": more than one credential source: access_key_file (line 3) and ncloud_configure (line 5); give exactly one`},
		{"two sources, second first", "accounts:\n  - name: a\n    access_key_env: A\n    secret_key_env: B\n    server_role: true\n", `c.yml:5: account "a": more than one credential source: access_key_env (line 3) and server_role (line 5); give exactly one`},
		{"three sources", "accounts:\n  - name: a\n    server_role: true\n    profile: p\n    access_key_env: A\n", `c.yml:4: account "a": more than one credential source: server_role (line 3), profile (line 4) and access_key_env (line 5); give exactly one`},
		{"half key files", "accounts:\n  - name: a\n    access_key_file: /ak\n", `c.yml:3: account "a": access_key_file without secret_key_file`},
		{"other half key files", "accounts:\n  - name: a\n    secret_key_file: /sk\n", `c.yml:3: account "a": secret_key_file without access_key_file`},
		{"half env", "accounts:\n  - name: a\n    access_key_env: A\n", `c.yml:3: account "a": access_key_env without secret_key_env`},
		{"other half env", "accounts:\n  - name: a\n    secret_key_env: B\n", `c.yml:3: account "a": secret_key_env without access_key_env`},
		{"profile alone", "accounts:\n  - name: a\n    profile: lab\n", `c.yml:3: account "a": profile without ncloud_configure`},
		{"empty key file", "accounts:\n  - name: a\n    access_key_file: \"\"\n    secret_key_file: /sk\n", `c.yml:3: account "a": access_key_file: empty; leave the key out instead`},
		{"null key file", "accounts:\n  - name: a\n    access_key_file:\n    secret_key_file: /sk\n", `c.yml:3: account "a": access_key_file: want a string, got no value`},
		{"key file a list", "accounts:\n  - name: a\n    access_key_file: [a]\n    secret_key_file: /sk\n", `c.yml:3: account "a": access_key_file: want a string, got a list`},
		{"tilde", "accounts:\n  - name: a\n    ncloud_configure: ~/.ncloud/configure\n", `c.yml:3: account "a": ncloud_configure: ~ is not expanded; give an absolute path`},
		{"NUL in path", "accounts:\n  - name: a\n    ncloud_configure: \"/x\\0y\"\n", `c.yml:3: account "a": ncloud_configure: holds a NUL byte`},
		{"path too long", "accounts:\n  - name: a\n    ncloud_configure: /" + strings.Repeat("p", 4096) + "\n", `c.yml:3: account "a": ncloud_configure: longer than 4096 bytes`},
		{"env name", "accounts:\n  - name: a\n    access_key_env: 1A\n    secret_key_env: B\n", `c.yml:3: account "a": access_key_env: want the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)`},
		{"profile brackets", "accounts:\n  - name: a\n    ncloud_configure: /c\n    profile: '[lab]'\n", `c.yml:4: account "a": profile: want a section name of the configure file, without brackets`},
		{"server_role a string", "accounts:\n  - name: a\n    server_role: 'true'\n", `c.yml:3: account "a": server_role: want true or false, got the string "true"`},
		{"server_role yes", "accounts:\n  - name: a\n    server_role: yes\n", `c.yml:3: account "a": server_role: want true or false, got the string "yes"`},

		// Optional settings.
		{"api_url ftp", role + "    api_url: ftp://x\n", `c.yml:4: account "a": api_url: want http(s)://host[:port][/prefix], without a query or fragment`},
		{"api_url no host", role + "    api_url: https:///p\n", `c.yml:4: account "a": api_url: want http(s)://host[:port][/prefix], without a query or fragment`},
		{"api_url query", role + "    api_url: https://h/?a=1\n", `c.yml:4: account "a": api_url: want http(s)://host[:port][/prefix], without a query or fragment`},
		{"api_url fragment", role + "    api_url: https://h/#f\n", `c.yml:4: account "a": api_url: want http(s)://host[:port][/prefix], without a query or fragment`},
		{"api_url user", role + "    api_url: https://u:p@h/\n", `c.yml:4: account "a": api_url: holds a user or password; the file holds no secret`},
		{"api_url empty", role + "    api_url: ''\n", `c.yml:4: account "a": api_url: empty; leave the key out instead`},
		{"workspaces a string", role + "    workspaces: media-prod\n", `c.yml:4: account "a": workspaces: want a list of workspace names, got the string "media-prod"`},
		{"workspaces empty", role + "    workspaces: []\n", `c.yml:4: account "a": workspaces: empty; leave the key out for --mi.workspace (default: every workspace)`},
		{"workspace short", role + "    workspaces:\n      - ok-name\n      - ab\n", `c.yml:6: account "a": workspaces: the string "ab" is not a workspace name (3-63 characters of a-z, 0-9 and '-')`},
		{"workspace upper", role + "    workspaces: [Media]\n", `c.yml:4: account "a": workspaces: the string "Media" is not a workspace name (3-63 characters of a-z, 0-9 and '-')`},
		{"workspace null", role + "    workspaces: [~]\n", `c.yml:4: account "a": workspaces: no value is not a workspace name (3-63 characters of a-z, 0-9 and '-')`},
		{"workspace twice", role + "    workspaces:\n      - abc\n      - abc\n", `c.yml:6: account "a": workspaces: "abc" listed twice (first at line 5)`},
		{"too many workspaces", role + "    workspaces:\n" + manyWS.String(), fmt.Sprintf(`c.yml:%d: account "a": workspaces: more than %d`, 5+MaxWorkspaces, MaxWorkspaces)},
		{"bad include", role + "    project_include: '(a'\n", `c.yml:4: account "a": project_include: "(a" is not a valid regular expression: missing closing )`},
		{"escaping the anchor", role + "    project_exclude: 'a)|(b'\n", `c.yml:4: account "a": project_exclude: "a)|(b" is not a valid regular expression: unexpected )`},
		{"bad count_only", role + "    count_only: 'a{2000}'\n", `c.yml:4: account "a": count_only: "a{2000}" is not a valid regular expression: invalid repeat count`},
		{"regexp a list", role + "    count_only: [a]\n", `c.yml:4: account "a": count_only: want a regular expression, got a list`},
		{"regexp null", role + "    count_only:\n", `c.yml:4: account "a": count_only: want a regular expression, got no value`},
		{"negative rate", role + "    rate_limit: -1\n", `c.yml:4: account "a": rate_limit: want a number, 0 (no limit) or more; got the number "-1"`},
		{"NaN rate", role + "    rate_limit: .nan\n", `c.yml:4: account "a": rate_limit: want a number, 0 (no limit) or more; got the number ".nan"`},
		{"infinite rate", role + "    rate_limit: .inf\n", `c.yml:4: account "a": rate_limit: want a number, 0 (no limit) or more; got the number ".inf"`},
		{"rate a string", role + "    rate_limit: fast\n", `c.yml:4: account "a": rate_limit: want a number, 0 (no limit) or more; got the string "fast"`},
		{"rate quoted", role + "    rate_limit: '2'\n", `c.yml:4: account "a": rate_limit: want a number, 0 (no limit) or more; got the string "2"`},
		{"zero status rate", role + "    status_rate: 0\n", `c.yml:4: account "a": status_rate: want a number, more than 0; got the number "0"`},
		{"zero burst", role + "    rate_burst: 0\n", `c.yml:4: account "a": rate_burst: want an integer, 1 to 2147483647; got the number "0"`},
		{"concurrency many", role + "    concurrency: many\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got the string "many"`},
		{"concurrency 0", role + "    concurrency: 0\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got the number "0"`},
		{"concurrency 257", role + "    concurrency: 257\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got the number "257"`},
		{"concurrency 1.5", role + "    concurrency: 1.5\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got the number "1.5"`},
		{"concurrency huge", role + "    concurrency: 99999999999999999999\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got the number "99999999999999999999"`},
		{"concurrency null", role + "    concurrency:\n", `c.yml:4: account "a": concurrency: want an integer, 1 to 256; got no value`},
		{"labels a list", role + "    labels: [a]\n", `c.yml:4: account "a": labels: want a mapping of label names to values, got a list`},
		{"label name", role + "    labels:\n      team-name: x\n", `c.yml:5: account "a": labels: "team-name" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, at most 128 characters)`},
		{"label reserved", role + "    labels: {__name__: x}\n", `c.yml:4: account "a": labels: "__name__": names starting with __ are reserved`},
		{"label account", role + "    labels: {account: x}\n", `c.yml:4: account "a": labels: "account" is the account's name, set by the exporter`},
		{"label twice", role + "    labels:\n      team: x\n      team: y\n", `c.yml:6: account "a": labels: key "team" given twice (first at line 5)`},
		{"label empty", role + "    labels: {team: ''}\n", `c.yml:4: account "a": labels: team: empty (an empty value is no label)`},
		{"label null", role + "    labels: {team: }\n", `c.yml:4: account "a": labels: team: want a value, got no value`},
		{"label mapping", role + "    labels: {team: {a: b}}\n", `c.yml:4: account "a": labels: team: want a value, got a mapping`},
		{"label too long", role + "    labels: {team: " + long + "}\n", `c.yml:4: account "a": labels: team: longer than 1024 bytes`},
		{"too many labels", role + "    labels:\n" + manyLabels.String(), fmt.Sprintf(`c.yml:%d: account "a": labels: more than %d`, 5+MaxLabels, MaxLabels)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("c.yml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error; accounts %s", dump(f.Accounts))
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "c.yml" {
				t.Errorf("not an *Error for c.yml: %#v", err)
			}
		})
	}
}

// TestErrorFields checks the parts of an *Error, which the exporter may
// log as separate attributes.
func TestErrorFields(t *testing.T) {
	_, err := Parse("/etc/c.yml", []byte(role+"  - name: b\n    server_role: true\n    concurrency: x\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *Error", err)
	}
	if e.File != "/etc/c.yml" || e.Line != 6 || e.Account != "b" || e.Item != 2 || e.Err == nil {
		t.Errorf("got %+v", *e)
	}
	if want := "concurrency: want an integer, 1 to 256; got the string \"x\""; e.Err.Error() != want {
		t.Errorf("cause %q, want %q", e.Err, want)
	}
}

// TestNoSecretInErrors: a key pasted where a path or a variable name
// belongs is never quoted back.
func TestNoSecretInErrors(t *testing.T) {
	const secret = "ncp_iam_BPKMR2x/Secret+Value=="
	bad := map[string][]string{
		"access_key_file":  {"~" + secret, "\"/" + secret + "\\0\""},
		"ncloud_configure": {"~" + secret, "\"/" + secret + "\\0\""},
		"profile":          {"'[" + secret + "]'", "' " + secret + "'"},
		"access_key_env":   {secret, "'" + secret + "?'"},
		"secret_key_env":   {secret},
		"api_url":          {"https://id:" + secret + "@host/", "'" + secret + "?'", "https://h/" + secret + "?x"},
	}
	for key, values := range bad {
		for _, v := range values {
			_, err := Parse("c.yml", []byte("accounts:\n  - name: a\n    "+key+": "+v+"\n"))
			if err == nil {
				t.Fatalf("%s: %s: no error", key, v)
			}
			if strings.Contains(err.Error(), "Secret") {
				t.Errorf("%s: %s: error quotes the value: %v", key, v, err)
			}
		}
	}
}

func TestAPIURLAgreesWithClient(t *testing.T) {
	for _, u := range []string{
		"https://mi.apigw.ntruss.com", "http://127.0.0.1:8080", "https://h/prefix/", "https://h:443/a/b",
		"ftp://h", "https://", "https:///p", "https://h/?q=1", "https://h/#f", "h/p", "//h", "https://h p", "mailto:x@y",
	} {
		_, cerr := client.New(client.Config{BaseURL: u, Credentials: client.Static(client.NewCredentials("a", "b"))})
		_, err := Parse("c.yml", []byte(role+"    api_url: '"+u+"'\n"))
		if (err == nil) != (cerr == nil) {
			t.Errorf("%q: config says %v, client says %v", u, err, cerr)
		}
	}
}

func TestLabelNames(t *testing.T) {
	f, err := Parse("c.yml", []byte(`accounts:
  - {name: a, server_role: true, labels: {team: x, env: prod}}
  - {name: b, server_role: true}
  - {name: c, server_role: true, labels: {team: y, cost_center: "42"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.LabelNames(), []string{"cost_center", "env", "team"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LabelNames() = %q, want %q", got, want)
	}
	if got := (&File{Accounts: []Account{{Name: "a"}}}).LabelNames(); got != nil {
		t.Errorf("no labels: LabelNames() = %q, want nil", got)
	}
}

func TestSourceKindString(t *testing.T) {
	for k, want := range map[SourceKind]string{KeyFiles: "access_key_file", Configure: "ncloud_configure", ServerRole: "server_role", Env: "access_key_env", 0: "SourceKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "accounts:\n  - name: a\n    access_key_file: ak\n    secret_key_file: /abs/sk\n")
	f, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Source{Kind: KeyFiles, AccessKeyFile: filepath.Join(dir, "ak"), SecretKeyFile: "/abs/sk"}); f.Accounts[0].Source != want || f.Path != good {
		t.Errorf("got %+v from %s", f.Accounts[0].Source, f.Path)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := write("big.yml", role+"# "+strings.Repeat("x", MaxFileBytes)+"\n")
	bad := write("bad.yml", role+"    concurrency: 0\n")
	for _, tc := range []struct {
		path, want string
		is         error
	}{
		{filepath.Join(dir, "missing.yml"), filepath.Join(dir, "missing.yml") + ": cannot stat: no such file or directory", fs.ErrNotExist},
		{filepath.Join(good, "x"), filepath.Join(good, "x") + ": cannot stat: not a directory", nil},
		{dir, dir + ": not a regular file (d---------)", nil},
		{fifo, fifo + ": not a regular file (p---------)", nil},
		{big, big + ": larger than 1048576 bytes", nil},
		{bad, bad + `:4: account "a": concurrency: want an integer, 1 to 256; got the number "0"`, nil},
	} {
		_, err := Load(tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Load(%s):\n got %v\nwant %s", tc.path, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("Load(%s): %v is not %v", tc.path, err, tc.is)
		}
	}
}
