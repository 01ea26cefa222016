package status

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const testURL = "https://mi.example"

// openStore opens the state file at path with "legacy" as the account of
// a file of the previous version; the caller closes it.
func openStore(t *testing.T, path string) (*Store, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	st, err := OpenStore(path, "legacy", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return st, logs
}

// settle runs a Tracker of account over assets 1-4 until they are all
// checked, and commits.
func settle(t *testing.T, st *Store, account string, api *fakeAPI) {
	t.Helper()
	tr, _, _ := newTracker(t, api, Config{Store: st, Account: account, APIURL: testURL})
	tr.Observe("ws", 1, recent(1, 2, 3, 4))
	tr.checkDue(context.Background())
	tr.commit()
}

// settleFile is settle on a state file of its own, closed after.
func settleFile(t *testing.T, path, account string, api *fakeAPI) {
	t.Helper()
	st, _ := openStore(t, path)
	settle(t, st, account, api)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// accountsIn lists the accounts the file at path keeps state for, and
// their number of records, read without the package's code.
func accountsIn(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	err = db.View(func(tx *bolt.Tx) error {
		all := tx.Bucket([]byte("accounts"))
		return all.ForEach(func(name, _ []byte) error {
			out[string(name)] = all.Bucket(name).Bucket([]byte("assets")).Stats().KeyN
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStateFileRestart: after a restart on the state file, settled assets
// cost no request; moving ones are checked when due, as before.
func TestStateFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.set(2, "COMPLETED", "ANALYZE_FAIL", "video parsing failure")
	api.set(3, "FAILED", "", "")
	api.set(4, "COMPLETED", "WAIT_ANALYZE", "")
	settleFile(t, path, "a", api)
	before := api.total()

	st, _ := openStore(t, path)
	defer st.Close()
	tr, clk, logs := newTracker(t, api, Config{Store: st, Account: "a", APIURL: testURL})
	if !strings.Contains(logs.String(), "account=a") || !strings.Contains(logs.String(), "assets=4") {
		t.Errorf("the load is not logged with the account and the assets:\n%s", logs)
	}
	s := tr.Observe("ws", 1, recent(1, 2, 3, 4))
	if n := tr.checkDue(context.Background()); n != 0 || api.total() != before {
		t.Errorf("restart made %d checks; want none", n)
	}
	want := Summary{Recent: 4}
	want.Import[ImportCompleted], want.Import[ImportFailed] = 3, 1
	want.Analysis[AnalysisCompleted], want.Analysis[AnalysisFailed], want.Analysis[AnalysisWaitAnalyze], want.Analysis[AnalysisNotImported] = 1, 1, 1, 1
	want.Failures[ReasonMediaParsing] = 1
	// Asset 4 has waited since the settling run, at this very clock
	// reading: a nanosecond, never the 0 that says none is pending.
	want.OldestPending = time.Nanosecond
	if s != want {
		t.Errorf("after restart: %+v\nwant %+v", s, want)
	}
	clk.Add(time.Minute)
	if n := tr.checkDue(context.Background()); n != 1 || api.perAsset[4] != 3 {
		t.Errorf("%d checks a minute after the restart; want the waiting asset 4 once", n)
	}
	// It has been pending since before the restart.
	if s := tr.Summary("ws", 1); s.OldestPending != time.Minute {
		t.Errorf("oldest pending %v after the restart, want 1m", s.OldestPending)
	}
}

// rewrite changes the bolt file at path with fn, outside the package's code.
func rewrite(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// accountAssets is the assets bucket of account a of a file of this version.
func accountAssets(tx *bolt.Tx, a string) *bolt.Bucket {
	return tx.Bucket(bucketAccounts).Bucket([]byte(a)).Bucket(bucketAssets)
}

// TestStateFileSetAside: a file that is corrupt, of another version or not
// a state file is set aside as it was, with a warning, never a crash; an
// empty state file takes its place.
func TestStateFileSetAside(t *testing.T) {
	settled := func(t *testing.T, path string) { settleFile(t, path, "a", newFake()) }
	for _, tc := range []struct {
		name   string
		prep   func(t *testing.T, path string)
		reason string
	}{
		{"garbage", func(t *testing.T, path string) { write(t, path, strings.Repeat("not a database ", 1000)) }, "not a state file"},
		{"truncated", func(t *testing.T, path string) {
			settled(t, path)
			b, _ := os.ReadFile(path)
			write(t, path, string(b[:len(b)/3]))
		}, ""},
		{"scribbled", func(t *testing.T, path string) {
			settled(t, path)
			b, _ := os.ReadFile(path)
			for i := 4096; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			write(t, path, string(b))
		}, ""},
		{"other version", func(t *testing.T, path string) {
			settled(t, path)
			rewrite(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keySchema, []byte("mediaintel-status-4"))
			})
		}, "another version"},
		{"schema 1", func(t *testing.T, path string) {
			rewrite(t, path, func(tx *bolt.Tx) error {
				meta, _ := tx.CreateBucket(bucketMeta)
				_, _ = tx.CreateBucket(bucketAssets)
				return meta.Put(keySchema, []byte("mediaintel-status-1"))
			})
		}, "mediaintel-status-1"},
		{"foreign bolt file", func(t *testing.T, path string) {
			rewrite(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, "no meta bucket"},
		{"no accounts bucket", func(t *testing.T, path string) {
			settled(t, path)
			rewrite(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketAccounts) })
		}, "no accounts bucket"},
		{"account without assets", func(t *testing.T, path string) {
			settled(t, path)
			rewrite(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketAccounts).Bucket([]byte("a")).DeleteBucket(bucketAssets)
			})
		}, `account \"a\" has no assets bucket`},
		{"short record", func(t *testing.T, path string) {
			settled(t, path)
			rewrite(t, path, func(tx *bolt.Tx) error {
				return accountAssets(tx, "a").Put(assetKey(projectKey{"ws", 1}, 99), make([]byte, 43))
			})
		}, `account \"a\": bad record`},
		{"bad key", func(t *testing.T, path string) {
			settled(t, path)
			rewrite(t, path, func(tx *bolt.Tx) error {
				return accountAssets(tx, "a").Put([]byte("short"), make([]byte, recordLen))
			})
		}, `account \"a\": bad record \"short\"`},
		{"previous version, bad record", func(t *testing.T, path string) {
			rewrite(t, path, func(tx *bolt.Tx) error {
				meta, _ := tx.CreateBucket(bucketMeta)
				assets, _ := tx.CreateBucket(bucketAssets)
				_ = meta.Put(keyAPIURL, []byte(testURL))
				_ = assets.Put(assetKey(projectKey{"ws", 1}, 1), make([]byte, recordLen))
				_ = assets.Put(assetKey(projectKey{"ws", 1}, 2), make([]byte, recordLen+1))
				return meta.Put(keySchema, []byte(prevSchema))
			})
		}, "bad record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			tc.prep(t, path)
			prepared, _ := os.ReadFile(path)
			st, logs := openStore(t, path)
			defer st.Close()
			api := newFake()
			tr, _, _ := newTracker(t, api, Config{Store: st, Account: "a", APIURL: testURL})
			aside, _ := filepath.Glob(path + ".bad-*")
			intact := tc.name == "scribbled" && len(tr.projects) > 0 // a scribble may miss every page that matters
			if len(aside) != 1 && !intact {
				t.Fatalf("set aside: %v; log:\n%s", aside, logs)
			}
			if len(aside) == 1 {
				if !strings.Contains(logs.String(), "set aside") || !strings.Contains(logs.String(), tc.reason) {
					t.Errorf("log lacks the warning and %q:\n%s", tc.reason, logs)
				}
				if b, _ := os.ReadFile(aside[0]); !bytes.Equal(b, prepared) {
					t.Errorf("the file set aside was changed before it was set aside")
				}
				if len(tr.projects) != 0 {
					t.Errorf("the fresh state holds %d projects", len(tr.projects))
				}
			}
			// The fresh state works.
			tr.Observe("ws", 1, recent(9))
			tr.checkDue(context.Background())
			tr.commit()
			if api.perAsset[9] != 1 {
				t.Errorf("the new state does not work")
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStateFileLocked: a file that another exporter holds is an error
// that says so, not a file set aside.
func TestStateFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := OpenStore(path, "legacy", nil)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("OpenStore: %v, %v; want a locked file", st, err)
	}
	if aside, _ := filepath.Glob(path + ".bad-*"); len(aside) != 0 {
		t.Errorf("a locked file was set aside: %v", aside)
	}
}

// TestStoreConfigErrors: what the Store and a Tracker on it cannot work
// with is an error, before any file is touched.
func TestStoreConfigErrors(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(filepath.Join(dir, "state.db"), "legacy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"no path", func() error { _, err := OpenStore("", "legacy", nil); return err }, "no state file path"},
		{"no legacy account", func() error { _, err := OpenStore(filepath.Join(dir, "x.db"), "", nil); return err }, "no account"},
		{"directory missing", func() error { _, err := OpenStore(filepath.Join(dir, "no", "x.db"), "legacy", nil); return err }, "no such file"},
		{"Tracker without account", func() error { _, err := New(newFake(), Config{Window: time.Hour, Store: st}); return err }, "needs an account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one that says %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a refused OpenStore created its file")
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, k := range []projectKey{{"ws", 1}, {"media-prod-2", 1 << 40}, {"abc", 0}} {
		for _, id := range []int64{1, 1 << 50, 9_000_000_001} {
			gk, gid, ok := parseKey(assetKey(k, id))
			if !ok || gk != k || gid != id {
				t.Errorf("round trip of %v/%d: %v/%d %v", k, id, gk, gid, ok)
			}
		}
	}
	if _, _, ok := parseKey([]byte("short")); ok {
		t.Error("a short key parsed")
	}
}

// TestStoreAccountsApart: two accounts with the same workspace, project and
// asset IDs keep their own state in one file, across a restart.
func TestStoreAccountsApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	apiA, apiB := newFake(), newFake()
	for id := int64(1); id <= 4; id++ {
		apiA.set(id, "COMPLETED", "ANALYZE_COMPLETED", "")
		apiB.set(id, "COMPLETED", "ANALYZE_FAIL", "keyword encoding failure")
	}
	apiB.set(4, "FAILED", "", "")
	st, _ := openStore(t, path)
	settle(t, st, "a", apiA)
	settle(t, st, "b", apiB)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := accountsIn(t, path), map[string]int{"a": 4, "b": 4}; !maps.Equal(got, want) {
		t.Errorf("accounts in the file: %v, want %v", got, want)
	}

	st, _ = openStore(t, path)
	defer st.Close()
	trA, _, _ := newTracker(t, apiA, Config{Store: st, Account: "a", APIURL: testURL})
	trB, _, _ := newTracker(t, apiB, Config{Store: st, Account: "b", APIURL: testURL})
	before := apiA.total() + apiB.total()
	sa, sb := trA.Observe("ws", 1, recent(1, 2, 3, 4)), trB.Observe("ws", 1, recent(1, 2, 3, 4))
	if n := trA.checkDue(context.Background()) + trB.checkDue(context.Background()); n != 0 || apiA.total()+apiB.total() != before {
		t.Errorf("%d checks after the restart; want none", n)
	}
	if sa.Analysis[AnalysisCompleted] != 4 || sa.Import[ImportCompleted] != 4 {
		t.Errorf("account a after the restart: %+v; want its 4 analysed assets", sa)
	}
	if sb.Analysis[AnalysisFailed] != 3 || sb.Failures[ReasonKeywordEncoding] != 3 || sb.Import[ImportFailed] != 1 {
		t.Errorf("account b after the restart: %+v; want its 3 failed analyses and 1 failed import", sb)
	}
}

// TestStoreRetain: Retain deletes the state of exactly the accounts it
// does not name; a Tracker of a deleted account that still runs writes
// nothing more.
func TestStoreRetain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	api := newFake()
	for id := int64(1); id <= 4; id++ {
		api.set(id, "COMPLETED", "ANALYZE_COMPLETED", "")
	}
	st, logs := openStore(t, path)
	for _, a := range []string{"a", "b", "c"} {
		settle(t, st, a, api)
	}
	stale, _, _ := newTracker(t, api, Config{Store: st, Account: "b", APIURL: testURL})
	if err := st.Retain([]string{"a", "x"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"b", "c"} {
		if !strings.Contains(logs.String(), "account="+a) {
			t.Errorf("the deletion of account %s is not logged:\n%s", a, logs)
		}
	}
	stale.Observe("ws", 1, recent(5))
	stale.checkDue(context.Background())
	stale.commit()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := accountsIn(t, path), map[string]int{"a": 4}; !maps.Equal(got, want) {
		t.Errorf("accounts in the file after Retain: %v, want %v", got, want)
	}

	st, _ = openStore(t, path)
	defer st.Close()
	for a, want := range map[string]int64{"a": 4, "b": 0, "c": 0} {
		tr, _, _ := newTracker(t, api, Config{Store: st, Account: a, APIURL: testURL})
		if got := tr.Summary("ws", 1).Recent; got != want {
			t.Errorf("account %s loads %d assets after Retain, want %d", a, got, want)
		}
	}
}

// TestStateFileAPIURLChange: records kept for another API URL are dropped
// for that account only, with a warning that names both URLs; the file is
// not set aside.
func TestStateFileAPIURLChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	api := newFake()
	st, _ := openStore(t, path)
	settle(t, st, "a", api)
	settle(t, st, "b", api)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, _ = openStore(t, path)
	defer st.Close()
	trA, _, logs := newTracker(t, api, Config{Store: st, Account: "a", APIURL: "https://other.example"})
	trB, _, _ := newTracker(t, api, Config{Store: st, Account: "b", APIURL: testURL})
	for _, want := range []string{"another API URL", "account=a", "kept_api_url=" + testURL, "api_url=https://other.example", "assets=0"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if n, m := len(trA.projects), trB.Summary("ws", 1).Recent; n != 0 || m != 4 {
		t.Errorf("account a holds %d projects (want none), b %d assets (want 4)", n, m)
	}
	if aside, _ := filepath.Glob(path + ".bad-*"); len(aside) != 0 {
		t.Errorf("the file was set aside: %v", aside)
	}
	// The account's state is now kept for the new URL.
	trA.Observe("ws", 1, recent(7))
	trA.checkDue(context.Background())
	trA.commit()
	again, _, logs := newTracker(t, api, Config{Store: st, Account: "a", APIURL: "https://other.example"})
	if s := again.Summary("ws", 1); s.Recent != 1 || strings.Contains(logs.String(), "another API URL") {
		t.Errorf("after the change, account a loads %+v:\n%s", s, logs)
	}
}

// TestStoreConcurrentCommits: the Trackers of several accounts commit to
// one file at once (run it with -race), and each finds its own state
// after a restart.
func TestStoreConcurrentCommits(t *testing.T) {
	const accounts, rounds, perRound = 4, 25, 4
	path := filepath.Join(t.TempDir(), "state.db")
	st, _ := openStore(t, path)
	apis := make([]*fakeAPI, accounts)
	var wg sync.WaitGroup
	for i := range accounts {
		apis[i] = newFake()
		ana := []string{"ANALYZE_COMPLETED", "ANALYZE_FAIL", "ANALYZE_CANCEL", "WAIT_ANALYZE"}[i]
		for id := int64(1); id <= rounds*perRound; id++ {
			apis[i].set(id, "COMPLETED", ana, "")
		}
		tr, _, _ := newTracker(t, apis[i], Config{Store: st, Account: fmt.Sprint("acct-", i), APIURL: testURL})
		wg.Go(func() {
			var ids []int64
			for r := range rounds {
				for j := range perRound {
					ids = append(ids, int64(r*perRound+j+1))
				}
				tr.Observe("ws", 1, recent(ids...))
				tr.checkDue(context.Background())
				tr.commit()
			}
		})
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, _ = openStore(t, path)
	defer st.Close()
	for i := range accounts {
		before := apis[i].total()
		tr, _, _ := newTracker(t, apis[i], Config{Store: st, Account: fmt.Sprint("acct-", i), APIURL: testURL})
		s := tr.Summary("ws", 1)
		want := []AnalysisState{AnalysisCompleted, AnalysisFailed, AnalysisCancelled, AnalysisWaitAnalyze}[i]
		if s.Recent != rounds*perRound || s.Analysis[want] != rounds*perRound {
			t.Errorf("account %d after the restart: %+v; want %d assets %v", i, s, rounds*perRound, want)
		}
		if tr.checkDue(context.Background()); apis[i].total() != before {
			t.Errorf("account %d asked %d times again after the restart", i, apis[i].total()-before)
		}
	}
}

// TestStateFileKeepsSceneSummaries: the summary state, its due time and
// its pending-since time (to the nanosecond) survive a restart.
func TestStateFileKeepsSceneSummaries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	api := newFake()
	api.set(1, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.setSummary(1, "SUMMARIZING")
	api.set(2, "COMPLETED", "ANALYZE_COMPLETED", "")
	api.setSummary(2, "SUMMARIZE_COMPLETED")
	st, _ := openStore(t, path)
	cfg := Config{Store: st, Account: "a", APIURL: testURL, SceneSummaries: true}
	tr, clk, _ := newTracker(t, api, cfg)
	tr.Observe("ws", 1, recent(1, 2))
	tr.checkDue(context.Background())
	tr.commit()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Add(1500 * time.Millisecond)
	st, _ = openStore(t, path)
	defer st.Close()
	tr2, err := New(api, Config{Window: time.Hour, Store: st, Account: "a", APIURL: testURL, SceneSummaries: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	before := api.calls[CheckSceneSummary]
	s := tr2.Observe("ws", 1, recent(1, 2))
	if s.SceneSummary[SummarySummarizing] != 1 || s.SceneSummary[SummaryCompleted] != 1 || s.SummaryOldestPending != 1500*time.Millisecond {
		t.Errorf("after the restart: %+v", s)
	}
	if n := tr2.checkDue(context.Background()); n != 0 || api.calls[CheckSceneSummary] != before {
		t.Errorf("%d checks right after the restart; want none before the recheck interval", n)
	}
	clk.Add(time.Minute)
	if n := tr2.checkDue(context.Background()); n != 1 || api.asked(CheckSceneSummary, 1) != 2 {
		t.Errorf("%d checks a minute later; want the running summary of asset 1 once", n)
	}
}

// v2Asset is a record of a state file of release 0.2.0 (schema
// mediaintel-status-2), read independently of the package's code:
// created, updated (Unix seconds), next, checked, pendingSince, sumNext,
// sumPendingSince (Unix nanoseconds), then the import, analysis, reason
// and scene summary bytes.
type v2Asset struct {
	key projectKey
	id  int64
	record
}

func readV2(t *testing.T, path string) (assets []v2Asset, apiURL string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if s := string(meta.Get([]byte("schema"))); s != "mediaintel-status-2" {
			t.Fatalf("the fixture's schema is %q", s)
		}
		apiURL = string(meta.Get([]byte("api_url")))
		return tx.Bucket([]byte("assets")).ForEach(func(k, v []byte) error {
			n := len(k) - 16
			if n < 1 || k[n-1] != 0 || len(v) != 60 {
				t.Fatalf("fixture record %q: %d bytes", k, len(v))
			}
			u := func(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
			assets = append(assets, v2Asset{key: projectKey{string(k[:n-1]), u(k[n:])}, id: u(k[n+8:]), record: record{
				created: u(v[0:]), updated: u(v[8:]), next: u(v[16:]), checked: u(v[24:]),
				pendingSince: u(v[32:]), sumNext: u(v[40:]), sumPendingSince: u(v[48:]),
				imp: ImportState(v[56]), ana: AnalysisState(v[57]), reason: FailureReason(v[58]), sum: SummaryState(v[59]),
			}})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return assets, apiURL
}

// settled reports whether no stage of a moves on by itself: a failed
// import, or an import, analysis and scene summary all known and not
// pending.
func (a v2Asset) settled() bool {
	switch {
	case a.imp == ImportUnchecked || a.imp == ImportInProgress:
		return false
	case a.imp != ImportCompleted:
		return true
	case a.ana == AnalysisNotImported || a.ana.pending():
		return false
	case a.ana != AnalysisCompleted:
		return true
	}
	return a.sum != SummaryNotAnalyzed && !a.sum.pending()
}

// record is what the Tracker holds of an asset, field by field.
type record struct {
	created, updated, next, checked        int64
	pendingSince, sumNext, sumPendingSince int64
	imp                                    ImportState
	ana                                    AnalysisState
	reason                                 FailureReason
	sum                                    SummaryState
}

// records is every asset tr holds, by project and ID.
func records(tr *Tracker) map[projectKey]map[int64]record {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[projectKey]map[int64]record{}
	for k, p := range tr.projects {
		for id, a := range p.assets {
			if out[k] == nil {
				out[k] = map[int64]record{}
			}
			out[k][id] = record{a.created, a.updated, a.next, a.checked, a.pendingSince, a.sumNext, a.sumPendingSince, a.imp, a.ana, a.reason, a.sum}
		}
	}
	return out
}

// fixtureEnd is a moment after the last check in testdata/state-v2.db.
var fixtureEnd = time.Date(2026, 12, 4, 16, 49, 2, 0, time.UTC)

// TestStateFileUpgrade: the state file of release 0.2.0 (see
// testdata/README.md) loads whole into the account OpenStore names for
// it: every asset with every state, due time and pending-since time as
// 0.2.0 kept them; only the assets due are asked about, none that was
// settled; the file is then of this version and, reopened, holds the same;
// another account starts empty.
func TestStateFileUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	fixture, err := os.ReadFile("testdata/state-v2.db")
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, string(fixture))
	old, apiURL := readV2(t, path)
	at := fixtureEnd // a moment after the fixture's last check
	clk := testutil.NewClock(at)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	st, err := OpenStore(path, "legacy", logger)
	if err != nil {
		t.Fatal(err)
	}
	api := newFake()
	cfg := Config{Window: 30 * time.Minute, SceneSummaries: true, Store: st, Account: "legacy", APIURL: apiURL, Now: clk.Now, Logger: logger}
	tr, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "set aside") || !strings.Contains(logs.String(), "upgraded") ||
		!strings.Contains(logs.String(), `msg="status state loaded" account=legacy`) ||
		!strings.Contains(logs.String(), fmt.Sprintf("assets=%d\n", len(old))) {
		t.Fatalf("the file of 0.2.0 was not loaded whole into the legacy account (%d assets):\n%s", len(old), logs)
	}

	// Every asset as 0.2.0 kept it; a summary never scheduled is due now.
	got := records(tr)
	n, settled, pending, due := len(old), 0, 0, map[int64]bool{}
	for _, o := range old {
		want := o.record
		analysed := o.imp == ImportCompleted && o.ana == AnalysisCompleted
		if analysed && want.sumNext == 0 {
			want.sumNext = at.UnixNano()
		}
		if r, ok := got[o.key][o.id]; !ok || r != want {
			t.Errorf("%v/%d after the upgrade: %+v (held: %v)\nwant %+v", o.key, o.id, r, ok, want)
		}
		d := want.next
		if analysed {
			d = min(d, want.sumNext)
		}
		due[o.id] = d <= at.UnixNano()
		if o.pendingSince > 0 || o.sumPendingSince > 0 {
			pending++
		}
		if !due[o.id] && o.settled() {
			settled++
		}
	}
	held := 0
	for _, p := range got {
		held += len(p)
	}
	if held != n {
		t.Errorf("%d assets held after the upgrade, want the fixture's %d", held, n)
	}
	ndue := 0
	for _, d := range due {
		if d {
			ndue++
		}
	}
	t.Logf("the fixture: %d assets, %d due at %v, %d settled and not due, %d pending", n, ndue, at, settled, pending)
	if ndue < 5 || ndue > n-20 || settled < 20 || pending < 20 {
		t.Fatalf("the fixture no longer covers the test: %d assets, %d due, %d settled, %d pending", n, ndue, settled, pending)
	}

	// Only the assets due are asked about.
	tr.checkDue(context.Background())
	for _, o := range old {
		asked := api.asked(CheckImport, o.id) + api.asked(CheckAnalysis, o.id) + api.asked(CheckSceneSummary, o.id)
		if due[o.id] != (asked > 0) {
			t.Errorf("asset %d (%v/%v/%v, due %v) asked %d times", o.id, o.imp, o.ana, o.sum, due[o.id], asked)
		}
	}

	// Committed, the file is of this version, the records are the legacy
	// account's, and a reopen loads exactly what the Tracker held.
	tr.commit()
	want := records(tr)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		meta, acct := tx.Bucket([]byte("meta")), tx.Bucket([]byte("accounts")).Bucket([]byte("legacy"))
		if s, u := string(meta.Get([]byte("schema"))), meta.Get([]byte("api_url")); s != stateSchema || u != nil {
			t.Errorf("after the upgrade the file's meta says schema %q, api_url %q; want %q and none", s, u, stateSchema)
		}
		if tx.Bucket([]byte("assets")) != nil {
			t.Error("the previous version's assets bucket is still at the top")
		}
		if u := string(acct.Bucket([]byte("meta")).Get([]byte("api_url"))); u != apiURL {
			t.Errorf("the legacy account's API URL is %q, want the file's %q", u, apiURL)
		}
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := accountsIn(t, path); !maps.Equal(got, map[string]int{"legacy": n}) {
		t.Errorf("accounts after the upgrade: %v, want legacy with %d records", got, n)
	}
	st, logs = openStore(t, path)
	defer st.Close()
	cfg.Store = st
	tr2, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "upgraded") {
		t.Errorf("the file was upgraded twice:\n%s", logs)
	}
	if got := records(tr2); !reflect.DeepEqual(got, want) {
		t.Errorf("the reopened file holds other records than the Tracker did")
	}

	// Another account starts empty.
	before := api.total()
	cfg.Account = "other"
	other, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if other.checkDue(context.Background()); len(other.projects) != 0 || api.total() != before {
		t.Errorf("account other holds %d projects and asked %d times; want none", len(other.projects), api.total()-before)
	}

	// The file's API URL is the legacy account's: the file of 0.2.0 read
	// for another API loads nothing.
	path = filepath.Join(t.TempDir(), "state.db")
	write(t, path, string(fixture))
	st2, _ := openStore(t, path)
	defer st2.Close()
	cfg.Store, cfg.Account, cfg.APIURL, cfg.Logger = st2, "legacy", "https://other.example", nil
	moved, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved.projects) != 0 {
		t.Errorf("the file of 0.2.0 kept for %q loaded %d projects for another API URL", apiURL, len(moved.projects))
	}
}
