// Package client is a Go client for the parts of the NAVER Cloud Platform
// Media Intelligence API that a monitoring exporter reads: the calls named
// by Operations (docs/api.md describes each). It signs every request
// (signature v2), retries what may succeed on a second try, bounds
// everything it reads, and streams asset pages to its caller.
//
// The package knows nothing of Prometheus: callers observe it through the
// Observer interface.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // so that Asia/Seoul resolves in a distroless image
)

// Defaults (of the Config fields named after them) and hard limits.
const (
	DefaultBaseURL      = "https://mi.apigw.ntruss.com" // the API gateway
	DefaultPageSize     = 1000
	MaxPageSize         = 1000 // the largest pageSize the API accepts
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxAttempts  = 4
	DefaultBackoffBase  = 200 * time.Millisecond
	DefaultBackoffMax   = 5 * time.Second
	DefaultTimezone     = "Asia/Seoul" // of Config.Location: the API's zone
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
	// ObserveFailure is called once for each call that failed after its
	// retries, with the reason (ReasonOf); not for a call its caller
	// cancelled.
	ObserveFailure(op Operation, reason Reason)
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
	// Acquire blocks until a request may be sent or ctx ends.
	Acquire(ctx context.Context) error
	// Release gives back what Acquire took.
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
	// Location is the zone of API times that carry no offset.
	Location *time.Location
	// UserAgent names the exporter and its version.
	UserAgent string
	Observer  Observer
	Limiter   Limiter
	// Transport is the HTTP transport; nil means NewTransport(0), which
	// does not bound the connections: a caller that bounds its requests
	// gives one sized to its bound (the exporter does). Clients that are
	// to share connections need not share a Transport: make them from one
	// Client with Gated or WithLimiter.
	Transport http.RoundTripper
	// Now replaces time.Now for request timestamps and for the expiry of
	// temporary keys (tests).
	Now func() time.Time
	// ExpiryMargin: a temporary key that expires within it is not used;
	// 0 means ExpiryMargin.
	ExpiryMargin time.Duration
}

// Client calls the Media Intelligence API. It is safe for concurrent use.
type Client struct {
	*core
	// gate, when set, is held by every request while it is in flight.
	gate Gate
	// lim, when set, paces every request.
	lim Limiter
	// tr, when set, is told of every attempt.
	tr Tracer
}

// core is what the Clients that Gated and WithLimiter make from one
// Client share.
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
	http     *http.Client
	now      func() time.Time
	margin   time.Duration

	bufs     sync.Pool // *[]byte response bodies
	decoders sync.Pool // *assetjson.Decoder
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("client: no credentials provider")
	}
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	return &Client{core: newCore(cfg, base), lim: cfg.Limiter}, nil
}

// parseBaseURL checks the API URL ("" for DefaultBaseURL): http or https,
// a host, an optional path prefix, and nothing else.
func parseBaseURL(raw string) (*url.URL, error) {
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
	return base, nil
}

// withDefaults returns cfg with the defaults in place of zero values, or
// an error for a page size out of range.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize < 1 || cfg.PageSize > MaxPageSize {
		return cfg, fmt.Errorf("client: page size %d out of range 1-%d", cfg.PageSize, MaxPageSize)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation(DefaultTimezone)
		if err != nil {
			return cfg, fmt.Errorf("client: %w", err)
		}
		cfg.Location = loc
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "mediaintel_exporter"
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiryMargin < 0 {
		return cfg, fmt.Errorf("client: negative expiry margin %v", cfg.ExpiryMargin)
	}
	if cfg.ExpiryMargin == 0 {
		cfg.ExpiryMargin = ExpiryMargin
	}
	if cfg.Transport == nil {
		cfg.Transport = NewTransport(0)
	}
	return cfg, nil
}

// newCore builds what the Clients made from one New share, from a cfg
// with its defaults in place.
func newCore(cfg Config, base *url.URL) *core {
	return &core{
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
		now:      cfg.Now,
		margin:   cfg.ExpiryMargin,
		http: &http.Client{Transport: cfg.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect would carry our signature elsewhere
		}},
	}
}

// Gated returns a Client that shares c's connections, configuration and
// buffers, and whose every request holds g from just before it is sent
// until its body has been read: a bound on the requests in flight among
// the calls made through it (one scrape's, say).
func (c *Client) Gated(g Gate) *Client { return &Client{core: c.core, gate: g, lim: c.lim, tr: c.tr} }

// WithLimiter returns a Client that shares c's connections, configuration,
// buffers and gate, and whose requests are paced by l instead of c's
// limiter (nil: not paced): for calls with a budget of their own, such as
// Limiters{shared, budget}. c is unchanged.
func (c *Client) WithLimiter(l Limiter) *Client {
	return &Client{core: c.core, gate: c.gate, lim: l, tr: c.tr}
}

// Traced returns a Client that shares c's connections, configuration,
// buffers, gate and limiter, and tells t of every attempt it makes (the
// debug probe). c is unchanged.
func (c *Client) Traced(t Tracer) *Client {
	return &Client{core: c.core, gate: c.gate, lim: c.lim, tr: t}
}

// NewTransport returns the HTTP transport the client uses: a keep-alive
// pool of at most maxConns connections (0: no bound), gzip accepted.
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
func (nopObserver) ObserveFailure(Operation, Reason)             {}

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
