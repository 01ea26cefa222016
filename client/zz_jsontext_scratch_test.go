package client

// A measurement only (reverted): the streaming tokenizer of encoding/json/v2
// (go-json-experiment/json/jsontext) as the page decoder, against the scanner
// and encoding/json. Not a full decoder: error paths are not handled.

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

type jtDec struct {
	dec     jsontext.Decoder
	buf     bytes.Buffer
	scratch []byte
	a       Asset
}

func jtInt(v jsontext.Value) (int64, bool) {
	if len(v) > 0 && v[0] == '"' {
		v = v[1 : len(v)-1]
	}
	var n int64
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func (j *jtDec) str(dst []byte) ([]byte, error) {
	v, err := j.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if v.Kind() == 'n' {
		return nil, nil
	}
	if v.Kind() != '"' {
		return nil, errors.New("want string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1 : len(v)-1], nil
	}
	start := len(j.scratch)
	j.scratch, err = jsontext.AppendUnquote(j.scratch, v)
	return j.scratch[start:], err
}

func (j *jtDec) run(page []byte, fn func(*Asset)) error {
	j.buf = *bytes.NewBuffer(page)
	j.dec.Reset(&j.buf)
	if _, err := j.dec.ReadToken(); err != nil { // {
		return err
	}
	for j.dec.PeekKind() != '}' {
		k, err := j.dec.ReadValue()
		if err != nil {
			return err
		}
		if string(k) != `"result"` {
			if err := j.dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		if _, err := j.dec.ReadToken(); err != nil {
			return err
		}
		for j.dec.PeekKind() != '}' {
			k, err := j.dec.ReadValue()
			if err != nil {
				return err
			}
			if string(k) != `"content"` {
				if err := j.dec.SkipValue(); err != nil {
					return err
				}
				continue
			}
			j.dec.ReadToken() // [
			for j.dec.PeekKind() != ']' {
				j.a = Asset{}
				j.scratch = j.scratch[:0]
				if _, err := j.dec.ReadToken(); err != nil {
					return err
				}
				for j.dec.PeekKind() != '}' {
					k, err := j.dec.ReadValue()
					if err != nil {
						return err
					}
					switch string(k) {
					case `"id"`:
						v, _ := j.dec.ReadValue()
						j.a.ID, j.a.HasID = jtInt(v)
					case `"createdTime"`:
						j.a.CreatedTime, err = j.str(nil)
					case `"updatedTime"`:
						j.a.UpdatedTime, err = j.str(nil)
					case `"metaData"`:
						if _, err := j.dec.ReadToken(); err != nil {
							return err
						}
						j.a.HasMeta = true
						for j.dec.PeekKind() != '}' {
							k, err := j.dec.ReadValue()
							if err != nil {
								return err
							}
							switch string(k) {
							case `"format"`:
								j.a.Format, err = j.str(nil)
							case `"resolution"`:
								j.a.Resolution, err = j.str(nil)
							case `"size"`:
								v, _ := j.dec.ReadValue()
								j.a.Size, j.a.HasSize = jtInt(v)
							case `"durationMs"`:
								v, _ := j.dec.ReadValue()
								j.a.DurationMs, j.a.HasDuration = jtInt(v)
							default:
								err = j.dec.SkipValue()
							}
							if err != nil {
								return err
							}
						}
						j.dec.ReadToken()
					default:
						err = j.dec.SkipValue()
					}
					if err != nil {
						return err
					}
				}
				j.dec.ReadToken()
				fn(&j.a)
			}
			j.dec.ReadToken()
		}
		j.dec.ReadToken()
	}
	_, err := j.dec.ReadToken()
	return err
}

func BenchmarkZZJsontext(b *testing.B) {
	for _, esc := range []bool{false, true} {
		page := benchPage(1000, esc)
		var j jtDec
		var d assetDecoder
		var g0 benchAgg
		if err := j.run(page, g0.addAsset); err != nil {
			b.Fatal(err)
		}
		g1, _ := runFast(&d, page)
		if g0 != g1 {
			b.Fatalf("differ %+v %+v", g0, g1)
		}
		b.Run("esc="+strconv.FormatBool(esc), func(b *testing.B) {
			var fast, jt, std time.Duration
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				var g benchAgg
				j.run(page, g.addAsset)
				t1 := time.Now()
				runFast(&d, page)
				t2 := time.Now()
				runEncodingJSON(page)
				t3 := time.Now()
				_ = t3
				fast += t2.Sub(t1)
				jt += t1.Sub(t0)
				std += t3.Sub(t2)
			}
			mb := float64(len(page)) * float64(b.N) / 1e6
			b.ReportMetric(mb/jt.Seconds(), "jsontext_MB/s")
			b.ReportMetric(mb/fast.Seconds(), "fast_MB/s")
			b.ReportMetric(mb/std.Seconds(), "std_MB/s")
			b.ReportMetric(float64(std)/float64(jt), "jsontext_x_std")
		})
	}
}

func BenchmarkZZJsontextOnly(b *testing.B) {
	page := benchPage(1000, false)
	var j jtDec
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	for i := 0; i < b.N; i++ {
		var g benchAgg
		if err := j.run(page, g.addAsset); err != nil {
			b.Fatal(err)
		}
	}
}
