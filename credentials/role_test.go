package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/credentials"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

var t0 = time.Date(2026, 9, 17, 12, 0, 0, 0, time.UTC)

func newRole(t *testing.T, endpoint string, clock func() time.Time, mod ...func(*credentials.RoleOptions)) *credentials.Role {
	t.Helper()
	o := credentials.RoleOptions{Endpoint: endpoint, Timeout: time.Second, ConnectTimeout: time.Second, Now: clock}
	for _, f := range mod {
		f(&o)
	}
	r, err := credentials.NewRole(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func keyJSON(ak, sk, exp string) string {
	return fmt.Sprintf(`{"AccessKeyId":%q,"SecretAccessKey":%q,"Expiration":%q}`, ak, sk, exp)
}

// TestRoleFetch: what the metadata service may answer, and what the
// provider makes of it.
func TestRoleFetch(t *testing.T) {
	sk := roleSecretKey(7)
	body := func(s string) func(int, time.Time) string { return func(int, time.Time) string { return s } }
	for _, tc := range []struct {
		name    string
		setup   func(m *metadata)
		wantExp time.Time // of a key that works
		wantErr []string  // substrings of the error
		token   bool      // the GETs carried a token
	}{
		{name: "with a session token", wantExp: t0.Add(time.Hour), token: true},
		{name: "a server that wants the token (v2 only)", setup: func(m *metadata) { m.v2only = true }, wantExp: t0.Add(time.Hour), token: true},
		{name: "PUT answers 404: plain GETs", setup: func(m *metadata) { m.putStatus = 404 }, wantExp: t0.Add(time.Hour)},
		{name: "PUT answers 405: plain GETs", setup: func(m *metadata) { m.putStatus = 405 }, wantExp: t0.Add(time.Hour)},
		{name: "PUT answers 403: plain GETs", setup: func(m *metadata) { m.putStatus = 403 }, wantExp: t0.Add(time.Hour)},
		{name: "a list of two lines", setup: func(m *metadata) { m.list = roleID + "\nanother-role\n" }, wantExp: t0.Add(time.Hour), token: true},
		{name: "Z", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T13:00:00Z")) }, wantExp: t0.Add(time.Hour), token: true},
		{name: "+00:00", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T13:00:00+00:00")) }, wantExp: t0.Add(time.Hour), token: true},
		{name: "+0000", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T13:00:00+0000")) }, wantExp: t0.Add(time.Hour), token: true},
		{name: "+09:00 and fractions", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T22:00:00.5+09:00")) }, wantExp: t0.Add(time.Hour + 500*time.Millisecond), token: true},
		{name: "Code Success", setup: func(m *metadata) {
			m.keyBody = body(`{"Code":"Success","Message":"","AccessKeyId":"AK","SecretAccessKey":"` + sk + `","Expiration":"2026-09-17T13:00:00Z","LastUpdated":"x"}`)
		}, wantExp: t0.Add(time.Hour), token: true},

		{name: "v2 only and PUT refused", setup: func(m *metadata) { m.v2only, m.putStatus = true, 404 },
			wantErr: []string{"HTTP 401", "requires a session token"}},
		{name: "no role: 404", setup: func(m *metadata) { m.listStatus = 404 },
			wantErr: []string{mdRoles + " (the role list): HTTP 404", `"Path Not found."`, "no server role is attached"}},
		{name: "the list is HTML", setup: func(m *metadata) { m.list, m.listType = "<html><body>Login</body></html>", "text/html" },
			wantErr: []string{"the role list is an HTML page"}},
		{name: "the list is HTML without saying so", setup: func(m *metadata) { m.list = "  <!DOCTYPE html><html>" }, wantErr: []string{"HTML page"}},
		{name: "the list is empty", setup: func(m *metadata) { m.list = " \n" }, wantErr: []string{"the role list is empty"}},
		{name: "the role ID is ..", setup: func(m *metadata) { m.list = ".." }, wantErr: []string{`not a role ID: ".."`}},
		{name: "the role ID has a slash", setup: func(m *metadata) { m.list = "a/b" }, wantErr: []string{"not a role ID"}},
		{name: "the role's key: 404", setup: func(m *metadata) { m.keyStatus = 404 }, wantErr: []string{"HTTP 404", "the role is gone"}},
		{name: "the role's key: 500", setup: func(m *metadata) { m.keyStatus = 500 }, wantErr: []string{"(the role's key): HTTP 500"}},
		{name: "the key is HTML", setup: func(m *metadata) { m.keyBody, m.keyType = body("<html>"+sk+"</html>"), "text/html; charset=utf-8" },
			wantErr: []string{"the role's key is an HTML page"}},
		{name: "the key is not JSON", setup: func(m *metadata) { m.keyBody = body(`{"AccessKeyId":"AK","SecretAccessKey":"` + sk) },
			wantErr: []string{"the role's key is not a JSON object"}},
		{name: "the key is a JSON array", setup: func(m *metadata) { m.keyBody = body(`["` + sk + `"]`) }, wantErr: []string{"the role's key is a JSON array, not an object"}},
		{name: "a field of the wrong type", setup: func(m *metadata) {
			m.keyBody = body(`{"AccessKeyId":"AK","SecretAccessKey":"` + sk + `","Expiration":1790000000}`)
		},
			wantErr: []string{"the role's key: Expiration is not a string"}},
		{name: "no secret", setup: func(m *metadata) { m.keyBody = body(`{"AccessKeyId":"AK","Expiration":"2026-09-17T13:00:00Z"}`) },
			wantErr: []string{"the role's key lacks SecretAccessKey"}},
		{name: "nothing", setup: func(m *metadata) { m.keyBody = body(`{}`) }, wantErr: []string{"lacks AccessKeyId, SecretAccessKey, Expiration"}},
		{name: "a secret with a space", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk+" x", "2026-09-17T13:00:00Z")) },
			wantErr: []string{"SecretAccessKey holds a space"}},
		{name: "a bad Expiration", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17 13:00")) },
			wantErr: []string{`Expiration "2026-09-17 13:00" is not an RFC 3339 time`}},
		{name: "Expiration without a zone", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T13:00:00")) },
			wantErr: []string{"is not an RFC 3339 time"}},
		{name: "an expired key", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T11:59:59Z")) },
			wantErr: []string{"the role's key expired at 2026-09-17T11:59:59Z (the clock here says 2026-09-17T12:00:00Z)"}},
		{name: "a key within the margin", setup: func(m *metadata) { m.keyBody = body(keyJSON("AK", sk, "2026-09-17T12:00:05Z")) },
			wantErr: []string{"the role's key expires at 2026-09-17T12:00:05Z, within 10s"}},
		{name: "Code not Success", setup: func(m *metadata) {
			m.keyBody = body(`{"Code":"Fail","Message":"role\nnot attached ` + sk + `","AccessKeyId":"AK","SecretAccessKey":"` + sk + `"}`)
		}, wantErr: []string{`the metadata service answered code "Fail": "role not attached <redacted>"`}},
		{name: "an answer over 64 KiB", setup: func(m *metadata) {
			m.keyBody = body(strings.Repeat(" ", 65<<10) + keyJSON("AK", sk, "2026-09-17T13:00:00Z"))
		},
			wantErr: []string{"an answer over 64 KiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetadata(t, func() time.Time { return t0 })
			if tc.setup != nil {
				m.set(tc.setup)
			}
			r := newRole(t, m.URL, func() time.Time { return t0 })
			if got, want := r.Source(), "server role (metadata "+m.URL+")"; got != want {
				t.Errorf("Source before a key = %q, want %q", got, want)
			}
			c, err := r.Credentials(context.Background())
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Credentials = %v, want an error", c)
				}
				for _, w := range append(tc.wantErr, "server role") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q does not say %q", err, w)
					}
				}
				noSecret(t, "the error", err.Error())
				if !r.Expiry().IsZero() {
					t.Errorf("Expiry = %v without a key", r.Expiry())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Valid() || !c.Expires().Equal(tc.wantExp) || !r.Expiry().Equal(tc.wantExp) {
				t.Errorf("key %v, Expiry %v; want one expiring at %v", c, r.Expiry(), tc.wantExp)
			}
			if got, want := r.Source(), "server role "+roleID+" (metadata "+m.URL+")"; got != want {
				t.Errorf("Source = %q, want %q", got, want)
			}
			puts, gets, plain, _ := m.counts()
			if puts != 1 {
				t.Errorf("%d token requests, want 1", puts)
			}
			if tc.token && plain != 0 || !tc.token && plain != gets {
				t.Errorf("%d of %d GETs without a token; want a token: %v", plain, gets, tc.token)
			}
			m.mu.Lock()
			ttl := m.putTTL
			m.mu.Unlock()
			if len(ttl) != 1 || ttl[0] != "21600" {
				t.Errorf("token request TTL headers %q, want 21600", ttl)
			}
		})
	}
}

// TestRoleToken: the token is kept until shortly before its TTL, asked for
// again once when refused, and a refused token request is remembered for
// a while.
func TestRoleToken(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newMetadata(t, clock.Now)
	m.set(func(m *metadata) { m.life = time.Minute })
	r := newRole(t, m.URL, clock.Now)
	fetch := func() {
		t.Helper()
		clock.Add(time.Minute) // the last key is gone: fetch a new one
		if _, err := r.Credentials(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, puts, plain, keyGets int) {
		t.Helper()
		p, _, pl, k := m.counts()
		if p != puts || pl != plain || k != keyGets {
			t.Errorf("%s: %d token requests, %d plain GETs, %d key GETs; want %d, %d, %d", what, p, pl, k, puts, plain, keyGets)
		}
	}
	fetch()
	fetch()
	want("two fetches", 1, 0, 2)
	clock.Add(6 * time.Hour)
	fetch()
	want("after the token's TTL", 2, 0, 3)
	m.set(func(m *metadata) { m.revoke = true })
	fetch()
	want("a revoked token", 3, 0, 4)

	// The token request is refused: plain GETs, and no token request for
	// a while.
	m.set(func(m *metadata) { m.putStatus = 405 })
	clock.Add(6 * time.Hour)
	fetch()
	want("token refused", 4, 2, 5)
	fetch()
	want("token refused, remembered", 4, 4, 6)
	clock.Add(10 * time.Minute)
	m.set(func(m *metadata) { m.putStatus = 0 })
	fetch()
	want("ten minutes later", 5, 4, 7)

	// The service starts wanting a token while plain GETs are remembered:
	// the fetch fails, the next one asks for a token.
	m.set(func(m *metadata) { m.putStatus = 404 })
	clock.Add(6 * time.Hour)
	fetch()
	want("token refused again", 6, 6, 8)
	m.set(func(m *metadata) { m.putStatus, m.v2only = 0, true })
	clock.Add(time.Minute)
	_, err := r.Credentials(context.Background())
	if err == nil || !strings.Contains(err.Error(), "requires a session token") {
		t.Fatalf("plain GET refused: %v", err)
	}
	clock.Add(time.Minute) // past the backoff
	if _, err := r.Credentials(context.Background()); err != nil {
		t.Fatalf("after a plain GET was refused, the next fetch failed: %v", err)
	}
	want("v2 only", 7, 7, 9)
}

// TestRoleNoAnswer: a metadata service that hangs, or a port where none
// listens, fails within the timeout, and a token request without an
// answer is not followed by plain GETs.
func TestRoleNoAnswer(t *testing.T) {
	hang := newMetadata(t, time.Now)
	hang.set(func(m *metadata) { m.delay = time.Minute })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name, endpoint string
		want           []string
	}{
		{"a hang", hang.URL, []string{"asking for a session token", "Put", "Client.Timeout exceeded"}},
		{"refused", refused, []string{"asking for a session token", "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRole(t, tc.endpoint, nil, func(o *credentials.RoleOptions) { o.Timeout = 300 * time.Millisecond })
			start := time.Now()
			_, err := r.Credentials(context.Background())
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("gave up after %v, want within the 300ms timeout", d)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
			if _, gets, _, _ := hang.counts(); gets != 0 {
				t.Errorf("%d GETs after a token request without an answer", gets)
			}
			// Straight after, the backoff answers without asking again.
			start = time.Now()
			_, err = r.Credentials(context.Background())
			if time.Since(start) > 100*time.Millisecond || err == nil || !strings.Contains(err.Error(), "no key (next attempt at") {
				t.Errorf("a second call: %v after %v", err, time.Since(start))
			}
		})
	}

	// The caller's context ends before the fetch does.
	r := newRole(t, hang.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = r.Credentials(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a key") {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	credentials.Settle(r) // the fetch ends by its own timeout
}

// TestRoleSharedFetch: callers without a key share one fetch.
func TestRoleSharedFetch(t *testing.T) {
	m := newMetadata(t, time.Now)
	m.set(func(m *metadata) { m.delay = 50 * time.Millisecond })
	r := newRole(t, m.URL, nil)
	var wg sync.WaitGroup
	keys := make([]string, 50)
	for i := range keys {
		wg.Go(func() {
			c, err := r.Credentials(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = c.AccessKey()
		})
	}
	wg.Wait()
	puts, _, _, keyGets := m.counts()
	if puts != 1 || keyGets != 1 {
		t.Errorf("50 callers made %d token requests and %d key requests, want 1 and 1", puts, keyGets)
	}
	for _, k := range keys {
		if k != roleAccessKey(0) {
			t.Fatalf("a caller got %q, want %q", k, roleAccessKey(0))
		}
	}
}

func TestNewRoleEndpoint(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: "server role (metadata http://169.254.169.254)"},
		{in: "http://10.0.0.1:8080/", want: "server role (metadata http://10.0.0.1:8080)"},
		{in: "https://md.example", want: "server role (metadata https://md.example)"},
		{in: "169.254.169.254", err: "metadata endpoint 169.254.169.254: want http(s)://host[:port], nothing more"},
		{in: "ftp://h", err: "want http(s)://host[:port]"},
		{in: "http://h/latest", err: "want http(s)://host[:port]"},
		{in: "http://h/?x=1", err: "want http(s)://host[:port]"},
		{in: "http://user:" + testSecretKey + "@h", err: "metadata endpoint (with a user and password)"},
	} {
		r, err := credentials.NewRole(credentials.RoleOptions{Endpoint: tc.in})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NewRole(%q): %v, want %q", tc.in, err, tc.err)
			}
			if err != nil {
				noSecret(t, "the error", err.Error())
			}
			continue
		}
		if err != nil || r.Source() != tc.want {
			t.Errorf("NewRole(%q): %v, Source %q; want %q", tc.in, err, r.Source(), tc.want)
		}
	}
}

// TestRoleKeyThroughClient: a client with the role provider signs with the
// role's key, and fails with reason credentials when there is none.
func TestRoleKeyThroughClient(t *testing.T) {
	m := newMetadata(t, time.Now)
	r := newRole(t, m.URL, nil)
	var got string
	c, err := client.New(client.Config{BaseURL: "http://example.invalid", Credentials: r, MaxAttempts: 1,
		Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			got = req.Header.Get(client.HeaderAccessKey)
			return nil, errors.New("not sent")
		})})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetWorkspace(context.Background(), "alpha")
	if got != roleAccessKey(0) {
		t.Errorf("signed with %q, want the role's key %q", got, roleAccessKey(0))
	}

	m.set(func(m *metadata) { m.listStatus = 404 })
	r = newRole(t, m.URL, nil)
	c, err = client.New(client.Config{BaseURL: "http://example.invalid", Credentials: r, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWorkspace(context.Background(), "alpha")
	if client.ReasonOf(err) != client.ReasonCredentials || !strings.Contains(err.Error(), "no server role is attached") {
		t.Errorf("err = %v, want reason credentials for a server without a role", err)
	}
}
