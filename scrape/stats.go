package scrape

import (
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Format is the class of an asset's metaData.format: one of the seven
// documented formats (docs/api.md, "List assets"), Other (any other non-empty format) or Unknown (format
// or metaData absent or empty).
type Format uint8

// The format classes, in the order they are exported.
const (
	FormatMP4 Format = iota
	FormatMKV
	FormatMOV
	FormatWEBM
	FormatPNG
	FormatJPG
	FormatHEIC
	FormatOther
	FormatUnknown
	// NumFormats is the number of format classes.
	NumFormats = int(FormatUnknown) + 1
	// NumDocumentedFormats are the classes exported for every project, zero
	// or not; Other and Unknown only when non-zero.
	NumDocumentedFormats = int(FormatHEIC) + 1
)

var formatNames = [NumFormats]string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic", "other", "unknown"}

// String is the format's label value.
func (f Format) String() string { return formatNames[f] }

// Video tells the video formats apart from the image formats.
func (f Format) Video() bool { return f <= FormatWEBM }

// Image is true for the documented image formats.
func (f Format) Image() bool { return f >= FormatPNG && f <= FormatHEIC }

// formatOf maps metaData.format (any case) to its class without allocating.
func formatOf(b []byte, hasMeta bool) Format {
	if !hasMeta || len(b) == 0 {
		return FormatUnknown
	}
	if len(b) > 4 {
		return FormatOther
	}
	var buf [4]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	s := buf[:len(b)]
	for f := range Format(NumDocumentedFormats) {
		if string(s) == formatNames[f] {
			return f
		}
	}
	return FormatOther
}

// Resolution is the class of an asset's resolution, by its shorter side,
// so that portrait 1080x1920 is 1080p.
type Resolution uint8

// The resolution classes.
const (
	ResBelow360p Resolution = iota
	Res360p
	Res480p
	Res720p
	Res1080p
	Res1440p
	Res2160pAndAbove
	ResUnknown
	// NumResolutions is the number of resolution classes.
	NumResolutions = int(ResUnknown) + 1
)

var resolutionNames = [NumResolutions]string{"below_360p", "360p", "480p", "720p", "1080p", "1440p", "2160p_and_above", "unknown"}

// String is the class's label value.
func (r Resolution) String() string { return resolutionNames[r] }

// parseResolution reads "WIDTHxHEIGHT" ("x" or "X", spaces allowed around
// it) and returns the shorter side, or 0 if the string is not a resolution.
func parseResolution(b []byte) int64 {
	i := 0
	num := func() (int64, bool) {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		start := i
		var v int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if v > 1e6 {
				return 0, false
			}
			v = v*10 + int64(b[i]-'0')
			i++
		}
		for i < len(b) && b[i] == ' ' {
			i++
		}
		return v, i > start && v > 0
	}
	w, ok := num()
	if !ok {
		return 0
	}
	if i >= len(b) || (b[i] != 'x' && b[i] != 'X') {
		return 0
	}
	i++
	h, ok := num()
	if !ok || i != len(b) {
		return 0
	}
	return min(w, h)
}

func resolutionOf(short int64) Resolution {
	switch {
	case short <= 0:
		return ResUnknown
	case short < 360:
		return ResBelow360p
	case short < 480:
		return Res360p
	case short < 720:
		return Res480p
	case short < 1080:
		return Res720p
	case short < 1440:
		return Res1080p
	case short < 2160:
		return Res1440p
	default:
		return Res2160pAndAbove
	}
}

// Reason is why an asset is outside Media Intelligence's documented limits
// (docs/api.md, "Limits").
type Reason uint8

// The out-of-spec reasons.
const (
	ReasonResolutionBelowMin Reason = iota
	ReasonResolutionAboveMax
	ReasonVideoTooLong
	ReasonVideoTooLarge
	ReasonImageTooLarge
	ReasonFormatUnsupported
	ReasonMetadataMissing
	// NumReasons is the number of reasons.
	NumReasons = int(ReasonMetadataMissing) + 1
)

var reasonNames = [NumReasons]string{"resolution_below_min", "resolution_above_max", "video_too_long", "video_too_large", "image_too_large", "format_unsupported", "metadata_missing"}

// String is the reason's label value.
func (r Reason) String() string { return reasonNames[r] }

// InvalidField names a metaData value that was rejected as absurd.
type InvalidField uint8

// The fields whose values are checked.
const (
	InvalidSize InvalidField = iota
	InvalidDuration
	// NumInvalidFields is the number of checked fields.
	NumInvalidFields = int(InvalidDuration) + 1
)

var invalidFieldNames = [NumInvalidFields]string{"size", "duration"}

// String is the field's label value.
func (f InvalidField) String() string { return invalidFieldNames[f] }

// Documented limits (docs/api.md, "Limits"). GB and MB are read as binary
// units (GiB, MiB), as NCP's storage products use them; a value exactly at
// a limit is within it.
const (
	minShortSide       = 360
	maxShortSide       = 1080
	maxVideoDurationMs = 6 * 3600 * 1000
	maxVideoBytes      = 10 << 30
	maxImageBytes      = 10 << 20
	maxPlausibleBytes  = 1 << 40              // 1 TiB: beyond it a size is rejected as absurd
	maxPlausibleDuraMs = 7 * 24 * 3600 * 1000 // 7 days: beyond it a duration is rejected
)

// Histogram buckets: sizes from a thumbnail to the 10 GiB video limit;
// durations from a clip to the 6 h limit.
var (
	SizeBuckets     = []float64{256 << 10, 1 << 20, 4 << 20, 10 << 20, 64 << 20, 256 << 20, 1 << 30, 4 << 30, 10 << 30}
	DurationBuckets = []float64{10, 30, 60, 300, 600, 1800, 3600, 7200, 21600}
)

// record is what one asset contributes, computed while its page is decoded.
type record struct {
	id      int64
	size    int64
	durMs   int64
	created int64
	updated int64
	hasID   bool
	fmt     Format
	res     Resolution
	flags   uint8
	reasons uint8 // bit per Reason
}

const (
	flagSize = 1 << iota
	flagDur
	flagCreated
	flagUpdated
	flagBadSize
	flagBadDur
)

// makeRecord classifies one decoded asset; times without an offset are in
// loc.
func makeRecord(a *client.Asset, loc *time.Location) record {
	r := record{id: a.ID, hasID: a.HasID, fmt: formatOf(a.Format, a.HasMeta)}
	if a.HasMeta && a.HasSize {
		if a.Size < 0 || a.Size > maxPlausibleBytes {
			r.flags |= flagBadSize
		} else {
			r.size, r.flags = a.Size, r.flags|flagSize
		}
	}
	if a.HasMeta && a.HasDuration {
		if a.DurationMs < 0 || a.DurationMs > maxPlausibleDuraMs {
			r.flags |= flagBadDur
		} else {
			r.durMs, r.flags = a.DurationMs, r.flags|flagDur
		}
	}
	short := int64(0)
	if a.HasMeta {
		short = parseResolution(a.Resolution)
	}
	r.res = resolutionOf(short)
	if t, ok := parseTime(a.CreatedTime, loc); ok {
		r.created, r.flags = t, r.flags|flagCreated
	}
	if t, ok := parseTime(a.UpdatedTime, loc); ok {
		r.updated, r.flags = t, r.flags|flagUpdated
	}

	// Out-of-spec reasons; an asset with several problems has several bits.
	reason := func(x Reason) { r.reasons |= 1 << x }
	switch {
	case r.fmt == FormatOther:
		reason(ReasonFormatUnsupported)
	case r.fmt == FormatUnknown || short == 0 || r.flags&flagSize == 0 || (r.fmt.Video() && r.flags&flagDur == 0):
		reason(ReasonMetadataMissing)
	}
	if short > 0 && short < minShortSide {
		reason(ReasonResolutionBelowMin)
	}
	if short > maxShortSide {
		reason(ReasonResolutionAboveMax)
	}
	if r.fmt.Video() {
		if r.flags&flagDur != 0 && r.durMs > maxVideoDurationMs {
			reason(ReasonVideoTooLong)
		}
		if r.flags&flagSize != 0 && r.size > maxVideoBytes {
			reason(ReasonVideoTooLarge)
		}
	}
	if r.fmt.Image() && r.flags&flagSize != 0 && r.size > maxImageBytes {
		reason(ReasonImageTooLarge)
	}
	return r
}

func parseTime(b []byte, loc *time.Location) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	return client.ParseTime(b, loc)
}

// Stats is the aggregate of one project's asset list. Sizes and durations
// are summed under the asset's format class, Unknown included, so the
// per-format sums add up to every valid value the listing reported.
type Stats struct {
	Count    [NumFormats]int64
	Bytes    [NumFormats]int64
	DurMs    [NumFormats]int64
	Res      [NumResolutions]int64
	Reasons  [NumReasons]int64
	Invalid  [NumInvalidFields]int64
	SizeHist Hist
	// DurHist observes the durations of video formats only.
	DurHist Hist
	// LastCreated and LastUpdated are Unix seconds; 0 when no asset had one.
	LastCreated int64
	LastUpdated int64
	// Unique is the number of distinct assets counted.
	Unique int64
	// Duplicates is how many repeats of an asset ID were dropped.
	Duplicates int64
	// WithoutID counts assets that had no assetId (counted, not de-duplicated).
	WithoutID int64
}

// Hist is a histogram over fixed buckets.
type Hist struct {
	counts []uint64 // per bucket, not cumulative; len(buckets)+1
	Sum    float64
	Count  uint64
}

func (h *Hist) observe(buckets []float64, v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(buckets)+1)
	}
	i := 0
	for i < len(buckets) && v > buckets[i] {
		i++
	}
	h.counts[i]++
	h.Sum += v
	h.Count++
}

// AppendCumulative appends the cumulative count of each of len(buckets)
// buckets to dst, as the exposition wants them.
func (h *Hist) AppendCumulative(dst []uint64, buckets []float64) []uint64 {
	var acc uint64
	for i := range buckets {
		if h.counts != nil {
			acc += h.counts[i]
		}
		dst = append(dst, acc)
	}
	return dst
}

// Cumulative returns the bucket counts as Prometheus wants them.
func (h *Hist) Cumulative(buckets []float64) map[float64]uint64 {
	m := make(map[float64]uint64, len(buckets))
	var acc uint64
	for i, b := range buckets {
		if h.counts != nil {
			acc += h.counts[i]
		}
		m[b] = acc
	}
	return m
}

// add counts one record (already de-duplicated).
func (s *Stats) add(r *record) {
	f := r.fmt
	s.Count[f]++
	s.Unique++
	if r.flags&flagSize != 0 {
		s.Bytes[f] += r.size
		s.SizeHist.observe(SizeBuckets, float64(r.size))
	}
	if r.flags&flagDur != 0 {
		s.DurMs[f] += r.durMs
		if f.Video() {
			s.DurHist.observe(DurationBuckets, float64(r.durMs)/1000)
		}
	}
	if r.flags&flagBadSize != 0 {
		s.Invalid[InvalidSize]++
	}
	if r.flags&flagBadDur != 0 {
		s.Invalid[InvalidDuration]++
	}
	s.Res[r.res]++
	for i := range Reason(NumReasons) {
		if r.reasons&(1<<i) != 0 {
			s.Reasons[i]++
		}
	}
	if r.flags&flagCreated != 0 && r.created > s.LastCreated {
		s.LastCreated = r.created
	}
	if r.flags&flagUpdated != 0 && r.updated > s.LastUpdated {
		s.LastUpdated = r.updated
	}
}
