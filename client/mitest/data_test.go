package mitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// servedBytes fetches every list of every workspace of s, all pages, and
// returns the concatenated answers.
func servedBytes(t testing.TB, s *Server, inv *Inventory, pageSize int) []byte {
	t.Helper()
	var all bytes.Buffer
	_, body := fetch(t, s, "/api/v1/workspaces?pageNum=1")
	all.Write(body)
	for _, ws := range inv.Workspaces {
		_, body = fetch(t, s, "/api/v1/workspaces/"+ws.Name)
		all.Write(body)
		_, body = fetch(t, s, "/api/v1/workspaces/"+ws.Name+"/projects")
		all.Write(body)
		for _, p := range ws.Projects {
			for n := 1; ; n++ {
				_, body = fetch(t, s, "/api/v1/workspaces/"+ws.Name+"/projects/"+strconv.FormatInt(p.ID, 10)+
					"/assets?pageSize="+strconv.Itoa(pageSize)+"&pageNum="+strconv.Itoa(n))
				all.Write(body)
				if pg := decodePage(t, body); int64(n) >= pg.Result.TotalPage {
					break
				}
			}
		}
	}
	return all.Bytes()
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := GenConfig{Workspaces: 2, ProjectsPerWorkspace: 3, AssetsPerProject: 450}
	serve := func(seed int64, cfg GenConfig) []byte {
		inv := Generate(seed, cfg)
		s := NewServer(inv)
		defer s.Close()
		return servedBytes(t, s, inv, 200)
	}
	a, b := serve(42, cfg), serve(42, cfg)
	if !bytes.Equal(a, b) {
		t.Error("same seed served different bytes")
	}
	if c := serve(43, cfg); bytes.Equal(a, c) {
		t.Error("different seeds served the same bytes")
	}
	// Stored and synthetic assets are the same assets.
	cfg.Synthetic = true
	if c := serve(42, cfg); !bytes.Equal(a, c) {
		t.Error("Synthetic inventory serves different bytes from the stored one")
	}
}

func TestGenerateShape(t *testing.T) {
	inv := Generate(5, GenConfig{Workspaces: 4, ProjectsPerWorkspace: 5, AssetsPerProject: 4000, Synthetic: true})
	nameRE := regexp.MustCompile(`^[a-z0-9-]{3,63}$`)
	projectIDs := map[int64]bool{}
	for _, ws := range inv.Workspaces {
		if !nameRE.MatchString(ws.Name) {
			t.Errorf("workspace name %q", ws.Name)
		}
		bases := 0
		for _, p := range ws.Projects {
			if p.IsBase {
				bases++
			}
			if projectIDs[p.ID] {
				t.Errorf("project ID %d repeated", p.ID)
			}
			projectIDs[p.ID] = true
		}
		if bases != 1 {
			t.Errorf("workspace %s has %d base projects", ws.Name, bases)
		}
	}

	s := NewServer(inv)
	defer s.Close()
	ws := inv.Workspaces[0]
	formats := map[string]int{}
	var absentMeta, nullMeta, zoned int
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+09:00)?$`)
	assetIDs := map[int64]bool{}
	for _, p := range ws.Projects {
		_, body := fetch(t, s, "/api/v1/workspaces/"+ws.Name+"/projects/"+strconv.FormatInt(p.ID, 10)+"/assets?pageNum=1")
		var page struct {
			Result struct {
				Content []struct {
					AssetID   *int64 `json:"assetId"`
					ProjectID int64  `json:"projectId"`
					MetaData  *struct {
						Resolution *string `json:"resolution"`
						DurationMs *int64  `json:"durationMs"`
						Size       *int64  `json:"size"`
						Format     *string `json:"format"`
					} `json:"metaData"`
					CreatedTime *string `json:"createdTime"`
					UpdatedTime *string `json:"updatedTime"`
				} `json:"content"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for i, a := range page.Result.Content {
			if a.AssetID == nil || assetIDs[*a.AssetID] {
				t.Fatalf("asset %d: missing or repeated ID", i)
			}
			assetIDs[*a.AssetID] = true
			if a.ProjectID != p.ID {
				t.Errorf("projectId %d in project %d", a.ProjectID, p.ID)
			}
			for _, tm := range []*string{a.CreatedTime, a.UpdatedTime} {
				if tm != nil && !timeRE.MatchString(*tm) {
					t.Errorf("time %q", *tm)
				}
				if tm != nil && len(*tm) > 19 {
					zoned++
				}
			}
			m := a.MetaData
			if m == nil {
				absentMeta++ // absent or null; told apart below
				continue
			}
			if m.Format != nil {
				formats[*m.Format]++
			}
			if m.Size != nil && (*m.Size < 0 || *m.Size > 10e9) {
				t.Errorf("size %d", *m.Size)
			}
			if m.DurationMs != nil && (*m.DurationMs < 1000 || *m.DurationMs > 6*3600*1000) {
				t.Errorf("durationMs %d", *m.DurationMs)
			}
			if m.Format != nil && m.DurationMs != nil {
				switch *m.Format {
				case "png", "jpg", "heic", "gif", "JPG":
					t.Errorf("image with a duration")
				}
			}
		}
		nullMeta += bytes.Count(body, []byte(`"metaData":null`))
	}
	for _, f := range []string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic", "MP4", "avi", "gif", ""} {
		if formats[f] == 0 {
			t.Errorf("format %q never generated (%v)", f, formats)
		}
	}
	if nullMeta == 0 || absentMeta <= nullMeta {
		t.Errorf("metaData: %d absent or null, %d null", absentMeta, nullMeta)
	}
	if zoned == 0 {
		t.Error("no time with a zone offset")
	}
}

func TestSyntheticMillionPage1000(t *testing.T) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "big-ws", Projects: []*Project{
		{ID: 1, Synthetic: &SyntheticAssets{Count: 1_000_000, Seed: 9, FirstID: 1}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	const uri = "/api/v1/workspaces/big-ws/projects/1/assets?pageNum=1000&pageSize=1000"
	fetch(t, s, uri) // warm the pools

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, body := fetch(t, s, uri)
	runtime.ReadMemStats(&after)
	p := decodePage(t, body)
	got := ids(t, p)
	if len(got) != 1000 || got[0] != 999_001 || got[999] != 1_000_000 || p.Result.TotalPage != 1000 || p.Result.TotalCount != 1_000_000 {
		t.Fatalf("page 1000: %d items from %d, paging %+v", len(got), got[0], p.Result)
	}
	// Client and server together; a materialized list would take hundreds of MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("serving page 1000 allocated %d bytes", alloc)
	}

	// The encoder itself barely allocates.
	ri := reqInfo{op: client.OpListAssets, workspace: "big-ws", projectID: 1, hasPID: true, page: 1000}
	buf := make([]byte, 0, 1<<20)
	allocs := testing.AllocsPerRun(5, func() {
		_, b := s.def.answer(buf[:0], &ri, paging{num: 1000, size: 1000}, nil)
		buf = b
	})
	if allocs > 2 {
		t.Errorf("encoding a page of 1000 synthetic assets: %v allocations", allocs)
	}
}

func TestSyntheticAssetMatchesServed(t *testing.T) {
	sa := &SyntheticAssets{Count: 300, Seed: 77}
	p := &Project{ID: 3, Synthetic: sa}
	var f assetFields
	for i := range 300 {
		a := p.AssetAt(i)
		f.fromAsset(&a, 3)
		viaAsset := appendAssetJSON(nil, &f, encOpts{})
		sa.fields(i, 3, &f)
		direct := appendAssetJSON(nil, &f, encOpts{})
		if !bytes.Equal(viaAsset, direct) {
			t.Fatalf("asset %d:\n%s\n%s", i, viaAsset, direct)
		}
		var v map[string]any
		if err := json.Unmarshal(direct, &v); err != nil {
			t.Fatalf("asset %d is not JSON: %v\n%s", i, err, direct)
		}
	}
}

func TestDemo(t *testing.T) {
	s := NewDemoServer()
	defer s.Close()
	inv := DemoInventory()
	nameRE := regexp.MustCompile(`^[a-z0-9-]{3,63}$`)
	projects, assets := 0, 0
	foundFailing := false
	for _, ws := range inv.Workspaces {
		if !nameRE.MatchString(ws.Name) {
			t.Errorf("workspace name %q", ws.Name)
		}
		for _, p := range ws.Projects {
			projects++
			assets += p.AssetCount()
			if ws.Name == DemoFailingWorkspace && p.ID == DemoFailingProject {
				foundFailing = true
			}
		}
	}
	if len(inv.Workspaces) != 3 || projects != 12 || assets != 62_700 || !foundFailing {
		t.Errorf("demo: %d workspaces, %d projects, %d assets, failing project found %v", len(inv.Workspaces), projects, assets, foundFailing)
	}

	resp, body := fetch(t, s, "/api/v1/workspaces/"+DemoFailingWorkspace+"/projects/"+strconv.FormatInt(DemoFailingProject, 10)+"/assets?pageNum=1")
	if g := decodeGateway(t, body); resp.StatusCode != 503 || g.Error.ErrorCode != "500" || g.Error.Message != "Endpoint Error" {
		t.Errorf("failing project: %d %s", resp.StatusCode, body)
	}
	_, body = fetch(t, s, "/api/v1/workspaces/media-prod/projects/1002/assets?pageNum=18")
	if p := decodePage(t, body); p.Result.TotalCount != 18000 || len(p.Result.Content) != 1000 {
		t.Errorf("media-prod/1002 page 18: %+v", p.Result)
	}
}

// TestDemoLab: the demo's second account, on its own key: a small
// inventory of its own, one workspace named as one of the first account's
// but with other projects, asset IDs apart from the first account's.
func TestDemoLab(t *testing.T) {
	s := NewDemoServer()
	defer s.Close()
	lab := s.Account(DemoLabAccessKey)
	if lab == nil || lab == s.Account(DefaultAccessKey) || len(s.Accounts()) != 2 {
		t.Fatalf("demo accounts: %d, lab %p", len(s.Accounts()), lab)
	}
	nameRE := regexp.MustCompile(`^[a-z0-9-]{3,63}$`)
	inv, first := DemoLabInventory(), DemoInventory()
	projects, assets := 0, 0
	var lo, hi int64 = 1 << 62, 0
	for _, ws := range inv.Workspaces {
		if !nameRE.MatchString(ws.Name) {
			t.Errorf("workspace name %q", ws.Name)
		}
		for _, p := range ws.Projects {
			projects++
			assets += p.AssetCount()
			if p.Pipeline == nil {
				t.Errorf("lab project %d has no pipeline of its own", p.ID)
			}
			if n := p.AssetCount(); n > 0 {
				lo, hi = min(lo, *p.AssetAt(0).ID), max(hi, *p.AssetAt(n - 1).ID)
			}
		}
	}
	if len(inv.Workspaces) != 2 || projects != 5 || assets != 4_755 {
		t.Errorf("lab: %d workspaces, %d projects, %d assets", len(inv.Workspaces), projects, assets)
	}
	for _, ws := range first.Workspaces {
		for _, p := range ws.Projects {
			if n := p.AssetCount(); n > 0 && *p.AssetAt(0).ID <= hi && *p.AssetAt(n - 1).ID >= lo {
				t.Errorf("asset IDs of %s/%d overlap the lab's %d..%d", ws.Name, p.ID, lo, hi)
			}
		}
	}

	// DemoSharedWorkspace: each key sees its own projects.
	ctx := context.Background()
	for _, tc := range []struct {
		acct     *Account
		projects []int64
	}{
		{s.Account(DefaultAccessKey), []int64{1001, 1002, 1003, 1004, 1005}},
		{lab, []int64{5001, 5002, 5003}},
	} {
		c := newClient(t, tc.acct, nil)
		ps, err := c.ListProjects(ctx, DemoSharedWorkspace)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, tc.projects) {
			t.Errorf("%s with key %s: projects %v, want %v", DemoSharedWorkspace, tc.acct.AccessKey(), ids, tc.projects)
		}
	}
	if n, err := newClient(t, lab, nil).AssetCount(ctx, DemoSharedWorkspace, 5002); err != nil || n != 1450 {
		t.Errorf("lab %s/5002: %d assets (%v), want 1450", DemoSharedWorkspace, n, err)
	}
	if n, err := newClient(t, lab, nil).AssetCount(ctx, DemoFailingWorkspace, DemoFailingProject); statusOf(err) != 404 {
		t.Errorf("lab %s/%d: %d %v, want a 404 (the first account's workspace)", DemoFailingWorkspace, DemoFailingProject, n, err)
	}
}

func BenchmarkAssetPageEncode(b *testing.B) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "big-ws", Projects: []*Project{
		{ID: 1, Synthetic: &SyntheticAssets{Count: 1_000_000, Seed: 9}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	ri := reqInfo{op: client.OpListAssets, workspace: "big-ws", projectID: 1, hasPID: true}
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, buf = s.def.answer(buf[:0], &ri, paging{num: i%1000 + 1, size: 1000}, nil)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAssetPageHTTP is one 1000-asset page over HTTP, the client only
// reading the bytes.
func BenchmarkAssetPageHTTP(b *testing.B) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "big-ws", Projects: []*Project{
		{ID: 1, Synthetic: &SyntheticAssets{Count: 1_000_000, Seed: 9}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	var n int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/workspaces/big-ws/projects/1/assets?pageSize=1000&pageNum="+strconv.Itoa(i%1000+1), nil)
		SignRequest(req, DefaultAccessKey, DefaultSecretKey, timeNow())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.SetBytes(n)
}

var timeNow = time.Now

// BenchmarkAssetPageDecodeJSON decodes the same page with encoding/json, as
// a yardstick: serving a page should cost less than a client decoding it.
func BenchmarkAssetPageDecodeJSON(b *testing.B) {
	inv := &Inventory{Workspaces: []*Workspace{{Name: "big-ws", Projects: []*Project{
		{ID: 1, Synthetic: &SyntheticAssets{Count: 1_000_000, Seed: 9}},
	}}}}
	s := NewServer(inv)
	defer s.Close()
	ri := reqInfo{op: client.OpListAssets, workspace: "big-ws", projectID: 1, hasPID: true}
	_, page := s.def.answer(nil, &ri, paging{num: 1, size: 1000}, nil)
	type asset struct {
		AssetID  int64  `json:"assetId"`
		FileName string `json:"fileName"`
		Meta     *struct {
			Resolution string `json:"resolution"`
			DurationMs int64  `json:"durationMs"`
			Size       int64  `json:"size"`
			Format     string `json:"format"`
		} `json:"metaData"`
		CreatedTime string `json:"createdTime"`
		UpdatedTime string `json:"updatedTime"`
	}
	var v struct {
		Result struct {
			Content []asset `json:"content"`
		} `json:"result"`
	}
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		v.Result.Content = v.Result.Content[:0]
		if err := json.Unmarshal(page, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAssetPageEncodeVsJSON encodes the same 1000 generated assets with
// the simulator's encoder and with encoding/json (a struct per asset whose
// fields are nil when absent, json.RawMessage("null") when null), each from
// the generated fields, alternately, and reports ns per asset of each and
// x_encoding_json = encoding/json time / encoder time. It is the figure
// that keeps the hand encoder (see appendAssetJSON).
func BenchmarkAssetPageEncodeVsJSON(b *testing.B) {
	const n = 1000
	fields := make([]assetFields, n)
	for i := range fields {
		synthFields(9, int64(i), 1001+int64(i), 1, &fields[i])
	}
	type meta struct {
		Resolution any `json:"resolution,omitempty"`
		DurationMs any `json:"durationMs,omitempty"`
		Size       any `json:"size,omitempty"`
		Format     any `json:"format,omitempty"`
	}
	type asset struct {
		AssetID        any `json:"assetId,omitempty"`
		FileName       any `json:"fileName,omitempty"`
		ProjectID      any `json:"projectId,omitempty"`
		MetaData       any `json:"metaData,omitempty"`
		Key            any `json:"key,omitempty"`
		CreateUserName any `json:"createUserName,omitempty"`
		CreatedTime    any `json:"createdTime,omitempty"`
		UpdateUserName any `json:"updateUserName,omitempty"`
		UpdatedTime    any `json:"updatedTime,omitempty"`
	}
	type page struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Result  struct {
			Content    []asset `json:"content"`
			TotalCount int64   `json:"totalCount"`
			TotalPage  int64   `json:"totalPage"`
			PageNo     int64   `json:"pageNo"`
			PageSize   int64   `json:"pageSize"`
		} `json:"result"`
	}
	null := json.RawMessage("null")
	val := func(f *assetFields, m FieldMask, v func() any) any {
		switch f.state(m) {
		case 1:
			return v()
		case 2:
			return null
		}
		return nil
	}
	viaJSON := func() []byte {
		p := page{Code: "0", Message: "success"}
		p.Result.Content = make([]asset, n)
		p.Result.TotalCount, p.Result.TotalPage, p.Result.PageNo, p.Result.PageSize = 1_000_000, 1000, 1, n
		for i := range fields {
			f := &fields[i]
			a := &p.Result.Content[i]
			a.AssetID = val(f, FieldAssetID, func() any { return f.id })
			a.FileName = val(f, FieldFileName, func() any { return f.fileName.String() })
			a.ProjectID = val(f, FieldProjectID, func() any { return f.projectID })
			a.MetaData = val(f, FieldMetaData, func() any {
				return &meta{
					Resolution: val(f, FieldResolution, func() any { return f.res }),
					DurationMs: val(f, FieldDurationMs, func() any { return f.durationMs }),
					Size:       val(f, FieldSize, func() any { return f.size }),
					Format:     val(f, FieldFormat, func() any { return f.format }),
				}
			})
			a.Key = val(f, FieldKey, func() any { return f.key.String() })
			a.CreateUserName = val(f, FieldCreateUserName, func() any { return f.createUser })
			a.CreatedTime = val(f, FieldCreatedTime, func() any { return f.created.String() })
			a.UpdateUserName = val(f, FieldUpdateUserName, func() any { return f.updateUser })
			a.UpdatedTime = val(f, FieldUpdatedTime, func() any { return f.updated.String() })
		}
		out, err := json.Marshal(&p)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	var buf []byte
	ours := func() []byte {
		buf = appendSuccessHead(buf[:0], encOpts{})
		buf = append(buf, `{"content":[`...)
		for i := range fields {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendAssetJSON(buf, &fields[i], encOpts{})
		}
		return appendPageTail(buf, 1_000_000, 1000, paging{num: 1, size: n}, nil, encOpts{}, false)
	}
	// Both write the same JSON value (encoding/json escapes nothing more in
	// these generated strings).
	var x, y any
	if err := json.Unmarshal(ours(), &x); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(viaJSON(), &y); err != nil {
		b.Fatal(err)
	}
	if xs, ys := fmt.Sprint(x), fmt.Sprint(y); xs != ys {
		b.Fatalf("the encoders disagree:\n%.300s\n%.300s", xs, ys)
	}
	b.SetBytes(int64(2 * len(ours())))
	b.ReportAllocs()
	var tOurs, tJSON time.Duration
	for b.Loop() {
		t0 := time.Now()
		ours()
		t1 := time.Now()
		viaJSON()
		tOurs += t1.Sub(t0)
		tJSON += time.Since(t1)
	}
	N := float64(b.N)
	b.ReportMetric(float64(tJSON)/float64(tOurs), "x_encoding_json")
	b.ReportMetric(float64(tOurs.Nanoseconds())/N/n, "ours_ns/asset")
	b.ReportMetric(float64(tJSON.Nanoseconds())/N/n, "json_ns/asset")
}
