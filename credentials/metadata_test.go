package credentials_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths and headers of NCP's metadata service, as documented (not taken
// from the code under test).
const (
	mdRoles    = "/latest/meta-data/iam/security-credentials/"
	mdToken    = "/latest/api/token"
	mdTokenTTL = "X-NCP-METADATA-TOKEN-TTL-SECONDS"
	mdTokenHdr = "X-NCP-METADATA-TOKEN"
	roleID     = "test-role"
	// Every secret the server hands out contains this.
	roleSecretMark = "ROLESECRET"
)

// roleAccessKey and roleSecretKey are the n-th key the server hands out.
func roleAccessKey(n int) string { return fmt.Sprintf("ncp_iam_ROLEAK%04d", n) }
func roleSecretKey(n int) string { return fmt.Sprintf("ncp_iam_%s%04d_xyz", roleSecretMark, n) }

type issued struct {
	ak, sk      string
	at, expires time.Time
}

// metadata is a test double of an NCP VPC server's metadata service. Its
// fields are set through set, under its lock.
type metadata struct {
	*httptest.Server
	now func() time.Time

	mu         sync.Mutex
	putStatus  int    // not 0: the answer to a token request (v1 only)
	v2only     bool   // a GET without a valid token answers 401
	revoke     bool   // forget every token handed out so far, once
	list       string // the role list's body
	listStatus int
	listType   string
	keyStatus  int
	keyType    string
	keyBody    func(n int, now time.Time) string // nil: the n-th key, living life
	life       time.Duration
	delay      time.Duration // before each answer
	tokens     map[string]bool
	puts       int
	putTTL     []string
	gets       int
	plainGets  int
	keyGets    int
	issued     []issued
}

func newMetadata(t *testing.T, now func() time.Time) *metadata {
	t.Helper()
	m := &metadata{now: now, list: roleID, life: time.Hour, tokens: map[string]bool{}}
	m.Server = httptest.NewServer(m)
	t.Cleanup(m.Close)
	return m
}

func (m *metadata) set(f func(m *metadata)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *metadata) counts() (puts, gets, plainGets, keyGets int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts, m.gets, m.plainGets, m.keyGets
}

func (m *metadata) keys() []issued {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]issued(nil), m.issued...)
}

func (m *metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	delay := m.delay
	m.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.revoke {
		m.tokens, m.revoke = map[string]bool{}, false
	}
	text := func(status int, ctype, body string) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	if r.Method == http.MethodPut && r.URL.Path == mdToken {
		m.puts++
		m.putTTL = append(m.putTTL, r.Header.Get(mdTokenTTL))
		if m.putStatus != 0 {
			text(m.putStatus, "text/plain", http.StatusText(m.putStatus))
			return
		}
		tok := fmt.Sprintf("token-%d", m.puts)
		m.tokens[tok] = true
		text(200, "text/plain", tok)
		return
	}
	if r.Method != http.MethodGet {
		text(405, "text/plain", "Method Not Allowed")
		return
	}
	m.gets++
	if tok := r.Header.Get(mdTokenHdr); tok != "" {
		if !m.tokens[tok] {
			text(401, "text/plain", "Unauthorized")
			return
		}
	} else {
		m.plainGets++
		if m.v2only {
			text(401, "text/plain", "Unauthorized")
			return
		}
	}
	switch r.URL.Path {
	case mdRoles:
		if m.listStatus != 0 {
			text(m.listStatus, "text/plain", "Path Not found.")
			return
		}
		text(200, or(m.listType, "text/plain"), m.list)
	case mdRoles + roleID:
		m.keyGets++
		if m.keyStatus != 0 {
			text(m.keyStatus, "text/plain", "Path Not found.")
			return
		}
		now := m.now()
		n := len(m.issued)
		if m.keyBody != nil {
			text(200, or(m.keyType, "application/json"), m.keyBody(n, now))
			return
		}
		k := issued{ak: roleAccessKey(n), sk: roleSecretKey(n), at: now, expires: now.Add(m.life)}
		m.issued = append(m.issued, k)
		text(200, or(m.keyType, "application/json"), fmt.Sprintf(`{"AccessKeyId":%q,"SecretAccessKey":%q,"Expiration":%q,"Code":"Success","Message":"ok"}`,
			k.ak, k.sk, k.expires.UTC().Format(time.RFC3339Nano)))
	default:
		text(404, "text/plain", "Path Not found.")
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// noSecret fails t if text shows a secret the server handed out.
func noSecret(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, roleSecretMark) || strings.Contains(text, testSecretKey) {
		t.Errorf("%s shows a secret: %s", what, text)
	}
}
