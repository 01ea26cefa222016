// Package handler serves the exporter over HTTP: /metrics (every
// workspace), /probe (one workspace or project) and /discovery (Prometheus
// HTTP service discovery). It bounds the requests served at once, takes
// each scrape's deadline from Prometheus, and shares one API pass among
// overlapping scrapes of the same scope.
package handler

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

// Handler serves the scrapes of one Scraper.
type Handler struct {
	s        *scrape.Scraper
	opts     Options
	log      *slog.Logger
	inflight chan struct{}
	flights  *coalescer
}

// New returns a Handler for s.
func New(s *scrape.Scraper, opts Options) *Handler {
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
	h := &Handler{s: s, opts: opts, log: opts.Logger, inflight: make(chan struct{}, opts.MaxInFlight)}
	h.flights = newCoalescer(s, opts.Metrics.Coalesced)
	return h
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

// serveResult writes res (and the gatherers in more) in the format the
// scraper asked for, OpenMetrics included.
func (h *Handler) serveResult(w http.ResponseWriter, r *http.Request, res *scrape.Result, projectOnly bool, more ...prometheus.Gatherer) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewResultCollector(res, collector.ResultOptions{
		Histograms:  h.opts.Histograms,
		CacheAge:    h.cacheOn(),
		ProjectOnly: projectOnly,
	}))
	promhttp.HandlerFor(append(prometheus.Gatherers{reg}, more...), MetricsOpts(h.log)).ServeHTTP(w, r)
}

func (h *Handler) cacheOn() bool {
	_, _, ok := h.s.CacheStats()
	return ok
}

// MetricsOpts are the promhttp options of every metrics endpoint:
// OpenMetrics when the scraper asks for it (Prometheus 3 asks first), and
// errors logged and served around.
func MetricsOpts(log *slog.Logger) promhttp.HandlerOpts {
	return promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
	}
}

// Metrics serves every workspace and project the key can see, together
// with the process-lifetime metrics.
func (h *Handler) Metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.bounded(w, r, func(ctx context.Context) {
			h.serveResult(w, r, h.flights.do(ctx, scrape.Scope{}), false, h.opts.Process)
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
