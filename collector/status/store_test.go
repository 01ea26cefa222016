package status

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// settle runs a Tracker with a state file over assets 1-4 until they are
// all checked, and closes it the way Run does.
func settle(t *testing.T, path string, api *fakeAPI) *testutil.Clock {
	t.Helper()
	tr, clk, _ := newTracker(t, api, Config{StateFile: path, APIURL: "https://mi.example"})
	tr.Observe("ws", 1, recent(1, 2, 3, 4))
	tr.checkDue(context.Background())
	tr.commit()
	tr.store.close()
	return clk
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
	settle(t, path, api)
	before := api.total()

	tr, clk, _ := newTracker(t, api, Config{StateFile: path, APIURL: "https://mi.example"})
	defer tr.store.close()
	s := tr.Observe("ws", 1, recent(1, 2, 3, 4))
	if n := tr.checkDue(context.Background()); n != 0 || api.total() != before {
		t.Errorf("restart made %d checks; want none", n)
	}
	want := Summary{Recent: 4}
	want.Import[ImportCompleted], want.Import[ImportFailed] = 3, 1
	want.Analysis[AnalysisCompleted], want.Analysis[AnalysisFailed], want.Analysis[AnalysisWaitAnalyze], want.Analysis[AnalysisNotImported] = 1, 1, 1, 1
	want.Failures[ReasonMediaParsing] = 1
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

// TestStateFileSetAside: a file that is corrupt, from another version or
// for another API is set aside with a warning, never a crash.
func TestStateFileSetAside(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prep   func(t *testing.T, path string)
		apiURL string
		reason string
	}{
		{"garbage", func(t *testing.T, path string) { write(t, path, strings.Repeat("not a database ", 1000)) }, "https://mi.example", "not a state file"},
		{"truncated", func(t *testing.T, path string) {
			settle(t, path, newFake())
			b, _ := os.ReadFile(path)
			write(t, path, string(b[:len(b)/3]))
		}, "https://mi.example", ""},
		{"scribbled", func(t *testing.T, path string) {
			settle(t, path, newFake())
			b, _ := os.ReadFile(path)
			for i := 4096; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			write(t, path, string(b))
		}, "https://mi.example", ""},
		{"other API URL", func(t *testing.T, path string) { settle(t, path, newFake()) }, "https://other.example", "another API URL"},
		{"other version", func(t *testing.T, path string) {
			settle(t, path, newFake())
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte("mediaintel-status-0"))
			})
			db.Close()
		}, "https://mi.example", "another version"},
		{"foreign bolt file", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
			db.Close()
		}, "https://mi.example", "no meta bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			tc.prep(t, path)
			api := newFake()
			tr, _, logs := newTracker(t, api, Config{StateFile: path, APIURL: tc.apiURL})
			defer tr.store.close()
			aside, _ := filepath.Glob(path + ".bad-*")
			intact := tc.name == "scribbled" && len(tr.projects) > 0 // a scribble may miss every page that matters
			if len(aside) != 1 && !intact {
				t.Fatalf("set aside: %v; log:\n%s", aside, logs)
			}
			if len(aside) == 1 && (!strings.Contains(logs.String(), "set aside") || !strings.Contains(logs.String(), tc.reason)) {
				t.Errorf("log lacks the warning and %q:\n%s", tc.reason, logs)
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
	_, err = New(newFake(), Config{Window: time.Hour, StateFile: path})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("err = %v", err)
	}
	if aside, _ := filepath.Glob(path + ".bad-*"); len(aside) != 0 {
		t.Errorf("a locked file was set aside: %v", aside)
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
