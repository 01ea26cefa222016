package credentials

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ProfileVar names the environment variable of the configure file's
// profile, as ncp-iam-authenticator reads it.
const ProfileVar = "NCLOUD_PROFILE"

// ChainOptions are what Chain looks at.
type ChainOptions struct {
	// AccessKeyFile and SecretKeyFile are the key files (flags): both or
	// neither.
	AccessKeyFile string
	SecretKeyFile string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Home is the home directory of the configure file
	// (ConfigurePath(Home)); "" means none is looked for.
	Home string
	// Profile is the configure file's profile (a flag); "" means
	// $NCLOUD_PROFILE, else DefaultProfile.
	Profile string
	// Role configures the server role; its Endpoint "" means
	// $NCLOUD_METADATA_API_ENDPOINT, else DefaultMetadataEndpoint.
	Role RoleOptions
}

// Chain finds the key of the single account without a config file, in the
// order of NCP's SDKs, after the key files: the key files, NCP's
// environment variables (FromEnv), the configure file (its profile from
// Profile or NCLOUD_PROFILE, else DEFAULT), then the server role, whose
// first key it fetches within ctx and the role's own timeouts (on a
// machine without a metadata service, a refused connection fails at once
// and a black-holed one within RoleOptions.ConnectTimeout).
//
// A source that is configured but broken is an error, never a reason to
// try the next: one key file without the other or unreadable, one
// variable of a pair, a configure file that exists but does not parse or
// lacks the profile or a key (or, with a profile named, does not exist).
// With no source, the error wraps ErrNoCredentials and names every source
// tried and why it had nothing. The provider's Source says which was
// chosen.
func Chain(ctx context.Context, o ChainOptions) (Provider, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var tried []string

	// The key files.
	switch {
	case o.AccessKeyFile != "" && o.SecretKeyFile != "":
		f := &Files{AccessKeyFile: o.AccessKeyFile, SecretKeyFile: o.SecretKeyFile}
		if _, err := f.Credentials(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Source(), err)
		}
		return f, nil
	case o.AccessKeyFile != "":
		return nil, errors.New("key files: an access key file without a secret key file")
	case o.SecretKeyFile != "":
		return nil, errors.New("key files: a secret key file without an access key file")
	}
	tried = append(tried, "key files (none given)")

	// NCP's environment variables.
	p, err := FromEnv(getenv)
	switch {
	case err == nil:
		return p, nil
	case !errors.Is(err, ErrNoCredentials):
		return nil, fmt.Errorf("environment: %w", err)
	}
	tried = append(tried, "environment ("+strings.Join(accessKeyVars, ", ")+", "+strings.Join(secretKeyVars, ", ")+" not set)")

	// The configure file.
	profile, named := o.Profile, o.Profile != ""
	if profile == "" {
		profile = strings.TrimSpace(getenv(ProfileVar))
		named = profile != ""
	}
	if o.Home == "" {
		if named {
			return nil, fmt.Errorf("configure file: profile [%s] named, but no home directory to find the file in", clean(profile, 64))
		}
		tried = append(tried, "configure file (no home directory)")
	} else {
		c := &Configure{Path: ConfigurePath(o.Home), Profile: profile}
		_, err := os.Stat(c.Path)
		switch {
		case err == nil:
			if _, err := c.Credentials(ctx); err != nil {
				return nil, err
			}
			return c, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("configure file: %w", err)
		case named:
			return nil, fmt.Errorf("configure file %s, named by profile [%s], does not exist", c.Path, clean(profile, 64))
		}
		tried = append(tried, "configure file "+c.Path+" (does not exist)")
	}

	// The server role.
	ro := o.Role
	if ro.Endpoint == "" {
		ro.Endpoint = strings.TrimSpace(getenv(MetadataEndpointVar))
	}
	role, err := NewRole(ro)
	if err != nil {
		return nil, fmt.Errorf("server role: %w", err)
	}
	if _, err := role.Credentials(ctx); err != nil {
		tried = append(tried, err.Error())
		return nil, fmt.Errorf("%w: tried %s", ErrNoCredentials, strings.Join(tried, "; "))
	}
	return role, nil
}
