package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// replaceFile writes content to path atomically (a new file renamed over
// it), as an editor or a ConfigMap update does: the exporter's watch
// never reads half a file.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// statusRequests is the number of status calls (of the three kinds) the
// simulator's account received.
func statusRequests(a *mitest.Account) int64 {
	return a.Requests(client.OpImportStatus) + a.Requests(client.OpAnalysisStatus) + a.Requests(client.OpSceneSummaryStatus)
}

// scrapeWatch scrapes /metrics without pause until stopped, and records
// every answer that is not a 200 with up 1 for each account it must hold
// (and, with allUp, for every account it shows).
type scrapeWatch struct {
	mu      sync.Mutex
	must    map[string]bool // accounts every answer must show up
	n       int
	bad     []string
	stopped chan struct{}
	done    chan struct{}
}

func watchScrapes(t *testing.T, addr string, allUp bool, must ...string) *scrapeWatch {
	w := &scrapeWatch{must: map[string]bool{}, stopped: make(chan struct{}), done: make(chan struct{})}
	for _, a := range must {
		w.must[a] = true
	}
	c := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stopped:
				return
			default:
			}
			at := time.Since(start).Round(time.Millisecond)
			status, body, err := getStatus(c, "http://"+addr+"/metrics")
			w.mu.Lock()
			w.n++
			switch {
			case err != nil || status != http.StatusOK:
				w.bad = append(w.bad, fmt.Sprintf("+%v: status %d, error %v: %.300s", at, status, err, body))
			default:
				for a := range w.must {
					if v, ok := metricValue(body, `ncp_mediaintel_up{account="`+a+`"}`); !ok || v != 1 {
						w.bad = append(w.bad, fmt.Sprintf("+%v: up{account=%q} = %v (present %v)", at, a, v, ok))
					}
				}
				for line := range strings.SplitSeq(body, "\n") {
					if allUp && strings.HasPrefix(line, "ncp_mediaintel_up{") && !strings.HasSuffix(line, " 1") {
						w.bad = append(w.bad, fmt.Sprintf("+%v: %s", at, line))
					}
				}
			}
			w.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	t.Cleanup(w.stop)
	return w
}

// require adds account to those every answer must show up.
func (w *scrapeWatch) require(account string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.must[account] = on
	if !on {
		delete(w.must, account)
	}
}

// stop ends the scrapes and returns how many there were and what was
// wrong.
func (w *scrapeWatch) stop() {
	select {
	case <-w.stopped:
	default:
		close(w.stopped)
	}
	<-w.done
}

// more waits until n more scrapes have been answered (30 s at most).
func (w *scrapeWatch) more(t *testing.T, n int) {
	t.Helper()
	w.mu.Lock()
	until := w.n + n
	w.mu.Unlock()
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d more scrapes", n), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.n >= until
	})
}

func (w *scrapeWatch) result() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, append([]string(nil), w.bad...)
}

// reloadAccount is an account of TestReloadLosesNothing: its key files'
// entry in the configuration file.
func reloadAccount(name string, extra ...string) string {
	s := fmt.Sprintf("  - name: %s\n    access_key_file: keys/%s-ak\n    secret_key_file: keys/%s-sk\n", name, name, name)
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

// TestReloadLosesNothing is issue #23's reload done-when: reload by
// signal, by HTTP and by file change, with a bad file in between, loses
// nothing. The exporter starts with one account; a second is added by
// editing the file (noticed within seconds), a third with SIGHUP; a file
// with an unknown key, then one with a duplicate account, is refused by
// POST /-/reload (500 naming file, line and account; the accounts go on,
// config_last_reload_successful 0); the fixed file (which changes the
// first account's labels, so that it restarts) is taken (1 again, its
// timestamp advanced); the second account is removed (its series leave
// /metrics and /internal/metrics). All the while /metrics is scraped
// without pause and every answer must be 200 with up 1 for the accounts
// that stay; with a state file, the settled assets of the accounts that
// stay are not asked about again.
func TestReloadLosesNothing(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"on-scrape", "background"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testReloadLosesNothing(t, mode)
		})
	}
}

func testReloadLosesNothing(t *testing.T, mode string) {
	keys := map[string][2]string{
		"a": {"ncp_iam_RELOADAK0000A", "ncp_iam_RELOADSK000000000000A"},
		"b": {"ncp_iam_RELOADAK0000B", "ncp_iam_RELOADSK000000000000B"},
		"c": {"ncp_iam_RELOADAK0000C", "ncp_iam_RELOADSK000000000000C"},
	}
	specs := map[string][]wsSpec{
		"a": {{"media-a", 4, []projSpec{{1101, "Base Project", true, 30}, {1102, "clips", false, 25}}}},
		"b": {{"media-b", 5, []projSpec{{2101, "Base Project", true, 20}}}},
		"c": {{"media-c", 6, []projSpec{{3101, "Base Project", true, 15}, {3102, "news", false, 10}}}},
	}
	sim := mitest.NewServer(buildInventory(specs["a"]...), mitest.WithCredentials(keys["a"][0], keys["a"][1]),
		mitest.WithAccount(keys["b"][0], keys["b"][1], buildInventory(specs["b"]...)),
		mitest.WithAccount(keys["c"][0], keys["c"][1], buildInventory(specs["c"]...)))
	t.Cleanup(sim.Close)
	acct := func(name string) *mitest.Account { return sim.Account(keys[name][0]) }
	background := mode == "background"
	if background {
		// Asset lists take a moment: a scrape during a pass sees it.
		for name := range keys {
			acct(name).SetFault(mitest.Scope{Operation: client.OpListAssets}, mitest.Fault{Latency: 500 * time.Millisecond})
		}
	}
	dir := t.TempDir()
	for name, k := range keys {
		writeFiles(t, dir, map[string]string{"keys/" + name + "-ak": k[0], "keys/" + name + "-sk": k[1]})
	}
	path := filepath.Join(dir, "config.yml")
	file := func(accounts ...string) string { return "accounts:\n" + strings.Join(accounts, "") }
	replaceFile(t, path, file(reloadAccount("a")))
	p := startExporter(t, baseEnv(), nil, "--scrape.mode="+mode, "--config.file="+path, "--mi.api-url="+sim.URL, "--web.enable-lifecycle",
		"--status.state-file="+filepath.Join(dir, "state.db"), "--status.window=100000h", "--status.rate=500")
	c := &http.Client{Timeout: 30 * time.Second}
	metrics := func() string { return p.Get(t, "/metrics") }
	up := func(body, account string) bool {
		v, ok := metricValue(body, `ncp_mediaintel_up{account="`+account+`"}`)
		return ok && v == 1
	}
	reloadOK := func() (ok, at float64) {
		body := p.Get(t, "/internal/metrics")
		ok, found := metricValue(body, "ncp_mediaintel_config_last_reload_successful")
		at, found2 := metricValue(body, "ncp_mediaintel_config_last_reload_success_timestamp_seconds")
		if !found || !found2 {
			t.Fatalf("/internal/metrics lacks config_last_reload_successful or its timestamp")
		}
		return ok, at
	}
	// settled waits until the tracker of account has checked all its
	// assets and has nothing queued.
	settled := func(account string) {
		t.Helper()
		n := 0
		for _, w := range specs[account] {
			for _, pr := range w.projects {
				n += pr.assets
			}
		}
		testutil.Eventually(t, 60*time.Second, "account "+account+"'s status tracker settled", func() bool {
			body := p.Get(t, "/internal/metrics")
			q, ok := metricValue(body, `ncp_mediaintel_status_queue_assets{account="`+account+`"}`)
			return ok && q == 0 && statusRequests(acct(account)) >= int64(n)
		})
	}
	post := func() exchange { return fetch(t, c, http.MethodPost, "http://"+p.Addr+"/-/reload", nil) }

	if !up(metrics(), "a") {
		t.Fatal("account a is not up at the start")
	}
	settled("a")
	// In background mode an account added is not yet read (up 0) until
	// its first pass; one that stays is up all along.
	w := watchScrapes(t, p.Addr, !background, "a")

	// A second account, by editing the file.
	edited := time.Now()
	replaceFile(t, path, file(reloadAccount("a"), reloadAccount("b")))
	testutil.Eventually(t, 10*time.Second, "account b added by the file change", func() bool { return up(metrics(), "b") })
	t.Logf("the file change was taken %v after the edit", time.Since(edited).Round(time.Millisecond))
	w.require("b", true)
	settled("b")

	// A third, by SIGHUP. The watch sees the edit too, within 2 s, and
	// reloads the same file once more.
	watched := strings.Count(p.Log(), "the configuration file changed; reloading")
	replaceFile(t, path, file(reloadAccount("a"), reloadAccount("b"), reloadAccount("c")))
	p.Signal(t, syscall.SIGHUP)
	testutil.Eventually(t, 10*time.Second, "account c added on SIGHUP", func() bool { return up(metrics(), "c") })
	if !strings.Contains(p.Log(), "SIGHUP: reloading the configuration file") {
		t.Errorf("the log does not say SIGHUP reloaded the file:\n%s", p.Log())
	}
	w.require("c", true)
	settled("c")
	// The watch's reload done: the last success is not going to move.
	testutil.Eventually(t, 10*time.Second, "the watch's reload of the SIGHUP's file", func() bool {
		log := p.Log()
		return strings.Count(log, "the configuration file changed; reloading") > watched &&
			strings.Count(log, `msg="configuration reloaded"`) >= 3 // b; c by SIGHUP and by the watch
	})
	if ok, _ := reloadOK(); ok != 1 {
		t.Errorf("config_last_reload_successful = %v after good reloads", ok)
	}
	_, goodAt := reloadOK()

	// Bad files: refused, nothing changes.
	for _, bad := range []struct{ name, content, want string }{
		{"unknown key", file(reloadAccount("a"), reloadAccount("b", "concurency: 8"), reloadAccount("c")),
			path + `:8: account "b": unknown key "concurency"`},
		{"duplicate account", file(reloadAccount("a"), reloadAccount("b"), reloadAccount("c"), reloadAccount("a")),
			path + `:11: account "a": name already used by the account at line 2`},
	} {
		replaceFile(t, path, bad.content)
		x := post()
		if x.status != http.StatusInternalServerError || !strings.Contains(x.body, bad.want) {
			t.Errorf("%s: POST /-/reload answered %d %q, want 500 with %q", bad.name, x.status, x.body, bad.want)
		}
		if ok, at := reloadOK(); ok != 0 || at != goodAt {
			t.Errorf("%s: config_last_reload_successful %v, its timestamp %v (was %v); want 0 and unchanged", bad.name, ok, at, goodAt)
		}
		body := metrics()
		for _, a := range []string{"a", "b", "c"} {
			if !up(body, a) {
				t.Errorf("%s: account %s is not up after the refused reload", bad.name, a)
			}
		}
		if v, _ := metricValue(body, "ncp_mediaintel_config_last_reload_successful"); v != 0 {
			t.Errorf("%s: /metrics shows config_last_reload_successful %v, want 0", bad.name, v)
		}
		w.more(t, 5) // scrapes while the bad file is in place
	}
	if !strings.Contains(p.Log(), "reloading the configuration failed; the running configuration is kept") {
		t.Errorf("the log does not say the reload failed")
	}

	// The fixed file; account a's entry changed (a label), so it
	// restarts: what its tracker knew holds, and in background mode it
	// serves its previous refresher's figures until the new one has read.
	before := map[string]int64{"a": statusRequests(acct("a")), "c": statusRequests(acct("c"))}
	replaceFile(t, path, file(reloadAccount("a", "labels: {team: video}"), reloadAccount("b"), reloadAccount("c")))
	if x := post(); x.status != http.StatusOK {
		t.Errorf("POST /-/reload of the fixed file: %d %q", x.status, x.body)
	}
	if background {
		// While its new refresher makes its first pass, a serves the
		// figures of its previous one: the exporter stays ready.
		if status, body, err := getStatus(c, "http://"+p.Addr+"/-/ready"); err != nil || status != http.StatusOK {
			t.Errorf("/-/ready during the first pass of a changed account: %d %q %v", status, body, err)
		}
	}
	ok, at := reloadOK()
	if ok != 1 || at <= goodAt {
		t.Errorf("after the fixed file: config_last_reload_successful %v, its timestamp %v (before %v); want 1 and later", ok, at, goodAt)
	}
	// Changed again at once, while (in background mode) its first pass
	// runs: the figures are still those of the first refresher.
	aLabels := "labels: {team: video, tier: gold}"
	replaceFile(t, path, file(reloadAccount("a", aLabels), reloadAccount("b"), reloadAccount("c")))
	if x := post(); x.status != http.StatusOK {
		t.Errorf("POST /-/reload changing account a again: %d %q", x.status, x.body)
	}
	if v, ok := metricValue(metrics(), `ncp_mediaintel_account_info{account="a",team="video",tier="gold"}`); !ok || v != 1 {
		t.Errorf("account a's new labels are not on account_info")
	}
	// It restarted; what its tracker knew holds (the status requests
	// are counted at the end).
	if !regexp.MustCompile(`msg="configuration reloaded" .* started=\[a\] stopped=\[\]`).MatchString(p.Log()) {
		t.Errorf("the log does not show account a restarted:\n%s", p.Log())
	}
	w.more(t, 5)

	// Account b removed: its series leave both expositions.
	w.require("b", false)
	replaceFile(t, path, file(reloadAccount("a", aLabels), reloadAccount("c")))
	if x := post(); x.status != http.StatusOK {
		t.Errorf("POST /-/reload without account b: %d %q", x.status, x.body)
	}
	for _, pth := range []string{"/metrics", "/internal/metrics"} {
		body := p.Get(t, pth)
		for line := range strings.SplitSeq(body, "\n") {
			if strings.Contains(line, `account="b"`) {
				t.Errorf("%s still shows account b after its removal: %s", pth, line)
				break
			}
		}
		if !strings.Contains(body, `account="c"`) {
			t.Errorf("%s shows nothing of account c", pth)
		}
	}

	// A few seconds of scrapes more: the settled assets of a (restarted)
	// and c (untouched) are not asked about again.
	time.Sleep(5 * time.Second)
	for name, n := range before {
		if got := statusRequests(acct(name)); got != n {
			t.Errorf("account %s: %d status requests after the reloads, %d before: settled assets were asked about again", name, got, n)
		}
	}
	w.stop()
	n, bad := w.result()
	t.Logf("%d scrapes during the reloads", n)
	if len(bad) > 0 {
		t.Errorf("%d of %d scrapes during the reloads went wrong:\n%s", len(bad), n, strings.Join(bad[:min(len(bad), 20)], "\n"))
	}
	if n < 50 {
		t.Errorf("only %d scrapes during the reloads", n)
	}
}

// TestReloadNeedsLifecycle: without --web.enable-lifecycle, POST
// /-/reload is refused with 403, as Prometheus refuses it, and reloads
// nothing.
func TestReloadNeedsLifecycle(t *testing.T) {
	t.Parallel()
	sim := mitest.NewServer(buildInventory(wsSpec{"media-one", 1, []projSpec{{1, "Base Project", true, 3}}}))
	t.Cleanup(sim.Close)
	path := filepath.Join(t.TempDir(), "config.yml")
	replaceFile(t, path, "accounts:\n  - name: one\n    access_key_env: ONE_AK\n    secret_key_env: ONE_SK\n")
	env := baseEnv("ONE_AK="+mitest.DefaultAccessKey, "ONE_SK="+mitest.DefaultSecretKey)
	p := startExporter(t, env, nil, "--config.file="+path, "--mi.api-url="+sim.URL)
	c := &http.Client{Timeout: 10 * time.Second}
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		x := fetch(t, c, method, "http://"+p.Addr+"/-/reload", nil)
		if x.status != http.StatusForbidden || !strings.Contains(x.body, "Lifecycle API is not enabled") {
			t.Errorf("%s /-/reload without --web.enable-lifecycle: %d %q, want 403", method, x.status, x.body)
		}
	}
	if strings.Contains(p.Log(), "reload") {
		t.Errorf("the refused requests reloaded the file:\n%s", p.Log())
	}
	if v, ok := metricValue(p.Get(t, "/metrics"), `ncp_mediaintel_up{account="one"}`); !ok || v != 1 {
		t.Errorf("up{account=\"one\"} = %v (present %v)", v, ok)
	}
}
