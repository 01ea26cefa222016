package status

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The state file is a bbolt database (docs/pipeline.md says why): one
// transaction per commit, so a crash at any moment leaves the last
// committed state, never a broken file.
//
// Layout: bucket "meta" holds "schema" (stateSchema) and "api_url"; bucket
// "assets" maps workspace "\x00" projectID assetID (8 bytes each, big
// endian) to a fixed-size record (recordLen).
//
// Every version reads the previous version's file as it is (CONTRIBUTING's
// rule for schema changes): a file of prevSchema is taken, its meta says
// stateSchema from then on, and its records, told apart by their length
// (prevRecordLen), are rewritten in the new layout as they change.
const (
	stateSchema    = "mediaintel-status-2"
	recordLen      = 60
	prevSchema     = "mediaintel-status-1"
	prevRecordLen  = 43
	commitInterval = 2 * time.Second
)

var (
	bucketMeta   = []byte("meta")
	bucketAssets = []byte("assets")
)

type store struct {
	db  *bolt.DB
	log *slog.Logger
	// dirty assets and deleted keys wait for the next commit (under the
	// Tracker's lock).
	dirty []*asset
	gone  [][]byte
}

// openState opens the state file and loads what it keeps into t. A file
// that is not a state file of this version for the API URL, or that cannot
// be read to the end, is set aside and an empty one started. A file locked
// by another process is an error.
func (t *Tracker) openState() error {
	path, apiURL := t.cfg.StateFile, t.cfg.APIURL
	db, reason, err := tryOpen(path, apiURL)
	if err != nil {
		return err
	}
	n := 0
	if reason == "" {
		t.store = &store{db: db, log: t.log}
		if n, err = t.store.load(t.restore); err != nil {
			_ = db.Close()
			// Undo what restore did before the bad record.
			t.projects, t.queue, t.store = map[projectKey]*project{}, nil, nil
			reason = err.Error()
		}
	}
	if reason != "" {
		if t.store, err = setAside(path, apiURL, reason, t.log); err != nil {
			return err
		}
	}
	t.log.Info("status state loaded", "file", path, "assets", n)
	return nil
}

// setAside renames an unusable state file out of the way and starts an
// empty one in its place.
func setAside(path, apiURL, reason string, log *slog.Logger) (*store, error) {
	aside := fmt.Sprintf("%s.bad-%s", path, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(path, aside); err != nil {
		return nil, fmt.Errorf("status state file %s is unusable (%s) and cannot be set aside: %w", path, reason, err)
	}
	log.Warn("status state file set aside; starting with an empty state", "file", path, "moved_to", aside, "reason", reason)
	db, reason, err := tryOpen(path, apiURL)
	if err != nil || reason != "" {
		return nil, errors.Join(err, fmt.Errorf("status state file %s: %s", path, reason))
	}
	return &store{db: db, log: log}, nil
}

// tryOpen opens the file and checks its meta bucket. reason says why an
// existing file is unusable; err is for what setting it aside cannot cure.
func tryOpen(path, apiURL string) (db *bolt.DB, reason string, err error) {
	defer func() {
		// bbolt panics on some kinds of corruption, and reading a page past
		// the end of a truncated file faults (SIGBUS); SetPanicOnFault
		// turns the fault into a panic. A state file is never worth a crash.
		// (A fault inside bolt.Open leaks that attempt's descriptor and
		// mapping: once, at start, for a broken file.)
		if r := recover(); r != nil {
			if db != nil {
				_ = db.Close()
			}
			db, reason, err = nil, fmt.Sprintf("corrupt: %v", r), nil
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, "", fmt.Errorf("status state file %s is locked by another process (is another exporter using it?)", path)
	}
	if err != nil {
		if _, serr := os.Stat(path); serr != nil {
			return nil, "", fmt.Errorf("status state file: %w", err) // not there and cannot be created
		}
		return nil, "not a state file: " + err.Error(), nil
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if tx.Bucket(bucketAssets) != nil || !isEmpty(tx) {
				reason = "no meta bucket"
				return nil
			}
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketAssets); err != nil {
				return err
			}
			if err := meta.Put([]byte("schema"), []byte(stateSchema)); err != nil {
				return err
			}
			return meta.Put([]byte("api_url"), []byte(apiURL))
		}
		switch schema, url := string(meta.Get([]byte("schema"))), string(meta.Get([]byte("api_url"))); {
		case schema != stateSchema && schema != prevSchema:
			reason = fmt.Sprintf("written by another version (schema %q, want %q or %q)", schema, stateSchema, prevSchema)
		case url != apiURL:
			reason = fmt.Sprintf("kept for another API URL (%q, not %q)", url, apiURL)
		case tx.Bucket(bucketAssets) == nil:
			reason = "no assets bucket"
		case schema == prevSchema:
			return meta.Put([]byte("schema"), []byte(stateSchema)) // the records follow as they are written
		}
		return nil
	})
	if err != nil || reason != "" {
		_ = db.Close()
		if err != nil {
			return nil, "unreadable: " + err.Error(), nil
		}
		return nil, reason, nil
	}
	return db, "", nil
}

func isEmpty(tx *bolt.Tx) bool {
	empty := true
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
	return empty
}

// load hands every kept asset to restore and reports how many there were.
// A record that cannot be read makes the whole file unusable.
func (s *store) load(restore func(key projectKey, id int64, rec []byte)) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("status state file %s is corrupt: %v", s.db.Path(), r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAssets).ForEach(func(k, v []byte) error {
			key, id, ok := parseKey(k)
			if !ok || (len(v) != recordLen && len(v) != prevRecordLen) {
				return fmt.Errorf("status state file %s: bad record %q", s.db.Path(), k)
			}
			restore(key, id, v)
			n++
			return nil
		})
	})
	return n, err
}

// u64 and i64 reinterpret the bits of a time or an ID for the big-endian
// encoding: a bit-cast, nothing is lost either way.
func u64(v int64) uint64 { return uint64(v) } //nolint:gosec // G115: a bit-cast, see above
func i64(v uint64) int64 { return int64(v) }  //nolint:gosec // G115: a bit-cast, see above

func assetKey(p projectKey, id int64) []byte {
	k := make([]byte, 0, len(p.ws)+17)
	k = append(k, p.ws...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, u64(p.id))
	return binary.BigEndian.AppendUint64(k, u64(id))
}

func parseKey(k []byte) (projectKey, int64, bool) {
	if len(k) < 17 || k[len(k)-17] != 0 {
		return projectKey{}, 0, false
	}
	n := len(k) - 16
	return projectKey{
		ws: string(k[:n-1]),
		id: i64(binary.BigEndian.Uint64(k[n:])),
	}, i64(binary.BigEndian.Uint64(k[n+8:])), true
}

func encodeRecord(a *asset) []byte {
	b := make([]byte, 0, recordLen)
	for _, v := range []int64{a.created, a.updated, a.next, a.checked, a.pendingSince, a.sumNext, a.sumPendingSince} {
		b = binary.BigEndian.AppendUint64(b, u64(v))
	}
	return append(b, byte(a.imp), byte(a.ana), byte(a.reason), byte(a.sum))
}

// decodeRecord reads a record of this version's layout or of the
// previous one's (prevRecordLen: no scene summary, pendingSince in whole
// seconds).
func decodeRecord(b []byte, a *asset) {
	v := func(i int) int64 { return i64(binary.BigEndian.Uint64(b[8*i:])) }
	a.created, a.updated, a.next, a.checked, a.pendingSince = v(0), v(1), v(2), v(3), v(4)
	states := b[40:]
	if len(b) == prevRecordLen {
		if a.pendingSince > 0 {
			a.pendingSince *= int64(time.Second)
		}
	} else {
		a.sumNext, a.sumPendingSince = v(5), v(6)
		states = b[56:]
		a.sum = SummaryState(min(states[3], byte(SummaryOther)))
	}
	a.imp = ImportState(min(states[0], byte(ImportOther)))
	a.ana = AnalysisState(min(states[1], byte(AnalysisOther)))
	a.reason = FailureReason(min(states[2], byte(ReasonResultProcessing)))
}

// deleted records that an asset's record is to be deleted at the next commit.
func (s *store) deleted(p projectKey, id int64) {
	s.gone = append(s.gone, assetKey(p, id))
}

// write commits puts and deletes in one transaction.
func (s *store) write(puts map[string][]byte, dels [][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAssets)
		for _, k := range dels {
			if _, ok := puts[string(k)]; ok {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for k, v := range puts {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *store) close() {
	if err := s.db.Close(); err != nil {
		s.log.Warn("closing the status state file", "err", err)
	}
}

// restore adds an asset read from the state file (the caller holds no
// lock: New runs it before the Tracker is shared).
func (t *Tracker) restore(key projectKey, id int64, rec []byte) {
	p := t.project(key.ws, key.id)
	a := &asset{id: id, proj: p, heapIdx: -1}
	decodeRecord(rec, a)
	if !a.recent(t.Since()) {
		t.store.deleted(key, id)
		return
	}
	p.assets[id] = a
	if t.summaryStage(a) && a.sumNext == 0 {
		// Never asked (a file of the previous version, or the stage was
		// off): the summary is checked now, its other stages when due.
		a.sumNext = t.now().UnixNano()
	}
	t.requeue(a)
}

// commit writes the changes made since the last commit.
func (t *Tracker) commit() {
	t.mu.Lock()
	puts := make(map[string][]byte, len(t.store.dirty))
	for _, a := range t.store.dirty {
		a.flags &^= flagDirty
		if a.flags&flagRemoved == 0 {
			puts[string(assetKey(a.proj.key, a.id))] = encodeRecord(a)
		}
	}
	dels := t.store.gone
	t.store.dirty, t.store.gone = nil, nil
	t.mu.Unlock()
	if len(puts) == 0 && len(dels) == 0 {
		return
	}
	if err := t.store.write(puts, dels); err != nil {
		t.log.Error("writing the status state file; the changes are kept in memory only", "err", err)
	}
}
