package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// sdGroup is one Prometheus HTTP service discovery target group.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Discovery answers Prometheus HTTP service discovery: one target group
// per workspace, or per selected project with ?per=project, labelled for
// relabelling into /probe. The target is this exporter's host:port as the
// request addressed it. The workspaces and projects are the ones a scrape
// of /metrics reads, with the same filters.
func (h *Handler) Discovery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k := range q {
			if k != "per" {
				http.Error(w, fmt.Sprintf("unknown parameter %s: want per=workspace or per=project", quote(k)), http.StatusBadRequest)
				return
			}
		}
		per := q.Get("per")
		if per == "" {
			per = "workspace"
		}
		if per != "workspace" && per != "project" || len(q["per"]) > 1 {
			http.Error(w, fmt.Sprintf("per=%s: want workspace or project", quote(per)), http.StatusBadRequest)
			return
		}
		h.bounded(w, r, func(ctx context.Context) {
			targets, err := h.s.Targets(ctx, per == "project")
			if err != nil {
				h.log.Error("discovery failed", "err", err)
				http.Error(w, "discovery failed: "+err.Error(), http.StatusBadGateway)
				return
			}
			groups := make([]sdGroup, len(targets))
			for i, t := range targets {
				labels := map[string]string{"__param_workspace": t.Workspace, "workspace": t.Workspace}
				if t.Project.ID != 0 {
					id := strconv.FormatInt(t.Project.ID, 10)
					labels["__param_project"], labels["project_id"], labels["project_name"] = id, id, t.Project.Name
				}
				groups[i] = sdGroup{Targets: []string{r.Host}, Labels: labels}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(groups)
		})
	})
}
