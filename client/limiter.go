package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// AdaptiveLimiter is a token bucket shared by every request of the
// process. A 429 from the API halves its rate (at most once a second, so a
// burst of 429s from one wave of requests counts once); the rate then
// climbs back by a tenth of the configured rate each second
// (additive increase, multiplicative decrease).
type AdaptiveLimiter struct {
	lim     *rate.Limiter
	max     rate.Limit
	floor   rate.Limit
	mu      sync.Mutex
	lastAdj time.Time
	lastCut time.Time
	now     func() time.Time

	waitNanos atomic.Int64
	throttles atomic.Int64
}

// NewAdaptiveLimiter allows rps requests a second with bursts of burst.
func NewAdaptiveLimiter(rps float64, burst int) *AdaptiveLimiter {
	if burst < 1 {
		burst = 1
	}
	now := time.Now()
	return &AdaptiveLimiter{
		lim:     rate.NewLimiter(rate.Limit(rps), burst),
		max:     rate.Limit(rps),
		floor:   rate.Limit(rps / 16),
		lastAdj: now,
		now:     time.Now,
	}
}

// Wait implements Limiter. It fails at once when the wait would pass
// ctx's deadline, so waiting counts against the scrape's deadline.
func (l *AdaptiveLimiter) Wait(ctx context.Context) error {
	l.recover()
	start := time.Now()
	err := l.lim.Wait(ctx)
	l.waitNanos.Add(int64(time.Since(start)))
	return err
}

func (l *AdaptiveLimiter) recover() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	cur := l.lim.Limit()
	if cur >= l.max {
		l.lastAdj = now
		return
	}
	elapsed := now.Sub(l.lastAdj).Seconds()
	if elapsed < 0.1 {
		return
	}
	l.lim.SetLimitAt(now, min(l.max, cur+l.max/10*rate.Limit(elapsed)))
	l.lastAdj = now
}

// Throttled implements Limiter.
func (l *AdaptiveLimiter) Throttled() {
	l.throttles.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	l.lastCut, l.lastAdj = now, now
	l.lim.SetLimitAt(now, max(l.floor, l.lim.Limit()/2))
}

// Rate is the current rate in requests a second.
func (l *AdaptiveLimiter) Rate() float64 { return float64(l.lim.Limit()) }

// WaitSeconds is the total time requests have waited for the limiter.
func (l *AdaptiveLimiter) WaitSeconds() float64 { return time.Duration(l.waitNanos.Load()).Seconds() }

// Throttles is the number of 429 answers seen.
func (l *AdaptiveLimiter) Throttles() int64 { return l.throttles.Load() }
