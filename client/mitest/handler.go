package mitest

import (
	"net/http"

	"github.com/mediaintel/mediaintel_exporter/client"
)

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

	if !cleanPath(r.URL.EscapedPath()) {
		s.unknownPath(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unknownPath answers a path the API does not have, before authentication,
// as its gateway does.
func (s *Server) unknownPath(w http.ResponseWriter, r *http.Request) {
	s.reject(w, r, 404, "unknown path")
	s.writeGateway(w, r, nil, 404, "300", false, "Not Found Exception", "")
}

// serveAPI answers a request for one of the API's paths (routes): the
// request is counted, for the account its access key opens too, checked
// (method, signature, paging) and answered from that account.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	s.ops[opIndex(ri.op)].Add(1)
	k, known := s.lookupKey(r.Header.Get(client.HeaderAccessKey))
	if known {
		k.requests.Add(1)
		k.acct.count(ri)
	}
	if r.Method != http.MethodGet {
		s.reject(w, r, 405, "method not allowed")
		w.Header().Set("Allow", http.MethodGet)
		s.writeJSON(w, r, nil, 405, []byte(`{"code":"405","message":"Method Not Allowed"}`))
		return
	}
	if reason := s.authenticate(r, k, known); reason != "" {
		if reason == reasonKeyExpired {
			k.acct.expired.Add(1)
		}
		s.reject(w, r, 401, reason)
		s.writeGateway(w, r, nil, 401, "200", false, "Authentication Failed", reason)
		return
	}
	a := k.acct
	pg, reason := parsePaging(r, ri.op)
	if reason != "" {
		s.reject(w, r, 400, reason)
		s.writeJSON(w, r, nil, 400, []byte(`{"code":"10001","message":"Invalid Request."}`))
		return
	}
	ri.page = pg.num

	var af *activeFault
	if a.numFaults.Load() > 0 {
		if f, ok := a.faults.pick(ri); ok {
			af = &f
		}
	}
	if af == nil {
		bp := getBuf()
		status, body := a.answer(*bp, ri, pg, nil)
		s.writeJSON(w, r, nil, status, body)
		*bp = body
		putBuf(bp)
		return
	}
	s.serveFault(w, r, a, ri, pg, af)
}

// statusCall reports whether op is one of the per-asset status calls.
func statusCall(op client.Operation) bool {
	return op == client.OpImportStatus || op == client.OpAnalysisStatus || op == client.OpSceneSummaryStatus
}

func (s *Server) reject(_ http.ResponseWriter, r *http.Request, status int, reason string) {
	s.cfg.logger.Debug("mitest: request rejected", "method", r.Method, "uri", r.RequestURI, "status", status, "reason", reason)
}
