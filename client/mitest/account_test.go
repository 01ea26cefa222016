package mitest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const (
	labKey    = "ncp_iam_LABKEY"
	labSecret = "lab-secret"
)

// labInventory has a workspace named as smallInventory's "ws-one", with a
// project 10 of its own (3 assets, not 5, from the same ID 1001) and a
// project 77, and a workspace "ws-lab".
func labInventory() *Inventory {
	return &Inventory{Workspaces: []*Workspace{{
		Name: "ws-one", MonthlyAnalysisCount: 7,
		Projects: []*Project{
			{ID: 10, Name: "lab base", IsBase: true, Synthetic: &SyntheticAssets{Count: 3, Seed: 2, FirstID: 1001}},
			{ID: 77, Name: "lab only", Synthetic: &SyntheticAssets{Count: 1200, Seed: 3, FirstID: 100}},
		},
	}, {Name: "ws-lab"}}}
}

// newClient is a client of the account, on the clock now (nil: the real
// one).
func newClient(t *testing.T, a *Account, now func() time.Time) *client.Client {
	t.Helper()
	cfg := a.ClientConfig()
	cfg.Now = now
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// statusOf is the HTTP status of a client error, 0 if none.
func statusOf(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// TestAccounts: a client signed with each account's key sees that
// account's inventory only, a workspace name both have included; an
// unknown key is refused as before.
func TestAccounts(t *testing.T) {
	s := NewServer(smallInventory(3), WithAccount(labKey, labSecret, labInventory()))
	defer s.Close()
	def, lab := s.Account(DefaultAccessKey), s.Account(labKey)
	if def == nil || lab == nil || def == lab {
		t.Fatalf("Account: default %p, lab %p", def, lab)
	}
	if got := s.Accounts(); !slices.Equal(got, []*Account{def, lab}) {
		t.Errorf("Accounts() = %p, want the default then the lab account", got)
	}
	if s.Account("ncp_iam_NOBODY") != nil {
		t.Error("Account of an unknown key is not nil")
	}
	if def.AccessKey() != DefaultAccessKey || lab.AccessKey() != labKey {
		t.Errorf("AccessKey: %q, %q", def.AccessKey(), lab.AccessKey())
	}
	ctx := context.Background()

	for _, tc := range []struct {
		name       string
		acct       *Account
		workspaces []string
		projects   []int64 // of ws-one
		count10    int64   // assets of ws-one/10
		count77    int64   // assets of ws-one/77; -1: 404
		monthly    int64   // ws-one's MonthlyAnalysisCount
	}{
		{"default", def, []string{"ws-one", "ws-two"}, []int64{10, 11, 12}, 5, -1, 42},
		{"lab", lab, []string{"ws-one", "ws-lab"}, []int64{10, 77}, 3, 1200, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.acct, nil)
			wss, err := c.ListWorkspaces(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, w := range wss {
				names = append(names, w.Name)
			}
			if !slices.Equal(names, tc.workspaces) {
				t.Errorf("workspaces %q, want %q", names, tc.workspaces)
			}
			ps, err := c.ListProjects(ctx, "ws-one")
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tc.projects) {
				t.Errorf("ws-one's projects %v, want %v", ids, tc.projects)
			}
			if ws, err := c.GetWorkspace(ctx, "ws-one"); err != nil || ws.MonthlyAnalysisCount != tc.monthly {
				t.Errorf("ws-one's details: %+v %v, want monthly count %d", ws, err, tc.monthly)
			}
			if n, err := c.AssetCount(ctx, "ws-one", 10); err != nil || n != tc.count10 {
				t.Errorf("ws-one/10: %d assets (%v), want %d", n, err, tc.count10)
			}
			n, err := c.AssetCount(ctx, "ws-one", 77)
			switch {
			case tc.count77 < 0 && statusOf(err) != 404:
				t.Errorf("ws-one/77: %d assets (%v), want a 404", n, err)
			case tc.count77 >= 0 && (err != nil || n != tc.count77):
				t.Errorf("ws-one/77: %d assets (%v), want %d", n, err, tc.count77)
			}
		})
	}

	// An unknown key is refused as before: 401, gateway code 200.
	resp, body := fetchCtx(t, ctx, s, "/api/v1/workspaces?pageNum=1", time.Now(), func(r *http.Request) {
		SignRequest(r, "ncp_iam_NOBODY", labSecret, time.Now())
	})
	if g := decodeGateway(t, body); resp.StatusCode != 401 || g.Error.ErrorCode != "200" || g.Error.Details != "unknown access key" {
		t.Errorf("unknown key: %d %s", resp.StatusCode, body)
	}
	// The lab key with the default secret is a bad signature.
	resp, body = fetchCtx(t, ctx, s, "/api/v1/workspaces?pageNum=1", time.Now(), func(r *http.Request) {
		SignRequest(r, labKey, DefaultSecretKey, time.Now())
	})
	if g := decodeGateway(t, body); resp.StatusCode != 401 || g.Error.Details != "signature mismatch" {
		t.Errorf("lab key, default secret: %d %s", resp.StatusCode, body)
	}
}

// TestAccountCounters: each account counts the requests signed with its
// keys, whatever their outcome; the server counts them all; a key's
// requests are counted by key.
func TestAccountCounters(t *testing.T) {
	s := NewServer(smallInventory(3), WithAccount(labKey, labSecret, labInventory()))
	defer s.Close()
	def, lab := s.Account(DefaultAccessKey), s.Account(labKey)
	ctx := context.Background()
	dc, lc := newClient(t, def, nil), newClient(t, lab, nil)

	if _, err := dc.ListWorkspaces(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := lc.ListWorkspaces(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lc.AssetCount(ctx, "ws-one", 77); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.ImportStatus(ctx, "ws-one", 77, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.AssetCount(ctx, "ws-one", 10); err != nil {
		t.Fatal(err)
	}
	// Refused requests count for the key they carry: a bad signature with
	// the lab key, and one with no key the server knows.
	fetchCtx(t, ctx, s, "/api/v1/workspaces?pageNum=1", time.Now(), func(r *http.Request) { SignRequest(r, labKey, "wrong", time.Now()) })
	fetchCtx(t, ctx, s, "/api/v1/workspaces?pageNum=1", time.Now(), func(r *http.Request) { SignRequest(r, "ncp_iam_NOBODY", "x", time.Now()) })

	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"server list_workspaces", s.Requests(client.OpListWorkspaces), 5},
		{"server total", s.TotalRequests(), 8},
		{"default list_workspaces", def.Requests(client.OpListWorkspaces), 1},
		{"default total", def.TotalRequests(), 2},
		{"default ws-one/10", def.RequestsFor("ws-one", 10), 1},
		{"default ws-one/77", def.RequestsFor("ws-one", 77), 0},
		{"server's RequestsFor: the default account's", s.RequestsFor("ws-one", 10), 1},
		{"lab list_workspaces", lab.Requests(client.OpListWorkspaces), 3},
		{"lab total", lab.TotalRequests(), 5},
		{"lab ws-one/77", lab.RequestsFor("ws-one", 77), 1},
		{"lab ws-one/10", lab.RequestsFor("ws-one", 10), 0},
		{"lab status ws-one/77/100", lab.StatusRequestsFor("ws-one", 77, 100), 1},
		{"default status ws-one/77/100", def.StatusRequestsFor("ws-one", 77, 100), 0},
		{"server's StatusRequestsFor: the default account's", s.StatusRequestsFor("ws-one", 77, 100), 0},
		{"key default", s.RequestsWithKey(DefaultAccessKey), 2},
		{"key lab", s.RequestsWithKey(labKey), 5},
		{"key unknown", s.RequestsWithKey("ncp_iam_NOBODY"), 0},
		{"lab expired", lab.ExpiredKeyRequests(), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}

	s.ResetCounters()
	for name, n := range map[string]int64{
		"server total": s.TotalRequests(), "lab total": lab.TotalRequests(), "lab list_workspaces": lab.Requests(client.OpListWorkspaces),
		"lab ws-one/77": lab.RequestsFor("ws-one", 77), "lab status": lab.StatusRequestsFor("ws-one", 77, 100), "key lab": s.RequestsWithKey(labKey),
	} {
		if n != 0 {
			t.Errorf("after ResetCounters, %s = %d", name, n)
		}
	}
}

// TestAccountState: faults, asset statuses and inventory changes are the
// account's own; the Server's setters are the default account's.
func TestAccountState(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	s := NewServer(smallInventory(3), WithAccount(labKey, labSecret, labInventory()), WithClock(clk.Now), WithPageCache(1<<20))
	defer s.Close()
	lab := s.Account(labKey)
	dc, lc := newClient(t, s.Account(DefaultAccessKey), clk.Now), newClient(t, lab, clk.Now)
	ctx := context.Background()

	// The page cache is per account: the same coordinates, other assets.
	for range 2 {
		if n, err := dc.AssetCount(ctx, "ws-one", 10); err != nil || n != 5 {
			t.Errorf("default ws-one/10: %d %v", n, err)
		}
		if n, err := lc.AssetCount(ctx, "ws-one", 10); err != nil || n != 3 {
			t.Errorf("lab ws-one/10: %d %v", n, err)
		}
	}

	lab.SetFault(Scope{Operation: client.OpListWorkspaces}, Fault{Status: 503, Body: BodyGateway, ErrorCode: "500", Every: 1})
	if _, err := lc.ListWorkspaces(ctx); statusOf(err) != 503 {
		t.Errorf("lab with a fault: %v, want a 503", err)
	}
	if _, err := dc.ListWorkspaces(ctx); err != nil {
		t.Errorf("the lab's fault reached the default account: %v", err)
	}
	s.SetFault(Scope{Operation: client.OpListProjects}, Fault{Status: 404})
	if _, err := dc.ListProjects(ctx, "ws-one"); statusOf(err) != 404 {
		t.Errorf("default with a fault: %v, want a 404", err)
	}
	if _, err := lc.ListProjects(ctx, "ws-one"); err != nil {
		t.Errorf("the server's fault reached the lab account: %v", err)
	}
	lab.ClearFaults()
	if _, err := lc.ListWorkspaces(ctx); err != nil {
		t.Errorf("lab after ClearFaults: %v", err)
	}

	// The same asset coordinates, a status each.
	s.SetAssetStatus("ws-one", 10, 1001, AssetStatus{Upload: "FAILED"})
	lab.SetAssetStatus("ws-one", 10, 1001, AssetStatus{Upload: "COMPLETED"})
	if st, err := dc.ImportStatus(ctx, "ws-one", 10, 1001); err != nil || st.Status != "FAILED" {
		t.Errorf("default ws-one/10/1001: %+v %v, want FAILED", st, err)
	}
	if st, err := lc.ImportStatus(ctx, "ws-one", 10, 1001); err != nil || st.Status != "COMPLETED" {
		t.Errorf("lab ws-one/10/1001: %+v %v, want COMPLETED", st, err)
	}
	if st, err := lc.ImportStatus(ctx, "ws-one", 10, 1004); statusOf(err) != 404 {
		t.Errorf("lab ws-one/10/1004: %+v %v, want a 404 (the lab's project 10 has 3 assets)", st, err)
	}

	lab.Update(func(inv *Inventory) { inv.Workspaces = inv.Workspaces[:1] })
	var names []string
	lab.View(func(inv *Inventory) {
		for _, w := range inv.Workspaces {
			names = append(names, w.Name)
		}
	})
	if !slices.Equal(names, []string{"ws-one"}) {
		t.Errorf("lab after Update: %q", names)
	}
	if n, err := lc.AssetCount(ctx, "ws-one", 10); err != nil || n != 3 {
		t.Errorf("lab ws-one/10 after Update: %d %v", n, err)
	}
	if wss, err := dc.ListWorkspaces(ctx); err != nil || len(wss) != 2 {
		t.Errorf("the lab's Update changed the default account: %v %v", wss, err)
	}
	lab.SetInventory(&Inventory{})
	if wss, err := lc.ListWorkspaces(ctx); err != nil || len(wss) != 0 {
		t.Errorf("lab after SetInventory(empty): %v %v", wss, err)
	}
}

// TestAccountKeys: a second key opens the same account; an expired key is
// refused and counted, as a server role's old key would be.
func TestAccountKeys(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	s := NewServer(smallInventory(0), WithAccount(labKey, labSecret, labInventory()), WithClock(clk.Now))
	defer s.Close()
	lab := s.Account(labKey)
	lab.AddKey("ncp_iam_LABKEY2", "second", clk.Now().Add(time.Minute))
	if s.Account("ncp_iam_LABKEY2") != lab || lab.AccessKey() != labKey {
		t.Fatalf("the second key opens %p, want the lab account %p; AccessKey %q", s.Account("ncp_iam_LABKEY2"), lab, lab.AccessKey())
	}
	get := func(ak, sk string) (int, gatewayBody) {
		resp, body := fetchCtx(t, context.Background(), s, "/api/v1/workspaces/ws-lab", clk.Now(), func(r *http.Request) { SignRequest(r, ak, sk, clk.Now()) })
		if resp.StatusCode == 200 {
			return 200, gatewayBody{}
		}
		return resp.StatusCode, decodeGateway(t, body)
	}
	if st, _ := get("ncp_iam_LABKEY2", "second"); st != 200 {
		t.Errorf("second key before it expires: %d", st)
	}
	clk.Add(time.Minute)
	st, g := get("ncp_iam_LABKEY2", "second")
	if st != 401 || g.Error.ErrorCode != "200" || g.Error.Details != "access key expired" {
		t.Errorf("second key at its expiry: %d %+v", st, g)
	}
	if st, _ := get(labKey, labSecret); st != 200 {
		t.Errorf("first key after the second expired: %d", st)
	}
	if n := s.RequestsWithKey("ncp_iam_LABKEY2"); n != 2 {
		t.Errorf("requests with the second key: %d, want 2", n)
	}
	if n := lab.ExpiredKeyRequests(); n != 1 {
		t.Errorf("requests with an expired key: %d, want 1", n)
	}
	if n := lab.TotalRequests(); n != 3 {
		t.Errorf("lab requests: %d, want 3", n)
	}
	// Given again, the key works again, and keeps its count.
	lab.AddKey("ncp_iam_LABKEY2", "third", time.Time{})
	if st, _ := get("ncp_iam_LABKEY2", "third"); st != 200 {
		t.Errorf("second key given again: %d", st)
	}
	if n := s.RequestsWithKey("ncp_iam_LABKEY2"); n != 3 {
		t.Errorf("requests with the second key: %d, want 3", n)
	}
	// A key moved to the default account opens it instead.
	s.Account(DefaultAccessKey).AddKey("ncp_iam_LABKEY2", "third", time.Time{})
	if st, _ := get("ncp_iam_LABKEY2", "third"); st != 404 {
		t.Errorf("ws-lab with the key moved to the default account: %d, want a 404 (the default account has no ws-lab)", st)
	}
}

// TestAccountKeyClash: NewServer refuses a key given to two accounts.
func TestAccountKeyClash(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"two WithAccount", []Option{WithAccount(labKey, "a", nil), WithAccount(labKey, "b", nil)}},
		{"the default key", []Option{WithAccount(DefaultAccessKey, DefaultSecretKey, nil)}},
		{"a WithCredentials key", []Option{WithCredentials("ncp_iam_MINE", "s"), WithAccount("ncp_iam_MINE", "s", nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "given to two accounts") {
					t.Errorf("NewServer did not panic with a clear message: %v", r)
				}
			}()
			NewServer(nil, tc.opts...).Close()
		})
	}
	// WithCredentials alone, and an account with no inventory, are fine.
	s := NewServer(nil, WithCredentials("ncp_iam_MINE", "s"), WithAccount(labKey, labSecret, nil))
	defer s.Close()
	if s.Account(DefaultAccessKey) != nil || s.Account("ncp_iam_MINE") == nil {
		t.Error("WithCredentials does not replace the default key")
	}
	if wss, err := newClient(t, s.Account(labKey), nil).ListWorkspaces(context.Background()); err != nil || len(wss) != 0 {
		t.Errorf("an account with a nil inventory: %v %v", wss, err)
	}
}
