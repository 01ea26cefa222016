package assetjson

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestDecodeAssetPageExample(t *testing.T) {
	var d Decoder
	env, got, err := decodeWithOurs(&d, []byte(seedExample), false)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := Page{Code: "0", Message: "success", HasResult: true,
		Info: PageInfo{TotalCount: 3, TotalPage: 1, PageNo: 1, PageSize: 100, Items: 3}}
	if env != wantEnv {
		t.Errorf("envelope %+v, want %+v", env, wantEnv)
	}
	want := []string{
		`id=1001 project=1234 meta{res="1280x720" dur=91565/true size=101176289/true fmt="mp4"} created="2025-04-23T16:49:24" updated="2025-04-23T16:49:25"`,
		`id=1002 project=1234 meta{res="1920x1080" dur=253702/true size=120333399/true fmt="mp4"} created="2025-04-23T17:13:37" updated="2025-04-23T17:13:38"`,
		`id=1003 project=1234 meta{res="1920x1080" dur=293849/true size=76597066/true fmt="mp4"} created="2025-04-23T17:13:48" updated="2025-04-23T17:13:49"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("assets\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkAgainstRef(t, &d, []byte(seedExample))
}

// TestDecodeAssetPageCases checks decoded values for accepted inputs, and
// cross-checks every case against the encoding/json reference.
func TestDecodeAssetPageCases(t *testing.T) {
	full := `{"assetId":7,"projectId":8,"metaData":{"resolution":"1x1","durationMs":5,"size":6,"format":"mov"},"createdTime":"c","updatedTime":"u"}`
	tests := []struct {
		name string
		body string
		env  Page
		want []string
	}{
		{
			name: "keys in odd order",
			body: `{"result":{"pageSize":2,"content":[{"updatedTime":"u","metaData":{"format":"mkv","size":3,"resolution":"r","durationMs":4},"createdTime":"c","projectId":9,"assetId":1}],"totalPage":1,"pageNo":1,"totalCount":1},"message":"m","code":"0"}`,
			env:  Page{Code: "0", Message: "m", HasResult: true, Info: PageInfo{TotalCount: 1, TotalPage: 1, PageNo: 1, PageSize: 2, Items: 1}},
			want: []string{`id=1 project=9 meta{res="r" dur=4/true size=3/true fmt="mkv"} created="c" updated="u"`},
		},
		{
			name: "absent and null fields, no stale values",
			body: `{"result":{"content":[` + full + `,{},{"assetId":null,"projectId":null,"metaData":null,"createdTime":null,"updatedTime":null},{"metaData":{}},{"metaData":{"resolution":null,"durationMs":null,"size":null,"format":null}},null,` + full + `]}}`,
			env:  Page{HasResult: true, Info: PageInfo{Items: 7}},
			want: []string{
				`id=7 project=8 meta{res="1x1" dur=5/true size=6/true fmt="mov"} created="c" updated="u"`,
				``, ``, `meta{}`, `meta{}`, ``,
				`id=7 project=8 meta{res="1x1" dur=5/true size=6/true fmt="mov"} created="c" updated="u"`,
			},
		},
		{
			name: "unknown nested values skipped",
			body: `{"x":{"a":[1,-2.5e+3,true,false,null,{"b":{}},[[]],"s\"\\"]},"result":{"y":[{"content":[{"assetId":5}]}],"content":[{"fileName":{"assetId":6},"key":[1,{"assetId":7}],"createUserName":"\ud800","updateUserName":null,"assetId":1,"metaData":{"extra":{"size":9},"size":2}}],"z":123456789012345678901234567890e999999},"w":1e-999999}`,
			env:  Page{HasResult: true, Info: PageInfo{Items: 1}},
			want: []string{`id=1 meta{size=2/true}`},
		},
		{
			name: "escapes",
			body: `{"code":"\u0030","message":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d","result":{"content":[{"metaData":{"format":"m\u0070\u0034","resolution":"\ud83d\ude00|\ud800|\udc00|\ud800\u0041|\ud800\ud800\udc00|é"},"createdTime":"2025\u002d04"}]}}`,
			env:  Page{Code: "0", Message: "a\"b\\c/d\b\f\n\r\té中", HasResult: true, Info: PageInfo{Items: 1}},
			want: []string{"meta{res=\"😀|\ufffd|\ufffd|\ufffdA|\ufffd𐀀|é\" fmt=\"mp4\"} created=\"2025-04\""},
		},
		{
			name: "escaped keys",
			body: `{"\u0072esult":{"\u0063ontent":[{"asset\u0049d":3,"meta\u0044ata":{"\u0073ize":4}}]}}`,
			env:  Page{HasResult: true, Info: PageInfo{Items: 1}},
			want: []string{`id=3 meta{size=4/true}`},
		},
		{
			name: "keys are case-sensitive",
			body: `{"Result":{"content":[{"assetId":1}]},"result":{"Content":[{"assetId":1}],"content":[{"AssetId":2,"MetaData":{"size":1}}]}}`,
			env:  Page{HasResult: true, Info: PageInfo{Items: 1}},
			want: []string{``},
		},
		{
			name: "numeric strings",
			body: `{"result":{"content":[{"assetId":"1001","projectId":"-12","metaData":{"durationMs":"0","size":"9223372036854775807"}},{"assetId":"-9223372036854775808","metaData":{"size":"\u0031\u0032"}}],"totalCount":"2","totalPage":"1","pageNo":"1","pageSize":"1000"}}`,
			env:  Page{HasResult: true, Info: PageInfo{TotalCount: 2, TotalPage: 1, PageNo: 1, PageSize: 1000, Items: 2}},
			want: []string{`id=1001 project=-12 meta{dur=0/true size=9223372036854775807/true}`, `id=-9223372036854775808 meta{size=12/true}`},
		},
		{
			name: "integer extremes and negatives",
			body: `{"result":{"content":[{"assetId":-9223372036854775808,"projectId":9223372036854775807,"metaData":{"durationMs":-1,"size":0}},{"assetId":-0}]}}`,
			env:  Page{HasResult: true, Info: PageInfo{Items: 2}},
			want: []string{`id=-9223372036854775808 project=9223372036854775807 meta{dur=-1/true size=0/true}`, `id=0`},
		},
		{
			name: "whitespace everywhere",
			body: " \t\r\n{ \t\r\n\"code\" \t\r\n: \t\r\n\"0\" \t\r\n, \t\r\n\"result\"\n:\n{\n\"content\"\n:\n[\n{\n\"assetId\"\n:\n1\n,\n\"metaData\"\n:\n{\n\"size\"\n:\n2\n}\n}\n,\n{\n}\n]\n,\n\"pageNo\"\n:\n1\n}\n}\n\t\r ",
			env:  Page{Code: "0", HasResult: true, Info: PageInfo{PageNo: 1, Items: 2}},
			want: []string{`id=1 meta{size=2/true}`, ``},
		},
		{
			name: "code as number",
			body: `{"code":0,"message":"success","result":{}}`,
			env:  Page{Code: "0", Message: "success", HasResult: true},
		},
		{
			name: "code as fractional number",
			body: `{"code":-1.5e3}`,
			env:  Page{Code: "-1.5e3"},
		},
		{
			name: "code and message null",
			body: `{"code":"1","message":"m","code":null,"message":null}`,
			env:  Page{},
		},
		{
			name: "empty content",
			body: `{"code":"0","message":"success","result":{"content":[],"totalCount":0,"totalPage":0,"pageNo":1,"pageSize":1000}}`,
			env:  Page{Code: "0", Message: "success", HasResult: true, Info: PageInfo{PageNo: 1, PageSize: 1000}},
		},
		{
			name: "content null",
			body: `{"result":{"content":null,"totalCount":0}}`,
			env:  Page{HasResult: true},
		},
		{
			name: "result null",
			body: `{"code":"0","message":"success","result":null}`,
			env:  Page{Code: "0", Message: "success"},
		},
		{
			name: "result absent (error answer)",
			body: `{"code":"10001","message":"Invalid Request."}`,
			env:  Page{Code: "10001", Message: "Invalid Request."},
		},
		{
			name: "gateway error envelope",
			body: `{"error":{"errorCode":"210","message":"Permission Denied"}}`,
			env:  Page{},
		},
		{
			name: "empty object",
			body: `{}`,
		},
		{
			name: "duplicates: last scalar wins, both contents delivered, metaData merges",
			body: `{"code":"1","code":"2","result":{"content":[{"assetId":1,"assetId":2,"metaData":{"size":1,"format":"a"},"metaData":{"format":"b"}}],"pageNo":1,"content":[{"assetId":3,"metaData":{"size":1},"metaData":null}],"pageNo":2}}`,
			env:  Page{Code: "2", HasResult: true, Info: PageInfo{PageNo: 2, Items: 2}},
			want: []string{`id=2 meta{size=1/true fmt="b"}`, `id=3`},
		},
		{
			name: "result null after result",
			body: `{"result":{"content":[{"assetId":1}],"pageNo":3},"result":null}`,
			env:  Page{Info: PageInfo{Items: 1}},
			want: []string{`id=1`},
		},
		{
			name: "invalid UTF-8 passed through",
			body: "{\"result\":{\"content\":[{\"metaData\":{\"format\":\"\xff\xfe\\n\xc3\"}}]}}",
			env:  Page{HasResult: true, Info: PageInfo{Items: 1}},
			want: []string{`meta{fmt="\xff\xfe\n\xc3"}`},
		},
		{
			name: "nesting below the limit",
			body: `{"x":` + strings.Repeat("[", maxDecodeDepth-1) + strings.Repeat("]", maxDecodeDepth-1) + `}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			env, got, err := decodeWithOurs(&d, []byte(tc.body), false)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if env != tc.env {
				t.Errorf("envelope %+v, want %+v", env, tc.env)
			}
			if !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Errorf("assets\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			checkAgainstRef(t, &d, []byte(tc.body))
		})
	}
}

func TestDecodeAssetPageRejects(t *testing.T) {
	asset := func(s string) string { return `{"code":"0","result":{"content":[{"assetId":1},` + s + `]}}` }
	meta := func(s string) string { return asset(`{"metaData":{` + s + `}}`) }
	tests := []struct {
		name, body string
		path       string // want Path
		msg        string // want substring of Msg
	}{
		{"size fraction", meta(`"size":1.5`), "result.content[1].metaData.size", "want integer, got number 1.5"},
		{"size fraction zero", meta(`"size":1.0`), "result.content[1].metaData.size", "want integer, got number 1.0"},
		{"size exponent", meta(`"size":1e3`), "result.content[1].metaData.size", "want integer, got number 1e3"},
		{"size non-numeric string", meta(`"size":"abc"`), "result.content[1].metaData.size", `want integer, got string "abc"`},
		{"size fraction string", meta(`"size":"1.0"`), "result.content[1].metaData.size", `want integer, got string "1.0"`},
		{"size spaced string", meta(`"size":" 1"`), "result.content[1].metaData.size", `want integer, got string " 1"`},
		{"size plus string", meta(`"size":"+1"`), "result.content[1].metaData.size", `want integer`},
		{"size leading zero string", meta(`"size":"01"`), "result.content[1].metaData.size", `want integer`},
		{"size empty string", meta(`"size":""`), "result.content[1].metaData.size", `want integer, got string ""`},
		{"size true", meta(`"size":true`), "result.content[1].metaData.size", "want integer, got true"},
		{"size false", meta(`"size":false`), "result.content[1].metaData.size", "want integer, got false"},
		{"size object", meta(`"size":{}`), "result.content[1].metaData.size", "want integer, got object"},
		{"size array", meta(`"size":[1]`), "result.content[1].metaData.size", "want integer, got array"},
		{"size too big", meta(`"size":9223372036854775808`), "result.content[1].metaData.size", "integer out of range"},
		{"size too small", meta(`"size":-9223372036854775809`), "result.content[1].metaData.size", "integer out of range"},
		{"size huge", meta(`"size":123456789012345678901234567890`), "result.content[1].metaData.size", "integer out of range"},
		{"size too big string", meta(`"size":"9223372036854775808"`), "result.content[1].metaData.size", "integer out of range"},
		{"duration fraction", meta(`"durationMs":0.5`), "result.content[1].metaData.durationMs", "want integer"},
		{"assetId bool", asset(`{"assetId":true}`), "result.content[1].assetId", "want integer, got true"},
		{"projectId string", asset(`{"projectId":"x"}`), "result.content[1].projectId", "want integer"},
		{"totalCount fraction", `{"result":{"totalCount":1.5}}`, "result.totalCount", "want integer"},
		{"pageNo object", `{"result":{"pageNo":{}}}`, "result.pageNo", "want integer, got object"},
		{"format number", meta(`"format":5`), "result.content[1].metaData.format", "want string, got number 5"},
		{"resolution bool", meta(`"resolution":false`), "result.content[1].metaData.resolution", "want string, got false"},
		{"createdTime array", asset(`{"createdTime":[]}`), "result.content[1].createdTime", "want string, got array"},
		{"updatedTime number", asset(`{"updatedTime":1}`), "result.content[1].updatedTime", "want string"},
		{"metaData string", asset(`{"metaData":"x"}`), "result.content[1].metaData", "want object, got string"},
		{"metaData array", asset(`{"metaData":[]}`), "result.content[1].metaData", "want object, got array"},
		{"element number", asset(`5`), "result.content[1]", "want object, got number 5"},
		{"element string", asset(`"x"`), "result.content[1]", "want object, got string"},
		{"content object", `{"result":{"content":{}}}`, "result.content", "want array, got object"},
		{"content string", `{"result":{"content":"x"}}`, "result.content", "want array"},
		{"result string", `{"result":"x"}`, "result", "want object, got string"},
		{"result array", `{"result":[]}`, "result", "want object, got array"},
		{"code bool", `{"code":true}`, "code", "want string, got true"},
		{"code object", `{"code":{}}`, "code", "want string, got object"},
		{"message number", `{"message":5}`, "message", "want string, got number 5"},
		{"top-level array", `[]`, "", "want object, got array"},
		{"top-level null", `null`, "", "want object, got null"},
		{"top-level string", `"x"`, "", "want object"},
		{"empty body", ``, "", "unexpected end of body"},
		{"whitespace body", " \n", "", "unexpected end of body"},
		{"html", `<html>`, "", "invalid character '<'"},
		{"trailing garbage", `{"code":"0"} x`, "", "after top-level value"},
		{"two values", `{}{}`, "", "after top-level value"},
		{"trailing comma", `{"code":"0",}`, "code", "looking for beginning of object key string"},
		{"trailing comma in array", `{"x":[1,]}`, "x", "looking for beginning of value"},
		{"missing colon", `{"code" "0"}`, "code", "after object key"},
		{"missing comma", `{"code":"0" "message":"x"}`, "code", "after object key:value pair"},
		{"bad literal in skipped value", `{"x":tru}`, "x", "in literal true"},
		{"bad number in skipped value", `{"x":01}`, "x", "after object key:value pair"},
		{"bad number minus", `{"x":-}`, "x", "in numeric literal"},
		{"bad fraction", `{"x":1.}`, "x", "after decimal point"},
		{"bad exponent", `{"x":1e+}`, "x", "in exponent"},
		{"bad escape", `{"x":"\x"}`, "x", "in string escape code"},
		{"bad unicode escape", `{"x":"\u12g4"}`, "x", "hexadecimal"},
		{"control char in string", "{\"x\":\"a\tb\"}", "x", "in string literal"},
		{"control char in key", "{\"a\nb\":1}", "", "in string literal"},
		{"single quotes", `{'x':1}`, "", "looking for beginning of object key string"},
		{"unquoted key", `{x:1}`, "", "looking for beginning of object key string"},
		{"bad value in known field", `{"result":{"content":[{"assetId":x}]}}`, "result.content[0].assetId", "looking for beginning of value"},
		{"depth bomb in unknown key", `{"x":` + strings.Repeat("[", 100000) + `}`, "x", "nesting deeper than 64"},
		{"depth bomb objects", strings.Repeat(`{"x":`, 100000), "x", "nesting deeper than 64"},
		{"depth bomb in metaData", meta(`"x":` + strings.Repeat("[", maxDecodeDepth)), "result.content[1].metaData.x", "nesting deeper"},
		{"depth just over the limit", `{"x":` + strings.Repeat("[", maxDecodeDepth) + strings.Repeat("]", maxDecodeDepth) + `}`, "x", "nesting deeper"},
		// A syntax error anywhere takes precedence over a type error.
		{"type error then syntax error", `{"result":{"content":[{"assetId":true}]}} x`, "", "after top-level value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			n := 0
			_, err := d.Decode([]byte(tc.body), func(*Asset) { n++ })
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want a *DecodeError", err, err)
			}
			if de.Path != tc.path || !strings.Contains(de.Msg, tc.msg) {
				t.Errorf("error %q (path %q msg %q), want path %q and msg containing %q", err, de.Path, de.Msg, tc.path, tc.msg)
			}
			if de.Offset < 0 || de.Offset > int64(len(tc.body)) {
				t.Errorf("offset %d out of range", de.Offset)
			}
			if de.Truncated != strings.Contains(tc.msg, "end of body") {
				t.Errorf("Truncated = %v", de.Truncated)
			}
			if len(tc.body) < 10000 {
				checkAgainstRef(t, &d, []byte(tc.body))
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	body := `{"result":{"content":[{},{},{},{"metaData":{"size":"abc"}}]}}`
	var d Decoder
	_, err := d.Decode([]byte(body), func(*Asset) {})
	off := strings.Index(body, `"abc"`)
	want := `decode result.content[3].metaData.size at byte ` + strconv.Itoa(off) + `: want integer, got string "abc"`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	_, err = d.Decode([]byte(body[:30]), func(*Asset) {})
	want = `decode result.content[2] at byte 30: unexpected end of body (truncated?)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	_, err = d.Decode([]byte(`{"result":{"content":[{"metaData":{"size":"`+strings.Repeat("9", 100)+`"}}]}}`), func(*Asset) {})
	if err == nil || !strings.Contains(err.Error(), `integer out of range: string "9999999999999999999999999999999999999999..."`) {
		t.Errorf("error %v", err)
	}
}

// TestDecodeAssetPageTruncated cuts valid pages at every byte offset: every
// strict prefix must fail with Truncated set, and never panic.
func TestDecodeAssetPageTruncated(t *testing.T) {
	bodies := []string{
		seedExample,
		`{"code":0,"message":"a\u00e9\ud83d\ude00","result":{"content":[{"assetId":"12","metaData":{"size":-1,"format":"\"x\""},"x":[true,false,null,1.5e-3,{}]},null],"pageNo":1}}`,
		string(benchPage(20, false)),
		string(benchPage(5, true)),
	}
	var d Decoder
	for bi, body := range bodies {
		if _, err := d.Decode([]byte(body), func(*Asset) {}); err != nil {
			t.Fatalf("body %d: %v", bi, err)
		}
		for i := 0; i < len(body); i++ {
			// Copy so that the race detector and bounds checks see the
			// exact slice.
			b := []byte(body[:i])
			_, err := d.Decode(b, func(*Asset) {})
			var de *DecodeError
			if !errors.As(err, &de) || !de.Truncated {
				t.Fatalf("body %d cut at %d (%q): error %v, want Truncated", bi, i, body[max(0, i-20):i], err)
			}
			if de.Offset != int64(i) {
				t.Fatalf("body %d cut at %d: offset %d", bi, i, de.Offset)
			}
		}
	}
	// A cut body with a type error before the cut still reports the cut.
	body := `{"result":{"content":[{"assetId":true},{"assetId":1}]}}`
	for i := 30; i < len(body); i++ {
		_, err := d.Decode([]byte(body[:i]), func(*Asset) {})
		var de *DecodeError
		if !errors.As(err, &de) || !de.Truncated {
			t.Fatalf("cut at %d: error %v, want Truncated", i, err)
		}
	}
}

// TestDecodeAssetPageAliasing checks that strings without escapes point into
// the body, and that escaped ones do not overwrite one another.
func TestDecodeAssetPageAliasing(t *testing.T) {
	body := []byte(`{"result":{"content":[{"metaData":{"format":"mp4","resolution":"a\u0062c"},"createdTime":"x\ty","updatedTime":"\u0031"}]}}`)
	var d Decoder
	var ok bool
	_, err := d.Decode(body, func(a *Asset) {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
		p := uintptr(unsafe.Pointer(unsafe.SliceData(a.Format)))
		if p < start || p >= start+uintptr(len(body)) {
			t.Errorf("Format does not point into the body")
		}
		if cap(a.Format) != len(a.Format) {
			t.Errorf("Format cap %d, want %d", cap(a.Format), len(a.Format))
		}
		ok = string(a.Resolution) == "abc" && string(a.CreatedTime) == "x\ty" && string(a.UpdatedTime) == "1"
	})
	if err != nil || !ok {
		t.Fatalf("err %v ok %v", err, ok)
	}
}

func TestDecodeAssetPageAllocs(t *testing.T) {
	page := benchPage(1000, false)
	escaped := benchPage(1000, true)
	var d Decoder
	var agg benchAgg
	fn := func(a *Asset) { agg.addAsset(a) }
	for _, p := range [][]byte{page, escaped} {
		if _, err := d.Decode(p, fn); err != nil { // warm up
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			env, err := d.Decode(p, fn)
			if err != nil || env.Info.Items != 1000 {
				t.Fatalf("items %d err %v", env.Info.Items, err)
			}
		})
		if allocs > 2 {
			t.Errorf("%v allocations per 1000-asset page, want at most 2", allocs)
		}
	}
	// An unusual code and message allocate their strings, no more.
	odd := []byte(`{"code":"12345","message":"something else","result":{"content":[{"assetId":1}]}}`)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := d.Decode(odd, fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations, want at most 2", allocs)
	}
}

// TestSpecial8 checks the 8-byte scan against the byte table for every byte
// value at every position, with safe and unsafe bytes around it.
func TestSpecial8(t *testing.T) {
	for _, fill := range []byte{'a', 0x80, 0xff, ' ', '"', 0x1f} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var b [8]byte
				for i := range b {
					b[i] = 'a'
					if i > pos {
						b[i] = fill
					}
				}
				b[pos] = byte(c)
				want := 8
				for i, x := range b {
					if !strSafe[x] {
						want = i
						break
					}
				}
				got := 8
				if m := special8(binary.LittleEndian.Uint64(b[:])); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("%q: first special byte at %d, want %d", b, got, want)
				}
			}
		}
	}
}
