package scrape

import "slices"

// idSet is a compact set of asset IDs, in the manner of a roaring bitmap:
// IDs are grouped by their high 48 bits, and each group holds its low 16
// bits either as a sorted array (2 bytes an ID, while sparse) or as a 8 KiB
// bitmap (once it holds more than 4096 IDs). Asset IDs come from a counter,
// so a project's IDs cluster and the set costs about 2 bytes an asset or
// less, where a map[int64]struct{} costs about 40: this is what keeps a
// scrape's memory flat as projects grow.
type idSet struct {
	groups map[int64]*idGroup
}

type idGroup struct {
	arr  []uint16
	bits *[1024]uint64
}

const arrayMax = 4096

// add inserts id and reports whether it was new.
func (s *idSet) add(id int64) bool {
	if s.groups == nil {
		s.groups = make(map[int64]*idGroup)
	}
	hi, lo := id>>16, uint16(id) //nolint:gosec // G115: the low 16 bits, by design
	g := s.groups[hi]
	if g == nil {
		g = &idGroup{arr: make([]uint16, 0, 8)}
		s.groups[hi] = g
	}
	if g.bits != nil {
		w, m := lo>>6, uint64(1)<<(lo&63)
		if g.bits[w]&m != 0 {
			return false
		}
		g.bits[w] |= m
		return true
	}
	// Fast path: IDs mostly arrive in increasing order.
	n := len(g.arr)
	if n == 0 || g.arr[n-1] < lo {
		g.arr = append(g.arr, lo)
	} else {
		i, found := slices.BinarySearch(g.arr, lo)
		if found {
			return false
		}
		g.arr = slices.Insert(g.arr, i, lo)
	}
	if len(g.arr) > arrayMax {
		g.bits = new([1024]uint64)
		for _, v := range g.arr {
			g.bits[v>>6] |= uint64(1) << (v & 63)
		}
		g.arr = nil
	}
	return true
}
