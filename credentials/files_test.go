package credentials_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/credentials"
)

const (
	testAccessKey = "ncp_iam_TESTACCESSKEY01"
	testSecretKey = "ncp_iam_TESTSECRETKEY0123456789"
)

// signWith returns the signature a client sends with c for GET
// /api/v1/workspaces/xyz at time 1 ms; signedX is the expected one.
func signWith(t *testing.T, c client.Credentials) string {
	t.Helper()
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
		t.Fatal(err)
	}
	_, _ = cl.GetWorkspace(context.Background(), "xyz")
	return got
}

func signedX(ak, sk string) string { return client.Sign("GET", "/api/v1/workspaces/xyz", 1, ak, sk) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func writeKeys(t *testing.T, dir, ak, sk string) (string, string) {
	t.Helper()
	akf, skf := filepath.Join(dir, "access_key"), filepath.Join(dir, "secret_key")
	writeFile(t, akf, ak+"\n")
	writeFile(t, skf, sk+"\n")
	return akf, skf
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "  "+testAccessKey, testSecretKey+"\n\n")
	emptyf := filepath.Join(dir, "empty")
	writeFile(t, emptyf, " \n\t")
	hugef := filepath.Join(dir, "huge")
	writeFile(t, hugef, strings.Repeat(testSecretKey, 3000))
	missing := filepath.Join(dir, "missing")

	c, err := credentials.LoadFiles(akf, skf)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKey() != testAccessKey || signWith(t, c) != signedX(testAccessKey, testSecretKey) {
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
		{"secret key file huge", akf, hugef, "reading secret key file: " + hugef + " is larger than 64 KiB", false},
		{"a directory", dir, skf, "reading access key file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := credentials.LoadFiles(tt.ak, tt.sk)
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

func TestFilesRotation(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak-one", "sk-one")
	fc := &credentials.Files{AccessKeyFile: akf, SecretKeyFile: skf, CheckInterval: time.Millisecond}
	if got, want := fc.Source(), "key files "+akf+", "+skf; got != want {
		t.Errorf("Source = %q, want %q", got, want)
	}
	if !fc.Expiry().IsZero() {
		t.Errorf("Expiry = %v, want zero", fc.Expiry())
	}

	get := func() client.Credentials {
		t.Helper()
		c, err := fc.Credentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(); c.AccessKey() != "ak-one" || signWith(t, c) != signedX("ak-one", "sk-one") {
		t.Fatalf("first load: %v", c)
	}

	// Rotate: new content of another size and a later mtime.
	time.Sleep(2 * time.Millisecond)
	writeKeys(t, dir, "ak-two-longer", "sk-two-longer")
	later := time.Now().Add(time.Second)
	_ = os.Chtimes(akf, later, later)
	_ = os.Chtimes(skf, later, later)
	if c := get(); c.AccessKey() != "ak-two-longer" || signWith(t, c) != signedX("ak-two-longer", "sk-two-longer") {
		t.Fatalf("after rotation: %v", c)
	}

	// Only the secret changes, same size, different mtime.
	time.Sleep(2 * time.Millisecond)
	writeFile(t, skf, "sk-two-LONGER\n")
	later = later.Add(time.Second)
	_ = os.Chtimes(skf, later, later)
	if c := get(); signWith(t, c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("after secret rotation the old secret is still used")
	}

	// The secret file disappears during a rotation: keep the keys.
	if err := os.Remove(skf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if c := get(); c.AccessKey() != "ak-two-longer" || signWith(t, c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("with the secret file gone: %v", c)
	}
	// It comes back empty (half-written): keep the keys.
	writeFile(t, skf, "")
	time.Sleep(2 * time.Millisecond)
	if c := get(); signWith(t, c) != signedX("ak-two-longer", "sk-two-LONGER") {
		t.Fatalf("with an empty secret file the keys were replaced")
	}
	// And then complete.
	writeFile(t, skf, "sk-three")
	time.Sleep(2 * time.Millisecond)
	if c := get(); signWith(t, c) != signedX("ak-two-longer", "sk-three") {
		t.Fatalf("the completed secret file was not read")
	}
}

func TestFilesCheckInterval(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak-one", "sk-one")
	fc := &credentials.Files{AccessKeyFile: akf, SecretKeyFile: skf} // default 1 s
	if c, err := fc.Credentials(context.Background()); err != nil || c.AccessKey() != "ak-one" {
		t.Fatalf("first load: %v %v", c, err)
	}
	writeKeys(t, dir, "ak-two-longer", "sk-two-longer")
	if c, _ := fc.Credentials(context.Background()); c.AccessKey() != "ak-one" {
		t.Errorf("files were read again within the check interval: %v", c)
	}
}

func TestFilesMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "ak", "sk")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "")
	for _, tt := range []struct {
		name string
		fc   *credentials.Files
		want string
	}{
		{"missing access key file", &credentials.Files{AccessKeyFile: filepath.Join(dir, "nope"), SecretKeyFile: skf}, "key file: stat " + filepath.Join(dir, "nope")},
		{"missing secret key file", &credentials.Files{AccessKeyFile: akf, SecretKeyFile: filepath.Join(dir, "nope")}, "key file: stat"},
		{"empty secret key file", &credentials.Files{AccessKeyFile: akf, SecretKeyFile: empty}, "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fc.Credentials(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			// A client with this provider fails with reason credentials,
			// without sending anything.
			sent := 0
			c, err := client.New(client.Config{BaseURL: "http://example.invalid", Credentials: tt.fc,
				Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { sent++; return nil, errors.New("not sent") })})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetWorkspace(context.Background(), "alpha")
			if client.ReasonOf(err) != client.ReasonCredentials || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GetWorkspace err = %v, want reason credentials saying %q", err, tt.want)
			}
			if sent != 0 {
				t.Errorf("%d requests sent without credentials", sent)
			}
		})
	}
}
