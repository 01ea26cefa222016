package client_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
)

// countingGate records how often it is taken and whether it is held.
type countingGate struct {
	mu       sync.Mutex
	held     int
	acquires int
	fail     error
}

func (g *countingGate) Acquire(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return g.fail
	}
	g.held++
	g.acquires++
	return nil
}

func (g *countingGate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held--
}

func (g *countingGate) state() (held, acquires int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held, g.acquires
}

func TestGateHeldOnlyWhileInFlight(t *testing.T) {
	inv := &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "gate-ws", Projects: []*mitest.Project{
		{ID: 1, Name: "p", Synthetic: &mitest.SyntheticAssets{Count: 5, Seed: 1}},
	}}}}
	s := newServer(t, inv)
	g := &countingGate{}
	c := newClient(t, s.URL).Gated(g)
	ctx := context.Background()
	// The client it was made from is not gated.
	if _, err := newClient(t, s.URL).GetWorkspace(ctx, "gate-ws"); err != nil {
		t.Fatal(err)
	}
	if _, acq := g.state(); acq != 0 {
		t.Fatalf("the ungated client took the gate %d times", acq)
	}

	// Decoding runs after the body is read: the gate is free by then.
	var heldDuringDecode []int
	if _, err := c.AssetPage(ctx, "gate-ws", 1, 1, func(*client.Asset) {
		h, _ := g.state()
		heldDuringDecode = append(heldDuringDecode, h)
	}); err != nil {
		t.Fatal(err)
	}
	if len(heldDuringDecode) != 5 {
		t.Fatalf("decoded %d assets, want 5", len(heldDuringDecode))
	}
	for _, h := range heldDuringDecode {
		if h != 0 {
			t.Fatalf("gate held (%d) while the page was decoded", h)
		}
	}
	if held, acq := g.state(); held != 0 || acq != 1 {
		t.Errorf("after one request: held %d, acquired %d; want 0 and 1", held, acq)
	}

	// Each attempt takes the gate afresh and gives it back, also on errors.
	s.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Status: 503, Times: 2})
	if _, err := c.AssetPage(ctx, "gate-ws", 1, 1, func(*client.Asset) {}); err != nil {
		t.Fatal(err)
	}
	if held, acq := g.state(); held != 0 || acq != 4 {
		t.Errorf("after two retries: held %d, acquired %d; want 0 and 4", held, acq)
	}
}

func TestGateRefusalEndsTheCall(t *testing.T) {
	s := newServer(t, &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "gate-ws"}}})
	g := &countingGate{fail: context.DeadlineExceeded}
	c := newClient(t, s.URL).Gated(g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.GetWorkspace(ctx, "gate-ws")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the gate's error", err)
	}
	if s.TotalRequests() != 0 {
		t.Errorf("%d requests sent without a slot", s.TotalRequests())
	}
}
