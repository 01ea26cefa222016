package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestListWorkspacesPages(t *testing.T) {
	s := newServer(t, testInventory())
	rec := &recorder{}
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize, cfg.Observer = 2, rec })
	got, err := c.ListWorkspaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range got {
		names = append(names, w.Name)
	}
	if want := []string{"alpha", "beta", "gamma-01", "delta", "epsilon"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if n := s.Requests(client.OpListWorkspaces); n != 3 {
		t.Errorf("%d requests for 5 workspaces at 2 a page, want 3", n)
	}
	a := got[0]
	if a.URL != "https://mi.example/alpha" || a.BucketName != "alpha-bucket" || a.HasMonthly {
		t.Errorf("alpha listed as %+v", a)
	}
	if want := time.Date(2025, 4, 23, 16, 49, 24, 0, seoul); !a.CreatedTime.Equal(want) {
		t.Errorf("created %v, want %v", a.CreatedTime, want)
	}
	if want := time.Date(2025, 4, 24, 1, 2, 3, 0, time.UTC); !a.UpdatedTime.Equal(want) {
		t.Errorf("updated %v, want %v (the offset honoured)", a.UpdatedTime, want)
	}
	if !got[1].CreatedTime.IsZero() {
		t.Errorf("a workspace without createdTime has %v", got[1].CreatedTime)
	}
	rec.mu.Lock()
	for _, op := range rec.ops {
		if op != client.OpListWorkspaces {
			t.Errorf("observed op %q", op)
		}
	}
	rec.mu.Unlock()

	// One page of 1000.
	s.ResetCounters()
	c = newClient(t, s.URL)
	if got, err := c.ListWorkspaces(context.Background()); err != nil || len(got) != 5 || s.Requests(client.OpListWorkspaces) != 1 {
		t.Errorf("default page size: %d workspaces, %v, %d requests", len(got), err, s.Requests(client.OpListWorkspaces))
	}

	// An empty account.
	s.SetInventory(&mitest.Inventory{})
	s.ResetCounters()
	if got, err := c.ListWorkspaces(context.Background()); err != nil || len(got) != 0 || s.Requests(client.OpListWorkspaces) != 1 {
		t.Errorf("empty account: %v, %v, %d requests", got, err, s.Requests(client.OpListWorkspaces))
	}
}

func TestListWorkspacesErrors(t *testing.T) {
	t.Run("invalid names dropped", func(t *testing.T) {
		inv := testInventory()
		inv.Workspaces = append(inv.Workspaces,
			&mitest.Workspace{Name: "Bad_Name"},
			&mitest.Workspace{Name: "x"},
			&mitest.Workspace{Name: "../../etc"},
			&mitest.Workspace{Name: "alpha"}, // a duplicate
		)
		s := newServer(t, inv)
		c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 3 })
		got, err := c.ListWorkspaces(context.Background())
		e := asError(t, err)
		if len(got) != 5 {
			t.Errorf("got %d valid workspaces, want 5", len(got))
		}
		for _, want := range []string{`"Bad_Name"`, `"x"`, `"../../etc"`, "3 workspace(s)"} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("error %q does not name %s", e.Message, want)
			}
		}
		if e.Op != client.OpListWorkspaces || e.StatusCode != 0 {
			t.Errorf("err = %#v", e)
		}
	})
	t.Run("failing second page", func(t *testing.T) {
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpListWorkspaces, Page: 2}, mitest.Fault{Status: 400, Body: mitest.BodyMI})
		c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 2 })
		got, err := c.ListWorkspaces(context.Background())
		e := asError(t, err)
		if got != nil || e.Target != "page=2" || e.Code != "10001" {
			t.Errorf("got %v, err %v", got, err)
		}
	})
	t.Run("lying totalPage", func(t *testing.T) {
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{LyingTotalPage: 1e9})
		c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 2 })
		got, err := c.ListWorkspaces(context.Background())
		if err != nil || len(got) != 5 || s.Requests(client.OpListWorkspaces) != 3 {
			t.Errorf("%d workspaces, %v, %d requests", len(got), err, s.Requests(client.OpListWorkspaces))
		}
	})
	t.Run("string totalCount", func(t *testing.T) {
		s := newServer(t, testInventory())
		s.SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Body: mitest.BodyWrongTypes})
		c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 2 })
		got, err := c.ListWorkspaces(context.Background())
		if err != nil || len(got) != 5 || s.Requests(client.OpListWorkspaces) != 3 {
			t.Errorf("%d workspaces, %v, %d requests", len(got), err, s.Requests(client.OpListWorkspaces))
		}
	})
}

func TestGetWorkspace(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL)
	w, err := c.GetWorkspace(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "alpha" || w.MonthlyAnalysisCount != 42 || !w.HasMonthly || w.BucketName != "alpha-bucket" {
		t.Errorf("got %+v", w)
	}
	w, err = c.GetWorkspace(context.Background(), "beta")
	if err != nil || w.MonthlyAnalysisCount != 0 || !w.HasMonthly {
		t.Errorf("beta: %+v, %v", w, err)
	}
	// monthlyAnalysisCount as a string, code as a number.
	s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Body: mitest.BodyWrongTypes})
	if w, err := c.GetWorkspace(context.Background(), "alpha"); err != nil || w.MonthlyAnalysisCount != 42 || !w.HasMonthly {
		t.Errorf("wrong types: %+v, %v", w, err)
	}
}

// TestGetWorkspaceSparse: fields may be missing or null.
func TestGetWorkspaceSparse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"code":"0","message":"success","result":{"workspaceName":null,"monthlyAnalysisCount":null,"createdTime":"yesterday"}}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	w, err := c.GetWorkspace(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "alpha" || w.HasMonthly || !w.CreatedTime.IsZero() {
		t.Errorf("got %+v", w)
	}
}

// TestZone: a time without an offset is in the configured zone, Asia/Seoul
// by default; an offset is honoured.
func TestZone(t *testing.T) {
	s := newServer(t, testInventory())
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		loc  *time.Location
		want *time.Location
	}{
		{"default Seoul", nil, seoul},
		{"UTC", time.UTC, time.UTC},
		{"New York", newYork, newYork},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Location = tt.loc })
			local := time.Date(2025, 4, 23, 16, 49, 24, 0, tt.want)
			w, err := c.GetWorkspace(context.Background(), "alpha")
			if err != nil {
				t.Fatal(err)
			}
			if !w.CreatedTime.Equal(local) {
				t.Errorf("workspace created %v, want %v", w.CreatedTime, local)
			}
			if want := time.Date(2025, 4, 24, 1, 2, 3, 0, time.UTC); !w.UpdatedTime.Equal(want) {
				t.Errorf("workspace updated %v, want %v", w.UpdatedTime, want)
			}
			ps, err := c.ListProjects(context.Background(), "alpha")
			if err != nil {
				t.Fatal(err)
			}
			if !ps[0].CreatedTime.Equal(local) {
				t.Errorf("project created %v, want %v", ps[0].CreatedTime, local)
			}
			if want := time.Date(2025, 4, 23, 16, 49, 24, 0, time.UTC); !ps[0].UpdatedTime.Equal(want) {
				t.Errorf("project updated %v, want %v (Z honoured)", ps[0].UpdatedTime, want)
			}
		})
	}
}

func TestListProjects(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL)
	ps, err := c.ListProjects(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Project{{ID: 11, Name: "Base Project", IsBase: true}, {ID: 12, Name: "clips"}, {ID: 13, Name: "empty"}}
	if len(ps) != len(want) {
		t.Fatalf("got %+v", ps)
	}
	for i := range want {
		if ps[i].ID != want[i].ID || ps[i].Name != want[i].Name || ps[i].IsBase != want[i].IsBase {
			t.Errorf("project %d: %+v, want %+v", i, ps[i], want[i])
		}
	}
	if n := s.Requests(client.OpListProjects); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	s.SetFault(mitest.Scope{Operation: client.OpListProjects}, mitest.Fault{Body: mitest.BodyWrongTypes})
	if ps, err := c.ListProjects(context.Background(), "alpha"); err != nil || len(ps) != 3 || ps[2].ID != 13 {
		t.Errorf("projectId as string: %+v, %v", ps, err)
	}
	s.ClearFaults()
	if _, err := c.ListProjects(context.Background(), "nosuch"); asError(t, err).StatusCode != 404 {
		t.Errorf("unknown workspace: %v", err)
	}
}

// TestListProjectsShapes covers totalCount under result, odd project IDs
// and booleans, against an httptest server.
func TestListProjectsShapes(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		ids     []int64
		base    []bool
		wantErr string
	}{
		{"totalCount at top level", `{"code":"0","message":"success","result":{"projects":[{"projectId":1,"isBaseProject":true}]},"totalCount":1}`, []int64{1}, []bool{true}, ""},
		{"totalCount under result", `{"code":"0","result":{"projects":[{"projectId":1},{"projectId":2,"isBaseProject":"Y"}],"totalCount":2}}`, []int64{1, 2}, []bool{false, true}, ""},
		{"no projects", `{"code":"0","result":{"projects":[]}}`, nil, nil, ""},
		{"null projects", `{"code":"0","result":{"projects":null}}`, nil, nil, ""},
		{"duplicates", `{"code":"0","result":{"projects":[{"projectId":1},{"projectId":"1"},{"projectId":2,"isBaseProject":"false"}]}}`, []int64{1, 2}, []bool{false, false}, ""},
		{"invalid IDs skipped", `{"code":"0","result":{"projects":[{"projectId":0},{"projectId":-4},{"name":"no id"},{"projectId":null},{"projectId":5}]}}`, []int64{5}, []bool{false}, "skipped 4 project(s)"},
		{"non-integer ID", `{"code":"0","result":{"projects":[{"projectId":"abc"}]}}`, nil, nil, "decoding response"},
		{"bad boolean", `{"code":"0","result":{"projects":[{"projectId":1,"isBaseProject":"maybe"}]}}`, nil, nil, "decoding response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL)
			ps, err := c.ListProjects(context.Background(), "alpha")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			var base []bool
			for _, p := range ps {
				ids, base = append(ids, p.ID), append(base, p.IsBase)
			}
			if !slices.Equal(ids, tt.ids) || !slices.Equal(base, tt.base) {
				t.Errorf("got IDs %v base %v, want %v %v", ids, base, tt.ids, tt.base)
			}
		})
	}
}

func TestAssetPage(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 10 })
	var ids []int64
	info, err := c.AssetPage(context.Background(), "alpha", 12, 2, func(a *client.Asset) {
		if !a.HasID || a.ProjectID != 12 {
			t.Errorf("asset %+v", a)
		}
		ids = append(ids, a.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if info != (client.PageInfo{TotalCount: 25, TotalPage: 3, PageNo: 2, PageSize: 10, Items: 10}) {
		t.Errorf("page info %+v", info)
	}
	if len(ids) != 10 || ids[0] != 5011 || ids[9] != 5020 {
		t.Errorf("ids %v, want 5011-5020", ids)
	}
	// The last page is short; a page past the end is empty.
	for page, items := range map[int]int{3: 5, 4: 0, 1000: 0} {
		n := 0
		info, err := c.AssetPage(context.Background(), "alpha", 12, page, func(*client.Asset) { n++ })
		if err != nil || info.Items != items || n != items || info.TotalCount != 25 {
			t.Errorf("page %d: %+v, %d callbacks, %v", page, info, n, err)
		}
	}
	// An unknown project.
	_, err = c.AssetPage(context.Background(), "alpha", 99, 1, func(*client.Asset) {})
	if e := asError(t, err); e.StatusCode != 404 || e.Target != "workspace=alpha project=99 page=1" || e.Op != client.OpListAssets {
		t.Errorf("err = %v", err)
	}
}

func TestAssetPageWrongPageNo(t *testing.T) {
	s := newServer(t, testInventory())
	s.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{WrongPageNo: true})
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 10 })
	_, err := c.AssetPage(context.Background(), "alpha", 12, 2, func(*client.Asset) {})
	e := asError(t, err)
	if !strings.Contains(e.Message, "asked for page 2, answered with page 3") || e.StatusCode != 200 || e.Retryable || e.Op != client.OpListAssets {
		t.Errorf("err = %v", err)
	}
	if _, err := listAssets(context.Background(), c, "alpha", 12, func(*client.Asset) {}); err == nil {
		t.Error("ListAssets accepted a page with the wrong pageNo")
	}
}

func TestAssetPageBodies(t *testing.T) {
	tests := []struct {
		name  string
		fault mitest.Fault
		msg   string
	}{
		{"truncated", mitest.Fault{Body: mitest.BodyTruncated}, "truncated"},
		{"malformed", mitest.Fault{Body: mitest.BodyMalformed}, "decoding response"},
		{"HTML 200", mitest.Fault{Status: 200, Body: mitest.BodyHTML}, "HTML"},
		{"empty 200", mitest.Fault{Status: 200, Body: mitest.BodyEmpty}, "empty response body"},
		{"MI code on 200", mitest.Fault{Status: 200, Body: mitest.BodyMI, ErrorCode: "10001"}, "Invalid Request."},
		{"no result", mitest.Fault{Status: 200, Body: mitest.BodyMI, ErrorCode: "0", Message: "success"}, "no result"},
	}
	s := newServer(t, testInventory())
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 10 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ClearFaults()
			s.ResetCounters()
			s.SetFault(mitest.Scope{Operation: client.OpListAssets}, tt.fault)
			_, err := c.AssetPage(context.Background(), "alpha", 12, 1, func(*client.Asset) {})
			e := asError(t, err)
			if !strings.Contains(e.Message, tt.msg) || e.StatusCode != 200 || e.Retryable {
				t.Errorf("err = %v (message %q)", err, e.Message)
			}
			if n := s.Requests(client.OpListAssets); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
	s.ClearFaults()
	s.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Body: mitest.BodyWrongTypes})
	n := 0
	if info, err := c.AssetPage(context.Background(), "alpha", 12, 1, func(a *client.Asset) {
		if a.HasSize {
			n++
		}
	}); err != nil || info.Items != 10 || n != 10 {
		t.Errorf("size as a string: %+v, %d sizes, %v", info, n, err)
	}
}

func TestListAssets(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.PageSize = 10 })
	var ids []int64
	first, err := listAssets(context.Background(), c, "alpha", 12, func(a *client.Asset) { ids = append(ids, a.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if first.TotalCount != 25 || first.PageNo != 1 || len(ids) != 25 || ids[0] != 5001 || ids[24] != 5025 {
		t.Errorf("first %+v, %d ids %v", first, len(ids), ids)
	}
	if n := s.RequestsFor("alpha", 12); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	// An empty project costs one request.
	if first, err := listAssets(context.Background(), c, "alpha", 13, func(*client.Asset) { t.Error("asset in an empty project") }); err != nil || first.TotalCount != 0 || s.RequestsFor("alpha", 13) != 1 {
		t.Errorf("empty project: %+v, %v, %d requests", first, err, s.RequestsFor("alpha", 13))
	}
	// A lying totalPage does not make the client loop.
	s.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 13}, mitest.Fault{LyingTotalPage: 1e9})
	if _, err := listAssets(context.Background(), c, "alpha", 13, func(*client.Asset) {}); err != nil || s.RequestsFor("alpha", 13) != 2 {
		t.Errorf("lying totalPage: %v, %d requests", err, s.RequestsFor("alpha", 13))
	}
	s.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 12}, mitest.Fault{LyingTotalPage: 1e9})
	s.ResetCounters()
	if _, err := listAssets(context.Background(), c, "alpha", 12, func(*client.Asset) {}); err != nil || s.RequestsFor("alpha", 12) != 3 {
		t.Errorf("lying totalPage: %v, %d requests", err, s.RequestsFor("alpha", 12))
	}
	// A failing page fails the listing.
	s.SetFault(mitest.Scope{Operation: client.OpListAssets, ProjectID: 12, Page: 3}, mitest.Fault{Status: 400, Body: mitest.BodyMI})
	if _, err := listAssets(context.Background(), c, "alpha", 12, func(*client.Asset) {}); err == nil || asError(t, err).Target != "workspace=alpha project=12 page=3" {
		t.Errorf("failing page 3: %v", err)
	}
}

// TestListAssetsServerPageSize: a server that uses a smaller page size than
// asked is followed page by page; one that lies about totalCount stops at
// the first empty page.
func TestListAssetsServerPageSize(t *testing.T) {
	const total, serverSize = 23, 5
	tests := []struct {
		name       string
		totalCount int
		requests   int64
	}{
		{"honest", total, 5},
		{"totalCount too high", 1000, 6},
		{"totalCount missing", 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				page, _ := strconv.Atoi(r.URL.Query().Get("pageNum"))
				var items []string
				for i := (page - 1) * serverSize; i < min(page*serverSize, total); i++ {
					items = append(items, fmt.Sprintf(`{"assetId":%d}`, i+1))
				}
				tc := ""
				if tt.totalCount > 0 {
					tc = fmt.Sprintf(`"totalCount":%d,`, tt.totalCount)
				}
				fmt.Fprintf(w, `{"code":"0","result":{"content":[%s],%s"totalPage":1000000000,"pageNo":%d,"pageSize":%d}}`,
					strings.Join(items, ","), tc, page, serverSize)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.PageSize = 10 })
			seen := map[int64]bool{}
			_, err := listAssets(context.Background(), c, "alpha", 1, func(a *client.Asset) { seen[a.ID] = true })
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != total || n.Load() != tt.requests {
				t.Errorf("%d assets in %d requests, want %d in %d", len(seen), n.Load(), total, tt.requests)
			}
		})
	}
}

func TestAssetCount(t *testing.T) {
	s := newServer(t, testInventory())
	var uri string
	c := newClient(t, s.URL, func(cfg *client.Config) {
		cfg.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			uri = r.URL.RequestURI()
			return http.DefaultTransport.RoundTrip(r)
		})
	})
	n, err := c.AssetCount(context.Background(), "alpha", 12)
	if err != nil || n != 25 {
		t.Errorf("AssetCount = %d, %v; want 25", n, err)
	}
	if uri != "/api/v1/workspaces/alpha/projects/12/assets?pageNum=1&pageSize=1" {
		t.Errorf("request %q", uri)
	}
	if s.RequestsFor("alpha", 12) != 1 {
		t.Errorf("%d requests", s.RequestsFor("alpha", 12))
	}
	if n, err := c.AssetCount(context.Background(), "alpha", 13); err != nil || n != 0 {
		t.Errorf("empty project: %d, %v", n, err)
	}
	_, err = c.AssetCount(context.Background(), "alpha", 99)
	if e := asError(t, err); e.StatusCode != 404 || !strings.HasSuffix(e.Target, " count") {
		t.Errorf("unknown project: %v", err)
	}
}

// TestInvalidInputsSendNothing: bad names and IDs are refused before any
// request is sent.
func TestInvalidInputsSendNothing(t *testing.T) {
	s := newServer(t, testInventory())
	c := newClient(t, s.URL)
	ctx := context.Background()
	nop := func(*client.Asset) {}
	calls := []struct {
		name string
		call func() error
		want string
	}{
		{"GetWorkspace short", func() error { _, err := c.GetWorkspace(ctx, "ab"); return err }, `invalid workspace name "ab"`},
		{"GetWorkspace upper", func() error { _, err := c.GetWorkspace(ctx, "Alpha"); return err }, "invalid workspace name"},
		{"GetWorkspace path", func() error { _, err := c.GetWorkspace(ctx, "alpha/projects"); return err }, "invalid workspace name"},
		{"GetWorkspace query", func() error { _, err := c.GetWorkspace(ctx, "alpha?x=1"); return err }, "invalid workspace name"},
		{"GetWorkspace long", func() error { _, err := c.GetWorkspace(ctx, strings.Repeat("a", 64)); return err }, "invalid workspace name"},
		{"GetWorkspace control", func() error { _, err := c.GetWorkspace(ctx, "al\npha"); return err }, `"al pha"`},
		{"ListProjects empty", func() error { _, err := c.ListProjects(ctx, ""); return err }, "invalid workspace name"},
		{"ListProjects dots", func() error { _, err := c.ListProjects(ctx, ".."); return err }, "invalid workspace name"},
		{"AssetPage name", func() error { _, err := c.AssetPage(ctx, "a b c", 12, 1, nop); return err }, "invalid workspace name"},
		{"AssetPage project 0", func() error { _, err := c.AssetPage(ctx, "alpha", 0, 1, nop); return err }, "must be positive"},
		{"AssetPage project -1", func() error { _, err := c.AssetPage(ctx, "alpha", -1, 1, nop); return err }, "must be positive"},
		{"AssetPage page 0", func() error { _, err := c.AssetPage(ctx, "alpha", 12, 0, nop); return err }, "must be positive"},
		{"ListAssets project 0", func() error { _, err := listAssets(ctx, c, "alpha", 0, nop); return err }, "must be positive"},
		{"ListAssets name", func() error { _, err := listAssets(ctx, c, "ALPHA", 12, nop); return err }, "invalid workspace name"},
		{"AssetCount name", func() error { _, err := c.AssetCount(ctx, "x", 12); return err }, "invalid workspace name"},
		{"AssetCount project 0", func() error { _, err := c.AssetCount(ctx, "alpha", 0); return err }, "must be positive"},
		{"AssetCount project -7", func() error { _, err := c.AssetCount(ctx, "alpha", -7); return err }, "must be positive"},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			e := asError(t, err)
			if !strings.Contains(e.Error(), tt.want) || e.Retryable || e.StatusCode != 0 {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if n := s.TotalRequests(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestValidWorkspaceName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "a-1": true, "---": true, strings.Repeat("z", 63): true, "media-01": true,
		"ab": false, "": false, strings.Repeat("z", 64): false, "Abc": false, "a_b": false, "a.b": false,
		"a/b": false, "ab\x00": false, "가나다": false, "abc ": false, "a%2f": false,
	} {
		if got := client.ValidWorkspaceName(name); got != want {
			t.Errorf("ValidWorkspaceName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestPageCount(t *testing.T) {
	tests := []struct {
		name string
		info client.PageInfo
		size int
		want int64
	}{
		{"exact", client.PageInfo{TotalCount: 2000, TotalPage: 2, PageSize: 1000, Items: 1000}, 1000, 2},
		{"remainder", client.PageInfo{TotalCount: 2001, TotalPage: 3, PageSize: 1000, Items: 1000}, 1000, 3},
		{"one page", client.PageInfo{TotalCount: 5, TotalPage: 1, Items: 5}, 1000, 1},
		{"empty", client.PageInfo{}, 1000, 1},
		{"empty with lying totalPage", client.PageInfo{TotalPage: 1e9}, 1000, 1},
		{"lying totalPage", client.PageInfo{TotalCount: 25, TotalPage: 1e9, PageSize: 10, Items: 10}, 10, 3},
		{"totalPage below totalCount", client.PageInfo{TotalCount: 25, TotalPage: 1, Items: 10}, 10, 3},
		{"server page size smaller", client.PageInfo{TotalCount: 25, TotalPage: 5, PageSize: 5, Items: 5}, 10, 5},
		{"server page size larger ignored", client.PageInfo{TotalCount: 25, TotalPage: 1, PageSize: 100, Items: 25}, 10, 3},
		{"no totalCount: trust totalPage", client.PageInfo{TotalPage: 4, Items: 10}, 10, 4},
		{"no totalCount nor totalPage", client.PageInfo{Items: 10}, 10, 1},
		{"negative totalPage", client.PageInfo{TotalPage: -3, Items: 10}, 10, 1},
		{"negative totalCount", client.PageInfo{TotalCount: -3, Items: 0}, 10, 1},
		{"MaxPages from totalCount", client.PageInfo{TotalCount: 1 << 40, Items: 1000}, 1000, client.MaxPages},
		{"MaxPages from totalPage", client.PageInfo{TotalPage: 1e9, Items: 1}, 1000, client.MaxPages},
		{"MaxPages at page size 1", client.PageInfo{TotalCount: client.MaxPages + 1, Items: 1}, 1, client.MaxPages},
		{"just MaxPages", client.PageInfo{TotalCount: client.MaxPages * 1000, Items: 1000}, 1000, client.MaxPages},
		{"zero page size means default", client.PageInfo{TotalCount: 2500, Items: 1000}, 0, 3},
		{"huge totalCount does not overflow", client.PageInfo{TotalCount: 1<<63 - 1, Items: 1}, 1000, client.MaxPages},
	}
	for _, tt := range tests {
		if got := client.PageCount(tt.info, tt.size); got != tt.want {
			t.Errorf("%s: PageCount(%+v, %d) = %d, want %d", tt.name, tt.info, tt.size, got, tt.want)
		}
	}
}

// listAssets reads every page of a project's asset list one after the
// other, as the collector does in parallel with AssetPage and PageCount.
// It returns the first page's info.
func listAssets(ctx context.Context, c *client.Client, workspace string, projectID int64, fn func(*client.Asset)) (client.PageInfo, error) {
	first, err := c.AssetPage(ctx, workspace, projectID, 1, fn)
	if err != nil {
		return first, err
	}
	pages := client.PageCount(first, c.PageSize())
	for p := 2; int64(p) <= pages; p++ {
		info, err := c.AssetPage(ctx, workspace, projectID, p, fn)
		if err != nil {
			return first, err
		}
		if info.Items == 0 {
			break
		}
	}
	return first, nil
}
