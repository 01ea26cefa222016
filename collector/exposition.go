package collector

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Family is one metric family of the scrape exposition: its name, HELP
// text, type and label names, fixed when the package is loaded.
type Family struct {
	Name   string
	Help   string
	Type   dto.MetricType
	Labels []string

	write func(x *exposition, f *Family)
	// order lists the indexes of Labels sorted by name: samples carry
	// their labels sorted, as client_golang's registry writes them.
	order []int
}

// Families lists every family of the scrape exposition, in the order they
// are written. A family is only written when it has samples.
var Families []*Family

func newFamily(name, help string, typ dto.MetricType, write func(*exposition, *Family), labels ...string) *Family {
	f := &Family{Name: Namespace + "_" + name, Help: help, Type: typ, Labels: labels, write: write, order: sortedOrder(labels)}
	Families = append(Families, f)
	return f
}

// sortedOrder returns the indexes of names in the order of the names.
func sortedOrder(names []string) []int {
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	return order
}

// Account is what an exposition says of an account beside its Results.
type Account struct {
	Name string
	// Labels are the account's static labels (account_info).
	Labels map[string]string
	// KeyExpiry is when its current temporary key expires; zero for a
	// key that does not.
	KeyExpiry time.Time
	// MaxStaleness is the background mode's staleness limit; 0 in
	// on-scrape mode.
	MaxStaleness time.Duration
}

// ResultOptions say which optional series an exposition holds.
type ResultOptions struct {
	// Histograms exports the size and duration distributions.
	Histograms bool
	// CacheAge exports cache_age_seconds (the cache is on).
	CacheAge bool
	// ProjectOnly leaves out the workspace series (a project probe).
	ProjectOnly bool
	// Now is the time the ages are measured at (time.Now when zero).
	Now time.Time
}

// WriteResults encodes, family by family, the accounts' series and the
// Results of a scrape (one Result per account, in the order given), so
// that only one family is held in memory at a time. It returns the first
// encoding error (a client that went away).
func WriteResults(enc expfmt.Encoder, accounts []Account, results []*scrape.Result, opts ResultOptions) error {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	x := &exposition{enc: enc, opts: opts, accounts: accounts}
	for _, r := range results {
		x.results = append(x.results, view(r))
	}
	for _, f := range Families {
		x.begin(f)
		f.write(x, f)
		x.end()
		if x.err != nil {
			return x.err
		}
	}
	return nil
}

// resultView is a Result with the label values of its projects made once.
type resultView struct {
	r        *scrape.Result
	projects []projectView
}

type projectView struct {
	p  *scrape.ProjectResult
	id string
}

func view(r *scrape.Result) resultView {
	v := resultView{r: r}
	for _, w := range r.Workspaces {
		for _, p := range w.Projects {
			v.projects = append(v.projects, projectView{p, strconv.FormatInt(p.Project.ID, 10)})
		}
	}
	return v
}

// exposition builds one family at a time into reused storage: the
// metrics, label pairs and values of a family are taken from arenas that
// the next family reuses, so a scrape of 10,000 projects allocates what
// its largest family needs, once.
type exposition struct {
	enc      expfmt.Encoder
	opts     ResultOptions
	accounts []Account
	results  []resultView
	err      error

	f       *Family
	mf      dto.MetricFamily
	metrics arena[dto.Metric]
	pairs   arena[dto.LabelPair]
	gauges  arena[dto.Gauge]
	hists   arena[dto.Histogram]
	buckets arena[dto.Bucket]
	strs    arena[string]
	floats  arena[float64]
	uints   arena[uint64]
	pairPtr sliceArena[*dto.LabelPair]
	bucketP sliceArena[*dto.Bucket]
}

// arena hands out pointers to T from chunks that are reused after reset:
// a pointer stays valid until then.
type arena[T any] struct {
	chunks [][]T
	n      int // items handed out
}

const arenaChunk = 1024

func (a *arena[T]) next() *T {
	c, i := a.n/arenaChunk, a.n%arenaChunk
	if c == len(a.chunks) {
		a.chunks = append(a.chunks, make([]T, arenaChunk))
	}
	a.n++
	p := &a.chunks[c][i]
	var zero T
	*p = zero
	return p
}

func (a *arena[T]) reset() { a.n = 0 }

// sliceArena hands out slices of T of a given length from reused chunks.
type sliceArena[T any] struct {
	chunks [][]T
	c, i   int // the chunk in use, and its first free item
}

func (s *sliceArena[T]) get(n int) []T {
	for s.c < len(s.chunks) && s.i+n > len(s.chunks[s.c]) {
		s.c, s.i = s.c+1, 0
	}
	if s.c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, max(arenaChunk, n)))
	}
	out := s.chunks[s.c][s.i : s.i+n : s.i+n]
	s.i += n
	return out
}

func (s *sliceArena[T]) reset() { s.c, s.i = 0, 0 }

func (x *exposition) begin(f *Family) {
	x.f = f
	x.mf = dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: f.Type.Enum(), Metric: x.mf.Metric[:0]}
	for _, a := range []interface{ reset() }{&x.metrics, &x.pairs, &x.gauges, &x.hists, &x.buckets, &x.strs, &x.floats, &x.uints, &x.pairPtr, &x.bucketP} {
		a.reset()
	}
}

func (x *exposition) end() {
	if x.err != nil || len(x.mf.Metric) == 0 {
		return
	}
	if err := x.enc.Encode(&x.mf); err != nil {
		x.err = fmt.Errorf("writing %s: %w", x.f.Name, err)
	}
}

func (x *exposition) str(s string) *string {
	p := x.strs.next()
	*p = s
	return p
}

func (x *exposition) float(v float64) *float64 {
	p := x.floats.next()
	*p = v
	return p
}

func (x *exposition) uint(v uint64) *uint64 {
	p := x.uints.next()
	*p = v
	return p
}

// metric starts a sample of the current family with its label values,
// given in the order of the family's Labels.
func (x *exposition) metric(values ...string) *dto.Metric {
	f := x.f
	if len(values) != len(f.Labels) {
		// A programming error, found by the tests of every family.
		x.err = errors.Join(x.err, fmt.Errorf("%s: %d label values for %d labels", f.Name, len(values), len(f.Labels)))
		values = make([]string, len(f.Labels))
	}
	m := x.metrics.next()
	m.Label = x.pairPtr.get(len(f.order))
	for j, i := range f.order {
		lp := x.pairs.next()
		lp.Name, lp.Value = &f.Labels[i], x.str(values[i])
		m.Label[j] = lp
	}
	x.mf.Metric = append(x.mf.Metric, m)
	return m
}

func (x *exposition) gauge(v float64, values ...string) {
	g := x.gauges.next()
	g.Value = x.float(v)
	x.metric(values...).Gauge = g
}

func (x *exposition) histogram(h *scrape.Hist, bounds []float64, values ...string) {
	d := x.hists.next()
	d.SampleCount, d.SampleSum = x.uint(h.Count), x.float(h.Sum)
	var cum [16]uint64
	d.Bucket = x.bucketP.get(len(bounds))
	for i, c := range h.AppendCumulative(cum[:0], bounds) {
		b := x.buckets.next()
		b.CumulativeCount, b.UpperBound = x.uint(c), &bounds[i]
		d.Bucket[i] = b
	}
	x.metric(values...).Histogram = d
}

// writeAccountInfo writes account_info, whose labels are the accounts'
// static labels: the union of every account's label names, empty where an
// account has none of that name, so that the family has one label set.
func writeAccountInfo(x *exposition, info *Family) {
	names := []string{"account"}
	for _, a := range x.accounts {
		for k := range a.Labels {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names[1:])
	x.begin(&Family{Name: info.Name, Help: info.Help, Type: info.Type, Labels: names, order: sortedOrder(names)})
	values := make([]string, len(names))
	for _, a := range x.accounts {
		values[0] = a.Name
		for i, k := range names[1:] {
			values[i+1] = a.Labels[k]
		}
		x.gauge(1, values...)
	}
}
