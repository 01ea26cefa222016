package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// sdGroup is one Prometheus HTTP service discovery target group.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Discovery answers Prometheus HTTP service discovery: one target group
// per workspace of each account, or per selected project with
// ?per=project, labelled for relabelling into /probe (__param_account,
// __param_workspace, __param_project) and with the account, workspace and
// project as labels. The target is this exporter's host:port as the
// request addressed it. The workspaces and projects are the ones a scrape
// of /metrics reads, with the same filters; in background mode, the ones
// the latest refresh passes read, without an API call. An account whose
// list fails is left out (and logged); the answer fails only when every
// account's does.
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
			groups, err := h.discover(ctx, per == "project", r.Host)
			if err != nil {
				h.log.Error("discovery failed", "err", err)
				http.Error(w, "discovery failed: "+err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(groups)
		})
	})
}

// discover lists the target groups of every account, in the order of the
// accounts and then of their targets.
func (h *Handler) discover(ctx context.Context, perProject bool, host string) ([]sdGroup, error) {
	accts := h.accounts.List()
	lists := make([][]scrape.Target, len(accts))
	errs := make([]error, len(accts))
	var wg sync.WaitGroup
	for i, a := range accts {
		if a.Refresher != nil {
			lists[i] = a.Refresher.Targets(perProject)
			continue
		}
		wg.Go(func() {
			if lists[i], errs[i] = a.Scraper.Targets(ctx, perProject); errs[i] != nil {
				h.log.Error("discovery failed", "account", a.Name, "err", errs[i])
			}
		})
	}
	wg.Wait()
	groups := []sdGroup{}
	failed := 0
	for i, a := range accts {
		if errs[i] != nil {
			failed++
			continue
		}
		for _, t := range lists[i] {
			labels := map[string]string{"__param_account": a.Name, "account": a.Name, "__param_workspace": t.Workspace, "workspace": t.Workspace}
			if t.Project.ID != 0 {
				id := strconv.FormatInt(t.Project.ID, 10)
				labels["__param_project"], labels["project_id"], labels["project_name"] = id, id, t.Project.Name
			}
			groups = append(groups, sdGroup{Targets: []string{host}, Labels: labels})
		}
	}
	if failed > 0 && failed == len(accts) {
		return nil, errors.Join(errs...)
	}
	return groups, nil
}
