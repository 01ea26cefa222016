package helm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"

	"github.com/Masterminds/semver/v3"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
)

// nhcOf returns the settings of a NativeHistogramConfig by the fields'
// names; a field left out is absent.
func nhcOf(c monitoringv1.NativeHistogramConfig) map[string]bool {
	m := map[string]bool{}
	for name, p := range map[string]*bool{
		"convertClassicHistogramsToNHCB": c.ConvertClassicHistogramsToNHCB,
		"scrapeNativeHistograms":         c.ScrapeNativeHistograms,
		"scrapeClassicHistograms":        c.ScrapeClassicHistograms,
	} {
		if p != nil {
			m[name] = *p
		}
	}
	if c.NativeHistogramBucketLimit != nil || c.NativeHistogramMinBucketFactor != nil {
		m["other"] = true
	}
	return m
}

// TestHistogramSettings checks the histogram fields of the ServiceMonitor
// and the ScrapeConfig: NHCB conversion and native-histogram scraping on
// and the classic series off by default, each value passed as given, and
// a null value left out (to Prometheus).
func TestHistogramSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want map[string]bool
	}{
		{"default", nil, map[string]bool{"convertClassicHistogramsToNHCB": true, "scrapeNativeHistograms": true, "scrapeClassicHistograms": false}},
		{"prometheus-2", set("serviceMonitor.convertClassicHistogramsToNHCB", false, "serviceMonitor.scrapeNativeHistograms", false),
			map[string]bool{"convertClassicHistogramsToNHCB": false, "scrapeNativeHistograms": false, "scrapeClassicHistograms": false}},
		{"keep-classic", set("serviceMonitor.scrapeClassicHistograms", true),
			map[string]bool{"convertClassicHistogramsToNHCB": true, "scrapeNativeHistograms": true, "scrapeClassicHistograms": true}},
		{"left-to-prometheus", set("serviceMonitor.convertClassicHistogramsToNHCB", nil, "serviceMonitor.scrapeNativeHistograms", nil,
			"serviceMonitor.scrapeClassicHistograms", nil), map[string]bool{}},
		{"one-left", set("serviceMonitor.scrapeClassicHistograms", nil), map[string]bool{"convertClassicHistogramsToNHCB": true, "scrapeNativeHistograms": true}},
	} {
		for _, mode := range []string{"metrics", "perProject", "perWorkspace"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				r := render(t, merge(c.vals, set("scrapeMode", mode)))
				got := map[string]map[string]bool{"ServiceMonitor": nhcOf(only[*monitoringv1.ServiceMonitor](t, r).Spec.NativeHistogramConfig)}
				if mode != "metrics" {
					got["ScrapeConfig"] = nhcOf(only[*monitoringv1alpha1.ScrapeConfig](t, r).Spec.NativeHistogramConfig)
				}
				for kind, g := range got {
					if fmt.Sprint(g) != fmt.Sprint(c.want) {
						t.Errorf("%s histogram fields %v, want %v", kind, g, c.want)
					}
				}
			})
		}
	}
	checkRejected(t, []rejection{
		{"not a boolean", set("serviceMonitor.convertClassicHistogramsToNHCB", "yes"), "convertClassicHistogramsToNHCB"},
	})
}

// withHistograms adds the histogram fields of a ServiceMonitor's or
// ScrapeConfig's spec to its translated scrape config, as
// prometheus-operator v0.95 writes them for a Prometheus of the given
// version (pkg/prometheus/promcfg.go, addNativeHistogramConfig): a field
// the version does not know is left out (the operator logs a warning), and
// scrapeClassicHistograms is always_scrape_classic_histograms in 3.x.
func withHistograms(cfg map[string]any, nhc monitoringv1.NativeHistogramConfig, v *semver.Version) map[string]any {
	atLeast := func(s string) bool { return !v.LessThan(semver.MustParse(s)) }
	if p := nhc.ScrapeNativeHistograms; p != nil && atLeast("3.8.0") {
		cfg["scrape_native_histograms"] = *p
	}
	if p := nhc.ScrapeClassicHistograms; p != nil {
		switch {
		case v.Major() == 3:
			cfg["always_scrape_classic_histograms"] = *p
		case atLeast("2.45.0"):
			cfg["scrape_classic_histograms"] = *p
		}
	}
	if p := nhc.ConvertClassicHistogramsToNHCB; p != nil && atLeast("3.0.0") {
		cfg["convert_classic_histograms_to_nhcb"] = *p
	}
	return cfg
}

// prometheusBins returns the Prometheus servers to test against: those of
// MEDIAINTEL_PROMETHEUS_BINS, else the prometheus on PATH.
func prometheusBins(t *testing.T) []string {
	t.Helper()
	if v := os.Getenv(prometheusBinsEnv); v != "" {
		return filepath.SplitList(v)
	}
	return []string{requireTool(t, "prometheus")}
}

var prometheusVersionRE = regexp.MustCompile(`(?m)^prometheus, version v?(\S+)`)

// prometheusVersion returns the version bin --version prints.
func prometheusVersion(t *testing.T, bin string) *semver.Version {
	t.Helper()
	out := testutil.RunTool(t, time.Minute, "", bin, "--version")
	m := prometheusVersionRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s --version: no version in %q", bin, out)
	}
	v, err := semver.NewVersion(m[1])
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	return v
}

// promSample is one element of a Prometheus instant query's result.
type promSample struct {
	Metric    map[string]string `json:"metric"`
	Value     []any             `json:"value"`
	Histogram []json.RawMessage `json:"histogram"`
}

// promQuery runs an instant query.
func promQuery(base, q string) ([]promSample, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("query %s: %w: %.300s", q, err, body)
	}
	if env.Status != "success" {
		return nil, fmt.Errorf("query %s: %s %s", q, env.Status, env.Error)
	}
	return env.Data.Result, nil
}

// histogramBounds returns the upper bounds of the buckets of a native
// histogram sample (the API's [rule, lower, upper, count] quadruples).
func histogramBounds(t *testing.T, h []json.RawMessage) []float64 {
	t.Helper()
	if len(h) != 2 {
		t.Fatalf("histogram sample %s: want [time, histogram]", h)
	}
	var hist struct {
		Buckets [][]any `json:"buckets"`
	}
	if err := json.Unmarshal(h[1], &hist); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, b := range hist.Buckets {
		if len(b) != 4 {
			t.Fatalf("bucket %v: want [rule, lower, upper, count]", b)
		}
		s, _ := b[2].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bucket %v: upper bound %v: %v", b, b[2], err)
		}
		out = append(out, f)
	}
	return out
}

// TestHistogramsE2E scrapes one exporter, reading a fixed inventory from
// the API simulator, with two renders of the chart's ServiceMonitor at
// once: the default values (jobs mi_on) and every histogram value false
// (mi_off), translated as the operator translates them for each Prometheus
// release of MEDIAINTEL_PROMETHEUS_BINS. On Prometheus 3 the defaults
// store the asset size histogram as one native histogram with custom
// buckets (NHCB) and no _bucket series, and the API latency with the
// exporter's exponential native buckets; on 2.x, which the operator gives
// none of the fields, and with the values false, the classic series are
// there. The median asset size, by the dashboard's classic-or-native
// query, is the same in both jobs and on every release.
func TestHistogramsE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	bins := prometheusBins(t)
	sim := mitest.NewServer(mitest.DemoInventory())
	t.Cleanup(sim.Close)
	keys := t.TempDir()
	ak := writeTemp(t, keys, "access-key", []byte(mitest.DefaultAccessKey))
	sk := writeTemp(t, keys, "secret-key", []byte(mitest.DefaultSecretKey))
	// Background mode: every scrape, of every job and every Prometheus,
	// sees the figures of the one pass made before /-/ready. On a busy
	// machine an on-scrape project can miss its deadline in one scrape
	// and not in another, and the medians then differ for that alone.
	exp := testutil.StartExporter(t, testutil.BuildExporter(t), "--mi.api-url="+sim.URL, "--ncp.access-key-file="+ak, "--ncp.secret-key-file="+sk,
		"--scrape.mode=background", "--scrape.refresh-interval=1h")

	type job struct {
		name string
		sm   *monitoringv1.ServiceMonitor
	}
	var jobs []job
	for _, j := range []struct {
		name string
		vals map[string]any
	}{
		{"mi_on", nil},
		{"mi_off", set("serviceMonitor.convertClassicHistogramsToNHCB", false, "serviceMonitor.scrapeNativeHistograms", false)},
	} {
		sm := only[*monitoringv1.ServiceMonitor](t, render(t, merge(e2eValues("metrics"), j.vals, set("serviceMonitor.jobName", j.name))))
		sm.Name += "-" + j.name
		jobs = append(jobs, job{j.name, sm})
	}

	const (
		sizes   = "ncp_mediaintel_asset_size_distribution_bytes"
		latency = "ncp_mediaintel_api_request_duration_seconds"
	)
	medians := map[string]string{}
	for _, bin := range bins {
		v := prometheusVersion(t, bin)
		t.Run("prometheus-"+v.String(), func(t *testing.T) {
			var configs []any
			for _, j := range jobs {
				configs = append(configs, withHistograms(translateServiceMonitor(t, j.sm, exp.Addr), j.sm.Spec.NativeHistogramConfig, v))
			}
			base := startPrometheusBin(t, "prometheus "+v.String(), bin, configs)
			nhcb := v.Major() >= 3
			native := !v.LessThan(semver.MustParse("3.8.0"))
			count := func(q string) int {
				res, err := promQuery(base, q)
				if err != nil {
					t.Fatal(err)
				}
				return len(res)
			}
			// Two scrapes of each job (the latency histogram has the
			// refresh pass's observations from the start).
			testutil.Eventually(t, 60*time.Second, "two scrapes of each job", func() bool {
				return count(`count_over_time(up{job=~"mi_on|mi_off"}[1m]) >= 2`) == 2
			})
			for _, c := range []struct {
				q    string
				want bool
			}{
				{sizes + `_bucket{job="mi_off"}`, true},
				{sizes + `_bucket{job="mi_on"}`, !nhcb},
				{sizes + `{job="mi_on"}`, nhcb},
				{sizes + `{job="mi_off"}`, false},
				{latency + `_bucket{job="mi_off"}`, true},
				{latency + `_bucket{job="mi_on"}`, !nhcb && !native},
				{latency + `{job="mi_on"}`, nhcb || native},
			} {
				if got := count(c.q) > 0; got != c.want {
					t.Errorf("%s: series %v, want %v", c.q, got, c.want)
				}
			}
			if native {
				res, err := promQuery(base, latency+`{job="mi_on"}`)
				if err != nil || len(res) == 0 {
					t.Fatalf("%s: %v", latency, err)
				}
				classic := map[float64]bool{}
				les, err := promQuery(base, `count by (le) (`+latency+`_bucket{job="mi_off"})`)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range les {
					f, _ := strconv.ParseFloat(s.Metric["le"], 64)
					classic[f] = true
				}
				exponential := 0
				for _, s := range res {
					for _, b := range histogramBounds(t, s.Histogram) {
						if !classic[b] {
							exponential++
						}
					}
				}
				if exponential == 0 {
					t.Errorf("%s in job mi_on has only the classic buckets' bounds %v: the exporter's native buckets were not scraped", latency, classic)
				}
			}
			for _, j := range jobs {
				sel := `{job="` + j.name + `"}`
				q := `histogram_quantile(0.5, sum by (le) (` + sizes + `_bucket` + sel + `) or sum(` + sizes + sel + `))`
				res, err := promQuery(base, q)
				if err != nil || len(res) != 1 || len(res[0].Value) != 2 {
					t.Fatalf("%s: %v %+v", q, err, res)
				}
				got := fmt.Sprint(res[0].Value[1])
				if prev, ok := medians[j.name]; ok && prev != got {
					t.Errorf("%s: median %s, another Prometheus %s", q, got, prev)
				}
				for other, m := range medians {
					if m != got {
						t.Errorf("median asset size %s in job %s, %s in %s", got, j.name, m, other)
					}
				}
				medians[j.name] = got
				t.Logf("median asset size, job %s: %s bytes", j.name, got)
			}
		})
	}
}
