package status

import (
	"runtime"
	"testing"
	"time"
)

// trackMany makes a Tracker hold n recent assets in projects of perProject
// and returns the heap they take, in bytes, measured after a GC.
func trackMany(tb testing.TB, n, perProject int) (tr *Tracker, heap uint64) {
	tb.Helper()
	now := time.Now()
	tr, err := New(newFake(), Config{Window: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	batch := make([]Asset, perProject)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for p := 0; p*perProject < n; p++ {
		for i := range batch {
			id := int64(p*perProject + i + 1)
			batch[i] = Asset{ID: id, Created: now.Unix() - 60, Updated: now.Unix() - 30}
		}
		tr.Observe("workspace-"+string(rune('a'+p%26)), int64(p+1), batch)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return tr, after.HeapAlloc - before.HeapAlloc
}

// TestTrackerMemory: a million tracked assets fit in 160 MiB of heap.
func TestTrackerMemory(t *testing.T) {
	const n = 1_000_000
	tr, heap := trackMany(t, n, 10_000)
	if got := tr.Stats().Queue; got != n {
		t.Fatalf("%d assets queued, want %d", got, n)
	}
	t.Logf("%d tracked assets: %.1f MiB of heap, %.0f bytes an asset", n, float64(heap)/(1<<20), float64(heap)/n)
	if heap > 160<<20 {
		t.Errorf("%d tracked assets take %.1f MiB of heap, over 160 MiB", n, float64(heap)/(1<<20))
	}
	runtime.KeepAlive(tr)
}

// BenchmarkTrackerMemory reports the heap per tracked asset (bytes/asset)
// and for a million (MiB/1M), and the time of Observe per asset.
func BenchmarkTrackerMemory(b *testing.B) {
	const n = 1_000_000
	var heap uint64
	start := time.Now()
	for range b.N {
		tr, h := trackMany(b, n, 10_000)
		heap = max(heap, h)
		runtime.KeepAlive(tr)
	}
	b.ReportMetric(float64(heap)/n, "bytes/asset")
	b.ReportMetric(float64(heap)/(1<<20), "MiB/1M")
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/n, "ns/observed_asset")
}
