// Package handler serves the exporter over HTTP: /metrics (every account),
// /probe (one workspace or project of one account) and /discovery
// (Prometheus HTTP service discovery). It bounds the requests served at
// once and takes each scrape's deadline from Prometheus. In on-scrape mode
// it shares one API pass among overlapping scrapes of the same account
// and scope; in background mode it answers from the refresher's memory.
// It writes the exposition family by family as it encodes it.
package handler

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/mediaintel/mediaintel_exporter/collector"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Options configures a Handler.
type Options struct {
	// Timeout is the scrape deadline when Prometheus sends no
	// X-Prometheus-Scrape-Timeout-Seconds header (DefaultTimeout when 0).
	Timeout time.Duration
	// TimeoutOffset is taken off the header's value, to leave time to
	// encode and send the answer (0: nothing; the exporter's flag
	// defaults to DefaultTimeoutOffset).
	TimeoutOffset time.Duration
	// MaxInFlight bounds concurrent requests to /metrics, /probe and
	// /discovery together; beyond it the exporter answers 503
	// (DefaultMaxInFlight when 0).
	MaxInFlight int
	// Histograms turns the per-project size and duration histograms on.
	Histograms bool
	// Process is the registry of process-lifetime metrics served with
	// /metrics (API request counters, build info, Go and process metrics).
	Process prometheus.Gatherer
	// Metrics counts coalesced and rejected scrapes; nil counts nothing.
	Metrics *collector.ServingMetrics
	// Logger receives the errors of serving; nil discards them.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultTimeoutOffset = 500 * time.Millisecond
	DefaultMaxInFlight   = 16
)

// KeyInfo says where an account's key comes from, never the key.
type KeyInfo interface {
	// Source names the key's source (key files, environment, configure
	// file, server role).
	Source() string
	// Expiry is when the current key expires; zero for one that does not.
	Expiry() time.Time
}

// Account is one NCP account as the handler serves it; NewAccount makes
// one.
type Account struct {
	Name string
	// Labels are the account's static labels (account_info).
	Labels  map[string]string
	Scraper *scrape.Scraper
	// Refresher answers the account's scrapes in background mode; nil in
	// on-scrape mode.
	Refresher *scrape.Refresher
	// Key says where the account's key comes from; nil says nothing.
	Key KeyInfo

	flights *coalescer
}

// NewAccount returns a for serving, with its coalescer.
func NewAccount(a Account) *Account {
	a.flights = newCoalescer(a.Scraper)
	return &a
}

// Accounts are the accounts a Handler serves; the set may change between
// two requests (a reload).
type Accounts interface {
	// List returns the accounts, sorted by name.
	List() []*Account
}

// Handler serves the scrapes of a set of accounts.
type Handler struct {
	accounts Accounts
	opts     Options
	log      *slog.Logger
	inflight chan struct{}
}

// New returns a Handler for accounts.
func New(accounts Accounts, opts Options) *Handler {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Process == nil {
		opts.Process = prometheus.NewRegistry()
	}
	if opts.Metrics == nil {
		opts.Metrics = collector.NewServingMetrics(prometheus.NewRegistry())
	}
	return &Handler{accounts: accounts, opts: opts, log: opts.Logger, inflight: make(chan struct{}, opts.MaxInFlight)}
}

// ScrapeTimeout returns the deadline for a scrape from the value of the
// X-Prometheus-Scrape-Timeout-Seconds header: the header minus offset, or
// def when the header is absent. A header that is not a positive number of
// seconds is an error. When the offset would leave nothing, half the
// header's value is used. The deadline is at most a day; a negative offset
// counts as zero.
func ScrapeTimeout(header string, def, offset time.Duration) (time.Duration, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return def, nil
	}
	secs, err := strconv.ParseFloat(header, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %s: want a positive number of seconds", quote(header))
	}
	secs = math.Min(secs, 24*3600)
	t := time.Duration(secs * float64(time.Second))
	offset = max(0, offset) // a negative offset would lengthen the deadline
	if t-offset > 0 {
		return t - offset, nil
	}
	if t/2 <= 0 {
		// Below 2 ns: a deadline of zero would fail the scrape at once.
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %s: too small", quote(header))
	}
	return t / 2, nil
}

// bounded runs serve within the bound on requests in flight (503 beyond
// it) and with the deadline the request's scrape-timeout header sets.
func (h *Handler) bounded(w http.ResponseWriter, r *http.Request, serve func(ctx context.Context)) {
	select {
	case h.inflight <- struct{}{}:
		defer func() { <-h.inflight }()
	default:
		h.opts.Metrics.Rejected.Inc()
		http.Error(w, "too many scrapes in flight; try again later", http.StatusServiceUnavailable)
		return
	}
	t, err := ScrapeTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), h.opts.Timeout, h.opts.TimeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), t)
	defer cancel()
	serve(ctx)
}

// read answers a scrape of scope of account a: from the refresher's
// memory in background mode, else by a pass (shared with the scrapes of
// the same scope that overlap it).
func (h *Handler) read(ctx context.Context, a *Account, scope scrape.Scope) *scrape.Result {
	if a.Refresher != nil {
		return a.Refresher.Snapshot(scope)
	}
	res, joined := a.flights.do(ctx, scope)
	if joined {
		h.opts.Metrics.Coalesced.Inc()
	}
	return res
}

// readAll reads scope of every account in accts at once.
func (h *Handler) readAll(ctx context.Context, accts []*Account, scope scrape.Scope) []*scrape.Result {
	results := make([]*scrape.Result, len(accts))
	var wg sync.WaitGroup
	for i, a := range accts {
		wg.Go(func() { results[i] = h.read(ctx, a, scope) })
	}
	wg.Wait()
	return results
}

// accountSeries is what the exposition says of each account in accts.
func accountSeries(accts []*Account) []collector.Account {
	out := make([]collector.Account, len(accts))
	for i, a := range accts {
		out[i] = collector.Account{Name: a.Name, Labels: a.Labels}
		if a.Key != nil {
			out[i].KeyExpiry = a.Key.Expiry()
		}
		if a.Refresher != nil {
			out[i].MaxStaleness = a.Refresher.Config().MaxStaleness
		}
	}
	return out
}

// resultOptions are the exposition's options for accts.
func (h *Handler) resultOptions(accts []*Account, projectOnly bool) collector.ResultOptions {
	cache := false
	for _, a := range accts {
		if _, _, ok := a.Scraper.CacheStats(); ok {
			cache = true
		}
	}
	return collector.ResultOptions{Histograms: h.opts.Histograms, CacheAge: cache, ProjectOnly: projectOnly}
}

// serveResults writes the accounts' results, and the families of more,
// in the format the scraper asked for (OpenMetrics included), gzipped
// when it accepts that, family by family as they are encoded.
func (h *Handler) serveResults(w http.ResponseWriter, r *http.Request, accts []*Account, results []*scrape.Result, projectOnly bool, more prometheus.Gatherer) {
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	w.Header().Set("Content-Type", string(format))
	out, closeOut := compressed(w, r)
	defer closeOut()
	enc := expfmt.NewEncoder(out, format)
	err := collector.WriteResults(enc, accountSeries(accts), results, h.resultOptions(accts, projectOnly))
	if err == nil && more != nil {
		err = encodeGathered(enc, more)
	}
	if c, ok := enc.(expfmt.Closer); ok && err == nil {
		err = c.Close() // OpenMetrics' # EOF
	}
	if err != nil {
		h.log.Error("writing the exposition", "err", err)
	}
}

// encodeGathered encodes what g gathers; a gathering error is logged by
// the caller, and what was gathered is written anyway (promhttp's
// ContinueOnError).
func encodeGathered(enc expfmt.Encoder, g prometheus.Gatherer) error {
	fams, gerr := g.Gather()
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if gerr != nil {
		return fmt.Errorf("gathering the process metrics: %w", gerr)
	}
	return nil
}

// gzipPool holds gzip writers at BestSpeed: an exposition of 10,000
// projects is tens of megabytes of text, and the default level costs
// several times the CPU for a few percent less size.
var gzipPool = sync.Pool{New: func() any {
	z, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return z
}}

// compressed returns where to write the answer: w, or a gzip writer on w
// when the request accepts gzip; closeOut ends it.
func compressed(w http.ResponseWriter, r *http.Request) (out io.Writer, closeOut func()) {
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		return w, func() {}
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Add("Vary", "Accept-Encoding")
	z := gzipPool.Get().(*gzip.Writer)
	z.Reset(w)
	return z, func() { _ = z.Close(); gzipPool.Put(z) }
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed
// without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

// MetricsOpts are the promhttp options of the other metrics endpoint
// (/internal/metrics): OpenMetrics when the scraper asks for it
// (Prometheus 3 asks first), and errors logged and served around.
func MetricsOpts(log *slog.Logger) promhttp.HandlerOpts {
	return promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
	}
}

// Metrics serves every workspace and project of every account, together
// with the process-lifetime metrics.
func (h *Handler) Metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.bounded(w, r, func(ctx context.Context) {
			accts := h.accounts.List()
			h.serveResults(w, r, accts, h.readAll(ctx, accts, scrape.Scope{}), false, h.opts.Process)
		})
	})
}

// quote makes a request parameter safe to put into an answer or a log
// line: quoted, control characters and invalid UTF-8 escaped, at most 64
// bytes of it.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
