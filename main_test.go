package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// The tests here build the exporter binary once (testutil.BuildExporter)
// and run it as a user would: flags, environment, signals, real sockets.

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuild()
	os.Exit(code)
}

// startExporter runs the exporter binary with env and args (plus a listen
// address) and waits until ready answers true (nil: /-/healthy answers
// 200). It is stopped with SIGTERM at the end of the test, which fails if
// the exporter then exits uncleanly.
func startExporter(t *testing.T, env []string, ready func(addr string) bool, args ...string) *testutil.Exporter {
	t.Helper()
	return testutil.StartExporterWith(t, testutil.BuildExporter(t), testutil.ExporterOptions{Env: env, Ready: ready}, args...)
}

// baseEnv is a minimal environment plus extra, so that credentials in the
// environment of whoever runs the tests do not reach the exporter.
func baseEnv(extra ...string) []string {
	// No configure file in HOME, and a metadata service that refuses at
	// once (the chain's last source): what the machine running the tests
	// has must not reach the exporter.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "NCLOUD_METADATA_API_ENDPOINT=http://127.0.0.1:1"}
	return append(env, extra...)
}

// exchange is one HTTP request to the exporter and what came back.
type exchange struct {
	what   string
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, c *http.Client, method, rawURL string, hdr map[string]string) exchange {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return exchange{what: method + " " + rawURL, status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func matrixInventory() *mitest.Inventory {
	mk := func(id int64, n int) *mitest.Project {
		p := &mitest.Project{ID: id, Name: "project-" + strconv.FormatInt(id, 10), IsBase: id%10 == 1}
		p.Synthetic = &mitest.SyntheticAssets{Count: n, Seed: id, FirstID: id * 10000}
		return p
	}
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "ws-one", MonthlyAnalysisCount: 4, Projects: []*mitest.Project{mk(11, 5), mk(12, 3), mk(13, 0)}},
		{Name: "ws-two", MonthlyAnalysisCount: 2, Projects: []*mitest.Project{mk(21, 4), mk(22, 1)}},
	}}
}

// TestSecretNeverLeaks runs the exporter with a distinctive secret key
// against a simulator that fails in many ways, at debug level, and looks
// for the secret (and its usual encodings) in everything the process
// wrote and every HTTP answer it gave.
func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const (
		ak     = "ncp_iam_LEAKTESTACCESSKEY01"
		secret = "ncp_iam_Sup3r+S3cr3t/Key=LEAKTEST_0123456789"
	)
	sim := mitest.NewServer(matrixInventory(), mitest.WithCredentials(ak, secret))
	t.Cleanup(sim.Close)
	sim.SetFault(mitest.Scope{Operation: client.OpListProjects, Workspace: "ws-two"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"})
	sim.SetFault(mitest.Scope{Operation: client.OpGetWorkspace, Workspace: "ws-one"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"})
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 11}, mitest.Fault{Status: 503, Body: mitest.BodyGateway})
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 12}, mitest.Fault{Status: 502, Body: mitest.BodyHTML})
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 13}, mitest.Fault{Body: mitest.BodyTruncated})

	p := startExporter(t, baseEnv("NCLOUD_ACCESS_KEY="+ak, "NCLOUD_SECRET_KEY="+secret), nil,
		"--mi.api-url="+sim.URL, "--log.level=debug", "--mi.max-attempts=2")
	base := "http://" + p.Addr
	c := &http.Client{Timeout: 20 * time.Second}
	var ex []exchange
	for _, path := range []string{
		"/", "/metrics", "/probe?workspace=ws-one", "/probe?workspace=ws-one&project=11", "/probe?workspace=ws-one&project=12",
		"/probe?workspace=ws-two", "/probe?workspace=ws-one&project=999", "/probe?workspace=no-such-ws", "/probe?workspace=Bad!",
		"/probe?target=" + url.QueryEscape("http://evil.example/"), "/discovery", "/discovery?per=project", "/discovery?per=nope",
		"/internal/metrics", "/-/healthy", "/-/ready", "/no-such-page",
		// The debug probe: every call's path, status and message.
		"/probe?workspace=ws-one&debug=true", "/probe?workspace=ws-one&project=11&debug=true", "/probe?workspace=ws-two&debug=true",
		"/probe?workspace=ws-one&project=13&debug=true", "/probe?workspace=ws-one&debug=maybe",
	} {
		ex = append(ex, fetch(t, c, http.MethodGet, base+path, nil))
	}
	ex = append(ex, fetch(t, c, http.MethodGet, base+"/metrics", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "bogus"}))
	// Now the key is refused everywhere: every call fails with 401.
	sim.ClearFaults()
	sim.SetFault(mitest.Scope{}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"})
	ex = append(ex, fetch(t, c, http.MethodGet, base+"/metrics", nil), fetch(t, c, http.MethodGet, base+"/discovery?per=project", nil),
		fetch(t, c, http.MethodGet, base+"/probe?workspace=ws-one&project=11&debug=true", nil))
	p.Stop(t)

	forms := map[string]string{
		"plain":              secret,
		"base64":             base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 (raw)":       base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64 (url)":       base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64 (raw url)":   base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"URL-escaped":        url.QueryEscape(secret),
		"path-escaped":       url.PathEscape(secret),
		"hex":                hex.EncodeToString([]byte(secret)),
		"quoted":             strconv.Quote(secret),
		"secret part (core)": "Sup3r+S3cr3t/Key=LEAKTEST",
	}
	out := p.Log()
	check := func(where, text string) {
		for name, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("the secret key (%s) appears in %s", name, where)
			}
		}
		if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine 1 [") {
			t.Errorf("a panic in %s", where)
		}
	}
	check("the process output", out)
	for _, x := range ex {
		check(x.what+" (body)", x.body)
		for k, vs := range x.header {
			check(x.what+" (header "+k+")", strings.Join(vs, " "))
		}
	}

	// The checks above must have had something to look at, debug lines
	// (per workspace and project) included.
	for _, want := range []string{"level=DEBUG", "level=INFO", "level=WARN", "level=ERROR", "HTTP 401", "HTTP 503", "HTML", "check the key", "Permission Denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("the exporter's output lacks %q; the leak check may be blind:\n%s", want, out)
		}
	}
	statuses := map[int]int{}
	for _, x := range ex {
		statuses[x.status]++
	}
	if statuses[200] < 5 || statuses[400] < 3 {
		t.Errorf("answers by status %v: want several 200s and 400s", statuses)
	}
	if !strings.Contains(ex[1].body, `ncp_mediaintel_project_scrape_success{account="default",project_id="11",workspace="ws-one"} 0`) {
		t.Errorf("/metrics does not show the failing project:\n%s", ex[1].body)
	}
	// The debug answers had their trace to check: the access key's calls,
	// with their statuses, and no header of them.
	var debug string
	for _, x := range ex {
		if strings.HasSuffix(x.what, "project=11&debug=true") {
			debug = x.body
			break
		}
	}
	for _, want := range []string{"list_assets", "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=1", "attempt 2: HTTP 503"} {
		if !strings.Contains(debug, want) {
			t.Errorf("the debug probe lacks %q; the leak check may be blind:\n%s", want, debug)
		}
	}
	if last := ex[len(ex)-1].body; !strings.Contains(last, "HTTP 401") {
		t.Errorf("the last debug probe, with the key refused, lacks the 401:\n%s", last)
	}
	for _, header := range []string{client.HeaderSignature, client.HeaderAccessKey, client.HeaderTimestamp, ak} {
		for _, x := range ex {
			if strings.Contains(x.what, "debug=true") && strings.Contains(x.body, header) {
				t.Errorf("%s shows %q", x.what, header)
			}
		}
	}
}

// webConfig writes a self-signed certificate for 127.0.0.1, its key and a
// web config with TLS and one basic-auth user; it returns the config path
// and a pool trusting the certificate.
func webConfig(t *testing.T, user, password string) (string, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mediaintel-exporter-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n", certFile, keyFile, user, hash)
	path := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return path, pool
}

// TestWebConfigTLSAndBasicAuth: --web.config.file with TLS and basic auth,
// end to end, in demo mode.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	t.Parallel()
	const user, password = "prometheus", "correct horse battery staple"
	cfg, pool := webConfig(t, user, password)
	tlsClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(addr, path, u, pw string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
		if u != "" {
			req.SetBasicAuth(u, pw)
		}
		resp, err := tlsClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	p := startExporter(t, baseEnv(), func(addr string) bool {
		status, _, err := get(addr, "/-/healthy", user, password)
		return err == nil && status == 200
	}, "--demo", "--web.config.file="+cfg)

	// Plain HTTP gets no metrics.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Addr + "/metrics")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "ncp_mediaintel_") {
			t.Errorf("plain HTTP answered %d with metrics", resp.StatusCode)
		}
	}
	// A client that does not trust the certificate fails the handshake.
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get("https://" + p.Addr + "/metrics"); err == nil {
		t.Error("an HTTPS client without the certificate in its roots connected")
	}
	for _, tc := range []struct {
		name, user, pw string
		want           int
	}{
		{"no credentials", "", "", 401},
		{"wrong password", user, "wrong", 401},
		{"unknown user", "admin", password, 401},
		{"right credentials", user, password, 200},
	} {
		status, body, err := get(p.Addr, "/metrics", tc.user, tc.pw)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.want)
		}
		if tc.want == 200 {
			for _, s := range []string{"\nncp_mediaintel_up{account=\"default\"} 1\n", `ncp_mediaintel_assets{account="default",format="mp4",project_id="1001",workspace="media-prod"}`} {
				if !strings.Contains(body, s) {
					t.Errorf("metrics over TLS lack %q", s)
				}
			}
		} else if strings.Contains(body, "ncp_mediaintel_") {
			t.Errorf("%s: metrics served without authentication", tc.name)
		}
	}
}

// TestSlowlorisDisconnected: a client that never finishes its headers is
// disconnected after ReadHeaderTimeout (10 s), however slowly it dribbles.
func TestSlowlorisDisconnected(t *testing.T) {
	t.Parallel()
	p := startExporter(t, baseEnv(), nil, "--demo")
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case took := <-closed:
			if took > 12*time.Second {
				t.Errorf("slow client disconnected after %v, want about 10 s", took)
			}
			if took < 9*time.Second {
				t.Errorf("slow client disconnected after %v, before the 10 s ReadHeaderTimeout", took)
			}
			return
		case <-tick.C:
			if time.Since(start) > 15*time.Second {
				t.Fatal("a client that never finished its headers is still connected after 15 s")
			}
			_, _ = fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i)
		}
	}
}

// TestOversizedHeadersRefused: request headers beyond the server's bound
// (64 KiB, where net/http's default is 1 MiB) are answered 431, and
// ordinary requests are served.
func TestOversizedHeadersRefused(t *testing.T) {
	t.Parallel()
	p := startExporter(t, baseEnv(), nil, "--demo")
	c := &http.Client{Timeout: 10 * time.Second}
	big := fetch(t, c, http.MethodGet, "http://"+p.Addr+"/-/healthy", map[string]string{"X-Big": strings.Repeat("x", 100<<10)})
	if big.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers: status %d, want 431", big.status)
	}
	if ok := fetch(t, c, http.MethodGet, "http://"+p.Addr+"/-/healthy", map[string]string{"X-Small": strings.Repeat("x", 8<<10)}); ok.status != http.StatusOK {
		t.Errorf("8 KiB of headers: status %d, want 200", ok.status)
	}
}

func metricValue(body, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// TestMaxRequestsAndCoalescing: 50 concurrent scrapes against a slow API
// with --web.max-requests=4 are answered 200 or 503, cleanly; the API sees
// one pass; memory stays small.
func TestMaxRequestsAndCoalescing(t *testing.T) {
	t.Parallel()
	inv := matrixInventory()
	sim := mitest.NewServer(inv)
	t.Cleanup(sim.Close)
	// Each API call takes a second: a pass takes three (workspaces, then
	// projects, then assets), so every admitted scrape joins the first.
	sim.SetFault(mitest.Scope{}, mitest.Fault{Latency: time.Second})
	p := startExporter(t, baseEnv("NCLOUD_ACCESS_KEY="+mitest.DefaultAccessKey, "NCLOUD_SECRET_KEY="+mitest.DefaultSecretKey), nil,
		"--mi.api-url="+sim.URL, "--web.max-requests=4")

	const n = 50
	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr+"/metrics", nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "15")
			resp, err := c.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers[i] = answer{resp.StatusCode, string(b), err}
		})
	}
	close(start)
	wg.Wait()

	ok, rejected := 0, 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("scrape %d: %v", i, a.err)
		case a.status == 200:
			ok++
			if !strings.Contains(a.body, "\nncp_mediaintel_up{account=\"default\"} 1\n") || !strings.Contains(a.body, `ncp_mediaintel_project_scrape_success{account="default",project_id="22",workspace="ws-two"} 1`) {
				t.Errorf("scrape %d: incomplete metrics:\n%.2000s", i, a.body)
			}
		case a.status == 503:
			rejected++
			if !strings.Contains(a.body, "too many scrapes in flight") {
				t.Errorf("scrape %d: 503 with body %q", i, a.body)
			}
		default:
			t.Errorf("scrape %d: status %d: %.300s", i, a.status, a.body)
		}
	}
	if ok < 1 || ok > 4 || ok+rejected != n {
		t.Errorf("%d answered 200 and %d 503; want 1 to 4 (the bound) 200s and the rest 503", ok, rejected)
	}
	// One pass: the call budget of a single scrape.
	pages := 0
	for _, w := range inv.Workspaces {
		pages += len(w.Projects) // at most 1000 assets each: one page
	}
	for op, want := range map[client.Operation]int64{
		client.OpListWorkspaces: 1, client.OpListProjects: 2, client.OpGetWorkspace: 2, client.OpListAssets: int64(pages),
	} {
		if got := sim.Requests(op); got != want {
			t.Errorf("simulator saw %d %s requests, want %d (one pass)", got, op, want)
		}
	}
	internal := fetch(t, c, http.MethodGet, "http://"+p.Addr+"/internal/metrics", nil).body
	if v, _ := metricValue(internal, "ncp_mediaintel_scrapes_rejected_total"); int(v) != rejected {
		t.Errorf("scrapes_rejected_total = %v, want %d", v, rejected)
	}
	if v, _ := metricValue(internal, "ncp_mediaintel_scrapes_coalesced_total"); int(v) != ok-1 {
		t.Errorf("scrapes_coalesced_total = %v, want %d", v, ok-1)
	}
	heap, found := metricValue(internal, "go_memstats_heap_inuse_bytes")
	if !found || heap > 64<<20 {
		t.Errorf("heap in use %v bytes (found %v), want under 64 MiB", heap, found)
	}
}

// TestCredentialFilesRotation: keys rotated in their files are used without
// a restart.
func TestCredentialFilesRotation(t *testing.T) {
	t.Parallel()
	const (
		ak1, sk1 = "ncp_iam_ROTATEACCESSKEY01", "ncp_iam_ROTATESECRETKEY0000000001"
		ak2, sk2 = "ncp_iam_ROTATEACCESSKEY02", "ncp_iam_ROTATESECRETKEY0000000002"
	)
	inv := matrixInventory()
	sim1 := mitest.NewServer(inv, mitest.WithCredentials(ak1, sk1))
	t.Cleanup(sim1.Close)
	sim2 := mitest.NewServer(inv, mitest.WithCredentials(ak2, sk2))
	t.Cleanup(sim2.Close)
	// The exporter talks to one address; behind it the API switches from
	// accepting only the old key to accepting only the new one.
	var backend atomic.Pointer[url.URL]
	u1, _ := url.Parse(sim1.URL)
	u2, _ := url.Parse(sim2.URL)
	backend.Store(u1)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(backend.Load()) }})
	t.Cleanup(proxy.Close)

	dir := t.TempDir()
	akFile, skFile := filepath.Join(dir, "access_key"), filepath.Join(dir, "secret_key")
	write := func(path, v string) {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(akFile, ak1)
	write(skFile, sk1)
	p := startExporter(t, baseEnv(), nil, "--mi.api-url="+proxy.URL, "--ncp.access-key-file="+akFile,
		"--ncp.secret-key-file="+skFile, "--mi.max-attempts=1", "--log.level=debug")
	c := &http.Client{Timeout: 10 * time.Second}
	up := func() float64 {
		v, ok := metricValue(fetch(t, c, http.MethodGet, "http://"+p.Addr+"/metrics", nil).body, `ncp_mediaintel_up{account="default"}`)
		if !ok {
			t.Fatal("no ncp_mediaintel_up in /metrics")
		}
		return v
	}
	if v := up(); v != 1 {
		t.Fatalf("up = %v with the first key:\n%s", v, p.Log())
	}
	backend.Store(u2) // the old key is revoked
	if v := up(); v != 0 {
		t.Fatalf("up = %v after the old key was revoked", v)
	}
	write(skFile, sk2)
	write(akFile, ak2)
	rotated := time.Now()
	for up() != 1 {
		if time.Since(rotated) > 5*time.Second {
			t.Fatalf("scrapes still fail 5 s after the key files were rotated:\n%s", p.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("new keys in use %v after the rotation", time.Since(rotated).Round(time.Millisecond))
	if sim2.Requests(client.OpListAssets) == 0 {
		t.Error("the API that accepts only the new key saw no asset-list request")
	}
	for _, s := range []string{sk1, sk2} {
		if strings.Contains(p.Log(), s) {
			t.Errorf("a secret key appears in the output")
		}
	}
}

// TestMissingCredentials: without credentials the exporter says which
// variables or flags to set and exits non-zero.
func TestMissingCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"nothing", nil, nil, []string{"NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY"}},
		{"access key only", map[string]string{"NCLOUD_ACCESS_KEY": "ak"}, nil, []string{"NCLOUD_SECRET_KEY"}},
		{"secret key only", map[string]string{"NCLOUD_SECRET_ACCESS_KEY": "sk-value-not-shown"}, nil, []string{"NCLOUD_ACCESS_KEY"}},
		{"one key file", nil, []string{"--ncp.access-key-file=/nonexistent/ak"}, []string{"--ncp.secret-key-file", "an access key file without a secret key file"}},
		{"secret key file only", nil, []string{"--ncp.secret-key-file=/nonexistent/sk"}, []string{"--ncp.access-key-file", "a secret key file without an access key file"}},
		{"missing key files", nil, []string{"--ncp.access-key-file=/nonexistent/ak", "--ncp.secret-key-file=/nonexistent/sk"}, []string{"/nonexistent/ak"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"--web.listen-address=127.0.0.1:0"}, tc.args...)
			env := map[string]string{"HOME": t.TempDir(), "NCLOUD_METADATA_API_ENDPOINT": "http://127.0.0.1:1"}
			maps.Copy(env, tc.env)
			code := run(args, func(k string) string { return env[k] }, &stderr)
			if code == 0 {
				t.Fatalf("run returned 0 without credentials")
			}
			for _, want := range append(tc.want, "credentials") {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "sk-value-not-shown") {
				t.Error("stderr shows the secret key")
			}
		})
	}

	// The binary, with an empty environment.
	cmd := exec.Command(testutil.BuildExporter(t), "--web.listen-address=127.0.0.1:0")
	cmd.Env = baseEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exporter without credentials: %v, want a non-zero exit:\n%s", err, out)
	}
	for _, want := range []string{"NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
