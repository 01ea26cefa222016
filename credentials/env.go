package credentials

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// NCP's environment variables, in the order NCP's Go SDK reads them: the
// first of each pair that is set wins.
var (
	accessKeyVars = []string{"NCLOUD_ACCESS_KEY_ID", "NCLOUD_ACCESS_KEY"}
	secretKeyVars = []string{"NCLOUD_SECRET_ACCESS_KEY", "NCLOUD_SECRET_KEY"}
)

// Env returns a Provider of the key in the environment variables named
// accessKeyVar and secretKeyVar, read through getenv at each call: an
// unset or empty variable is an error of Credentials that names it.
func Env(accessKeyVar, secretKeyVar string, getenv func(string) string) Provider {
	return &envVars{ak: accessKeyVar, sk: secretKeyVar, getenv: getenv}
}

type envVars struct {
	ak, sk string
	getenv func(string) string
}

func (e *envVars) Credentials(context.Context) (client.Credentials, error) {
	ak, sk := strings.TrimSpace(e.getenv(e.ak)), strings.TrimSpace(e.getenv(e.sk))
	switch {
	case ak == "" && sk == "":
		return client.Credentials{}, fmt.Errorf("environment variables %s and %s are not set", e.ak, e.sk)
	case ak == "":
		return client.Credentials{}, fmt.Errorf("environment variable %s is not set", e.ak)
	case sk == "":
		return client.Credentials{}, fmt.Errorf("environment variable %s is not set", e.sk)
	}
	return client.NewCredentials(ak, sk), nil
}

func (e *envVars) Source() string    { return "environment " + e.ak + "/" + e.sk }
func (e *envVars) Expiry() time.Time { return time.Time{} }

// FromEnv returns a Provider of the key in NCP's environment variables,
// read once through getenv: NCLOUD_ACCESS_KEY_ID, else NCLOUD_ACCESS_KEY,
// and NCLOUD_SECRET_ACCESS_KEY, else NCLOUD_SECRET_KEY (the order of NCP's
// Go SDK). With none of them set, the error wraps ErrNoCredentials; an
// access key without a secret key, or the reverse, is an error of its own.
func FromEnv(getenv func(string) string) (Provider, error) {
	first := func(names []string) (name, value string) {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return n, v
			}
		}
		return "", ""
	}
	akVar, ak := first(accessKeyVars)
	skVar, sk := first(secretKeyVars)
	akNames, skNames := strings.Join(accessKeyVars, " or "), strings.Join(secretKeyVars, " or ")
	switch {
	case ak == "" && sk == "":
		return nil, fmt.Errorf("%w: none of %s, %s is set", ErrNoCredentials, strings.Join(accessKeyVars, ", "), strings.Join(secretKeyVars, ", "))
	case ak == "":
		return nil, fmt.Errorf("%s is set but %s is not", skVar, akNames)
	case sk == "":
		return nil, fmt.Errorf("%s is set but %s is not", akVar, skNames)
	}
	return &static{creds: client.NewCredentials(ak, sk), source: "environment " + akVar + "/" + skVar}, nil
}
