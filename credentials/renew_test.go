package credentials_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/credentials"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// TestRoleRenewal runs keys of several lifetimes through many lives on a
// fake clock: the provider never returns a key that has expired or
// expires within the margin, and renews each between half and two
// thirds of its life (at the latest five minutes before it expires).
func TestRoleRenewal(t *testing.T) {
	for _, tc := range []struct {
		life       time.Duration
		minA, maxA time.Duration // when the next key is fetched, after the last
	}{
		{time.Minute, 30 * time.Second, 40 * time.Second},
		{10 * time.Minute, 5 * time.Minute, 5 * time.Minute},                // five minutes before expiry is half its life
		{30 * time.Minute, 20 * time.Minute, 20 * time.Minute},              // two thirds
		{6 * time.Hour, 4 * time.Hour, 4 * time.Hour},                       // two thirds
		{20 * time.Second, 10 * time.Second, 10 * time.Second},              // half: the margin leaves 10 s
		{24 * time.Hour, 16 * time.Hour, 16 * time.Hour},                    // two thirds
		{15 * time.Minute, 10 * time.Minute, 10 * time.Minute},              // two thirds, exactly five minutes before
		{11 * time.Minute, 5*time.Minute + 30*time.Second, 6 * time.Minute}, // five minutes before expiry
	} {
		t.Run(tc.life.String(), func(t *testing.T) {
			clock := testutil.NewClock(t0)
			m := newMetadata(t, clock.Now)
			m.set(func(m *metadata) { m.life = tc.life })
			r := newRole(t, m.URL, clock.Now)
			step := tc.life / 120
			end := t0.Add(20 * tc.life)
			for ; clock.Now().Before(end); clock.Add(step) {
				now := clock.Now()
				c, err := r.Credentials(context.Background())
				if err != nil {
					t.Fatalf("at %v: %v", now.Sub(t0), err)
				}
				if !now.Before(c.Expires().Add(-client.ExpiryMargin)) {
					t.Fatalf("at %v: a key expiring at %v, within the margin", now.Sub(t0), c.Expires().Sub(t0))
				}
				credentials.Settle(r)
				if e := r.Expiry(); e.Before(c.Expires()) {
					t.Fatalf("Expiry %v is before the key's %v", e, c.Expires())
				}
			}
			keys := m.keys()
			for i := 1; i < len(keys); i++ {
				age := keys[i].at.Sub(keys[i-1].at)
				if age < tc.minA || age > tc.maxA+step {
					t.Errorf("key %d fetched %v after key %d, want %v to %v", i, age, i-1, tc.minA, tc.maxA)
				}
			}
			if want := int(20*tc.life/tc.maxA) - 1; len(keys) < want {
				t.Errorf("%d keys over 20 lives, want at least %d", len(keys), want)
			}
		})
	}
}

// TestRoleRenewalFailures: a renewal that fails is tried again with a
// backoff while the current key is good; once it is not, Credentials
// fails until a fetch succeeds.
func TestRoleRenewalFailures(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newMetadata(t, clock.Now)
	m.set(func(m *metadata) { m.life = time.Minute })
	r := newRole(t, m.URL, clock.Now)
	first, err := r.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.set(func(m *metadata) { m.keyStatus = 500 })
	var attempts []time.Duration // key requests while the service fails
	var failedFrom, recovered time.Duration
	for s := time.Second; s <= 2*time.Minute; s += time.Second {
		clock.Add(time.Second)
		if s == 70*time.Second {
			m.set(func(m *metadata) { m.keyStatus = 0 })
		}
		_, _, _, before := m.counts()
		c, err := r.Credentials(context.Background())
		credentials.Settle(r)
		if _, _, _, after := m.counts(); after > before && s < 70*time.Second {
			attempts = append(attempts, s)
		}
		switch {
		case s < 50*time.Second:
			if err != nil || c.AccessKey() != first.AccessKey() {
				t.Fatalf("at %v, with the first key good until 50s: %v, %v", s, c, err)
			}
		case err == nil:
			if !clock.Now().Before(c.Expires().Add(-client.ExpiryMargin)) {
				t.Fatalf("at %v: a key within the margin", s)
			}
			if recovered == 0 {
				recovered = s
			}
		default:
			if failedFrom == 0 {
				failedFrom = s
			}
			if recovered != 0 {
				t.Fatalf("at %v: %v after the recovery at %v", s, err, recovered)
			}
			if !strings.Contains(err.Error(), "HTTP 500") {
				t.Errorf("at %v: err %q does not say why", s, err)
			}
			noSecret(t, "the error", err.Error())
			if !r.Expiry().Equal(first.Expires()) {
				t.Errorf("at %v: Expiry %v, want the first key's %v", s, r.Expiry(), first.Expires())
			}
		}
	}
	// Renewal from 30 s, then 1, 2, 4, 8 s apart, then when the key
	// stops being usable (50 s), then every 15 s.
	want := []time.Duration{30, 31, 33, 37, 45, 50, 65}
	if fmt.Sprint(attempts) != fmt.Sprint(secs(want...)) {
		t.Errorf("fetches while failing at %v, want %v", attempts, secs(want...))
	}
	if failedFrom != 50*time.Second || recovered != 80*time.Second {
		t.Errorf("no key from %v until %v, want from 50s (the margin) until 80s (the backoff after 70s)", failedFrom, recovered)
	}
}

func secs(s ...time.Duration) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = v * time.Second
	}
	return out
}

// TestRoleWithClient: a real client, on the real clock, against the API
// simulator, with keys that live two seconds, over several lives and a
// time without the metadata service: every request the API received was
// signed with a key valid when it arrived, and while there was none, the
// calls failed with reason credentials and sent nothing.
func TestRoleWithClient(t *testing.T) {
	const (
		life   = 2 * time.Second
		margin = 600 * time.Millisecond // room for a scheduler under -race
	)
	m := newMetadata(t, time.Now)
	m.set(func(m *metadata) { m.life = life })
	var opts []mitest.Option
	for n := range 100 {
		opts = append(opts, mitest.WithCredentials(roleAccessKey(n), roleSecretKey(n)))
	}
	sim := mitest.NewServer(&mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "alpha"}}}, opts...)
	t.Cleanup(sim.Close)

	// In front of the simulator: what arrived when, signed with which key.
	type arrival struct {
		at time.Time
		ak string
	}
	var mu sync.Mutex
	var arrivals []arrival
	target, err := url.Parse(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, arrival{time.Now(), r.Header.Get(client.HeaderAccessKey)})
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	role := newRole(t, m.URL, nil, func(o *credentials.RoleOptions) {
		o.Margin, o.RetryBase, o.RetryMax = margin, 50*time.Millisecond, 200*time.Millisecond
	})
	c, err := client.New(client.Config{BaseURL: front.URL, Credentials: role, ExpiryMargin: margin, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var ok, noKey int
	for time.Since(start) < 8*time.Second {
		el := time.Since(start)
		down := el > 3*time.Second && el < 5500*time.Millisecond
		m.set(func(m *metadata) {
			m.keyStatus = 0
			if down {
				m.keyStatus = 500
			}
		})
		_, err := c.GetWorkspace(context.Background(), "alpha")
		switch {
		case err == nil:
			ok++
		case client.ReasonOf(err) == client.ReasonCredentials:
			noKey++
			noSecret(t, "the error", err.Error())
		default:
			t.Fatalf("at %v: %v", el, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	keys := map[string]issued{}
	for _, k := range m.keys() {
		keys[k.ak] = k
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range arrivals {
		k, known := keys[a.ak]
		if !known || a.at.Before(k.at) || !a.at.Before(k.expires) {
			t.Errorf("a request arrived at %v signed with %q, valid %v to %v", a.at.Sub(start), a.ak, k.at.Sub(start), k.expires.Sub(start))
		}
	}
	if len(keys) < 5 || ok == 0 || noKey == 0 || len(arrivals) != ok {
		t.Errorf("%d keys, %d calls succeeded, %d failed for want of a key, %d requests arrived; want at least 5 keys, calls of both kinds, a request for each success",
			len(keys), ok, noKey, len(arrivals))
	}
	t.Logf("%d keys, %d calls succeeded, %d failed for want of a key", len(keys), ok, noKey)
}
