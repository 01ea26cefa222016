package handler_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestNegotiation: /metrics and /probe answer in the format the scraper
// asks for (text, OpenMetrics, protobuf), gzipped when it accepts that,
// each format holding the same families, the process ones included on
// /metrics.
func TestNegotiation(t *testing.T) {
	e := newEnv(t, goldenInventory(), envOpts{})
	get := func(path, accept, encoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		req.Header.Set("Accept-Encoding", encoding) // set: the transport adds and undoes gzip itself otherwise
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			z, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("%s: gzip: %v", path, err)
			}
			r = z
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	families := func(t *testing.T, format expfmt.Format, body []byte) map[string]int {
		t.Helper()
		out := map[string]int{}
		dec := expfmt.NewDecoder(bytes.NewReader(body), format)
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding %s: %v", format, err)
			}
			out[mf.GetName()] += len(mf.Metric)
		}
		return out
	}

	resp, text := get("/metrics", "", "identity")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("no Accept: Content-Type %q, encoding %q", ct, resp.Header.Get("Content-Encoding"))
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	textFams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if textFams["ncp_mediaintel_assets"] == nil || textFams["go_goroutines"] == nil {
		t.Fatalf("text exposition lacks the asset or the process families")
	}

	for _, tc := range []struct {
		name, accept, encoding, wantType string
	}{
		{"protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3", "gzip", "application/vnd.google.protobuf"},
		{"OpenMetrics", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5", "gzip, deflate", "application/openmetrics-text"},
		{"text gzipped", "text/plain", "gzip;q=1.0, identity;q=0.5", "text/plain"},
		{"gzip refused", "text/plain", "gzip;q=0", "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get("/metrics", tc.accept, tc.encoding)
			ct := resp.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.wantType)
			}
			wantGzip := strings.Contains(tc.encoding, "gzip") && !strings.Contains(tc.encoding, "gzip;q=0")
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != wantGzip {
				t.Errorf("gzipped %v, want %v", got, wantGzip)
			}
			if tc.wantType == "application/openmetrics-text" {
				// The text parser does not read OpenMetrics' counters: count
				// the samples of the scrape's gauge families.
				if !bytes.HasSuffix(body, []byte("# EOF\n")) {
					t.Errorf("OpenMetrics answer without # EOF")
				}
				for _, name := range []string{"ncp_mediaintel_up", "ncp_mediaintel_assets", "ncp_mediaintel_project_scrape_success", "ncp_mediaintel_account_info"} {
					if got, want := bytes.Count(body, []byte("\n"+name+"{")), len(textFams[name].Metric); got != want {
						t.Errorf("OpenMetrics: %d samples of %s, the text answer %d", got, name, want)
					}
				}
				return
			}
			got := families(t, expfmt.Format(ct), body)
			for name, f := range textFams {
				if !strings.HasPrefix(name, "ncp_mediaintel_") || strings.Contains(name, "duration") {
					continue // the Go and process families and the timings move between scrapes
				}
				if got[name] != len(f.Metric) {
					t.Errorf("%s: %d series, the text answer %d", name, got[name], len(f.Metric))
				}
			}
		})
	}
}
