package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRateBurst is the burst the exporter allows above its rate limit
// (--mi.rate-burst).
const DefaultRateBurst = 10

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

	waitNanos  atomic.Int64
	reductions atomic.Int64
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
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	l.lastCut, l.lastAdj = now, now
	if cur, next := l.lim.Limit(), max(l.floor, l.lim.Limit()/2); next < cur {
		l.lim.SetLimitAt(now, next)
		l.reductions.Add(1)
	}
}

// Rate is the current rate in requests a second.
func (l *AdaptiveLimiter) Rate() float64 { return float64(l.lim.Limit()) }

// WaitSeconds is the total time requests have waited for the limiter.
func (l *AdaptiveLimiter) WaitSeconds() float64 { return time.Duration(l.waitNanos.Load()).Seconds() }

// Reductions is how many times a 429 lowered the rate (at most once a
// second; the 429 answers themselves are counted by the caller's Observer).
func (l *AdaptiveLimiter) Reductions() int64 { return l.reductions.Load() }

// Limiters waits for each of its limiters in turn, and tells each of them
// of a 429: for calls that have a budget of their own below a shared one.
type Limiters []Limiter

// Wait implements Limiter.
func (ls Limiters) Wait(ctx context.Context) error {
	for _, l := range ls {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Throttled implements Limiter.
func (ls Limiters) Throttled() {
	for _, l := range ls {
		l.Throttled()
	}
}
