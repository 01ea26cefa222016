package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

const (
	testAccessKey = "ncp_iam_TESTACCESSKEY01"
	testSecretKey = "ncp_iam_TESTSECRETKEY0123456789"
)

// TestCredentialsNeverPrintSecret prints credentials, and the things that
// hold them, every way a log line might, and looks for the secret.
func TestCredentialsNeverPrintSecret(t *testing.T) {
	creds := client.NewCredentials("  "+testAccessKey+"\n", "\t"+testSecretKey+" ")
	if !creds.Valid() || creds.AccessKey() != testAccessKey {
		t.Fatalf("NewCredentials did not trim: valid=%v access key %q", creds.Valid(), creds.AccessKey())
	}
	cfg := client.Config{BaseURL: "http://127.0.0.1:1", Credentials: client.Static(creds)}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fc := &client.FileCredentials{AccessKeyFile: "ak", SecretKeyFile: "sk"}
	dir := t.TempDir()
	fc.AccessKeyFile, fc.SecretKeyFile = writeKeys(t, dir, testAccessKey, testSecretKey)
	if _, err := fc.Credentials(); err != nil {
		t.Fatal(err)
	}

	values := map[string]any{
		"value":            creds,
		"pointer":          &creds,
		"static provider":  client.Static(creds),
		"config":           cfg,
		"client":           c,
		"file provider":    fc,
		"slice":            []client.Credentials{creds},
		"struct field":     struct{ C client.Credentials }{creds},
		"unexported field": struct{ c client.Credentials }{creds},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testSecretKey) || strings.Contains(out, fmt.Sprintf("%x", testSecretKey)) {
				t.Errorf("%s printed with %s shows the secret: %s", name, verb, out)
			}
		}
		for _, h := range []struct {
			name string
			mk   func(*bytes.Buffer) slog.Handler
		}{
			{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
			{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		} {
			var buf bytes.Buffer
			slog.New(h.mk(&buf)).Info("loaded", "creds", v, slog.Any("any", v), slog.Group("g", "c", v))
			if strings.Contains(buf.String(), testSecretKey) {
				t.Errorf("%s logged with the %s handler shows the secret: %s", name, h.name, buf.String())
			}
		}
	}

	// The redacted forms still say what they are.
	for _, out := range []string{creds.String(), creds.GoString(), fmt.Sprintf("%v", creds), fmt.Sprintf("%#v", creds)} {
		if !strings.Contains(out, testAccessKey) || !strings.Contains(out, "<redacted>") {
			t.Errorf("redacted form %q lacks the access key or the <redacted> mark", out)
		}
	}
	if q := fmt.Sprintf("%q", creds); !strings.HasPrefix(q, `"`) || !strings.Contains(q, "redacted") {
		t.Errorf("%%q = %s, want a quoted redacted form", q)
	}
	unset := client.NewCredentials(testAccessKey, "")
	if unset.Valid() || !strings.Contains(unset.String(), "<unset>") {
		t.Errorf("credentials without a secret: valid=%v, String %q", unset.Valid(), unset.String())
	}
	if (client.Credentials{}).Valid() {
		t.Error("zero Credentials is valid")
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "c", creds)
	if !strings.Contains(buf.String(), `"c":{"access_key":"`+testAccessKey+`","secret_key":"<redacted>"}`) {
		t.Errorf("JSON log of credentials: %s", buf.String())
	}
}

// TestUnauthorizedErrorHasNoSecret checks the error of a rejected key.
func TestUnauthorizedErrorHasNoSecret(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL, func(cfg *client.Config) {
		cfg.Credentials = client.Static(client.NewCredentials(mitest.DefaultAccessKey, testSecretKey))
	})
	_, err := c.GetWorkspace(context.Background(), "alpha")
	e, ok := client.AsError(err)
	if !ok || e.StatusCode != 401 || e.Code != "200" || e.Retryable {
		t.Fatalf("err = %#v, want a non-retryable 401 with code 200", err)
	}
	msg := err.Error()
	if strings.Contains(msg, testSecretKey) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), testSecretKey) {
		t.Errorf("401 error shows the secret: %s", msg)
	}
	for _, want := range []string{"HTTP 401", "Authentication Failed", "access key", "secret key", "clock", "5 minutes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 error %q does not mention %q", msg, want)
		}
	}
	if n := s.Requests(client.OpGetWorkspace); n != 1 {
		t.Errorf("a 401 was sent %d times, want 1 (not retried)", n)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		ak, sk  string
		wantErr []string // substrings of the error; nil means success
	}{
		{name: "main names", env: map[string]string{"NCLOUD_ACCESS_KEY": "a1", "NCLOUD_SECRET_KEY": "s1"}, ak: "a1", sk: "s1"},
		{name: "aliases", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": "a2", "NCLOUD_SECRET_ACCESS_KEY": "s2"}, ak: "a2", sk: "s2"},
		{name: "main names win", env: map[string]string{"NCLOUD_ACCESS_KEY": "a1", "NCLOUD_ACCESS_KEY_ID": "a2", "NCLOUD_SECRET_KEY": "s1", "NCLOUD_SECRET_ACCESS_KEY": "s2"}, ak: "a1", sk: "s1"},
		{name: "blank main name falls back to alias", env: map[string]string{"NCLOUD_ACCESS_KEY": "  ", "NCLOUD_ACCESS_KEY_ID": " a2 ", "NCLOUD_SECRET_KEY": "s1"}, ak: "a2", sk: "s1"},
		{name: "nothing", env: map[string]string{}, wantErr: []string{"NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY", "key file"}},
		{name: "no access key", env: map[string]string{"NCLOUD_SECRET_KEY": "s1"}, wantErr: []string{"NCLOUD_ACCESS_KEY (or NCLOUD_ACCESS_KEY_ID) is not set"}},
		{name: "no secret key", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": "a1"}, wantErr: []string{"NCLOUD_SECRET_KEY (or NCLOUD_SECRET_ACCESS_KEY) is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.CredentialsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if !errors.Is(err, client.ErrNoCredentials) {
					t.Fatalf("err = %v, want ErrNoCredentials", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKey() != tt.ak {
				t.Errorf("access key %q, want %q", c.AccessKey(), tt.ak)
			}
			if signWith(c) != signedX(tt.ak, tt.sk) {
				t.Errorf("credentials do not sign with secret %q", tt.sk)
			}
		})
	}
}

// signWith returns the signature the client sends with c for GET
// /api/v1/workspaces/xyz at time 1 ms; signedX is the expected one.
func signWith(c client.Credentials) string {
	var got string
	cl, err := client.New(client.Config{
		BaseURL:     "http://example.invalid",
		Credentials: client.Static(c),
		MaxAttempts: 1,
		Now:         func() time.Time { return time.UnixMilli(1) },
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get(client.HeaderSignature)
			return nil, errors.New("not sent")
		}),
	})
	if err != nil {
		return err.Error()
	}
	_, _ = cl.GetWorkspace(context.Background(), "xyz")
	return got
}

func signedX(ak, sk string) string { return client.Sign("GET", "/api/v1/workspaces/xyz", 1, ak, sk) }

func writeKeys(t *testing.T, dir, ak, sk string) (string, string) {
	t.Helper()
	akf, skf := filepath.Join(dir, "access_key"), filepath.Join(dir, "secret_key")
	if err := os.WriteFile(akf, []byte(ak+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(skf, []byte(sk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return akf, skf
}

func TestLoadCredentialsFiles(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "  "+testAccessKey, testSecretKey+"\n\n")
	emptyf := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyf, []byte(" \n\t"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	c, err := client.LoadCredentialsFiles(akf, skf)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKey() != testAccessKey || !c.Valid() {
		t.Errorf("loaded %v", c)
	}

	tests := []struct {
		name     string
		ak, sk   string
		want     string
		notFound bool
	}{
		{"access key file missing", missing, skf, "reading access key file", true},
		{"secret key file missing", akf, missing, "reading secret key file", true},
		{"access key file empty", emptyf, skf, "access key file " + emptyf + " is empty", false},
		{"secret key file empty", akf, emptyf, "secret key file " + emptyf + " is empty", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.LoadCredentialsFiles(tt.ak, tt.sk)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if tt.notFound && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v, want it to wrap fs.ErrNotExist", err)
			}
			if strings.Contains(err.Error(), testSecretKey) || strings.Contains(err.Error(), testAccessKey) {
				t.Errorf("err %q shows a key", err)
			}
		})
	}
}

func TestFileCredentialsRotation(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak-one", "sk-one")
	fc := &client.FileCredentials{AccessKeyFile: akf, SecretKeyFile: skf, CheckInterval: time.Millisecond}

	get := func() client.Credentials {
		t.Helper()
		c, err := fc.Credentials()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(); c.AccessKey() != "ak-one" || signWith(c) != signedX("ak-one", "sk-one") {
		t.Fatalf("first load: %v", c)
	}

	// Rotate: new content of another size and a later mtime.
	time.Sleep(2 * time.Millisecond)
	writeKeys(t, dir, "ak-two-longer", "sk-two-longer")
	later := time.Now().Add(time.Second)
	_ = os.Chtimes(akf, later, later)
	_ = os.Chtimes(skf, later, later)
	if c := get(); c.AccessKey() != "ak-two-longer" || signWith(c) != signedX("ak-two-longer", "sk-two-longer") {
		t.Fatalf("after rotation: %v", c)
	}

	// Only the secret changes, same size, different mtime.
	time.Sleep(2 * time.Millisecond)
	if err := os.WriteFile(skf, []byte("sk-two-LONGER\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later = later.Add(time.Second)
	_ = os.Chtimes(skf, later, later)
	if c := get(); signWith(c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("after secret rotation the old secret is still used")
	}

	// The secret file disappears during a rotation: keep the keys.
	if err := os.Remove(skf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if c := get(); c.AccessKey() != "ak-two-longer" || signWith(c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("with the secret file gone: %v", c)
	}
	// It comes back empty (half-written): keep the keys.
	if err := os.WriteFile(skf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if c := get(); signWith(c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("with an empty secret file the keys were replaced")
	}
	// And then complete.
	if err := os.WriteFile(skf, []byte("sk-three"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if c := get(); signWith(c) != signedX("ak-two-longer", "sk-three") {
		t.Fatalf("the completed secret file was not read")
	}
}

func TestFileCredentialsCheckInterval(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak-one", "sk-one")
	fc := &client.FileCredentials{AccessKeyFile: akf, SecretKeyFile: skf} // default 1 s
	if c, err := fc.Credentials(); err != nil || c.AccessKey() != "ak-one" {
		t.Fatalf("first load: %v %v", c, err)
	}
	writeKeys(t, dir, "ak-two-longer", "sk-two-longer")
	if c, _ := fc.Credentials(); c.AccessKey() != "ak-one" {
		t.Errorf("files were read again within the check interval: %v", c)
	}
}

func TestFileCredentialsMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak", "sk")
	for _, tt := range []struct {
		name string
		fc   *client.FileCredentials
		want string
	}{
		{"missing access key file", &client.FileCredentials{AccessKeyFile: filepath.Join(dir, "nope"), SecretKeyFile: skf}, "credentials file"},
		{"missing secret key file", &client.FileCredentials{AccessKeyFile: akf, SecretKeyFile: filepath.Join(dir, "nope")}, "credentials file"},
		{"empty secret key file", &client.FileCredentials{AccessKeyFile: akf, SecretKeyFile: func() string {
			p := filepath.Join(dir, "empty")
			_ = os.WriteFile(p, nil, 0o600)
			return p
		}()}, "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fc.Credentials()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			// A client with this provider fails without sending anything.
			s := newServer(t, testInventory())
			c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Credentials = tt.fc })
			_, err = c.GetWorkspace(context.Background(), "alpha")
			if e, ok := client.AsError(err); !ok || !strings.Contains(e.Error(), "loading credentials") {
				t.Errorf("GetWorkspace err = %v, want a loading credentials error", err)
			}
			if n := s.TotalRequests(); n != 0 {
				t.Errorf("%d requests sent without credentials", n)
			}
		})
	}
}
