package mitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fetch sends a signed GET for uri (path and query) and returns the answer.
func fetch(t testing.TB, s *Server, uri string) (*http.Response, []byte) {
	t.Helper()
	return fetchCtx(t, context.Background(), s, uri, time.Now(), nil)
}

func fetchCtx(t testing.TB, ctx context.Context, s *Server, uri string, now time.Time, mod func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	SignRequest(req, DefaultAccessKey, DefaultSecretKey, now)
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", uri, err)
	}
	return resp, body
}

// assetPage is the decoded form of an asset-list answer.
type assetPage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		Content    []map[string]any `json:"content"`
		TotalCount int64            `json:"totalCount"`
		TotalPage  int64            `json:"totalPage"`
		PageNo     int64            `json:"pageNo"`
		PageSize   int64            `json:"pageSize"`
	} `json:"result"`
}

func decodePage(t testing.TB, body []byte) assetPage {
	t.Helper()
	var p assetPage
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		t.Fatalf("decoding page: %v\n%.300s", err, body)
	}
	return p
}

func ids(t testing.TB, p assetPage) []int64 {
	t.Helper()
	out := make([]int64, 0, len(p.Result.Content))
	for _, a := range p.Result.Content {
		n, ok := a["assetId"].(json.Number)
		if !ok {
			out = append(out, -1)
			continue
		}
		v, err := n.Int64()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

type gatewayBody struct {
	Error struct {
		ErrorCode any    `json:"errorCode"`
		Message   string `json:"message"`
		Details   string `json:"details"`
	} `json:"error"`
}

func decodeGateway(t testing.TB, body []byte) gatewayBody {
	t.Helper()
	var g gatewayBody
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("decoding gateway body: %v\n%s", err, body)
	}
	return g
}

// smallInventory has one workspace "ws-one" with projects 10 (base, 5
// synthetic assets), 11 (stored assets n) and 12 (empty).
func smallInventory(n int) *Inventory {
	p11 := &Project{ID: 11, Name: "stored"}
	for i := range n {
		p11.Assets = append(p11.Assets, Asset{ID: Ptr(int64(500 + i)), FileName: Ptr("f.mp4")})
	}
	return &Inventory{Workspaces: []*Workspace{{
		Name: "ws-one", URL: "https://example/ws-one", MonthlyAnalysisCount: 42,
		Projects: []*Project{
			{ID: 10, Name: "Base Project", IsBase: true, Synthetic: &SyntheticAssets{Count: 5, Seed: 1}},
			p11,
			{ID: 12, Name: "empty"},
		},
	}, {Name: "ws-two"}}}
}
