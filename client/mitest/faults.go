package mitest

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// GatewayError is one row of the NCP API Gateway error catalogue.
type GatewayError struct {
	HTTP    int
	Code    string
	Message string
}

// GatewayErrors is the API Gateway error catalogue from the NCP docs.
var GatewayErrors = []GatewayError{
	{HTTP: 400, Code: "100", Message: "Bad Request Exception"},
	{HTTP: 401, Code: "200", Message: "Authentication Failed"},
	{HTTP: 401, Code: "210", Message: "Permission Denied"},
	{HTTP: 403, Code: "230", Message: "Forbidden"},
	{HTTP: 404, Code: "300", Message: "Not Found Exception"},
	{HTTP: 413, Code: "430", Message: "Request Entity Too Large"},
	{HTTP: 429, Code: "400", Message: "Quota Exceeded"},
	{HTTP: 429, Code: "410", Message: "Throttle Limited"},
	{HTTP: 429, Code: "420", Message: "Rate Limited"},
	{HTTP: 503, Code: "500", Message: "Endpoint Error"},
	{HTTP: 504, Code: "510", Message: "Endpoint Timeout"},
	{HTTP: 500, Code: "900", Message: "Unexpected Error"},
}

func gatewayByCode(code string) (GatewayError, bool) {
	for _, g := range GatewayErrors {
		if g.Code == code {
			return g, true
		}
	}
	return GatewayError{}, false
}

func gatewayByStatus(status int) (GatewayError, bool) {
	for _, g := range GatewayErrors {
		if g.HTTP == status {
			return g, true
		}
	}
	return GatewayError{}, false
}

// BodyKind selects the body of a faulty answer.
type BodyKind int

// Body kinds for Fault.Body.
const (
	// BodyDefault: with Status >= 400, the gateway envelope of the catalogue
	// row for that status (or an MI envelope when there is none); otherwise
	// the normal answer.
	BodyDefault BodyKind = iota
	// BodyGateway: {"error":{"errorCode":ErrorCode,"message":...,"details":...}}.
	BodyGateway
	// BodyMI: {"code":ErrorCode,"message":...} (Media Intelligence envelope).
	BodyMI
	// BodyMINested: {"responseError":{"code":ErrorCode,"message":...}}.
	BodyMINested
	// BodyEmpty: no body at all (Content-Length: 0).
	BodyEmpty
	// BodyHTML: an nginx-style HTML error page.
	BodyHTML
	// BodyPlain: a text/plain message.
	BodyPlain
	// BodyTruncated: the normal success answer cut in half, with a
	// Content-Length matching the half (valid HTTP, invalid JSON).
	BodyTruncated
	// BodyMalformed: invalid JSON.
	BodyMalformed
	// BodyHuge: a valid JSON object of HugeBytes bytes, streamed.
	BodyHuge
	// BodyWrongTypes: the normal answer with "code" as a number and one
	// numeric field as a string: metaData.size (assets), totalCount
	// (workspaces), projectId (projects), monthlyAnalysisCount (details).
	BodyWrongTypes
)

// DefaultHugeBytes is the size of a BodyHuge body when HugeBytes is zero.
const DefaultHugeBytes = 64 << 20

// Scope selects the requests a fault applies to; zero fields match
// everything. A Workspace only matches operations on a workspace, a ProjectID
// only asset lists, a Page only paged operations with that pageNum.
type Scope struct {
	Operation client.Operation
	Workspace string
	ProjectID int64
	Page      int
}

func (sc Scope) specificity() int {
	n := 0
	if sc.Operation != "" {
		n++
	}
	if sc.Workspace != "" {
		n++
	}
	if sc.ProjectID != 0 {
		n++
	}
	if sc.Page != 0 {
		n++
	}
	return n
}

// reqInfo is what fault matching knows of a request.
type reqInfo struct {
	op        client.Operation
	workspace string
	projectID int64
	hasPID    bool
	page      int   // 0 when the operation is not paged
	assetID   int64 // status calls; 0 when absent or not a number
}

func (sc Scope) matches(ri *reqInfo) bool {
	if sc.Operation != "" && sc.Operation != ri.op {
		return false
	}
	if sc.Workspace != "" && sc.Workspace != ri.workspace {
		return false
	}
	if sc.ProjectID != 0 && (!ri.hasPID || sc.ProjectID != ri.projectID) {
		return false
	}
	if sc.Page != 0 && sc.Page != ri.page {
		return false
	}
	return true
}

// Fault changes how the server answers the requests of a Scope. Fields
// combine: for example Latency with Status delays an error answer. Faults
// apply only to requests that passed authentication and the paging checks.
//
// The fault applies to a matching request when all set gates agree: Every
// (every Nth matching request), Probability (with a RNG seeded by Seed) and
// Times (at most that many applications). With no gate it always applies.
type Fault struct {
	// Latency delays the answer; it ends early when the client goes away or
	// the server closes.
	Latency time.Duration
	// Hang never answers, until the client goes away or the server closes.
	Hang bool

	// Status is the HTTP status to answer with (see BodyKind for defaults).
	Status int
	// Body is the kind of body to send.
	Body BodyKind
	// ErrorCode is the code of a BodyGateway, BodyMI or BodyMINested body.
	// Empty means the catalogue code for Status (gateway) or "10001" (MI).
	ErrorCode string
	// ErrorCodeNumeric sends a gateway errorCode as a JSON number.
	ErrorCodeNumeric bool
	// Message overrides the message of an error body.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// HugeBytes is the size of a BodyHuge body (default DefaultHugeBytes).
	HugeBytes int64

	// ResetMidBody sends the headers and half the body (announcing the full
	// Content-Length), then resets the TCP connection.
	ResetMidBody bool
	// ResetBeforeHeaders resets the TCP connection before the status line.
	ResetBeforeHeaders bool

	// Shift moves an asset list between requests: the k-th application of
	// the fault (k = 0, 1, 2, ...) serves the list as if k*Shift assets had
	// been inserted at the front (Shift > 0: the next page repeats items) or
	// k*|Shift| assets removed from the front (Shift < 0: items are skipped).
	// totalCount and totalPage follow the shifted list. Inserted assets have
	// IDs from 9,000,000,001 up.
	Shift int
	// LyingTotalPage, when not zero, is reported as totalPage; pages past the
	// true last page stay empty.
	LyingTotalPage int64
	// WrongPageNo reports pageNo as the requested page plus one.
	WrongPageNo bool

	// Every applies the fault to every Nth matching request only.
	Every int
	// Probability applies the fault with this probability (0 means always).
	Probability float64
	// Times caps how many times the fault applies (0 means unlimited).
	Times int
	// Seed seeds the Probability RNG.
	Seed uint64
}

// changesPage reports whether the fault changes the content of a normal
// asset page (as opposed to delaying, cutting or replacing the answer).
func (f *activeFault) changesPage() bool {
	return f.Body == BodyWrongTypes || f.Shift != 0 || f.LyingTotalPage != 0 || f.WrongPageNo
}

// replacesBody reports whether the fault replaces the normal answer.
func (f *Fault) replacesBody() bool {
	switch f.Body {
	case BodyDefault, BodyTruncated, BodyWrongTypes:
		return false
	}
	return true
}

func (f *Fault) status() int {
	if f.Status != 0 {
		return f.Status
	}
	switch f.Body {
	case BodyDefault, BodyTruncated, BodyMalformed, BodyHuge, BodyWrongTypes:
		return 200
	case BodyGateway:
		if g, ok := gatewayByCode(f.ErrorCode); ok {
			return g.HTTP
		}
	}
	return 500
}

type faultEntry struct {
	scope   Scope
	fault   Fault
	seq     int64
	matched int64
	applied int64
	rng     *rand.Rand
}

// applied fault for one request.
type activeFault struct {
	Fault
	// shiftBy is the number of inserted (>0) or removed (<0) assets.
	shiftBy int64
}

type faultSet struct {
	mu      sync.Mutex
	entries []*faultEntry
	seq     int64
}

func (fs *faultSet) set(sc Scope, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.seq++
	e := &faultEntry{scope: sc, fault: f, seq: fs.seq, rng: rand.New(rand.NewPCG(f.Seed, 0x6d6974657374))}
	for i, old := range fs.entries {
		if old.scope == sc {
			fs.entries[i] = e
			return
		}
	}
	fs.entries = append(fs.entries, e)
}

func (fs *faultSet) clear(sc *Scope) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if sc == nil {
		fs.entries = nil
		return
	}
	for i, e := range fs.entries {
		if e.scope == *sc {
			fs.entries = append(fs.entries[:i], fs.entries[i+1:]...)
			return
		}
	}
}

// pick returns the fault applying to the request, if any: the matching
// fault with the most specific scope (latest set on a tie), subject to its
// gates.
func (fs *faultSet) pick(ri *reqInfo) (activeFault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var best *faultEntry
	for _, e := range fs.entries {
		if !e.scope.matches(ri) {
			continue
		}
		if best == nil || e.scope.specificity() > best.scope.specificity() ||
			(e.scope.specificity() == best.scope.specificity() && e.seq > best.seq) {
			best = e
		}
	}
	if best == nil {
		return activeFault{}, false
	}
	best.matched++
	f := &best.fault
	if f.Every > 1 && best.matched%int64(f.Every) != 0 {
		return activeFault{}, false
	}
	if f.Probability > 0 && best.rng.Float64() >= f.Probability {
		return activeFault{}, false
	}
	if f.Times > 0 && best.applied >= int64(f.Times) {
		return activeFault{}, false
	}
	af := activeFault{Fault: *f, shiftBy: best.applied * int64(f.Shift)}
	best.applied++
	return af, true
}

func (fs *faultSet) len() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.entries)
}
