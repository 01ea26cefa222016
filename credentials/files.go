package credentials

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Files is a Provider of the key in two files, the access key in one and
// the secret key in the other (surrounding white space ignored). It reads
// them again when either changes (size or modification time), at most
// once per CheckInterval, so a key can be rotated without a restart;
// while a rotation leaves a file missing, empty or unreadable, it keeps
// the key it has.
type Files struct {
	AccessKeyFile string
	SecretKeyFile string
	// CheckInterval bounds how often the files are stat'ed; 0 means 1 s.
	CheckInterval time.Duration

	mu        sync.Mutex
	cur       client.Credentials
	stamp     [2]fileStamp
	lastCheck time.Time
	loaded    bool
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// Credentials implements client.CredentialsProvider.
func (f *Files) Credentials(context.Context) (client.Credentials, error) {
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
			return client.Credentials{}, fmt.Errorf("key file: %w", err)
		}
		stamps[i] = fileStamp{st.Size(), st.ModTime()}
	}
	if f.loaded && stamps == f.stamp {
		return f.cur, nil
	}
	c, err := LoadFiles(f.AccessKeyFile, f.SecretKeyFile)
	if err != nil {
		if f.loaded {
			return f.cur, nil
		}
		return client.Credentials{}, err
	}
	f.cur, f.stamp, f.loaded = c, stamps, true
	return c, nil
}

// Source implements Provider: "key files ACCESS, SECRET".
func (f *Files) Source() string { return "key files " + f.AccessKeyFile + ", " + f.SecretKeyFile }

// Expiry implements Provider: a key in files does not expire.
func (f *Files) Expiry() time.Time { return time.Time{} }

// LoadFiles reads a key pair from two files (surrounding white space
// ignored, at most 64 KiB each). The error names the file, never its
// content.
func LoadFiles(accessKeyFile, secretKeyFile string) (client.Credentials, error) {
	ak, err := readFile(accessKeyFile)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("reading access key file: %w", err)
	}
	sk, err := readFile(secretKeyFile)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("reading secret key file: %w", err)
	}
	ak, sk = bytes.TrimSpace(ak), bytes.TrimSpace(sk)
	if len(ak) == 0 {
		return client.Credentials{}, fmt.Errorf("access key file %s is empty", accessKeyFile)
	}
	if len(sk) == 0 {
		return client.Credentials{}, fmt.Errorf("secret key file %s is empty", secretKeyFile)
	}
	return client.NewCredentials(string(ak), string(sk)), nil
}
