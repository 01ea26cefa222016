package mitest

import "fmt"

// SyntheticAssets describes assets generated on the fly: asset i is a pure
// function of Seed and i, so a project of millions of assets costs no memory.
type SyntheticAssets struct {
	// Count is the number of generated assets.
	Count int
	// Seed selects the generated values.
	Seed int64
	// FirstID is the assetId of asset 0; asset i has FirstID+i. Zero means 1001.
	FirstID int64
}

// Asset returns generated asset i (0-based) with ProjectID left nil, i.e.
// as the owning project serves it.
func (s *SyntheticAssets) Asset(i int) Asset {
	var f assetFields
	s.fields(i, 0, &f)
	return f.toAsset()
}

func (s *SyntheticAssets) firstID() int64 {
	if s.FirstID == 0 {
		return 1001
	}
	return s.FirstID
}

func (s *SyntheticAssets) fields(i int, projectID int64, f *assetFields) {
	synthFields(s.Seed, int64(i), s.firstID()+int64(i), projectID, f)
}

// insertedIDBase is the first assetId of assets that a Shift fault inserts.
const insertedIDBase = 9_000_000_000

// insertedFields fills f with the q-th asset (1-based) inserted by a Shift
// fault in front of a project's list.
func insertedFields(projectID, q int64, f *assetFields) {
	synthFields(int64(mix64(uint64(projectID)^0x5348494654)), q, insertedIDBase+q, projectID, f)
}

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// prng is splitmix64: tiny, fast and good enough for test data.
type prng struct{ s uint64 }

func (r *prng) next() uint64 { r.s += 0x9e3779b97f4a7c15; return mix64(r.s) }

// n returns a value in [0, k).
func (r *prng) n(k int) int { return int(r.next() % uint64(k)) }

// unit returns a value in [0, 1).
func (r *prng) unit() float64 { return float64(r.next()>>11) / (1 << 53) }

// logUniform returns a value between lo and hi spread evenly over the
// decades between them (a cheap stand-in for a log-uniform distribution).
func (r *prng) logUniform(lo, hi int64) int64 {
	decades := 0
	for d := lo; d < hi; d *= 10 {
		decades++
	}
	base := lo
	for range r.n(max(decades, 1)) {
		base *= 10
	}
	top := min(base*10, hi)
	return base + int64(r.unit()*float64(top-base))
}

type formatKind uint8

const (
	kindVideo formatKind = iota
	kindImage
	kindOther
)

type formatInfo struct {
	format string
	kind   formatKind
	names  []namePair
}

type namePair struct{ file, key string }

func pairs(prefixes ...string) []namePair {
	out := make([]namePair, len(prefixes))
	for i, p := range prefixes {
		out[i] = namePair{file: p, key: "media/" + p}
	}
	return out
}

var (
	videoPrefixes = []string{"clip-", "interview-", "trailer-", "b-roll-", "promo-", "news-"}
	imagePrefixes = []string{"photo-", "thumbnail-", "poster-", "still-"}

	videoFormats = []formatInfo{
		{"mp4", kindVideo, pairs(videoPrefixes...)},
		{"mkv", kindVideo, pairs(videoPrefixes...)},
		{"mov", kindVideo, pairs(videoPrefixes...)},
		{"webm", kindVideo, pairs(videoPrefixes...)},
	}
	videoWeights = []int{50, 15, 20, 15}

	imageFormats = []formatInfo{
		{"png", kindImage, pairs(imagePrefixes...)},
		{"jpg", kindImage, pairs(imagePrefixes...)},
		{"heic", kindImage, pairs(imagePrefixes...)},
	}
	imageWeights = []int{40, 50, 10}

	oddFormats = []formatInfo{
		{"MP4", kindVideo, pairs(videoPrefixes...)},
		{"avi", kindVideo, pairs(videoPrefixes...)},
		{"gif", kindImage, pairs(imagePrefixes...)},
		{"JPG", kindImage, pairs(imagePrefixes...)},
		{"", kindOther, pairs("upload-")},
	}

	videoResolutions = []string{"1920x1080", "1280x720", "3840x2160", "640x360", "1080x1920", "854x480"}
	videoResWeights  = []int{40, 25, 10, 10, 10, 5}
	imageResolutions = []string{"1920x1080", "1080x1080", "4032x3024", "1280x720", "640x480"}

	userNames = []string{"user1", "user2", "user3", "editor", "ingest-bot", "홍길동", "kim.minsu", "lee.jiyoung"}
)

// synthEpoch is 2023-06-01T00:00:00Z; generated times start there.
const synthEpoch = 1685577600

func weighted(r *prng, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	v := r.n(total)
	for i, x := range w {
		if v < x {
			return i
		}
		v -= x
	}
	return len(w) - 1
}

func extOf(format string) string {
	if format == "" {
		return ".bin"
	}
	return "." + format
}

var extCache = func() map[string]string {
	m := map[string]string{}
	for _, t := range [][]formatInfo{videoFormats, imageFormats, oddFormats} {
		for _, f := range t {
			m[f.format] = extOf(f.format)
		}
	}
	return m
}()

// synthFields fills f with generated asset number idx. The helpers draw
// from r in turn, so the order of the calls is part of the generated data.
func synthFields(seed, idx, id, projectID int64, f *assetFields) {
	r := prng{s: mix64(uint64(seed)) ^ mix64(uint64(idx)+0x243f6a8885a308d3)}
	// All generated strings come from the tables above and need no escaping.
	*f = assetFields{id: id, projectID: projectID, safe: true}
	f.present = FieldAssetID | FieldProjectID | FieldFileName | FieldKey |
		FieldCreateUserName | FieldCreatedTime | FieldUpdateUserName | FieldUpdatedTime

	fi := synthFormat(&r)
	np := fi.names[r.n(len(fi.names))]
	ext := extCache[fi.format]
	f.fileName = sval{s: np.file, num: idx, suffix: ext}
	f.key = sval{s: np.key, num: idx, suffix: ext}
	synthMeta(&r, fi, f)
	synthOddities(&r, f)
	synthUsersAndTimes(&r, idx, f)
}

// synthFormat picks the format of a generated asset: 70% video, 27%
// image, 3% odd.
func synthFormat(r *prng) *formatInfo {
	switch v := r.n(1000); {
	case v < 700:
		return &videoFormats[weighted(r, videoWeights)]
	case v < 970:
		return &imageFormats[weighted(r, imageWeights)]
	default:
		return &oddFormats[r.n(len(oddFormats))]
	}
}

// synthMeta fills the metaData of a generated asset of format fi.
func synthMeta(r *prng, fi *formatInfo, f *assetFields) {
	// metaData: 1% absent, 1% null.
	switch v := r.n(100); {
	case v == 0:
	case v == 1:
		f.null |= FieldMetaData
	default:
		f.present |= FieldMetaData | FieldSize | FieldFormat | FieldResolution
	}
	f.format = fi.format
	switch fi.kind {
	case kindVideo:
		f.res = videoResolutions[weighted(r, videoResWeights)]
		f.size = r.logUniform(1_000_000, 10_000_000_000)
		f.durationMs = r.logUniform(1000, 6*3600*1000)
		f.present |= FieldDurationMs
	case kindImage:
		f.res = imageResolutions[r.n(len(imageResolutions))]
		f.size = r.logUniform(10_000, 10_000_000)
		if r.n(10) == 0 {
			f.null |= FieldDurationMs
		}
	default:
		f.size = r.logUniform(1000, 1_000_000_000)
		f.present &^= FieldResolution
	}
}

// synthOddities leaves out or nulls a field in 3.5% of generated assets.
func synthOddities(r *prng, f *assetFields) {
	switch r.n(200) {
	case 0:
		f.present &^= FieldResolution
	case 1:
		f.null |= FieldSize
	case 2:
		f.present &^= FieldFormat
	case 3:
		f.present &^= FieldFileName
	case 4:
		f.present &^= FieldKey
	case 5:
		f.present &^= FieldCreateUserName | FieldUpdateUserName
	case 6:
		f.null |= FieldUpdatedTime
	}
}

// synthUsersAndTimes fills the user names and times of generated asset
// number idx: created a minute apart from synthEpoch, updated a second
// later or (30%) up to 90 days later.
func synthUsersAndTimes(r *prng, idx int64, f *assetFields) {
	u := userNames[r.n(len(userNames))]
	f.createUser = u
	if r.n(4) == 0 {
		u = userNames[r.n(len(userNames))]
	}
	f.updateUser = u

	created := synthEpoch + idx*60 + int64(r.n(60))
	updated := created + 1
	if r.n(10) < 3 {
		updated += int64(r.n(90 * 86400))
	}
	zone := ""
	switch r.n(100) {
	case 0, 1:
		zone = "+09:00"
	case 2:
		zone = "Z"
	}
	f.created = tval{unix: created, zone: zone, synth: true}
	f.updated = tval{unix: updated, zone: zone, synth: true}
}

// GenConfig sizes an inventory made by Generate.
type GenConfig struct {
	Workspaces           int
	ProjectsPerWorkspace int
	AssetsPerProject     int
	// Synthetic generates assets on the fly (SyntheticAssets) instead of
	// storing them in Project.Assets.
	Synthetic bool
}

var (
	wsWords      = []string{"media", "news", "studio", "archive", "sports", "drama", "ads", "edu"}
	projectWords = []string{"interviews", "highlights", "trailers", "raw-footage", "social-clips", "press", "webinars", "music-videos"}
)

// Generate returns a deterministic inventory: the same seed and cfg give the
// same inventory and the same served bytes. Each workspace has one base
// project; asset IDs are unique across the inventory.
func Generate(seed int64, cfg GenConfig) *Inventory {
	r := prng{s: mix64(uint64(seed))}
	inv := &Inventory{}
	projectID := int64(1000 + r.n(9000))
	nextAssetID := int64(1001)
	timeAt := func(base int64) (string, string) {
		c := base + int64(r.n(86400*30))
		u := c + int64(r.n(86400*30))
		return string(appendISOTime(nil, c, "")), string(appendISOTime(nil, u, ""))
	}
	for w := 0; w < cfg.Workspaces; w++ {
		name := fmt.Sprintf("%s-%02d", wsWords[(w+r.n(len(wsWords)))%len(wsWords)], w+1)
		ws := &Workspace{
			Name:                 name,
			URL:                  "https://mi.ncloud.com/workspaces/" + name,
			MonthlyAnalysisCount: int64(r.n(5000)),
			CreatedUserName:      userNames[r.n(len(userNames))],
			UpdatedUserName:      userNames[r.n(len(userNames))],
		}
		if r.n(4) != 0 {
			ws.BucketName = name + "-bucket"
		}
		ws.CreatedTime, ws.UpdatedTime = timeAt(synthEpoch - 365*86400)
		for p := 0; p < cfg.ProjectsPerWorkspace; p++ {
			projectID += 1 + int64(r.n(7))
			pr := &Project{
				ID:              projectID,
				CreatedUserName: ws.CreatedUserName,
				UpdatedUserName: userNames[r.n(len(userNames))],
			}
			if p == 0 {
				pr.Name, pr.IsBase = "Base Project", true
			} else {
				pr.Name = fmt.Sprintf("%s-%d", projectWords[r.n(len(projectWords))], p)
			}
			pr.CreatedTime, pr.UpdatedTime = timeAt(synthEpoch - 300*86400)
			sa := &SyntheticAssets{Count: cfg.AssetsPerProject, Seed: int64(mix64(uint64(seed) ^ uint64(projectID))), FirstID: nextAssetID}
			nextAssetID += int64(cfg.AssetsPerProject)
			if cfg.Synthetic {
				pr.Synthetic = sa
			} else if cfg.AssetsPerProject > 0 {
				pr.Assets = make([]Asset, cfg.AssetsPerProject)
				for i := range pr.Assets {
					pr.Assets[i] = sa.Asset(i)
				}
			}
			ws.Projects = append(ws.Projects, pr)
		}
		inv.Workspaces = append(inv.Workspaces, ws)
	}
	return inv
}
