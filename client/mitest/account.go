package mitest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Account is one NCP account behind the server's URL, like the accounts
// of NCP behind its one API host: the keys a request is signed with select
// it, and it has its own inventory, asset statuses, faults and request
// counters. A request sees only its account's workspaces, so two accounts
// may have workspaces of the same name.
//
// Every server has a default account, which NewServer's inventory and
// WithCredentials (or the default credentials) belong to and which the
// Server's own setters act on; WithAccount adds others.
type Account struct {
	s *Server

	invMu sync.RWMutex
	inv   *Inventory
	index map[string]*wsIndex

	faults    faultSet
	numFaults atomic.Int32

	// Counters of the requests signed with one of the account's keys,
	// whatever their outcome.
	total      atomic.Int64
	ops        []atomic.Int64 // by opIndex
	expired    atomic.Int64
	projMu     sync.Mutex
	projCounts map[projKey]int64

	cacheMu    sync.Mutex
	pages      map[pageKey][]byte
	cacheBytes int64

	statusMu     sync.Mutex
	statuses     map[assetKey]AssetStatus
	statusCounts map[assetKey]int64
}

// key is an access key the server knows: the account it opens, its secret,
// and when it stops working (zero: never).
type key struct {
	acct    *Account
	secret  string
	expires time.Time
	// requests counts the requests that carried the key; kept when AddKey
	// gives the key again.
	requests *atomic.Int64
}

func newAccount(s *Server, inv *Inventory) *Account {
	a := &Account{s: s, projCounts: map[projKey]int64{}, ops: make([]atomic.Int64, len(client.Operations))}
	if inv == nil {
		inv = &Inventory{}
	}
	a.SetInventory(inv)
	return a
}

// AddKey makes the server accept accessKey, signed with secretKey, for
// this account until expires by the server clock (the zero time: for
// ever). Past that time the key is refused (401, gateway code 200, "access
// key expired"), as an expired key of a server role is. Giving a key
// again replaces its secret, expiry and account.
func (a *Account) AddKey(accessKey, secretKey string, expires time.Time) {
	a.s.keyMu.Lock()
	defer a.s.keyMu.Unlock()
	a.s.addKey(a, accessKey, secretKey, expires)
}

// addKey is AddKey; the caller holds keyMu (or owns the server alone).
func (s *Server) addKey(a *Account, accessKey, secretKey string, expires time.Time) {
	k := key{acct: a, secret: secretKey, expires: expires, requests: new(atomic.Int64)}
	if old, ok := s.keys[accessKey]; ok {
		k.requests = old.requests
	} else {
		s.keyOrder = append(s.keyOrder, accessKey)
	}
	s.keys[accessKey] = k
}

// AccessKey returns the account's first access key (the first given to
// it), the one ClientConfig uses; "" if AddKey gave all its keys to other
// accounts.
func (a *Account) AccessKey() string {
	ak, _ := a.firstKey()
	return ak
}

func (a *Account) firstKey() (accessKey, secretKey string) {
	a.s.keyMu.RLock()
	defer a.s.keyMu.RUnlock()
	for _, ak := range a.s.keyOrder {
		if k := a.s.keys[ak]; k.acct == a {
			return ak, k.secret
		}
	}
	return "", "" // its keys were all given to other accounts
}

// SetInventory replaces the account's inventory.
func (a *Account) SetInventory(inv *Inventory) {
	a.invMu.Lock()
	defer a.invMu.Unlock()
	a.inv = inv
	a.reindex()
}

// Update runs fn on the account's inventory with no request of the
// account being answered, so fn may change it freely.
func (a *Account) Update(fn func(inv *Inventory)) {
	a.invMu.Lock()
	defer a.invMu.Unlock()
	fn(a.inv)
	a.reindex()
}

// View runs fn on the account's inventory; fn must not change it.
func (a *Account) View(fn func(inv *Inventory)) {
	a.invMu.RLock()
	defer a.invMu.RUnlock()
	fn(a.inv)
}

// reindex indexes the inventory and empties the page cache; the caller
// holds invMu for writing.
func (a *Account) reindex() {
	a.cacheMu.Lock()
	a.pages, a.cacheBytes = nil, 0
	a.cacheMu.Unlock()
	a.index = make(map[string]*wsIndex, len(a.inv.Workspaces))
	for _, ws := range a.inv.Workspaces {
		if ws == nil || a.index[ws.Name] != nil {
			continue
		}
		wi := &wsIndex{ws: ws, projects: make(map[int64]*Project, len(ws.Projects))}
		for _, p := range ws.Projects {
			if p != nil && wi.projects[p.ID] == nil {
				wi.projects[p.ID] = p
			}
		}
		a.index[ws.Name] = wi
	}
}

// SetFault makes the account's requests in scope fail as f says. A fault
// set again for the same scope replaces the previous one and restarts its
// counts. When several faults match a request, the one with the most
// non-zero scope fields applies (the latest set on a tie).
func (a *Account) SetFault(scope Scope, f Fault) {
	a.faults.set(scope, f)
	a.numFaults.Store(int32(a.faults.len()))
}

// ClearFault removes the fault set for exactly this scope.
func (a *Account) ClearFault(scope Scope) {
	a.faults.clear(&scope)
	a.numFaults.Store(int32(a.faults.len()))
}

// ClearFaults removes all the account's faults.
func (a *Account) ClearFaults() {
	a.faults.clear(nil)
	a.numFaults.Store(0)
}

// Requests is the number of requests for op signed with one of the
// account's keys, rejected ones included.
func (a *Account) Requests(op client.Operation) int64 {
	if i := opIndex(op); i >= 0 {
		return a.ops[i].Load()
	}
	return 0
}

// TotalRequests is the number of requests signed with one of the
// account's keys, rejected ones included.
func (a *Account) TotalRequests() int64 { return a.total.Load() }

// ExpiredKeyRequests is the number of requests refused because their key
// of this account had expired (AddKey).
func (a *Account) ExpiredKeyRequests() int64 { return a.expired.Load() }

// RequestsFor is the number of the account's asset-list requests for one
// project.
func (a *Account) RequestsFor(workspace string, projectID int64) int64 {
	a.projMu.Lock()
	defer a.projMu.Unlock()
	return a.projCounts[projKey{workspace, projectID}]
}

// count counts a request signed with one of the account's keys: by
// operation, by project for asset lists and by asset for status calls.
func (a *Account) count(ri *reqInfo) {
	a.total.Add(1)
	a.ops[opIndex(ri.op)].Add(1)
	switch {
	case ri.op == client.OpListAssets && ri.hasPID:
		a.projMu.Lock()
		a.projCounts[projKey{ri.workspace, ri.projectID}]++
		a.projMu.Unlock()
	case statusCall(ri.op):
		a.statusMu.Lock()
		if a.statusCounts == nil {
			a.statusCounts = map[assetKey]int64{}
		}
		a.statusCounts[assetKey{ri.workspace, ri.projectID, ri.assetID}]++
		a.statusMu.Unlock()
	}
}

// resetCounters sets the account's request counters to zero.
func (a *Account) resetCounters() {
	a.total.Store(0)
	a.expired.Store(0)
	for i := range a.ops {
		a.ops[i].Store(0)
	}
	a.projMu.Lock()
	clear(a.projCounts)
	a.projMu.Unlock()
	a.statusMu.Lock()
	clear(a.statusCounts)
	a.statusMu.Unlock()
}
