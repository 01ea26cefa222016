// Package client is a Go client for the parts of the NAVER Cloud Platform
// Media Intelligence API that a monitoring exporter reads: workspaces, their
// details, projects and the media asset list. It signs every request
// (signature v2), retries what may succeed on a second try, bounds
// everything it reads, and streams asset pages to its caller.
//
// The package knows nothing of Prometheus: callers observe it through the
// Observer interface.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // so that Asia/Seoul resolves in a distroless image
)

// Defaults and hard limits.
const (
	DefaultBaseURL      = "https://mi.apigw.ntruss.com"
	DefaultPageSize     = 1000
	MaxPageSize         = 1000
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxAttempts  = 4
	DefaultBackoffBase  = 200 * time.Millisecond
	DefaultBackoffMax   = 5 * time.Second
	DefaultMaxConns     = 16
	DefaultTimezone     = "Asia/Seoul"
	// MaxPages bounds how many pages of one list the client will ever ask
	// for, whatever the server claims (10 million items at 1000 a page).
	MaxPages = 10000
)

// Observer is told about every HTTP request the client sends. The exporter
// turns these calls into metrics; implementations must be safe for
// concurrent use and fast.
type Observer interface {
	// ObserveRequest is called once per attempt, with the HTTP status (0 when
	// no response was received) and the time to the full response body.
	ObserveRequest(op Operation, status int, d time.Duration)
	// ObserveRetry is called before each attempt after the first.
	ObserveRetry(op Operation)
}

// Limiter paces requests, e.g. a token bucket shared by all scrapes.
type Limiter interface {
	// Wait blocks until one request may be sent or ctx ends.
	Wait(ctx context.Context) error
	// Throttled is called when the API answered 429.
	Throttled()
}

// Gate bounds the requests in flight among the calls that share it: each
// request holds it from just before it is sent until its body has been
// read. Decoding the body and waiting between attempts do not hold it.
type Gate interface {
	Acquire(ctx context.Context) error
	Release()
}

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	BaseURL     string
	Credentials CredentialsProvider
	// PageSize for paged lists, 1 to 1000.
	PageSize int
	// MaxBodyBytes caps every response body.
	MaxBodyBytes int64
	// MaxAttempts bounds the requests sent for one call (1 = no retry).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter between attempts.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxConns sizes the keep-alive pool: at most this many connections are
	// open to the API at once. Set it to the caller's concurrency.
	MaxConns int
	// Location is the zone of API times that carry no offset.
	Location *time.Location
	// UserAgent names the exporter and its version.
	UserAgent string
	Observer  Observer
	Limiter   Limiter
	// Transport replaces the default HTTP transport (tests).
	Transport http.RoundTripper
	// Now replaces time.Now for request timestamps (tests).
	Now func() time.Time
}

// Client calls the Media Intelligence API. It is safe for concurrent use.
type Client struct {
	*core
	// gate, when set, is held by every request while it is in flight.
	gate Gate
}

// core is what the Clients that Gated makes from one Client share.
type core struct {
	base     *url.URL
	creds    CredentialsProvider
	pageSize int
	maxBody  int64
	attempts int
	boffBase time.Duration
	boffMax  time.Duration
	loc      *time.Location
	ua       string
	obs      Observer
	lim      Limiter
	http     *http.Client
	now      func() time.Time

	bufs     sync.Pool // *[]byte response bodies
	decoders sync.Pool // *assetDecoder
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("client: no credentials provider")
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: API URL %q: %w", raw, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("client: API URL %q: want http(s)://host[:port][/prefix]", raw)
	}
	c := &core{
		base:     base,
		creds:    cfg.Credentials,
		pageSize: cfg.PageSize,
		maxBody:  cfg.MaxBodyBytes,
		attempts: cfg.MaxAttempts,
		boffBase: cfg.BackoffBase,
		boffMax:  cfg.BackoffMax,
		loc:      cfg.Location,
		ua:       cfg.UserAgent,
		obs:      cfg.Observer,
		lim:      cfg.Limiter,
		now:      cfg.Now,
	}
	if c.pageSize == 0 {
		c.pageSize = DefaultPageSize
	}
	if c.pageSize < 1 || c.pageSize > MaxPageSize {
		return nil, fmt.Errorf("client: page size %d out of range 1-%d", c.pageSize, MaxPageSize)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.attempts <= 0 {
		c.attempts = DefaultMaxAttempts
	}
	if c.boffBase <= 0 {
		c.boffBase = DefaultBackoffBase
	}
	if c.boffMax <= 0 {
		c.boffMax = DefaultBackoffMax
	}
	if c.loc == nil {
		c.loc, err = time.LoadLocation(DefaultTimezone)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	if c.ua == "" {
		c.ua = "mediaintel_exporter"
	}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport(maxConns)
	}
	c.http = &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect would carry our signature elsewhere
	}}
	return &Client{core: c}, nil
}

// Gated returns a Client that shares c's connections, configuration and
// buffers, and whose every request holds g from just before it is sent
// until its body has been read: a bound on the requests in flight among
// the calls made through it (one scrape's, say).
func (c *Client) Gated(g Gate) *Client { return &Client{core: c.core, gate: g} }

// NewTransport returns the HTTP transport the client uses by default: a
// keep-alive pool of at most maxConns connections, gzip accepted.
func NewTransport(maxConns int) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// PageSize is the page size the client asks for.
func (c *Client) PageSize() int { return c.pageSize }

// Location is the zone of API times without an offset.
func (c *Client) Location() *time.Location { return c.loc }

// CloseIdleConnections closes idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

type nopObserver struct{}

func (nopObserver) ObserveRequest(Operation, int, time.Duration) {}
func (nopObserver) ObserveRetry(Operation)                       {}

// ValidWorkspaceName reports whether name is a valid workspace name: 3 to
// 63 characters of a-z, 0-9 and '-'. Names are checked before they are put
// into a signed path, so nothing can be injected into it.
func ValidWorkspaceName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

func checkWorkspace(op Operation, ws string) error {
	if !ValidWorkspaceName(ws) {
		return &Error{Op: op, Message: fmt.Sprintf("invalid workspace name %q: want 3-63 characters of a-z, 0-9 and '-'", cleanText(ws))}
	}
	return nil
}

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

// envelope is the Media Intelligence success envelope.
type envelope[T any] struct {
	Code    flexString `json:"code"`
	Message string     `json:"message"`
	Result  *T         `json:"result"`
	// TotalCount at the top level (the project list documents it there).
	TotalCount flexInt `json:"totalCount"`
}

// decodeJSON decodes a small (non-asset) success body, checking the code.
func decodeJSON[T any](body []byte) (*envelope[T], error) {
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(body)) || strings.Contains(err.Error(), "unexpected end of JSON input") {
			return nil, &DecodeError{Offset: int64(len(body)), Msg: "unexpected end of body", Truncated: true}
		}
		return nil, err
	}
	if err := checkCode(string(env.Code), env.Message); err != nil {
		return nil, err
	}
	if env.Result == nil {
		return nil, &Error{Message: "answer has no result"}
	}
	return &env, nil
}

// checkCode turns a non-zero Media Intelligence code on a 200 into an Error.
func checkCode(code, message string) error {
	if code == "" || code == "0" {
		return nil
	}
	return &Error{Code: code, Message: cleanText(message)}
}
