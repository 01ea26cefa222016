package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The paths and headers of an NCP VPC server's metadata service (docs:
// compute-vmetadata-roledata; docs/api.md, "Credentials and the read-only
// policy").
const (
	metadataRolesPath = "/latest/meta-data/iam/security-credentials/"
	metadataInfoPath  = "/latest/meta-data/iam/info"
	metadataTokenPath = "/latest/api/token"                //nolint:gosec // G101: a path, not a credential
	metadataTokenTTL  = "X-NCP-METADATA-TOKEN-TTL-SECONDS" //nolint:gosec // G101: a header name, not a credential
	metadataToken     = "X-NCP-METADATA-TOKEN"             //nolint:gosec // G101: a header name, not a credential
)

// MetadataOptions configures a MetadataServer; zero values take the
// defaults.
type MetadataOptions struct {
	// RoleID is the role the role list names; default "mediaintel-test-role".
	RoleID string
	// Lifetime is how long each key lives from its fetch; default 1 h.
	// Expiration is written in whole seconds, as NCP writes it, so a key
	// expires at the second at or before fetch time + Lifetime.
	Lifetime time.Duration
	// KeyPrefix starts every access key and secret handed out, so that a
	// test can tell whose they are; default "ncp_iam_ROLE".
	KeyPrefix string
	// RequireToken answers 401 to a GET without a session token it gave
	// (metadata v2 only, as a server can be set).
	RequireToken bool
	// Issue, if set, is called with each new key before it is served (to
	// make an API simulator accept it until it expires).
	Issue func(accessKey, secretKey string, expires time.Time)
}

// IssuedKey is a key a MetadataServer handed out.
type IssuedKey struct {
	AccessKey, SecretKey string
	// Fetched is when it was served, Expires when it expires.
	Fetched, Expires time.Time
}

// MetadataServer is an NCP server's metadata service on a loopback port:
// a session token (PUT /latest/api/token), the role list, the role's
// temporary key (a new pair at each fetch) and the role's info. A missing
// path answers 404 "Path Not found." as the service does. The exporter
// finds it through NCLOUD_METADATA_API_ENDPOINT=URL.
type MetadataServer struct {
	// URL is http://127.0.0.1:port, the value of NCLOUD_METADATA_API_ENDPOINT.
	URL string
	o   MetadataOptions
	srv *httptest.Server

	mu       sync.Mutex
	keys     []IssuedKey
	tokens   map[string]bool
	gets     int // GETs answered, all paths
	refused  int // requests answered 401 for want of a token
	failures []metadataFailure
}

type metadataFailure struct {
	status int
	body   string
}

// StartMetadataServer starts a MetadataServer, closed when the test ends.
func StartMetadataServer(t testing.TB, o MetadataOptions) *MetadataServer {
	t.Helper()
	if o.RoleID == "" {
		o.RoleID = "mediaintel-test-role"
	}
	if o.Lifetime <= 0 {
		o.Lifetime = time.Hour
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "ncp_iam_ROLE"
	}
	m := &MetadataServer{o: o, tokens: map[string]bool{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	return m
}

// Keys returns the keys handed out so far, oldest first.
func (m *MetadataServer) Keys() []IssuedKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]IssuedKey(nil), m.keys...)
}

// Tokens returns the session tokens handed out so far.
func (m *MetadataServer) Tokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tokens))
	for tok := range m.tokens {
		out = append(out, tok)
	}
	return out
}

// Refused is the number of GETs answered 401 for want of a valid session
// token (with RequireToken).
func (m *MetadataServer) Refused() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused
}

// FailNext makes the next n fetches of the role's key answer status with
// body (text as given, e.g. JSON with a Code, or an HTML page) instead of
// a key.
func (m *MetadataServer) FailNext(n, status int, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.failures = append(m.failures, metadataFailure{status, body})
	}
}

func (m *MetadataServer) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))
	if r.Method == http.MethodPut && r.URL.Path == metadataTokenPath {
		if r.Header.Get(metadataTokenTTL) == "" {
			http.Error(w, "missing "+metadataTokenTTL, http.StatusBadRequest)
			return
		}
		tok := "tok-" + randomHex(16)
		m.mu.Lock()
		m.tokens[tok] = true
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, tok)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	m.mu.Lock()
	m.gets++
	if tok := r.Header.Get(metadataToken); (m.o.RequireToken && tok == "") || (tok != "" && !m.tokens[tok]) {
		m.refused++
		m.mu.Unlock()
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	m.mu.Unlock()
	switch r.URL.Path {
	case metadataRolesPath:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, m.o.RoleID) // no trailing newline, as NCP answers
	case metadataRolesPath + m.o.RoleID:
		m.serveKey(w)
	case metadataInfoPath:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"roleId": m.o.RoleID, "roleName": "mediaintel-test", "roleType": "Server", "createTime": "2026-01-02T03:04:05Z"})
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "Path Not found.")
	}
}

// serveKey hands out a new key, or the next failure FailNext asked for.
func (m *MetadataServer) serveKey(w http.ResponseWriter) {
	m.mu.Lock()
	if len(m.failures) > 0 {
		f := m.failures[0]
		m.failures = m.failures[1:]
		m.mu.Unlock()
		ctype := "application/json"
		if strings.HasPrefix(strings.TrimSpace(f.body), "<") {
			ctype = "text/html"
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	}
	n := len(m.keys) + 1
	now := time.Now()
	k := IssuedKey{
		AccessKey: fmt.Sprintf("%sAK%04d%s", m.o.KeyPrefix, n, strings.ToUpper(randomHex(4))),
		SecretKey: fmt.Sprintf("%sSK%04d+%s/%s=", m.o.KeyPrefix, n, randomHex(8), randomHex(8)),
		Fetched:   now,
		Expires:   now.Add(m.o.Lifetime).Truncate(time.Second),
	}
	m.keys = append(m.keys, k)
	m.mu.Unlock()
	// Accepted before it is served: the exporter may use it at once.
	if m.o.Issue != nil {
		m.o.Issue(k.AccessKey, k.SecretKey, k.Expires)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"AccessKeyId": k.AccessKey, "SecretAccessKey": k.SecretKey,
		"Expiration": k.Expires.UTC().Format(time.RFC3339), "Code": "Success",
		"LastUpdated": now.UTC().Format(time.RFC3339),
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
