package credentials

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
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

	r reread
}

// Credentials implements client.CredentialsProvider.
func (f *Files) Credentials(context.Context) (client.Credentials, error) {
	return f.r.get(f.CheckInterval, "key file", []string{f.AccessKeyFile, f.SecretKeyFile}, func() (client.Credentials, error) {
		return LoadFiles(f.AccessKeyFile, f.SecretKeyFile)
	})
}

// reread holds a key read from files, and reads them again when one of
// them changes (size or modification time), at most once per interval;
// while a change leaves them missing or unusable, it keeps the key it
// has: a rotation or an edit may be under way.
type reread struct {
	mu        sync.Mutex
	cur       client.Credentials
	stamps    []fileStamp
	lastCheck time.Time
	loaded    bool
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// get returns the key, reading it with load when the files at paths
// changed; what names the files in an error.
func (r *reread) get(interval time.Duration, what string, paths []string, load func() (client.Credentials, error)) (client.Credentials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if interval <= 0 {
		interval = time.Second
	}
	now := time.Now()
	if r.loaded && now.Sub(r.lastCheck) < interval {
		return r.cur, nil
	}
	r.lastCheck = now
	stamps := make([]fileStamp, len(paths))
	for i, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			if r.loaded {
				return r.cur, nil
			}
			return client.Credentials{}, fmt.Errorf("%s: %w", what, err)
		}
		stamps[i] = fileStamp{st.Size(), st.ModTime()}
	}
	if r.loaded && slices.Equal(stamps, r.stamps) {
		return r.cur, nil
	}
	c, err := load()
	if err != nil {
		if r.loaded {
			return r.cur, nil
		}
		return client.Credentials{}, err
	}
	r.cur, r.stamps, r.loaded = c, stamps, true
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
