package scrape

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"testing"
)

// checkIDSet verifies the set against the IDs it should hold.
func checkIDSet(t *testing.T, s *idSet, want map[int64]bool) {
	t.Helper()
	if s.count() != len(want) {
		t.Fatalf("count() = %d, want %d", s.count(), len(want))
	}
	for id := range want {
		if s.add(id) {
			t.Fatalf("add(%d) of an ID already in the set reported it new", id)
		}
	}
	if s.count() != len(want) {
		t.Fatalf("after re-adding: count() = %d, want %d", s.count(), len(want))
	}
}

func TestIDSetSequential(t *testing.T) {
	const n = 300_000
	var s idSet
	want := make(map[int64]bool, n)
	for id := int64(1001); id < 1001+n; id++ {
		if !s.add(id) {
			t.Fatalf("add(%d) of a new ID reported a duplicate", id)
		}
		want[id] = true
	}
	checkIDSet(t, &s, want)
	// Every full group of 65536 IDs has become a bitmap; at most the two
	// partial groups at the ends may still be arrays, each of at most 4096.
	arrays := 0
	for hi, g := range s.groups {
		switch {
		case g.bits != nil && g.arr != nil:
			t.Errorf("group %d has both an array and a bitmap", hi)
		case g.bits == nil:
			arrays++
			if len(g.arr) > arrayMax {
				t.Errorf("group %d: array of %d IDs, over %d", hi, len(g.arr), arrayMax)
			}
		}
	}
	if arrays > 2 {
		t.Errorf("%d array groups, want at most 2", arrays)
	}
}

func TestIDSetRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, spread := range []int64{1 << 12, 1 << 18, 1 << 40} {
		var s idSet
		want := map[int64]bool{}
		for range 100_000 {
			// A wide spread gives many sparse groups; a narrow one
			// gives dense groups and many duplicates.
			id := r.Int64N(spread) - spread/2
			if s.add(id) == want[id] {
				t.Fatalf("spread %d: add(%d) = %v, but the ID was in the set: %v", spread, id, !want[id], want[id])
			}
			want[id] = true
		}
		checkIDSet(t, &s, want)
	}
}

// TestIDSetArrayToBitmap: a group turns into a bitmap when it goes over
// 4096 IDs, whatever order they came in, and keeps every ID.
func TestIDSetArrayToBitmap(t *testing.T) {
	for _, order := range []string{"increasing", "decreasing", "shuffled"} {
		t.Run(order, func(t *testing.T) {
			const hi = int64(7) << 16
			los := make([]int64, arrayMax+1)
			for i := range los {
				los[i] = int64(i) * 13 % 65536 // spread over the group
			}
			switch order {
			case "decreasing":
				for i, j := 0, len(los)-1; i < j; i, j = i+1, j-1 {
					los[i], los[j] = los[j], los[i]
				}
			case "shuffled":
				rand.New(rand.NewPCG(3, 4)).Shuffle(len(los), func(i, j int) { los[i], los[j] = los[j], los[i] })
			}
			var s idSet
			want := map[int64]bool{}
			for i, lo := range los[:arrayMax] {
				if !s.add(hi | lo) {
					t.Fatalf("add #%d reported a duplicate", i)
				}
				want[hi|lo] = true
				if s.add(hi | lo) {
					t.Fatalf("second add #%d reported a new ID", i)
				}
			}
			g := s.groups[7]
			if g.bits != nil || len(g.arr) != arrayMax {
				t.Fatalf("at %d IDs: bitmap %v, array of %d; want still an array", arrayMax, g.bits != nil, len(g.arr))
			}
			checkIDSet(t, &s, want)
			if !s.add(hi | los[arrayMax]) {
				t.Fatal("ID 4097 reported a duplicate")
			}
			want[hi|los[arrayMax]] = true
			if g.bits == nil || g.arr != nil {
				t.Fatalf("at %d IDs: bitmap %v, array of %d; want a bitmap only", arrayMax+1, g.bits != nil, len(g.arr))
			}
			checkIDSet(t, &s, want)
			// New IDs after the conversion, at the edges of the group.
			for _, lo := range []int64{1, 65535} {
				if !want[hi|lo] {
					if !s.add(hi | lo) {
						t.Fatalf("add(lo=%d) after conversion reported a duplicate", lo)
					}
					want[hi|lo] = true
				}
			}
			checkIDSet(t, &s, want)
			if len(s.groups) != 1 {
				t.Errorf("%d groups, want 1", len(s.groups))
			}
		})
	}
}

func TestIDSetNegativeAndEdges(t *testing.T) {
	ids := []int64{0, -1, 1, 65535, -65536, 65536, -65537, math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1}
	var s idSet
	want := map[int64]bool{}
	for _, id := range ids {
		if !s.add(id) {
			t.Fatalf("add(%d) reported a duplicate of a new ID", id)
		}
		want[id] = true
	}
	checkIDSet(t, &s, want)
	// -1 and 65535 share their low 16 bits but not their group; -1 and
	// -65536 share their group (-1). Groups: 0, 1, -1, -2, min, max.
	if len(s.groups) != 6 {
		t.Errorf("%d groups, want 6", len(s.groups))
	}
	// A dense run of negative IDs becomes a bitmap and stays exact.
	for id := int64(-70_000); id < -60_000; id++ {
		if s.add(id) != !want[id] {
			t.Fatalf("add(%d) disagrees with the reference", id)
		}
		want[id] = true
	}
	checkIDSet(t, &s, want)
}

func TestIDSetZeroValue(t *testing.T) {
	var s idSet
	if s.count() != 0 || s.bytes() != 0 {
		t.Fatalf("empty set: count %d, bytes %d", s.count(), s.bytes())
	}
}

// TestIDSetMemory: a million clustered IDs cost a few bytes an ID at most
// (a map[int64]struct{} costs about 40), and bytes() is an honest estimate
// of the heap the set holds.
func TestIDSetMemory(t *testing.T) {
	const n = 1_000_000
	for _, tc := range []struct {
		name   string
		stride int64   // this project's IDs among those of others
		max    float64 // bytes an ID
	}{
		{"contiguous", 1, 0.2},
		{"1 in 7", 7, 1.0},
		{"1 in 20", 20, 2.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			runtime.GC() // the second empties sync.Pool victims of earlier tests
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			s := &idSet{}
			for i := range int64(n) {
				s.add(1001 + i*tc.stride)
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			held := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
			per := float64(s.bytes()) / n
			t.Logf("%d IDs, %d groups: bytes() %d (%.2f B/ID), heap held %d", s.count(), len(s.groups), s.bytes(), per, held)
			if s.count() != n {
				t.Fatalf("count %d, want %d", s.count(), n)
			}
			if per > tc.max {
				t.Errorf("%.2f bytes an ID, want at most %.1f", per, tc.max)
			}
			// The estimate leaves out the groups map's own buckets; allow
			// for them and for noise from other goroutines.
			if held > int64(s.bytes())*3/2+256<<10 {
				t.Errorf("the set holds %d heap bytes, bytes() says %d", held, s.bytes())
			}
			runtime.KeepAlive(s)
		})
	}
}

// bytes estimates the memory the set holds.
func (s *idSet) bytes() int {
	total := 0
	for _, g := range s.groups {
		total += 48 + 2*cap(g.arr)
		if g.bits != nil {
			total += 8192
		}
	}
	return total
}

// count recomputes the size from the groups.
func (s *idSet) count() int {
	total := 0
	for _, g := range s.groups {
		if g.bits != nil {
			for _, w := range g.bits {
				total += bits.OnesCount64(w)
			}
		} else {
			total += len(g.arr)
		}
	}
	return total
}
