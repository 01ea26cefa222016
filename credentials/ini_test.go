package credentials

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseINI(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    iniFile
		wantErr string
	}{
		{name: "empty", in: "", want: iniFile{}},
		{name: "flat file is DEFAULT", in: "ncloud_access_key_id=AK\nncloud_secret_access_key=SK\n",
			want: iniFile{"DEFAULT": {"ncloud_access_key_id": "AK", "ncloud_secret_access_key": "SK"}}},
		{name: "sections and comments",
			in:   "# NCP\n; another comment\n[DEFAULT]\nncloud_access_key_id = AK\n\n  [lab]  \n  ncloud_access_key_id=AK2  \n# ncloud_secret_access_key = old\nncloud_api_url = https://ncloud.apigw.ntruss.com\n",
			want: iniFile{"DEFAULT": {"ncloud_access_key_id": "AK"}, "lab": {"ncloud_access_key_id": "AK2", "ncloud_api_url": "https://ncloud.apigw.ntruss.com"}}},
		{name: "spaces around = and inside the header", in: "[ lab ]\n  key   =   value with spaces  \n", want: iniFile{"lab": {"key": "value with spaces"}}},
		{name: "a value containing =", in: "k = a=b==\n", want: iniFile{"DEFAULT": {"k": "a=b=="}}},
		{name: "an empty value", in: "k =\n", want: iniFile{"DEFAULT": {"k": ""}}},
		{name: "CRLF", in: "[lab]\r\nk = v\r\nk2=v2\r\n", want: iniFile{"lab": {"k": "v", "k2": "v2"}}},
		{name: "a byte order mark", in: "\xef\xbb\xbf[lab]\nk=v", want: iniFile{"lab": {"k": "v"}}},
		{name: "keys are case-insensitive, sections not", in: "[Lab]\nNCLOUD_Access_Key_ID = A\n[lab]\nk=v\n",
			want: iniFile{"Lab": {"ncloud_access_key_id": "A"}, "lab": {"k": "v"}}},
		{name: "quotes removed once", in: "a = \"x y\"\nb = 'z'\nc = \"unbalanced'\nd = \"\"\"\"\n",
			want: iniFile{"DEFAULT": {"a": "x y", "b": "z", "c": "\"unbalanced'", "d": "\"\""}}},
		{name: "a comment sign inside a value is kept", in: "k = v#1;2\n", want: iniFile{"DEFAULT": {"k": "v#1;2"}}},
		{name: "keys before the first header are DEFAULT", in: "k=1\n[DEFAULT]\nj=2\n[x]\n", want: iniFile{"DEFAULT": {"k": "1", "j": "2"}, "x": {}}},
		{name: "a section given twice is one", in: "[x]\na=1\n[y]\n[x]\nb=2\n", want: iniFile{"x": {"a": "1", "b": "2"}, "y": {}}},
		{name: "a key line without =", in: "[lab]\nncloud_access_key_id AKVALUE\n", wantErr: "line 2: neither a [section] header nor a key = value line"},
		{name: "a bare secret", in: "SECRETVALUE\n", wantErr: "line 1: neither"},
		{name: "a value without a key", in: "\n = SECRETVALUE\n", wantErr: "line 2: a value without a key"},
		{name: "an unterminated header", in: "[lab\nk=v\n", wantErr: "line 1: a section header without its closing ']'"},
		{name: "an empty header", in: "[ ]\n", wantErr: "line 1: a section header without a name"},
		{name: "a key given twice", in: "[lab]\nk=SECRETVALUE\n\nK = SECRETVALUE\n", wantErr: "line 4: k given again in [lab] (first on line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseINI([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "SECRETVALUE") || strings.Contains(err.Error(), "AKVALUE") {
					t.Errorf("err %q quotes a value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseINI = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseINI: any input parses or fails with a line number, without a
// panic, and what parses has trimmed, lower-case keys.
func FuzzParseINI(f *testing.F) {
	for _, s := range []string{
		"", "[DEFAULT]\nncloud_access_key_id = A\nncloud_secret_access_key = S\n", "k=v", "[lab\n", "=\n", "[]\n", "a\r\nb=c\r\n",
		"\xef\xbb\xbf# c\n; d\n[x]\nk = 'v'\n", "k=\"\n", "[a]]\nk==\n", "\x00=\x00\n[\x00]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseINI(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not start with its line", err)
			}
			return
		}
		for sec, kv := range got {
			if sec == "" {
				t.Fatalf("an empty section name from %q", data)
			}
			for k := range kv {
				if k == "" || k != strings.ToLower(strings.TrimSpace(k)) {
					t.Fatalf("key %q is not trimmed and lower-case", k)
				}
			}
		}
	})
}
