package exporter_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/exporter/exportertest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
	"github.com/mediaintel/mediaintel_exporter/scrape"
)

// Two NCP accounts behind one API: each key sees its own workspaces, and
// both have a workspace named "shared".
const (
	prodKey, prodSecret = "ncp_iam_PRODACCESSKEY0001", "ncp_iam_PRODSECRETKEY00000000001"
	labKey, labSecret   = "ncp_iam_LABACCESSKEY00001", "ncp_iam_LABSECRETKEY000000000001"
)

func accountsInventory(projectID int64, assets int) *mitest.Inventory {
	var list []mitest.Asset
	for i := range assets {
		list = append(list, mitest.Asset{ID: mitest.Ptr(projectID*1000 + int64(i)), Meta: &mitest.Meta{Format: mitest.Ptr("mp4"), Size: mitest.Ptr(int64(100))}})
	}
	return &mitest.Inventory{Workspaces: []*mitest.Workspace{{Name: "shared", Projects: []*mitest.Project{{ID: projectID, Name: "p", Assets: list}}}}}
}

// twoAccounts is a simulator of the two accounts (prod: project 1 of 3
// assets; lab: project 2 of 5) and the exporter configuration reading
// both.
func twoAccounts(t *testing.T) (*mitest.Server, exporter.Config) {
	t.Helper()
	sim := mitest.NewServer(accountsInventory(1, 3), mitest.WithCredentials(prodKey, prodSecret),
		mitest.WithAccount(labKey, labSecret, accountsInventory(2, 5)))
	t.Cleanup(sim.Close)
	cfg := exportertest.Config(sim)
	prod := cfg.Accounts[0]
	prod.Name, prod.API.Credentials = "prod", client.Static(client.NewCredentials(prodKey, prodSecret))
	lab := prod
	lab.Name, lab.API.Credentials, lab.Labels = "lab", client.Static(client.NewCredentials(labKey, labSecret)), map[string]string{"team": "research"}
	cfg.Accounts = []exporter.AccountConfig{prod, lab}
	return sim, cfg
}

func start(t *testing.T, cfg exporter.Config) (*exporter.Exporter, *httptest.Server) {
	t.Helper()
	e, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Start(context.Background()))
	srv := httptest.NewServer(e.Routes)
	t.Cleanup(srv.Close)
	return e, srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// value is the value of the series of name whose labels include match;
// ok is false when there is none, or more than one.
func value(t *testing.T, body, name string, match map[string]string) (float64, bool) {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition: %v", err)
	}
	var found []*dto.Metric
	for _, m := range fams[name].GetMetric() {
		ok := true
		for k, v := range match {
			has := false
			for _, lp := range m.GetLabel() {
				has = has || lp.GetName() == k && lp.GetValue() == v
			}
			ok = ok && has
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	if g := found[0].GetGauge(); g != nil {
		return g.GetValue(), true
	}
	return found[0].GetCounter().GetValue(), true
}

// TestTwoAccounts: one scrape reads both accounts, each with its own key;
// the workspace they share by name gives two series apart; a probe names
// its account; discovery lists both.
func TestTwoAccounts(t *testing.T) {
	sim, cfg := twoAccounts(t)
	_, srv := start(t, cfg)
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for acct, want := range map[string]float64{"prod": 3, "lab": 5} {
		if v, ok := value(t, body, "ncp_mediaintel_assets", map[string]string{"account": acct, "workspace": "shared", "format": "mp4"}); !ok || v != want {
			t.Errorf("account %s: assets %v (found %v), want %v", acct, v, ok, want)
		}
		if v, ok := value(t, body, "ncp_mediaintel_up", map[string]string{"account": acct}); !ok || v != 1 {
			t.Errorf("account %s: up %v", acct, v)
		}
	}
	if v, ok := value(t, body, "ncp_mediaintel_account_info", map[string]string{"account": "lab", "team": "research"}); !ok || v != 1 {
		t.Errorf("account_info of lab with its label: %v %v", v, ok)
	}
	if v, ok := value(t, body, "ncp_mediaintel_account_info", map[string]string{"account": "prod", "team": ""}); !ok || v != 1 {
		t.Errorf("account_info of prod with an empty team: %v %v", v, ok)
	}
	if n := sim.Account(prodKey).Requests(client.OpListAssets); n != 1 {
		t.Errorf("prod's key listed assets %d times; want 1", n)
	}
	if n := sim.Account(labKey).Requests(client.OpListAssets); n != 1 {
		t.Errorf("lab's key listed assets %d times; want 1", n)
	}

	if code, body := get(t, srv.URL+"/probe?account=lab&workspace=shared"); code != 200 || !strings.Contains(body, `ncp_mediaintel_assets{account="lab",format="mp4",project_id="2",workspace="shared"} 5`) || strings.Contains(body, `account="prod"`) {
		t.Errorf("probe of lab: %d\n%s", code, body)
	}
	for query, want := range map[string]string{
		"workspace=shared":                "want an account parameter: the accounts are lab, prod",
		"account=dev&workspace=shared":    `unknown account "dev": the accounts are lab, prod`,
		"account=lab&workspace=nowhere-1": "unknown target: workspace",
	} {
		if code, body := get(t, srv.URL+"/probe?"+query); code != 400 || !strings.Contains(body, want) {
			t.Errorf("probe?%s: %d %q; want 400 with %q", query, code, body, want)
		}
	}
	if code, body := get(t, srv.URL+"/discovery?per=project"); code != 200 ||
		!strings.Contains(body, `"__param_account":"lab"`) || !strings.Contains(body, `"__param_account":"prod"`) || strings.Count(body, `"targets"`) != 2 {
		t.Errorf("discovery: %d %s", code, body)
	}
}

// TestAccountFailsAlone: an account whose key cannot be had fails with
// reason credentials, and sends nothing; the other goes on.
func TestAccountFailsAlone(t *testing.T) {
	sim, cfg := twoAccounts(t)
	cfg.Accounts[1].API.Credentials = failingKey{}
	_, srv := start(t, cfg)
	_, body := get(t, srv.URL+"/metrics")
	if v, ok := value(t, body, "ncp_mediaintel_discovery_failure", map[string]string{"account": "lab", "reason": "credentials"}); !ok || v != 1 {
		t.Errorf("lab: no discovery_failure with reason credentials:\n%s", body)
	}
	if v, _ := value(t, body, "ncp_mediaintel_up", map[string]string{"account": "prod"}); v != 1 {
		t.Errorf("prod: up %v, want 1", v)
	}
	if n := sim.Account(labKey).TotalRequests(); n != 0 {
		t.Errorf("%d requests with lab's key, which could not be had", n)
	}
	if strings.Contains(body, "secret") {
		t.Errorf("the exposition mentions the secret")
	}
}

type failingKey struct{}

func (failingKey) Credentials(context.Context) (client.Credentials, error) {
	return client.Credentials{}, errors.New("key file /run/lab/secret-key: permission denied")
}

// TestReload: added accounts start, removed ones stop and their series
// go, an unchanged one goes on untouched; a configuration that does not
// load changes nothing and says so.
func TestReload(t *testing.T) {
	_, cfg := twoAccounts(t)
	prod, lab := cfg.Accounts[0], cfg.Accounts[1]
	prod.Origin, lab.Origin = "prod", "lab"
	var next atomic.Pointer[[]exporter.AccountConfig]
	var loadErr atomic.Pointer[error]
	cfg.Accounts = []exporter.AccountConfig{prod}
	cfg.Reload = func() ([]exporter.AccountConfig, error) {
		if err := loadErr.Load(); err != nil {
			return nil, *err
		}
		return *next.Load(), nil
	}
	cfg.EnableLifecycle = true
	e, srv := start(t, cfg)
	running := e.Account("prod")

	both := []exporter.AccountConfig{prod, lab}
	next.Store(&both)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.Account("prod") != running || e.Account("lab") == nil {
		t.Errorf("after adding lab: prod %p (was %p), lab %v", e.Account("prod"), running, e.Account("lab"))
	}
	_, body := get(t, srv.URL+"/metrics")
	if _, ok := value(t, body, "ncp_mediaintel_up", map[string]string{"account": "lab"}); !ok {
		t.Errorf("lab not scraped after the reload")
	}
	if !strings.Contains(mustGet(t, srv.URL+"/"), `<option value="lab">lab</option>`) {
		t.Errorf("the landing page does not offer the added account")
	}

	bad := errors.New("config.yml:3: account \"lab\": unknown key \"secret\"")
	loadErr.Store(&bad)
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(msg), "unknown key") || len(e.Accounts()) != 2 {
		t.Errorf("bad reload: %d %q, %d accounts; want 500 naming the cause and both accounts kept", resp.StatusCode, msg, len(e.Accounts()))
	}
	_, internal := get(t, srv.URL+"/internal/metrics")
	if v, ok := value(t, internal, "ncp_mediaintel_config_last_reload_successful", nil); !ok || v != 0 {
		t.Errorf("config_last_reload_successful %v %v after a bad file; want 0", v, ok)
	}

	loadErr.Store(nil)
	onlyLab := []exporter.AccountConfig{lab}
	next.Store(&onlyLab)
	if code, _ := postReload(t, srv.URL); code != 200 {
		t.Fatalf("reload: %d", code)
	}
	if e.Account("prod") != nil {
		t.Errorf("prod still read after its removal")
	}
	_, body = get(t, srv.URL+"/metrics")
	if strings.Contains(body, `account="prod"`) {
		t.Errorf("prod's series remain after its removal:\n%s", body)
	}
	_, internal = get(t, srv.URL+"/internal/metrics")
	if v, _ := value(t, internal, "ncp_mediaintel_config_last_reload_successful", nil); v != 1 || strings.Contains(internal, `account="prod"`) {
		t.Errorf("after a good reload: successful %v; prod's process series gone: %v", v, !strings.Contains(internal, `account="prod"`))
	}
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	code, body := get(t, url)
	if code != 200 {
		t.Fatalf("GET %s: %d", url, code)
	}
	return body
}

func postReload(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReloadNeedsLifecycle: without --web.enable-lifecycle, /-/reload is
// 403, as Prometheus answers.
func TestReloadNeedsLifecycle(t *testing.T) {
	_, cfg := twoAccounts(t)
	cfg.Reload = func() ([]exporter.AccountConfig, error) { return cfg.Accounts, nil }
	_, srv := start(t, cfg)
	if code, body := postReload(t, srv.URL); code != 403 || !strings.Contains(body, "Lifecycle API is not enabled") {
		t.Errorf("reload without lifecycle: %d %q", code, body)
	}
}

// TestBackground: /-/ready is 503 until every account's first pass ended;
// then the figures are exact, 20 scrapes cost no API request, and a change
// in the data appears after the next pass.
func TestBackground(t *testing.T) {
	sim, cfg := twoAccounts(t)
	sim.Account(labKey).SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Latency: 500 * time.Millisecond})
	cfg.Background, cfg.Refresh = true, scrape.RefreshConfig{Interval: time.Hour}
	e, srv := start(t, cfg)
	if code, body := get(t, srv.URL+"/-/ready"); code != 503 || !strings.Contains(body, `the first refresh pass of account`) || !strings.Contains(body, `"lab"`) {
		t.Errorf("/-/ready during lab's first pass: %d %q, want 503 naming the pass and the account", code, body)
	}
	if _, body := get(t, srv.URL+"/metrics"); !strings.Contains(body, `ncp_mediaintel_project_scrape_failure{account="lab",project_id="2",reason="not_yet_read",workspace="shared"} 1`) &&
		!strings.Contains(body, `ncp_mediaintel_discovery_failure{account="lab",reason="not_yet_read"} 1`) {
		t.Errorf("during the first pass, lab is not reported not_yet_read:\n%s", body)
	}
	testutil.Eventually(t, 10*time.Second, "ready", func() bool { code, _ := get(t, srv.URL+"/-/ready"); return code == 200 })
	calls := sim.TotalRequests()
	var body string
	for range 20 {
		_, body = get(t, srv.URL+"/metrics")
	}
	if got := sim.TotalRequests(); got != calls {
		t.Errorf("20 scrapes made %d API requests", got-calls)
	}
	if v, _ := value(t, body, "ncp_mediaintel_assets", map[string]string{"account": "lab", "format": "mp4"}); v != 5 {
		t.Errorf("lab's assets %v, want 5", v)
	}
	if v, ok := value(t, body, "ncp_mediaintel_refresh_max_staleness_seconds", map[string]string{"account": "prod"}); !ok || v != 3*3600 {
		t.Errorf("max staleness %v %v, want 10800 (three intervals)", v, ok)
	}
	sim.Account(prodKey).Update(func(inv *mitest.Inventory) {
		p := inv.Workspaces[0].Projects[0]
		p.Assets = append(p.Assets, mitest.Asset{ID: mitest.Ptr(int64(9999)), Meta: &mitest.Meta{Format: mitest.Ptr("mp4")}})
	})
	_, body = get(t, srv.URL+"/metrics")
	if v, _ := value(t, body, "ncp_mediaintel_assets", map[string]string{"account": "prod", "format": "mp4"}); v != 3 {
		t.Errorf("before the next pass: %v assets; want the old figure, 3", v)
	}
	e.Account("prod").Refresher.Pass(context.Background()) // the next pass, now
	_, body = get(t, srv.URL+"/metrics")
	if v, _ := value(t, body, "ncp_mediaintel_assets", map[string]string{"account": "prod", "format": "mp4"}); v != 4 {
		t.Errorf("after the next pass: %v assets; want 4", v)
	}
	_, internal := get(t, srv.URL+"/internal/metrics")
	if v, ok := value(t, internal, "ncp_mediaintel_refresh_passes_total", map[string]string{"account": "prod", "result": "success"}); !ok || v < 2 {
		t.Errorf("refresh_passes_total of prod: %v %v", v, ok)
	}
}

// TestReadyStaysAfterReload: in background mode, an account added by a
// reload does not take a ready exporter out of service while its first
// pass runs; it says not_yet_read meanwhile.
func TestReadyStaysAfterReload(t *testing.T) {
	sim, cfg := twoAccounts(t)
	sim.Account(labKey).SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Latency: time.Second})
	prod, lab := cfg.Accounts[0], cfg.Accounts[1]
	cfg.Accounts = []exporter.AccountConfig{prod}
	cfg.Background, cfg.Refresh = true, scrape.RefreshConfig{Interval: time.Hour}
	cfg.Reload = func() ([]exporter.AccountConfig, error) { return []exporter.AccountConfig{prod, lab}, nil }
	e, srv := start(t, cfg)
	testutil.Eventually(t, 10*time.Second, "ready", func() bool { code, _ := get(t, srv.URL+"/-/ready"); return code == 200 })
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv.URL+"/-/ready"); code != 200 {
		t.Errorf("/-/ready during the added account's first pass: %d, want 200", code)
	}
	if _, body := get(t, srv.URL+"/metrics"); !strings.Contains(body, `ncp_mediaintel_discovery_failure{account="lab",reason="not_yet_read"} 1`) {
		t.Errorf("the added account is not reported not_yet_read:\n%s", body)
	}
}

// TestReloadKeepsTracker: an account changed by a reload (here its labels
// and rate limit) keeps what its status tracker knows, without a state
// file: the new client asks from then on, nothing settled is asked again.
func TestReloadKeepsTracker(t *testing.T) {
	_, cfg := twoAccounts(t)
	prod := cfg.Accounts[0]
	prod.Origin = "v1"
	cfg.Accounts = []exporter.AccountConfig{prod}
	cfg.Status.Window, cfg.Status.Recheck = 1000000*time.Hour, time.Hour
	changed := prod
	changed.Origin, changed.Labels, changed.RateLimit = "v2", map[string]string{"env": "prod"}, 1000
	cfg.Reload = func() ([]exporter.AccountConfig, error) { return []exporter.AccountConfig{changed}, nil }
	e, srv := start(t, cfg)
	get(t, srv.URL+"/metrics") // the listing names the assets to the tracker
	before := e.Account("prod")
	testutil.Eventually(t, 10*time.Second, "the tracker to settle", func() bool {
		st := before.Tracker.Stats()
		return st.Queue == 0 && len(st.Checks) > 0
	})
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	after := e.Account("prod")
	if after == before || after.Tracker != before.Tracker || after.Limiter == nil {
		t.Fatalf("after the reload: account %p (was %p), tracker %p (was %p), limiter %v", after, before, after.Tracker, before.Tracker, after.Limiter)
	}
	_, body := get(t, srv.URL+"/metrics")
	if v, ok := value(t, body, "ncp_mediaintel_recent_assets", map[string]string{"account": "prod"}); !ok || v != 3 {
		t.Errorf("recent_assets after the reload: %v %v; want the 3 the tracker knew", v, ok)
	}
	if st := after.Tracker.Stats(); st.Queue != 0 {
		t.Errorf("%d checks due after the reload; want none (nothing settled is asked again)", st.Queue)
	}
}

// TestReloadKeepsFigures: in background mode, an account changed by a
// reload keeps its figures in service (its refresher carries on with the
// new settings), instead of going blank until a new first pass.
func TestReloadKeepsFigures(t *testing.T) {
	sim, cfg := twoAccounts(t)
	prod := cfg.Accounts[0]
	prod.Origin = "v1"
	cfg.Accounts = []exporter.AccountConfig{prod}
	cfg.Background, cfg.Refresh = true, scrape.RefreshConfig{Interval: time.Hour}
	changed := prod
	changed.Origin, changed.Labels = "v2", map[string]string{"env": "prod"}
	cfg.Reload = func() ([]exporter.AccountConfig, error) { return []exporter.AccountConfig{changed}, nil }
	e, srv := start(t, cfg)
	testutil.Eventually(t, 10*time.Second, "ready", func() bool { code, _ := get(t, srv.URL+"/-/ready"); return code == 200 })
	before := e.Account("prod")
	sim.Account(prodKey).SetFault(mitest.Scope{Operation: client.OpListWorkspaces}, mitest.Fault{Latency: time.Second})
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	after := e.Account("prod")
	if after == before || after.Refresher != before.Refresher {
		t.Fatalf("after the reload: refresher %p, was %p", after.Refresher, before.Refresher)
	}
	_, body := get(t, srv.URL+"/metrics") // during the new settings' first pass
	if v, ok := value(t, body, "ncp_mediaintel_assets", map[string]string{"account": "prod", "format": "mp4"}); !ok || v != 3 {
		t.Errorf("prod's assets during the pass after the reload: %v %v; want its figures, 3", v, ok)
	}
	if v, ok := value(t, body, "ncp_mediaintel_account_info", map[string]string{"account": "prod", "env": "prod"}); !ok || v != 1 {
		t.Errorf("account_info does not carry the new label at once")
	}
}
