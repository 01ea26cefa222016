package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Namespace prefixes every metric of the exporter.
const Namespace = "ncp_mediaintel"

var (
	labelsWS      = []string{"workspace"}
	labelsProject = []string{"workspace", "project_id"}
	labelsFormat  = []string{"workspace", "project_id", "format"}
)

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// cachedNote is appended to the HELP of metrics that a cache may serve.
const cachedNote = " May be served from the cache (see ncp_mediaintel_cache_age_seconds)."

// descs are the descriptors of the per-scrape metrics. They are built once
// per process; the HELP of asset metrics mentions the cache when it is on.
type descs struct {
	up, duration, timeout                           *prometheus.Desc
	wsSuccess, wsProjects, wsMonthly                *prometheus.Desc
	projInfo, projSuccess, projDuration, projReport *prometheus.Desc
	assets, bytes, seconds                          *prometheus.Desc
	lastCreated, lastUpdated                        *prometheus.Desc
	invalid, outOfSpec, byRes                       *prometheus.Desc
	sizeHist, durHist                               *prometheus.Desc
	cacheAge                                        *prometheus.Desc
}

func newDescs(cached bool) *descs {
	note := ""
	if cached {
		note = cachedNote
	}
	return &descs{
		up:           desc("up", "1 if workspace discovery succeeded in this scrape, 0 if it failed (key, permission, clock or API problem).", nil),
		duration:     desc("scrape_duration_seconds", "Time this scrape of the Media Intelligence API took.", nil),
		timeout:      desc("scrape_timeout_seconds", "Deadline this scrape had: the Prometheus scrape timeout minus the offset, or --scrape.timeout.", nil),
		wsSuccess:    desc("workspace_scrape_success", "1 if the workspace's project list was read in this scrape.", labelsWS),
		wsProjects:   desc("workspace_projects", "Number of projects in the workspace (before project filters).", labelsWS),
		wsMonthly:    desc("workspace_monthly_analyses", "Analyses run in the workspace this month (monthlyAnalysisCount).", labelsWS),
		projInfo:     desc("project_info", "Project metadata; always 1.", []string{"workspace", "project_id", "project_name", "base_project"}),
		projSuccess:  desc("project_scrape_success", "1 if every page of the project's asset list was read in time; when 0 no asset series are exported for the project."+note, labelsProject),
		projDuration: desc("project_scrape_duration_seconds", "Time spent listing the project's assets."+note, labelsProject),
		projReport:   desc("project_assets_reported", "Number of assets in the project as the API reported it (totalCount)."+note, labelsProject),
		assets:       desc("assets", "Assets in the project by format, de-duplicated by asset ID."+note, labelsFormat),
		bytes:        desc("assets_size_bytes", "Sum of the assets' sizes by format."+note, labelsFormat),
		seconds:      desc("assets_duration_seconds", "Sum of the assets' durations by format."+note, labelsFormat),
		lastCreated:  desc("project_last_asset_created_timestamp_seconds", "Creation time of the project's newest asset."+note, labelsProject),
		lastUpdated:  desc("project_last_asset_updated_timestamp_seconds", "Most recent modification time of the project's assets."+note, labelsProject),
		invalid:      desc("assets_invalid_metadata", "Assets whose size or duration was negative or absurd (over 1 TiB, over 7 days); the value was left out of the sums."+note, []string{"workspace", "project_id", "field"}),
		outOfSpec:    desc("assets_out_of_spec", "Assets outside Media Intelligence's documented limits, by reason; an asset with several problems counts under each."+note, []string{"workspace", "project_id", "reason"}),
		byRes:        desc("assets_by_resolution", "Assets by resolution class of their shorter side."+note, []string{"workspace", "project_id", "resolution"}),
		sizeHist:     desc("asset_size_bytes", "Distribution of asset sizes."+note, labelsProject),
		durHist:      desc("asset_duration_seconds", "Distribution of video durations."+note, labelsProject),
		cacheAge:     desc("cache_age_seconds", "Age of the project's asset figures when served; 0 when read in this scrape.", labelsProject),
	}
}

func (d *descs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.up, d.duration, d.timeout, d.wsSuccess, d.wsProjects, d.wsMonthly,
		d.projInfo, d.projSuccess, d.projDuration, d.projReport, d.assets, d.bytes, d.seconds, d.lastCreated,
		d.lastUpdated, d.invalid, d.outOfSpec, d.byRes, d.sizeHist, d.durHist, d.cacheAge} {
		ch <- x
	}
}

// ResultCollector exposes one Result as constant metrics.
type ResultCollector struct {
	d          *descs
	res        *Result
	histograms bool
	cache      bool
	// projectOnly leaves out the workspace series (a project probe).
	projectOnly bool
}

// Describe implements prometheus.Collector.
func (c *ResultCollector) Describe(ch chan<- *prometheus.Desc) { c.d.describe(ch) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect implements prometheus.Collector.
func (c *ResultCollector) Collect(ch chan<- prometheus.Metric) {
	d, r := c.d, c.res
	ch <- prometheus.MustNewConstMetric(d.up, prometheus.GaugeValue, b2f(r.Up))
	ch <- prometheus.MustNewConstMetric(d.duration, prometheus.GaugeValue, r.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(d.timeout, prometheus.GaugeValue, r.Timeout.Seconds())
	for _, w := range r.Workspaces {
		if !c.projectOnly {
			ch <- prometheus.MustNewConstMetric(d.wsSuccess, prometheus.GaugeValue, b2f(w.Success), w.Name)
			if w.Success {
				ch <- prometheus.MustNewConstMetric(d.wsProjects, prometheus.GaugeValue, float64(w.ProjectCount), w.Name)
			}
			if w.HasMonthly {
				ch <- prometheus.MustNewConstMetric(d.wsMonthly, prometheus.GaugeValue, float64(w.Monthly), w.Name)
			}
		}
		for _, p := range w.Projects {
			c.collectProject(ch, p)
		}
	}
}

func (c *ResultCollector) collectProject(ch chan<- prometheus.Metric, p *ProjectResult) {
	d := c.d
	ws, id := p.Workspace, strconv.FormatInt(p.Project.ID, 10)
	ch <- prometheus.MustNewConstMetric(d.projInfo, prometheus.GaugeValue, 1, ws, id, p.Project.Name, strconv.FormatBool(p.Project.IsBase))
	ch <- prometheus.MustNewConstMetric(d.projSuccess, prometheus.GaugeValue, b2f(p.Success), ws, id)
	ch <- prometheus.MustNewConstMetric(d.projDuration, prometheus.GaugeValue, p.Duration.Seconds(), ws, id)
	if !p.Success {
		return
	}
	if c.cache {
		age := 0.0
		if p.FromCache {
			age = time.Since(p.At).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(d.cacheAge, prometheus.GaugeValue, age, ws, id)
	}
	ch <- prometheus.MustNewConstMetric(d.projReport, prometheus.GaugeValue, float64(p.Reported), ws, id)
	s := p.Stats
	if s == nil {
		return
	}
	for f := 0; f < numFormats; f++ {
		if f >= numDocumented && s.Count[f] == 0 {
			continue
		}
		name := formatNames[f]
		ch <- prometheus.MustNewConstMetric(d.assets, prometheus.GaugeValue, float64(s.Count[f]), ws, id, name)
		ch <- prometheus.MustNewConstMetric(d.bytes, prometheus.GaugeValue, float64(s.Bytes[f]), ws, id, name)
		ch <- prometheus.MustNewConstMetric(d.seconds, prometheus.GaugeValue, float64(s.DurMs[f])/1000, ws, id, name)
	}
	if s.LastCreated > 0 {
		ch <- prometheus.MustNewConstMetric(d.lastCreated, prometheus.GaugeValue, float64(s.LastCreated), ws, id)
	}
	if s.LastUpdated > 0 {
		ch <- prometheus.MustNewConstMetric(d.lastUpdated, prometheus.GaugeValue, float64(s.LastUpdated), ws, id)
	}
	for i, name := range invalidFieldNames {
		ch <- prometheus.MustNewConstMetric(d.invalid, prometheus.GaugeValue, float64(s.Invalid[i]), ws, id, name)
	}
	for i, name := range reasonNames {
		ch <- prometheus.MustNewConstMetric(d.outOfSpec, prometheus.GaugeValue, float64(s.Reasons[i]), ws, id, name)
	}
	for i, name := range resolutionNames {
		ch <- prometheus.MustNewConstMetric(d.byRes, prometheus.GaugeValue, float64(s.Res[i]), ws, id, name)
	}
	if c.histograms {
		ch <- prometheus.MustNewConstHistogram(d.sizeHist, s.SizeHist.n, s.SizeHist.sum, s.SizeHist.cumulative(sizeBuckets), ws, id)
		ch <- prometheus.MustNewConstHistogram(d.durHist, s.DurHist.n, s.DurHist.sum, s.DurHist.cumulative(durationBuckets), ws, id)
	}
}

// APIMetrics counts and times the client's requests for the life of the
// process. It implements client.Observer.
type APIMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
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
	}
	reg.MustRegister(m.requests, m.duration, m.retries)
	for _, op := range client.Operations {
		m.duration.WithLabelValues(string(op))
		m.retries.WithLabelValues(string(op))
		m.requests.WithLabelValues(string(op), "200")
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
