package handler_test

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
)

// Helpers that read exposition text and the simulator's counters.

func parseFamilies(t testing.TB, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing exposition: %v\n%s", err, body)
	}
	return fams
}

// The tests of this package read one account, exporter.DefaultAccount:
// labelsOf leaves its account label out, so that a test names the labels
// that vary. The account label itself is tested where there are several
// (accounts_test.go, and package collector's tests).
func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, lp := range m.GetLabel() {
		if lp.GetName() == "account" && lp.GetValue() == exporter.DefaultAccount {
			continue
		}
		l[lp.GetName()] = lp.GetValue()
	}
	return l
}

// hasLabels reports whether m's labels include every pair of match.
func hasLabels(m *dto.Metric, match map[string]string) bool {
	l := labelsOf(m)
	for k, v := range match {
		if l[k] != v {
			return false
		}
	}
	return true
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return math.NaN()
}

// seriesMatching flattens families into "name{labels}" -> value, keeping the
// series whose labels include all of match.
func seriesMatching(fams map[string]*dto.MetricFamily, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			if !hasLabels(m, match) {
				continue
			}
			l := labelsOf(m)
			keys := make([]string, 0, len(l))
			for k := range l {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			b.WriteString(name + "{")
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=%q", k, l[k])
			}
			b.WriteByte('}')
			out[b.String()] = metricValue(m)
		}
	}
	return out
}

// sampleValue is the value of the one series of name with exactly these labels.
func sampleValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		if len(l) != len(labels) {
			continue
		}
		ok := true
		for k, v := range labels {
			ok = ok && l[k] == v
		}
		if ok {
			return metricValue(m), true
		}
	}
	return 0, false
}

func projSel(ws string, id int64) map[string]string {
	return map[string]string{"workspace": ws, "project_id": strconv.FormatInt(id, 10)}
}

// assetFigures are the series of a project that hold its asset figures.
func assetFigures(fams map[string]*dto.MetricFamily, ws string, id int64) map[string]float64 {
	out := seriesMatching(fams, projSel(ws, id))
	for k := range out {
		if strings.HasPrefix(k, "ncp_mediaintel_project_scrape_duration_seconds{") || strings.HasPrefix(k, "ncp_mediaintel_cache_age_seconds{") ||
			strings.HasPrefix(k, "ncp_mediaintel_project_last_success_timestamp_seconds{") {
			delete(out, k)
		}
	}
	return out
}

type opCounts map[client.Operation]int64

func countOps(sim *mitest.Server) opCounts {
	c := opCounts{}
	for _, op := range []client.Operation{client.OpListWorkspaces, client.OpGetWorkspace, client.OpListProjects, client.OpListAssets} {
		c[op] = sim.Requests(op)
	}
	return c
}

func eachProject(inv *mitest.Inventory, fn func(ws string, p *mitest.Project)) {
	for _, w := range inv.Workspaces {
		for _, p := range w.Projects {
			fn(w.Name, p)
		}
	}
}

func pagesOf(p *mitest.Project, pageSize int) int64 {
	return int64(max(1, (p.AssetCount()+pageSize-1)/pageSize))
}
