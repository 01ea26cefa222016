package scrape

// The page path: one page decoded and aggregated by the exporter's own
// code (projectList.readPage) against encoding/json doing the same work.
// BenchmarkPageAggregate prints the ratio; .ci/bench runs it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

const (
	benchWS      = "bench-ws"
	benchProject = 4242
)

// simPage returns page 1 of a synthetic project of n assets (page size n),
// exactly as the simulator serves it: the documented shape, with the
// simulator's mix of formats, odd and null fields and non-ASCII names.
func simPage(tb testing.TB, n int) []byte {
	tb.Helper()
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: benchWS, Projects: []*mitest.Project{
		{ID: benchProject, Name: "bench", Synthetic: &mitest.SyntheticAssets{Count: n, Seed: 11}},
	}}}}
	sim := mitest.NewServer(inv)
	defer sim.Close()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/workspaces/%s/projects/%d/assets?pageNum=1&pageSize=%d", sim.URL, benchWS, benchProject, n), nil)
	if err != nil {
		tb.Fatal(err)
	}
	mitest.SignRequest(req, mitest.DefaultAccessKey, mitest.DefaultSecretKey, time.Now())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("status %d, %v: %.200s", resp.StatusCode, err, body)
	}
	return body
}

// memPage is a page of the simulator's, served from memory, whose asset
// IDs move on at each next(): every assetId is rewritten once to nine
// digits (idBase + its ID), and next() writes id + k*stride into those
// digits in place, so that page after page the de-duplication set sees new
// IDs, as it does while a large project is paged (the same page merged
// twice would only count duplicates). Moving the IDs allocates nothing.
type memPage struct {
	body   []byte
	ids    []memID
	stride int64
	k      int64
}

type memID struct {
	off int   // where the nine digits are in body
	id  int64 // the ID as the simulator served it
}

const idBase = 100_000_000

var assetIDRE = regexp.MustCompile(`"assetId":([0-9]+)`)

func newMemPage(tb testing.TB, page []byte, stride int) *memPage {
	tb.Helper()
	m := &memPage{stride: int64(stride)}
	last := 0
	for _, loc := range assetIDRE.FindAllSubmatchIndex(page, -1) {
		id, err := strconv.ParseInt(string(page[loc[2]:loc[3]]), 10, 64)
		if err != nil || id >= idBase/10 {
			tb.Fatalf("assetId %q: want a number below %d", page[loc[2]:loc[3]], idBase/10)
		}
		m.body = append(m.body, page[last:loc[2]]...)
		m.ids = append(m.ids, memID{off: len(m.body), id: id})
		m.body = strconv.AppendInt(m.body, idBase+id, 10)
		last = loc[3]
	}
	m.body = append(m.body, page[last:]...)
	return m
}

// next moves the page's asset IDs on by the stride.
func (m *memPage) next() {
	m.k++
	for _, f := range m.ids {
		v := idBase + f.id + m.k*m.stride
		for i := f.off + 8; i >= f.off; i-- {
			m.body[i] = byte('0' + v%10)
			v /= 10
		}
	}
}

// RoundTrip answers every request with the page, a 200 JSON body from
// memory, so that client.AssetPage runs its whole path (signing, request,
// body read, decode, page checks) with no network and no simulator.
func (m *memPage) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    200,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: int64(len(m.body)),
		Request:       req,
	}, nil
}

func memClient(tb testing.TB, page *memPage, pageSize int) *client.Client {
	tb.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		tb.Fatal(err)
	}
	api, err := client.New(client.Config{
		BaseURL:     "http://mi.invalid",
		Credentials: client.Static(client.NewCredentials(mitest.DefaultAccessKey, mitest.DefaultSecretKey)),
		PageSize:    pageSize,
		MaxAttempts: 1,
		Location:    seoul,
		Transport:   page,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// pageAgg is one project listing, read page after page through the
// exporter's own path (fast) or through encoding/json (baseline).
type pageAgg struct {
	pl   *projectList
	recs []record
}

func newPageAgg(api *client.Client) *pageAgg {
	return &pageAgg{pl: newProjectList(api, benchWS, benchProject), recs: make([]record, 0, client.MaxPageSize)}
}

// fast is the exporter's path: projectList.readPage, as listAssets calls
// it (client.AssetPage with the per-asset makeRecord, then merge).
func (g *pageAgg) fast(ctx context.Context) error {
	_, err := g.pl.readPage(ctx, 1)
	return err
}

// The documented asset-list response, for encoding/json. Pointers keep
// "absent or null" apart from zero, as the exporter must.
type docMeta struct {
	Resolution *string `json:"resolution"`
	DurationMs *int64  `json:"durationMs"`
	Size       *int64  `json:"size"`
	Format     *string `json:"format"`
}

type docAsset struct {
	AssetID        *int64   `json:"assetId"`
	FileName       string   `json:"fileName"`
	ProjectID      int64    `json:"projectId"`
	MetaData       *docMeta `json:"metaData"`
	Key            string   `json:"key"`
	CreateUserName string   `json:"createUserName"`
	CreatedTime    string   `json:"createdTime"`
	UpdateUserName string   `json:"updateUserName"`
	UpdatedTime    string   `json:"updatedTime"`
}

type docPage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  *struct {
		Content    []docAsset `json:"content"`
		TotalCount int64      `json:"totalCount"`
		TotalPage  int64      `json:"totalPage"`
		PageNo     int64      `json:"pageNo"`
		PageSize   int64      `json:"pageSize"`
	} `json:"result"`
}

// strBytes returns the bytes of s without copying, so that the baseline is not
// charged for adapting its strings to client.Asset.
func strBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// strPtrBytes is strBytes for an optional string.
func strPtrBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return strBytes(*s)
}

// baseline is the same work done the usual way: encoding/json.Unmarshal of
// the body into structs, then the same makeRecord and merge. It reads the
// body from memory, not through the HTTP client, so it is spared the
// client's request overhead: the ratio is conservative.
func (g *pageAgg) baseline(page []byte) error {
	var p docPage
	if err := json.Unmarshal(page, &p); err != nil {
		return err
	}
	if p.Code != "0" || p.Result == nil {
		return fmt.Errorf("code %q, result %v", p.Code, p.Result != nil)
	}
	g.recs = g.recs[:0]
	for i := range p.Result.Content {
		d := &p.Result.Content[i]
		a := client.Asset{ProjectID: d.ProjectID, CreatedTime: strBytes(d.CreatedTime), UpdatedTime: strBytes(d.UpdatedTime)}
		if d.AssetID != nil {
			a.ID, a.HasID = *d.AssetID, true
		}
		if m := d.MetaData; m != nil {
			a.HasMeta = true
			a.Resolution, a.Format = strPtrBytes(m.Resolution), strPtrBytes(m.Format)
			if m.DurationMs != nil {
				a.DurationMs, a.HasDuration = *m.DurationMs, true
			}
			if m.Size != nil {
				a.Size, a.HasSize = *m.Size, true
			}
		}
		g.recs = append(g.recs, makeRecord(&a, g.pl.loc))
	}
	g.pl.merge(g.recs, p.Result.TotalCount)
	return nil
}

// TestPageAggregateAgree: both benchmark paths do the same work and reach
// the same figures, page after page.
func TestPageAggregateAgree(t *testing.T) {
	const n = 1000
	page := newMemPage(t, simPage(t, n), n)
	api := memClient(t, page, n)
	fast, base := newPageAgg(api), newPageAgg(api)
	for range 3 {
		page.next()
		if err := fast.fast(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := base.baseline(page.body); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(fast.pl.stats, base.pl.stats) {
		t.Fatalf("figures differ:\nfast     %+v\nbaseline %+v", fast.pl.stats, base.pl.stats)
	}
	s := &fast.pl.stats
	if s.Unique+s.WithoutID != 3*n || s.Duplicates != 0 || fast.pl.ids.count() != int(s.Unique) {
		t.Errorf("unique %d, without ID %d, duplicates %d, set %d; want %d new assets", s.Unique, s.WithoutID, s.Duplicates, fast.pl.ids.count(), 3*n)
	}
	// The page exercises every part of the per-asset work.
	if s.Count[FormatOther] == 0 || s.Count[FormatUnknown] == 0 || s.Reasons[ReasonResolutionAboveMax] == 0 || s.Reasons[ReasonMetadataMissing] == 0 ||
		s.Res[Res1080p] == 0 || s.SizeHist.Count == 0 || s.DurHist.Count == 0 || s.LastCreated == 0 {
		t.Errorf("page does not exercise the aggregation: %+v", s)
	}
}

// TestPageAggregateAllocsPerPage: the exporter's page path allocates per
// page (HTTP request, response), never per asset.
func TestPageAggregateAllocsPerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	// Without status tracking, and with it, every asset recent (each is
	// then collected for the tracker: the slice grows by doubling, which is
	// a fraction of an allocation a page, not one an asset).
	for _, tracking := range []bool{false, true} {
		allocs := map[int]float64{}
		for _, n := range []int{10, 1000} {
			page := newMemPage(t, simPage(t, n), 1000) // the same ID stride: the same de-dup set growth
			g := newPageAgg(memClient(t, page, n))
			if tracking {
				g.pl.since = 0
			}
			run := func() {
				page.next()
				if err := g.fast(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			for range 200 { // warm pools; fill the current de-dup groups' arrays
				run()
			}
			allocs[n] = testing.AllocsPerRun(100, run)
			if tracking && len(g.pl.recent) < 300*n {
				t.Fatalf("tracking: %d recent assets collected from 300 pages of %d", len(g.pl.recent), n)
			}
		}
		if allocs[1000] > allocs[10]+10 { // a few more under the race detector; per asset it would be ~1000 more
			t.Errorf("tracking %v: allocations per page: %v with 10 assets, %v with 1000: they grow with the assets", tracking, allocs[10], allocs[1000])
		}
		t.Logf("tracking %v: allocs per page: %v with 10 assets, %v with 1000", tracking, allocs[10], allocs[1000])
	}
}

// BenchmarkPageAggregate runs the exporter's page path (projectList.readPage:
// the client decoder via client.AssetPage over an in-memory transport,
// makeRecord, merge with the de-dup set) and the encoding/json baseline alternately on the same
// simulator page of 1000 assets, and reports x_encoding_json = baseline
// time / exporter time, ns per asset and allocations per page and per asset
// of each path.
func BenchmarkPageAggregate(b *testing.B) {
	const n = 1000
	page := newMemPage(b, simPage(b, n), n)
	api := memClient(b, page, n)
	ctx := context.Background()
	fast, base := newPageAgg(api), newPageAgg(api)
	for range 3 { // warm the pools
		page.next()
		if err := fast.fast(ctx); err != nil {
			b.Fatal(err)
		}
		if err := base.baseline(page.body); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(2 * len(page.body)))
	b.ReportAllocs()
	b.ResetTimer()
	var tFast, tBase time.Duration
	for i := 0; i < b.N; i++ {
		page.next() // new asset IDs for both paths, outside the timings
		t0 := time.Now()
		err1 := fast.fast(ctx)
		t1 := time.Now()
		err2 := base.baseline(page.body)
		t2 := time.Now()
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		tFast += t1.Sub(t0)
		tBase += t2.Sub(t1)
	}
	b.StopTimer()
	if fast.pl.stats.Unique != base.pl.stats.Unique {
		b.Fatalf("paths disagree: %d vs %d assets", fast.pl.stats.Unique, base.pl.stats.Unique)
	}
	// Allocations of each path alone, in steady state (pools warm): the
	// allocs/op above mixes both paths.
	allocsPerPage := func(pages int, run func() error) float64 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range pages {
			if err := run(); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&m1)
		return float64(m1.Mallocs-m0.Mallocs) / float64(pages)
	}
	aFast := allocsPerPage(20, func() error { page.next(); return fast.fast(ctx) })
	aBase := allocsPerPage(3, func() error { page.next(); return base.baseline(page.body) })
	N := float64(b.N)
	b.ReportMetric(float64(tBase)/float64(tFast), "x_encoding_json")
	b.ReportMetric(float64(tFast.Nanoseconds())/N/n, "fast_ns/asset")
	b.ReportMetric(float64(tBase.Nanoseconds())/N/n, "json_ns/asset")
	b.ReportMetric(aFast, "fast_allocs/page")
	b.ReportMetric(aFast/n, "fast_allocs/asset")
	b.ReportMetric(aBase, "json_allocs/page")
	b.ReportMetric(aBase/n, "json_allocs/asset")
}
