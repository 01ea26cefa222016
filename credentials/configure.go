package credentials

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// The keys of a configure file's profile.
const (
	ConfigureAccessKey = "ncloud_access_key_id"
	ConfigureSecretKey = "ncloud_secret_access_key"
)

// DefaultProfile is the configure file's profile when none is named.
const DefaultProfile = defaultSection

// ConfigurePath is where NCP's CLI and SDKs keep the configure file under
// the home directory home.
func ConfigurePath(home string) string { return filepath.Join(home, ".ncloud", "configure") }

// Configure is a Provider of the key in a profile of NCP's configure file
// (INI: [profile] sections of "key = value" lines, '#' and ';' comments; a
// file without sections is the DEFAULT profile). It reads the file again
// when it changes (size or modification time), at most once per
// CheckInterval; while an edit leaves it unreadable or without the key,
// it keeps the key it has.
type Configure struct {
	Path string
	// Profile is the section; "" means DefaultProfile.
	Profile string
	// CheckInterval bounds how often the file is stat'ed; 0 means 1 s.
	CheckInterval time.Duration

	r reread
}

func (c *Configure) profile() string {
	if c.Profile == "" {
		return DefaultProfile
	}
	return c.Profile
}

// Credentials implements client.CredentialsProvider.
func (c *Configure) Credentials(context.Context) (client.Credentials, error) {
	return c.r.get(c.CheckInterval, "configure file", []string{c.Path}, func() (client.Credentials, error) {
		return LoadConfigure(c.Path, c.profile())
	})
}

// Source implements Provider: "configure file PATH [PROFILE]".
func (c *Configure) Source() string { return "configure file " + c.Path + " [" + c.profile() + "]" }

// Expiry implements Provider: a key in the configure file does not expire.
func (c *Configure) Expiry() time.Time { return time.Time{} }

// LoadConfigure reads the key of profile ("" for DefaultProfile) from the
// configure file at path (at most 64 KiB). A file that does not parse, or
// lacks the profile or one of its two keys, is an error naming the file,
// the profile and the key, never a value.
func LoadConfigure(path, profile string) (client.Credentials, error) {
	if profile == "" {
		profile = DefaultProfile
	}
	data, err := readFile(path)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("reading configure file: %w", err)
	}
	f, err := parseINI(data)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("configure file %s: %w", path, err)
	}
	sec, ok := f[profile]
	if !ok {
		return client.Credentials{}, fmt.Errorf("configure file %s has no profile [%s]", path, clean(profile, 64))
	}
	ak, sk := sec[ConfigureAccessKey], sec[ConfigureSecretKey]
	for _, k := range []struct{ name, value string }{{ConfigureAccessKey, ak}, {ConfigureSecretKey, sk}} {
		if k.value == "" {
			return client.Credentials{}, fmt.Errorf("configure file %s: profile [%s] has no %s", path, clean(profile, 64), k.name)
		}
	}
	return client.NewCredentials(ak, sk), nil
}
