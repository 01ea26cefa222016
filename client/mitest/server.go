package mitest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Default credentials accepted when no WithCredentials option is given.
const (
	DefaultAccessKey = "ncp_iam_SIMACCESSKEY000001"
	DefaultSecretKey = "ncp_iam_SIMSECRETKEY000000000001"
)

// ClockSkewLimit is how far a request timestamp may be from the server clock.
const ClockSkewLimit = 5 * time.Minute

// MaxPageNum is the largest pageNum accepted (a Java int on the real service).
const MaxPageNum = 1<<31 - 1

// opIndex is the index of op in client.Operations, or -1.
func opIndex(op client.Operation) int {
	for i, o := range client.Operations {
		if o == op {
			return i
		}
	}
	return -1
}

// Option configures a Server.
type Option func(*config)

type config struct {
	creds  map[string]string
	clock  func() time.Time
	ln     net.Listener
	logger *slog.Logger
	gzip   bool
	cache  int64
}

// WithCredentials adds an accepted access key and its secret key. When given
// at least once, the default credentials are not accepted.
func WithCredentials(accessKey, secretKey string) Option {
	return func(c *config) {
		if c.creds == nil {
			c.creds = map[string]string{}
		}
		c.creds[accessKey] = secretKey
	}
}

// WithClock sets the server clock used to check request timestamps.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithListener makes the server accept connections on ln instead of a new
// listener on 127.0.0.1. The server closes ln on Close.
func WithListener(ln net.Listener) Option { return func(c *config) { c.ln = ln } }

// WithLogger sets where the server logs rejected requests and faults (at
// debug level). The default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithGzip makes the server gzip JSON answers of more than 1 KiB when the
// request accepts gzip.
func WithGzip(on bool) Option { return func(c *config) { c.gzip = on } }

// WithPageCache keeps up to maxBytes of encoded asset pages in memory and
// serves repeated requests for them without encoding again. It is for
// benchmarks on a small machine, where the simulator's encoding would
// otherwise compete with the client for CPU, as the real API's does not.
// Pages are cached only when no fault changes their content; SetInventory
// and Update empty the cache.
func WithPageCache(maxBytes int64) Option { return func(c *config) { c.cache = maxBytes } }

// Server is a running simulator of the Media Intelligence API.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, without a trailing slash.
	URL string

	cfg config
	srv *http.Server
	ln  net.Listener
	mux *http.ServeMux // routes, to serveAPI

	invMu sync.RWMutex
	inv   *Inventory
	index map[string]*wsIndex

	faults    faultSet
	numFaults atomic.Int32

	total       atomic.Int64
	ops         []atomic.Int64 // by opIndex
	conns       atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
	projMu      sync.Mutex
	projCounts  map[projKey]int64

	cacheMu    sync.Mutex
	pages      map[pageKey][]byte
	cacheBytes int64

	statusMu     sync.Mutex
	statuses     map[assetKey]AssetStatus
	statusCounts map[assetKey]int64

	closeMu   sync.Mutex
	closed    bool
	handlers  sync.WaitGroup
	bg        sync.WaitGroup // background work (the demo's uploads), ended by done
	done      chan struct{}
	closeOnce sync.Once
}

type projKey struct {
	ws  string
	pid int64
}

type pageKey struct {
	proj projKey
	num  int
	size int
}

type wsIndex struct {
	ws       *Workspace
	projects map[int64]*Project
}

// NewServer starts a server answering for inv. It panics if it cannot
// listen, like httptest.NewServer.
func NewServer(inv *Inventory, opts ...Option) *Server {
	s := &Server{done: make(chan struct{}), projCounts: map[projKey]int64{}, ops: make([]atomic.Int64, len(client.Operations))}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.creds == nil {
		s.cfg.creds = map[string]string{DefaultAccessKey: DefaultSecretKey}
	}
	if s.cfg.clock == nil {
		s.cfg.clock = time.Now
	}
	if s.cfg.logger == nil {
		s.cfg.logger = slog.New(slog.DiscardHandler)
	}
	if inv == nil {
		inv = &Inventory{}
	}
	s.SetInventory(inv)
	s.mux = s.newMux()

	s.ln = s.cfg.ln
	if s.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("mitest: listen: %v", err))
		}
		s.ln = ln
	}
	s.URL = "http://" + s.ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.logger.Handler(), slog.LevelDebug),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go func() { _ = s.srv.Serve(s.ln) }()
	return s
}

// Close stops the server: it closes the listener and all connections, ends
// hanging and delayed requests, and waits for handlers to return.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		_ = s.srv.Close()
		close(s.done)
		s.handlers.Wait()
		s.bg.Wait()
	})
}

// SetInventory replaces the served inventory.
func (s *Server) SetInventory(inv *Inventory) {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	s.inv = inv
	s.reindex()
}

// dropPages empties the page cache; the caller holds invMu for writing.
func (s *Server) dropPages() {
	s.cacheMu.Lock()
	s.pages, s.cacheBytes = nil, 0
	s.cacheMu.Unlock()
}

// Update runs fn on the served inventory with no request being answered, so
// fn may change it freely.
func (s *Server) Update(fn func(inv *Inventory)) {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	fn(s.inv)
	s.reindex()
}

// View runs fn on the served inventory; fn must not change it.
func (s *Server) View(fn func(inv *Inventory)) {
	s.invMu.RLock()
	defer s.invMu.RUnlock()
	fn(s.inv)
}

func (s *Server) reindex() {
	s.dropPages()
	s.index = make(map[string]*wsIndex, len(s.inv.Workspaces))
	for _, ws := range s.inv.Workspaces {
		if ws == nil || s.index[ws.Name] != nil {
			continue
		}
		wi := &wsIndex{ws: ws, projects: make(map[int64]*Project, len(ws.Projects))}
		for _, p := range ws.Projects {
			if p != nil && wi.projects[p.ID] == nil {
				wi.projects[p.ID] = p
			}
		}
		s.index[ws.Name] = wi
	}
}

// SetFault makes requests in scope fail as f says. A fault set again for
// the same scope replaces the previous one and restarts its counts. When
// several faults match a request, the one with the most non-zero scope
// fields applies (the latest set on a tie).
func (s *Server) SetFault(scope Scope, f Fault) {
	s.faults.set(scope, f)
	s.numFaults.Store(int32(s.faults.len()))
}

// ClearFault removes the fault set for exactly this scope.
func (s *Server) ClearFault(scope Scope) {
	s.faults.clear(&scope)
	s.numFaults.Store(int32(s.faults.len()))
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.faults.clear(nil)
	s.numFaults.Store(0)
}

// Requests is the number of requests received for op, rejected ones included.
func (s *Server) Requests(op client.Operation) int64 {
	if i := opIndex(op); i >= 0 {
		return s.ops[i].Load()
	}
	return 0
}

// TotalRequests is the number of requests received, whatever their path.
func (s *Server) TotalRequests() int64 { return s.total.Load() }

// RequestsFor is the number of asset-list requests received for one project.
func (s *Server) RequestsFor(workspace string, projectID int64) int64 {
	s.projMu.Lock()
	defer s.projMu.Unlock()
	return s.projCounts[projKey{workspace, projectID}]
}

// ConnectionsOpened is the number of TCP connections accepted.
func (s *Server) ConnectionsOpened() int64 { return s.conns.Load() }

// MaxInFlight is the largest number of requests handled at the same time.
func (s *Server) MaxInFlight() int64 { return s.maxInflight.Load() }

// ResetCounters sets all request and connection counters to zero.
func (s *Server) ResetCounters() {
	s.total.Store(0)
	for i := range s.ops {
		s.ops[i].Store(0)
	}
	s.conns.Store(0)
	s.maxInflight.Store(0)
	s.projMu.Lock()
	clear(s.projCounts)
	s.projMu.Unlock()
	s.statusMu.Lock()
	clear(s.statusCounts)
	s.statusMu.Unlock()
}
