package client

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Credentials is an NCP API key pair. Its String, GoString, Format and
// LogValue methods never show the secret key, so a Credentials value can
// be logged or printed by mistake without leaking it.
type Credentials struct {
	accessKey string
	// secretKey is behind a pointer so that fmt, printing a struct that
	// holds Credentials in an unexported field (a provider, a Config, the
	// Client), shows an address and not the secret: fmt does not call
	// Format on values reached through unexported fields.
	secretKey *string
}

// NewCredentials returns the key pair; both parts are trimmed of white space.
func NewCredentials(accessKey, secretKey string) Credentials {
	sk := strings.TrimSpace(secretKey)
	return Credentials{accessKey: strings.TrimSpace(accessKey), secretKey: &sk}
}

func (c Credentials) secret() string {
	if c.secretKey == nil {
		return ""
	}
	return *c.secretKey
}

// AccessKey returns the access key ID (not a secret: it is sent in a header).
func (c Credentials) AccessKey() string { return c.accessKey }

// Valid reports whether both parts are set.
func (c Credentials) Valid() bool { return c.accessKey != "" && c.secret() != "" }

func (c Credentials) sign(method, requestURI string, tsMillis int64) string {
	return Sign(method, requestURI, tsMillis, c.accessKey, c.secret())
}

func (c Credentials) redacted() string {
	if c.secret() == "" {
		return fmt.Sprintf("Credentials{AccessKey: %q, SecretKey: <unset>}", c.accessKey)
	}
	return fmt.Sprintf("Credentials{AccessKey: %q, SecretKey: <redacted>}", c.accessKey)
}

// String implements fmt.Stringer without the secret.
func (c Credentials) String() string { return c.redacted() }

// GoString implements fmt.GoStringer without the secret.
func (c Credentials) GoString() string { return c.redacted() }

// Format implements fmt.Formatter, so that every verb (%v, %+v, %#v, %s, %q,
// %x) prints the redacted form.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.redacted())
		return
	}
	_, _ = f.Write([]byte(c.redacted()))
}

// LogValue implements slog.LogValuer without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key", c.accessKey), slog.String("secret_key", "<redacted>"))
}

// CredentialsProvider returns the credentials to sign the next request with.
// It is called once per attempt, so a provider may rotate keys.
type CredentialsProvider interface {
	Credentials() (Credentials, error)
}

// Static returns a provider that always returns c.
func Static(c Credentials) CredentialsProvider { return staticProvider{c} }

type staticProvider struct{ c Credentials }

func (s staticProvider) Credentials() (Credentials, error) { return s.c, nil }

// FileCredentials reads the access key and the secret key from two files and
// reads them again when either file changes (size or modification time), so
// keys can be rotated without a restart. Checks are at most once per
// CheckInterval.
type FileCredentials struct {
	AccessKeyFile string
	SecretKeyFile string
	// CheckInterval bounds how often the files are stat'ed; 0 means 1 s.
	CheckInterval time.Duration

	mu        sync.Mutex
	cur       Credentials
	stamp     [2]fileStamp
	lastCheck time.Time
	loaded    bool
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// Credentials implements CredentialsProvider.
func (f *FileCredentials) Credentials() (Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	interval := f.CheckInterval
	if interval <= 0 {
		interval = time.Second
	}
	now := time.Now()
	if f.loaded && now.Sub(f.lastCheck) < interval {
		return f.cur, nil
	}
	f.lastCheck = now
	var stamps [2]fileStamp
	for i, p := range []string{f.AccessKeyFile, f.SecretKeyFile} {
		st, err := os.Stat(p)
		if err != nil {
			if f.loaded {
				// Keep the keys we have: a rotation may be replacing the file.
				return f.cur, nil
			}
			return Credentials{}, fmt.Errorf("credentials file: %w", err)
		}
		stamps[i] = fileStamp{st.Size(), st.ModTime()}
	}
	if f.loaded && stamps == f.stamp {
		return f.cur, nil
	}
	c, err := LoadCredentialsFiles(f.AccessKeyFile, f.SecretKeyFile)
	if err != nil {
		if f.loaded {
			return f.cur, nil
		}
		return Credentials{}, err
	}
	f.cur, f.stamp, f.loaded = c, stamps, true
	return c, nil
}

// LoadCredentialsFiles reads a key pair from two files (surrounding white
// space ignored). The error names the file, never its content.
func LoadCredentialsFiles(accessKeyFile, secretKeyFile string) (Credentials, error) {
	ak, err := os.ReadFile(accessKeyFile) //nolint:gosec // G304: the operator names the file (--ncp.access-key-file)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading access key file: %w", err)
	}
	sk, err := os.ReadFile(secretKeyFile) //nolint:gosec // G304: the operator names the file (--ncp.secret-key-file)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading secret key file: %w", err)
	}
	c := NewCredentials(string(bytes.TrimSpace(ak)), string(bytes.TrimSpace(sk)))
	if c.accessKey == "" {
		return Credentials{}, fmt.Errorf("access key file %s is empty", accessKeyFile)
	}
	if c.secret() == "" {
		return Credentials{}, fmt.Errorf("secret key file %s is empty", secretKeyFile)
	}
	return c, nil
}

// ErrNoCredentials is returned by CredentialsFromEnv when a key is missing.
var ErrNoCredentials = errors.New("no NCP credentials")

// CredentialsFromEnv reads NCLOUD_ACCESS_KEY (or NCLOUD_ACCESS_KEY_ID) and
// NCLOUD_SECRET_KEY (or NCLOUD_SECRET_ACCESS_KEY) through getenv.
func CredentialsFromEnv(getenv func(string) string) (Credentials, error) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	ak := first("NCLOUD_ACCESS_KEY", "NCLOUD_ACCESS_KEY_ID")
	sk := first("NCLOUD_SECRET_KEY", "NCLOUD_SECRET_ACCESS_KEY")
	switch {
	case ak == "" && sk == "":
		return Credentials{}, fmt.Errorf("%w: set NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY, or use the key file flags", ErrNoCredentials)
	case ak == "":
		return Credentials{}, fmt.Errorf("%w: NCLOUD_ACCESS_KEY (or NCLOUD_ACCESS_KEY_ID) is not set", ErrNoCredentials)
	case sk == "":
		return Credentials{}, fmt.Errorf("%w: NCLOUD_SECRET_KEY (or NCLOUD_SECRET_ACCESS_KEY) is not set", ErrNoCredentials)
	}
	return NewCredentials(ak, sk), nil
}
