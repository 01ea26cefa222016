package mitest

import (
	"bufio"
	"compress/gzip"
	"crypto/hmac"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// SignRequest sets the authentication headers of req for the given
// credentials and time, as an API client does.
func SignRequest(req *http.Request, accessKey, secretKey string, now time.Time) {
	ts := now.UnixMilli()
	req.Header.Set(client.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(client.HeaderAccessKey, accessKey)
	req.Header.Set(client.HeaderSignature, client.Sign(req.Method, req.URL.RequestURI(), ts, accessKey, secretKey))
	req.Header.Set("Content-Type", "application/json")
}

func (s *Server) enter() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		s.writeGateway(w, r, nil, 503, "500", false, "Endpoint Error", "server closing")
		return
	}
	defer s.handlers.Done()
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	s.total.Add(1)

	ri, ok := route(r.URL.Path)
	if !ok {
		s.reject(w, r, 404, "unknown path")
		s.writeGateway(w, r, nil, 404, "300", false, "Not Found Exception", "")
		return
	}
	s.ops[opIndex(ri.op)].Add(1)
	switch {
	case ri.op == client.OpListAssets && ri.hasPID:
		s.projMu.Lock()
		s.projCounts[projKey{ri.workspace, ri.projectID}]++
		s.projMu.Unlock()
	case ri.op == client.OpImportStatus || ri.op == client.OpAnalysisStatus:
		s.statusMu.Lock()
		if s.statusCounts == nil {
			s.statusCounts = map[assetKey]int64{}
		}
		s.statusCounts[assetKey{ri.workspace, ri.projectID, ri.assetID}]++
		s.statusMu.Unlock()
	}
	if r.Method != http.MethodGet {
		s.reject(w, r, 405, "method not allowed")
		w.Header().Set("Allow", http.MethodGet)
		s.writeJSON(w, r, nil, 405, []byte(`{"code":"405","message":"Method Not Allowed"}`))
		return
	}
	if reason := s.authenticate(r); reason != "" {
		s.reject(w, r, 401, reason)
		s.writeGateway(w, r, nil, 401, "200", false, "Authentication Failed", reason)
		return
	}
	pg, reason := parsePaging(r, ri.op)
	if reason != "" {
		s.reject(w, r, 400, reason)
		s.writeJSON(w, r, nil, 400, []byte(`{"code":"10001","message":"Invalid Request."}`))
		return
	}
	ri.page = pg.num

	var af *activeFault
	if s.numFaults.Load() > 0 {
		if f, ok := s.faults.pick(&ri); ok {
			af = &f
		}
	}
	if af == nil {
		bp := getBuf()
		status, body := s.answer(*bp, &ri, pg, nil)
		s.writeJSON(w, r, nil, status, body)
		*bp = body
		putBuf(bp)
		return
	}
	s.serveFault(w, r, &ri, pg, af)
}

func (s *Server) reject(_ http.ResponseWriter, r *http.Request, status int, reason string) {
	s.cfg.logger.Debug("mitest: request rejected", "method", r.Method, "uri", r.RequestURI, "status", status, "reason", reason)
}

// route splits an API path into the operation and its parameters.
func route(path string) (ri reqInfo, ok bool) {
	rest, found := strings.CutPrefix(path, "/api/v1/workspaces")
	if !found {
		return ri, false
	}
	if rest == "" {
		ri.op = client.OpListWorkspaces
		return ri, true
	}
	rest, found = strings.CutPrefix(rest, "/")
	if !found {
		return ri, false
	}
	ws, rest, _ := strings.Cut(rest, "/")
	if ws == "" {
		return ri, false
	}
	ri.workspace = ws
	if rest == "" && !strings.HasSuffix(path, "/") {
		ri.op = client.OpGetWorkspace
		return ri, true
	}
	if rest == "projects" {
		ri.op = client.OpListProjects
		return ri, true
	}
	rest, found = strings.CutPrefix(rest, "projects/")
	if !found {
		return ri, false
	}
	pid, rest, _ := strings.Cut(rest, "/")
	if v, ok := parseDigits(pid, 1<<62); ok {
		ri.projectID, ri.hasPID = v, true
	}
	if pid == "" {
		return ri, false
	}
	if rest == "assets" {
		ri.op = client.OpListAssets
		return ri, true
	}
	// assets/{asset_id}/import-status and assets/{asset_id}/index/status
	rest, found = strings.CutPrefix(rest, "assets/")
	if !found {
		return ri, false
	}
	aid, rest, _ := strings.Cut(rest, "/")
	switch rest {
	case "import-status":
		ri.op = client.OpImportStatus
	case "index/status":
		ri.op = client.OpAnalysisStatus
	default:
		return ri, false
	}
	if v, ok := parseDigits(aid, 1<<62); ok {
		ri.assetID = v
	}
	return ri, true
}

// parseDigits parses a non-empty string of ASCII digits no greater than limit.
func parseDigits(s string, limit int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if v > limit {
			return 0, false
		}
	}
	return v, true
}

func (s *Server) authenticate(r *http.Request) string {
	tsText := r.Header.Get(client.HeaderTimestamp)
	ak := r.Header.Get(client.HeaderAccessKey)
	sig := r.Header.Get(client.HeaderSignature)
	switch {
	case tsText == "":
		return "missing " + client.HeaderTimestamp + " header"
	case ak == "":
		return "missing " + client.HeaderAccessKey + " header"
	case sig == "":
		return "missing " + client.HeaderSignature + " header"
	}
	ts, ok := parseDigits(tsText, 1<<62)
	if !ok {
		return "invalid " + client.HeaderTimestamp + " header: not a millisecond epoch"
	}
	sk, ok := s.cfg.creds[ak]
	if !ok {
		return "unknown access key"
	}
	skew := s.cfg.clock().UnixMilli() - ts
	if skew < 0 {
		skew = -skew
	}
	if skew > ClockSkewLimit.Milliseconds() {
		return "timestamp is out of the 5 minute window"
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	want := client.Sign(r.Method, uri, ts, ak, sk)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "signature mismatch"
	}
	return ""
}

type paging struct {
	num  int // 0 for operations that are not paged
	size int
}

// paged reports whether op takes pageNum and pageSize.
func paged(op client.Operation) bool {
	return op == client.OpListWorkspaces || op == client.OpListAssets
}

func parsePaging(r *http.Request, op client.Operation) (paging, string) {
	if !paged(op) {
		return paging{}, ""
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return paging{}, "malformed query string"
	}
	pg := paging{size: client.MaxPageSize}
	nums, ok := q["pageNum"]
	if !ok {
		return pg, "pageNum is required"
	}
	v, ok := parseDigits(nums[0], MaxPageNum)
	if !ok || v < 1 {
		return pg, "pageNum must be an integer of 1 or more"
	}
	pg.num = int(v)
	if sizes, ok := q["pageSize"]; ok {
		v, ok := parseDigits(sizes[0], client.MaxPageSize)
		if !ok || v < 1 {
			return pg, "pageSize must be an integer from 1 to 1000"
		}
		pg.size = int(v)
	}
	return pg, ""
}

const (
	ctypeJSON  = "application/json;charset=UTF-8"
	ctypeHTML  = "text/html"
	ctypePlain = "text/plain; charset=utf-8"
)

// writeJSON writes a complete JSON answer, gzipped when enabled and useful.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, af *activeFault, status int, body []byte) {
	s.write(w, r, af, status, ctypeJSON, body)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, af *activeFault, status int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	if af != nil && af.RetryAfter != "" {
		h.Set("Retry-After", af.RetryAfter)
	}
	if s.cfg.gzip && len(body) > 1024 && ctype == ctypeJSON && acceptsGzip(r) {
		zb := getBuf()
		defer putBuf(zb)
		bw := bytesWriter{b: *zb}
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(&bw)
		_, _ = zw.Write(body)
		_ = zw.Close()
		gzipPool.Put(zw)
		*zb = bw.b
		body = bw.b
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(name, "gzip") {
				return true
			}
		}
	}
	return false
}

func appendGatewayBody(b []byte, code string, numeric bool, message, details string) []byte {
	b = append(b, `{"error":{"errorCode":`...)
	if numeric {
		b = append(b, code...)
	} else {
		b = appendJSONString(b, code)
	}
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	if details != "" {
		b = append(b, `,"details":`...)
		b = appendJSONString(b, details)
	}
	return append(b, "}}"...)
}

func (s *Server) writeGateway(w http.ResponseWriter, r *http.Request, af *activeFault, status int, code string, numeric bool, message, details string) {
	s.writeJSON(w, r, af, status, appendGatewayBody(nil, code, numeric, message, details))
}

// answer builds the normal answer to a validated request into b.
func (s *Server) answer(b []byte, ri *reqInfo, pg paging, af *activeFault) (int, []byte) {
	var o encOpts
	if af != nil && af.Body == BodyWrongTypes {
		o.wrongTypes = true
	}
	s.invMu.RLock()
	defer s.invMu.RUnlock()
	switch ri.op {
	case client.OpListWorkspaces:
		return 200, appendWorkspacePage(b, s.inv.Workspaces, pg, af, o)
	case client.OpGetWorkspace:
		wi := s.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendWorkspaceDetails(b, wi.ws, o)
	case client.OpListProjects:
		wi := s.index[ri.workspace]
		if wi == nil {
			return 404, append(b, notFoundBody...)
		}
		return 200, appendProjects(b, wi.ws.Projects, o)
	case client.OpListAssets:
		wi := s.index[ri.workspace]
		if wi == nil || !ri.hasPID {
			return 404, append(b, notFoundBody...)
		}
		p := wi.projects[ri.projectID]
		if p == nil {
			return 404, append(b, notFoundBody...)
		}
		if s.cfg.cache <= 0 || (af != nil && af.changesPage()) {
			return 200, appendAssetPage(b, p, pg, af, o)
		}
		key := pageKey{projKey{ri.workspace, ri.projectID}, pg.num, pg.size}
		s.cacheMu.Lock()
		cached, ok := s.pages[key]
		s.cacheMu.Unlock()
		if ok {
			return 200, append(b, cached...)
		}
		start := len(b)
		b = appendAssetPage(b, p, pg, af, o)
		s.cacheMu.Lock()
		if n := int64(len(b) - start); s.cacheBytes+n <= s.cfg.cache {
			if s.pages == nil {
				s.pages = map[pageKey][]byte{}
			}
			s.pages[key] = append([]byte(nil), b[start:]...)
			s.cacheBytes += n
		}
		s.cacheMu.Unlock()
		return 200, b
	case client.OpImportStatus, client.OpAnalysisStatus:
		wi := s.index[ri.workspace]
		if wi == nil || !ri.hasPID || wi.projects[ri.projectID] == nil || ri.assetID == 0 {
			return 404, append(b, notFoundBody...)
		}
		st, ok := s.assetStatus(ri.workspace, wi.projects[ri.projectID], ri.assetID)
		if !ok {
			return 404, append(b, notFoundBody...)
		}
		if ri.op == client.OpImportStatus {
			return 200, appendImportStatus(b, ri.assetID, st, o)
		}
		return 200, appendAnalysisStatus(b, ri.assetID, st, o)
	}
	return 404, append(b, notFoundBody...)
}

const notFoundBody = `{"code":"404","message":"Not Found"}`

// wait blocks for d, or until the client goes away or the server closes;
// it reports whether the full time passed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-tc:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, ri *reqInfo, pg paging, af *activeFault) {
	s.cfg.logger.Debug("mitest: fault", "op", ri.op, "uri", r.RequestURI, "status", af.Status, "body", af.Body,
		"hang", af.Hang, "latency", af.Latency, "reset", af.ResetMidBody, "shift", af.shiftBy)
	if af.Latency > 0 && !s.wait(r, af.Latency) {
		return
	}
	if af.Hang {
		s.wait(r, -1)
		return
	}
	status := af.status()
	ctype := ctypeJSON
	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]

	switch {
	case af.Body == BodyHuge:
		s.writeHuge(w, r, af, status)
		return
	case af.Body == BodyDefault && af.Status >= 400:
		if g, ok := gatewayByStatus(af.Status); ok {
			b = appendGatewayBody(b, g.Code, af.ErrorCodeNumeric, orDefault(af.Message, g.Message), "")
		} else {
			b = appendMIBody(b, strconv.Itoa(af.Status), orDefault(af.Message, http.StatusText(af.Status)))
		}
	case af.replacesBody():
		b, ctype = appendFaultBody(b, af, status)
	default:
		var st int
		st, b = s.answer(b, ri, pg, af)
		if st != 200 {
			status = st
		}
		if af.Body == BodyTruncated {
			b = b[:len(b)/2]
		}
	}
	*bp = b
	if af.ResetMidBody {
		s.resetMidBody(w, af, status, ctype, int64(len(b)), func(wr io.Writer) { _, _ = wr.Write(b[:len(b)/2]) })
		return
	}
	s.write(w, r, af, status, ctype, b)
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func appendMIBody(b []byte, code, message string) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	return append(b, '}')
}

func appendFaultBody(b []byte, af *activeFault, status int) ([]byte, string) {
	switch af.Body {
	case BodyGateway:
		g, ok := gatewayByCode(af.ErrorCode)
		if !ok {
			g, ok = gatewayByStatus(status)
		}
		if !ok {
			g = GatewayError{Code: "900", Message: "Unexpected Error"}
		}
		code := orDefault(af.ErrorCode, g.Code)
		return appendGatewayBody(b, code, af.ErrorCodeNumeric, orDefault(af.Message, g.Message), "simulated fault"), ctypeJSON
	case BodyMI:
		return appendMIBody(b, orDefault(af.ErrorCode, "10001"), orDefault(af.Message, "Invalid Request.")), ctypeJSON
	case BodyMINested:
		b = append(b, `{"responseError":`...)
		b = appendMIBody(b, orDefault(af.ErrorCode, "10001"), orDefault(af.Message, "Invalid Request."))
		return append(b, '}'), ctypeJSON
	case BodyEmpty:
		return b, ctypeJSON
	case BodyHTML:
		title := strconv.Itoa(status) + " " + http.StatusText(status)
		b = append(b, "<html>\r\n<head><title>"...)
		b = append(b, title...)
		b = append(b, "</title></head>\r\n<body>\r\n<center><h1>"...)
		b = append(b, title...)
		b = append(b, "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"...)
		return b, ctypeHTML
	case BodyPlain:
		return append(b, orDefault(af.Message, "upstream connect error or disconnect/reset before headers. reset reason: connection termination")...), ctypePlain
	case BodyMalformed:
		return append(b, `{"code":"0","message":"success","result":{"content":[{"assetId":1001 "fileName":"a.mp4"},],"totalCount":1`...), ctypeJSON
	}
	return b, ctypeJSON
}

const (
	hugePrefix = `{"code":"0","message":"`
	hugeSuffix = `"}`
)

var hugeFill = []byte(strings.Repeat("x", 32<<10))

// writeHugeBody writes a JSON object of exactly n bytes (at least the
// prefix and suffix), stopping after limit bytes.
func writeHugeBody(w io.Writer, n, limit int64) error {
	n = max(n, int64(len(hugePrefix)+len(hugeSuffix)))
	written := int64(0)
	put := func(p []byte) error {
		if written+int64(len(p)) > limit {
			p = p[:limit-written]
		}
		m, err := w.Write(p)
		written += int64(m)
		return err
	}
	if err := put([]byte(hugePrefix)); err != nil || written >= limit {
		return err
	}
	fill := n - int64(len(hugePrefix)+len(hugeSuffix))
	for fill > 0 && written < limit {
		chunk := hugeFill
		if fill < int64(len(chunk)) {
			chunk = chunk[:fill]
		}
		if err := put(chunk); err != nil {
			return err
		}
		fill -= int64(len(chunk))
	}
	if written >= limit {
		return nil
	}
	return put([]byte(hugeSuffix))
}

func (s *Server) writeHuge(w http.ResponseWriter, r *http.Request, af *activeFault, status int) {
	n := af.HugeBytes
	if n <= 0 {
		n = DefaultHugeBytes
	}
	n = max(n, int64(len(hugePrefix)+len(hugeSuffix)))
	if af.ResetMidBody {
		s.resetMidBody(w, af, status, ctypeJSON, n, func(wr io.Writer) { _ = writeHugeBody(wr, n, n/2) })
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctypeJSON)
	if af.RetryAfter != "" {
		h.Set("Retry-After", af.RetryAfter)
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	_ = writeHugeBody(ctxWriter{w: w, r: r, done: s.done}, n, n)
}

// ctxWriter fails once the client is gone or the server closes.
type ctxWriter struct {
	w    io.Writer
	r    *http.Request
	done chan struct{}
}

func (c ctxWriter) Write(p []byte) (int, error) {
	select {
	case <-c.r.Context().Done():
		return 0, c.r.Context().Err()
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	return c.w.Write(p)
}

// resetDelay lets the client read what was sent before the reset, which
// would otherwise discard it.
const resetDelay = 20 * time.Millisecond

// resetMidBody announces a body of length n, writes part of it with
// writeBody, then resets the connection.
func (s *Server) resetMidBody(w http.ResponseWriter, af *activeFault, status int, ctype string, n int64, writeBody func(io.Writer)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	bw := rw.Writer
	if bw == nil {
		bw = bufio.NewWriter(conn)
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", status, http.StatusText(status), ctype, n)
	if af.RetryAfter != "" {
		fmt.Fprintf(bw, "Retry-After: %s\r\n", af.RetryAfter)
	}
	_, _ = bw.WriteString("\r\n") // a write error shows at Flush below
	writeBody(bw)
	if bw.Flush() != nil {
		return
	}
	t := time.NewTimer(resetDelay)
	select {
	case <-t.C:
	case <-s.done:
		t.Stop()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}
