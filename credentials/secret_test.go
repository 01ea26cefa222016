package credentials_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/credentials"
)

// TestNoSecretShown: for every source, with a key loaded and broken, the
// secret appears in no error, Source, printed form of the provider or of
// a client holding it, nor in a log line; nor does the metadata token.
func TestNoSecretShown(t *testing.T) {
	dir := t.TempDir()
	akf, skf := writeKeys(t, dir, "AK_FILE", testSecretKey)
	conf := filepath.Join(dir, "configure")
	writeFile(t, conf, "[lab]\nncloud_access_key_id = AK_CONF\nncloud_secret_access_key = "+testSecretKey+"\n")
	brokenConf := filepath.Join(dir, "broken")
	writeFile(t, brokenConf, "[lab]\nncloud_secret_access_key = "+testSecretKey+"\n"+testSecretKey+"\n")
	half := filepath.Join(dir, "half")
	writeFile(t, half, "[lab]\nncloud_secret_access_key = "+testSecretKey+"\n")
	env := map[string]string{"NCLOUD_ACCESS_KEY_ID": "AK_ENV", "NCLOUD_SECRET_ACCESS_KEY": testSecretKey, "MY_SK": testSecretKey}
	getenv := func(k string) string { return env[k] }
	md := newMetadata(t, time.Now)
	broken := newMetadata(t, time.Now)
	broken.set(func(m *metadata) {
		m.keyBody = func(int, time.Time) string {
			return `{"Code":"Denied","Message":"` + roleSecretKey(9) + `","AccessKeyId":"AK","SecretAccessKey":"` + roleSecretKey(9) + `"}`
		}
	})

	fromEnv, err := credentials.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	chained, err := credentials.Chain(context.Background(), credentials.ChainOptions{Role: credentials.RoleOptions{Endpoint: md.URL}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		good   credentials.Provider
		broken []func() error
	}{
		{"key files", &credentials.Files{AccessKeyFile: akf, SecretKeyFile: skf}, []func() error{
			func() error { _, err := credentials.LoadFiles(skf, filepath.Join(dir, "nope")); return err },
			func() error {
				_, err := (&credentials.Files{AccessKeyFile: skf, SecretKeyFile: dir}).Credentials(context.Background())
				return err
			},
		}},
		{"environment", fromEnv, []func() error{
			func() error {
				_, err := credentials.FromEnv(func(k string) string { return map[string]string{"NCLOUD_SECRET_KEY": testSecretKey}[k] })
				return err
			},
			func() error {
				_, err := credentials.Env("UNSET", "MY_SK", getenv).Credentials(context.Background())
				return err
			},
		}},
		{"named variables", credentials.Env("NCLOUD_ACCESS_KEY_ID", "MY_SK", getenv), nil},
		{"configure file", &credentials.Configure{Path: conf, Profile: "lab"}, []func() error{
			func() error { _, err := credentials.LoadConfigure(brokenConf, "lab"); return err },
			func() error { _, err := credentials.LoadConfigure(half, "lab"); return err },
		}},
		{"server role", chained, []func() error{
			func() error {
				r, err := credentials.NewRole(credentials.RoleOptions{Endpoint: broken.URL})
				if err != nil {
					return err
				}
				_, err = r.Credentials(context.Background())
				return err
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.good.Credentials(context.Background())
			if err != nil || !c.Valid() {
				t.Fatalf("no key: %v", err)
			}
			cl, err := client.New(client.Config{Credentials: tc.good})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, v := range []any{tc.good, c, cl} {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
					texts = append(texts, fmt.Sprintf(verb, v))
				}
			}
			texts = append(texts, tc.good.Source())
			for _, mk := range []func(*bytes.Buffer) slog.Handler{
				func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
				func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			} {
				var buf bytes.Buffer
				l := slog.New(mk(&buf))
				l.Info("credentials", "source", tc.good.Source(), "provider", tc.good, "key", c, "expiry", tc.good.Expiry())
				for _, f := range tc.broken {
					l.Error("credentials", "err", f())
				}
				texts = append(texts, buf.String())
			}
			for _, f := range tc.broken {
				err := f()
				if err == nil {
					t.Fatal("a broken source gave no error")
				}
				texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
			}
			for _, text := range texts {
				noSecret(t, tc.name, text)
				if strings.Contains(text, "token-1") {
					t.Errorf("the metadata token shows: %s", text)
				}
			}
		})
	}
}
