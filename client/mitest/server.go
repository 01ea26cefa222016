package mitest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
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
	creds    []credential // the default account's keys; none: the default credentials
	accounts []accountSpec
	clock    func() time.Time
	ln       net.Listener
	logger   *slog.Logger
	gzip     bool
	cache    int64
}

type credential struct{ accessKey, secretKey string }

type accountSpec struct {
	credential
	inv *Inventory
}

// WithCredentials adds an accepted access key and its secret key to the
// default account. When given at least once, the default credentials are
// not accepted.
func WithCredentials(accessKey, secretKey string) Option {
	return func(c *config) { c.creds = append(c.creds, credential{accessKey, secretKey}) }
}

// WithAccount adds an account, reached with accessKey and secretKey, that
// serves inv (nil: no workspaces) and has its own asset statuses, faults
// and counters (Server.Account). NewServer panics when an access key is
// given to two accounts.
func WithAccount(accessKey, secretKey string, inv *Inventory) Option {
	return func(c *config) { c.accounts = append(c.accounts, accountSpec{credential{accessKey, secretKey}, inv}) }
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

// WithPageCache keeps up to maxBytes of encoded asset pages of each account
// in memory and serves repeated requests for them without encoding again.
// It is for benchmarks on a small machine, where the simulator's encoding
// would otherwise compete with the client for CPU, as the real API's does
// not. Pages are cached only when no fault changes their content;
// SetInventory and Update empty the account's cache.
func WithPageCache(maxBytes int64) Option { return func(c *config) { c.cache = maxBytes } }

// Server is a running simulator of the Media Intelligence API.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, without a trailing slash.
	URL string

	cfg config
	srv *http.Server
	ln  net.Listener
	mux *http.ServeMux // routes, to serveAPI

	def      *Account   // the default account
	accounts []*Account // every account, the default first
	keyMu    sync.RWMutex
	keys     map[string]key
	keyOrder []string // the access keys in the order given

	total       atomic.Int64
	ops         []atomic.Int64 // by opIndex
	conns       atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64

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

// NewServer starts a server whose default account serves inv. It panics
// if it cannot listen, like httptest.NewServer, or when an access key is
// given to two accounts.
func NewServer(inv *Inventory, opts ...Option) *Server {
	s := &Server{done: make(chan struct{}), keys: map[string]key{}, ops: make([]atomic.Int64, len(client.Operations))}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.creds == nil {
		s.cfg.creds = []credential{{DefaultAccessKey, DefaultSecretKey}}
	}
	if s.cfg.clock == nil {
		s.cfg.clock = time.Now
	}
	if s.cfg.logger == nil {
		s.cfg.logger = slog.New(slog.DiscardHandler)
	}
	s.def = newAccount(s, inv)
	s.accounts = []*Account{s.def}
	for _, c := range s.cfg.creds {
		s.addKey(s.def, c.accessKey, c.secretKey, time.Time{})
	}
	for _, spec := range s.cfg.accounts {
		a := newAccount(s, spec.inv)
		s.accounts = append(s.accounts, a)
		if _, ok := s.keys[spec.accessKey]; ok {
			panic(fmt.Sprintf("mitest: access key %q is given to two accounts", spec.accessKey))
		}
		s.addKey(a, spec.accessKey, spec.secretKey, time.Time{})
	}
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

// Account returns the account accessKey belongs to, nil if the server
// does not know the key.
func (s *Server) Account(accessKey string) *Account {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.keys[accessKey].acct
}

// Accounts returns every account of the server, the default one first,
// then those of WithAccount in order.
func (s *Server) Accounts() []*Account { return slices.Clone(s.accounts) }

// lookupKey returns what the server knows of an access key.
func (s *Server) lookupKey(accessKey string) (key, bool) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	k, ok := s.keys[accessKey]
	return k, ok
}

// SetInventory replaces the default account's inventory.
func (s *Server) SetInventory(inv *Inventory) { s.def.SetInventory(inv) }

// Update runs fn on the default account's inventory with no request of
// the account being answered, so fn may change it freely.
func (s *Server) Update(fn func(inv *Inventory)) { s.def.Update(fn) }

// View runs fn on the default account's inventory; fn must not change it.
func (s *Server) View(fn func(inv *Inventory)) { s.def.View(fn) }

// SetFault makes the default account's requests in scope fail as f says
// (see Account.SetFault).
func (s *Server) SetFault(scope Scope, f Fault) { s.def.SetFault(scope, f) }

// ClearFault removes the default account's fault set for exactly this
// scope.
func (s *Server) ClearFault(scope Scope) { s.def.ClearFault(scope) }

// ClearFaults removes all the default account's faults.
func (s *Server) ClearFaults() { s.def.ClearFaults() }

// Requests is the number of requests received for op, whatever their key,
// rejected ones included.
func (s *Server) Requests(op client.Operation) int64 {
	if i := opIndex(op); i >= 0 {
		return s.ops[i].Load()
	}
	return 0
}

// TotalRequests is the number of requests received, whatever their path.
func (s *Server) TotalRequests() int64 { return s.total.Load() }

// RequestsWithKey is the number of requests for the API's paths that
// carried accessKey, whatever their outcome (an expired key's included),
// for a key the server knows; 0 for any other.
func (s *Server) RequestsWithKey(accessKey string) int64 {
	if k, ok := s.lookupKey(accessKey); ok {
		return k.requests.Load()
	}
	return 0
}

// RequestsFor is the number of the default account's asset-list requests
// for one project.
func (s *Server) RequestsFor(workspace string, projectID int64) int64 {
	return s.def.RequestsFor(workspace, projectID)
}

// ConnectionsOpened is the number of TCP connections accepted.
func (s *Server) ConnectionsOpened() int64 { return s.conns.Load() }

// MaxInFlight is the largest number of requests handled at the same time.
func (s *Server) MaxInFlight() int64 { return s.maxInflight.Load() }

// ResetCounters sets all request and connection counters to zero, those
// of every account and key too.
func (s *Server) ResetCounters() {
	s.total.Store(0)
	for i := range s.ops {
		s.ops[i].Store(0)
	}
	s.conns.Store(0)
	s.maxInflight.Store(0)
	for _, a := range s.accounts {
		a.resetCounters()
	}
	s.keyMu.RLock()
	for _, k := range s.keys {
		k.requests.Store(0)
	}
	s.keyMu.RUnlock()
}
