package credentials_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/credentials"
)

func TestConfigurePath(t *testing.T) {
	if got, want := credentials.ConfigurePath("/home/me"), filepath.Join("/home/me", ".ncloud", "configure"); got != want {
		t.Errorf("ConfigurePath = %q, want %q", got, want)
	}
}

func TestLoadConfigure(t *testing.T) {
	const documented = `[DEFAULT]
ncloud_access_key_id = AK_DEFAULT
ncloud_secret_access_key = ` + testSecretKey + `
ncloud_api_url = https://ncloud.apigw.ntruss.com

[lab]
ncloud_access_key_id = AK_LAB
ncloud_secret_access_key = SK_LAB=with=equals

[half]
ncloud_access_key_id = AK_HALF

[nosecret]
ncloud_access_key_id = AK_NOSECRET
ncloud_secret_access_key =
`
	dir := t.TempDir()
	path := filepath.Join(dir, "configure")
	writeFile(t, path, documented)
	flat := filepath.Join(dir, "flat")
	writeFile(t, flat, "ncloud_access_key_id=AK_FLAT\r\nncloud_secret_access_key=SK_FLAT\r\n")
	broken := filepath.Join(dir, "broken")
	writeFile(t, broken, "[DEFAULT]\nncloud_access_key_id "+testSecretKey+"\n")
	huge := filepath.Join(dir, "huge")
	writeFile(t, huge, "# "+strings.Repeat("x", 70<<10)+"\n")
	aDir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(aDir, 0o700); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path, profile string
		ak, sk              string
		wantErr             string
	}{
		{name: "DEFAULT by default", path: path, ak: "AK_DEFAULT", sk: testSecretKey},
		{name: "DEFAULT by name", path: path, profile: "DEFAULT", ak: "AK_DEFAULT", sk: testSecretKey},
		{name: "a profile", path: path, profile: "lab", ak: "AK_LAB", sk: "SK_LAB=with=equals"},
		{name: "a flat file", path: flat, ak: "AK_FLAT", sk: "SK_FLAT"},
		{name: "a flat file has no other profile", path: flat, profile: "lab", wantErr: "configure file " + flat + " has no profile [lab]"},
		{name: "no such profile", path: path, profile: "prod", wantErr: "configure file " + path + " has no profile [prod]"},
		{name: "profiles are case-sensitive", path: path, profile: "LAB", wantErr: "has no profile [LAB]"},
		{name: "no secret key", path: path, profile: "half", wantErr: "configure file " + path + ": profile [half] has no ncloud_secret_access_key"},
		{name: "an empty secret key", path: path, profile: "nosecret", wantErr: "profile [nosecret] has no ncloud_secret_access_key"},
		{name: "a line without =", path: broken, wantErr: "configure file " + broken + ": line 2: neither a [section] header nor a key = value line"},
		{name: "too large", path: huge, wantErr: "is larger than 64 KiB"},
		{name: "missing", path: filepath.Join(dir, "nope"), wantErr: "reading configure file: open " + filepath.Join(dir, "nope")},
		{name: "unreadable", path: aDir, wantErr: "reading configure file: read " + aDir + ": is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := credentials.LoadConfigure(tc.path, tc.profile)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{testSecretKey, "AK_HALF", "AK_NOSECRET", "SK_LAB"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("err %q shows a value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if signWith(t, c) != signedX(tc.ak, tc.sk) {
				t.Errorf("loaded %v, want %s", c, tc.ak)
			}
		})
	}
}

func TestConfigureRereads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "configure")
	writeFile(t, path, "[lab]\nncloud_access_key_id = AK1\nncloud_secret_access_key = SK1\n")
	c := &credentials.Configure{Path: path, Profile: "lab", CheckInterval: time.Millisecond}
	if got, want := c.Source(), "configure file "+path+" [lab]"; got != want {
		t.Errorf("Source = %q, want %q", got, want)
	}
	if got := (&credentials.Configure{Path: path}).Source(); got != "configure file "+path+" [DEFAULT]" {
		t.Errorf("Source without a profile = %q", got)
	}
	check := func(ak, sk string) {
		t.Helper()
		creds, err := c.Credentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if signWith(t, creds) != signedX(ak, sk) {
			t.Fatalf("key %v, want %s", creds, ak)
		}
	}
	touch := func(content string, age time.Duration) {
		t.Helper()
		writeFile(t, path, content)
		mt := time.Now().Add(age)
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	check("AK1", "SK1")
	touch("[lab]\nncloud_access_key_id = AK2\nncloud_secret_access_key = SK2\n", time.Second)
	check("AK2", "SK2")
	// An edit that loses the key, or the file, keeps the last good key.
	touch("[lab]\nncloud_access_key_id = AK3\n", 2*time.Second)
	check("AK2", "SK2")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	check("AK2", "SK2")
	touch("[lab]\nncloud_access_key_id = AK3\nncloud_secret_access_key = SK3\n", 3*time.Second)
	check("AK3", "SK3")
	if !c.Expiry().IsZero() {
		t.Errorf("Expiry = %v, want zero", c.Expiry())
	}

	// At the start, every failure is an error.
	bad := &credentials.Configure{Path: filepath.Join(dir, "nope")}
	if _, err := bad.Credentials(context.Background()); err == nil || !strings.Contains(err.Error(), "configure file: stat") {
		t.Errorf("a missing file: %v", err)
	}
	writeFile(t, path, "[lab]\n")
	bad = &credentials.Configure{Path: path, Profile: "lab"}
	if _, err := bad.Credentials(context.Background()); err == nil || !strings.Contains(err.Error(), "profile [lab] has no ncloud_access_key_id") {
		t.Errorf("a profile without keys: %v", err)
	}
}
