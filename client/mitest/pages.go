package mitest

import "strconv"

func appendSuccessHead(b []byte, o encOpts) []byte {
	if o.wrongTypes {
		return append(b, `{"code":0,"message":"success","result":`...)
	}
	return append(b, `{"code":"0","message":"success","result":`...)
}

// pageBounds returns the [start, end) item range of a page and the total
// page count for total items.
func pageBounds(total int64, pg paging) (start, end, totalPage int64) {
	size := int64(pg.size)
	totalPage = (total + size - 1) / size
	start = (int64(pg.num) - 1) * size
	end = min(start+size, total)
	if start >= total {
		start, end = total, total
	}
	return start, end, totalPage
}

func appendPageTail(b []byte, total, totalPage int64, pg paging, af *activeFault, o encOpts, totalAsString bool) []byte {
	pageNo := int64(pg.num)
	if af != nil {
		if af.LyingTotalPage != 0 {
			totalPage = af.LyingTotalPage
		}
		if af.WrongPageNo {
			pageNo++
		}
	}
	b = append(b, `],"totalCount":`...)
	if totalAsString && o.wrongTypes {
		b = append(b, '"')
		b = strconv.AppendInt(b, total, 10)
		b = append(b, '"')
	} else {
		b = strconv.AppendInt(b, total, 10)
	}
	b = append(b, `,"totalPage":`...)
	b = strconv.AppendInt(b, totalPage, 10)
	b = append(b, `,"pageNo":`...)
	b = strconv.AppendInt(b, pageNo, 10)
	b = append(b, `,"pageSize":`...)
	b = strconv.AppendInt(b, int64(pg.size), 10)
	return append(b, "}}"...)
}

func appendWorkspaceFields(w *objWriter, ws *Workspace) {
	str := func(k, v string) {
		if v != "" {
			w.key(k)
			w.b = appendJSONString(w.b, v)
		}
	}
	w.key("workspaceName")
	w.b = appendJSONString(w.b, ws.Name)
	str("workspaceUrl", ws.URL)
	str("bucketName", ws.BucketName)
	str("createdUserName", ws.CreatedUserName)
	str("createdTime", ws.CreatedTime)
	str("updatedUserName", ws.UpdatedUserName)
	str("updatedTime", ws.UpdatedTime)
}

func appendWorkspacePage(b []byte, all []*Workspace, pg paging, af *activeFault, o encOpts) []byte {
	list := make([]*Workspace, 0, len(all))
	for _, ws := range all {
		if ws != nil {
			list = append(list, ws)
		}
	}
	total := int64(len(list))
	start, end, totalPage := pageBounds(total, pg)
	b = appendSuccessHead(b, o)
	b = append(b, `{"content":[`...)
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		w := objWriter{b: append(b, '{'), first: true}
		appendWorkspaceFields(&w, list[i])
		b = append(w.b, '}')
	}
	return appendPageTail(b, total, totalPage, pg, af, o, true)
}

func appendWorkspaceDetails(b []byte, ws *Workspace, o encOpts) []byte {
	b = appendSuccessHead(b, o)
	w := objWriter{b: append(b, '{'), first: true}
	appendWorkspaceFields(&w, ws)
	w.key("monthlyAnalysisCount")
	if o.wrongTypes {
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, ws.MonthlyAnalysisCount, 10)
		w.b = append(w.b, '"')
	} else {
		w.b = strconv.AppendInt(w.b, ws.MonthlyAnalysisCount, 10)
	}
	return append(w.b, "}}"...)
}

func appendProjects(b []byte, projects []*Project, o encOpts) []byte {
	b = appendSuccessHead(b, o)
	b = append(b, `{"projects":[`...)
	n := 0
	for _, p := range projects {
		if p == nil {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		w := objWriter{b: append(b, '{'), first: true}
		w.key("projectId")
		if o.wrongTypes {
			w.b = append(w.b, '"')
			w.b = strconv.AppendInt(w.b, p.ID, 10)
			w.b = append(w.b, '"')
		} else {
			w.b = strconv.AppendInt(w.b, p.ID, 10)
		}
		w.key("name")
		w.b = appendJSONString(w.b, p.Name)
		w.key("isBaseProject")
		w.b = strconv.AppendBool(w.b, p.IsBase)
		str := func(k, v string) {
			if v != "" {
				w.key(k)
				w.b = appendJSONString(w.b, v)
			}
		}
		str("createdUserName", p.CreatedUserName)
		str("createdTime", p.CreatedTime)
		str("updatedUserName", p.UpdatedUserName)
		str("updatedTime", p.UpdatedTime)
		b = append(w.b, '}')
	}
	b = append(b, `]},"totalCount":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

// appendAssetPage writes one asset-list page of p. A Shift fault serves the
// list with af.shiftBy assets inserted at (or removed from) the front.
func appendAssetPage(b []byte, p *Project, pg paging, af *activeFault, o encOpts) []byte {
	n := int64(p.AssetCount())
	var shift int64
	if af != nil {
		shift = af.shiftBy
	}
	total := n + shift
	if shift < 0 {
		total = n - min(-shift, n)
	}
	start, end, totalPage := pageBounds(total, pg)
	b = appendSuccessHead(b, o)
	b = append(b, `{"content":[`...)
	var f assetFields
	stored := int64(len(p.Assets))
	for j := start; j < end; j++ {
		if j > start {
			b = append(b, ',')
		}
		if j < shift {
			// The front holds inserted assets, the latest inserted first.
			insertedFields(p.ID, shift-j, &f)
			b = appendAssetJSON(b, &f, o)
			continue
		}
		i := j - shift // with shift < 0 this skips the removed assets
		if i < stored {
			a := &p.Assets[i]
			if a.Raw != "" {
				b = append(b, a.Raw...)
				continue
			}
			f.fromAsset(a, p.ID)
		} else {
			p.Synthetic.fields(int(i-stored), p.ID, &f)
		}
		b = appendAssetJSON(b, &f, o)
	}
	return appendPageTail(b, total, totalPage, pg, af, o, false)
}
