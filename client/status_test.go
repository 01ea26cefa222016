package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// TestSceneSummaryStatusBodies: the scene-summary status call reads
// result.status whatever else result carries, takes code as a string or a
// number, ignores nulls and unknown fields, and reports a 404 (no summary,
// by docs/api.md) and a broken body as errors with the HTTP status.
func TestSceneSummaryStatusBodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		want    string // result.status; "" with errStatus set means an error
		errHTTP int
	}{
		{"documented", 200, `{"code":"0","message":"success","result":{"status":"SUMMARIZING"}}`, "SUMMARIZING", 0},
		{"code as a number", 200, `{"code":0,"message":"success","result":{"status":"SUMMARIZE_COMPLETED"}}`, "SUMMARIZE_COMPLETED", 0},
		{"more in result", 200, `{"code":"0","result":{"status":"SUMMARIZE_FAIL","message":"VLM error","indexId":7,"requestedAt":"2026-11-01T10:00:00","extra":{"a":[1,2]}}}`, "SUMMARIZE_FAIL", 0},
		{"nulls", 200, `{"code":"0","message":null,"result":{"status":"BEFORE_SUMMARIZE","message":null}}`, "BEFORE_SUMMARIZE", 0},
		{"one L", 200, `{"code":"0","result":{"status":"SUMMARIZE_CANCELED"}}`, "SUMMARIZE_CANCELED", 0},
		{"undocumented", 200, `{"code":"0","result":{"status":"SUMMARIZE_PAUSED"}}`, "SUMMARIZE_PAUSED", 0},
		{"no status", 200, `{"code":"0","result":{}}`, "", 0},
		{"no summary: 404", 404, `{"code":"10404","message":"Scene summary not found."}`, "", 404},
		{"no result", 200, `{"code":"0","message":"success"}`, "", 200},
		{"truncated", 200, `{"code":"0","result":{"status":"SUMM`, "", 200},
		{"status a number", 200, `{"code":"0","result":{"status":3}}`, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var path atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path.Store(r.URL.RequestURI())
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.MaxAttempts = 1 })
			st, err := c.SceneSummaryStatus(context.Background(), "ws-one", 12, 345)
			if got := path.Load(); got != "/api/v1/workspaces/ws-one/projects/12/assets/345/scene-summary/status" {
				t.Errorf("requested %v", got)
			}
			if tc.errHTTP != 0 {
				e := asError(t, err)
				if e.StatusCode != tc.errHTTP || e.Op != client.OpSceneSummaryStatus || !strings.Contains(e.Target, "asset=345") {
					t.Errorf("error %+v; want HTTP %d of get_scene_summary_status for asset 345", e, tc.errHTTP)
				}
				return
			}
			if err != nil || st.Status != tc.want {
				t.Errorf("got %+v, %v; want status %q", st, err, tc.want)
			}
		})
	}
}

// TestSceneSummaryStatusBadIDs: invalid names and IDs never reach a
// signed path.
func TestSceneSummaryStatusBadIDs(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	defer srv.Close()
	c := newClient(t, srv.URL)
	for _, tc := range []struct {
		ws       string
		pid, aid int64
	}{{"Bad_Name", 1, 1}, {"ws-one", 0, 1}, {"ws-one", 1, -1}} {
		if _, err := c.SceneSummaryStatus(context.Background(), tc.ws, tc.pid, tc.aid); err == nil {
			t.Errorf("%+v: no error", tc)
		}
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent for invalid input", n.Load())
	}
}
