package handler_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Count-only projects (--mi.count-only).

// TestCountOnly: count-only projects cost one request of page size 1 and
// export the reported count only; the other projects are listed in full.
func TestCountOnly(t *testing.T) {
	inv := mitest.Generate(13, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 4, AssetsPerProject: 25})
	ws := inv.Workspaces[0]
	byName, byID := ws.Projects[1], ws.Projects[2]
	for _, tc := range []struct {
		name  string
		cfg   scrape.Config
		count []*mitest.Project
	}{
		{"none", scrape.Config{}, nil},
		{"regexp", scrape.Config{CountOnly: regexp.MustCompile("^(?:" + regexp.QuoteMeta(byName.Name) + "|" + strconv.FormatInt(byID.ID, 10) + ")$")}, []*mitest.Project{byName, byID}},
		{"all", scrape.Config{CountOnlyAll: true}, ws.Projects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tp := newTapEnv(t, inv, envOpts{pageSize: 10, cfg: tc.cfg})
			r := e.fetch(context.Background(), "/metrics", "5")
			if r.status != 200 {
				t.Fatalf("scrape: %d %v", r.status, r.err)
			}
			fams := parseFamilies(t, r.body)
			for _, p := range ws.Projects {
				countOnly := false
				for _, c := range tc.count {
					countOnly = countOnly || c == p
				}
				id := strconv.FormatInt(p.ID, 10)
				if rep, _ := sampleValue(fams, "ncp_mediaintel_project_assets_reported", projSel(ws.Name, p.ID)); rep != 25 {
					t.Errorf("%d: project_assets_reported %v, want 25", p.ID, rep)
				}
				if ok, _ := sampleValue(fams, "ncp_mediaintel_project_scrape_success", projSel(ws.Name, p.ID)); ok != 1 {
					t.Errorf("%d: project_scrape_success %v", p.ID, ok)
				}
				_, hasFormats := sampleValue(fams, "ncp_mediaintel_assets", map[string]string{"workspace": ws.Name, "project_id": id, "format": "mp4"})
				var queries []url.Values
				for _, q := range tp.requests() {
					if strings.HasSuffix(q.path, "/projects/"+id+"/assets") {
						queries = append(queries, q.query)
					}
				}
				if countOnly {
					if len(queries) != 1 || queries[0].Get("pageSize") != "1" || queries[0].Get("pageNum") != "1" {
						t.Errorf("%d is count-only: asset-list requests %v, want one with pageNum=1&pageSize=1", p.ID, queries)
					}
					if hasFormats {
						t.Errorf("%d is count-only but has per-format series", p.ID)
					}
					for k := range seriesMatching(fams, projSel(ws.Name, p.ID)) {
						if strings.HasPrefix(k, "ncp_mediaintel_assets") || strings.Contains(k, "_last_asset_") {
							t.Errorf("%d is count-only but exports %s", p.ID, k)
						}
					}
				} else {
					if int64(len(queries)) != pagesOf(p, 10) || e.sim.RequestsFor(ws.Name, p.ID) != pagesOf(p, 10) {
						t.Errorf("%d is listed: %d asset-list requests, want %d", p.ID, len(queries), pagesOf(p, 10))
					}
					for _, q := range queries {
						if q.Get("pageSize") != "10" {
							t.Errorf("%d is listed with pageSize=%s", p.ID, q.Get("pageSize"))
						}
					}
					if !hasFormats {
						t.Errorf("%d is listed but has no per-format series", p.ID)
					}
				}
			}
		})
	}
}
