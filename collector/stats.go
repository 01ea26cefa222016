package collector

import (
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Format classes: the seven documented formats, then "other" (any other
// non-empty format) and "unknown" (format or metaData absent).
var formatNames = [...]string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic", "other", "unknown"}

const (
	fmtOther   = 7
	fmtUnknown = 8
	numFormats = len(formatNames)
	// numDocumented formats are always exported, zero or not.
	numDocumented = 7
)

// isVideo tells the video formats apart from the image formats.
func isVideo(f uint8) bool { return f <= 3 }
func isImage(f uint8) bool { return f >= 4 && f <= 6 }

// formatClass maps metaData.format (any case) to its class without allocating.
func formatClass(b []byte, hasMeta bool) uint8 {
	if !hasMeta || len(b) == 0 {
		return fmtUnknown
	}
	if len(b) > 4 {
		return fmtOther
	}
	var buf [4]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	s := buf[:len(b)]
	for i := 0; i < numDocumented; i++ {
		if string(s) == formatNames[i] {
			return uint8(i)
		}
	}
	return fmtOther
}

// Resolution classes, by the shorter side of metaData.resolution, so that
// portrait 1080x1920 is 1080p.
var resolutionNames = [...]string{"below_360p", "360p", "480p", "720p", "1080p", "1440p", "2160p_and_above", "unknown"}

const (
	resUnknown = 7
	numRes     = len(resolutionNames)
)

// parseResolution reads "WIDTHxHEIGHT" ("x" or "X", spaces allowed around
// it) and returns the shorter side, or 0 if the string is not a resolution.
func parseResolution(b []byte) int64 {
	var w, h int64
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
	var ok bool
	if w, ok = num(); !ok {
		return 0
	}
	if i >= len(b) || (b[i] != 'x' && b[i] != 'X') {
		return 0
	}
	i++
	if h, ok = num(); !ok || i != len(b) {
		return 0
	}
	return min(w, h)
}

func resolutionClass(short int64) uint8 {
	switch {
	case short <= 0:
		return resUnknown
	case short < 360:
		return 0
	case short < 480:
		return 1
	case short < 720:
		return 2
	case short < 1080:
		return 3
	case short < 1440:
		return 4
	case short < 2160:
		return 5
	default:
		return 6
	}
}

// Reasons an asset is outside Media Intelligence's documented limits.
var reasonNames = [...]string{"resolution_below_min", "resolution_above_max", "video_too_long", "video_too_large", "image_too_large", "format_unsupported", "metadata_missing"}

const (
	reasonResLow = iota
	reasonResHigh
	reasonTooLong
	reasonVideoLarge
	reasonImageLarge
	reasonFormat
	reasonMetaMissing
	numReasons
)

// Documented limits (API.md, "Limits worth knowing"). GB and MB are read
// as binary units (GiB, MiB), as NCP's storage products use them; a value
// exactly at a limit is within it.
const (
	minShortSide       = 360
	maxShortSide       = 1080
	maxVideoDurationMs = 6 * 3600 * 1000
	maxVideoBytes      = 10 << 30
	maxImageBytes      = 10 << 20
	maxPlausibleBytes  = 1 << 40              // 1 TiB: beyond it a size is rejected as absurd
	maxPlausibleDuraMs = 7 * 24 * 3600 * 1000 // 7 days: beyond it a duration is rejected
	invalidFieldSize   = 0
	invalidFieldDur    = 1
	numInvalidFields   = 2
)

var invalidFieldNames = [...]string{"size", "duration"}

// Histogram buckets: sizes from a thumbnail to the 10 GiB video limit;
// durations from a clip to the 6 h limit.
var (
	sizeBuckets     = []float64{256 << 10, 1 << 20, 4 << 20, 10 << 20, 64 << 20, 256 << 20, 1 << 30, 4 << 30, 10 << 30}
	durationBuckets = []float64{10, 30, 60, 300, 600, 1800, 3600, 7200, 21600}
)

// record is what one asset contributes, computed while its page is decoded.
type record struct {
	id      int64
	size    int64
	durMs   int64
	created int64
	updated int64
	hasID   bool
	fmt     uint8
	res     uint8
	flags   uint8
	reasons uint8 // bit per reason
}

const (
	flagSize = 1 << iota
	flagDur
	flagCreated
	flagUpdated
	flagBadSize
	flagBadDur
)

// makeRecord classifies one decoded asset.
func makeRecord(a *client.Asset, p *timeParser) record {
	r := record{id: a.ID, hasID: a.HasID, fmt: formatClass(a.Format, a.HasMeta)}
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
	r.res = resolutionClass(short)
	if t, ok := p.parse(a.CreatedTime); ok {
		r.created, r.flags = t, r.flags|flagCreated
	}
	if t, ok := p.parse(a.UpdatedTime); ok {
		r.updated, r.flags = t, r.flags|flagUpdated
	}

	// Out-of-spec reasons; an asset with several problems has several bits.
	switch {
	case r.fmt == fmtOther:
		r.reasons |= 1 << reasonFormat
	case r.fmt == fmtUnknown || short == 0 || r.flags&flagSize == 0 || (isVideo(r.fmt) && r.flags&flagDur == 0):
		r.reasons |= 1 << reasonMetaMissing
	}
	if short > 0 && short < minShortSide {
		r.reasons |= 1 << reasonResLow
	}
	if short > maxShortSide {
		r.reasons |= 1 << reasonResHigh
	}
	if isVideo(r.fmt) {
		if r.flags&flagDur != 0 && r.durMs > maxVideoDurationMs {
			r.reasons |= 1 << reasonTooLong
		}
		if r.flags&flagSize != 0 && r.size > maxVideoBytes {
			r.reasons |= 1 << reasonVideoLarge
		}
	}
	if isImage(r.fmt) && r.flags&flagSize != 0 && r.size > maxImageBytes {
		r.reasons |= 1 << reasonImageLarge
	}
	return r
}

// timeParser parses API times; times without an offset are in loc.
type timeParser struct{ loc *time.Location }

func (t *timeParser) parse(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	return client.ParseTime(b, t.loc)
}

// Stats is the aggregate of one project's asset list.
type Stats struct {
	Count    [numFormats]int64
	Bytes    [numFormats]int64
	DurMs    [numFormats]int64
	Res      [numRes]int64
	Reasons  [numReasons]int64
	Invalid  [numInvalidFields]int64
	SizeHist hist
	DurHist  hist
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

type hist struct {
	counts []uint64 // per bucket, not cumulative; len(buckets)+1
	sum    float64
	n      uint64
}

func (h *hist) observe(buckets []float64, v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(buckets)+1)
	}
	i := 0
	for i < len(buckets) && v > buckets[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
	h.n++
}

// cumulative returns the buckets as Prometheus wants them.
func (h *hist) cumulative(buckets []float64) map[float64]uint64 {
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
	if r.flags&flagSize != 0 && f != fmtUnknown {
		s.Bytes[f] += r.size
		s.SizeHist.observe(sizeBuckets, float64(r.size))
	}
	if r.flags&flagDur != 0 && f != fmtUnknown {
		s.DurMs[f] += r.durMs
		if isVideo(f) {
			s.DurHist.observe(durationBuckets, float64(r.durMs)/1000)
		}
	}
	if r.flags&flagBadSize != 0 {
		s.Invalid[invalidFieldSize]++
	}
	if r.flags&flagBadDur != 0 {
		s.Invalid[invalidFieldDur]++
	}
	s.Res[r.res]++
	for i := 0; i < numReasons; i++ {
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
