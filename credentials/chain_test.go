package credentials_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/credentials"
)

// TestChain: the order of the sources, and every way one can be broken.
func TestChain(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, filepath.Join(dir, "files"), "AK_FILE", testSecretKey)
	homeOK := filepath.Join(dir, "home-ok")
	writeFile(t, credentials.ConfigurePath(homeOK), "[DEFAULT]\nncloud_access_key_id = AK_CONF\nncloud_secret_access_key = "+testSecretKey+
		"\n[lab]\nncloud_access_key_id = AK_LAB\nncloud_secret_access_key = "+testSecretKey+"\n[half]\nncloud_access_key_id = AK_HALF\n")
	homeFlat := filepath.Join(dir, "home-flat")
	writeFile(t, credentials.ConfigurePath(homeFlat), "ncloud_access_key_id=AK_FLAT\nncloud_secret_access_key="+testSecretKey+"\n")
	homeBroken := filepath.Join(dir, "home-broken")
	writeFile(t, credentials.ConfigurePath(homeBroken), "[DEFAULT]\n"+testSecretKey+"\n")
	homeDir := filepath.Join(dir, "home-dir") // the configure file is a directory
	writeFile(t, filepath.Join(credentials.ConfigurePath(homeDir), "x"), "")
	homeNone := filepath.Join(dir, "home-none")

	md := newMetadata(t, time.Now)
	noRole := newMetadata(t, time.Now)
	noRole.set(func(m *metadata) { m.listStatus = 404 })
	hang := newMetadata(t, time.Now)
	hang.set(func(m *metadata) { m.delay = time.Minute })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	envKeys := map[string]string{"NCLOUD_ACCESS_KEY_ID": "AK_ENV", "NCLOUD_SECRET_ACCESS_KEY": testSecretKey}
	for _, tc := range []struct {
		name       string
		o          credentials.ChainOptions
		env        map[string]string
		wantSource string
		wantAK     string
		wantErr    []string
		none       bool // the error wraps ErrNoCredentials
	}{
		{name: "key files first", o: credentials.ChainOptions{AccessKeyFile: akf, SecretKeyFile: skf, Home: homeOK}, env: envKeys,
			wantSource: "key files " + akf + ", " + skf, wantAK: "AK_FILE"},
		{name: "an access key file alone", o: credentials.ChainOptions{AccessKeyFile: akf, Home: homeOK}, env: envKeys,
			wantErr: []string{"key files: an access key file without a secret key file"}},
		{name: "a secret key file alone", o: credentials.ChainOptions{SecretKeyFile: skf}, wantErr: []string{"a secret key file without an access key file"}},
		{name: "unreadable key files", o: credentials.ChainOptions{AccessKeyFile: akf, SecretKeyFile: filepath.Join(dir, "nope"), Home: homeOK}, env: envKeys,
			wantErr: []string{"key files " + akf + ", " + filepath.Join(dir, "nope") + ": key file: stat"}},
		{name: "then the environment", o: credentials.ChainOptions{Home: homeOK}, env: envKeys,
			wantSource: "environment NCLOUD_ACCESS_KEY_ID/NCLOUD_SECRET_ACCESS_KEY", wantAK: "AK_ENV"},
		{name: "the environment, Terraform's names", env: map[string]string{"NCLOUD_ACCESS_KEY": "AK_ENV2", "NCLOUD_SECRET_KEY": testSecretKey},
			wantSource: "environment NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY", wantAK: "AK_ENV2"},
		{name: "one variable of a pair", o: credentials.ChainOptions{Home: homeOK}, env: map[string]string{"NCLOUD_SECRET_KEY": testSecretKey},
			wantErr: []string{"environment: NCLOUD_SECRET_KEY is set but NCLOUD_ACCESS_KEY_ID or NCLOUD_ACCESS_KEY is not"}},
		{name: "then the configure file", o: credentials.ChainOptions{Home: homeOK},
			wantSource: "configure file " + credentials.ConfigurePath(homeOK) + " [DEFAULT]", wantAK: "AK_CONF"},
		{name: "a flat configure file", o: credentials.ChainOptions{Home: homeFlat},
			wantSource: "configure file " + credentials.ConfigurePath(homeFlat) + " [DEFAULT]", wantAK: "AK_FLAT"},
		{name: "the profile of the flag", o: credentials.ChainOptions{Home: homeOK, Profile: "lab"}, env: map[string]string{"NCLOUD_PROFILE": "half"},
			wantSource: "configure file " + credentials.ConfigurePath(homeOK) + " [lab]", wantAK: "AK_LAB"},
		{name: "the profile of NCLOUD_PROFILE", o: credentials.ChainOptions{Home: homeOK}, env: map[string]string{"NCLOUD_PROFILE": "lab"},
			wantSource: "configure file " + credentials.ConfigurePath(homeOK) + " [lab]", wantAK: "AK_LAB"},
		{name: "a profile that is not there", o: credentials.ChainOptions{Home: homeOK, Profile: "prod", Role: credentials.RoleOptions{Endpoint: md.URL}},
			wantErr: []string{"configure file " + credentials.ConfigurePath(homeOK) + " has no profile [prod]"}},
		{name: "a profile without its secret", o: credentials.ChainOptions{Home: homeOK, Profile: "half"},
			wantErr: []string{"profile [half] has no ncloud_secret_access_key"}},
		{name: "a configure file that does not parse", o: credentials.ChainOptions{Home: homeBroken},
			wantErr: []string{"configure file " + credentials.ConfigurePath(homeBroken) + ": line 2: neither a [section] header nor a key = value line"}},
		{name: "a configure file that cannot be read", o: credentials.ChainOptions{Home: homeDir},
			wantErr: []string{"reading configure file", "is a directory"}},
		{name: "a profile named, without a configure file", o: credentials.ChainOptions{Home: homeNone, Profile: "lab", Role: credentials.RoleOptions{Endpoint: md.URL}},
			wantErr: []string{"configure file " + credentials.ConfigurePath(homeNone) + ", named by profile [lab], does not exist"}},
		{name: "a profile named, without a home", env: map[string]string{"NCLOUD_PROFILE": "lab"},
			wantErr: []string{"profile [lab] named, but no home directory"}},
		{name: "then the server role", o: credentials.ChainOptions{Home: homeNone, Role: credentials.RoleOptions{Endpoint: md.URL}},
			wantSource: "server role " + roleID + " (metadata " + md.URL + ")", wantAK: roleAccessKey(0)},
		{name: "the metadata endpoint of the environment", o: credentials.ChainOptions{Home: homeNone}, env: map[string]string{"NCLOUD_METADATA_API_ENDPOINT": md.URL},
			wantSource: "server role " + roleID + " (metadata " + md.URL + ")"},
		{name: "the option wins over the environment", o: credentials.ChainOptions{Role: credentials.RoleOptions{Endpoint: md.URL}},
			env: map[string]string{"NCLOUD_METADATA_API_ENDPOINT": refused}, wantSource: "server role " + roleID + " (metadata " + md.URL + ")"},
		{name: "a bad metadata endpoint", env: map[string]string{"NCLOUD_METADATA_API_ENDPOINT": "169.254.169.254:80"},
			wantErr: []string{"server role: metadata endpoint 169.254.169.254:80: want http(s)://host[:port]"}},
		{name: "nothing anywhere", o: credentials.ChainOptions{Home: homeNone, Role: credentials.RoleOptions{Endpoint: refused}}, none: true,
			wantErr: []string{"no NCP credentials: tried key files (none given); environment (NCLOUD_ACCESS_KEY_ID, NCLOUD_ACCESS_KEY, NCLOUD_SECRET_ACCESS_KEY, NCLOUD_SECRET_KEY not set); configure file " +
				credentials.ConfigurePath(homeNone) + " (does not exist); server role (metadata " + refused + "): asking for a session token: ", "connection refused"}},
		{name: "a metadata service that does not answer", o: credentials.ChainOptions{Role: credentials.RoleOptions{Endpoint: hang.URL}}, none: true,
			wantErr: []string{"server role (metadata " + hang.URL + "): asking for a session token: ", "Client.Timeout exceeded"}},
		{name: "no home, no role", o: credentials.ChainOptions{Role: credentials.RoleOptions{Endpoint: noRole.URL}}, none: true,
			wantErr: []string{"configure file (no home directory); server role (metadata " + noRole.URL + "): GET", "HTTP 404", "no server role is attached"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Getenv = func(k string) string { return tc.env[k] }
			o.Role.Timeout = time.Second
			start := time.Now()
			p, err := credentials.Chain(context.Background(), o)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Chain took %v", d)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Chain chose %s, want an error", p.Source())
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q does not say %q", err, w)
					}
				}
				if errors.Is(err, credentials.ErrNoCredentials) != tc.none {
					t.Errorf("err wraps ErrNoCredentials: %v, want %v", !tc.none, tc.none)
				}
				noSecret(t, "the error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Source() != tc.wantSource {
				t.Errorf("Source = %q, want %q", p.Source(), tc.wantSource)
			}
			c, err := p.Credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantAK != "" && c.AccessKey() != tc.wantAK {
				t.Errorf("access key %q, want %q", c.AccessKey(), tc.wantAK)
			}
			noSecret(t, "Source", p.Source())
		})
	}
}
