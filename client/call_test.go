package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 4, 23, 7, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"-5", 0},
		{"7200", time.Hour},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(10 * time.Second).Format(time.RFC850), 10 * time.Second},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestBackoff: full jitter under an exponential ceiling, never less than
// Retry-After.
func TestBackoff(t *testing.T) {
	c := &Client{core: &core{boffBase: 10 * time.Millisecond, boffMax: 80 * time.Millisecond}}
	for attempt, ceil := range map[int]time.Duration{2: 10 * time.Millisecond, 3: 20 * time.Millisecond, 4: 40 * time.Millisecond, 5: 80 * time.Millisecond, 6: 80 * time.Millisecond, 70: 80 * time.Millisecond} {
		var maxSeen time.Duration
		for range 200 {
			d := c.backoff(attempt, &Error{})
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < ceil/4 {
			t.Errorf("attempt %d: 200 backoffs all below %v: no jitter up to the ceiling %v", attempt, maxSeen, ceil)
		}
	}
	if d := c.backoff(2, &Error{retryAfter: time.Second}); d != time.Second {
		t.Errorf("backoff with Retry-After 1s = %v", d)
	}
	if d := c.backoff(2, nil); d > 10*time.Millisecond {
		t.Errorf("backoff without an error = %v", d)
	}
}

// TestCredentialsErrorNotRetried: failing to load credentials ends the
// call after one try, with no request.
func TestCredentialsErrorNotRetried(t *testing.T) {
	c := &Client{core: &core{attempts: 5, boffBase: time.Millisecond, boffMax: time.Millisecond, obs: nopObserver{}}}
	waits := 0
	c.lim = limiterFunc(func(context.Context) error { waits++; return nil })
	c.creds = credsFunc(func(context.Context) (Credentials, error) { return Credentials{}, errors.New("no keys") })
	err := c.do(context.Background(), request{op: OpGetWorkspace, target: "workspace=ws"})
	e, ok := AsError(err)
	if !ok || waits != 1 || e.Retryable || e.Attempts != 1 || e.Error() != "get_workspace workspace=ws: no usable credentials: no keys" {
		t.Fatalf("err = %v after %d limiter waits", err, waits)
	}
	if r := ReasonOf(err); r != ReasonCredentials {
		t.Errorf("ReasonOf = %q, want %q", r, ReasonCredentials)
	}
}

type limiterFunc func(context.Context) error

func (f limiterFunc) Wait(ctx context.Context) error { return f(ctx) }
func (f limiterFunc) Throttled()                     {}

type credsFunc func(context.Context) (Credentials, error)

func (f credsFunc) Credentials(ctx context.Context) (Credentials, error) { return f(ctx) }
