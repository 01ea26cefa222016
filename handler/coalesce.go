package handler

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// coalescer shares one API pass among the scrapes of a scope that overlap
// in time, such as an HA pair of Prometheus servers scraping together.
//
// The pass has the deadline of the scrape that started it, so it ends by
// then on its own. A scrape waits for it unless its own client goes away
// first, or (for a scrape that joined) its own, earlier deadline passes.
// The pass is cancelled as soon as every scrape waiting for it has gone.
// golang.org/x/sync/singleflight shares a call too, but it can neither
// cancel a call that every caller has abandoned nor let a caller with an
// earlier deadline leave on time, hence this type.
type coalescer struct {
	s *scrape.Scraper

	mu      sync.Mutex
	flights map[scrape.Scope]*flight
}

// flight is one pass and the scrapes waiting for it.
type flight struct {
	done     chan struct{}
	res      *scrape.Result
	waiters  int
	cancel   context.CancelFunc
	deadline time.Time
}

func newCoalescer(s *scrape.Scraper) *coalescer {
	return &coalescer{s: s, flights: map[scrape.Scope]*flight{}}
}

// do returns the result of a pass over scope: the running one's (joined
// is true), or a new one's. When the scrape gives up first it gets a
// Result holding only the reason.
func (c *coalescer) do(ctx context.Context, scope scrape.Scope) (res *scrape.Result, joined bool) {
	deadline, hasDeadline := ctx.Deadline()
	c.mu.Lock()
	f, joined := c.flights[scope]
	if joined {
		f.waiters++
	} else {
		// The pass is detached from this scrape's cancellation (others
		// may join it) but keeps its deadline.
		var pctx context.Context
		var cancel context.CancelFunc
		if hasDeadline {
			pctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
		} else {
			pctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		}
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel, deadline: deadline}
		c.flights[scope] = f
		go func() {
			defer cancel()
			f.res = c.s.Scrape(pctx, scope)
			c.mu.Lock()
			if c.flights[scope] == f {
				delete(c.flights, scope)
			}
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()

	// Only a joiner with an earlier deadline than the pass gives up on it.
	var early <-chan time.Time
	if joined && hasDeadline && deadline.Before(f.deadline) {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		early = t.C
	}
	var err error
	select {
	case <-f.done:
		return f.res, joined
	case <-early:
		err = context.DeadlineExceeded
	case <-ctx.Done():
		if err = context.Cause(ctx); errors.Is(err, context.DeadlineExceeded) && early == nil {
			// Our deadline is the pass's (or later): it is ending now. A
			// joiner with an earlier deadline does not wait for it, even
			// when its context ends before its own timer fires.
			<-f.done
			return f.res, joined
		}
	}
	c.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		// Nobody wants this pass any more; a scrape arriving now starts
		// afresh rather than joining a pass that is being cancelled.
		f.cancel()
		if c.flights[scope] == f {
			delete(c.flights, scope)
		}
	}
	c.mu.Unlock()
	return &scrape.Result{Account: c.s.Account(), Scope: scope, Err: err}, joined
}
