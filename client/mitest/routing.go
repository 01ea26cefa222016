package mitest

import (
	"net/http"
	"net/url"
	"path"
	"strconv"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// routes are the API's paths as http.ServeMux patterns, each with the
// operation it serves (client's Operation constants name the same paths).
//
// The patterns carry no method: with "GET " in them, ServeMux would answer
// HEAD with the GET handler and other methods with its own text/plain 405,
// where the API (and so the simulator, see serveAPI) answers every method
// but GET with a JSON 405 after counting the request.
var routes = []struct {
	pattern string
	op      client.Operation
}{
	{"/api/v1/workspaces", client.OpListWorkspaces},
	{"/api/v1/workspaces/{workspace}", client.OpGetWorkspace},
	{"/api/v1/workspaces/{workspace}/projects", client.OpListProjects},
	{"/api/v1/workspaces/{workspace}/projects/{project}/assets", client.OpListAssets},
	{"/api/v1/workspaces/{workspace}/projects/{project}/assets/{asset}/import-status", client.OpImportStatus},
	{"/api/v1/workspaces/{workspace}/projects/{project}/assets/{asset}/index/status", client.OpAnalysisStatus},
	{"/api/v1/workspaces/{workspace}/projects/{project}/assets/{asset}/scene-summary/status", client.OpSceneSummaryStatus},
}

// newMux routes the API's paths to serveAPI and every other path to
// unknownPath. A project or asset ID that is not a number routes all the
// same: the API answers such a request 404 "not found" once it is
// authenticated, as for an ID it does not know.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		op := rt.op
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			ri := reqInfo{op: op, workspace: r.PathValue("workspace")}
			if v, ok := parseDigits(r.PathValue("project"), 1<<62); ok {
				ri.projectID, ri.hasPID = v, true
			}
			if v, ok := parseDigits(r.PathValue("asset"), 1<<62); ok {
				ri.assetID = v
			}
			s.serveAPI(w, r, &ri)
		})
	}
	mux.HandleFunc("/", s.unknownPath)
	return mux
}

// cleanPath reports whether p is a path ServeMux matches as it is: without
// empty, "." or ".." segments, which it would answer with a redirect to
// the cleaned path. The API knows no such path.
func cleanPath(p string) bool {
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// parseDigits parses a decimal number of ASCII digits only, no greater than
// limit. strconv.ParseUint refuses a sign, as the API does (pageNum=+1 is
// a 400), where ParseInt would take it.
func parseDigits(s string, limit int64) (int64, bool) {
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil || v > uint64(limit) {
		return 0, false
	}
	return int64(v), true
}

type paging struct {
	num  int // 0 for operations that are not paged
	size int
}

// paged reports whether op takes pageNum and pageSize.
func paged(op client.Operation) bool {
	return op == client.OpListWorkspaces || op == client.OpListAssets
}

func parsePaging(r *http.Request, op client.Operation) (paging, string) {
	if !paged(op) {
		return paging{}, ""
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return paging{}, "malformed query string"
	}
	pg := paging{size: client.MaxPageSize}
	nums, ok := q["pageNum"]
	if !ok {
		return pg, "pageNum is required"
	}
	v, ok := parseDigits(nums[0], MaxPageNum)
	if !ok || v < 1 {
		return pg, "pageNum must be an integer of 1 or more"
	}
	pg.num = int(v)
	if sizes, ok := q["pageSize"]; ok {
		v, ok := parseDigits(sizes[0], client.MaxPageSize)
		if !ok || v < 1 {
			return pg, "pageSize must be an integer from 1 to 1000"
		}
		pg.size = int(v)
	}
	return pg, ""
}
