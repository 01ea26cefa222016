// Package assetjson is a hand-written, allocation-free decoder for one page
// of the "list assets" answer, the scanner behind client.AssetPage:
//
//	{"code": "0", "message": "success",
//	 "result": {"content": [ {asset}, ... ], "totalCount": 3, "totalPage": 1, "pageNo": 1, "pageSize": 100}}
//
// It scans the body once, validates it fully as JSON (the same grammar as
// encoding/json: json.Valid and this decoder accept the same documents, bar
// the nesting limit), and hands each element of result.content to a callback
// as a reused *Asset whose byte slices point into the body or into a scratch
// buffer owned by the decoder.
//
// Rules, in short:
//   - Keys may come in any order; unknown keys are skipped (their values are
//     validated). Keys are compared exactly (case-sensitively) after
//     unescaping, so "\u0063ode" is "code".
//   - A duplicate key: the last one wins for scalars. A second "content" array
//     (or a second "result" object) is decoded too: the callback sees the
//     elements of both arrays, in document order. A second "metaData" object
//     merges into the first (like encoding/json into a pointer to a struct);
//     a null metaData clears every metaData field.
//   - null is the same as absent: for an asset field it clears the field (and
//     its Has flag); "result": null sets HasResult=false and clears the
//     paging numbers (Items still counts the elements already delivered).
//   - A null element of result.content is delivered as an Asset with every
//     field absent. Any other non-object element is an error.
//   - Integers are a JSON integer literal or a JSON string holding one
//     ("123", "-5"; no sign '+', no leading zeros, no spaces, no fraction or
//     exponent), in int64 range.
//   - String fields are returned unescaped. Bytes that are not valid UTF-8
//     are passed through as they are (encoding/json would replace each with
//     U+FFFD); a \u escape of a lone surrogate becomes U+FFFD, as in
//     encoding/json.
//   - The top-level value must be an object.
//   - On error, assets already handed to the callback must be discarded by the
//     caller. A syntax error (including a cut-off body) takes precedence over
//     a type error anywhere in the document, as with encoding/json.
//
// It is kept, rather than encoding/json or a JSON library, by a
// measurement in the exporter's page path: see docs/performance.md
// ("Why our own decoder, time parser and encoder stay").
package assetjson

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDecodeDepth bounds the nesting of objects and arrays in a body.
const maxDecodeDepth = 64

// DecodeError reports why a body could not be decoded.
type DecodeError struct {
	// Offset is the byte offset in the body where the problem was found.
	Offset int64
	// Path locates the value, e.g. "result.content[3].metaData.size"; it
	// is empty when the problem is not inside a known field.
	Path string
	// Msg says what is wrong, e.g. `want integer, got string "abc"`.
	Msg string
	// Truncated is true when the body ended before the JSON value was
	// complete, which is what a cut-off body looks like.
	Truncated bool
}

// Error says where and why, e.g.
// decode result.content[3].metaData.size at byte 120: want integer, got string "abc".
func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("decode ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteByte(' ')
	}
	b.WriteString("at byte ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

const truncatedMsg = "unexpected end of body (truncated?)"

// Page is what Decode reports besides the assets.
type Page struct {
	// Code is "code" as a string; a JSON number is accepted and given as its
	// literal (0 -> "0"); "" if absent or null.
	Code string
	// Message is "message" ("" if absent or null).
	Message string
	// HasResult is true when "result" is present and an object.
	HasResult bool
	Info      PageInfo
}

// pathSeg is one step of the path to the value being decoded: a key (raw, as
// in the body) or, when idx >= 0, an array index.
type pathSeg struct {
	key []byte
	idx int
}

// Depths (number of open containers) of the values decoded field by field.
const (
	depthTop     = 1 // members of the top-level object
	depthResult  = 2 // members of result
	depthContent = 3 // elements of result.content
	depthAsset   = 4 // members of an asset
	depthMeta    = 5 // members of metaData
)

// Decoder decodes asset-list pages. Its zero value is ready; reuse it
// across pages so that its scratch buffers stay warm. It is not safe for
// concurrent use.
type Decoder struct {
	data []byte
	pos  int

	// scratch holds the unescaped string fields of the current asset.
	scratch []byte
	// keyBuf holds the unescaped current key when it has escapes.
	keyBuf []byte

	a Asset

	path  [depthMeta]pathSeg
	npath int

	// semantic is set when the error being returned is a type error (as
	// opposed to a syntax error): the rest of the body must then still be
	// checked for syntax errors, which take precedence.
	semantic bool
}

// Decode decodes one asset-list response body (the whole body in memory) and
// calls fn for each element of result.content, in order, with a *Asset valid
// only during the call. When "content" appears more than once (in one or in
// several "result" objects), fn is called for the elements of every array.
// On error, the assets already passed to fn must be discarded.
func (d *Decoder) Decode(body []byte, fn func(*Asset)) (env Page, err error) {
	d.data = body
	d.pos = 0
	d.npath = 0
	d.semantic = false
	err = d.decodeTop(&env, fn)
	if err != nil && d.semantic {
		// A syntax error anywhere wins over a type error.
		d.pos = 0
		d.npath = 0
		if verr := d.validate(); verr != nil {
			err = verr
		}
	}
	// Don't keep the body alive through the decoder.
	d.data = nil
	d.a = Asset{}
	d.path = [depthMeta]pathSeg{}
	return env, err
}

// validate checks that d.data is one valid JSON value (within the depth
// limit) surrounded by optional whitespace.
func (d *Decoder) validate() error {
	d.ws()
	if err := d.skipValue(0); err != nil {
		return err
	}
	d.ws()
	if d.pos < len(d.data) {
		return d.syntaxErr(d.pos, "invalid character "+quoteChar(d.data[d.pos])+" after top-level value")
	}
	return nil
}

// ---- errors ----

func (d *Decoder) pathString() string {
	if d.npath == 0 {
		return ""
	}
	var b []byte
	for i := 0; i < d.npath; i++ {
		s := d.path[i]
		if s.idx >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.idx), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.key...)
	}
	return string(b)
}

func (d *Decoder) truncErr() error {
	return &DecodeError{Offset: int64(len(d.data)), Path: d.pathString(), Msg: truncatedMsg, Truncated: true}
}

func (d *Decoder) syntaxErr(off int, msg string) error {
	return &DecodeError{Offset: int64(off), Path: d.pathString(), Msg: msg}
}

func (d *Decoder) semErr(off int, msg string) error {
	d.semantic = true
	return &DecodeError{Offset: int64(off), Path: d.pathString(), Msg: msg}
}

func (d *Decoder) depthErr(off int) error {
	return &DecodeError{Offset: int64(off), Path: d.pathString(), Msg: "nesting deeper than " + strconv.Itoa(maxDecodeDepth) + " levels"}
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string([]byte{c}))
	return "'" + s[1:len(s)-1] + "'"
}

// badValueErr reports the value at off, which is not of the wanted type. If
// the byte at off cannot start a JSON value, it is a syntax error instead.
func (d *Decoder) badValueErr(off int, want string) error {
	if off >= len(d.data) {
		return d.truncErr()
	}
	c := d.data[off]
	switch {
	case c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' || (c >= '0' && c <= '9'):
		return d.semErr(off, "want "+want+", got "+d.describe(off))
	}
	return d.syntaxErr(off, "invalid character "+quoteChar(c)+" looking for beginning of value")
}

// describe names the value starting at off for an error message.
func (d *Decoder) describe(off int) string {
	data := d.data[off:]
	const limit = 40
	clip := func(s []byte) string {
		if len(s) > limit {
			return string(s[:limit]) + "..."
		}
		return string(s)
	}
	switch c := data[0]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't':
		return "true"
	case c == 'f':
		return "false"
	case c == 'n':
		return "null"
	case c == '"':
		end := 1
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' {
				end++
			}
			end++
		}
		if end > len(data) {
			end = len(data)
		}
		return "string " + strconv.Quote(clip(data[1:end]))
	default:
		end := 0
		for end < len(data) && strings.IndexByte("0123456789+-.eE", data[end]) >= 0 {
			end++
		}
		return "number " + clip(data[:end])
	}
}

// ---- scanning primitives ----

// strSafe[c] is true for the bytes that need no attention inside a string.
var strSafe = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 0x20 && i != '"' && i != '\\'
	}
	return
}()

// special8 returns a mask whose lowest set bit (if any) is the high bit of
// the first of the 8 bytes in x (little-endian) that is '"', '\\' or a
// control character. Bits above the lowest one may be false positives.
func special8(x uint64) uint64 {
	const lo = 0x0101010101010101
	const hi = 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return ((q-lo)&^q | (b-lo)&^b | (x-lo*0x20)&^x) & hi
}

// ws skips JSON whitespace.
func (d *Decoder) ws() {
	data, p := d.data, d.pos
	for p < len(data) {
		switch data[p] {
		case ' ', '\n', '\r', '\t':
			p++
			continue
		}
		break
	}
	d.pos = p
}

func isHex(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 6
}

// scanString scans the string starting at d.pos (which holds '"'). It
// returns the raw content data[start:end] and whether it holds escapes, and
// leaves d.pos after the closing quote.
func (d *Decoder) scanString() (start, end int, esc bool, err error) {
	data := d.data
	p := d.pos + 1
	start = p
	for {
		// Fast path: 8 bytes at a time, up to the first byte needing
		// attention.
		for p+8 <= len(data) {
			if m := special8(binary.LittleEndian.Uint64(data[p:])); m != 0 {
				p += bits.TrailingZeros64(m) >> 3
				goto slow
			}
			p += 8
		}
		for p < len(data) && strSafe[data[p]] {
			p++
		}
	slow:
		if p >= len(data) {
			return 0, 0, false, d.truncErr()
		}
		switch c := data[p]; c {
		case '"':
			d.pos = p + 1
			return start, p, esc, nil
		case '\\':
			esc = true
			p++
			if p >= len(data) {
				return 0, 0, false, d.truncErr()
			}
			switch data[p] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p++
			case 'u':
				for i := 1; i <= 4; i++ {
					if p+i >= len(data) {
						return 0, 0, false, d.truncErr()
					}
					if !isHex(data[p+i]) {
						return 0, 0, false, d.syntaxErr(p+i, "invalid character "+quoteChar(data[p+i])+" in \\u hexadecimal character escape")
					}
				}
				p += 5
			default:
				return 0, 0, false, d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" in string escape code")
			}
		default:
			return 0, 0, false, d.syntaxErr(p, "invalid character "+quoteChar(c)+" in string literal")
		}
	}
}

// hex4 decodes 4 hex digits (already validated).
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		default:
			c = (c | 0x20) - 'a' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendUnescaped appends the unescaped form of s, the validated raw content
// of a JSON string, to dst. Escapes are decoded like encoding/json does;
// other bytes are copied as they are.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		c := s[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, hex4(s[i+2:])); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
	}
	return dst
}

// lit consumes the literal word (true, false or null) at d.pos.
func (d *Decoder) lit(word string) error {
	data := d.data[d.pos:]
	if len(data) >= len(word) && string(data[:len(word)]) == word {
		d.pos += len(word)
		return nil
	}
	for i := 0; i < len(word); i++ {
		if i >= len(data) {
			return d.truncErr()
		}
		if data[i] != word[i] {
			return d.syntaxErr(d.pos+i, "invalid character "+quoteChar(data[i])+" in literal "+word+" (expecting "+quoteChar(word[i])+")")
		}
	}
	return d.syntaxErr(d.pos, "invalid literal")
}

type numKind uint8

const (
	numInt      numKind = iota // an integer in int64 range
	numFrac                    // has a fraction or an exponent
	numOverflow                // an integer out of int64 range
)

// scanNumber scans the number at d.pos (which holds '-' or a digit),
// validating the JSON grammar, and returns its value when it is an integer
// literal in int64 range.
func (d *Decoder) scanNumber() (v int64, kind numKind, err error) {
	data := d.data
	p := d.pos
	neg := false
	if data[p] == '-' {
		neg = true
		p++
		if p >= len(data) {
			return 0, 0, d.truncErr()
		}
	}
	var u uint64
	nd := 0
	switch c := data[p]; {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		for p < len(data) && data[p]-'0' < 10 {
			u = u*10 + uint64(data[p]-'0')
			p++
			nd++
		}
	default:
		return 0, 0, d.syntaxErr(p, "invalid character "+quoteChar(c)+" in numeric literal")
	}
	kind = numInt
	if p < len(data) && data[p] == '.' {
		kind = numFrac
		p++
		if p >= len(data) {
			return 0, 0, d.truncErr()
		}
		if data[p]-'0' >= 10 {
			return 0, 0, d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" after decimal point in numeric literal")
		}
		for p < len(data) && data[p]-'0' < 10 {
			p++
		}
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		kind = numFrac
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		if p >= len(data) {
			return 0, 0, d.truncErr()
		}
		if data[p]-'0' >= 10 {
			return 0, 0, d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" in exponent of numeric literal")
		}
		for p < len(data) && data[p]-'0' < 10 {
			p++
		}
	}
	d.pos = p
	if kind != numInt {
		return 0, kind, nil
	}
	v, ok := intFromDigits(u, nd, neg)
	if !ok {
		return 0, numOverflow, nil
	}
	return v, numInt, nil
}

// intFromDigits turns the magnitude u, accumulated from nd decimal digits
// (wrapping when nd > 19), into an int64.
func intFromDigits(u uint64, nd int, neg bool) (int64, bool) {
	if nd > 19 {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true //nolint:gosec // G115: u <= 1<<63 was checked above
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// parseIntLiteral parses s as a JSON integer literal: -?(0|[1-9][0-9]*).
// kind is numInt, numOverflow (a valid literal out of int64 range) or
// numFrac (not an integer literal at all).
func parseIntLiteral(s []byte) (v int64, kind numKind) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) == 0 || (s[0] == '0' && len(s) > 1) {
		return 0, numFrac
	}
	var u uint64
	for _, c := range s {
		if c-'0' >= 10 {
			return 0, numFrac
		}
		u = u*10 + uint64(c-'0')
	}
	v, ok := intFromDigits(u, len(s), neg)
	if !ok {
		return 0, numOverflow
	}
	return v, numInt
}

// skipValue skips (and validates) the value at d.pos; depth is the number of
// containers already open around it.
func (d *Decoder) skipValue(depth int) error {
	data := d.data
	if d.pos >= len(data) {
		return d.truncErr()
	}
	switch c := data[d.pos]; c {
	case '"':
		_, _, _, err := d.scanString()
		return err
	case '{':
		if depth >= maxDecodeDepth {
			return d.depthErr(d.pos)
		}
		d.pos++
		d.ws()
		if d.pos >= len(data) {
			return d.truncErr()
		}
		if data[d.pos] == '}' {
			d.pos++
			return nil
		}
		for {
			if data[d.pos] != '"' {
				return d.syntaxErr(d.pos, "invalid character "+quoteChar(data[d.pos])+" looking for beginning of object key string")
			}
			if _, _, _, err := d.scanString(); err != nil {
				return err
			}
			if err := d.colon(); err != nil {
				return err
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := d.next('}', "object key:value pair")
			if err != nil || !more {
				return err
			}
		}
	case '[':
		if depth >= maxDecodeDepth {
			return d.depthErr(d.pos)
		}
		d.pos++
		d.ws()
		if d.pos >= len(data) {
			return d.truncErr()
		}
		if data[d.pos] == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := d.next(']', "array element")
			if err != nil || !more {
				return err
			}
		}
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	default:
		if c == '-' || c-'0' < 10 {
			_, _, err := d.scanNumber()
			return err
		}
		return d.syntaxErr(d.pos, "invalid character "+quoteChar(c)+" looking for beginning of value")
	}
}

// colon consumes whitespace, ':' and whitespace after an object key, and
// checks that a value follows.
func (d *Decoder) colon() error {
	data := d.data
	p := d.pos
	if p < len(data) && data[p] == ':' {
		p++
	} else {
		d.ws()
		p = d.pos
		if p >= len(data) {
			return d.truncErr()
		}
		if data[p] != ':' {
			return d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" after object key")
		}
		p++
	}
	if p < len(data) && data[p] > ' ' {
		d.pos = p
		return nil
	}
	d.pos = p
	d.ws()
	if d.pos >= len(data) {
		return d.truncErr()
	}
	return nil
}

// next consumes whitespace and then ',' or the closing byte after a member
// or element. more is true after ','; then whitespace is skipped too, and
// the next byte is known to exist.
func (d *Decoder) next(closing byte, what string) (more bool, err error) {
	if closing == '}' {
		return d.nextMember()
	}
	return d.nextSlow(closing, what)
}

// nextMember is next('}', ...) with an inlined fast path: a ',' directly
// followed by the next key.
func (d *Decoder) nextMember() (more bool, err error) {
	if p := d.pos; p+1 < len(d.data) && d.data[p] == ',' && d.data[p+1] == '"' {
		d.pos = p + 1
		return true, nil
	}
	return d.nextSlow('}', "object key:value pair")
}

func (d *Decoder) nextSlow(closing byte, what string) (more bool, err error) {
	data := d.data
	p := d.pos
	if p >= len(data) || data[p] <= ' ' {
		d.ws()
		p = d.pos
		if p >= len(data) {
			return false, d.truncErr()
		}
	}
	switch data[p] {
	case ',':
		p++
		if p >= len(data) || data[p] <= ' ' {
			d.pos = p
			d.ws()
			p = d.pos
			if p >= len(data) {
				return false, d.truncErr()
			}
		}
		if closing == '}' && data[p] != '"' {
			return false, d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" looking for beginning of object key string")
		}
		d.pos = p
		return true, nil
	case closing:
		d.pos = p + 1
		return false, nil
	}
	return false, d.syntaxErr(p, "invalid character "+quoteChar(data[p])+" after "+what)
}

// open consumes the '{' at d.pos and whitespace. It returns false if the
// object is empty (and consumes its '}').
func (d *Decoder) open() (nonEmpty bool, err error) {
	d.pos++
	d.ws()
	data := d.data
	if d.pos >= len(data) {
		return false, d.truncErr()
	}
	switch data[d.pos] {
	case '}':
		d.pos++
		return false, nil
	case '"':
		return true, nil
	}
	return false, d.syntaxErr(d.pos, "invalid character "+quoteChar(data[d.pos])+" looking for beginning of object key string")
}

// key reads an object key at d.pos (which holds '"'), the ':' after it, and
// the whitespace before the value; it records the key at path level lvl.
func (d *Decoder) key(lvl int) ([]byte, error) {
	data := d.data
	p := d.pos + 1
	start := p
	// Fast path: a plain key directly followed by ':' and the value.
	for {
		if p+8 > len(data) {
			for p < len(data) && strSafe[data[p]] {
				p++
			}
			break
		}
		if m := special8(binary.LittleEndian.Uint64(data[p:])); m != 0 {
			p += bits.TrailingZeros64(m) >> 3
			break
		}
		p += 8
	}
	if p+2 < len(data) && data[p] == '"' && data[p+1] == ':' && data[p+2] > ' ' {
		raw := data[start:p]
		d.path[lvl] = pathSeg{key: raw, idx: -1}
		d.npath = lvl + 1
		d.pos = p + 2
		return raw, nil
	}
	start, end, esc, err := d.scanString()
	if err != nil {
		return nil, err
	}
	raw := data[start:end]
	d.path[lvl] = pathSeg{key: raw, idx: -1}
	d.npath = lvl + 1
	k := raw
	if esc {
		d.keyBuf = appendUnescaped(d.keyBuf[:0], raw)
		k = d.keyBuf
	}
	if err := d.colon(); err != nil {
		return nil, err
	}
	return k, nil
}

// ---- typed values ----

// readInt reads an integer field (see the package rules); ok is false for
// null.
func (d *Decoder) readInt() (v int64, ok bool, err error) {
	data := d.data
	off := d.pos
	c := data[off]
	switch {
	case c == '-' || c-'0' < 10:
		v, kind, err := d.scanNumber()
		if err != nil {
			return 0, false, err
		}
		switch kind {
		case numInt:
			return v, true, nil
		case numFrac:
			return 0, false, d.semErr(off, "want integer, got number "+string(data[off:d.pos]))
		}
		return 0, false, d.semErr(off, "integer out of range: "+string(data[off:d.pos]))
	case c == '"':
		start, end, esc, err := d.scanString()
		if err != nil {
			return 0, false, err
		}
		s := data[start:end]
		if esc {
			n := len(d.scratch)
			d.scratch = appendUnescaped(d.scratch, s)
			s = d.scratch[n:]
			d.scratch = d.scratch[:n]
		}
		switch v, kind := parseIntLiteral(s); kind {
		case numInt:
			return v, true, nil
		case numOverflow:
			return 0, false, d.semErr(off, "integer out of range: "+d.describe(off))
		}
		return 0, false, d.semErr(off, "want integer, got "+d.describe(off))
	case c == 'n':
		return 0, false, d.lit("null")
	}
	return 0, false, d.badValueErr(off, "integer")
}

// readStr reads a string field; it returns nil for null. Without escapes the
// result points into the body, else into d.scratch.
func (d *Decoder) readStr() ([]byte, error) {
	data := d.data
	off := d.pos
	switch data[off] {
	case '"':
		start, end, esc, err := d.scanString()
		if err != nil {
			return nil, err
		}
		if !esc {
			return data[start:end:end], nil
		}
		n := len(d.scratch)
		d.scratch = appendUnescaped(d.scratch, data[start:end])
		return d.scratch[n:len(d.scratch):len(d.scratch)], nil
	case 'n':
		return nil, d.lit("null")
	}
	return nil, d.badValueErr(off, "string")
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

// ---- structure ----

func (d *Decoder) decodeTop(env *Page, fn func(*Asset)) error {
	d.ws()
	data := d.data
	if d.pos >= len(data) {
		return d.truncErr()
	}
	if data[d.pos] != '{' {
		return d.badValueErr(d.pos, "object")
	}
	more, err := d.open()
	for more && err == nil {
		var k []byte
		if k, err = d.key(0); err != nil {
			return err
		}
		switch string(k) {
		case "code":
			off := d.pos
			switch c := data[off]; {
			case c == '-' || c-'0' < 10:
				if _, _, err = d.scanNumber(); err != nil {
					return err
				}
				env.Code = internString(data[off:d.pos])
			default:
				var s []byte
				if s, err = d.readStr(); err != nil {
					return err
				}
				env.Code = internString(s)
				d.scratch = d.scratch[:0]
			}
		case "message":
			var s []byte
			if s, err = d.readStr(); err != nil {
				return err
			}
			env.Message = internString(s)
			d.scratch = d.scratch[:0]
		case "result":
			switch data[d.pos] {
			case '{':
				env.HasResult = true
				err = d.decodeResult(env, fn)
			case 'n':
				env.HasResult = false
				env.Info = PageInfo{Items: env.Info.Items}
				err = d.lit("null")
			default:
				err = d.badValueErr(d.pos, "object")
			}
		default:
			err = d.skipValue(depthTop)
		}
		if err != nil {
			return err
		}
		more, err = d.nextMember()
	}
	if err != nil {
		return err
	}
	d.npath = 0
	d.ws()
	if d.pos < len(data) {
		return d.syntaxErr(d.pos, "invalid character "+quoteChar(data[d.pos])+" after top-level value")
	}
	return nil
}

func (d *Decoder) decodeResult(env *Page, fn func(*Asset)) error {
	more, err := d.open()
	for more && err == nil {
		var k []byte
		if k, err = d.key(1); err != nil {
			return err
		}
		var p *int64
		switch string(k) {
		case "content":
			switch d.data[d.pos] {
			case '[':
				err = d.decodeContent(env, fn)
			case 'n':
				err = d.lit("null")
			default:
				err = d.badValueErr(d.pos, "array")
			}
		case "totalCount":
			p = &env.Info.TotalCount
		case "totalPage":
			p = &env.Info.TotalPage
		case "pageNo":
			p = &env.Info.PageNo
		case "pageSize":
			p = &env.Info.PageSize
		default:
			err = d.skipValue(depthResult)
		}
		if p != nil {
			*p, _, err = d.readInt()
		}
		if err != nil {
			return err
		}
		more, err = d.nextMember()
	}
	return err
}

func (d *Decoder) decodeContent(env *Page, fn func(*Asset)) error {
	data := d.data
	d.pos++
	d.ws()
	if d.pos >= len(data) {
		return d.truncErr()
	}
	if data[d.pos] == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		d.path[2] = pathSeg{idx: i}
		d.npath = 3
		d.a = Asset{}
		d.scratch = d.scratch[:0]
		switch data[d.pos] {
		case '{':
			if err := d.decodeAsset(); err != nil {
				return err
			}
		case 'n':
			if err := d.lit("null"); err != nil {
				return err
			}
		default:
			return d.badValueErr(d.pos, "object")
		}
		env.Info.Items++
		fn(&d.a)
		d.npath = 3
		more, err := d.next(']', "array element")
		if err != nil || !more {
			return err
		}
	}
}

func (d *Decoder) decodeAsset() error {
	a := &d.a
	more, err := d.open()
	for more && err == nil {
		var k []byte
		if k, err = d.key(3); err != nil {
			return err
		}
		switch string(k) {
		case "assetId":
			a.ID, a.HasID, err = d.readInt()
		case "projectId":
			a.ProjectID, _, err = d.readInt()
		case "createdTime":
			a.CreatedTime, err = d.readStr()
		case "updatedTime":
			a.UpdatedTime, err = d.readStr()
		case "metaData":
			switch d.data[d.pos] {
			case '{':
				a.HasMeta = true
				err = d.decodeMeta()
			case 'n':
				a.HasMeta = false
				a.Resolution, a.Format = nil, nil
				a.DurationMs, a.HasDuration = 0, false
				a.Size, a.HasSize = 0, false
				err = d.lit("null")
			default:
				err = d.badValueErr(d.pos, "object")
			}
		default:
			err = d.skipValue(depthAsset)
		}
		if err != nil {
			return err
		}
		more, err = d.nextMember()
	}
	return err
}

func (d *Decoder) decodeMeta() error {
	a := &d.a
	more, err := d.open()
	for more && err == nil {
		var k []byte
		if k, err = d.key(4); err != nil {
			return err
		}
		switch string(k) {
		case "resolution":
			a.Resolution, err = d.readStr()
		case "format":
			a.Format, err = d.readStr()
		case "durationMs":
			a.DurationMs, a.HasDuration, err = d.readInt()
		case "size":
			a.Size, a.HasSize, err = d.readInt()
		default:
			err = d.skipValue(depthMeta)
		}
		if err != nil {
			return err
		}
		more, err = d.nextMember()
	}
	d.npath = 4
	return err
}
