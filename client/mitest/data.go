package mitest

// Inventory is the simulated account: the workspaces the server knows.
//
// A Server reads the Inventory it was given while answering requests; change
// it only through the Update or SetInventory of its Server or Account.
type Inventory struct {
	Workspaces []*Workspace
}

// Workspace is one Media Intelligence workspace. Empty string fields other
// than Name are left out of the JSON answers.
type Workspace struct {
	Name       string
	URL        string
	BucketName string
	// MonthlyAnalysisCount is reported by the workspace details call.
	MonthlyAnalysisCount int64

	CreatedUserName string
	CreatedTime     string
	UpdatedUserName string
	UpdatedTime     string

	Projects []*Project
}

// Project is one project of a workspace. Its asset list is Assets followed by
// the Synthetic assets, if any.
type Project struct {
	ID     int64
	Name   string
	IsBase bool

	CreatedUserName string
	CreatedTime     string
	UpdatedUserName string
	UpdatedTime     string

	// Assets are served first, in order.
	Assets []Asset
	// Synthetic, when not nil, appends Synthetic.Count generated assets after
	// Assets without storing them.
	Synthetic *SyntheticAssets
	// Pipeline moves the import and analysis status of the project's assets
	// (nil: DefaultPipeline).
	Pipeline *Pipeline
}

// AssetCount is the number of assets the project lists.
func (p *Project) AssetCount() int {
	n := len(p.Assets)
	if p.Synthetic != nil && p.Synthetic.Count > 0 {
		n += p.Synthetic.Count
	}
	return n
}

// AssetAt returns the i-th asset of the project's list (0-based), as the
// server serves it when no fault shifts the list.
func (p *Project) AssetAt(i int) Asset {
	if i < len(p.Assets) {
		return p.Assets[i]
	}
	return p.Synthetic.Asset(i - len(p.Assets))
}

// FieldMask names asset fields; it selects fields to send as JSON null.
type FieldMask uint32

// Asset fields, for Asset.Nulls.
const (
	FieldAssetID FieldMask = 1 << iota
	FieldFileName
	FieldProjectID
	FieldMetaData
	FieldResolution
	FieldDurationMs
	FieldSize
	FieldFormat
	FieldKey
	FieldCreateUserName
	FieldCreatedTime
	FieldUpdateUserName
	FieldUpdatedTime
)

// Asset is one entry of an asset-list page.
//
// A nil pointer leaves the field out of the JSON object; a field named in
// Nulls is sent as null whatever its pointer holds. ProjectID is the
// exception: nil sends the owning project's ID.
type Asset struct {
	ID        *int64
	FileName  *string
	ProjectID *int64
	Meta      *Meta
	// MetaNull sends "metaData": null (same as FieldMetaData in Nulls).
	MetaNull       bool
	Key            *string
	CreateUserName *string
	CreatedTime    *string
	UpdateUserName *string
	UpdatedTime    *string

	// Nulls lists fields to send as null.
	Nulls FieldMask

	// Raw, when not empty, is sent verbatim as the whole JSON element instead
	// of the fields above (it is not validated).
	Raw string
}

// Meta is an asset's metaData object; nil fields are left out.
type Meta struct {
	Resolution *string
	DurationMs *int64
	Size       *int64
	Format     *string
}

// Ptr returns a pointer to v; handy to fill Asset and Meta.
func Ptr[T any](v T) *T { return &v }
