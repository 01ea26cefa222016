package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// request is one logical API call.
type request struct {
	op     Operation
	target string
	path   string // below /api/v1, already validated
	query  string
	// handle is given the body of a 200 answer. Its error is not retried.
	handle func(body []byte) error
}

// do sends r, retrying as the rules allow, within ctx.
func (c *Client) do(ctx context.Context, r request) error {
	var last *Error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			wait := c.backoff(attempt, last)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				last.Message = appendMsg(last.Message, "no time left in the deadline for another attempt")
				return last
			}
			c.obs.ObserveRetry(r.op)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				last.Err = errors.Join(last.Err, ctx.Err())
				return last
			case <-t.C:
			}
		}
		err := c.attempt(ctx, r)
		if err == nil {
			return nil
		}
		last = err
		last.Attempts = attempt
		if !err.Retryable || attempt >= c.attempts || ctx.Err() != nil {
			return last
		}
	}
}

func appendMsg(msg, more string) string {
	if msg == "" {
		return more
	}
	return msg + "; " + more
}

// backoff is exponential with full jitter, but never less than what the
// server asked for in Retry-After.
func (c *Client) backoff(attempt int, last *Error) time.Duration {
	ceil := c.boffBase << (attempt - 2)
	if ceil > c.boffMax || ceil <= 0 {
		ceil = c.boffMax
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1)) //nolint:gosec // G404: jitter needs no cryptographic randomness
	if last != nil && last.retryAfter > d {
		d = last.retryAfter
	}
	return d
}

func (c *Client) attempt(ctx context.Context, r request) *Error {
	if c.lim != nil {
		if err := c.lim.Wait(ctx); err != nil {
			return &Error{Op: r.op, Target: r.target, Message: "waiting for the rate limiter", Err: err}
		}
	}
	creds, err := c.creds.Credentials()
	if err != nil {
		return &Error{Op: r.op, Target: r.target, Message: "loading credentials", Err: err}
	}
	path := c.base.EscapedPath() + "/api/v1" + r.path
	uri := path
	if r.query != "" {
		uri += "?" + r.query
	}
	u := *c.base
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+uri, nil)
	if err != nil {
		return &Error{Op: r.op, Target: r.target, Message: "building request", Err: err}
	}
	ts := c.now().UnixMilli()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderAccessKey, creds.AccessKey())
	req.Header.Set(HeaderSignature, creds.sign(http.MethodGet, uri, ts))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)

	release := func() {}
	if g := c.gate; g != nil {
		if err := g.Acquire(ctx); err != nil {
			return &Error{Op: r.op, Target: r.target, Message: "waiting for a request slot", Err: err}
		}
		released := false
		release = func() {
			if !released {
				released = true
				g.Release()
			}
		}
		defer release()
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.obs.ObserveRequest(r.op, 0, time.Since(start))
		return &Error{Op: r.op, Target: r.target, Message: "request failed", Err: err, Retryable: ctx.Err() == nil && !unknownHost(err)}
	}
	bufp := c.getBuf()
	defer c.bufs.Put(bufp)
	body, rerr := readBody(resp, *bufp, c.maxBody)
	if cap(body) <= maxPooledBuf {
		*bufp = body[:0] // keep the grown buffer, unless it is huge
	}
	resp.Body.Close()
	release() // the connection is back in the pool: decoding needs no slot
	observed := resp.StatusCode
	if rerr != nil && !errors.Is(rerr, errBodyTooLarge) {
		observed = 0 // the body did not arrive: a transport failure
	}
	c.obs.ObserveRequest(r.op, observed, time.Since(start))
	e := &Error{Op: r.op, Target: r.target, StatusCode: resp.StatusCode}
	if rerr != nil {
		e.Err = rerr
		if errors.Is(rerr, errBodyTooLarge) {
			e.Message = fmt.Sprintf("response body over the %d byte cap", c.maxBody)
			return e
		}
		e.Message = "reading response body"
		e.Retryable = ctx.Err() == nil
		return e
	}
	if resp.StatusCode != http.StatusOK {
		e.Code, e.Message = parseErrorBody(resp.Header.Get("Content-Type"), body)
		e.Retryable = retryableStatus(resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && c.lim != nil {
			c.lim.Throttled()
		}
		e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	}
	if err := r.handle(body); err != nil {
		if ae, ok := AsError(err); ok {
			ae.Op, ae.Target, ae.StatusCode = r.op, r.target, resp.StatusCode
			return ae
		}
		e.Message = "decoding response"
		e.Err = err
		var de *DecodeError
		if len(body) == 0 { // before Truncated: the decoders call an empty body truncated
			e.Message = "empty response body"
		} else if errors.As(err, &de) && de.Truncated {
			e.Message = "truncated response body"
		} else if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
			e.Code, e.Message = parseErrorBody("text/html", body)
			e.Err = nil
		}
		return e
	}
	return nil
}

func (c *Client) getBuf() *[]byte {
	if p, ok := c.bufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// unknownHost reports a DNS answer that the name does not exist: asking
// again within one scrape will not change it.
func unknownHost(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

var errBodyTooLarge = errors.New("body too large")

// maxPooledBuf is the largest response buffer kept for reuse: one odd,
// huge answer should not pin its memory for the life of the process.
const maxPooledBuf = 4 << 20

// readBody reads resp.Body into buf, up to limit bytes.
func readBody(resp *http.Response, buf []byte, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return buf[:0], fmt.Errorf("%w: Content-Length %d", errBodyTooLarge, resp.ContentLength)
	}
	if resp.ContentLength > 0 && int64(cap(buf)) < resp.ContentLength {
		buf = make([]byte, 0, resp.ContentLength)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		if s > 3600 {
			s = 3600
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}
