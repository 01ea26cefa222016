package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// fixtureV2 is what the state file of release 0.2.0
// (status/testdata/state-v2.db, see its README) holds, as this test
// reads it: the records of schema mediaintel-status-2, 60 bytes each
// (created, updated, next, checked, pendingSince, sumNext,
// sumPendingSince as big-endian Unix nanoseconds or seconds, then the
// import, analysis, reason and summary states).
type fixtureV2 struct {
	assets int
	// dueBy is the number of assets with a check due at or before a time.
	dueBy func(at time.Time) int
}

// shiftFixtureV2 moves every time of the fixture's records by the same
// amount, so that its last status check was made at now: the file is then
// what 0.2.0 would leave to an upgrade made today, whenever the test runs
// (0.2.0 rechecked a settled asset after 6 h, so the file as written has
// every asset due a few hours after it was made). The times are Unix
// seconds (created, updated) and Unix nanoseconds (the rest); 0 is unset.
func shiftFixtureV2(t *testing.T, path string, now time.Time) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("assets"))
		var last int64
		if err := b.ForEach(func(_, v []byte) error {
			last = max(last, int64(binary.BigEndian.Uint64(v[24:])))
			return nil
		}); err != nil {
			return err
		}
		delta := now.UnixNano() - last
		recs := map[string][]byte{}
		if err := b.ForEach(func(k, v []byte) error {
			r := slices.Clone(v)
			for i := range 7 {
				x := int64(binary.BigEndian.Uint64(r[8*i:]))
				switch {
				case x == 0:
				case i < 2:
					binary.BigEndian.PutUint64(r[8*i:], uint64(x+delta/int64(time.Second)))
				default:
					binary.BigEndian.PutUint64(r[8*i:], uint64(x+delta))
				}
			}
			recs[string(k)] = r
			return nil
		}); err != nil {
			return err
		}
		for k, r := range recs {
			if err := b.Put([]byte(k), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFixtureV2(t *testing.T, path string) fixtureV2 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type rec struct{ next, sumNext int64 }
	var recs []rec
	err = db.View(func(tx *bolt.Tx) error {
		if s := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); s != "mediaintel-status-2" {
			t.Fatalf("the fixture's schema is %q, want mediaintel-status-2", s)
		}
		return tx.Bucket([]byte("assets")).ForEach(func(_, v []byte) error {
			if len(v) != 60 {
				t.Fatalf("a record of %d bytes in the fixture", len(v))
			}
			v64 := func(i int) int64 { return int64(binary.BigEndian.Uint64(v[8*i:])) }
			r := rec{next: v64(2), sumNext: -1}
			// The scene summary is a stage of an imported (2) and analysed
			// (5) asset; never scheduled (0), it is due at once.
			if v[56] == 2 && v[57] == 5 {
				r.sumNext = max(v64(5), 0)
			}
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixtureV2{assets: len(recs), dueBy: func(at time.Time) int {
		n := 0
		for _, r := range recs {
			if r.next <= at.UnixNano() || (r.sumNext >= 0 && r.sumNext <= at.UnixNano()) {
				n++
			}
		}
		return n
	}}
}

// TestStateFileOfRelease020Loads is issue #23's upgrade done-when: the
// state file that release 0.2.0 wrote in demo mode loads into the account
// --ncp.account names (default "default"), the demo's first, and nothing
// settled is asked about again: the status calls of that account are one
// for each asset that was due by the times 0.2.0 kept (two more for each
// of the demo's new uploads, which reuse 0.2.0's asset IDs). The demo's
// second account starts empty. No scrape is made: a listing would bring
// the demo's own assets to the tracker.
func TestStateFileOfRelease020Loads(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "status", "testdata", "state-v2.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, account string
		args          []string
	}{
		{"default account", "default", nil},
		{"--ncp.account=prod", "prod", []string{"--ncp.account=prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, fixture, 0o600); err != nil {
				t.Fatal(err)
			}
			shiftFixtureV2(t, path, time.Now())
			fx := readFixtureV2(t, path)
			// A window that holds the fixture's assets for years.
			args := append([]string{"--demo", "--status.state-file=" + path, "--status.window=100000h", "--status.rate=100"}, tc.args...)
			start := time.Now()
			e := testutil.StartExporterWith(t, testutil.BuildExporter(t), testutil.ExporterOptions{Env: baseEnv()}, args...)
			log := e.Log()
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`msg="status state file upgraded; its records are the account's" .*from=mediaintel-status-2 to=mediaintel-status-3 account=` + tc.account + `\n`),
				regexp.MustCompile(`msg="status state loaded" component=status account=` + tc.account + ` \S+ assets=` + strconv.Itoa(fx.assets) + `\n`),
				regexp.MustCompile(`msg="status state loaded" component=status account=lab \S+ assets=0\n`),
			} {
				if !want.MatchString(log) {
					t.Errorf("the log lacks %s:\n%s", want, log)
				}
			}
			if regexp.MustCompile(`set aside|level=ERROR|dropped`).MatchString(log) {
				t.Errorf("the state file was not taken as it is:\n%s", log)
			}
			checks := func() float64 {
				return parseExposition(t, e.Get(t, "/internal/metrics")).sumSeries("ncp_mediaintel_status_checks_total", `account="`+tc.account+`"`)
			}
			// The checks due are made at once (100 a second); then the
			// count holds still.
			testutil.Eventually(t, 30*time.Second, "the due checks made", func() bool {
				q, ok := metricValue(e.Get(t, "/internal/metrics"), `ncp_mediaintel_status_queue_assets{account="`+tc.account+`"}`)
				return ok && q == 0 && (fx.dueBy(start) == 0 || checks() > 0)
			})
			time.Sleep(3 * time.Second)
			made := checks()
			due := fx.dueBy(time.Now())
			t.Logf("the 0.2.0 state file: %d assets, %d due by now (%d at the start); %v status calls made", fx.assets, due, fx.dueBy(start), made)
			// One call each for the assets due: they are not in the new
			// demo's inventory (404: dropped, or a summary kept as never
			// made), but for the demo's uploads since the start, which
			// reuse the IDs of 0.2.0's run and may take a call per stage.
			uploads := int(time.Since(start)/mitest.DemoUploadEvery) + 1
			if limit := due + 2*uploads; made > float64(limit) {
				t.Errorf("%v status calls for %d assets due (and %d uploads since the start): settled assets were asked about again", made, due, uploads)
			}
			if due >= fx.assets {
				t.Errorf("every asset of the fixture is due by now: this run cannot tell settled assets apart")
			}
			if fx.assets != 256 {
				t.Errorf("the fixture holds %d assets; its README says 256", fx.assets)
			}
			if lab := parseExposition(t, e.Get(t, "/internal/metrics")).sumSeries("ncp_mediaintel_status_checks_total", `account="lab"`); lab != 0 {
				t.Errorf("the lab account made %v status calls; it has no state and was never scraped", lab)
			}
		})
	}
}
