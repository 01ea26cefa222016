package handler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// ParseTarget validates the /probe parameters. A target is a workspace
// name and optionally a project ID, never a URL; debug (see ParseDebug)
// may come with them.
func ParseTarget(q url.Values) (scrape.Scope, error) {
	for k := range q {
		if k != "workspace" && k != "project" && k != "debug" {
			return scrape.Scope{}, fmt.Errorf("unknown parameter %s: want workspace, optionally project, and optionally debug", quote(k))
		}
	}
	if len(q["workspace"]) != 1 || len(q["project"]) > 1 {
		return scrape.Scope{}, errors.New("want exactly one workspace parameter and at most one project parameter")
	}
	ws := q.Get("workspace")
	if !client.ValidWorkspaceName(ws) {
		return scrape.Scope{}, fmt.Errorf("workspace %s: want 3-63 characters of a-z, 0-9 and '-'", quote(ws))
	}
	s := scrape.Scope{Workspace: ws}
	if q.Has("project") {
		p := q.Get("project")
		id, err := strconv.ParseUint(p, 10, 63)
		if err != nil || id == 0 {
			return scrape.Scope{}, fmt.Errorf("project %s: want a positive integer", quote(p))
		}
		s.ProjectID = int64(id)
	}
	return s, nil
}

// ParseDebug reads the debug parameter of /probe: absent, true or false.
func ParseDebug(q url.Values) (bool, error) {
	v, ok := q["debug"]
	if !ok {
		return false, nil
	}
	if len(v) == 1 && (v[0] == "true" || v[0] == "false") {
		return v[0] == "true", nil
	}
	return false, fmt.Errorf("debug=%s: want true or false, once", quote(strings.Join(v, ",")))
}

// Probe serves one workspace (?workspace=W) or one project
// (?workspace=W&project=ID), with a fresh registry and none of the
// process-lifetime metrics; with debug=true, the probe's trace instead
// (see serveDebug).
func (h *Handler) Probe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope, err := ParseTarget(r.URL.Query())
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		debug, err := ParseDebug(r.URL.Query())
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ws := h.s.Workspaces(); len(ws) > 0 && !slices.Contains(ws, scope.Workspace) {
			http.Error(w, fmt.Sprintf("bad target: workspace %q is not among the configured --mi.workspace", scope.Workspace), http.StatusBadRequest)
			return
		}
		if debug {
			h.bounded(w, r, func(ctx context.Context) { h.serveDebug(ctx, w, scope) })
			return
		}
		h.bounded(w, r, func(ctx context.Context) {
			res := h.flights.do(ctx, scope)
			if len(res.Workspaces) == 1 {
				wr := res.Workspaces[0]
				if wr.NotFound {
					http.Error(w, fmt.Sprintf("unknown target: workspace %q not found", scope.Workspace), http.StatusBadRequest)
					return
				}
				if wr.Success && scope.ProjectID != 0 && len(wr.Projects) == 0 {
					http.Error(w, fmt.Sprintf("unknown target: project %d not found in workspace %q", scope.ProjectID, scope.Workspace), http.StatusBadRequest)
					return
				}
			}
			h.serveResult(w, r, res, scope.ProjectID != 0)
		})
	})
}
