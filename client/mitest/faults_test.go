package mitest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

const assetsURI = "/api/v1/workspaces/ws-one/projects/10/assets?pageNum=1&pageSize=2"

func TestFaultBodies(t *testing.T) {
	scope := Scope{Operation: client.OpListAssets, Workspace: "ws-one", ProjectID: 10}
	tests := []struct {
		name   string
		fault  Fault
		status int
		ctype  string
		check  func(t *testing.T, body []byte)
	}{
		{"status only", Fault{Status: 429}, 429, "application/json", exact(`{"error":{"errorCode":"400","message":"Quota Exceeded"}}`)},
		{"status without catalogue row", Fault{Status: 418}, 418, "application/json", exact(`{"code":"418","message":"I'm a teapot"}`)},
		{"gateway by code", Fault{Body: BodyGateway, ErrorCode: "420"}, 429, "application/json",
			exact(`{"error":{"errorCode":"420","message":"Rate Limited","details":"simulated fault"}}`)},
		{"gateway numeric", Fault{Status: 503, Body: BodyGateway, ErrorCode: "500", ErrorCodeNumeric: true}, 503, "application/json",
			exact(`{"error":{"errorCode":500,"message":"Endpoint Error","details":"simulated fault"}}`)},
		{"gateway message", Fault{Status: 401, Body: BodyGateway, ErrorCode: "210", Message: "nope"}, 401, "application/json",
			exact(`{"error":{"errorCode":"210","message":"nope","details":"simulated fault"}}`)},
		{"mi", Fault{Status: 400, Body: BodyMI}, 400, "application/json", exact(`{"code":"10001","message":"Invalid Request."}`)},
		{"mi nested", Fault{Status: 400, Body: BodyMINested, ErrorCode: "10023", Message: "m"}, 400, "application/json",
			exact(`{"responseError":{"code":"10023","message":"m"}}`)},
		{"empty", Fault{Status: 502, Body: BodyEmpty}, 502, "application/json", exact(``)},
		{"html", Fault{Status: 502, Body: BodyHTML}, 502, "text/html", func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), "<title>502 Bad Gateway</title>") {
				t.Errorf("body %s", b)
			}
		}},
		{"plain", Fault{Status: 503, Body: BodyPlain, Message: "no healthy upstream"}, 503, "text/plain", exact(`no healthy upstream`)},
		{"malformed", Fault{Body: BodyMalformed}, 200, "application/json", invalidJSON},
		{"truncated", Fault{Body: BodyTruncated}, 200, "application/json", func(t *testing.T, b []byte) {
			invalidJSON(t, b)
			if !strings.HasPrefix(string(b), `{"code":"0","message":"success","result":{"content":[{"assetId":1001`) {
				t.Errorf("body %s", b)
			}
		}},
		{"wrong types", Fault{Body: BodyWrongTypes}, 200, "application/json", func(t *testing.T, b []byte) {
			var v struct {
				Code   any `json:"code"`
				Result struct {
					Content []struct {
						MetaData *struct {
							Size any `json:"size"`
						} `json:"metaData"`
					} `json:"content"`
				} `json:"result"`
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if _, ok := v.Code.(float64); !ok {
				t.Errorf("code is %T", v.Code)
			}
			for _, a := range v.Result.Content {
				if a.MetaData != nil && a.MetaData.Size != nil {
					if _, ok := a.MetaData.Size.(string); !ok {
						t.Errorf("size is %T", a.MetaData.Size)
					}
				}
			}
		}},
		{"huge", Fault{Body: BodyHuge, HugeBytes: 3 << 20}, 200, "application/json", func(t *testing.T, b []byte) {
			if len(b) != 3<<20 {
				t.Errorf("huge body of %d bytes", len(b))
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("huge body is not JSON: %v", err)
			}
		}},
		{"retry after", Fault{Status: 429, Body: BodyGateway, ErrorCode: "410", RetryAfter: "3"}, 429, "application/json", nil},
		{"error after latency", Fault{Status: 504, Latency: 20 * time.Millisecond}, 504, "application/json",
			exact(`{"error":{"errorCode":"510","message":"Endpoint Timeout"}}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(smallInventory(0))
			defer s.Close()
			s.SetFault(scope, tc.fault)
			start := time.Now()
			resp, body := fetch(t, s, assetsURI)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.fault.RetryAfter {
				t.Errorf("Retry-After %q", got)
			}
			if time.Since(start) < tc.fault.Latency {
				t.Errorf("answered before the latency")
			}
			if tc.check != nil {
				tc.check(t, body)
			}
			// Other projects are healthy.
			if resp, _ := fetch(t, s, "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=1"); resp.StatusCode != 200 {
				t.Errorf("unscoped project answered %d", resp.StatusCode)
			}
		})
	}
}

func exact(want string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		if string(b) != want {
			t.Errorf("body %s, want %s", b, want)
		}
	}
}

func invalidJSON(t *testing.T, b []byte) {
	t.Helper()
	var v any
	if json.Unmarshal(b, &v) == nil {
		t.Errorf("body is valid JSON: %s", b)
	}
}

func TestGatewayCatalogue(t *testing.T) {
	if len(GatewayErrors) != 12 {
		t.Fatalf("%d rows", len(GatewayErrors))
	}
	s := NewServer(smallInventory(0))
	defer s.Close()
	for _, g := range GatewayErrors {
		s.SetFault(Scope{}, Fault{Status: g.HTTP, Body: BodyGateway, ErrorCode: g.Code})
		resp, body := fetch(t, s, "/api/v1/workspaces?pageNum=1")
		gb := decodeGateway(t, body)
		if resp.StatusCode != g.HTTP || gb.Error.ErrorCode != g.Code || gb.Error.Message != g.Message {
			t.Errorf("%+v: got %d %s", g, resp.StatusCode, body)
		}
	}
}

func TestFaultGates(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  string // one letter per request: F faulty, o healthy
	}{
		{"always", Fault{Status: 500}, "FFFFFF"},
		{"every 3", Fault{Status: 500, Every: 3}, "ooFooF"},
		{"times 2", Fault{Status: 500, Times: 2}, "FFoooo"},
		{"every 2 times 2", Fault{Status: 500, Every: 2, Times: 2}, "oFoFoo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(smallInventory(0))
			defer s.Close()
			s.SetFault(Scope{Operation: client.OpListAssets}, tc.fault)
			var got strings.Builder
			for range len(tc.want) {
				resp, _ := fetch(t, s, assetsURI)
				if resp.StatusCode == 200 {
					got.WriteByte('o')
				} else {
					got.WriteByte('F')
				}
			}
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got.String(), tc.want)
			}
		})
	}

	// Probability is seeded: the same seed gives the same sequence.
	run := func(seed uint64) string {
		s := NewServer(smallInventory(0))
		defer s.Close()
		s.SetFault(Scope{}, Fault{Status: 500, Probability: 0.5, Seed: seed})
		var b strings.Builder
		for range 40 {
			resp, _ := fetch(t, s, assetsURI)
			b.WriteString(strconv.Itoa(resp.StatusCode / 100))
		}
		return b.String()
	}
	a, b := run(7), run(7)
	if a != b {
		t.Errorf("same seed, different sequences:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "5"); n < 8 || n > 32 {
		t.Errorf("probability 0.5 failed %d of 40", n)
	}
}

func TestFaultScopes(t *testing.T) {
	s := NewServer(smallInventory(3))
	defer s.Close()
	s.SetFault(Scope{}, Fault{Status: 500})
	s.SetFault(Scope{Workspace: "ws-one"}, Fault{Status: 502})
	s.SetFault(Scope{Operation: client.OpListAssets, Workspace: "ws-one", ProjectID: 11}, Fault{Status: 503})
	s.SetFault(Scope{Operation: client.OpListAssets, Page: 2}, Fault{Status: 504})
	tests := []struct {
		uri    string
		status int
	}{
		{"/api/v1/workspaces?pageNum=1", 500},
		{"/api/v1/workspaces?pageNum=2", 500},
		{"/api/v1/workspaces/ws-two", 500},
		{"/api/v1/workspaces/ws-one", 502},
		{"/api/v1/workspaces/ws-one/projects", 502},
		{"/api/v1/workspaces/ws-one/projects/10/assets?pageNum=1", 502},
		{"/api/v1/workspaces/ws-one/projects/10/assets?pageNum=2", 504}, // as specific, set later
		{"/api/v1/workspaces/ws-one/projects/11/assets?pageNum=2", 503}, // more specific
		{"/api/v1/workspaces/ws-one/projects/abc/assets?pageNum=1", 502},
	}
	for _, tc := range tests {
		if resp, body := fetch(t, s, tc.uri); resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.uri, resp.StatusCode, body, tc.status)
		}
	}
	// Faults come after authentication.
	resp, _ := fetchCtx(t, context.Background(), s, "/api/v1/workspaces?pageNum=1", time.Now().Add(time.Hour), nil)
	if resp.StatusCode != 401 {
		t.Errorf("stale request answered %d", resp.StatusCode)
	}
	s.SetFault(Scope{}, Fault{Status: 418}) // replaces
	if resp, _ := fetch(t, s, "/api/v1/workspaces?pageNum=1"); resp.StatusCode != 418 {
		t.Errorf("replaced fault: %d", resp.StatusCode)
	}
	s.ClearFault(Scope{})
	if resp, _ := fetch(t, s, "/api/v1/workspaces?pageNum=1"); resp.StatusCode != 200 {
		t.Errorf("after ClearFault: %d", resp.StatusCode)
	}
	s.ClearFaults()
	if resp, _ := fetch(t, s, "/api/v1/workspaces/ws-one/projects/11/assets?pageNum=2"); resp.StatusCode != 200 {
		t.Errorf("after ClearFaults: %d", resp.StatusCode)
	}
}

func TestHangAndLatencyEndWithClient(t *testing.T) {
	for _, f := range []Fault{{Hang: true}, {Latency: time.Hour}} {
		s := NewServer(smallInventory(0))
		s.SetFault(Scope{}, f)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+assetsURI, nil)
		SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
		start := time.Now()
		_, err := http.DefaultClient.Do(req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%+v: err %v", f, err)
		}
		// The handler ends once the client is gone.
		deadline := time.Now().Add(2 * time.Second)
		for s.inflight.Load() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := s.inflight.Load(); n != 0 {
			t.Errorf("%+v: %d handlers still running after the client left", f, n)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("took %v", time.Since(start))
		}
		s.Close()
	}
}

func TestHangEndsOnClose(t *testing.T) {
	s := NewServer(smallInventory(0))
	s.SetFault(Scope{}, Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL+assetsURI, nil)
		SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("got an answer: " + resp.Status)
		}
		errc <- err
	}()
	for s.inflight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-errc:
		if err == nil || strings.Contains(err.Error(), "got an answer") {
			t.Errorf("hanging client: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("hanging request did not end on Close")
	}
}

func TestResetMidBody(t *testing.T) {
	for _, f := range []Fault{{ResetMidBody: true}, {ResetMidBody: true, Status: 503, Body: BodyGateway}, {ResetMidBody: true, Body: BodyHuge, HugeBytes: 1 << 20}} {
		s := NewServer(smallInventory(0))
		s.SetFault(Scope{}, f)
		req, _ := http.NewRequest("GET", s.URL+assetsURI, nil)
		SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%+v: no headers: %v", f, err)
			s.Close()
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%+v: body read without error", f)
		}
		if int64(len(body)) >= resp.ContentLength {
			t.Errorf("%+v: read %d of %d bytes", f, len(body), resp.ContentLength)
		}
		s.Close()
	}
}

// TestResetBeforeHeaders: the connection is reset before any answer.
func TestResetBeforeHeaders(t *testing.T) {
	s := NewServer(smallInventory(0))
	defer s.Close()
	s.SetFault(Scope{}, Fault{ResetBeforeHeaders: true})
	req, _ := http.NewRequest("GET", s.URL+assetsURI, nil)
	SignRequest(req, DefaultAccessKey, DefaultSecretKey, time.Now())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %s; want the connection reset before the status line", resp.Status)
	}
}

func TestShift(t *testing.T) {
	// 25 assets with IDs 1..25, pages of 10.
	inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-a", Projects: []*Project{
		{ID: 5, Synthetic: &SyntheticAssets{Count: 25, FirstID: 1}},
	}}}}
	page := func(s *Server, n int) assetPage {
		_, body := fetch(t, s, "/api/v1/workspaces/ws-a/projects/5/assets?pageSize=10&pageNum="+strconv.Itoa(n))
		return decodePage(t, body)
	}
	t.Run("insert", func(t *testing.T) {
		s := NewServer(inv)
		defer s.Close()
		s.SetFault(Scope{ProjectID: 5}, Fault{Shift: 3})
		p1, p2, p3 := page(s, 1), page(s, 2), page(s, 3)
		if got := ids(t, p1); !equal(got, seq(1, 10)) || p1.Result.TotalCount != 25 {
			t.Errorf("page 1: %v total %d", got, p1.Result.TotalCount)
		}
		// Second request: 3 inserted in front, so page 2 starts 3 back.
		if got := ids(t, p2); !equal(got, seq(8, 17)) || p2.Result.TotalCount != 28 || p2.Result.TotalPage != 3 {
			t.Errorf("page 2: %v total %d/%d", got, p2.Result.TotalCount, p2.Result.TotalPage)
		}
		// Third request: 6 inserted.
		if got := ids(t, p3); !equal(got, seq(15, 25)[:10]) || p3.Result.TotalCount != 31 {
			t.Errorf("page 3: %v total %d", got, p3.Result.TotalCount)
		}
		// The front now holds the inserted assets, newest first.
		p := page(s, 1)
		want := []int64{insertedIDBase + 9, insertedIDBase + 8, insertedIDBase + 7, insertedIDBase + 6, insertedIDBase + 5,
			insertedIDBase + 4, insertedIDBase + 3, insertedIDBase + 2, insertedIDBase + 1, 1}
		if got := ids(t, p); !equal(got, want) {
			t.Errorf("front after 3 shifts: %v", got)
		}
	})
	t.Run("remove", func(t *testing.T) {
		s := NewServer(inv)
		defer s.Close()
		s.SetFault(Scope{ProjectID: 5}, Fault{Shift: -4})
		p1, p2, p3 := page(s, 1), page(s, 2), page(s, 3)
		if got := ids(t, p1); !equal(got, seq(1, 10)) {
			t.Errorf("page 1: %v", got)
		}
		// 4 removed: page 2 starts at 15, so 11..14 are skipped.
		if got := ids(t, p2); !equal(got, seq(15, 24)) || p2.Result.TotalCount != 21 {
			t.Errorf("page 2: %v total %d", got, p2.Result.TotalCount)
		}
		// 8 removed: 17 left, page 3 is empty.
		if got := ids(t, p3); len(got) != 0 || p3.Result.TotalCount != 17 || p3.Result.TotalPage != 2 {
			t.Errorf("page 3: %v total %d/%d", got, p3.Result.TotalCount, p3.Result.TotalPage)
		}
		for range 10 {
			page(s, 1)
		}
		if p := page(s, 1); p.Result.TotalCount != 0 || len(p.Result.Content) != 0 {
			t.Errorf("after removing everything: %+v", p.Result)
		}
	})
}

func TestPagingLies(t *testing.T) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "ws-a", Projects: []*Project{
		{ID: 5, Synthetic: &SyntheticAssets{Count: 25, FirstID: 1}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	s.SetFault(Scope{ProjectID: 5}, Fault{LyingTotalPage: 1e9})
	for n, want := range map[int]int{1: 10, 3: 5, 4: 0, 999999999: 0} {
		_, body := fetch(t, s, "/api/v1/workspaces/ws-a/projects/5/assets?pageSize=10&pageNum="+strconv.Itoa(n))
		p := decodePage(t, body)
		if p.Result.TotalPage != 1e9 || p.Result.TotalCount != 25 || len(p.Result.Content) != want {
			t.Errorf("page %d: %+v with %d items", n, p.Result, len(p.Result.Content))
		}
	}
	s.SetFault(Scope{ProjectID: 5}, Fault{WrongPageNo: true})
	_, body := fetch(t, s, "/api/v1/workspaces/ws-a/projects/5/assets?pageSize=10&pageNum=2")
	if p := decodePage(t, body); p.Result.PageNo != 3 || ids(t, p)[0] != 11 {
		t.Errorf("wrong pageNo: %+v", p.Result)
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
