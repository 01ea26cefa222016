package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

func constGauge(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
}

func constCounter(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
}

// APIMetrics counts and times the API requests of every account for the
// life of the process. ForAccount gives each account's client its
// client.Observer.
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
		}, []string{"account", "operation", "code"}),
		// Classic buckets for every Prometheus, and native ones for those
		// that scrape native histograms: one series instead of fourteen.
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "api_request_duration_seconds",
			Help:                            "Time from sending a request to the Media Intelligence API to the end of its response body.",
			Buckets:                         []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"account", "operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_retries_total",
			Help: "Requests to the Media Intelligence API that were retries of a failed attempt.",
		}, []string{"account", "operation"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_request_failures_total",
			Help: "Calls to the Media Intelligence API that failed after their retries, by operation and reason (docs/runbook.md, Failure reasons).",
		}, []string{"account", "operation", "reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.retries, m.failures)
	return m
}

// ForAccount returns the client.Observer of account's requests, with
// every operation's series present from the start.
func (m *APIMetrics) ForAccount(account string) client.Observer {
	for _, op := range client.Operations {
		m.duration.WithLabelValues(account, string(op))
		m.retries.WithLabelValues(account, string(op))
		m.requests.WithLabelValues(account, string(op), "200")
		for _, r := range client.Reasons {
			m.failures.WithLabelValues(account, string(op), string(r))
		}
	}
	return apiObserver{m, account}
}

// Forget deletes the series of an account that is no longer read.
func (m *APIMetrics) Forget(account string) {
	l := prometheus.Labels{"account": account}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.retries.DeletePartialMatch(l)
	m.failures.DeletePartialMatch(l)
}

type apiObserver struct {
	m       *APIMetrics
	account string
}

// ObserveRequest implements client.Observer.
func (o apiObserver) ObserveRequest(op client.Operation, status int, d time.Duration) {
	o.m.requests.WithLabelValues(o.account, string(op), client.StatusLabel(status)).Inc()
	o.m.duration.WithLabelValues(o.account, string(op)).Observe(d.Seconds())
}

// ObserveRetry implements client.Observer.
func (o apiObserver) ObserveRetry(op client.Operation) {
	o.m.retries.WithLabelValues(o.account, string(op)).Inc()
}

// ObserveFailure implements client.Observer.
func (o apiObserver) ObserveFailure(op client.Operation, reason client.Reason) {
	o.m.failures.WithLabelValues(o.account, string(op), string(reason)).Inc()
}

// AccountParts are the parts of one account whose process-lifetime
// figures are exported; a nil part has none.
type AccountParts struct {
	Name      string
	Limiter   *client.AdaptiveLimiter
	Scraper   *scrape.Scraper
	Tracker   *status.Tracker
	Refresher *scrape.Refresher
}

// NewAccountsCollector returns the collector of the accounts' rate
// limiter, cache, status tracker and refresher figures; list returns the
// accounts read now (a removed account's series go with it).
func NewAccountsCollector(list func() []AccountParts) prometheus.Collector {
	return accountsCollector{list}
}

var (
	limiterRateDesc       = newDesc("rate_limiter_allowed_requests_per_second", "Request rate the limiter allows now: --mi.rate-limit, halved by a 429 and recovering by a tenth of it each second.", "account")
	limiterWaitDesc       = newDesc("rate_limiter_wait_seconds_total", "Time requests spent waiting for the rate limiter.", "account")
	limiterReductionsDesc = newDesc("rate_limiter_reductions_total", "Times a 429 answer lowered the allowed rate (at most once a second; every 429 is in api_requests_total).", "account")
	cacheRequestsDesc     = newDesc("cache_requests_total", "Project look-ups in the asset cache, by result (hit or miss).", "account", "result")

	statusChecksDesc = newDesc("status_checks_total", "Status calls the tracker made, by kind (import, analysis or scene_summary) and result (HTTP status, or error when no answer came).", "account", "kind", "result")
	statusQueueDesc  = newDesc("status_queue_assets", "Status checks due now and not yet made.", "account")
	statusLagDesc    = newDesc("status_check_lag_seconds", "How overdue the most overdue status check is; growing, it says --status.rate is too low for the window.", "account")
	observedDesc     = newDesc("analyses_observed_total", "Analyses the tracker saw end, by how (completed, failed, cancelled): rate() of it is the analysis throughput of recent assets.", "account", "workspace", "project_id", "status")
	summariesDesc    = newDesc("scene_summaries_observed_total", "Scene summaries the tracker saw end after it saw them queued or running, by how (completed, failed, cancelled).", "account", "workspace", "project_id", "status")

	refreshPassesDesc   = newDesc("refresh_passes_total", "Background refresh passes that ended, by result: success (everything read), partial (some workspace or project not), failure (discovery failed).", "account", "result")
	refreshLateDesc     = newDesc("refresh_passes_late_total", "Background refresh passes that started late because the one before took longer than --scrape.refresh-interval.", "account")
	refreshDurationDesc = newDesc("refresh_last_pass_duration_seconds", "How long the latest background refresh pass took.", "account")
	refreshEndDesc      = newDesc("refresh_last_pass_end_timestamp_seconds", "When the latest background refresh pass ended.", "account")
)

type accountsCollector struct{ list func() []AccountParts }

// Describe implements prometheus.Collector.
func (c accountsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{limiterRateDesc, limiterWaitDesc, limiterReductionsDesc, cacheRequestsDesc,
		statusChecksDesc, statusQueueDesc, statusLagDesc, observedDesc, summariesDesc,
		refreshPassesDesc, refreshLateDesc, refreshDurationDesc, refreshEndDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c accountsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, a := range c.list() {
		if l := a.Limiter; l != nil {
			ch <- constGauge(limiterRateDesc, l.Rate(), a.Name)
			ch <- constCounter(limiterWaitDesc, l.WaitSeconds(), a.Name)
			ch <- constCounter(limiterReductionsDesc, float64(l.Reductions()), a.Name)
		}
		if a.Scraper != nil {
			if hits, misses, ok := a.Scraper.CacheStats(); ok {
				ch <- constCounter(cacheRequestsDesc, float64(hits), a.Name, "hit")
				ch <- constCounter(cacheRequestsDesc, float64(misses), a.Name, "miss")
			}
		}
		if a.Tracker != nil {
			collectTracker(ch, a.Name, a.Tracker.Stats())
		}
		if r := a.Refresher; r != nil {
			st := r.Stats()
			for _, res := range scrape.PassResults {
				ch <- constCounter(refreshPassesDesc, float64(st.Passes[res]), a.Name, res)
			}
			ch <- constCounter(refreshLateDesc, float64(st.Late), a.Name)
			if !st.LastEnd.IsZero() {
				ch <- constGauge(refreshDurationDesc, st.LastDuration.Seconds(), a.Name)
				ch <- constGauge(refreshEndDesc, unix(st.LastEnd), a.Name)
			}
		}
	}
}

// collectTracker exports a status tracker's process-lifetime figures.
func collectTracker(ch chan<- prometheus.Metric, account string, st status.Stats) {
	seen := map[[2]string]bool{}
	for _, cc := range st.Checks {
		seen[[2]string{cc.Kind.String(), cc.Result}] = true
		ch <- constCounter(statusChecksDesc, float64(cc.N), account, cc.Kind.String(), cc.Result)
	}
	for k := range status.CheckKind(status.NumCheckKinds) {
		if !seen[[2]string{k.String(), "200"}] {
			ch <- constCounter(statusChecksDesc, 0, account, k.String(), "200")
		}
	}
	ch <- constGauge(statusQueueDesc, float64(st.Queue), account)
	ch <- constGauge(statusLagDesc, st.Lag.Seconds(), account)
	for _, o := range st.Observed {
		id := strconv.FormatInt(o.ProjectID, 10)
		for _, s := range []status.AnalysisState{status.AnalysisCompleted, status.AnalysisFailed, status.AnalysisCancelled} {
			ch <- constCounter(observedDesc, float64(o.N[s]), account, o.Workspace, id, s.String())
		}
		if st.SceneSummaries {
			for _, s := range []status.SummaryState{status.SummaryCompleted, status.SummaryFailed, status.SummaryCancelled} {
				ch <- constCounter(summariesDesc, float64(o.Summaries[s]), account, o.Workspace, id, s.String())
			}
		}
	}
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
			Help: "Scrapes that joined an API pass already running for the same account and scope instead of starting their own."}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "scrapes_rejected_total",
			Help: "Scrapes answered 503 because too many were in flight."}),
	}
	reg.MustRegister(m.Coalesced, m.Rejected)
	return m
}

// ReloadMetrics say how the latest reload of the configuration file went.
type ReloadMetrics struct {
	ok     prometheus.Gauge
	okTime prometheus.Gauge
}

// NewReloadMetrics registers the reload metrics with reg.
func NewReloadMetrics(reg prometheus.Registerer) *ReloadMetrics {
	m := &ReloadMetrics{
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "config_last_reload_successful",
			Help: "1 if the latest load of the configuration file (--config.file) succeeded, 0 if it failed and the running configuration was kept."}),
		okTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "When the running configuration was loaded."}),
	}
	reg.MustRegister(m.ok, m.okTime)
	return m
}

// Loaded records a load of the configuration: ok, at at; or failed.
func (m *ReloadMetrics) Loaded(ok bool, at time.Time) {
	m.ok.Set(b2f(ok))
	if ok {
		m.okTime.Set(unix(at))
	}
}
