package mitest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// route splits an API path into the operation and its parameters.
func route(path string) (ri reqInfo, ok bool) {
	rest, found := strings.CutPrefix(path, "/api/v1/workspaces")
	if !found {
		return ri, false
	}
	if rest == "" {
		ri.op = client.OpListWorkspaces
		return ri, true
	}
	rest, found = strings.CutPrefix(rest, "/")
	if !found {
		return ri, false
	}
	ws, rest, _ := strings.Cut(rest, "/")
	if ws == "" {
		return ri, false
	}
	ri.workspace = ws
	if rest == "" && !strings.HasSuffix(path, "/") {
		ri.op = client.OpGetWorkspace
		return ri, true
	}
	if rest == "projects" {
		ri.op = client.OpListProjects
		return ri, true
	}
	rest, found = strings.CutPrefix(rest, "projects/")
	if !found {
		return ri, false
	}
	pid, rest, _ := strings.Cut(rest, "/")
	if v, ok := parseDigits(pid, 1<<62); ok {
		ri.projectID, ri.hasPID = v, true
	}
	if pid == "" {
		return ri, false
	}
	if rest == "assets" {
		ri.op = client.OpListAssets
		return ri, true
	}
	// assets/{asset_id}/import-status, .../index/status and
	// .../scene-summary/status
	rest, found = strings.CutPrefix(rest, "assets/")
	if !found {
		return ri, false
	}
	aid, rest, _ := strings.Cut(rest, "/")
	switch rest {
	case "import-status":
		ri.op = client.OpImportStatus
	case "index/status":
		ri.op = client.OpAnalysisStatus
	case "scene-summary/status":
		ri.op = client.OpSceneSummaryStatus
	default:
		return ri, false
	}
	if v, ok := parseDigits(aid, 1<<62); ok {
		ri.assetID = v
	}
	return ri, true
}

// parseDigits parses a non-empty string of ASCII digits no greater than limit.
func parseDigits(s string, limit int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if v > limit {
			return 0, false
		}
	}
	return v, true
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
