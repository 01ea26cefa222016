package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// The metadata service of an NCP VPC server, as NCP's Go SDK finds it.
const (
	DefaultMetadataEndpoint = "http://169.254.169.254"
	// MetadataEndpointVar names the environment variable that replaces
	// DefaultMetadataEndpoint (scheme and host).
	MetadataEndpointVar = "NCLOUD_METADATA_API_ENDPOINT"
	// DefaultMetadataTimeout bounds connecting to the metadata service,
	// and each request to it.
	DefaultMetadataTimeout = 2 * time.Second
)

const (
	rolesPath      = "/latest/meta-data/iam/security-credentials/"
	tokenPath      = "/latest/api/token"                //nolint:gosec // G101: a path or a header name, not a credential
	headerTokenTTL = "X-NCP-METADATA-TOKEN-TTL-SECONDS" //nolint:gosec // G101: a path or a header name, not a credential
	headerToken    = "X-NCP-METADATA-TOKEN"             //nolint:gosec // G101: a path or a header name, not a credential
	tokenTTL       = 21600 * time.Second
	// tokenSlack: a token is asked for again this long before its TTL ends.
	tokenSlack = time.Minute
	// plainFor: after a token request refused with an HTTP error, plain
	// GETs are used this long before a token is asked for again.
	plainFor = 10 * time.Minute
	// maxAnswerBytes bounds every answer of the metadata service.
	maxAnswerBytes = 64 << 10
	// renewBefore: a key is renewed at two thirds of its life, and at
	// the latest this long before it expires, but never before half of
	// its life.
	renewBefore = 5 * time.Minute
)

// RoleOptions configures a Role; zero values take the defaults.
type RoleOptions struct {
	// Endpoint is the metadata service's base URL, scheme and host: ""
	// means DefaultMetadataEndpoint. Chain reads MetadataEndpointVar.
	Endpoint string
	// ConnectTimeout bounds connecting, Timeout each whole request
	// (connecting included): 0 means DefaultMetadataTimeout. A whole
	// fetch (token, role list, key) is bounded by three times Timeout.
	ConnectTimeout time.Duration
	Timeout        time.Duration
	// Margin: a key that expires within it is not handed out; 0 means
	// client.ExpiryMargin. It should be at least the client's
	// Config.ExpiryMargin.
	Margin time.Duration
	// RetryBase and RetryMax shape the backoff after a failed fetch
	// (doubling from RetryBase up to RetryMax): 0 means 1 s and 15 s.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Role is a Provider of the temporary key of the server role attached to
// an NCP VPC server, from the server's metadata service. It asks for a
// session token first (metadata v2) and falls back to plain GETs when the
// token request is refused with an HTTP error.
//
// It renews the key lazily, from Credentials: once two thirds of the
// key's life have passed (at the latest 5 minutes before it expires, but
// not before half its life), a call starts a renewal in the background
// and returns the current key; a call with no usable key waits for a
// fetch, within its context. Concurrent callers share one fetch. A fetch
// runs in a goroutine of its own, bounded by the timeouts and not by a
// caller's context, so that one caller's cancellation does not fail the
// others: no goroutine outlives a fetch, and none runs while the key is
// fresh. After a failed fetch, the next waits for a backoff; the current
// key is used until it expires (less the margin), and then Credentials
// fails until a fetch succeeds.
type Role struct {
	endpoint     string
	http         *http.Client
	fetchTimeout time.Duration
	margin       time.Duration
	retryBase    time.Duration
	retryMax     time.Duration
	now          func() time.Time

	mu         sync.Mutex // guards what follows
	cur        client.Credentials
	due        time.Time // when cur is to be renewed
	roleID     string
	failures   int       // fetches failed in a row
	retryAt    time.Time // no fetch before, after a failure
	lastErr    error
	flight     *flight
	token      *string // a pointer, so that printing a Role shows no token
	tokenUntil time.Time
	plainUntil time.Time
}

// flight is a fetch in progress: done is closed once creds or err is set.
type flight struct {
	done  chan struct{}
	creds client.Credentials
	err   error
}

// NewRole returns the Role provider for o. It fetches nothing yet; the
// error is for an endpoint that is not http(s)://host[:port].
func NewRole(o RoleOptions) (*Role, error) {
	ep, err := parseEndpoint(o.Endpoint)
	if err != nil {
		return nil, err
	}
	def := func(d, v time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	timeout := def(DefaultMetadataTimeout, o.Timeout)
	r := &Role{
		endpoint:     ep,
		fetchTimeout: 3 * timeout,
		margin:       def(client.ExpiryMargin, o.Margin),
		retryBase:    def(time.Second, o.RetryBase),
		retryMax:     def(15*time.Second, o.RetryMax),
		now:          o.Now,
		http: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                  nil, // the metadata service is on the link: never through a proxy
				DialContext:            (&net.Dialer{Timeout: def(DefaultMetadataTimeout, o.ConnectTimeout)}).DialContext,
				DisableKeepAlives:      true, // a few requests an hour: no idle connection to keep
				ResponseHeaderTimeout:  timeout,
				MaxResponseHeaderBytes: maxAnswerBytes,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// parseEndpoint checks a metadata endpoint ("" for the default) and
// returns it without a trailing slash.
func parseEndpoint(raw string) (string, error) {
	if raw == "" {
		return DefaultMetadataEndpoint, nil
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		shown := clean(raw, 100)
		if err == nil && u.User != nil {
			shown = "(with a user and password)"
		}
		return "", fmt.Errorf("metadata endpoint %s: want http(s)://host[:port], nothing more", shown)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Credentials implements client.CredentialsProvider.
func (r *Role) Credentials(ctx context.Context) (client.Credentials, error) {
	r.mu.Lock()
	now := r.now()
	if r.usable(r.cur, now) {
		c := r.cur
		if !now.Before(r.due) && r.flight == nil && !now.Before(r.retryAt) {
			r.start() // renew in the background; c is good for a while yet
		}
		r.mu.Unlock()
		return c, nil
	}
	f := r.flight
	if f == nil {
		if now.Before(r.retryAt) {
			err := r.noKeyError()
			r.mu.Unlock()
			return client.Credentials{}, err
		}
		f = r.start()
	}
	src := r.source()
	r.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return client.Credentials{}, fmt.Errorf("%s: waiting for a key: %w", src, ctx.Err())
	}
	if f.err != nil {
		return client.Credentials{}, f.err
	}
	if !r.usable(f.creds, r.now()) {
		return client.Credentials{}, fmt.Errorf("%s: the key expires at %s, within %v", src, f.creds.Expires().UTC().Format(time.RFC3339), r.margin)
	}
	return f.creds, nil
}

// Source implements Provider: "server role ROLE (metadata ENDPOINT)",
// without the role before the first key.
func (r *Role) Source() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.source()
}

func (r *Role) source() string {
	if r.roleID == "" {
		return "server role (metadata " + r.endpoint + ")"
	}
	return "server role " + r.roleID + " (metadata " + r.endpoint + ")"
}

// Expiry implements Provider: when the current key expires (zero before
// the first).
func (r *Role) Expiry() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.Expires()
}

func (r *Role) usable(c client.Credentials, now time.Time) bool {
	return c.Valid() && now.Before(c.Expires().Add(-r.margin))
}

// noKeyError says why there is no usable key while a fetch waits for its
// backoff. r.mu is held.
func (r *Role) noKeyError() error {
	next := r.retryAt.UTC().Format(time.RFC3339)
	if r.cur.Valid() {
		state := "expired at"
		if r.now().Before(r.cur.Expires()) {
			state = fmt.Sprintf("is within %v of its expiry at", r.margin)
		}
		return fmt.Errorf("%s: the key %s %s and renewing it failed (next attempt at %s): %w",
			r.source(), state, r.cur.Expires().UTC().Format(time.RFC3339), next, r.lastErr)
	}
	return fmt.Errorf("%s: no key (next attempt at %s): %w", r.source(), next, r.lastErr)
}

// start begins a fetch in a goroutine of its own and returns it. r.mu is
// held.
func (r *Role) start() *flight {
	f := &flight{done: make(chan struct{})}
	r.flight = f
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.fetchTimeout)
		defer cancel()
		creds, roleID, err := r.fetch(ctx)
		r.mu.Lock()
		now := r.now()
		if roleID != "" {
			r.roleID = roleID
		}
		if err == nil {
			r.cur, r.due = creds, renewAt(now, creds.Expires())
			r.failures, r.retryAt, r.lastErr = 0, time.Time{}, nil
		} else {
			r.failures++
			r.lastErr = err
			r.retryAt = now.Add(backoff(r.retryBase, r.retryMax, r.failures))
			if r.usable(r.cur, now) {
				// Try again at the latest when the current key stops being usable.
				r.retryAt = minTime(r.retryAt, r.cur.Expires().Add(-r.margin))
			}
			err = fmt.Errorf("%s: %w", r.source(), err)
		}
		f.creds, f.err = creds, err
		r.flight = nil
		r.mu.Unlock()
		close(f.done)
	}()
	return f
}

// renewAt is when a key fetched at fetched and expiring at expires is
// renewed: at two thirds of its life, at the latest renewBefore its
// expiry, but not before half its life.
func renewAt(fetched, expires time.Time) time.Time {
	life := expires.Sub(fetched)
	at := minTime(fetched.Add(life*2/3), expires.Add(-renewBefore))
	if half := fetched.Add(life / 2); at.Before(half) {
		at = half
	}
	return at
}

func backoff(base, ceil time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < ceil; i++ {
		d *= 2
	}
	return min(d, ceil)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// fetch asks the metadata service for the role and its key.
func (r *Role) fetch(ctx context.Context) (client.Credentials, string, error) {
	list, err := r.get(ctx, rolesPath, "the role list")
	if err != nil {
		return client.Credentials{}, "", err
	}
	roleID, err := parseRoleID(list)
	if err != nil {
		return client.Credentials{}, "", err
	}
	a, err := r.get(ctx, rolesPath+url.PathEscape(roleID), "the role's key")
	if err != nil {
		return client.Credentials{}, roleID, err
	}
	creds, err := parseKey(a, r.now(), r.margin)
	return creds, roleID, err
}

// answer is what the metadata service answered.
type answer struct {
	status int
	ctype  string
	body   []byte
}

func (a answer) html() bool {
	mt, _, _ := mime.ParseMediaType(a.ctype)
	return strings.Contains(mt, "html") || bytes.HasPrefix(bytes.TrimSpace(a.body), []byte("<"))
}

// get GETs path, with a session token unless the service refused to give
// one; a 401 for a cached token asks for a new one once. what names the
// answer for errors. An answer other than 200 is an error.
func (r *Role) get(ctx context.Context, path, what string) (answer, error) {
	tok, fresh, err := r.tokenFor(ctx)
	if err != nil {
		return answer{}, err
	}
	a, err := r.send(ctx, http.MethodGet, path, tok)
	if err != nil {
		return answer{}, err
	}
	if a.status == http.StatusUnauthorized {
		switch {
		case tok != "" && !fresh: // the cached token may have been revoked
			r.mu.Lock()
			r.token = nil
			r.mu.Unlock()
			if tok, _, err = r.tokenFor(ctx); err != nil {
				return answer{}, err
			}
			if a, err = r.send(ctx, http.MethodGet, path, tok); err != nil {
				return answer{}, err
			}
		case tok == "": // the service wants a token after all: ask for one next time
			r.mu.Lock()
			r.plainUntil = time.Time{}
			r.mu.Unlock()
		}
	}
	if a.status != http.StatusOK {
		return answer{}, statusError(r.endpoint+path, what, tok != "", a)
	}
	return a, nil
}

// statusError describes an answer other than 200 to a GET of what.
func statusError(u, what string, withToken bool, a answer) error {
	var hint string
	switch {
	case a.status == http.StatusNotFound && strings.HasSuffix(u, "/"):
		hint = " (no server role is attached to this server, or it is not an NCP VPC server)"
	case a.status == http.StatusNotFound:
		hint = " (the role is gone: was it detached?)"
	case a.status == http.StatusUnauthorized && !withToken:
		hint = " (the metadata service requires a session token, and refused to give one)"
	case a.status == http.StatusUnauthorized:
		hint = " (the session token was refused)"
	}
	body := ""
	if a.html() {
		body = ": an HTML page"
	} else if t := clean(string(a.body), 80); t != "" {
		body = ": " + strconv.Quote(t)
	}
	return fmt.Errorf("GET %s (%s): HTTP %d%s%s", u, what, a.status, body, hint)
}

// tokenFor returns the session token to send, "" to send none, and
// whether it was asked for just now. A token request refused with an HTTP
// error means plain GETs for plainFor; one that got no answer (a timeout,
// a refused connection) is an error, not a reason to try without.
func (r *Role) tokenFor(ctx context.Context) (tok string, fresh bool, err error) {
	now := r.now()
	r.mu.Lock()
	switch {
	case now.Before(r.plainUntil):
		r.mu.Unlock()
		return "", false, nil
	case r.token != nil && now.Before(r.tokenUntil):
		tok = *r.token
		r.mu.Unlock()
		return tok, false, nil
	}
	r.mu.Unlock()
	a, err := r.send(ctx, http.MethodPut, tokenPath, "")
	if err != nil {
		return "", false, fmt.Errorf("asking for a session token: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.status != http.StatusOK {
		r.plainUntil = now.Add(plainFor)
		return "", true, nil
	}
	tok = strings.TrimSpace(string(a.body))
	if tok == "" || len(tok) > 1024 || a.html() || strings.IndexFunc(tok, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
		return "", false, fmt.Errorf("PUT %s%s answered %d bytes that are not a session token", r.endpoint, tokenPath, len(a.body))
	}
	r.token, r.tokenUntil = &tok, now.Add(tokenTTL-tokenSlack)
	return tok, true, nil
}

// send makes one request to the metadata service and reads its answer,
// at most maxAnswerBytes of it.
func (r *Role) send(ctx context.Context, method, path, tok string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.endpoint+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("User-Agent", "mediaintel_exporter")
	if method == http.MethodPut {
		req.Header.Set(headerTokenTTL, strconv.Itoa(int(tokenTTL/time.Second)))
	}
	if tok != "" {
		req.Header.Set(headerToken, tok)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return answer{}, err // a *url.Error: method, URL and cause
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", method, r.endpoint+path, err)
	}
	if len(body) > maxAnswerBytes {
		return answer{}, fmt.Errorf("%s %s: an answer over %d KiB", method, r.endpoint+path, maxAnswerBytes>>10)
	}
	return answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: body}, nil
}

// parseRoleID takes the role ID from the role list: its first line.
func parseRoleID(a answer) (string, error) {
	if a.html() {
		return "", errors.New("the role list is an HTML page, not a role ID (a proxy or captive portal answered?)")
	}
	line, _, _ := strings.Cut(string(a.body), "\n")
	id := strings.TrimSpace(line)
	switch {
	case id == "":
		return "", errors.New("the role list is empty: no server role is attached to this server")
	case len(id) > 256 || id == "." || id == ".." || strings.ContainsRune(id, '/') ||
		strings.IndexFunc(id, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0:
		return "", fmt.Errorf("the role list's first line is not a role ID: %q", clean(id, 64))
	}
	return id, nil
}

// roleKey is the JSON of a role's key.
type roleKey struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Expiration      string `json:"Expiration"`
	Code            string `json:"Code"`
	Message         string `json:"Message"`
}

// parseKey reads a role's key from a, and checks that it is good for
// longer than margin from now. Its errors never quote the answer's
// secret.
func parseKey(a answer, now time.Time, margin time.Duration) (client.Credentials, error) {
	if a.html() {
		return client.Credentials{}, errors.New("the role's key is an HTML page, not JSON (a proxy or captive portal answered?)")
	}
	var k roleKey
	if err := json.Unmarshal(a.body, &k); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return client.Credentials{}, fmt.Errorf("the role's key: %s is not a string", te.Field)
		case errors.As(err, &te):
			return client.Credentials{}, fmt.Errorf("the role's key is a JSON %s, not an object", te.Value)
		}
		return client.Credentials{}, fmt.Errorf("the role's key is not a JSON object (%d bytes)", len(a.body))
	}
	secret := k.SecretAccessKey
	if k.Code != "" && !strings.EqualFold(k.Code, "Success") {
		return client.Credentials{}, fmt.Errorf("the metadata service answered code %q: %q", clean(k.Code, 32, secret), clean(k.Message, 200, secret))
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"AccessKeyId", k.AccessKeyID}, {"SecretAccessKey", k.SecretAccessKey}, {"Expiration", k.Expiration}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return client.Credentials{}, fmt.Errorf("the role's key lacks %s", strings.Join(missing, ", "))
	}
	for _, f := range []struct{ name, value string }{{"AccessKeyId", k.AccessKeyID}, {"SecretAccessKey", k.SecretAccessKey}} {
		if strings.IndexFunc(strings.TrimSpace(f.value), func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
			return client.Credentials{}, fmt.Errorf("the role's key: %s holds a space or a character that is not printable ASCII", f.name)
		}
	}
	exp, err := parseExpiration(k.Expiration)
	if err != nil {
		return client.Credentials{}, fmt.Errorf("the role's key: Expiration %q is not an RFC 3339 time", clean(k.Expiration, 40, secret))
	}
	ts := exp.UTC().Format(time.RFC3339)
	switch {
	case !now.Before(exp):
		return client.Credentials{}, fmt.Errorf("the role's key expired at %s (the clock here says %s)", ts, now.UTC().Format(time.RFC3339))
	case !now.Before(exp.Add(-margin)):
		return client.Credentials{}, fmt.Errorf("the role's key expires at %s, within %v", ts, margin)
	}
	return client.NewTemporaryCredentials(k.AccessKeyID, k.SecretAccessKey, exp), nil
}

// parseExpiration reads an RFC 3339 time whose zone is Z, +hh:mm or +hhmm.
func parseExpiration(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999Z0700", s)
	}
	return t, err
}
