package mitest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// wait blocks for d, or until the client goes away or the server closes;
// it reports whether the full time passed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-tc:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, a *Account, ri *reqInfo, pg paging, af *activeFault) {
	s.cfg.logger.Debug("mitest: fault", "op", ri.op, "uri", r.RequestURI, "status", af.Status, "body", af.Body,
		"hang", af.Hang, "latency", af.Latency, "reset", af.ResetMidBody, "reset_before_headers", af.ResetBeforeHeaders, "shift", af.shiftBy)
	if af.Latency > 0 && !s.wait(r, af.Latency) {
		return
	}
	if af.Hang {
		s.wait(r, -1)
		return
	}
	if af.ResetBeforeHeaders {
		resetNow(w)
		return
	}
	status := af.status()
	ctype := ctypeJSON
	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]

	switch {
	case af.Body == BodyHuge:
		s.writeHuge(w, r, af, status)
		return
	case af.Body == BodyDefault && af.Status >= 400:
		if g, ok := gatewayByStatus(af.Status); ok {
			b = appendGatewayBody(b, g.Code, af.ErrorCodeNumeric, orDefault(af.Message, g.Message), "")
		} else {
			b = appendMIBody(b, strconv.Itoa(af.Status), orDefault(af.Message, http.StatusText(af.Status)))
		}
	case af.replacesBody():
		b, ctype = appendFaultBody(b, af, status)
	default:
		var st int
		st, b = a.answer(b, ri, pg, af)
		if st != 200 {
			status = st
		}
		if af.Body == BodyTruncated {
			b = b[:len(b)/2]
		}
	}
	*bp = b
	if af.ResetMidBody {
		s.resetMidBody(w, af, status, ctype, int64(len(b)), func(wr io.Writer) { _, _ = wr.Write(b[:len(b)/2]) })
		return
	}
	s.write(w, r, af, status, ctype, b)
}

const (
	hugePrefix = `{"code":"0","message":"`
	hugeSuffix = `"}`
)

var hugeFill = []byte(strings.Repeat("x", 32<<10))

// writeHugeBody writes a JSON object of exactly n bytes (at least the
// prefix and suffix), stopping after limit bytes.
func writeHugeBody(w io.Writer, n, limit int64) error {
	n = max(n, int64(len(hugePrefix)+len(hugeSuffix)))
	written := int64(0)
	put := func(p []byte) error {
		if written+int64(len(p)) > limit {
			p = p[:limit-written]
		}
		m, err := w.Write(p)
		written += int64(m)
		return err
	}
	if err := put([]byte(hugePrefix)); err != nil || written >= limit {
		return err
	}
	fill := n - int64(len(hugePrefix)+len(hugeSuffix))
	for fill > 0 && written < limit {
		chunk := hugeFill
		if fill < int64(len(chunk)) {
			chunk = chunk[:fill]
		}
		if err := put(chunk); err != nil {
			return err
		}
		fill -= int64(len(chunk))
	}
	if written >= limit {
		return nil
	}
	return put([]byte(hugeSuffix))
}

func (s *Server) writeHuge(w http.ResponseWriter, r *http.Request, af *activeFault, status int) {
	n := af.HugeBytes
	if n <= 0 {
		n = DefaultHugeBytes
	}
	n = max(n, int64(len(hugePrefix)+len(hugeSuffix)))
	if af.ResetMidBody {
		s.resetMidBody(w, af, status, ctypeJSON, n, func(wr io.Writer) { _ = writeHugeBody(wr, n, n/2) })
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctypeJSON)
	if af.RetryAfter != "" {
		h.Set("Retry-After", af.RetryAfter)
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	_ = writeHugeBody(ctxWriter{w: w, r: r, done: s.done}, n, n)
}

// ctxWriter fails once the client is gone or the server closes.
type ctxWriter struct {
	w    io.Writer
	r    *http.Request
	done chan struct{}
}

func (c ctxWriter) Write(p []byte) (int, error) {
	select {
	case <-c.r.Context().Done():
		return 0, c.r.Context().Err()
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	return c.w.Write(p)
}

// resetDelay lets the client read what was sent before the reset, which
// would otherwise discard it.
const resetDelay = 20 * time.Millisecond

// resetMidBody announces a body of length n, writes part of it with
// writeBody, then resets the connection.
// resetNow resets the connection of w at once, before anything is written.
func resetNow(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) resetMidBody(w http.ResponseWriter, af *activeFault, status int, ctype string, n int64, writeBody func(io.Writer)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	bw := rw.Writer
	if bw == nil {
		bw = bufio.NewWriter(conn)
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", status, http.StatusText(status), ctype, n)
	if af.RetryAfter != "" {
		fmt.Fprintf(bw, "Retry-After: %s\r\n", af.RetryAfter)
	}
	_, _ = bw.WriteString("\r\n") // a write error shows at Flush below
	writeBody(bw)
	if bw.Flush() != nil {
		return
	}
	t := time.NewTimer(resetDelay)
	select {
	case <-t.C:
	case <-s.done:
		t.Stop()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}
