package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// APIMetrics counts and times the client's requests for the life of the
// process. It implements client.Observer.
type APIMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	failures *prometheus.CounterVec
}

// NewAPIMetrics registers the API request metrics with reg.
func NewAPIMetrics(reg prometheus.Registerer) *APIMetrics {
	m := &APIMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_requests_total",
			Help: "Requests sent to the Media Intelligence API, by operation and HTTP status (\"error\" when no response was received).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "api_request_duration_seconds",
			Help:    "Time from sending a request to the Media Intelligence API to the end of its response body.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_retries_total",
			Help: "Requests to the Media Intelligence API that were retries of a failed attempt.",
		}, []string{"operation"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_request_failures_total",
			Help: "Calls to the Media Intelligence API that failed after their retries, by operation and reason (unauthenticated, forbidden, not_found, throttled, server_error, timeout, network, bad_response, credentials, other).",
		}, []string{"operation", "reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.retries, m.failures)
	for _, op := range client.Operations {
		m.duration.WithLabelValues(string(op))
		m.retries.WithLabelValues(string(op))
		m.requests.WithLabelValues(string(op), "200")
		for _, r := range client.Reasons {
			m.failures.WithLabelValues(string(op), string(r))
		}
	}
	return m
}

// ObserveRequest implements client.Observer.
func (m *APIMetrics) ObserveRequest(op client.Operation, status int, d time.Duration) {
	m.requests.WithLabelValues(string(op), client.StatusLabel(status)).Inc()
	m.duration.WithLabelValues(string(op)).Observe(d.Seconds())
}

// ObserveRetry implements client.Observer.
func (m *APIMetrics) ObserveRetry(op client.Operation) {
	m.retries.WithLabelValues(string(op)).Inc()
}

// ObserveFailure implements client.Observer.
func (m *APIMetrics) ObserveFailure(op client.Operation, reason client.Reason) {
	m.failures.WithLabelValues(string(op), string(reason)).Inc()
}

// RegisterLimiterMetrics exports the rate limiter's state.
func RegisterLimiterMetrics(reg prometheus.Registerer, l *client.AdaptiveLimiter) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "rate_limiter_allowed_requests_per_second",
			Help: "Request rate the limiter allows now: --mi.rate-limit, halved by a 429 and recovering by a tenth of it each second."}, l.Rate),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limiter_wait_seconds_total",
			Help: "Time requests spent waiting for the rate limiter."}, l.WaitSeconds),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limiter_reductions_total",
			Help: "Times a 429 answer lowered the allowed rate (at most once a second; every 429 is in api_requests_total)."},
			func() float64 { return float64(l.Reductions()) }),
	)
}

// RegisterCacheMetrics exports the asset cache's hits and misses, when the
// scraper has a cache.
func RegisterCacheMetrics(reg prometheus.Registerer, s *scrape.Scraper) {
	if _, _, ok := s.CacheStats(); !ok {
		return
	}
	reg.MustRegister(cacheCollector{s})
}

var cacheRequestsDesc = newDesc("cache_requests_total", "Project look-ups in the asset cache, by result (hit or miss).", "result")

type cacheCollector struct{ s *scrape.Scraper }

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- cacheRequestsDesc }

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	hits, misses, _ := c.s.CacheStats()
	ch <- prometheus.MustNewConstMetric(cacheRequestsDesc, prometheus.CounterValue, float64(hits), "hit")
	ch <- prometheus.MustNewConstMetric(cacheRequestsDesc, prometheus.CounterValue, float64(misses), "miss")
}

// ServingMetrics count what the HTTP side did with scrapes.
type ServingMetrics struct {
	// Coalesced counts scrapes that joined a pass already running.
	Coalesced prometheus.Counter
	// Rejected counts scrapes answered 503.
	Rejected prometheus.Counter
}

// NewServingMetrics registers the serving metrics with reg.
func NewServingMetrics(reg prometheus.Registerer) *ServingMetrics {
	m := &ServingMetrics{
		Coalesced: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "scrapes_coalesced_total",
			Help: "Scrapes that joined an API pass already running for the same scope instead of starting their own."}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "scrapes_rejected_total",
			Help: "Scrapes answered 503 because too many were in flight."}),
	}
	reg.MustRegister(m.Coalesced, m.Rejected)
	return m
}

var (
	statusChecksDesc = newDesc("status_checks_total", "Status calls the tracker made, by kind (import, analysis or scene_summary) and result (HTTP status, or error when no answer came).", "kind", "result")
	statusQueueDesc  = newDesc("status_queue_assets", "Status checks due now and not yet made.")
	statusLagDesc    = newDesc("status_check_lag_seconds", "How overdue the most overdue status check is; growing, it says --status.rate is too low for the window.")
	observedDesc     = newDesc("analyses_observed_total", "Analyses the tracker saw end, by how (completed, failed, cancelled): rate() of it is the analysis throughput of recent assets.", "workspace", "project_id", "status")
	summariesDesc    = newDesc("scene_summaries_observed_total", "Scene summaries the tracker saw end after it saw them queued or running, by how (completed, failed, cancelled).", "workspace", "project_id", "status")
)

// RegisterStatusMetrics exports the status tracker's process-lifetime
// figures.
func RegisterStatusMetrics(reg prometheus.Registerer, t *status.Tracker) {
	reg.MustRegister(statusCollector{t})
}

type statusCollector struct{ t *status.Tracker }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- statusChecksDesc
	ch <- statusQueueDesc
	ch <- statusLagDesc
	ch <- observedDesc
	ch <- summariesDesc
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.t.Stats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
		return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	seen := map[[2]string]bool{}
	for _, cc := range st.Checks {
		seen[[2]string{cc.Kind.String(), cc.Result}] = true
		ch <- counter(statusChecksDesc, float64(cc.N), cc.Kind.String(), cc.Result)
	}
	for k := range status.CheckKind(status.NumCheckKinds) {
		if !seen[[2]string{k.String(), "200"}] {
			ch <- counter(statusChecksDesc, 0, k.String(), "200")
		}
	}
	ch <- gauge(statusQueueDesc, float64(st.Queue))
	ch <- gauge(statusLagDesc, st.Lag.Seconds())
	for _, o := range st.Observed {
		id := strconv.FormatInt(o.ProjectID, 10)
		for _, s := range []status.AnalysisState{status.AnalysisCompleted, status.AnalysisFailed, status.AnalysisCancelled} {
			ch <- counter(observedDesc, float64(o.N[s]), o.Workspace, id, s.String())
		}
		if st.SceneSummaries {
			for _, s := range []status.SummaryState{status.SummaryCompleted, status.SummaryFailed, status.SummaryCancelled} {
				ch <- counter(summariesDesc, float64(o.Summaries[s]), o.Workspace, id, s.String())
			}
		}
	}
}
