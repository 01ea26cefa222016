package handler

import (
	"context"

	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// What the tests of package handler_test see of the coalescer.

// only is the one account of the tests of package handler_test.
func (h *Handler) only() *Account { return h.accounts.List()[0] }

// Waiters is the number of scrapes waiting for the pass over scope, -1
// when none is running.
func (h *Handler) Waiters(scope scrape.Scope) int {
	c := h.only().flights
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[scope]; f != nil {
		return f.waiters
	}
	return -1
}

// Passes is the number of passes under way.
func (h *Handler) Passes() int {
	c := h.only().flights
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flights)
}

// Do is a scrape of scope through the coalescer, as /metrics and /probe
// make it.
func (h *Handler) Do(ctx context.Context, scope scrape.Scope) *scrape.Result {
	return h.read(ctx, h.only(), scope)
}
