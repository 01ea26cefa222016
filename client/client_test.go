package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// testInventory is a small account: five workspaces, "alpha" with a base
// project, a project of 25 assets and an empty one.
func testInventory() *mitest.Inventory {
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{
			Name: "alpha", URL: "https://mi.example/alpha", BucketName: "alpha-bucket", MonthlyAnalysisCount: 42,
			CreatedTime: "2025-04-23T16:49:24", UpdatedTime: "2025-04-24T01:02:03+00:00",
			Projects: []*mitest.Project{
				{ID: 11, Name: "Base Project", IsBase: true, CreatedTime: "2025-04-23T16:49:24", UpdatedTime: "2025-04-23T16:49:24Z"},
				{ID: 12, Name: "clips", Synthetic: &mitest.SyntheticAssets{Count: 25, Seed: 7, FirstID: 5001}},
				{ID: 13, Name: "empty"},
			},
		},
		{Name: "beta", MonthlyAnalysisCount: 0, Projects: []*mitest.Project{{ID: 21, Name: "Base Project", IsBase: true}}},
		{Name: "gamma-01"},
		{Name: "delta"},
		{Name: "epsilon"},
	}}
}

func newServer(t testing.TB, inv *mitest.Inventory, opts ...mitest.Option) *mitest.Server {
	t.Helper()
	s := mitest.NewServer(inv, opts...)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of the simulator's default credentials with a
// fast backoff and three attempts, changed by mods.
func newClient(t testing.TB, baseURL string, mods ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{
		BaseURL:     baseURL,
		Credentials: client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey)),
		MaxAttempts: 3,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	ops      []client.Operation
	retries  []client.Operation
	failures []client.Reason
}

func (r *recorder) ObserveRequest(op client.Operation, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d < 0 {
		status = -1 // flags a negative duration
	}
	r.statuses = append(r.statuses, status)
	r.ops = append(r.ops, op)
}

func (r *recorder) ObserveRetry(op client.Operation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = append(r.retries, op)
}

func (r *recorder) ObserveFailure(_ client.Operation, reason client.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, reason)
}

// failed returns the reasons of the failed calls observed so far.
func (r *recorder) failed() []client.Reason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]client.Reason(nil), r.failures...)
}

func (r *recorder) get() (statuses []int, retries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.statuses...), len(r.retries)
}

// countingLimiter counts the calls of the Limiter interface.
type countingLimiter struct {
	waits, throttles atomic.Int64
	err              error
}

func (l *countingLimiter) Wait(context.Context) error {
	l.waits.Add(1)
	return l.err
}
func (l *countingLimiter) Throttled() { l.throttles.Add(1) }

func asError(t testing.TB, err error) *client.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	e, ok := client.AsError(err)
	if !ok {
		t.Fatalf("err %T %v is not a *client.Error", err, err)
	}
	var e2 *client.Error
	if !errors.As(fmt.Errorf("wrapped: %w", err), &e2) || e2 != e {
		t.Fatal("errors.As through a wrapper does not find the *client.Error")
	}
	return e
}

func TestNewValidatesConfig(t *testing.T) {
	creds := client.Static(client.NewCredentials("a", "b"))
	bad := []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"no credentials", client.Config{}, "no credentials"},
		{"ftp URL", client.Config{Credentials: creds, BaseURL: "ftp://host"}, "want http(s)"},
		{"no host", client.Config{Credentials: creds, BaseURL: "http://"}, "want http(s)"},
		{"query", client.Config{Credentials: creds, BaseURL: "http://host/?a=b"}, "want http(s)"},
		{"fragment", client.Config{Credentials: creds, BaseURL: "http://host/#x"}, "want http(s)"},
		{"unparsable", client.Config{Credentials: creds, BaseURL: "http://[::1"}, "API URL"},
		{"page size too big", client.Config{Credentials: creds, PageSize: 1001}, "page size 1001 out of range"},
		{"page size negative", client.Config{Credentials: creds, PageSize: -1}, "page size -1 out of range"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error saying %q", c, err, tt.want)
			}
		})
	}

	c, err := client.New(client.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageSize() != client.DefaultPageSize || c.Location().String() != client.DefaultTimezone {
		t.Errorf("defaults: page size %d, location %v", c.PageSize(), c.Location())
	}
	c, err = client.New(client.Config{Credentials: creds, PageSize: 7, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageSize() != 7 || c.Location() != time.UTC {
		t.Errorf("page size %d, location %v; want 7, UTC", c.PageSize(), c.Location())
	}
}

// TestTransportBoundsConnections sends more concurrent calls than the
// transport (NewTransport) allows connections
// and checks the server never sees more connections than that.
func TestTransportBoundsConnections(t *testing.T) {
	s := newServer(t, testInventory())
	s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Latency: 30 * time.Millisecond})
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Transport = client.NewTransport(2) })
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.GetWorkspace(context.Background(), "alpha")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.ConnectionsOpened(); n > 2 {
		t.Errorf("%d connections opened, want at most 2", n)
	}
	if n := s.MaxInFlight(); n > 2 || n < 1 {
		t.Errorf("%d requests in flight at once, want 1 or 2", n)
	}
	if n := s.Requests(client.OpGetWorkspace); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
}

// TestRedirectNotFollowed: a 302 comes back as an error and the signed
// request never reaches the redirect target.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"code":"0","result":{"workspaceName":"alpha"}}`)
	}))
	defer target.Close()
	var sent atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		http.Redirect(w, r, target.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer origin.Close()

	c := newClient(t, origin.URL)
	_, err := c.GetWorkspace(context.Background(), "alpha")
	e := asError(t, err)
	if e.StatusCode != http.StatusFound || e.Retryable {
		t.Errorf("err = %v (status %d, retryable %v), want a non-retryable 302", e, e.StatusCode, e.Retryable)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("origin got %d requests, want 1", n)
	}
}

// TestBaseURLPrefix: a base URL with a path prefix (a reverse proxy) is
// kept, and the signature covers the path as sent.
func TestBaseURLPrefix(t *testing.T) {
	s := newServer(t, testInventory())
	var seen string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.RequestURI()
		if !strings.HasPrefix(r.URL.Path, "/mi/api/v1/") {
			http.NotFound(w, r)
			return
		}
		ts, _ := strconv.ParseInt(r.Header.Get(client.HeaderTimestamp), 10, 64)
		if r.Header.Get(client.HeaderSignature) != client.Sign("GET", r.URL.RequestURI(), ts, mitest.DefaultAccessKey, mitest.DefaultSecretKey) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Forward, signed again for the path the simulator sees.
		req, _ := http.NewRequest("GET", s.URL+strings.TrimPrefix(r.URL.RequestURI(), "/mi"), nil)
		mitest.SignRequest(req, mitest.DefaultAccessKey, mitest.DefaultSecretKey, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	c := newClient(t, proxy.URL+"/mi/")
	ws, err := c.GetWorkspace(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if ws.MonthlyAnalysisCount != 42 || seen != "/mi/api/v1/workspaces/alpha" {
		t.Errorf("workspace %+v via %q", ws, seen)
	}
}

func isRetryableStatus(status int) bool { return status == 429 || status >= 500 }

// TestGatewayErrors answers with every row of the API Gateway catalogue,
// errorCode as a string and as a number.
func TestGatewayErrors(t *testing.T) {
	s := newServer(t, testInventory())
	for _, g := range mitest.GatewayErrors {
		for _, numeric := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d_%s_numeric=%v", g.HTTP, g.Code, numeric), func(t *testing.T) {
				s.ClearFaults()
				s.ResetCounters()
				s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: g.HTTP, Body: mitest.BodyGateway, ErrorCode: g.Code, ErrorCodeNumeric: numeric})
				rec := &recorder{}
				lim := &countingLimiter{}
				c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Observer, cfg.Limiter = rec, lim })
				_, err := c.GetWorkspace(context.Background(), "alpha")
				e := asError(t, err)
				if e.StatusCode != g.HTTP || e.Code != g.Code || !strings.Contains(e.Message, g.Message) {
					t.Errorf("got status %d code %q message %q; want %d %q %q", e.StatusCode, e.Code, e.Message, g.HTTP, g.Code, g.Message)
				}
				if e.Op != client.OpGetWorkspace || e.Target != "workspace=alpha" {
					t.Errorf("op %q target %q", e.Op, e.Target)
				}
				retry := isRetryableStatus(g.HTTP)
				if e.Retryable != retry {
					t.Errorf("Retryable = %v, want %v", e.Retryable, retry)
				}
				wantReqs := 1
				if retry {
					wantReqs = 3
				}
				if n := s.Requests(client.OpGetWorkspace); n != int64(wantReqs) || e.Attempts != wantReqs {
					t.Errorf("%d requests, Attempts %d; want %d", n, e.Attempts, wantReqs)
				}
				statuses, retries := rec.get()
				if len(statuses) != wantReqs || retries != wantReqs-1 {
					t.Errorf("observer saw %v and %d retries", statuses, retries)
				}
				for _, st := range statuses {
					if st != g.HTTP {
						t.Errorf("observer saw status %d, want %d", st, g.HTTP)
					}
				}
				if lim.waits.Load() != int64(wantReqs) {
					t.Errorf("limiter waited %d times, want %d", lim.waits.Load(), wantReqs)
				}
				wantThrottles := int64(0)
				if g.HTTP == 429 {
					wantThrottles = int64(wantReqs)
				}
				if lim.throttles.Load() != wantThrottles {
					t.Errorf("limiter told of %d throttles, want %d", lim.throttles.Load(), wantThrottles)
				}
				msg := err.Error()
				for _, want := range []string{"get_workspace", "workspace=alpha", "HTTP " + strconv.Itoa(g.HTTP), "code " + g.Code, g.Message} {
					if !strings.Contains(msg, want) {
						t.Errorf("Error() %q lacks %q", msg, want)
					}
				}
				if retry && !strings.Contains(msg, "(after 3 attempts)") {
					t.Errorf("Error() %q does not count the attempts", msg)
				}
				permission := g.HTTP == 403 || g.Code == "210"
				if g.HTTP == 401 && !permission && (!strings.Contains(msg, "5 minutes") || !strings.Contains(msg, "secret key")) {
					t.Errorf("401 Error() %q does not mention the key and the clock", msg)
				}
				if permission != strings.Contains(msg, "permission") {
					t.Errorf("%d/%s Error() %q: permission hint expected %v", g.HTTP, g.Code, msg, permission)
				}
				if permission && strings.Contains(msg, "clock") {
					t.Errorf("%d/%s Error() %q blames the clock", g.HTTP, g.Code, msg)
				}
			})
		}
	}
}

// TestErrorBodies covers the other body shapes, through the simulator.
func TestErrorBodies(t *testing.T) {
	s := newServer(t, testInventory())
	tests := []struct {
		name       string
		fault      *mitest.Fault
		workspace  string
		status     int
		code       string
		msg        []string
		retryable  bool
		maxBody    int64
		wantCauses bool
	}{
		{name: "MI 10001", fault: &mitest.Fault{Status: 400, Body: mitest.BodyMI}, status: 400, code: "10001", msg: []string{"Invalid Request."}},
		{name: "MI nested responseError", fault: &mitest.Fault{Status: 400, Body: mitest.BodyMINested, ErrorCode: "10027", Message: "nested"}, status: 400, code: "10027", msg: []string{"nested"}},
		{name: "404 unknown workspace", workspace: "nosuch", status: 404, code: "404", msg: []string{"Not Found"}},
		{name: "409 default body", fault: &mitest.Fault{Status: 409}, status: 409, code: "409", msg: []string{"Conflict"}},
		{name: "empty body", fault: &mitest.Fault{Status: 503, Body: mitest.BodyEmpty}, status: 503, msg: []string{"empty body"}, retryable: true},
		{name: "HTML 502", fault: &mitest.Fault{Status: 502, Body: mitest.BodyHTML}, status: 502, msg: []string{"HTML", "502 Bad Gateway"}, retryable: true},
		{name: "plain text", fault: &mitest.Fault{Status: 503, Body: mitest.BodyPlain}, status: 503, msg: []string{"non-JSON body", "upstream connect error"}, retryable: true},
		{name: "truncated 200", fault: &mitest.Fault{Body: mitest.BodyTruncated}, status: 200, msg: []string{"truncated"}, wantCauses: true},
		{name: "malformed 200", fault: &mitest.Fault{Body: mitest.BodyMalformed}, status: 200, msg: []string{"decoding response"}, wantCauses: true},
		{name: "malformed 500", fault: &mitest.Fault{Status: 500, Body: mitest.BodyMalformed}, status: 500, msg: []string{"unparsable JSON body", `"{\"code\":\"0\"`}, retryable: true},
		{name: "huge with Content-Length", fault: &mitest.Fault{Body: mitest.BodyHuge, HugeBytes: 4000}, maxBody: 1000, status: 200, msg: []string{"over the 1000 byte cap"}, wantCauses: true},
		{name: "huge error with Content-Length", fault: &mitest.Fault{Status: 503, Body: mitest.BodyHuge, HugeBytes: 4000}, maxBody: 1000, status: 503, msg: []string{"over the 1000 byte cap"}, wantCauses: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ClearFaults()
			s.ResetCounters()
			if tt.fault != nil {
				s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, *tt.fault)
			}
			c := newClient(t, s.URL, func(cfg *client.Config) { cfg.MaxBodyBytes = tt.maxBody })
			ws := tt.workspace
			if ws == "" {
				ws = "alpha"
			}
			_, err := c.GetWorkspace(context.Background(), ws)
			e := asError(t, err)
			if e.StatusCode != tt.status || e.Code != tt.code || e.Retryable != tt.retryable {
				t.Errorf("status %d code %q retryable %v; want %d %q %v (%v)", e.StatusCode, e.Code, e.Retryable, tt.status, tt.code, tt.retryable, err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q lacks %q", e.Message, m)
				}
			}
			if tt.wantCauses != (e.Err != nil) {
				t.Errorf("Err = %v", e.Err)
			}
			want := int64(1)
			if tt.retryable {
				want = 3
			}
			if n := s.Requests(client.OpGetWorkspace); n != want {
				t.Errorf("%d requests, want %d", n, want)
			}
		})
	}
}

// TestBodyCap checks the cap at its edge, with and without Content-Length.
func TestBodyCap(t *testing.T) {
	body := `{"code":"0","message":"success","result":{"workspaceName":"alpha","monthlyAnalysisCount":7}}`
	for _, chunked := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.WriteHeader(200)
			for i := 0; i < len(body); i += 10 {
				_, _ = io.WriteString(w, body[i:min(i+10, len(body))])
				if chunked {
					w.(http.Flusher).Flush()
				}
			}
		}))
		for _, max := range []int64{int64(len(body)), int64(len(body)) - 1, 1} {
			t.Run(fmt.Sprintf("chunked=%v/max=%d", chunked, max), func(t *testing.T) {
				c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.MaxBodyBytes = max })
				ws, err := c.GetWorkspace(context.Background(), "alpha")
				if max >= int64(len(body)) {
					if err != nil || ws.MonthlyAnalysisCount != 7 {
						t.Fatalf("body of exactly the cap: %+v, %v", ws, err)
					}
					return
				}
				e := asError(t, err)
				if !strings.Contains(e.Message, fmt.Sprintf("over the %d byte cap", max)) || e.Retryable || e.StatusCode != 200 {
					t.Errorf("err = %v", err)
				}
				if chunked == strings.Contains(e.Error(), "Content-Length") {
					t.Errorf("chunked=%v but err = %v", chunked, err)
				}
			})
		}
		srv.Close()
	}
}

// TestOddSuccessBodies serves 200 answers that are not what they should be.
func TestOddSuccessBodies(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		code              string
		msg               []string
	}{
		{"non-zero string code", "application/json", `{"code":"10001","message":"Invalid Request."}`, "10001", []string{"Invalid Request."}},
		{"non-zero numeric code", "application/json", `{"code":10001,"message":"Invalid\nRequest."}`, "10001", []string{"Invalid Request."}},
		{"result missing", "application/json", `{"code":"0","message":"success"}`, "", []string{"no result"}},
		{"result null", "application/json", `{"code":"0","message":"success","result":null}`, "", []string{"no result"}},
		{"empty", "application/json", ``, "", []string{"empty response body"}},
		{"HTML login page", "text/html", `<html><head><title>Sign in</title></head></html>`, "", []string{"HTML", "Sign in"}},
		{"truncated", "application/json", `{"code":"0","message":"success","result":{"workspaceName":"al`, "", []string{"truncated"}},
		{"wrong type", "application/json", `{"code":"0","result":{"workspaceName":"alpha","monthlyAnalysisCount":{},"content":5,"projects":5}}`, "", []string{"decoding response"}},
		{"bad code type", "application/json", `{"code":true,"result":{}}`, "", []string{"decoding response"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n.Add(1)
				w.Header().Set("Content-Type", tt.ctype)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL)
			for _, call := range []struct {
				name string
				fn   func() error
			}{
				{"GetWorkspace", func() error { _, err := c.GetWorkspace(context.Background(), "alpha"); return err }},
				{"ListWorkspaces", func() error { _, err := c.ListWorkspaces(context.Background()); return err }},
				{"ListProjects", func() error { _, err := c.ListProjects(context.Background(), "alpha"); return err }},
			} {
				n.Store(0)
				e := asError(t, call.fn())
				if e.StatusCode != 200 || e.Code != tt.code || e.Retryable {
					t.Errorf("%s: status %d code %q retryable %v (%v)", call.name, e.StatusCode, e.Code, e.Retryable, e)
				}
				for _, m := range tt.msg {
					if !strings.Contains(e.Message, m) {
						t.Errorf("%s: message %q lacks %q", call.name, e.Message, m)
					}
				}
				if n.Load() != 1 {
					t.Errorf("%s: %d requests, want 1", call.name, n.Load())
				}
			}
		})
	}
}

// TestRetries checks which failures are retried, and how many times.
func TestRetries(t *testing.T) {
	s := newServer(t, testInventory())
	tests := []struct {
		name     string
		fault    mitest.Fault
		ok       bool
		requests int64
		statuses []int
		msg      string
	}{
		{"429 then success", mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", Times: 2}, true, 3, []int{429, 429, 200}, ""},
		{"503 then success", mitest.Fault{Status: 503, Times: 1}, true, 2, []int{503, 200}, ""},
		{"504 always", mitest.Fault{Status: 504}, false, 3, []int{504, 504, 504}, "Endpoint Timeout"},
		{"500 always", mitest.Fault{Status: 500, Body: mitest.BodyGateway, ErrorCode: "900"}, false, 3, []int{500, 500, 500}, "Unexpected Error"},
		{"400 not retried", mitest.Fault{Status: 400, Body: mitest.BodyMI}, false, 1, []int{400}, "Invalid Request."},
		{"403 not retried", mitest.Fault{Status: 403}, false, 1, []int{403}, "Forbidden"},
		{"404 not retried", mitest.Fault{Status: 404, Body: mitest.BodyMI, ErrorCode: "404"}, false, 1, []int{404}, ""},
		{"409 not retried", mitest.Fault{Status: 409}, false, 1, []int{409}, ""},
		// A body cut short by a reset is a transport failure: observed as status 0 ("error").
		{"reset mid-body once", mitest.Fault{ResetMidBody: true, Times: 1}, true, 2, []int{0, 200}, ""},
		{"reset mid-body always", mitest.Fault{ResetMidBody: true}, false, 3, []int{0, 0, 0}, "reading response body"},
		{"reset mid-body of a 503", mitest.Fault{Status: 503, ResetMidBody: true}, false, 3, []int{0, 0, 0}, "reading response body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ClearFaults()
			s.ResetCounters()
			s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, tt.fault)
			rec := &recorder{}
			c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Observer = rec })
			ws, err := c.GetWorkspace(context.Background(), "alpha")
			if tt.ok {
				if err != nil || ws.MonthlyAnalysisCount != 42 {
					t.Fatalf("got %+v, %v", ws, err)
				}
			} else {
				e := asError(t, err)
				if e.Attempts != int(tt.requests) || !strings.Contains(e.Error(), tt.msg) {
					t.Errorf("err %v: attempts %d, want %d and %q", e, e.Attempts, tt.requests, tt.msg)
				}
			}
			if n := s.Requests(client.OpGetWorkspace); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			statuses, retries := rec.get()
			if fmt.Sprint(statuses) != fmt.Sprint(tt.statuses) || retries != int(tt.requests)-1 {
				t.Errorf("observer saw %v and %d retries, want %v and %d", statuses, retries, tt.statuses, tt.requests-1)
			}
		})
	}
}

// TestRetryTransportErrors: a refused connection is retried and observed
// with status 0.
func TestRetryTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := &recorder{}
	c := newClient(t, "http://"+addr, func(cfg *client.Config) { cfg.Observer, cfg.MaxAttempts = rec, 4 })
	_, err = c.ListProjects(context.Background(), "alpha")
	e := asError(t, err)
	if e.StatusCode != 0 || !e.Retryable || e.Attempts != 4 || e.Err == nil || !strings.Contains(e.Message, "request failed") {
		t.Errorf("err = %v: status %d retryable %v attempts %d", e, e.StatusCode, e.Retryable, e.Attempts)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("err %v does not wrap the *net.OpError", err)
	}
	statuses, retries := rec.get()
	if fmt.Sprint(statuses) != "[0 0 0 0]" || retries != 3 {
		t.Errorf("observer saw %v and %d retries", statuses, retries)
	}
	if client.StatusLabel(e.StatusCode) != "error" || client.StatusLabel(429) != "429" {
		t.Errorf("StatusLabel: %q %q", client.StatusLabel(e.StatusCode), client.StatusLabel(429))
	}
}

func TestMaxAttemptsOne(t *testing.T) {
	s := newServer(t, testInventory())
	s.SetFault(mitest.Scope{}, mitest.Fault{Status: 503})
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.MaxAttempts = 1 })
	_, err := c.ListWorkspaces(context.Background())
	if e := asError(t, err); e.Attempts != 1 || strings.Contains(e.Error(), "attempts") {
		t.Errorf("err = %v", e)
	}
	if s.TotalRequests() != 1 {
		t.Errorf("%d requests, want 1", s.TotalRequests())
	}
	// The default is DefaultMaxAttempts.
	s.ResetCounters()
	c = newClient(t, s.URL, func(cfg *client.Config) { cfg.MaxAttempts = 0 })
	_, err = c.ListWorkspaces(context.Background())
	if e := asError(t, err); e.Attempts != client.DefaultMaxAttempts || s.TotalRequests() != client.DefaultMaxAttempts {
		t.Errorf("default attempts: %v, %d requests", e, s.TotalRequests())
	}
}

// TestRetryAfter checks that a Retry-After header is waited for, in
// seconds and as an HTTP date, and that a call gives up at once when the
// wait would pass its deadline.
func TestRetryAfter(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "410", RetryAfter: "1", Times: 1})
		c := newClient(t, s.URL)
		start := time.Now()
		if _, err := c.GetWorkspace(context.Background(), "alpha"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second || d > 3*time.Second {
			t.Errorf("call took %v, want the 1 s of Retry-After", d)
		}
		if n := s.Requests(client.OpGetWorkspace); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("HTTP date", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, testInventory())
		start := time.Now()
		date := start.Add(2 * time.Second).UTC().Format(http.TimeFormat) // at least 1 s away
		s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 503, RetryAfter: date, Times: 1})
		c := newClient(t, s.URL)
		if _, err := c.GetWorkspace(context.Background(), "alpha"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second || d > 3*time.Second {
			t.Errorf("call took %v, want to wait until %s", d, date)
		}
	})
	t.Run("unparsable ignored", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 503, RetryAfter: "soon", Times: 1})
		c := newClient(t, s.URL)
		start := time.Now()
		if _, err := c.GetWorkspace(context.Background(), "alpha"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("call took %v", d)
		}
	})
	t.Run("past the deadline", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "400", RetryAfter: "30"})
		c := newClient(t, s.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.GetWorkspace(ctx, "alpha")
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("call took %v, want to return at once", d)
		}
		e := asError(t, err)
		if e.StatusCode != 429 || !strings.Contains(e.Error(), "no time left") || !strings.Contains(e.Error(), "Quota Exceeded") {
			t.Errorf("err = %v", err)
		}
		if n := s.Requests(client.OpGetWorkspace); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", RetryAfter: "2"})
		rec := &recorder{}
		c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Observer = rec })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.GetWorkspace(ctx, "alpha")
		if d := time.Since(start); d > time.Second {
			t.Errorf("call took %v after cancellation", d)
		}
		e := asError(t, err)
		if !errors.Is(err, context.Canceled) || e.StatusCode != 429 {
			t.Errorf("err = %v", err)
		}
		if n := s.Requests(client.OpGetWorkspace); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestDeadline: whatever the server does, a call ends by its deadline.
func TestDeadline(t *testing.T) {
	const deadline, slack = 300 * time.Millisecond, 400 * time.Millisecond
	tests := []struct {
		name  string
		fault mitest.Fault
		mod   func(*client.Config)
	}{
		{"hanging server", mitest.Fault{Hang: true}, nil},
		{"slow errors with retries", mitest.Fault{Status: 503, Latency: 120 * time.Millisecond}, func(cfg *client.Config) {
			cfg.MaxAttempts, cfg.BackoffBase, cfg.BackoffMax = 100, 20*time.Millisecond, 50*time.Millisecond
		}},
		{"slow success", mitest.Fault{Latency: 10 * time.Second}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, testInventory())
			s.SetFault(mitest.Scope{}, tt.fault)
			rec := &recorder{}
			c := newClient(t, s.URL, func(cfg *client.Config) {
				cfg.Observer = rec
				if tt.mod != nil {
					tt.mod(cfg)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			_, err := c.ListProjects(ctx, "alpha")
			if d := time.Since(start); d > deadline+slack {
				t.Errorf("call took %v, deadline %v", d, deadline)
			}
			e := asError(t, err)
			if e.Retryable && ctx.Err() != nil && e.StatusCode == 0 {
				t.Errorf("an error caused by the deadline is marked retryable: %v", e)
			}
			if e.StatusCode == 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
		})
	}
}

// TestLimiterPerAttempt: the limiter is waited on before each attempt, and
// when it fails no request is sent.
func TestLimiterPerAttempt(t *testing.T) {
	s := newServer(t, testInventory())
	s.SetFault(mitest.Scope{Operation: client.OpListProjects}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", Times: 2})
	lim := &countingLimiter{}
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Limiter = lim })
	if _, err := c.ListProjects(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	if lim.waits.Load() != 3 || lim.throttles.Load() != 2 {
		t.Errorf("limiter: %d waits, %d throttles; want 3, 2", lim.waits.Load(), lim.throttles.Load())
	}

	s.ResetCounters()
	failing := &countingLimiter{err: errors.New("rate: Wait(n=1) would exceed context deadline")}
	c = newClient(t, s.URL, func(cfg *client.Config) { cfg.Limiter = failing })
	_, err := c.ListProjects(context.Background(), "alpha")
	e := asError(t, err)
	if !strings.Contains(e.Error(), "waiting for the rate limiter") || !errors.Is(err, failing.err) || e.Retryable {
		t.Errorf("err = %v", err)
	}
	if s.TotalRequests() != 0 || failing.waits.Load() != 1 {
		t.Errorf("%d requests, %d waits", s.TotalRequests(), failing.waits.Load())
	}

	// With the real limiter: throttles slow it down.
	s.ClearFaults()
	s.ResetCounters()
	s.SetFault(mitest.Scope{Operation: client.OpListProjects}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", Times: 1})
	al := client.NewAdaptiveLimiter(1000, 10)
	c = newClient(t, s.URL, func(cfg *client.Config) { cfg.Limiter = al })
	if _, err := c.ListProjects(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	if al.Reductions() != 1 || al.Rate() >= 1000 {
		t.Errorf("adaptive limiter: %d reductions, rate %v", al.Reductions(), al.Rate())
	}
}

// TestClockSkew: the simulator rejects a timestamp over 5 minutes away,
// and the error says why.
func TestClockSkew(t *testing.T) {
	s := newServer(t, testInventory(), mitest.WithClock(func() time.Time { return time.Now().Add(6 * time.Minute) }))
	c := newClient(t, s.URL)
	_, err := c.GetWorkspace(context.Background(), "alpha")
	if e := asError(t, err); e.StatusCode != 401 || !strings.Contains(e.Error(), "clock") {
		t.Errorf("err = %v", err)
	}
	c = newClient(t, s.URL, func(cfg *client.Config) {
		cfg.Now = func() time.Time { return time.Now().Add(6 * time.Minute) }
	})
	if _, err := c.GetWorkspace(context.Background(), "alpha"); err != nil {
		t.Errorf("with the client clock matching the server: %v", err)
	}
}
