package client_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A name that does not exist is not asked about again; a DNS timeout is.
func TestUnknownHostNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		attempts int64
	}{
		{"no such host", &net.DNSError{Err: "no such host", Name: "mi.example", IsNotFound: true}, 1},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "mi.example", IsTimeout: true}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			c := newClient(t, "http://mi.example", func(cfg *client.Config) {
				cfg.Transport = rtFunc(func(*http.Request) (*http.Response, error) {
					n.Add(1)
					return nil, tc.err
				})
			})
			_, err := c.ListWorkspaces(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if got := n.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d (%v)", got, tc.attempts, err)
			}
		})
	}
}
