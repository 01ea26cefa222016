package mitest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

func TestAuthentication(t *testing.T) {
	now := time.Date(2025, 4, 23, 7, 49, 24, 0, time.UTC)
	s := NewServer(smallInventory(3), WithClock(func() time.Time { return now }),
		WithCredentials(DefaultAccessKey, DefaultSecretKey), WithCredentials("ncp_iam_OTHER", "other-secret"))
	defer s.Close()
	const uri = "/api/v1/workspaces/ws-one/projects/10/assets?pageNum=1&pageSize=2"

	sign := func(ts time.Time, ak, sk, signedURI string) func(*http.Request) {
		return func(r *http.Request) {
			ms := ts.UnixMilli()
			r.Header.Set(client.HeaderTimestamp, strconv.FormatInt(ms, 10))
			r.Header.Set(client.HeaderAccessKey, ak)
			r.Header.Set(client.HeaderSignature, client.Sign("GET", signedURI, ms, ak, sk))
		}
	}
	del := func(h string) func(*http.Request) { return func(r *http.Request) { r.Header.Del(h) } }
	set := func(h, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(h, v) } }
	ms := time.Millisecond
	tests := []struct {
		name    string
		mod     func(*http.Request)
		status  int
		details string
	}{
		{"valid", sign(now, DefaultAccessKey, DefaultSecretKey, uri), 200, ""},
		{"second key", sign(now, "ncp_iam_OTHER", "other-secret", uri), 200, ""},
		{"skew +5m accepted", sign(now.Add(5*time.Minute), DefaultAccessKey, DefaultSecretKey, uri), 200, ""},
		{"skew -5m accepted", sign(now.Add(-5*time.Minute), DefaultAccessKey, DefaultSecretKey, uri), 200, ""},
		{"skew +5m1ms rejected", sign(now.Add(5*time.Minute+ms), DefaultAccessKey, DefaultSecretKey, uri), 401, "5 minute window"},
		{"skew -5m1ms rejected", sign(now.Add(-5*time.Minute-ms), DefaultAccessKey, DefaultSecretKey, uri), 401, "5 minute window"},
		{"seconds not millis", func(r *http.Request) {
			sign(now, DefaultAccessKey, DefaultSecretKey, uri)(r)
			sec := now.Unix()
			r.Header.Set(client.HeaderTimestamp, strconv.FormatInt(sec, 10))
			r.Header.Set(client.HeaderSignature, client.Sign("GET", uri, sec, DefaultAccessKey, DefaultSecretKey))
		}, 401, "5 minute window"},
		{"wrong secret", sign(now, DefaultAccessKey, "nope", uri), 401, "signature"},
		{"signed without query", sign(now, DefaultAccessKey, DefaultSecretKey, "/api/v1/workspaces/ws-one/projects/10/assets"), 401, "signature"},
		{"signed with other query order", sign(now, DefaultAccessKey, DefaultSecretKey, "/api/v1/workspaces/ws-one/projects/10/assets?pageSize=2&pageNum=1"), 401, "signature"},
		{"unknown key", sign(now, "ncp_iam_UNKNOWN", DefaultSecretKey, uri), 401, "unknown access key"},
		{"missing timestamp", del(client.HeaderTimestamp), 401, "missing " + client.HeaderTimestamp},
		{"missing key", del(client.HeaderAccessKey), 401, "missing " + client.HeaderAccessKey},
		{"missing signature", del(client.HeaderSignature), 401, "missing " + client.HeaderSignature},
		{"timestamp not a number", set(client.HeaderTimestamp, "2025-04-23"), 401, "invalid"},
		{"signature tampered", func(r *http.Request) {
			sign(now, DefaultAccessKey, DefaultSecretKey, uri)(r)
			sig := r.Header.Get(client.HeaderSignature)
			r.Header.Set(client.HeaderSignature, "A"+sig[1:])
		}, 401, "signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetchCtx(t, context.Background(), s, uri, now, tc.mod)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 401 {
				return
			}
			g := decodeGateway(t, body)
			if g.Error.ErrorCode != "200" || g.Error.Message != "Authentication Failed" {
				t.Errorf("body %s", body)
			}
			if !strings.Contains(g.Error.Details, tc.details) {
				t.Errorf("details %q, want it to contain %q", g.Error.Details, tc.details)
			}
		})
	}
	// The default credentials are replaced by WithCredentials.
	s2 := NewServer(smallInventory(0), WithCredentials("ncp_iam_ONLY", "s"))
	defer s2.Close()
	if resp, _ := fetch(t, s2, uri); resp.StatusCode != 401 {
		t.Errorf("default credentials accepted with WithCredentials: %d", resp.StatusCode)
	}
}

func TestSignatureOverRawURI(t *testing.T) {
	// The signature covers the request URI exactly as sent, escapes included.
	s := NewServer(smallInventory(0))
	defer s.Close()
	resp, body := fetch(t, s, "/api/v1/workspaces/ws-one/projects/10/assets?pageNum=1&pageSize=5&x=a%20b")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestPagingValidation(t *testing.T) {
	s := NewServer(smallInventory(3))
	defer s.Close()
	for _, base := range []string{"/api/v1/workspaces", "/api/v1/workspaces/ws-one/projects/11/assets"} {
		tests := []struct {
			query  string
			status int
		}{
			{"?pageNum=1", 200},
			{"?pageNum=1&pageSize=1", 200},
			{"?pageNum=1&pageSize=1000", 200},
			{"?pageNum=2147483647&pageSize=1000", 200},
			{"?pageSize=10&pageNum=3", 200},
			{"", 400},
			{"?pageSize=10", 400},
			{"?pageNum=", 400},
			{"?pageNum=0", 400},
			{"?pageNum=-1", 400},
			{"?pageNum=%2B1", 400},
			{"?pageNum=1.5", 400},
			{"?pageNum=abc", 400},
			{"?pageNum=2147483648", 400},
			{"?pageNum=1&pageSize=0", 400},
			{"?pageNum=1&pageSize=1001", 400},
			{"?pageNum=1&pageSize=", 400},
			{"?pageNum=1&pageSize=ten", 400},
			{"?pageNum=1&pageSize=-5", 400},
			{"?pageNum=1;pageSize=5", 400},
		}
		for _, tc := range tests {
			t.Run(base+tc.query, func(t *testing.T) {
				resp, body := fetch(t, s, base+tc.query)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
				}
				if tc.status == 400 && string(body) != `{"code":"10001","message":"Invalid Request."}` {
					t.Errorf("body %s", body)
				}
			})
		}
	}
	// pageSize defaults to 1000.
	_, body := fetch(t, s, "/api/v1/workspaces?pageNum=1")
	if p := decodePage(t, body); p.Result.PageSize != 1000 {
		t.Errorf("default pageSize %d", p.Result.PageSize)
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	s := NewServer(smallInventory(3))
	defer s.Close()
	tests := []struct {
		uri    string
		status int
		body   string
	}{
		{"/api/v1/workspaces/nope", 404, notFoundBody},
		{"/api/v1/workspaces/nope/projects", 404, notFoundBody},
		{"/api/v1/workspaces/nope/projects/10/assets?pageNum=1", 404, notFoundBody},
		{"/api/v1/workspaces/ws-one/projects/99/assets?pageNum=1", 404, notFoundBody},
		{"/api/v1/workspaces/ws-two/projects/10/assets?pageNum=1", 404, notFoundBody},
		{"/api/v1/workspaces/ws-one/projects/abc/assets?pageNum=1", 404, notFoundBody},
		{"/api/v1/workspaces/ws-one/projects/-10/assets?pageNum=1", 404, notFoundBody},
		{"/api/v1/workspaces/", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/import-status", 404, notFoundBody}, // no asset 5
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/index/status", 404, notFoundBody},
		{"/api/v1/workspaces/nope/projects/10/assets/5/import-status", 404, notFoundBody},
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/analyze-status", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/index", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v2/workspaces", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		// Paths ServeMux would redirect to their cleaned form: unknown.
		{"/api/v1/workspaces//projects", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/assets//import-status", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/../10/assets?pageNum=1", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/./ws-one", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/import-status/", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		{"/api/v1/workspaces/ws-one/projects/10/assets/5/index/status/x", 404, `{"error":{"errorCode":"300","message":"Not Found Exception"}}`},
		// An escaped slash stays in its segment: a workspace named "ws-one/projects".
		{"/api/v1/workspaces/ws-one%2Fprojects", 404, notFoundBody},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			resp, body := fetch(t, s, tc.uri)
			if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	// An escaped character in a segment is the character.
	if resp, body := fetch(t, s, "/api/v1/workspaces/ws%2Done"); resp.StatusCode != 200 || !strings.Contains(string(body), `"ws-one"`) {
		t.Errorf("/api/v1/workspaces/ws%%2Done: %d %s", resp.StatusCode, body)
	}
	// Another method on an unknown path is an unknown path.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/nothing", nil)
	SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Allow") != "" {
		t.Errorf("POST /api/v1/nothing: status %d Allow %q, want 404 and no Allow", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodOptions, http.MethodPatch} {
		req, _ := http.NewRequest(m, s.URL+"/api/v1/workspaces?pageNum=1", nil)
		SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
			t.Errorf("%s: status %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestPagingArithmetic(t *testing.T) {
	for _, n := range []int{0, 1, 7, 999, 1000, 1001, 2500} {
		for _, size := range []int{1, 7, 1000} {
			if n/size > 400 {
				continue
			}
			inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-a", Projects: []*Project{{
				ID: 5, Synthetic: &SyntheticAssets{Count: n, Seed: 3, FirstID: 1},
			}}}}}
			s := NewServer(inv)
			wantPages := int64((n + size - 1) / size)
			var got []int64
			for page := 1; page <= int(wantPages)+1; page++ {
				_, body := fetch(t, s, "/api/v1/workspaces/ws-a/projects/5/assets?pageNum="+strconv.Itoa(page)+"&pageSize="+strconv.Itoa(size))
				p := decodePage(t, body)
				r := p.Result
				if r.TotalCount != int64(n) || r.TotalPage != wantPages || r.PageNo != int64(page) || r.PageSize != int64(size) {
					t.Fatalf("n=%d size=%d page=%d: paging %+v", n, size, page, r)
				}
				if page > int(wantPages) && len(r.Content) != 0 {
					t.Fatalf("n=%d size=%d: page past the end has %d items", n, size, len(r.Content))
				}
				got = append(got, ids(t, p)...)
			}
			if len(got) != n {
				t.Fatalf("n=%d size=%d: got %d assets", n, size, len(got))
			}
			for i, id := range got {
				if id != int64(i+1) {
					t.Fatalf("n=%d size=%d: asset %d has id %d", n, size, i, id)
				}
			}
			s.Close()
		}
	}
}

func TestResponseShapes(t *testing.T) {
	inv := smallInventory(0)
	p := inv.Workspaces[0].Projects[1]
	p.Assets = []Asset{
		{ // the first asset of the seed document
			ID: Ptr(int64(1001)), FileName: Ptr("sample-video-one.mp4"),
			Meta:           &Meta{Resolution: Ptr("1280x720"), DurationMs: Ptr(int64(91565)), Size: Ptr(int64(101176289)), Format: Ptr("mp4")},
			Key:            Ptr("sample-video-one.mp4"),
			CreateUserName: Ptr("user1"), CreatedTime: Ptr("2025-04-23T16:49:24"),
			UpdateUserName: Ptr("user1"), UpdatedTime: Ptr("2025-04-23T16:49:25"),
		},
		{ID: Ptr(int64(1002)), MetaNull: true, Nulls: FieldFileName | FieldCreatedTime},
		{ID: Ptr(int64(1003)), ProjectID: Ptr(int64(77)), Meta: &Meta{Size: Ptr(int64(5))}, Nulls: FieldSize | FieldFormat},
		{},
		{Raw: `{"assetId":"1005","metaData":{"size":"123"}}`},
		{FileName: Ptr("quote\"back\\slash\nctl\x01 한글")},
	}
	s := NewServer(inv)
	defer s.Close()

	_, body := fetch(t, s, "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=1&pageSize=100")
	want := `{"code":"0","message":"success","result":{"content":[` +
		`{"assetId":1001,"fileName":"sample-video-one.mp4","projectId":11,"metaData":{"resolution":"1280x720","durationMs":91565,"size":101176289,"format":"mp4"},"key":"sample-video-one.mp4","createUserName":"user1","createdTime":"2025-04-23T16:49:24","updateUserName":"user1","updatedTime":"2025-04-23T16:49:25"},` +
		`{"assetId":1002,"fileName":null,"projectId":11,"metaData":null,"createdTime":null},` +
		`{"assetId":1003,"projectId":77,"metaData":{"size":null,"format":null}},` +
		`{"projectId":11},` +
		`{"assetId":"1005","metaData":{"size":"123"}},` +
		`{"fileName":"quote\"back\\slash\nctl\u0001 한글","projectId":11}` +
		`],"totalCount":6,"totalPage":1,"pageNo":1,"pageSize":100}}`
	if string(body) != want {
		t.Errorf("asset page\n got %s\nwant %s", body, want)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("asset page is not valid JSON: %v", err)
	}

	_, body = fetch(t, s, "/api/v1/workspaces?pageNum=1&pageSize=1")
	if want := `{"code":"0","message":"success","result":{"content":[{"workspaceName":"ws-one","workspaceUrl":"https://example/ws-one"}],"totalCount":2,"totalPage":2,"pageNo":1,"pageSize":1}}`; string(body) != want {
		t.Errorf("workspaces\n got %s\nwant %s", body, want)
	}
	_, body = fetch(t, s, "/api/v1/workspaces/ws-one")
	if want := `{"code":"0","message":"success","result":{"workspaceName":"ws-one","workspaceUrl":"https://example/ws-one","monthlyAnalysisCount":42}}`; string(body) != want {
		t.Errorf("details\n got %s\nwant %s", body, want)
	}
	_, body = fetch(t, s, "/api/v1/workspaces/ws-one/projects")
	if want := `{"code":"0","message":"success","result":{"projects":[{"projectId":10,"name":"Base Project","isBaseProject":true},{"projectId":11,"name":"stored","isBaseProject":false},{"projectId":12,"name":"empty","isBaseProject":false}]},"totalCount":3}`; string(body) != want {
		t.Errorf("projects\n got %s\nwant %s", body, want)
	}
	resp, body := fetch(t, s, "/api/v1/workspaces/ws-two/projects")
	if want := `{"code":"0","message":"success","result":{"projects":[]},"totalCount":0}`; string(body) != want {
		t.Errorf("no projects\n got %s\nwant %s", body, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body %d", resp.ContentLength, len(body))
	}
}

func TestUpdate(t *testing.T) {
	s := NewServer(smallInventory(3))
	defer s.Close()
	s.Update(func(inv *Inventory) {
		inv.Workspaces = append(inv.Workspaces, &Workspace{Name: "ws-new", Projects: []*Project{{ID: 1, Synthetic: &SyntheticAssets{Count: 3}}}})
	})
	_, body := fetch(t, s, "/api/v1/workspaces/ws-new/projects/1/assets?pageNum=1")
	if p := decodePage(t, body); p.Result.TotalCount != 3 {
		t.Errorf("after Update: %s", body)
	}
	s.SetInventory(&Inventory{})
	if resp, _ := fetch(t, s, "/api/v1/workspaces/ws-new"); resp.StatusCode != 404 {
		t.Errorf("after SetInventory: %d", resp.StatusCode)
	}
}

func TestCounters(t *testing.T) {
	s := NewServer(smallInventory(3))
	defer s.Close()
	fetch(t, s, "/api/v1/workspaces?pageNum=1")
	fetch(t, s, "/api/v1/workspaces?pageNum=0") // rejected, still counted
	fetch(t, s, "/api/v1/workspaces/ws-one")
	fetch(t, s, "/api/v1/workspaces/ws-one/projects")
	for range 3 {
		fetch(t, s, "/api/v1/workspaces/ws-one/projects/10/assets?pageNum=1")
	}
	fetch(t, s, "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=1")
	fetchCtx(t, context.Background(), s, "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=1", time.Now(),
		func(r *http.Request) { r.Header.Del(client.HeaderSignature) })
	fetch(t, s, "/nowhere")
	want := map[client.Operation]int64{client.OpListWorkspaces: 2, client.OpGetWorkspace: 1, client.OpListProjects: 1, client.OpListAssets: 5}
	for op, n := range want {
		if got := s.Requests(op); got != n {
			t.Errorf("Requests(%s) = %d, want %d", op, got, n)
		}
	}
	if got := s.TotalRequests(); got != 10 {
		t.Errorf("TotalRequests = %d, want 10", got)
	}
	if got := s.RequestsFor("ws-one", 10); got != 3 {
		t.Errorf("RequestsFor(10) = %d", got)
	}
	if got := s.RequestsFor("ws-one", 11); got != 2 {
		t.Errorf("RequestsFor(11) = %d", got)
	}
	if got := s.ConnectionsOpened(); got < 1 || got > 10 {
		t.Errorf("ConnectionsOpened = %d", got)
	}
	if got := s.MaxInFlight(); got != 1 {
		t.Errorf("MaxInFlight = %d after sequential requests", got)
	}

	// Concurrent requests held by latency raise MaxInFlight; new transports
	// open new connections.
	s.ResetCounters()
	if s.TotalRequests() != 0 || s.Requests(client.OpListAssets) != 0 || s.RequestsFor("ws-one", 10) != 0 || s.ConnectionsOpened() != 0 || s.MaxInFlight() != 0 {
		t.Fatal("ResetCounters left counts")
	}
	s.SetFault(Scope{Operation: client.OpGetWorkspace}, Fault{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/workspaces/ws-one", nil)
			SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
			if resp, err := tr.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.inflight.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	if got := s.MaxInFlight(); got != 4 {
		t.Errorf("MaxInFlight = %d, want 4", got)
	}
	if got := s.ConnectionsOpened(); got != 4 {
		t.Errorf("ConnectionsOpened = %d, want 4", got)
	}
}

func TestGzip(t *testing.T) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-a", Projects: []*Project{{ID: 5, Synthetic: &SyntheticAssets{Count: 100}}}}}}
	plain := NewServer(inv)
	defer plain.Close()
	zipped := NewServer(inv, WithGzip(true))
	defer zipped.Close()
	const uri = "/api/v1/workspaces/ws-a/projects/5/assets?pageNum=1"
	_, want := fetch(t, plain, uri)
	// http.DefaultClient asks for gzip and decompresses transparently.
	resp, got := fetch(t, zipped, uri)
	if !resp.Uncompressed || string(got) != string(want) {
		t.Errorf("gzip answer differs (uncompressed=%v)", resp.Uncompressed)
	}
	resp, _ = fetchCtx(t, context.Background(), zipped, uri, time.Now(), func(r *http.Request) { r.Header.Set("Accept-Encoding", "identity") })
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that did not ask for it")
	}
}

func TestCloseEndsServer(t *testing.T) {
	s := NewServer(smallInventory(0))
	fetch(t, s, "/api/v1/workspaces?pageNum=1")
	s.Close()
	s.Close() // idempotent
	if _, err := http.Get(s.URL + "/api/v1/workspaces?pageNum=1"); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestPageCache(t *testing.T) {
	inv := func() *Inventory {
		return &Inventory{Workspaces: []*Workspace{{Name: "ws-cache", Projects: []*Project{
			{ID: 7, Synthetic: &SyntheticAssets{Count: 25, Seed: 4}},
		}}}}
	}
	plain := NewServer(inv())
	defer plain.Close()
	cached := NewServer(inv(), WithPageCache(1<<20))
	defer cached.Close()
	const uri = "/api/v1/workspaces/ws-cache/projects/7/assets?pageNum=2&pageSize=10"
	_, want := fetch(t, plain, uri)
	for i := 0; i < 3; i++ {
		if _, got := fetch(t, cached, uri); !bytes.Equal(got, want) {
			t.Fatalf("answer %d from the cache differs:\n%s\nwant\n%s", i, got, want)
		}
	}
	if n := len(cached.def.pages); n != 1 {
		t.Errorf("%d pages cached, want 1", n)
	}
	// A fault that changes the page bypasses the cache.
	cached.SetFault(Scope{Operation: client.OpListAssets}, Fault{WrongPageNo: true})
	if _, got := fetch(t, cached, uri); bytes.Equal(got, want) || !bytes.Contains(got, []byte(`"pageNo":3`)) {
		t.Errorf("WrongPageNo served from the cache: %s", got)
	}
	cached.ClearFaults()
	// Latency alone does not change the page: still served, same bytes.
	cached.SetFault(Scope{Operation: client.OpListAssets}, Fault{Latency: time.Millisecond})
	if _, got := fetch(t, cached, uri); !bytes.Equal(got, want) {
		t.Errorf("with latency: %s", got)
	}
	cached.ClearFaults()
	// Changing the inventory empties the cache.
	cached.Update(func(inv *Inventory) { inv.Workspaces[0].Projects[0].Synthetic.Count = 12 })
	if _, got := fetch(t, cached, uri); bytes.Equal(got, want) {
		t.Error("stale page served after Update")
	}
	// The budget is respected.
	tiny := NewServer(inv(), WithPageCache(10))
	defer tiny.Close()
	fetch(t, tiny, uri)
	if len(tiny.def.pages) != 0 || tiny.def.cacheBytes != 0 {
		t.Errorf("a page over the budget was cached (%d bytes)", tiny.def.cacheBytes)
	}
}
