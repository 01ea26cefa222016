package assetjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/internal/isotime"
)

// benchPage builds a realistic asset-list page of n assets, compact as the
// API sends it. With escaped, non-ASCII characters and slashes are written
// as \u and \/ escapes (as some JSON encoders do) instead of raw UTF-8.
func benchPage(n int, escaped bool) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	formats := []struct {
		ext, format string
		video       bool
		weight      int
	}{
		{"mp4", "mp4", true, 50}, {"mkv", "mkv", true, 8}, {"mov", "mov", true, 12}, {"webm", "webm", true, 5},
		{"png", "png", false, 8}, {"jpg", "jpg", false, 10}, {"heic", "heic", false, 3},
		{"MP4", "MP4", true, 2}, {"mov", "Mov", true, 1}, {"avi", "avi", true, 1},
	}
	total := 0
	for _, f := range formats {
		total += f.weight
	}
	words := []string{"campaign", "interview", "promo", "teaser", "product-demo", "webinar", "keynote", "뉴스", "회의록", "광고_영상", "trailer", "behind the scenes", "lecture", "highlight"}
	users := []string{"kim.minjun", "lee.seoyeon", "park.jihoon", "choi.yuna", "media-bot", "홍길동", "jung.hyunwoo"}
	res := []string{"1920x1080", "1280x720", "3840x2160", "1080x1920", "640x360", "2560x1440"}

	str := func(b *bytes.Buffer, s string) {
		if !escaped {
			b.WriteString(strconv.Quote(s)) // the generated strings need no JSON-specific escaping
			return
		}
		b.WriteByte('"')
		for _, c := range s {
			switch {
			case c == '/':
				b.WriteString(`\/`)
			case c >= 0x80:
				fmt.Fprintf(b, `\u%04x`, c)
			default:
				b.WriteRune(c)
			}
		}
		b.WriteByte('"')
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

	var b bytes.Buffer
	b.WriteString(`{"code":"0","message":"success","result":{"content":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		w := r.IntN(total)
		f := formats[0]
		for _, ff := range formats {
			if w < ff.weight {
				f = ff
				break
			}
			w -= ff.weight
		}
		name := fmt.Sprintf("%s_%s_%04d-%02d_cut%02d.%s", words[r.IntN(len(words))], words[r.IntN(len(words))], 2024+r.IntN(2), 1+r.IntN(12), r.IntN(40), f.ext)
		user := users[r.IntN(len(users))]
		created := base + r.Int64N(500*86400)
		updated := created + r.Int64N(86400)
		ts := func(t int64) string {
			s := time.Unix(t, 0).UTC().Format("2006-01-02T15:04:05")
			if r.IntN(10) == 0 {
				s += fmt.Sprintf(".%03d", r.IntN(1000))
			}
			return s
		}
		fmt.Fprintf(&b, `{"assetId":%d,"fileName":`, 100000+i*7+r.IntN(7))
		str(&b, name)
		fmt.Fprintf(&b, `,"projectId":%d,"metaData":{"resolution":`, 1234)
		str(&b, res[r.IntN(len(res))])
		if f.video {
			fmt.Fprintf(&b, `,"durationMs":%d`, 1000+r.Int64N(3*3600*1000))
			fmt.Fprintf(&b, `,"size":%d`, 1<<20+r.Int64N(8<<30))
		} else {
			b.WriteString(`,"durationMs":null`)
			fmt.Fprintf(&b, `,"size":%d`, 50<<10+r.Int64N(10<<20))
		}
		b.WriteString(`,"format":`)
		str(&b, f.format)
		b.WriteString(`},"key":`)
		str(&b, fmt.Sprintf("uploads/%d/%02d/%08x-%04x/%s", 2024+r.IntN(2), 1+r.IntN(12), r.Uint32(), r.Uint32()&0xffff, name))
		b.WriteString(`,"createUserName":`)
		str(&b, user)
		b.WriteString(`,"createdTime":`)
		str(&b, ts(created))
		b.WriteString(`,"updateUserName":`)
		str(&b, users[r.IntN(len(users))])
		b.WriteString(`,"updatedTime":`)
		str(&b, ts(updated))
		b.WriteByte('}')
	}
	fmt.Fprintf(&b, `],"totalCount":%d,"totalPage":%d,"pageNo":1,"pageSize":1000}}`, 5*n+17, 6)
	return b.Bytes()
}

// benchFormats are the formats counted separately by benchAgg; others are
// counted together.
var benchFormats = [...]string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic"}

var benchLoc = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Seoul"); err == nil {
		return loc
	}
	return time.FixedZone("KST", 9*3600)
}()

// benchAgg is the aggregation a collector does over the assets of a page.
type benchAgg struct {
	perFormat  [len(benchFormats) + 2]int // then other, then absent
	sizeSum    int64
	durSum     int64
	maxCreated int64
	badTimes   int
}

func (g *benchAgg) addAsset(a *Asset) {
	aggAdd(g, a.Format, a.Format != nil, a.Size, a.DurationMs, a.CreatedTime)
}

func aggAdd[S ~[]byte | ~string](g *benchAgg, format S, hasFormat bool, size, dur int64, created S) {
	g.perFormat[formatIndex(format, hasFormat)]++
	g.sizeSum += size
	g.durSum += dur
	if len(created) > 0 {
		if t, ok := isotime.Parse(created, benchLoc); ok {
			g.maxCreated = max(g.maxCreated, t)
		} else {
			g.badTimes++
		}
	}
}

// formatIndex returns the index in benchAgg.perFormat of the lower-cased
// format, without allocating.
func formatIndex[S ~[]byte | ~string](format S, has bool) int {
	if !has {
		return len(benchFormats) + 1
	}
	var buf [8]byte
	if len(format) > len(buf) {
		return len(benchFormats)
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(format)]) {
	case "mp4":
		return 0
	case "mkv":
		return 1
	case "mov":
		return 2
	case "webm":
		return 3
	case "png":
		return 4
	case "jpg":
		return 5
	case "heic":
		return 6
	}
	return len(benchFormats)
}

// The documented response, for encoding/json.
type jsonMeta struct {
	Resolution string `json:"resolution"`
	DurationMs int64  `json:"durationMs"`
	Size       int64  `json:"size"`
	Format     string `json:"format"`
}

type jsonAsset struct {
	AssetID        int64     `json:"assetId"`
	FileName       string    `json:"fileName"`
	ProjectID      int64     `json:"projectId"`
	MetaData       *jsonMeta `json:"metaData"`
	Key            string    `json:"key"`
	CreateUserName string    `json:"createUserName"`
	CreatedTime    string    `json:"createdTime"`
	UpdateUserName string    `json:"updateUserName"`
	UpdatedTime    string    `json:"updatedTime"`
}

type jsonResult struct {
	Content    []jsonAsset `json:"content"`
	TotalCount int64       `json:"totalCount"`
	TotalPage  int64       `json:"totalPage"`
	PageNo     int64       `json:"pageNo"`
	PageSize   int64       `json:"pageSize"`
}

type jsonPage struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Result  *jsonResult `json:"result"`
}

func (g *benchAgg) addJSON(a *jsonAsset) {
	if a.MetaData == nil {
		aggAdd(g, "", false, 0, 0, a.CreatedTime)
		return
	}
	m := a.MetaData
	aggAdd(g, m.Format, true, m.Size, m.DurationMs, a.CreatedTime)
}

func runFast(d *Decoder, page []byte) (benchAgg, error) {
	var g benchAgg
	_, err := d.Decode(page, g.addAsset)
	return g, err
}

func runEncodingJSON(page []byte) (benchAgg, error) {
	var g benchAgg
	var p jsonPage
	if err := json.Unmarshal(page, &p); err != nil {
		return g, err
	}
	if p.Result != nil {
		for i := range p.Result.Content {
			g.addJSON(&p.Result.Content[i])
		}
	}
	return g, nil
}

// runJSONStream walks the page with a json.Decoder, decoding one asset at a
// time into a reused struct.
func runJSONStream(page []byte) (benchAgg, error) {
	var g benchAgg
	dec := json.NewDecoder(bytes.NewReader(page))
	var a jsonAsset
	var walk func(path string) error
	walk = func(path string) error {
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return fmt.Errorf("%s: want object (%w)", path, err)
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			switch k := t.(string); {
			case path == "" && k == "result":
				if err := walk("result"); err != nil {
					return err
				}
			case path == "result" && k == "content":
				if t, err := dec.Token(); err != nil || t != json.Delim('[') {
					return fmt.Errorf("content: want array (%w)", err)
				}
				for dec.More() {
					a = jsonAsset{}
					if err := dec.Decode(&a); err != nil {
						return err
					}
					g.addJSON(&a)
				}
				if _, err := dec.Token(); err != nil {
					return err
				}
			default:
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
			}
		}
		_, err := dec.Token()
		return err
	}
	return g, walk("")
}

func TestBenchCandidatesAgree(t *testing.T) {
	for _, escaped := range []bool{false, true} {
		page := benchPage(1000, escaped)
		var d Decoder
		g1, err1 := runFast(&d, page)
		g2, err2 := runEncodingJSON(page)
		g3, err3 := runJSONStream(page)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if g1 != g2 || g1 != g3 {
			t.Fatalf("aggregations differ:\nfast   %+v\njson   %+v\nstream %+v", g1, g2, g3)
		}
		if g1.badTimes != 0 || g1.perFormat[len(benchFormats)] == 0 || g1.perFormat[0] == 0 {
			t.Fatalf("unexpected aggregation %+v", g1)
		}
		checkAgainstRef(t, &d, page)
	}
}

var benchSink benchAgg

func benchCandidates() []struct {
	name string
	run  func(d *Decoder, page []byte) (benchAgg, error)
} {
	return []struct {
		name string
		run  func(d *Decoder, page []byte) (benchAgg, error)
	}{
		{"fast", runFast},
		{"encoding_json", func(_ *Decoder, p []byte) (benchAgg, error) { return runEncodingJSON(p) }},
		{"json_decoder_stream", func(_ *Decoder, p []byte) (benchAgg, error) { return runJSONStream(p) }},
	}
}

func BenchmarkDecodeAssetPage(b *testing.B) {
	const n = 1000
	pages := []struct {
		suffix string
		page   []byte
	}{
		{"", benchPage(n, false)},
		{"_escaped", benchPage(n, true)},
	}
	for _, p := range pages {
		for _, c := range benchCandidates() {
			b.Run(c.name+p.suffix, func(b *testing.B) {
				var d Decoder
				if _, err := c.run(&d, p.page); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(p.page)))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					g, err := c.run(&d, p.page)
					if err != nil {
						b.Fatal(err)
					}
					benchSink = g
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/asset")
			})
		}
	}
}

// BenchmarkDecodeAssetPageRatio runs the fast decoder and encoding/json
// alternately on the same page and reports how many times faster the fast
// decoder is (x_encoding_json = encoding/json time / fast time).
func BenchmarkDecodeAssetPageRatio(b *testing.B) {
	const n = 1000
	page := benchPage(n, false)
	var d Decoder
	var fast, slow time.Duration
	b.SetBytes(int64(2 * len(page)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		g1, err1 := runFast(&d, page)
		t1 := time.Now()
		g2, err2 := runEncodingJSON(page)
		t2 := time.Now()
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		benchSink, benchSink = g1, g2
		fast += t1.Sub(t0)
		slow += t2.Sub(t1)
	}
	b.ReportMetric(float64(slow)/float64(fast), "x_encoding_json")
	b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N)/n, "fast_ns/asset")
	b.ReportMetric(float64(slow.Nanoseconds())/float64(b.N)/n, "json_ns/asset")
}
