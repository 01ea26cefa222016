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

// do sends r, retrying as the rules allow, within ctx, and tells the
// Observer of a call that failed.
func (c *Client) do(ctx context.Context, r request) error {
	e := c.retry(ctx, r)
	if e == nil {
		return nil
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		c.obs.ObserveFailure(r.op, ReasonOf(e))
	}
	return e
}

// retry makes the attempts of r.
func (c *Client) retry(ctx context.Context, r request) *Error {
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
		err := c.tracedAttempt(ctx, r, attempt)
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

// tracedAttempt is attempt, told to the Tracer when there is one.
func (c *Client) tracedAttempt(ctx context.Context, r request, n int) *Error {
	if c.tr == nil {
		e, _ := c.attempt(ctx, r)
		return e
	}
	start := time.Now()
	e, bytes := c.attempt(ctx, r)
	a := Attempt{Op: r.op, URI: "/api/v1" + r.path, N: n, Duration: time.Since(start), Bytes: bytes}
	if r.query != "" {
		a.URI += "?" + r.query
	}
	if e == nil {
		a.Status = 200
	} else {
		a.Status, a.Code, a.Message = e.StatusCode, e.Code, e.Message
		if e.Err != nil {
			a.Err = cleanText(e.Err.Error())
		}
	}
	c.tr.TraceAttempt(a)
	return e
}

// attempt sends r once: it waits for the limiter, builds and signs the
// request, exchanges it, and classifies what came back. bytes is the size
// of the body read.
func (c *Client) attempt(ctx context.Context, r request) (e *Error, bytes int) {
	if c.lim != nil {
		if err := c.lim.Wait(ctx); err != nil {
			return &Error{Op: r.op, Target: r.target, Message: "waiting for the rate limiter", Err: err}, 0
		}
	}
	creds, e := c.credentials(ctx, r)
	if e != nil {
		return e, 0
	}
	req, e := c.newRequest(ctx, r, creds)
	if e != nil {
		return e, 0
	}
	rep, e := c.exchange(ctx, r, req, creds)
	if e != nil {
		return e, 0
	}
	defer c.bufs.Put(rep.buf)
	return c.classify(ctx, r, rep), len(rep.body)
}

// credentials asks the provider for the key to sign r's attempt with. A
// provider error, an incomplete key, or one that has expired or expires
// within the margin ends the call: no request is sent with it.
func (c *Client) credentials(ctx context.Context, r request) (Credentials, *Error) {
	creds, err := c.creds.Credentials(ctx)
	if err != nil {
		return Credentials{}, &Error{Op: r.op, Target: r.target, Message: "no usable credentials", Err: err, noCreds: true}
	}
	if !creds.Valid() {
		return Credentials{}, &Error{Op: r.op, Target: r.target, Message: "no usable credentials: the provider returned a key without its access key or secret key", noCreds: true}
	}
	return creds, c.checkExpiry(r, creds)
}

// checkExpiry fails r's attempt when creds has expired, or expires within
// the margin, by the client's clock.
func (c *Client) checkExpiry(r request, creds Credentials) *Error {
	exp := creds.Expires()
	if exp.IsZero() {
		return nil
	}
	now := c.now()
	if now.Before(exp.Add(-c.margin)) {
		return nil
	}
	msg := fmt.Sprintf("no usable credentials: the temporary key expired at %s", exp.UTC().Format(time.RFC3339))
	if now.Before(exp) {
		msg = fmt.Sprintf("no usable credentials: the temporary key expires at %s, within %v", exp.UTC().Format(time.RFC3339), c.margin)
	}
	return &Error{Op: r.op, Target: r.target, Message: msg, noCreds: true}
}

// newRequest builds the GET request for r, signed with creds and the
// current time.
func (c *Client) newRequest(ctx context.Context, r request, creds Credentials) (*http.Request, *Error) {
	path := c.base.EscapedPath() + "/api/v1" + r.path
	uri := path
	if r.query != "" {
		uri += "?" + r.query
	}
	u := *c.base
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+uri, nil)
	if err != nil {
		return nil, &Error{Op: r.op, Target: r.target, Message: "building request", Err: err}
	}
	ts := c.now().UnixMilli()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderAccessKey, creds.AccessKey())
	req.Header.Set(HeaderSignature, creds.sign(http.MethodGet, uri, ts))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	return req, nil
}

// reply is an answer whose body has been read, into buf from c.bufs, or
// cut short by readErr.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	readErr error
	buf     *[]byte // to be put back into c.bufs once body is done with
}

// exchange sends req and reads the answer's body into a pooled buffer,
// holding the gate (when set) from just before sending until the body has
// been read, and reports the request to the Observer. An *Error means that
// no answer arrived. A key that expired while the request waited for the
// gate ends it unsent.
func (c *Client) exchange(ctx context.Context, r request, req *http.Request, creds Credentials) (reply, *Error) {
	release := func() {}
	if g := c.gate; g != nil {
		if err := g.Acquire(ctx); err != nil {
			return reply{}, &Error{Op: r.op, Target: r.target, Message: "waiting for a request slot", Err: err}
		}
		released := false
		release = func() {
			if !released {
				released = true
				g.Release()
			}
		}
		defer release()
		if e := c.checkExpiry(r, creds); e != nil {
			return reply{}, e
		}
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.obs.ObserveRequest(r.op, 0, time.Since(start))
		return reply{}, &Error{Op: r.op, Target: r.target, Message: "request failed", Err: err, Retryable: ctx.Err() == nil && !unknownHost(err)}
	}
	bufp := c.getBuf()
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
	return reply{status: resp.StatusCode, header: resp.Header, body: body, readErr: rerr, buf: bufp}, nil
}

// classify makes the outcome of an answer: nil for a 200 whose body
// r.handle took, else the *Error that says what failed and whether another
// attempt may help. A 429 tells the limiter.
func (c *Client) classify(ctx context.Context, r request, rep reply) *Error {
	e := &Error{Op: r.op, Target: r.target, StatusCode: rep.status}
	if rep.readErr != nil {
		e.Err = rep.readErr
		if errors.Is(rep.readErr, errBodyTooLarge) {
			e.Message = fmt.Sprintf("response body over the %d byte cap", c.maxBody)
			return e
		}
		e.Message = "reading response body"
		e.Retryable = ctx.Err() == nil
		return e
	}
	if rep.status != http.StatusOK {
		e.Code, e.Message = parseErrorBody(rep.header.Get("Content-Type"), rep.body)
		e.Retryable = retryableStatus(rep.status)
		if rep.status == http.StatusTooManyRequests && c.lim != nil {
			c.lim.Throttled()
		}
		e.retryAfter = parseRetryAfter(rep.header.Get("Retry-After"), time.Now())
		return e
	}
	err := r.handle(rep.body)
	if err == nil {
		return nil
	}
	if ae, ok := AsError(err); ok {
		ae.Op, ae.Target, ae.StatusCode = r.op, r.target, rep.status
		return ae
	}
	describeDecodeFailure(e, rep.body, err)
	return e
}

// describeDecodeFailure fills e for a 200 answer whose body did not decode
// with err: empty, cut off, HTML from a proxy, or otherwise malformed.
func describeDecodeFailure(e *Error, body []byte, err error) {
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
