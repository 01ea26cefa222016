package scrape

import (
	"sync"
	"sync/atomic"
	"time"
)

type cacheKey struct {
	workspace string
	project   int64
	countOnly bool
}

// projectCache keeps the last complete listing of each project for a TTL.
// Only successful listings are stored, so a failed refresh never replaces
// good figures with a partial count; and nothing older than the TTL is
// served.
type projectCache struct {
	ttl          time.Duration
	mu           sync.Mutex
	entries      map[cacheKey]*ProjectResult
	hits, misses atomic.Int64
	lastSweep    time.Time
}

func newProjectCache(ttl time.Duration) *projectCache {
	return &projectCache{ttl: ttl, entries: map[cacheKey]*ProjectResult{}}
}

func keyOf(pr *ProjectResult) cacheKey {
	return cacheKey{pr.Workspace, pr.Project.ID, pr.CountOnly}
}

func (c *projectCache) get(pr *ProjectResult) (ProjectResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[keyOf(pr)]
	if ok && time.Since(e.ReadAt) < c.ttl {
		c.hits.Add(1)
		return *e, true
	}
	c.misses.Add(1)
	return ProjectResult{}, false
}

func (c *projectCache) put(pr *ProjectResult) {
	e := *pr
	e.ReadAt = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[keyOf(pr)] = &e
	// Forget projects that are no longer listed.
	if now := time.Now(); now.Sub(c.lastSweep) > c.ttl {
		c.lastSweep = now
		for k, v := range c.entries {
			if now.Sub(v.ReadAt) > 2*c.ttl {
				delete(c.entries, k)
			}
		}
	}
}
