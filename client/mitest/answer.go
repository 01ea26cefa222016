package mitest

import "github.com/mediaintel/mediaintel_exporter/client"

// answer builds the normal answer to a validated request into b.
func (s *Server) answer(b []byte, ri *reqInfo, pg paging, af *activeFault) (int, []byte) {
	var o encOpts
	if af != nil && af.Body == BodyWrongTypes {
		o.wrongTypes = true
	}
	s.invMu.RLock()
	defer s.invMu.RUnlock()
	switch ri.op {
	case client.OpListWorkspaces:
		return 200, appendWorkspacePage(b, s.inv.Workspaces, pg, af, o)
	case client.OpGetWorkspace:
		wi := s.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendWorkspaceDetails(b, wi.ws, o)
	case client.OpListProjects:
		wi := s.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendProjects(b, wi.ws.Projects, o)
	case client.OpListAssets:
		wi := s.index[ri.workspace]
		if wi == nil || !ri.hasPID {
			return 404, append(b, notFoundBody...)
		}
		p := wi.projects[ri.projectID]
		if p == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, s.cachedAssetPage(b, ri, p, pg, af, o)
	case client.OpImportStatus, client.OpAnalysisStatus, client.OpSceneSummaryStatus:
		wi := s.index[ri.workspace]
		if wi == nil || !ri.hasPID || wi.projects[ri.projectID] == nil || ri.assetID == 0 {
			return 404, append(b, notFoundBody...)
		}
		st, ok := s.assetStatus(ri.workspace, wi.projects[ri.projectID], ri.assetID)
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
func (s *Server) cachedAssetPage(b []byte, ri *reqInfo, p *Project, pg paging, af *activeFault, o encOpts) []byte {
	if s.cfg.cache <= 0 || (af != nil && af.changesPage()) {
		return appendAssetPage(b, p, pg, af, o)
	}
	key := pageKey{projKey{ri.workspace, ri.projectID}, pg.num, pg.size}
	s.cacheMu.Lock()
	cached, ok := s.pages[key]
	s.cacheMu.Unlock()
	if ok {
		return append(b, cached...)
	}
	start := len(b)
	b = appendAssetPage(b, p, pg, af, o)
	s.cacheMu.Lock()
	if n := int64(len(b) - start); s.cacheBytes+n <= s.cfg.cache {
		if s.pages == nil {
			s.pages = map[pageKey][]byte{}
		}
		s.pages[key] = append([]byte(nil), b[start:]...)
		s.cacheBytes += n
	}
	s.cacheMu.Unlock()
	return b
}
