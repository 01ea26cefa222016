package client

import "github.com/mediaintel/mediaintel_exporter/client/internal/assetjson"

// Asset is one media asset as decoded from an asset-list page: its ID
// (HasID says whether it was sent), ProjectID, whether metaData was sent
// (HasMeta) and metaData's Resolution and Format as sent, DurationMs
// (HasDuration) and Size (HasSize), and the raw CreatedTime and UpdatedTime
// strings, to be parsed with ParseTime. It is the record that the asset
// scanner, package assetjson, fills; its fields are documented there.
//
// An Asset passed to a callback is only valid during that callback: its byte
// slices point into the page buffer, which is reused for the next page. Copy
// what must be kept. Any field may be absent in the API's answer; the Has*
// fields say which were present (and not null).
type Asset = assetjson.Asset

// PageInfo is the paging part of a list answer: TotalCount, TotalPage
// (uncapped), PageNo and PageSize are result.totalCount, result.totalPage,
// result.pageNo and result.pageSize as the API reported them, and Items is
// the number of entries in result.content. Its fields are documented in
// package assetjson, which fills it for asset pages.
type PageInfo = assetjson.PageInfo
