package scrape

import (
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

func TestParseResolution(t *testing.T) {
	for _, tc := range []struct {
		in    string
		short int64
		class string
	}{
		{"1920x1080", 1080, "1080p"},
		{"1920X1080", 1080, "1080p"},
		{"1920 x 1080", 1080, "1080p"},
		{"1080x1920", 1080, "1080p"}, // portrait is classed by its shorter side
		{"640x360", 360, "360p"},
		{"639x359", 359, "below_360p"},
		{"854x480", 480, "480p"},
		{"1280x720", 720, "720p"},
		{"2560x1440", 1440, "1440p"},
		{"3840x2160", 2160, "2160p_and_above"},
		{"7680x4320", 4320, "2160p_and_above"},
		{"", 0, "unknown"},
		{"abc", 0, "unknown"},
		{"1920x", 0, "unknown"},
		{"x1080", 0, "unknown"},
		{"0x0", 0, "unknown"},
		{"1920x1080x3", 0, "unknown"},
		{"-1920x1080", 0, "unknown"},
		{"99999999999x1", 0, "unknown"},
	} {
		got := parseResolution([]byte(tc.in))
		if got != tc.short {
			t.Errorf("parseResolution(%q) = %d, want %d", tc.in, got, tc.short)
		}
		if c := resolutionOf(got).String(); c != tc.class {
			t.Errorf("class of %q = %s, want %s", tc.in, c, tc.class)
		}
	}
}

func TestFormatClass(t *testing.T) {
	for _, tc := range []struct {
		in      string
		hasMeta bool
		want    string
	}{
		{"mp4", true, "mp4"}, {"MP4", true, "mp4"}, {"Mkv", true, "mkv"}, {"mov", true, "mov"},
		{"webm", true, "webm"}, {"png", true, "png"}, {"JPG", true, "jpg"}, {"heic", true, "heic"},
		{"jpeg", true, "other"}, {"avi", true, "other"}, {"mp4 ", true, "other"}, {"webmm", true, "other"},
		{"", true, "unknown"}, {"mp4", false, "unknown"},
	} {
		if got := formatOf([]byte(tc.in), tc.hasMeta).String(); got != tc.want {
			t.Errorf("formatOf(%q, %v) = %s, want %s", tc.in, tc.hasMeta, got, tc.want)
		}
	}
}

// TestOutOfSpecLimits checks each documented limit at, just above and
// below its value: a value exactly at a limit is within it.
func TestOutOfSpecLimits(t *testing.T) {
	type a = client.Asset
	video := func(res string, durMs, size int64) a {
		return a{HasMeta: true, Format: []byte("mp4"), Resolution: []byte(res), DurationMs: durMs, HasDuration: true, Size: size, HasSize: true}
	}
	image := func(res string, size int64) a {
		return a{HasMeta: true, Format: []byte("png"), Resolution: []byte(res), Size: size, HasSize: true}
	}
	const h6 = 6 * 3600 * 1000
	for _, tc := range []struct {
		name string
		a    a
		want []string
	}{
		{"video at every limit", video("1920x1080", h6, 10<<30), nil},
		{"video at the minimum", video("640x360", 1000, 1), nil},
		{"video 1 ms too long", video("1920x1080", h6+1, 1), []string{"video_too_long"}},
		{"video 1 byte too large", video("1920x1080", 1, 10<<30+1), []string{"video_too_large"}},
		{"video 359p", video("640x359", 1, 1), []string{"resolution_below_min"}},
		{"video 1081p", video("1921x1081", 1, 1), []string{"resolution_above_max"}},
		{"portrait 1080x1920", video("1080x1920", 1, 1), nil},
		{"4K, long and large", video("3840x2160", h6+1, 11<<30), []string{"resolution_above_max", "video_too_long", "video_too_large"}},
		{"image at the limit", image("1920x1080", 10<<20), nil},
		{"image 1 byte too large", image("1920x1080", 10<<20+1), []string{"image_too_large"}},
		{"image without duration is fine", image("640x360", 5), nil},
		{"video without duration", a{HasMeta: true, Format: []byte("mov"), Resolution: []byte("1280x720"), Size: 1, HasSize: true}, []string{"metadata_missing"}},
		{"no metaData", a{}, []string{"metadata_missing"}},
		{"no resolution", image("", 1), []string{"metadata_missing"}},
		{"odd resolution", image("abc", 1), []string{"metadata_missing"}},
		{"no size", a{HasMeta: true, Format: []byte("jpg"), Resolution: []byte("1280x720")}, []string{"metadata_missing"}},
		{"unsupported format", a{HasMeta: true, Format: []byte("avi"), Resolution: []byte("1280x720"), Size: 1, HasSize: true}, []string{"format_unsupported"}},
		{"unsupported and small", a{HasMeta: true, Format: []byte("gif"), Resolution: []byte("100x100"), Size: 1, HasSize: true}, []string{"resolution_below_min", "format_unsupported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := makeRecord(&tc.a, time.UTC)
			var got []string
			for i, name := range reasonNames {
				if r.reasons&(1<<i) != 0 {
					got = append(got, name)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("reasons %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("reasons %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestInvalidValuesLeftOutOfSums(t *testing.T) {
	var s Stats
	for _, a := range []client.Asset{
		{HasMeta: true, Format: []byte("mp4"), Size: -1, HasSize: true, DurationMs: -1, HasDuration: true},
		{HasMeta: true, Format: []byte("mp4"), Size: 1<<40 + 1, HasSize: true, DurationMs: 8 * 24 * 3600 * 1000, HasDuration: true},
		{HasMeta: true, Format: []byte("mp4"), Size: 100, HasSize: true, DurationMs: 2500, HasDuration: true},
	} {
		r := makeRecord(&a, time.UTC)
		s.add(&r)
	}
	if s.Count[FormatMP4] != 3 || s.Bytes[FormatMP4] != 100 || s.DurMs[FormatMP4] != 2500 {
		t.Errorf("mp4 count %d bytes %d durMs %d; want 3, 100, 2500", s.Count[FormatMP4], s.Bytes[FormatMP4], s.DurMs[FormatMP4])
	}
	if s.Invalid[InvalidSize] != 2 || s.Invalid[InvalidDuration] != 2 {
		t.Errorf("invalid size %d duration %d; want 2 and 2", s.Invalid[InvalidSize], s.Invalid[InvalidDuration])
	}
	if s.SizeHist.Count != 1 || s.DurHist.Count != 1 || s.DurHist.Sum != 2.5 {
		t.Errorf("histograms: size n=%d, duration n=%d sum=%v", s.SizeHist.Count, s.DurHist.Count, s.DurHist.Sum)
	}
}

func TestHistogramBuckets(t *testing.T) {
	var h Hist
	for _, v := range []float64{0, 10, 10.5, 60, 21600, 1e9} {
		h.observe(DurationBuckets, v)
	}
	c := h.Cumulative(DurationBuckets)
	if c[10] != 2 || c[30] != 3 || c[60] != 4 || c[21600] != 5 || h.Count != 6 {
		t.Errorf("cumulative %v n=%d", c, h.Count)
	}
}
