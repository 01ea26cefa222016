package credentials_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/credentials"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		ak, sk  string
		source  string
		none    bool     // the error wraps ErrNoCredentials
		wantErr []string // substrings of the error; nil means success
	}{
		{name: "SDK names", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": "a1", "NCLOUD_SECRET_ACCESS_KEY": "s1"}, ak: "a1", sk: "s1",
			source: "environment NCLOUD_ACCESS_KEY_ID/NCLOUD_SECRET_ACCESS_KEY"},
		{name: "Terraform names", env: map[string]string{"NCLOUD_ACCESS_KEY": "a2", "NCLOUD_SECRET_KEY": "s2"}, ak: "a2", sk: "s2",
			source: "environment NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY"},
		{name: "the Go SDK's names win", env: map[string]string{"NCLOUD_ACCESS_KEY": "a2", "NCLOUD_ACCESS_KEY_ID": "a1", "NCLOUD_SECRET_KEY": "s2", "NCLOUD_SECRET_ACCESS_KEY": "s1"},
			ak: "a1", sk: "s1", source: "environment NCLOUD_ACCESS_KEY_ID/NCLOUD_SECRET_ACCESS_KEY"},
		{name: "mixed", env: map[string]string{"NCLOUD_ACCESS_KEY": "a2", "NCLOUD_SECRET_ACCESS_KEY": " s1 "}, ak: "a2", sk: "s1",
			source: "environment NCLOUD_ACCESS_KEY/NCLOUD_SECRET_ACCESS_KEY"},
		{name: "blank name falls back to the other", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": "  ", "NCLOUD_ACCESS_KEY": " a2 ", "NCLOUD_SECRET_KEY": "s2"}, ak: "a2", sk: "s2",
			source: "environment NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY"},
		{name: "nothing", env: map[string]string{}, none: true,
			wantErr: []string{"no NCP credentials", "NCLOUD_ACCESS_KEY_ID, NCLOUD_ACCESS_KEY, NCLOUD_SECRET_ACCESS_KEY, NCLOUD_SECRET_KEY"}},
		{name: "blanks only", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": " ", "NCLOUD_SECRET_KEY": "\t"}, none: true, wantErr: []string{"is set"}},
		{name: "no access key", env: map[string]string{"NCLOUD_SECRET_KEY": testSecretKey},
			wantErr: []string{"NCLOUD_SECRET_KEY is set but NCLOUD_ACCESS_KEY_ID or NCLOUD_ACCESS_KEY is not"}},
		{name: "no secret key", env: map[string]string{"NCLOUD_ACCESS_KEY_ID": "a1"},
			wantErr: []string{"NCLOUD_ACCESS_KEY_ID is set but NCLOUD_SECRET_ACCESS_KEY or NCLOUD_SECRET_KEY is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := credentials.FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("FromEnv = %v, want an error", p)
				}
				if errors.Is(err, credentials.ErrNoCredentials) != tt.none {
					t.Errorf("err = %v: wraps ErrNoCredentials %v, want %v", err, !tt.none, tt.none)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), testSecretKey) {
					t.Errorf("err %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKey() != tt.ak || signWith(t, c) != signedX(tt.ak, tt.sk) {
				t.Errorf("credentials %v do not sign as %q/%q", c, tt.ak, tt.sk)
			}
			if p.Source() != tt.source || !p.Expiry().IsZero() {
				t.Errorf("Source %q, Expiry %v; want %q and zero", p.Source(), p.Expiry(), tt.source)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	env := map[string]string{"MY_AK": "ak1", "MY_SK": testSecretKey, "BLANK": "  "}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		ak, sk string
		want   string // error text; "" for success
	}{
		{"MY_AK", "MY_SK", ""},
		{"MY_AK", "UNSET", "environment variable UNSET is not set"},
		{"BLANK", "MY_SK", "environment variable BLANK is not set"},
		{"UNSET1", "UNSET2", "environment variables UNSET1 and UNSET2 are not set"},
	} {
		p := credentials.Env(tt.ak, tt.sk, getenv)
		if got, want := p.Source(), "environment "+tt.ak+"/"+tt.sk; got != want {
			t.Errorf("Source = %q, want %q", got, want)
		}
		c, err := p.Credentials(context.Background())
		if tt.want == "" {
			if err != nil || signWith(t, c) != signedX("ak1", testSecretKey) {
				t.Errorf("Env(%s, %s): %v, %v", tt.ak, tt.sk, c, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("Env(%s, %s): err %v, want %q", tt.ak, tt.sk, err, tt.want)
		}
	}
	// Read at each call: a variable set later is seen.
	p := credentials.Env("LATER_AK", "MY_SK", getenv)
	if _, err := p.Credentials(context.Background()); err == nil {
		t.Fatal("an unset variable gave a key")
	}
	env["LATER_AK"] = "ak2"
	if c, err := p.Credentials(context.Background()); err != nil || c.AccessKey() != "ak2" {
		t.Errorf("after setting the variable: %v, %v", c, err)
	}
}
