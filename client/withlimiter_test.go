package client_test

import (
	"context"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

// TestWithLimiter: a Client from WithLimiter is paced (and told of 429s)
// by its own limiter, the original keeps its limiter, and both send over
// the same connections.
func TestWithLimiter(t *testing.T) {
	s := newServer(t, testInventory())
	shared, own := &countingLimiter{}, &countingLimiter{}
	c := newClient(t, s.URL, func(cfg *client.Config) { cfg.Limiter = shared })
	paced := c.WithLimiter(own)
	ctx := context.Background()

	if _, err := paced.GetWorkspace(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if shared.waits.Load() != 0 || own.waits.Load() != 1 {
		t.Errorf("after a call of the new Client: %d waits of the original's limiter, %d of its own; want 0, 1", shared.waits.Load(), own.waits.Load())
	}
	if _, err := c.GetWorkspace(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if shared.waits.Load() != 1 || own.waits.Load() != 1 {
		t.Errorf("after a call of the original: %d waits of its limiter, %d of the new one's; want 1, 1", shared.waits.Load(), own.waits.Load())
	}
	if n := s.ConnectionsOpened(); n != 1 {
		t.Errorf("%d connections opened for two calls one after the other, want 1: the Clients do not share connections", n)
	}

	s.SetFault(mitest.Scope{Operation: client.OpGetWorkspace}, mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "420", Times: 1})
	if _, err := paced.GetWorkspace(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if shared.throttles.Load() != 0 || own.throttles.Load() != 1 || own.waits.Load() != 3 {
		t.Errorf("a 429 to the new Client: %d throttles of the original's limiter, %d of its own (%d waits); want 0, 1 (3)",
			shared.throttles.Load(), own.throttles.Load(), own.waits.Load())
	}

	// Not paced at all, and Gated keeps the limiter.
	if _, err := c.WithLimiter(nil).GetWorkspace(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := paced.Gated(&countingGate{}).GetWorkspace(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if shared.waits.Load() != 1 || own.waits.Load() != 4 {
		t.Errorf("%d waits of the original's limiter, %d of the new one's; want 1, 4", shared.waits.Load(), own.waits.Load())
	}
}
