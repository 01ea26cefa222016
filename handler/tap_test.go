package handler_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

// The tap: a proxy in front of the simulator that sees every request
// the exporter sends, for the tests of how the exporter spares the API.

type tap struct {
	srv      *httptest.Server
	inflight atomic.Int64
	mu       sync.Mutex
	reqs     []tapReq
}

type tapReq struct {
	at    time.Time
	path  string
	query url.Values
}

func (tp *tap) requests() []tapReq {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]tapReq(nil), tp.reqs...)
}

// newTapEnv is newEnv with the client talking to the simulator through a tap.
func newTapEnv(t testing.TB, inv *mitest.Inventory, o envOpts) (*env, *tap) {
	t.Helper()
	tp := &tap{}
	var sim atomic.Pointer[mitest.Server]
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.inflight.Add(1)
		defer tp.inflight.Add(-1)
		tp.mu.Lock()
		tp.reqs = append(tp.reqs, tapReq{time.Now(), r.URL.Path, r.URL.Query()})
		tp.mu.Unlock()
		sim.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(tp.srv.Close) // runs after the simulator closed, which ends hanging requests
	prev := o.clientFn
	o.clientFn = func(c *client.Config) {
		c.BaseURL = tp.srv.URL
		if prev != nil {
			prev(c)
		}
	}
	e := newEnv(t, inv, o)
	sim.Store(e.sim)
	return e, tp
}

// scrapeResult is one HTTP answer of the exporter, fetched off the test goroutine.
type scrapeResult struct {
	status int
	body   string
	took   time.Duration
	err    error
}

func (e *env) fetch(ctx context.Context, path, timeout string) scrapeResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		return scrapeResult{err: err}
	}
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scrapeResult{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return scrapeResult{status: resp.StatusCode, body: string(b), took: time.Since(start), err: err}
}
