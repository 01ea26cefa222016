package scrape

import (
	"context"
	"math"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/collector/status"
)

// pass is the state of one Scrape call and holds its two bounds (the
// README's "Concurrency and bounds" section says why each is there):
//   - inFlight: Concurrency requests on the wire at once; the pass's client
//     (Gated) holds a slot from sending a request to reading the end of its
//     body, so decoding and backoff free it;
//   - calls: twice as many API calls under way, which bounds the page
//     bodies held in memory while they wait for a slot or are decoded.
type pass struct {
	s        *Scraper
	api      *client.Client // s's client, gated by inFlight
	inFlight *semaphore.Weighted
	calls    *semaphore.Weighted
}

func newPass(s *Scraper) *pass {
	n := int64(s.cfg.Concurrency)
	p := &pass{s: s, inFlight: semaphore.NewWeighted(n), calls: semaphore.NewWeighted(2 * n)}
	p.api = s.api.Gated(p)
	return p
}

// Acquire implements client.Gate.
func (p *pass) Acquire(ctx context.Context) error { return p.inFlight.Acquire(ctx, 1) }

// Release implements client.Gate.
func (p *pass) Release() { p.inFlight.Release(1) }

// call runs one API call of the pass.
func (p *pass) call(ctx context.Context, f func() error) error {
	if err := p.calls.Acquire(ctx, 1); err != nil {
		return err
	}
	defer p.calls.Release(1)
	return f()
}

// projectList is the shared state of one project's pages.
type projectList struct {
	mu      sync.Mutex
	ids     idSet
	stats   Stats
	minSeen int64
	maxSeen int64
	// since is the start of the status tracker's window (Unix seconds);
	// recent collects the assets created or updated since then. Without a
	// tracker since is MaxInt64 and nothing is collected.
	since  int64
	recent []status.Asset
}

var recordPool = sync.Pool{New: func() any { s := make([]record, 0, client.MaxPageSize); return &s }}

// listAssets reads page 1, then the other pages in parallel (at most
// Concurrency pages of one project at once), merging each page into the
// aggregate (de-duplicated by asset ID) once it is complete. changed
// reports whether totalCount moved between pages.
func (p *pass) listAssets(ctx context.Context, pr *ProjectResult) (stats *Stats, recent []status.Asset, reported int64, changed bool, err error) {
	pl := &projectList{minSeen: -1, since: math.MaxInt64}
	if t := p.s.cfg.Tracker; t != nil {
		pl.since = t.Since()
	}
	loc := p.api.Location()
	fetch := func(ctx context.Context, page int) (client.PageInfo, error) {
		recs := recordPool.Get().(*[]record)
		defer recordPool.Put(recs)
		*recs = (*recs)[:0]
		var info client.PageInfo
		err := p.call(ctx, func() error {
			var err error
			info, err = p.api.AssetPage(ctx, pr.Workspace, pr.Project.ID, page, func(a *client.Asset) {
				*recs = append(*recs, makeRecord(a, loc))
			})
			return err
		})
		if err != nil {
			return info, err
		}
		pl.merge(*recs, info.TotalCount)
		return info, nil
	}
	first, err := fetch(ctx, 1)
	if err != nil {
		return nil, nil, 0, false, err
	}
	pages := client.PageCount(first, p.api.PageSize())
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.s.cfg.Concurrency)
	for page := 2; int64(page) <= pages; page++ {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			_, err := fetch(gctx, page)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, 0, false, err
	}
	return &pl.stats, pl.recent, first.TotalCount, pl.minSeen != pl.maxSeen, nil
}

func (pl *projectList) merge(recs []record, total int64) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.minSeen < 0 || total < pl.minSeen {
		pl.minSeen = total
	}
	if total > pl.maxSeen {
		pl.maxSeen = total
	}
	for i := range recs {
		r := &recs[i]
		if r.hasID {
			if !pl.ids.add(r.id) {
				pl.stats.Duplicates++
				continue
			}
		} else {
			pl.stats.WithoutID++
		}
		pl.stats.add(r)
		if r.hasID && (r.created >= pl.since || r.updated >= pl.since) {
			pl.recent = append(pl.recent, status.Asset{ID: r.id, Created: r.created, Updated: r.updated})
		}
	}
}
