package assetjson

// Asset is one media asset as decoded from an asset-list page; the client
// hands it to its callers as client.Asset.
//
// An Asset passed to a callback is only valid during that callback: its byte
// slices point into the page buffer, which is reused for the next page. Copy
// what must be kept. Any field may be absent in the API's answer; the Has*
// fields say which were present (and not null).
type Asset struct {
	// ID is assetId; HasID is true when it was present (and not null).
	ID    int64
	HasID bool

	// ProjectID is projectId (0 when absent).
	ProjectID int64

	// HasMeta is true when metaData was present and not null.
	HasMeta bool
	// Resolution is metaData.resolution as sent, e.g. "1920x1080".
	Resolution []byte
	// Format is metaData.format as sent (not lower-cased).
	Format      []byte
	DurationMs  int64
	HasDuration bool
	Size        int64
	HasSize     bool

	// CreatedTime and UpdatedTime are the raw ISO 8601 strings; parse them
	// with isotime.Parse (client.ParseTime for the client's callers).
	CreatedTime []byte
	UpdatedTime []byte
}

// PageInfo is the paging part of a list answer; the client hands it to its
// callers as client.PageInfo.
type PageInfo struct {
	// TotalCount is result.totalCount as reported by the API.
	TotalCount int64
	// TotalPage is result.totalPage as reported by the API (uncapped).
	TotalPage int64
	// PageNo and PageSize are result.pageNo and result.pageSize.
	PageNo   int64
	PageSize int64
	// Items is the number of entries in result.content.
	Items int
}
