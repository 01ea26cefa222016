package handler_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/handler"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// The long soak runs 100,000 scrapes of a larger inventory (3 workspaces,
// 12 projects; about 20 minutes on 2 cores without -race):
//
//	go test ./collector -run '^TestSoak$' -timeout 90m -v -soak.long
//
// (the flag goes after the package). The short one, 1,000 scrapes of a
// tiny inventory, runs by default.
var soakLong = flag.Bool("soak.long", false, "run the long soak test (100,000 scrapes; minutes)")

func soakInventory(long bool) *mitest.Inventory {
	if long {
		return mitest.Generate(11, mitest.GenConfig{Workspaces: 3, ProjectsPerWorkspace: 4, AssetsPerProject: 50})
	}
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{
		{Name: "soak-a", MonthlyAnalysisCount: 1, Projects: []*mitest.Project{
			{ID: 1, Name: "one", IsBase: true, Assets: []mitest.Asset{
				asset(1, "mp4", "1920x1080", 1000, 10, ""), asset(2, "png", "640x360", -1, 5, ""), asset(3, "mov", "1280x720", 5000, 20, ""),
			}},
			{ID: 2, Name: "two", Assets: []mitest.Asset{asset(4, "webm", "1920x1080", 1000, 10, "")}},
		}},
		{Name: "soak-b", Projects: []*mitest.Project{
			{ID: 3, Name: "three", IsBase: true, Assets: []mitest.Asset{asset(5, "jpg", "1080x1920", -1, 1, ""), asset(6, "avi", "320x240", 100, 1, "")}},
		}},
	}}
}

// soakFault picks the fault of one soak iteration and the scrape timeout
// header that goes with it.
func soakFault(rng *rand.Rand) (scope mitest.Scope, f mitest.Fault, timeout string, kind string) {
	ops := []client.Operation{"", client.OpListWorkspaces, client.OpListProjects, client.OpGetWorkspace, client.OpListAssets}
	scope = mitest.Scope{Operation: ops[rng.IntN(len(ops))]}
	if scope.Operation == client.OpListAssets && rng.IntN(2) == 0 {
		scope.ProjectID = int64(1 + rng.IntN(3))
	}
	timeout = "2"
	switch n := rng.IntN(100); {
	case n < 22:
		kind = "none"
	case n < 40:
		kind, f = "latency", mitest.Fault{Latency: time.Duration(1+rng.IntN(3)) * time.Millisecond}
	case n < 56:
		kind, f = "5xx", mitest.Fault{Status: []int{500, 502, 503, 504}[rng.IntN(4)], Body: mitest.BodyKind(rng.IntN(8)), Probability: 0.5, Seed: rng.Uint64()}
	case n < 70:
		kind, f = "429", mitest.Fault{Status: 429, Body: mitest.BodyGateway, ErrorCode: "410", Probability: 0.5, Seed: rng.Uint64()}
	case n < 80:
		kind, f = "truncated", mitest.Fault{Body: mitest.BodyTruncated, Times: 1 + rng.IntN(2)}
	case n < 86:
		kind, f = "reset", mitest.Fault{ResetMidBody: true, Times: 1}
	case n < 92:
		kind, f, timeout = "hang", mitest.Fault{Hang: true}, "0.02"
	case n < 96:
		// Every request is slow: the client gives up before any answer.
		kind, f, scope = "disconnect", mitest.Fault{Latency: 30 * time.Millisecond}, mitest.Scope{}
	default:
		kind, f = "coalesced", mitest.Fault{Latency: 5 * time.Millisecond}
	}
	return scope, f, timeout, kind
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSoak scrapes through random faults and checks that every scrape is
// answered and that goroutines and heap come back to where they started.
func TestSoak(t *testing.T) {
	iterations, warmup := 1000, 100
	if *soakLong {
		iterations, warmup = 100000, 2000
	}
	ignore := goleak.IgnoreCurrent()
	startGoroutines := runtime.NumGoroutine()

	func() {
		inv := soakInventory(*soakLong)
		probe := "/probe?workspace=" + inv.Workspaces[0].Name
		e := newEnv(t, inv, envOpts{
			pageSize: 2,
			opts:     handler.Options{Histograms: true, MaxInFlight: 16},
			clientFn: func(c *client.Config) { c.MaxAttempts = 3 },
		})
		tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
		hc := &http.Client{Transport: tr}
		defer func() {
			e.srv.Close()
			tr.CloseIdleConnections()
			e.api.CloseIdleConnections()
			e.sim.Close()
		}()

		scrape := func(ctx context.Context, path, timeout string) (int, string, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), err
		}
		check := func(i int, kind string, status int, body string) {
			if status != 200 || !strings.Contains(body, "\nncp_mediaintel_up{account=\"default\"} ") {
				t.Fatalf("iteration %d (%s): status %d: %.300s", i, kind, status, body)
			}
		}

		rng := rand.New(rand.NewPCG(20250423, 1))
		kinds := map[string]int{}
		spent := map[string]time.Duration{}
		var heapStart uint64
		start := time.Now()
		for i := range iterations {
			if i == warmup {
				heapStart = heapInUse()
			}
			e.logs.Reset() // the log would otherwise grow for the whole run
			e.sim.ClearFaults()
			scope, f, timeout, kind := soakFault(rng)
			kinds[kind]++
			if kind != "none" {
				e.sim.SetFault(scope, f)
			}
			itStart := time.Now()
			path := "/metrics"
			if rng.IntN(4) == 0 {
				path = probe
			}
			switch kind {
			case "disconnect":
				// The client goes away mid-scrape.
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+rng.IntN(20))*time.Millisecond)
				_, _, err := scrape(ctx, path, timeout)
				cancel()
				if err == nil || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("iteration %d: a scrape cancelled by its client ended with %v", i, err)
				}
			case "coalesced":
				var wg sync.WaitGroup
				for range 3 {
					wg.Go(func() {
						status, body, err := scrape(context.Background(), "/metrics", timeout)
						if err != nil {
							t.Errorf("iteration %d: %v", i, err)
							return
						}
						check(i, kind, status, body)
					})
				}
				wg.Wait()
			default:
				began := time.Now()
				status, body, err := scrape(context.Background(), path, timeout)
				if err != nil {
					t.Fatalf("iteration %d (%s): %v", i, kind, err)
				}
				check(i, kind, status, body)
				if kind == "hang" && time.Since(began) > time.Second {
					t.Fatalf("iteration %d: a hanging API held the scrape %v past its 20 ms deadline", i, time.Since(began))
				}
			}
			spent[kind] += time.Since(itStart)
		}
		// Passes left running by disconnected clients end on their own.
		testutil.Eventually(t, 5*time.Second, "no API pass in flight", func() bool {
			return e.h.Passes() == 0
		})
		e.logs.Reset()
		heapEnd := heapInUse()
		t.Logf("%d scrapes in %v; faults %v; time %v; heap after warm-up %d KiB, at the end %d KiB", iterations, time.Since(start).Round(time.Millisecond), kinds, spent, heapStart>>10, heapEnd>>10)
		const tolerance = 2 << 20
		if heapEnd > heapStart+tolerance {
			t.Errorf("heap grew from %d KiB to %d KiB over %d scrapes", heapStart>>10, heapEnd>>10, iterations-warmup)
		}
		if sum := e.sim.TotalRequests(); sum < int64(iterations) {
			t.Errorf("the simulator saw %d requests for %d scrapes", sum, iterations)
		}
	}()

	goleak.VerifyNone(t, ignore)
	testutil.Eventually(t, 5*time.Second, "goroutines back to the starting count", func() bool {
		return runtime.NumGoroutine() <= startGoroutines+2
	})
}

// countingListener counts the server side's open connections.
type countingListener struct {
	net.Listener
	open atomic.Int64
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

// TestClientDisconnectCancelsAPIWork: when Prometheus gives up on a scrape
// (here: cancels its request), the API requests of the pass are cancelled
// at once; the simulator's handlers, hanging until their client goes away,
// all see it, and their connections close.
func TestClientDisconnectCancelsAPIWork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	sim := mitest.NewServer(fmInventory(), mitest.WithListener(cl))
	t.Cleanup(sim.Close)
	e := newEnv(t, nil, envOpts{pageSize: fmPageSize, clientFn: fmUseServer(sim.URL)})
	sim.SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Hang: true})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "60")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Every project's first page is hanging in the simulator.
	testutil.Eventually(t, 5*time.Second, "five hanging asset-list requests", func() bool { return sim.Requests(client.OpListAssets) >= 5 })
	if n := cl.open.Load(); n < 5 {
		t.Fatalf("%d connections open to the simulator, want at least the 5 hanging ones", n)
	}
	if sim.MaxInFlight() < 5 {
		t.Fatalf("simulator saw at most %d requests in flight, want 5 hanging", sim.MaxInFlight())
	}

	cancel()
	t0 := time.Now()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("scrape ended with %v, want context.Canceled", err)
	}
	// The hanging requests end: their connections are closed by the client
	// and then by the simulator. Idle keep-alive connections are closed
	// here so that only cancellation can leave a connection open.
	testutil.Eventually(t, time.Second, "every simulator connection closed", func() bool {
		e.api.CloseIdleConnections()
		return cl.open.Load() == 0
	})
	testutil.Eventually(t, time.Second, "the API pass over", func() bool {
		return e.h.Passes() == 0
	})
	if took := time.Since(t0); took > 2*time.Second { // the hang is for ever
		t.Errorf("API work took %v to stop after the client went away", took)
	}
	if got := sim.Requests(client.OpListAssets); got != 5 {
		t.Errorf("%d asset-list requests, want 5: a cancelled request must not be retried", got)
	}
	if !strings.Contains(e.logs.String(), "context canceled") {
		t.Errorf("no log line says the scrape was cancelled:\n%s", e.logs.String())
	}
}
