package mitest

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

const (
	ctypeJSON  = "application/json;charset=UTF-8"
	ctypeHTML  = "text/html"
	ctypePlain = "text/plain; charset=utf-8"
)

// writeJSON writes a complete JSON answer, gzipped when enabled and useful.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, af *activeFault, status int, body []byte) {
	s.write(w, r, af, status, ctypeJSON, body)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, af *activeFault, status int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	if af != nil && af.RetryAfter != "" {
		h.Set("Retry-After", af.RetryAfter)
	}
	if s.cfg.gzip && len(body) > 1024 && ctype == ctypeJSON && acceptsGzip(r) {
		zb := getBuf()
		defer putBuf(zb)
		bw := bytesWriter{b: *zb}
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(&bw)
		_, _ = zw.Write(body)
		_ = zw.Close()
		gzipPool.Put(zw)
		*zb = bw.b
		body = bw.b
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(name, "gzip") {
				return true
			}
		}
	}
	return false
}
