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

// Target is what a /probe request asks for: an account (empty when the
// request names none) and a scope.
type Target struct {
	Account string
	scrape.Scope
}

// ParseTarget validates the /probe parameters. A target is an account
// name (optional), a workspace name and optionally a project ID (an empty
// one is none), never a URL; debug (see ParseDebug) may come with them.
func ParseTarget(q url.Values) (Target, error) {
	for k := range q {
		if k != "account" && k != "workspace" && k != "project" && k != "debug" {
			return Target{}, fmt.Errorf("unknown parameter %s: want account (optional with one account), workspace, optionally project, and optionally debug", quote(k))
		}
	}
	if len(q["workspace"]) != 1 || len(q["project"]) > 1 || len(q["account"]) > 1 {
		return Target{}, errors.New("want exactly one workspace parameter and at most one account and one project parameter")
	}
	var t Target
	if q.Has("account") {
		t.Account = q.Get("account")
		if !ValidAccountName(t.Account) {
			return Target{}, fmt.Errorf("account %s: want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", quote(t.Account))
		}
	}
	ws := q.Get("workspace")
	if !client.ValidWorkspaceName(ws) {
		return Target{}, fmt.Errorf("workspace %s: want 3-63 characters of a-z, 0-9 and '-'", quote(ws))
	}
	t.Workspace = ws
	// An empty project is none: an HTML form (the landing page's) sends
	// its optional fields empty, and Prometheus never sends one (relabeling
	// drops a label left empty, __param_project too).
	if p := q.Get("project"); p != "" {
		id, err := strconv.ParseUint(p, 10, 63)
		if err != nil || id == 0 {
			return Target{}, fmt.Errorf("project %s: want a positive integer", quote(p))
		}
		t.ProjectID = int64(id)
	}
	return t, nil
}

// ValidAccountName reports whether name is a valid account name:
// [a-z0-9][a-z0-9_-]{0,62}.
func ValidAccountName(name string) bool {
	if len(name) < 1 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')) {
			return false
		}
	}
	return true
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

// account finds the account a probe names: the only one when it names
// none. The error says which accounts there are.
func (h *Handler) account(name string) (*Account, error) {
	accts := h.accounts.List()
	if name == "" {
		if len(accts) == 1 {
			return accts[0], nil
		}
		return nil, fmt.Errorf("want an account parameter: the accounts are %s", accountNames(accts))
	}
	for _, a := range accts {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("unknown account %s: the accounts are %s", quote(name), accountNames(accts))
}

func accountNames(accts []*Account) string {
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// Probe serves one workspace (?workspace=W) or one project
// (?workspace=W&project=ID) of one account (&account=A, which may be left
// out when there is one), with none of the process-lifetime metrics; with
// debug=true, the probe's trace instead (see serveDebug).
func (h *Handler) Probe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := ParseTarget(r.URL.Query())
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		debug, err := ParseDebug(r.URL.Query())
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		a, err := h.account(t.Account)
		if err != nil {
			http.Error(w, "bad target: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ws := a.Scraper.Workspaces(); len(ws) > 0 && !slices.Contains(ws, t.Workspace) {
			http.Error(w, fmt.Sprintf("bad target: workspace %q is not among the workspaces configured for account %q", t.Workspace, a.Name), http.StatusBadRequest)
			return
		}
		if debug {
			h.bounded(w, r, func(ctx context.Context) { h.serveDebug(ctx, w, a, t.Scope) })
			return
		}
		h.bounded(w, r, func(ctx context.Context) {
			res := h.read(ctx, a, t.Scope)
			if msg := unknownTarget(res, t); msg != "" {
				http.Error(w, "unknown target: "+msg, http.StatusBadRequest)
				return
			}
			h.serveResults(w, r, []*Account{a}, []*scrape.Result{res}, t.ProjectID != 0, nil)
		})
	})
}

// unknownTarget says why res shows that t does not exist, or "".
func unknownTarget(res *scrape.Result, t Target) string {
	if len(res.Workspaces) != 1 {
		return ""
	}
	wr := res.Workspaces[0]
	switch {
	case wr.NotFound:
		return fmt.Sprintf("workspace %q not found", t.Workspace)
	case wr.Success && t.ProjectID != 0 && len(wr.Projects) == 0:
		return fmt.Sprintf("project %d not found in workspace %q", t.ProjectID, t.Workspace)
	}
	return ""
}
