package client

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

func newTestLimiter(rps float64, burst int) (*AdaptiveLimiter, *testutil.Clock) {
	l := NewAdaptiveLimiter(rps, burst)
	clk := testutil.NewClock(time.Now())
	l.now, l.lastAdj = clk.Now, clk.Now()
	return l, clk
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAdaptiveLimiterThrottled(t *testing.T) {
	l, clk := newTestLimiter(100, 10)
	if l.Rate() != 100 {
		t.Fatalf("initial rate %v", l.Rate())
	}
	l.Throttled()
	if !near(l.Rate(), 50) {
		t.Fatalf("after one 429: rate %v, want 50", l.Rate())
	}
	// A burst of 429s within a second counts once.
	for range 10 {
		clk.Add(50 * time.Millisecond)
		l.Throttled()
	}
	if !near(l.Rate(), 50) || l.Reductions() != 1 {
		t.Fatalf("after a burst: rate %v (want 50), %d reductions (want 1)", l.Rate(), l.Reductions())
	}
	// A second later it halves again, down to the floor of rps/16.
	want := 50.0
	for range 10 {
		clk.Add(time.Second)
		l.Throttled()
		want = max(want/2, 100.0/16)
		if !near(l.Rate(), want) {
			t.Fatalf("rate %v, want %v", l.Rate(), want)
		}
	}
	if !near(l.Rate(), 6.25) {
		t.Fatalf("rate %v, want the floor 6.25", l.Rate())
	}
	// 100 -> 50 -> 25 -> 12.5 -> 6.25: four reductions; at the floor a 429
	// lowers nothing.
	if l.Reductions() != 4 {
		t.Errorf("%d reductions, want 4", l.Reductions())
	}
}

func TestAdaptiveLimiterRecovery(t *testing.T) {
	l, clk := newTestLimiter(100, 10)
	ctx := context.Background()
	l.Throttled() // 50
	// Within 0.1 s nothing changes.
	clk.Add(50 * time.Millisecond)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !near(l.Rate(), 50) {
		t.Errorf("rate %v after 50 ms, want 50", l.Rate())
	}
	// A tenth of the rate a second: 2 s later, 50 + 20.
	clk.Add(1950 * time.Millisecond)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !near(l.Rate(), 70) {
		t.Errorf("rate %v after 2 s, want 70", l.Rate())
	}
	// Never above the configured rate.
	clk.Add(time.Minute)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !near(l.Rate(), 100) {
		t.Errorf("rate %v after a minute, want 100", l.Rate())
	}
	// At the full rate the clock of the last adjustment follows, so a cut
	// later does not recover at once.
	clk.Add(time.Minute)
	_ = l.Wait(ctx)
	l.Throttled()
	clk.Add(200 * time.Millisecond)
	_ = l.Wait(ctx)
	if r := l.Rate(); r < 50 || r > 52.1 {
		t.Errorf("rate %v 0.2 s after a cut, want about 52", r)
	}
}

func TestAdaptiveLimiterWaitDeadline(t *testing.T) {
	l := NewAdaptiveLimiter(1, 1) // one request a second
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The next token is a second away: a 500 ms deadline fails at once,
	// without waiting for it.
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Wait(dctx); err == nil {
		t.Fatal("Wait succeeded past the deadline")
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("Wait took %v to fail, want at once", d)
	}
}

func TestAdaptiveLimiterWaitSeconds(t *testing.T) {
	l := NewAdaptiveLimiter(20, 1) // a token every 50 ms
	ctx := context.Background()
	start := time.Now()
	for range 4 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start).Seconds()
	w := l.WaitSeconds()
	if w < 0.12 || w > elapsed+0.001 {
		t.Errorf("WaitSeconds %v after 4 waits at 20/s (%v s elapsed), want about 0.15", w, elapsed)
	}
	if l.Reductions() != 0 {
		t.Errorf("%d reductions", l.Reductions())
	}
	// A burst below 1 is raised to 1, so Wait can ever succeed.
	if err := NewAdaptiveLimiter(1000, 0).Wait(ctx); err != nil {
		t.Errorf("burst 0: %v", err)
	}
}

// TestAdaptiveLimiterConcurrent exercises the limiter from many goroutines
// (for the race detector).
func TestAdaptiveLimiterConcurrent(t *testing.T) {
	l := NewAdaptiveLimiter(10000, 100)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				_ = l.Wait(context.Background())
				if (i+j)%10 == 0 {
					l.Throttled()
				}
				_ = l.Rate()
			}
		})
	}
	wg.Wait()
	if n := l.Reductions(); n < 1 || n > 40 || l.Rate() >= 10000 || l.Rate() < 10000.0/16 {
		t.Errorf("%d reductions for 40 429s, rate %v", n, l.Rate())
	}
}
