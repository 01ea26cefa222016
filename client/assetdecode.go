package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// This file decodes one page of the "list assets" answer,
//
//	{"code": "0", "message": "success",
//	 "result": {"content": [ {asset}, ... ], "totalCount": 3, "totalPage": 1, "pageNo": 1, "pageSize": 100}}
//
// with github.com/valyala/fastjson, whose Parser is reused from page to page,
// and hands each element of result.content to a callback as a reused *Asset
// whose byte slices point into the parser's buffers: no allocation per asset.
// The parser keeps a tree of the whole page, about 5 times the body's size.
//
// Rules, in short:
//   - fastjson checks the body's structure (brackets, commas, colons, quotes,
//     nesting up to fastjson.MaxDepth) but not the fine grammar of the values
//     that are not read: a number such as 01 or a raw tab in a string there
//     is accepted. A body it cannot parse is a syntax error, worded by
//     encoding/json with its byte offset; a cut-off body is Truncated.
//   - The top-level value must be an object. Keys are compared exactly
//     (case-sensitively) after unescaping; unknown keys are skipped.
//   - Members are read in document order, so for a duplicate key the last one
//     wins, as with encoding/json; a second "metaData" object sets only the
//     fields it has, as encoding/json does into a struct. A second "content"
//     array (or "result" object) is decoded too, its elements delivered after
//     the first's: nothing is dropped unseen. Assets are delivered once the
//     envelope has been read.
//   - null is the same as absent: for an asset field it clears the field (and
//     its Has flag); "result": null sets HasResult=false and clears the paging
//     numbers. A null element of result.content is an Asset with every field
//     absent. Items counts the elements delivered.
//   - Integers are a JSON integer or a JSON string holding one ("123", "-5";
//     no '+', no leading zeros, no spaces, no fraction or exponent), in int64
//     range. "code" may be a string or a number (given as its literal).
//   - String fields come out as encoding/json decodes them: unescaped, each
//     byte that is not valid UTF-8 and each \u escape of a lone UTF-16
//     surrogate replaced by U+FFFD.
//   - Any other type for a field read (`"size":"abc"`, `"size":true`, a
//     non-object asset) fails the page with an error naming the field's path
//     (no byte offset: fastjson does not keep them). On a page that fails, a
//     syntax error that encoding/json finds anywhere takes precedence. On
//     error, the assets already handed to the callback must be discarded.

// DecodeError reports why a body could not be decoded.
type DecodeError struct {
	// Offset is the byte offset in the body of a syntax error, as
	// encoding/json reports it; -1 when unknown, as for a type error (Path
	// then locates it).
	Offset int64
	// Path locates a value of the wrong type, e.g.
	// "result.content[3].metaData.size"; empty for a syntax error.
	Path string
	// Msg says what is wrong, e.g. `want integer, got string "abc"`.
	Msg string
	// Truncated is true when the body ended before the JSON value was
	// complete, which is what a cut-off body looks like.
	Truncated bool
}

func (e *DecodeError) Error() string {
	s := "decode "
	if e.Path != "" {
		s += e.Path + " "
	}
	if e.Offset >= 0 {
		s += "at byte " + strconv.FormatInt(e.Offset, 10) + " "
	}
	return s[:len(s)-1] + ": " + e.Msg
}

const truncatedMsg = "unexpected end of body (truncated?)"

// pageEnvelope is what assetDecoder.decode reports besides the assets.
type pageEnvelope struct {
	// Code is "code" as a string; a JSON number is accepted and given as its
	// literal (0 -> "0"); "" if absent or null.
	Code    string
	Message string
	// HasResult is true when "result" is present and an object.
	HasResult bool
	Info      PageInfo
}

// Where a value being decoded lies, for error paths.
const (
	atTop    = iota // a member of the top-level object
	atResult        // a member of result
	atAsset         // an element of result.content, or a member of one
	atMeta          // a member of an asset's metaData
)

// assetDecoder decodes asset-list pages. Its zero value is ready; reuse it
// across pages so that its parser's buffers stay warm. It is not safe for
// concurrent use.
type assetDecoder struct {
	p        fastjson.Parser
	env      pageEnvelope
	contents []*fastjson.Value // the content arrays, in document order
	a        Asset
	idx      int // index in its content array of the asset being decoded
	err      *DecodeError

	// scratch holds the string fields of the current asset that differ from
	// what fastjson gives (invalid UTF-8, lone surrogates); buf holds a
	// number's literal or a string's raw JSON.
	scratch, buf []byte
	// surrogates is set when the body may hold a \u escape of a UTF-16
	// surrogate, which fastjson and encoding/json unescape differently.
	surrogates bool

	// The member visitors, bound once so that Object.Visit does not allocate.
	top, result, asset, meta func(key []byte, v *fastjson.Value)
}

// decode decodes one asset-list response body and calls fn for each element
// of result.content, in order, with a *Asset valid only during the call.
// On error, the assets already passed to fn must be discarded.
func (d *assetDecoder) decode(body []byte, fn func(*Asset)) (pageEnvelope, error) {
	if d.top == nil {
		d.top, d.result, d.asset, d.meta = d.visitTop, d.visitResult, d.visitAsset, d.visitMeta
	}
	d.env, d.contents, d.err = pageEnvelope{}, d.contents[:0], nil
	d.surrogates = hasSurrogateEscape(body)
	v, err := d.p.ParseBytes(body)
	if err != nil {
		return pageEnvelope{}, syntaxError(body, err)
	}
	if o := object(v); o != nil {
		o.Visit(d.top)
	} else {
		d.fail(atTop, nil, "want object, got "+describe(v))
	}
	// The assets are delivered here, not while visiting, so that fn is not
	// stored in d: it would then escape, and cost an allocation a page.
	for _, c := range d.contents {
		elems, _ := c.Array()
		for i, e := range elems {
			if d.err != nil {
				break
			}
			d.idx = i
			d.a = Asset{}
			d.scratch = d.scratch[:0]
			if o := object(e); o != nil {
				o.Visit(d.asset)
			} else {
				d.nullOr(e, atAsset, nil, "object")
			}
			if d.err == nil {
				d.env.Info.Items++
				fn(&d.a)
			}
		}
	}
	env, derr := d.env, d.err
	d.a, d.err = Asset{}, nil
	clear(d.contents)
	if derr != nil {
		if serr := syntaxError(body, nil); serr != nil {
			return env, serr
		}
		return env, derr
	}
	return env, nil
}

// syntaxError describes what encoding/json finds wrong with the syntax of
// body, with the offset, and whether the body ended too soon (this is the
// error path: its speed does not matter). If it finds nothing, it returns
// nil, or fastjson's complaint ferr, if any, which happens only when the
// nesting is over fastjson's limit.
func syntaxError(body []byte, ferr error) *DecodeError {
	var se *json.SyntaxError
	if err := json.Unmarshal(body, &struct{}{}); errors.As(err, &se) {
		// Unmarshal words some cut-offs as a bad character at the end; a
		// Decoder tells them apart (io.EOF: nothing but whitespace).
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&struct{}{}); err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return &DecodeError{Offset: int64(len(body)), Msg: truncatedMsg, Truncated: true}
		}
		return &DecodeError{Offset: se.Offset, Msg: se.Error()}
	}
	if ferr == nil {
		return nil
	}
	msg := ferr.Error()
	if strings.Contains(msg, "too big depth") {
		msg = "nesting deeper than " + strconv.Itoa(fastjson.MaxDepth) + " levels"
	}
	return &DecodeError{Offset: -1, Msg: clip(msg, 200)}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// fail records the first type error; key is nil for the element itself.
func (d *assetDecoder) fail(at int, key []byte, msg string) {
	if d.err != nil {
		return
	}
	var p string
	switch at {
	case atResult:
		p = "result"
	case atAsset, atMeta:
		p = "result.content[" + strconv.Itoa(d.idx) + "]"
		if at == atMeta {
			p += ".metaData"
		}
	}
	if key != nil && p != "" {
		p += "."
	}
	d.err = &DecodeError{Offset: -1, Path: p + string(key), Msg: msg}
}

// describe names v for an error message.
func describe(v *fastjson.Value) string {
	switch t := v.Type(); t {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return "string " + strconv.Quote(clip(string(b), 40))
	case fastjson.TypeNumber:
		return "number " + clip(string(v.MarshalTo(nil)), 40)
	default:
		return t.String()
	}
}

func (d *assetDecoder) visitTop(k []byte, v *fastjson.Value) {
	if d.err != nil {
		return
	}
	switch string(k) {
	case "code":
		if b, ok := d.str(v); ok {
			d.env.Code = internString(b)
		} else if v.Type() == fastjson.TypeNumber {
			d.buf = v.MarshalTo(d.buf[:0])
			d.env.Code = internString(d.buf)
		} else {
			d.env.Code = ""
			d.nullOr(v, atTop, k, "string")
		}
		d.scratch = d.scratch[:0]
	case "message":
		b, _ := d.strField(v, atTop, k)
		d.env.Message = internString(b)
		d.scratch = d.scratch[:0]
	case "result":
		if o := object(v); o != nil {
			d.env.HasResult = true
			o.Visit(d.result)
		} else if d.nullOr(v, atTop, k, "object") {
			d.env.HasResult = false
			d.env.Info = PageInfo{}
		}
	}
}

func (d *assetDecoder) visitResult(k []byte, v *fastjson.Value) {
	if d.err != nil {
		return
	}
	info := &d.env.Info
	switch string(k) {
	case "content":
		if v.Type() == fastjson.TypeArray {
			d.contents = append(d.contents, v)
		} else {
			d.nullOr(v, atResult, k, "array")
		}
	case "totalCount":
		info.TotalCount, _ = d.int(v, atResult, k)
	case "totalPage":
		info.TotalPage, _ = d.int(v, atResult, k)
	case "pageNo":
		info.PageNo, _ = d.int(v, atResult, k)
	case "pageSize":
		info.PageSize, _ = d.int(v, atResult, k)
	}
}

func (d *assetDecoder) visitAsset(k []byte, v *fastjson.Value) {
	if d.err != nil {
		return
	}
	a := &d.a
	switch string(k) {
	case "assetId":
		a.ID, a.HasID = d.int(v, atAsset, k)
	case "projectId":
		a.ProjectID, _ = d.int(v, atAsset, k)
	case "createdTime":
		a.CreatedTime, _ = d.strField(v, atAsset, k)
	case "updatedTime":
		a.UpdatedTime, _ = d.strField(v, atAsset, k)
	case "metaData":
		if o := object(v); o != nil {
			a.HasMeta = true
			o.Visit(d.meta)
		} else if d.nullOr(v, atAsset, k, "object") {
			a.HasMeta = false
			a.Resolution, a.Format = nil, nil
			a.DurationMs, a.HasDuration = 0, false
			a.Size, a.HasSize = 0, false
		}
	}
}

func (d *assetDecoder) visitMeta(k []byte, v *fastjson.Value) {
	if d.err != nil {
		return
	}
	a := &d.a
	switch string(k) {
	case "resolution":
		a.Resolution, _ = d.strField(v, atMeta, k)
	case "format":
		a.Format, _ = d.strField(v, atMeta, k)
	case "durationMs":
		a.DurationMs, a.HasDuration = d.int(v, atMeta, k)
	case "size":
		a.Size, a.HasSize = d.int(v, atMeta, k)
	}
}

// object returns v as an object, or nil if it is not one (v.Object would
// allocate an error).
func object(v *fastjson.Value) *fastjson.Object {
	if v.Type() != fastjson.TypeObject {
		return nil
	}
	o, _ := v.Object()
	return o
}

// nullOr reports whether v is null; if it is not, v is not of the wanted
// type, and that is recorded as the error.
func (d *assetDecoder) nullOr(v *fastjson.Value, at int, k []byte, want string) bool {
	if v.Type() == fastjson.TypeNull {
		return true
	}
	d.fail(at, k, "want "+want+", got "+describe(v))
	return false
}

// int reads an integer field (see the rules above); ok is false for null
// and on error.
func (d *assetDecoder) int(v *fastjson.Value, at int, k []byte) (n int64, ok bool) {
	var lit []byte
	switch v.Type() {
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0])
		lit = d.buf
	case fastjson.TypeString:
		lit, _ = v.StringBytes()
	default:
		d.nullOr(v, at, k, "integer")
		return 0, false
	}
	digits := lit
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 0 && (digits[0] != '0' || len(digits) == 1) {
		if len(digits) <= 18 { // cannot overflow
			for _, c := range digits {
				if c < '0' || c > '9' {
					goto bad
				}
				n = n*10 + int64(c-'0')
			}
			if len(digits) < len(lit) {
				n = -n
			}
			return n, true
		}
		// string(lit) does not escape: a literal of up to 32 bytes is
		// converted on the stack.
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if err == nil {
			return n, true
		}
		if errors.Is(err, strconv.ErrRange) {
			d.fail(at, k, "integer out of range: "+describe(v))
			return 0, false
		}
	}
bad:
	d.fail(at, k, "want integer, got "+describe(v))
	return 0, false
}

// strField reads a string field; it returns nil for null (and on error).
func (d *assetDecoder) strField(v *fastjson.Value, at int, k []byte) ([]byte, bool) {
	if b, ok := d.str(v); ok {
		return b, true
	}
	d.nullOr(v, at, k, "string")
	return nil, false
}

// empty is a non-nil empty string value: nil means absent.
var empty = []byte{}

// str returns the string v as encoding/json would decode it; ok is false if
// v is not a string. The result points into the parser's buffer, or into
// d.scratch where it differs from fastjson's.
func (d *assetDecoder) str(v *fastjson.Value) (b []byte, ok bool) {
	if d.surrogates {
		// fastjson keeps a lone surrogate escape as it is written; read the
		// raw string (MarshalTo gives it as long as v.Type has not been
		// called) with encoding/json instead. Rare, so allocating is fine.
		d.buf = v.MarshalTo(d.buf[:0])
		if raw := d.buf; len(raw) > 0 && raw[0] == '"' && bytes.IndexByte(raw, '\\') >= 0 {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return d.keep(s), true
			}
		}
	}
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	b, _ = v.StringBytes()
	if utf8.Valid(b) {
		if b == nil {
			return empty, true
		}
		return b, true
	}
	n := len(d.scratch)
	for _, r := range string(b) { // no allocation: the compiler ranges over b
		d.scratch = utf8.AppendRune(d.scratch, r) // an invalid byte is U+FFFD
	}
	return d.scratch[n:len(d.scratch):len(d.scratch)], true
}

// keep copies s into d.scratch.
func (d *assetDecoder) keep(s string) []byte {
	n := len(d.scratch)
	d.scratch = append(d.scratch, s...)
	return d.scratch[n:len(d.scratch):len(d.scratch)]
}

// hasSurrogateEscape reports whether body may hold a \u escape of a UTF-16
// surrogate (\uD800-\uDFFF); an escaped backslash before "ud8" makes it
// answer true too, which is only slower.
func hasSurrogateEscape(body []byte) bool {
	for {
		i := bytes.Index(body, []byte(`\u`))
		if i < 0 || i+3 >= len(body) {
			return false
		}
		if c := body[i+3] | 0x20; body[i+2]|0x20 == 'd' && (c == '8' || c == '9' || c >= 'a' && c <= 'f') {
			return true
		}
		body = body[i+2:]
	}
}

// internString converts b to a string without allocating for the usual
// envelope values.
func internString(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "0":
		return "0"
	case "success":
		return "success"
	}
	return string(b)
}
