package client

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ExpiryMargin is how long before its expiry a temporary key stops being
// used (Config.ExpiryMargin): a request signed with it must reach the
// gateway while the key is still valid there.
const ExpiryMargin = 10 * time.Second

// Credentials is an NCP API key pair, and when it is a temporary key, the
// time it expires. Its String, GoString, Format and LogValue methods never
// show the secret key, so a Credentials value can be logged or printed by
// mistake without leaking it.
type Credentials struct {
	accessKey string
	// secretKey is behind a pointer so that fmt, printing a struct that
	// holds Credentials in an unexported field (a provider, a Config, the
	// Client), shows an address and not the secret: fmt does not call
	// Format on values reached through unexported fields.
	secretKey *string
	expires   time.Time
}

// NewCredentials returns the key pair; both parts are trimmed of white space.
// The key does not expire.
func NewCredentials(accessKey, secretKey string) Credentials {
	sk := strings.TrimSpace(secretKey)
	return Credentials{accessKey: strings.TrimSpace(accessKey), secretKey: &sk}
}

// NewTemporaryCredentials returns a key pair that expires at expires (the
// zero time: never), such as a server role's key.
func NewTemporaryCredentials(accessKey, secretKey string, expires time.Time) Credentials {
	c := NewCredentials(accessKey, secretKey)
	c.expires = expires
	return c
}

func (c Credentials) secret() string {
	if c.secretKey == nil {
		return ""
	}
	return *c.secretKey
}

// AccessKey returns the access key ID (not a secret: it is sent in a header).
func (c Credentials) AccessKey() string { return c.accessKey }

// Expires returns when the key expires; the zero time means never.
func (c Credentials) Expires() time.Time { return c.expires }

// Valid reports whether both parts are set. It says nothing of expiry.
func (c Credentials) Valid() bool { return c.accessKey != "" && c.secret() != "" }

func (c Credentials) sign(method, requestURI string, tsMillis int64) string {
	return Sign(method, requestURI, tsMillis, c.accessKey, c.secret())
}

func (c Credentials) redacted() string {
	secret := "<redacted>"
	if c.secret() == "" {
		secret = "<unset>"
	}
	if c.expires.IsZero() {
		return fmt.Sprintf("Credentials{AccessKey: %q, SecretKey: %s}", c.accessKey, secret)
	}
	return fmt.Sprintf("Credentials{AccessKey: %q, SecretKey: %s, Expires: %s}", c.accessKey, secret, c.expires.UTC().Format(time.RFC3339))
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
	attrs := []slog.Attr{slog.String("access_key", c.accessKey), slog.String("secret_key", "<redacted>")}
	if !c.expires.IsZero() {
		attrs = append(attrs, slog.Time("expires", c.expires))
	}
	return slog.GroupValue(attrs...)
}

// CredentialsProvider returns the credentials to sign the next request with.
// It is called once per attempt, within the call's ctx, so a provider may
// rotate keys, or fetch one.
type CredentialsProvider interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// Static returns a provider that always returns c.
func Static(c Credentials) CredentialsProvider { return staticProvider{c} }

type staticProvider struct{ c Credentials }

func (s staticProvider) Credentials(context.Context) (Credentials, error) { return s.c, nil }
