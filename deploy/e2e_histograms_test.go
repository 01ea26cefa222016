package deploy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/dashboards"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// nativeFactor is the growth factor of the native buckets of
// ncp_mediaintel_api_request_duration_seconds (the exporter's
// NativeHistogramBucketFactor): a quantile from them is within this factor
// of the true value's bucket.
const nativeFactor = 1.1

// histogramsRefresh is the refresh interval of TestE2EHistograms: the
// API is called only in passes, each well under a second, so that between
// two passes both Prometheus servers scrape the same histograms.
const histogramsRefresh = 20 * time.Second

// TestE2EHistograms checks that the dashboard's quantile panels show the
// same figures on Prometheus 2 with classic histograms as on Prometheus 3
// with the example configuration's native-histogram settings. One exporter
// of two accounts, over an API whose figures do not move, is scraped by a
// 2.x (prometheus.yml without its Prometheus 3 lines) and a 3.x
// (prometheus.yml as it is) at once. The exporter runs in background mode,
// so that it calls the API in passes only: the quantiles are evaluated at
// a time half an interval after a pass, over a window of three intervals
// that starts half an interval after a pass too, so that both servers'
// rates count the requests of the same three passes.
//
//   - 3.x stores the histograms as native histograms: NHCB with the
//     classic buckets for the asset size and video duration histograms,
//     the exporter's exponential buckets for the API latency; 2.x stores
//     classic buckets (x_bucket) and nothing else.
//   - The asset size and video duration quantiles are the same on both:
//     NHCB has the classic buckets and interpolates within them as
//     histogram_quantile does with classic ones.
//   - The API latency quantiles differ within the buckets' resolution: the
//     native estimate lies in the classic bucket that holds the classic
//     estimate, give or take a native bucket (a factor of 1.1).
func TestE2EHistograms(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	var v2, v3 *promRelease
	rels := prometheusReleases(t)
	for i := range rels {
		switch rels[i].Major() {
		case 2:
			v2 = &rels[i]
		case 3:
			v3 = &rels[i]
		}
	}
	if v2 == nil || v3 == nil {
		testutil.MissingTool(t, fmt.Sprintf("comparing histograms needs a Prometheus 2.x and a 3.x in %s, got %v", prometheusBinsEnv, rels))
		return
	}
	sim := newE2ESimulator(t)
	exp := startSimExporter(t, sim, "--scrape.mode=background", "--scrape.refresh-interval="+histogramsRefresh.String())
	scraping := time.Now()
	p2 := startPrometheus(t, *v2, "prometheus "+v2.Version, prometheusConfig(t, *v2, "prometheus.yml", exp.Addr, ""))
	p3 := startPrometheus(t, *v3, "prometheus "+v3.Version, prometheusConfig(t, *v3, "prometheus.yml", exp.Addr, ""))
	servers := []struct {
		name string
		api  promAPI
	}{{v2.Version, p2}, {v3.Version, p3}}
	for _, s := range servers {
		testutil.EventuallyNoError(t, 60*time.Second, "Prometheus "+s.name+" stores several scrapes of both accounts", func() error {
			n, series, err := s.api.query(`count_over_time(ncp_mediaintel_up[1m]) >= 6`)
			if err != nil {
				return err
			}
			if n != 2 {
				return fmt.Errorf("count_over_time(ncp_mediaintel_up[1m]) >= 6: %+v", series)
			}
			return nil
		})
	}

	// How each stored the histograms.
	classicLe := storedForms(t, p2, p3)

	// The quantile panels, evaluated at the same time on both, over the
	// same passes.
	window := 3 * histogramsRefresh
	var at time.Time
	testutil.EventuallyNoError(t, window+3*histogramsRefresh, "three refresh passes are stored", func() error {
		_, series, err := p2.query(`max(ncp_mediaintel_refresh_last_pass_end_timestamp_seconds)`)
		if err != nil {
			return err
		}
		if len(series) != 1 {
			return fmt.Errorf("the last pass's end: %+v", series)
		}
		end := time.UnixMilli(int64(series[0].float() * 1000))
		at = end.Add(histogramsRefresh / 2)
		if at.Add(-window).Before(scraping.Add(2 * histogramsRefresh / 10)) {
			return fmt.Errorf("the last pass ended at %s: too soon after the scrapes began at %s", end.Format(time.TimeOnly), scraping.Format(time.TimeOnly))
		}
		return nil
	})
	time.Sleep(time.Until(at.Add(time.Second)))
	rateWindow := "[" + strconv.Itoa(int(window.Seconds())) + "s]"
	var compared int
	for _, q := range dashboardQueries(t) {
		if !strings.Contains(q.Expr, "histogram_quantile") {
			continue
		}
		expr := dashboards.ExpandVariables(q.Expr, dashboardVars)
		// The latency's rate over three passes.
		expr = strings.ReplaceAll(expr, "["+dashboardVars["__rate_interval"]+"]", rateWindow)
		r2, r3 := quantiles(t, p2, expr, at), quantiles(t, p3, expr, at)
		if len(r2) == 0 || !slices.Equal(sortedKeys(r2), sortedKeys(r3)) {
			t.Errorf("%s: the series differ: %s has %v, %s has %v\n    %s", q.Where, v2.Version, r2, v3.Version, r3, expr)
			continue
		}
		latency := strings.Contains(expr, "api_request_duration_seconds")
		for k, c := range r2 {
			n := r3[k]
			switch {
			case math.IsNaN(c) || math.IsNaN(n):
				// No request of that operation in the window on one side.
				if !latency {
					t.Errorf("%s %s: %v on %s, %v on %s", q.Where, k, c, v2.Version, n, v3.Version)
				}
				continue
			case !latency:
				if math.Abs(c-n) > 1e-9*math.Abs(c) {
					t.Errorf("%s %s: %v on %s (classic) but %v on %s (NHCB): they should be the same", q.Where, k, c, v2.Version, n, v3.Version)
				}
			default:
				lo, hi := bucketOf(classicLe, c)
				if n < lo/nativeFactor || n > hi*nativeFactor {
					t.Errorf("%s %s: %v on %s (classic, in the bucket (%v, %v]) but %v on %s (native): further than a native bucket from it", q.Where, k, c, v2.Version, lo, hi, n, v3.Version)
				}
			}
			compared++
			t.Logf("%s %s: %s %v, %s %v", q.Where, k, v2.Version, c, v3.Version, n)
		}
	}
	if compared < 6 {
		t.Errorf("only %d quantiles compared: the asset size, video duration and API latency panels should give more", compared)
	}
}

// storedForms checks how Prometheus 2 (p2) and 3 with the example's
// settings (p3) stored the exporter's histograms, and returns the classic
// bucket bounds of the API latency (from p2).
func storedForms(t *testing.T, p2, p3 promAPI) []float64 {
	t.Helper()
	classic := map[string][]float64{}
	for _, h := range []string{"ncp_mediaintel_asset_size_distribution_bytes", "ncp_mediaintel_video_duration_distribution_seconds", "ncp_mediaintel_api_request_duration_seconds"} {
		// 2.x: classic buckets only.
		_, series, err := p2.query(`count by (le) (` + h + `_bucket)`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			if le, err := strconv.ParseFloat(s.Metric["le"], 64); err == nil && !math.IsInf(le, 1) {
				classic[h] = append(classic[h], le)
			}
		}
		slices.Sort(classic[h])
		if len(classic[h]) < 3 {
			t.Fatalf("Prometheus 2 has no classic buckets of %s: %+v", h, series)
		}
		// 3.x: native histograms, and no classic bucket series.
		if n, series, err := p3.query(h + `_bucket`); err != nil || n != 0 {
			t.Errorf("Prometheus 3 stores classic buckets of %s (%d series, %v): the example's native-histogram settings did not take: %.300v", h, n, err, series)
		}
		_, series, err = p3.query(h)
		if err != nil {
			t.Fatal(err)
		}
		if len(series) == 0 {
			t.Fatalf("Prometheus 3 has no native histogram %s", h)
		}
		bounds := map[float64]bool{}
		for _, s := range series {
			for _, b := range nativeBounds(t, s) {
				bounds[b] = true
			}
		}
		exponential := false
		for b := range bounds {
			if !slices.Contains(classic[h], b) {
				exponential = true
			}
		}
		// NHCB keeps the classic bounds; the API latency's native buckets
		// are the exporter's exponential ones.
		if want := h == "ncp_mediaintel_api_request_duration_seconds"; exponential != want {
			t.Errorf("Prometheus 3's %s has bucket bounds %v: want the exporter's exponential ones %v, the classic ones %v otherwise", h, sortedFloats(bounds), want, classic[h])
		}
	}
	return classic["ncp_mediaintel_api_request_duration_seconds"]
}

// nativeBounds returns the finite upper bounds of the populated buckets of
// a native histogram sample of the query API: [time, {count, sum,
// buckets: [[rule, lower, upper, count], ...]}].
func nativeBounds(t *testing.T, s promSeries) []float64 {
	t.Helper()
	if len(s.Histogram) != 2 {
		t.Fatalf("not a native histogram sample: %+v", s)
	}
	h, _ := s.Histogram[1].(map[string]any)
	buckets, _ := h["buckets"].([]any)
	var out []float64
	for _, b := range buckets {
		fields, _ := b.([]any)
		if len(fields) != 4 {
			t.Fatalf("a native bucket of 4 fields expected: %+v", b)
		}
		str, _ := fields[2].(string)
		if ub, err := strconv.ParseFloat(str, 64); err == nil && !math.IsInf(ub, 1) && ub > 0 {
			out = append(out, ub)
		}
	}
	return out
}

// quantiles runs a quantile query at at and returns its values by the
// series' labels.
func quantiles(t *testing.T, api promAPI, expr string, at time.Time) map[string]float64 {
	t.Helper()
	_, series, err := api.queryAt(expr, at)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	out := map[string]float64{}
	for _, s := range series {
		out[fmt.Sprint(s.Metric)] = s.float()
	}
	return out
}

// bucketOf returns the classic bucket (lo, hi] that holds v, for the
// bucket upper bounds les (sorted; +Inf left out).
func bucketOf(les []float64, v float64) (lo, hi float64) {
	for _, le := range les {
		if v <= le {
			return lo, le
		}
		lo = le
	}
	return lo, math.Inf(1)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedFloats(m map[float64]bool) []float64 {
	out := make([]float64, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// TestBucketOf pins the classic bucket lookup of the latency comparison.
func TestBucketOf(t *testing.T) {
	les := []float64{0.025, 0.05, 0.1}
	for _, tc := range []struct{ v, lo, hi float64 }{
		{0.01, 0, 0.025}, {0.025, 0, 0.025}, {0.03, 0.025, 0.05}, {0.5, 0.1, math.Inf(1)},
	} {
		if lo, hi := bucketOf(les, tc.v); lo != tc.lo || hi != tc.hi {
			t.Errorf("bucketOf(%v) = (%v, %v], want (%v, %v]", tc.v, lo, hi, tc.lo, tc.hi)
		}
	}
}
