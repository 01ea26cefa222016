package mitest

import "github.com/mediaintel/mediaintel_exporter/client"

// answer builds the normal answer to a validated request into b.
func (a *Account) answer(b []byte, ri *reqInfo, pg paging, af *activeFault) (int, []byte) {
	var o encOpts
	if af != nil && af.Body == BodyWrongTypes {
		o.wrongTypes = true
	}
	a.invMu.RLock()
	defer a.invMu.RUnlock()
	switch ri.op {
	case client.OpListWorkspaces:
		return 200, appendWorkspacePage(b, a.inv.Workspaces, pg, af, o)
	case client.OpGetWorkspace:
		wi := a.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendWorkspaceDetails(b, wi.ws, o)
	case client.OpListProjects:
		wi := a.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendProjects(b, wi.ws.Projects, o)
	case client.OpListAssets:
		wi := a.index[ri.workspace]
		if wi == nil || !ri.hasPID {
			return 404, append(b, notFoundBody...)
		}
		p := wi.projects[ri.projectID]
		if p == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, a.cachedAssetPage(b, ri, p, pg, af, o)
	case client.OpImportStatus, client.OpAnalysisStatus, client.OpSceneSummaryStatus:
		wi := a.index[ri.workspace]
		if wi == nil || !ri.hasPID || wi.projects[ri.projectID] == nil || ri.assetID == 0 {
			return 404, append(b, notFoundBody...)
		}
		st, ok := a.assetStatus(ri.workspace, wi.projects[ri.projectID], ri.assetID)
		if !ok {
			return 404, append(b, notFoundBody...)
		}
		switch ri.op {
		case client.OpImportStatus:
			return 200, appendImportStatus(b, ri.assetID, st, o)
		case client.OpAnalysisStatus:
			return 200, appendAnalysisStatus(b, ri.assetID, st, o)
		}
		if st.SummaryNotFound {
			return 404, append(b, noSummaryBody...)
		}
		return 200, appendSummaryStatus(b, st, o)
	}
	return 404, append(b, notFoundBody...)
}

// cachedAssetPage is appendAssetPage through the page cache (WithPageCache),
// for a page that no fault changes.
func (a *Account) cachedAssetPage(b []byte, ri *reqInfo, p *Project, pg paging, af *activeFault, o encOpts) []byte {
	if a.s.cfg.cache <= 0 || (af != nil && af.changesPage()) {
		return appendAssetPage(b, p, pg, af, o)
	}
	key := pageKey{projKey{ri.workspace, ri.projectID}, pg.num, pg.size}
	a.cacheMu.Lock()
	cached, ok := a.pages[key]
	a.cacheMu.Unlock()
	if ok {
		return append(b, cached...)
	}
	start := len(b)
	b = appendAssetPage(b, p, pg, af, o)
	a.cacheMu.Lock()
	if n := int64(len(b) - start); a.cacheBytes+n <= a.s.cfg.cache {
		if a.pages == nil {
			a.pages = map[pageKey][]byte{}
		}
		a.pages[key] = append([]byte(nil), b[start:]...)
		a.cacheBytes += n
	}
	a.cacheMu.Unlock()
	return b
}
