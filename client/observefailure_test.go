package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// TestObserveFailure: the Observer hears of each call that failed after
// its retries, once, with its reason; not of a success, nor of a call its
// caller cancelled.
func TestObserveFailure(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"code":"0","message":"success","result":{"uploadStatus":"COMPLETED"}}`))
	}))
	defer srv.Close()
	rec := &recorder{}
	c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.Observer = rec })
	ctx := context.Background()
	if _, err := c.ImportStatus(ctx, "ws-one", 1, 1); err == nil {
		t.Fatal("a 503 succeeded")
	}
	status = http.StatusForbidden
	_, _ = c.ImportStatus(ctx, "ws-one", 1, 1)
	status = http.StatusOK
	if _, err := c.ImportStatus(ctx, "ws-one", 1, 1); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = c.ImportStatus(cancelled, "ws-one", 1, 1)
	if got, want := rec.failed(), []client.Reason{client.ReasonServerError, client.ReasonForbidden}; !slices.Equal(got, want) {
		t.Errorf("failures observed %v, want %v (one per failed call, after its 3 attempts)", got, want)
	}
	_, retries := rec.get()
	if retries != 2 {
		t.Errorf("%d retries, want the 503's 2", retries)
	}
}
