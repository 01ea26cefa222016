package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

const (
	testAccessKey = "ncp_iam_TESTACCESSKEY01"
	testSecretKey = "ncp_iam_TESTSECRETKEY0123456789"
)

// TestCredentialsNeverPrintSecret prints credentials, and the things that
// hold them, every way a log line might, and looks for the secret.
func TestCredentialsNeverPrintSecret(t *testing.T) {
	creds := client.NewCredentials("  "+testAccessKey+"\n", "\t"+testSecretKey+" ")
	if !creds.Valid() || creds.AccessKey() != testAccessKey {
		t.Fatalf("NewCredentials did not trim: valid=%v access key %q", creds.Valid(), creds.AccessKey())
	}
	cfg := client.Config{BaseURL: "http://127.0.0.1:1", Credentials: client.Static(creds)}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	temp := client.NewTemporaryCredentials(testAccessKey, testSecretKey, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))

	values := map[string]any{
		"value":            creds,
		"pointer":          &creds,
		"static provider":  client.Static(creds),
		"config":           cfg,
		"client":           c,
		"temporary":        temp,
		"temporary static": client.Static(temp),
		"slice":            []client.Credentials{creds},
		"struct field":     struct{ C client.Credentials }{creds},
		"unexported field": struct{ c client.Credentials }{creds},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testSecretKey) || strings.Contains(out, fmt.Sprintf("%x", testSecretKey)) {
				t.Errorf("%s printed with %s shows the secret: %s", name, verb, out)
			}
		}
		for _, h := range []struct {
			name string
			mk   func(*bytes.Buffer) slog.Handler
		}{
			{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
			{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		} {
			var buf bytes.Buffer
			slog.New(h.mk(&buf)).Info("loaded", "creds", v, slog.Any("any", v), slog.Group("g", "c", v))
			if strings.Contains(buf.String(), testSecretKey) {
				t.Errorf("%s logged with the %s handler shows the secret: %s", name, h.name, buf.String())
			}
		}
	}

	// The redacted forms still say what they are.
	for _, out := range []string{creds.String(), creds.GoString(), fmt.Sprintf("%v", creds), fmt.Sprintf("%#v", creds)} {
		if !strings.Contains(out, testAccessKey) || !strings.Contains(out, "<redacted>") {
			t.Errorf("redacted form %q lacks the access key or the <redacted> mark", out)
		}
	}
	if q := fmt.Sprintf("%q", creds); !strings.HasPrefix(q, `"`) || !strings.Contains(q, "redacted") {
		t.Errorf("%%q = %s, want a quoted redacted form", q)
	}
	unset := client.NewCredentials(testAccessKey, "")
	if unset.Valid() || !strings.Contains(unset.String(), "<unset>") {
		t.Errorf("credentials without a secret: valid=%v, String %q", unset.Valid(), unset.String())
	}
	if (client.Credentials{}).Valid() {
		t.Error("zero Credentials is valid")
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "c", creds)
	if !strings.Contains(buf.String(), `"c":{"access_key":"`+testAccessKey+`","secret_key":"<redacted>"}`) {
		t.Errorf("JSON log of credentials: %s", buf.String())
	}
}

// TestUnauthorizedErrorHasNoSecret checks the error of a rejected key.
func TestUnauthorizedErrorHasNoSecret(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL, func(cfg *client.Config) {
		cfg.Credentials = client.Static(client.NewCredentials(mitest.DefaultAccessKey, testSecretKey))
	})
	_, err := c.GetWorkspace(context.Background(), "alpha")
	e, ok := client.AsError(err)
	if !ok || e.StatusCode != 401 || e.Code != "200" || e.Retryable {
		t.Fatalf("err = %#v, want a non-retryable 401 with code 200", err)
	}
	msg := err.Error()
	if strings.Contains(msg, testSecretKey) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), testSecretKey) {
		t.Errorf("401 error shows the secret: %s", msg)
	}
	for _, want := range []string{"HTTP 401", "Authentication Failed", "access key", "secret key", "clock", "5 minutes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 error %q does not mention %q", msg, want)
		}
	}
	if n := s.Requests(client.OpGetWorkspace); n != 1 {
		t.Errorf("a 401 was sent %d times, want 1 (not retried)", n)
	}
}

func TestTemporaryCredentials(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("KST", 9*3600))
	c := client.NewTemporaryCredentials(" "+testAccessKey, testSecretKey+"\n", exp)
	if !c.Valid() || c.AccessKey() != testAccessKey || !c.Expires().Equal(exp) {
		t.Fatalf("NewTemporaryCredentials: valid=%v access key %q expires %v", c.Valid(), c.AccessKey(), c.Expires())
	}
	if !client.NewCredentials("a", "b").Expires().IsZero() {
		t.Error("NewCredentials has an expiry")
	}
	want := `Credentials{AccessKey: "` + testAccessKey + `", SecretKey: <redacted>, Expires: 2030-01-01T18:04:05Z}`
	if got := fmt.Sprintf("%v", c); got != want {
		t.Errorf("%%v = %s, want %s", got, want)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "c", c)
	if !strings.Contains(buf.String(), `"expires":"2030-01-02T03:04:05+09:00"`) || strings.Contains(buf.String(), testSecretKey) {
		t.Errorf("JSON log of temporary credentials: %s", buf.String())
	}
}

// TestClientRefusesUnusableKeys: a provider error, an incomplete key, or a
// key that has expired or expires within the margin fails the call with
// reason credentials, before any request is sent, and is not retried.
func TestClientRefusesUnusableKeys(t *testing.T) {
	now := time.Now()
	temp := func(d time.Duration) client.Credentials {
		return client.NewTemporaryCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey, now.Add(d))
	}
	for _, tc := range []struct {
		name     string
		creds    client.Credentials
		err      error
		margin   time.Duration
		wantText string // "" for success
	}{
		{name: "permanent key", creds: client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey)},
		{name: "valid temporary key", creds: temp(time.Minute)},
		{name: "just outside the margin", creds: temp(client.ExpiryMargin + time.Second)},
		{name: "within the margin", creds: temp(client.ExpiryMargin - time.Second), wantText: "expires at " + now.Add(client.ExpiryMargin-time.Second).UTC().Format(time.RFC3339) + ", within 10s"},
		{name: "within a wider margin", creds: temp(time.Minute), margin: 2 * time.Minute, wantText: "within 2m0s"},
		{name: "a narrower margin", creds: temp(5 * time.Second), margin: time.Second},
		{name: "expired", creds: temp(-time.Second), wantText: "the temporary key expired at"},
		{name: "no secret", creds: client.NewCredentials(mitest.DefaultAccessKey, ""), wantText: "without its access key or secret key"},
		{name: "zero value", creds: client.Credentials{}, wantText: "without its access key or secret key"},
		{name: "provider error", err: errors.New("metadata service: connection refused"), wantText: "no usable credentials: metadata service: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, testInventory())
			var gotCtx context.Context
			c := newClient(t, s.URL, func(cfg *client.Config) {
				cfg.Now = func() time.Time { return now }
				cfg.ExpiryMargin = tc.margin
				cfg.Credentials = providerFunc(func(ctx context.Context) (client.Credentials, error) {
					gotCtx = ctx
					return tc.creds, tc.err
				})
			})
			type key struct{}
			ctx := context.WithValue(context.Background(), key{}, "call")
			_, err := c.GetWorkspace(ctx, "alpha")
			if gotCtx == nil || gotCtx.Value(key{}) != "call" {
				t.Error("the provider was not given the call's context")
			}
			if tc.wantText == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			e, ok := client.AsError(err)
			if !ok || e.Op != client.OpGetWorkspace || e.Retryable || e.Attempts != 1 || e.StatusCode != 0 {
				t.Fatalf("err = %#v, want a non-retried *Error of get_workspace without a status", err)
			}
			if r := client.ReasonOf(err); r != client.ReasonCredentials {
				t.Errorf("ReasonOf = %q, want %q", r, client.ReasonCredentials)
			}
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "no usable credentials") {
				t.Errorf("err %q does not say %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), mitest.DefaultSecretKey) {
				t.Errorf("err %q shows the secret", err)
			}
			if n := s.TotalRequests(); n != 0 {
				t.Errorf("%d requests sent without a usable key", n)
			}
		})
	}
	if _, err := client.New(client.Config{Credentials: client.Static(temp(time.Hour)), ExpiryMargin: -time.Second}); err == nil || !strings.Contains(err.Error(), "negative expiry margin") {
		t.Errorf("New with a negative margin: %v", err)
	}
}

// TestKeyExpiresWhileWaitingForTheGate: the key is checked again once the
// request holds its slot, so a wait for the gate cannot send an expired key.
func TestKeyExpiresWhileWaitingForTheGate(t *testing.T) {
	s := newServer(t, testInventory())
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newClient(t, s.URL, func(cfg *client.Config) {
		cfg.Now = clock
		cfg.Credentials = client.Static(client.NewTemporaryCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey, now.Add(time.Minute)))
	}).Gated(gateFunc(func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(55 * time.Second) // the wait for a slot takes most of the key's life
		return nil
	}))
	_, err := c.GetWorkspace(context.Background(), "alpha")
	if client.ReasonOf(err) != client.ReasonCredentials || !strings.Contains(fmt.Sprint(err), "within 10s") {
		t.Fatalf("err = %v, want a credentials error for a key expiring within the margin", err)
	}
	if n := s.TotalRequests(); n != 0 {
		t.Errorf("%d requests sent with a key that expired while waiting", n)
	}
}

type providerFunc func(context.Context) (client.Credentials, error)

func (f providerFunc) Credentials(ctx context.Context) (client.Credentials, error) { return f(ctx) }

type gateFunc func(context.Context) error

func (f gateFunc) Acquire(ctx context.Context) error { return f(ctx) }
func (f gateFunc) Release()                          {}
