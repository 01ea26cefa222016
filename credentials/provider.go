// Package credentials finds the NCP API key the exporter signs with: key
// files, environment variables, NCP's configure file (~/.ncloud/configure)
// or the server role of an NCP VPC server (its metadata service), and
// Chain, which tries them in the order of NCP's SDKs. Every Provider says
// where its key comes from (Source) and when it expires (Expiry), and
// none of them puts a secret in an error, a Source or its printed form.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Provider is a client.CredentialsProvider that says where its key comes
// from and when the key expires.
type Provider interface {
	client.CredentialsProvider
	// Source says where the key comes from, never what it is: "key files
	// /run/ak, /run/sk", "environment NCLOUD_ACCESS_KEY_ID/NCLOUD_SECRET_ACCESS_KEY",
	// "configure file /home/me/.ncloud/configure [lab]", "server role
	// my-role (metadata http://169.254.169.254)".
	Source() string
	// Expiry is when the current key expires; the zero time for a key
	// that does not.
	Expiry() time.Time
}

// ErrNoCredentials is wrapped by the error of a source that holds no key
// at all (FromEnv with none of its variables set), and by Chain's error
// when no source had one.
var ErrNoCredentials = errors.New("no NCP credentials")

// maxFileBytes bounds what is read of a key file or a configure file.
const maxFileBytes = 64 << 10

// readFile reads the file at path, at most maxFileBytes of it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the operator names the file (a flag, the config file, $HOME)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, maxFileBytes>>10)
	}
	return b, nil
}

// clean makes text from outside (an answer of the metadata service, a
// name in a file) fit for an error: printable, on one line, at most n
// runes, without any of the secrets given.
func clean(text string, n int, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "<redacted>")
		}
	}
	var b strings.Builder
	runes := 0
	for _, r := range text {
		if runes == n {
			b.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError:
			r = '?'
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0):
			r = '?'
		}
		b.WriteRune(r)
		runes++
	}
	return strings.TrimSpace(b.String())
}

// static is a Provider of a key that does not change.
type static struct {
	creds  client.Credentials
	source string
}

func (s *static) Credentials(context.Context) (client.Credentials, error) { return s.creds, nil }
func (s *static) Source() string                                          { return s.source }
func (s *static) Expiry() time.Time                                       { return s.creds.Expires() }
