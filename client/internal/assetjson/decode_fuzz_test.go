package assetjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// This file holds a reference decoder for asset-list pages written with
// encoding/json (which does the JSON syntax, unescaping and validity work),
// applying the same field rules as Decoder, and the fuzz target that
// compares the two.

type refMember struct {
	key string
	val []byte
}

// refMembers returns the members of the JSON object raw (known to be valid),
// in order, duplicates included.
func refMembers(raw []byte) ([]refMember, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var ms []refMember
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, refMember{key: kt.(string), val: bytes.TrimSpace(v)})
	}
	return ms, nil
}

// refElems returns the elements of the JSON array raw (known to be valid).
func refElems(raw []byte) ([][]byte, error) {
	var vs []json.RawMessage
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, err
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = bytes.TrimSpace(v)
	}
	return out, nil
}

func isNull(raw []byte) bool { return string(raw) == "null" }

func refIsIntLiteral(s string) bool {
	t := strings.TrimPrefix(s, "-")
	if t == "" || (t[0] == '0' && len(t) > 1) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

func refInt(raw []byte) (v int64, ok bool, err error) {
	switch {
	case isNull(raw):
		return 0, false, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, err
		}
		if !refIsIntLiteral(s) {
			return 0, false, fmt.Errorf("want integer, got string %q", s)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil, err
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if bytes.ContainsAny(raw, ".eE") {
			return 0, false, fmt.Errorf("want integer, got number %s", raw)
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		return v, err == nil, err
	}
	return 0, false, fmt.Errorf("want integer, got %s", raw)
}

// refStr returns nil for null.
func refStr(raw []byte) ([]byte, error) {
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '"' {
		return nil, fmt.Errorf("want string, got %s", raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// refDecode decodes body with encoding/json under the rules of
// Decoder. Strings come out as encoding/json makes them (invalid UTF-8
// replaced by U+FFFD).
func refDecode(body []byte) (env Page, assets []Asset, err error) {
	if !json.Valid(body) {
		return env, nil, errors.New("invalid JSON")
	}
	body = bytes.TrimSpace(body)
	if body[0] != '{' {
		return env, nil, errors.New("top level is not an object")
	}
	top, err := refMembers(body)
	if err != nil {
		return env, nil, err
	}
	for _, m := range top {
		switch m.key {
		case "code":
			if len(m.val) > 0 && (m.val[0] == '-' || (m.val[0] >= '0' && m.val[0] <= '9')) {
				env.Code = string(m.val)
				continue
			}
			s, err := refStr(m.val)
			if err != nil {
				return env, nil, err
			}
			env.Code = string(s)
		case "message":
			s, err := refStr(m.val)
			if err != nil {
				return env, nil, err
			}
			env.Message = string(s)
		case "result":
			if isNull(m.val) {
				env.HasResult = false
				env.Info = PageInfo{Items: env.Info.Items}
				continue
			}
			if m.val[0] != '{' {
				return env, nil, errors.New("result: want object")
			}
			env.HasResult = true
			rms, err := refMembers(m.val)
			if err != nil {
				return env, nil, err
			}
			for _, rm := range rms {
				var p *int64
				switch rm.key {
				case "content":
					if isNull(rm.val) {
						continue
					}
					if rm.val[0] != '[' {
						return env, nil, errors.New("content: want array")
					}
					elems, err := refElems(rm.val)
					if err != nil {
						return env, nil, err
					}
					for _, e := range elems {
						a, err := refAsset(e)
						if err != nil {
							return env, nil, err
						}
						assets = append(assets, a)
						env.Info.Items++
					}
				case "totalCount":
					p = &env.Info.TotalCount
				case "totalPage":
					p = &env.Info.TotalPage
				case "pageNo":
					p = &env.Info.PageNo
				case "pageSize":
					p = &env.Info.PageSize
				}
				if p != nil {
					if *p, _, err = refInt(rm.val); err != nil {
						return env, nil, err
					}
				}
			}
		}
	}
	return env, assets, nil
}

func refAsset(raw []byte) (a Asset, err error) {
	if isNull(raw) {
		return a, nil
	}
	if raw[0] != '{' {
		return a, errors.New("asset: want object")
	}
	ms, err := refMembers(raw)
	if err != nil {
		return a, err
	}
	for _, m := range ms {
		switch m.key {
		case "assetId":
			a.ID, a.HasID, err = refInt(m.val)
		case "projectId":
			a.ProjectID, _, err = refInt(m.val)
		case "createdTime":
			a.CreatedTime, err = refStr(m.val)
		case "updatedTime":
			a.UpdatedTime, err = refStr(m.val)
		case "metaData":
			if isNull(m.val) {
				a.HasMeta = false
				a.Resolution, a.Format = nil, nil
				a.DurationMs, a.HasDuration, a.Size, a.HasSize = 0, false, 0, false
				continue
			}
			if m.val[0] != '{' {
				return a, errors.New("metaData: want object")
			}
			a.HasMeta = true
			mms, err := refMembers(m.val)
			if err != nil {
				return a, err
			}
			for _, mm := range mms {
				switch mm.key {
				case "resolution":
					a.Resolution, err = refStr(mm.val)
				case "format":
					a.Format, err = refStr(mm.val)
				case "durationMs":
					a.DurationMs, a.HasDuration, err = refInt(mm.val)
				case "size":
					a.Size, a.HasSize, err = refInt(mm.val)
				}
				if err != nil {
					return a, err
				}
			}
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

// coerceUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, as encoding/json does.
func coerceUTF8(s []byte) string {
	var b strings.Builder
	for _, r := range string(s) {
		b.WriteRune(r)
	}
	return b.String()
}

// fmtAsset renders a for comparisons; absent fields are left out. With
// coerce, strings are shown as encoding/json would have decoded them.
func fmtAsset(a *Asset, coerce bool) string {
	str := func(b []byte) string {
		if coerce {
			return strconv.Quote(coerceUTF8(b))
		}
		return strconv.Quote(string(b))
	}
	var parts []string
	if a.HasID {
		parts = append(parts, fmt.Sprintf("id=%d", a.ID))
	} else if a.ID != 0 {
		parts = append(parts, fmt.Sprintf("BADid=%d", a.ID))
	}
	if a.ProjectID != 0 {
		parts = append(parts, fmt.Sprintf("project=%d", a.ProjectID))
	}
	var meta []string
	if a.Resolution != nil {
		meta = append(meta, "res="+str(a.Resolution))
	}
	if a.HasDuration || a.DurationMs != 0 {
		meta = append(meta, fmt.Sprintf("dur=%d/%v", a.DurationMs, a.HasDuration))
	}
	if a.HasSize || a.Size != 0 {
		meta = append(meta, fmt.Sprintf("size=%d/%v", a.Size, a.HasSize))
	}
	if a.Format != nil {
		meta = append(meta, "fmt="+str(a.Format))
	}
	if a.HasMeta {
		parts = append(parts, "meta{"+strings.Join(meta, " ")+"}")
	} else if len(meta) > 0 {
		parts = append(parts, "BADmeta{"+strings.Join(meta, " ")+"}")
	}
	if a.CreatedTime != nil {
		parts = append(parts, "created="+str(a.CreatedTime))
	}
	if a.UpdatedTime != nil {
		parts = append(parts, "updated="+str(a.UpdatedTime))
	}
	return strings.Join(parts, " ")
}

// jsonDepth returns the maximum nesting of a valid JSON document.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > deepest {
				deepest = depth
			}
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// decodeWithOurs decodes body with Decoder d, rendering each asset.
func decodeWithOurs(d *Decoder, body []byte, coerce bool) (Page, []string, error) {
	var got []string
	env, err := d.Decode(body, func(a *Asset) { got = append(got, fmtAsset(a, coerce)) })
	return env, got, err
}

// checkAgainstRef compares Decoder with the reference on body.
func checkAgainstRef(t *testing.T, d *Decoder, body []byte) {
	t.Helper()
	env, got, err := decodeWithOurs(d, body, true)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		_ = de.Error()
		if de.Offset < 0 || de.Offset > int64(len(body)) {
			t.Fatalf("error offset %d out of range [0,%d]: %v", de.Offset, len(body), err)
		}
	}
	if !json.Valid(body) {
		if err == nil {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		return
	}
	if jsonDepth(body) > maxDecodeDepth {
		if err == nil {
			t.Fatalf("accepted JSON nested deeper than %d", maxDecodeDepth)
		}
		return
	}
	var de *DecodeError
	if errors.As(err, &de) && de.Truncated {
		t.Fatalf("valid JSON reported as truncated: %v", err)
	}
	renv, rassets, rerr := refDecode(body)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("accept/reject differs on %q:\nours: %v\nref:  %v", body, err, rerr)
	}
	if err != nil {
		return
	}
	env.Code, env.Message = coerceUTF8([]byte(env.Code)), coerceUTF8([]byte(env.Message))
	if env != renv {
		t.Fatalf("envelope differs on %q:\nours: %+v\nref:  %+v", body, env, renv)
	}
	if len(got) != len(rassets) {
		t.Fatalf("%d assets, reference has %d, on %q", len(got), len(rassets), body)
	}
	for i := range got {
		if want := fmtAsset(&rassets[i], true); got[i] != want {
			t.Fatalf("asset %d differs on %q:\nours: %s\nref:  %s", i, body, got[i], want)
		}
	}
}

func FuzzDecodeAssetPage(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	d := &Decoder{}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAgainstRef(t, d, body)
	})
}

// fuzzSeeds are the seed corpus of FuzzDecodeAssetPage (more are stored in
// testdata/fuzz/FuzzDecodeAssetPage).
func fuzzSeeds() []string {
	seeds := []string{
		seedExample,
		`{"code":"0","message":"success","result":{"content":[],"totalCount":0,"totalPage":0,"pageNo":1,"pageSize":1000}}`,
		`{"code":0,"result":null}`,
		`{"code":"10001","message":"Invalid Request."}`,
		`{"result":{"content":[null,{"assetId":null,"metaData":null,"createdTime":null},{}]}}`,
		`{"result":{"content":[{"assetId":"12","projectId":"-3","metaData":{"size":"9223372036854775807","durationMs":-9223372036854775808}}]}}`,
		`{"result":{"content":[{"metaData":{"format":"m\u0070\u0034","resolution":"\ud83d\ude00\ud800\u0041\/\"\\\b\f\n\r\t"}}]}}`,
		`{"result":{"content":[{"metaData":{"size":1.5}}]}}`,
		`{"result":{"content":[{"metaData":{"format":5}}]}}`,
		`{"result":{"content":[{"assetId":true}]}}`,
		`{"result":{"content":[{"x":{"y":[1,2,{"z":[]}],"w":"\u00e9"},"assetId":1}],"pageNo":"1"}}`,
		`{"result":{"content":[{"assetId":1}],"content":[{"assetId":2}]},"result":{"totalCount":5}}`,
		`{"result":{"content":[{"metaData":{"size":1},"metaData":{"format":"a"},"assetId":1,"assetId":2}]}}`,
		` { "\u0072esult" : { "content" : [ { "assetId" : 1 } ] } } `,
		`{"result":{"content":[{"assetId":99999999999999999999}]}}`,
		`{"result":[]}`,
		`[]`,
		`{"code":"0"} x`,
		`{"code":"0",}`,
		`{"result":{"content":[{"createdTime":"2025-04-23T16:49:24","updatedTime":"2025-04-23T16:49:25+09:00"}]}}`,
	}
	return seeds
}

// seedExample is the response example of the API documentation.
const seedExample = `{
    "code": "0",
    "message": "success",
    "result": {
        "content": [
            {
                "assetId": 1001,
                "fileName": "sample-video-one.mp4",
                "projectId": 1234,
                "metaData": {
                    "resolution": "1280x720",
                    "durationMs": 91565,
                    "size": 101176289,
                    "format": "mp4"
                },
                "key": "sample-video-one.mp4",
                "createUserName": "user1",
                "createdTime": "2025-04-23T16:49:24",
                "updateUserName": "user1",
                "updatedTime": "2025-04-23T16:49:25"
            },
            {
                "assetId": 1002,
                "fileName": "sample-video-two.mp4",
                "projectId": 1234,
                "metaData": {
                    "resolution": "1920x1080",
                    "durationMs": 253702,
                    "size": 120333399,
                    "format": "mp4"
                },
                "key": "sample-video-two.mp4",
                "createUserName": "user2",
                "createdTime": "2025-04-23T17:13:37",
                "updateUserName": "user2",
                "updatedTime": "2025-04-23T17:13:38"
            },
            {
                "assetId": 1003,
                "fileName": "sample-video-three.mp4",
                "projectId": 1234,
                "metaData": {
                    "resolution": "1920x1080",
                    "durationMs": 293849,
                    "size": 76597066,
                    "format": "mp4"
                },
                "key": "sample-video-three.mp4",
                "createUserName": "user3",
                "createdTime": "2025-04-23T17:13:48",
                "updateUserName": "user3",
                "updatedTime": "2025-04-23T17:13:49"
            }
        ],
        "totalCount": 3,
        "totalPage": 1,
        "pageNo": 1,
        "pageSize": 100
    }
}`
