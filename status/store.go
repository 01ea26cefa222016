package status

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The state file is a bbolt database (docs/pipeline.md says why): one
// transaction per commit, so a crash at any moment leaves the last
// committed state, never a broken file.
//
// Layout: bucket "meta" holds "schema" (stateSchema); bucket "accounts"
// holds a bucket per account, named by the account, with a bucket "meta"
// ("api_url": the API its records were read from) and a bucket "assets"
// that maps workspace "\x00" projectID assetID (8 bytes each, big endian)
// to a record of recordLen bytes.
//
// Every version reads the previous version's file as it is (CONTRIBUTING's
// rule for schema changes). The previous version, 0.2.0, wrote prevSchema:
// one account, its "assets" bucket and "api_url" at the top, records of
// this layout. OpenStore moves them, unchanged, into the account it is
// told the file belonged to, in one transaction.
const (
	stateSchema    = "mediaintel-status-3"
	prevSchema     = "mediaintel-status-2"
	recordLen      = 60
	commitInterval = 2 * time.Second
)

var (
	bucketMeta     = []byte("meta")
	bucketAccounts = []byte("accounts")
	bucketAssets   = []byte("assets")
	keySchema      = []byte("schema")
	keyAPIURL      = []byte("api_url")
)

// Store is the state file that the Trackers of every account share: each
// Tracker keeps its account's records in it (Config.Store). It is safe for
// concurrent use. Its owner closes it once every Tracker's Run has
// returned.
type Store struct {
	db  *bolt.DB
	log *slog.Logger
}

// OpenStore opens the state file at path, creating it. A file of the
// previous schema (one account, release 0.2.0) is upgraded: its records
// become legacyAccount's. A file that is corrupt, truncated, of another
// version or not a state file is renamed to path.bad-TIMESTAMP with a
// warning and an empty one started. The error is for a file that another
// process holds, or a directory that cannot be written.
func OpenStore(path, legacyAccount string, logger *slog.Logger) (*Store, error) {
	if path == "" {
		return nil, errors.New("status: no state file path")
	}
	if legacyAccount == "" {
		return nil, errors.New("status: no account for a state file of the previous version")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, reason, err := tryOpen(path, legacyAccount, logger)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		if db, err = setAside(path, legacyAccount, reason, logger); err != nil {
			return nil, err
		}
	}
	return &Store{db: db, log: logger}, nil
}

// Close closes the file. The Trackers that use the Store must have
// stopped: a later commit fails with an error in the log.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing the status state file: %w", err)
	}
	return nil
}

// Retain deletes the state of every account not in accounts: they were
// removed from the configuration. A Tracker of a removed account that
// still runs writes nothing more.
func (s *Store) Retain(accounts []string) error {
	var gone []string
	err := s.db.Update(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketAccounts)
		if err := all.ForEach(func(k, _ []byte) error {
			if !slices.Contains(accounts, string(k)) {
				gone = append(gone, string(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, name := range gone {
			if err := all.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("status state file %s: deleting the state of removed accounts: %w", s.db.Path(), err)
	}
	for _, name := range gone {
		s.log.Info("status state of a removed account deleted", "account", name)
	}
	return nil
}

// setAside renames an unusable state file out of the way and starts an
// empty one in its place.
func setAside(path, legacyAccount, reason string, log *slog.Logger) (*bolt.DB, error) {
	aside := fmt.Sprintf("%s.bad-%s", path, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(path, aside); err != nil {
		return nil, fmt.Errorf("status state file %s is unusable (%s) and cannot be set aside: %w", path, reason, err)
	}
	log.Warn("status state file set aside; starting with an empty state", "file", path, "moved_to", aside, "reason", reason)
	db, reason, err := tryOpen(path, legacyAccount, log)
	if err != nil || reason != "" {
		return nil, errors.Join(err, fmt.Errorf("status state file %s: %s", path, reason))
	}
	return db, nil
}

// errUnusable ends tryOpen's transaction, undone, when the file is unusable.
var errUnusable = errors.New("unusable")

// tryOpen opens the file, starts it when it is new, upgrades it when it is
// of prevSchema, and reads every record through. reason says why an
// existing file is unusable; err is for what setting it aside cannot cure.
func tryOpen(path, legacyAccount string, log *slog.Logger) (db *bolt.DB, reason string, err error) {
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
	upgraded := false
	err = db.Update(func(tx *bolt.Tx) error {
		reason, upgraded, err = prepare(tx, legacyAccount)
		if err == nil && reason != "" {
			return errUnusable
		}
		return err
	})
	if err != nil {
		_ = db.Close()
		if errors.Is(err, errUnusable) {
			return nil, reason, nil
		}
		return nil, "unreadable: " + err.Error(), nil
	}
	if upgraded {
		log.Info("status state file upgraded; its records are the account's", "file", path, "from", prevSchema, "to", stateSchema, "account", legacyAccount)
	}
	return db, "", nil
}

// prepare starts a new file, upgrades one of prevSchema into
// legacyAccount, and checks every record. reason says why the file is
// unusable.
func prepare(tx *bolt.Tx, legacyAccount string) (reason string, upgraded bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if !isEmpty(tx) {
			return "no meta bucket", false, nil
		}
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return "", false, err
		}
		if _, err := tx.CreateBucket(bucketAccounts); err != nil {
			return "", false, err
		}
		return "", false, meta.Put(keySchema, []byte(stateSchema))
	}
	switch schema := string(meta.Get(keySchema)); schema {
	case stateSchema:
		all := tx.Bucket(bucketAccounts)
		if all == nil {
			return "no accounts bucket", false, nil
		}
		return checkAccounts(all), false, nil
	case prevSchema:
		assets := tx.Bucket(bucketAssets)
		if assets == nil {
			return "no assets bucket", false, nil
		}
		if reason := checkRecords(assets); reason != "" {
			return reason, false, nil
		}
		return "", true, upgrade(tx, meta, legacyAccount)
	default:
		return fmt.Sprintf("written by another version (schema %q, want %q or %q)", schema, stateSchema, prevSchema), false, nil
	}
}

// upgrade moves a file of prevSchema into the layout of stateSchema: its
// assets bucket, as it is, and its API URL become account's.
func upgrade(tx *bolt.Tx, meta *bolt.Bucket, account string) error {
	all, err := tx.CreateBucket(bucketAccounts)
	if err != nil {
		return err
	}
	acct, err := all.CreateBucket([]byte(account))
	if err != nil {
		return err
	}
	acctMeta, err := acct.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := acctMeta.Put(keyAPIURL, slices.Clone(meta.Get(keyAPIURL))); err != nil {
		return err
	}
	if err := tx.MoveBucket(bucketAssets, nil, acct); err != nil {
		return err
	}
	if err := meta.Delete(keyAPIURL); err != nil {
		return err
	}
	return meta.Put(keySchema, []byte(stateSchema))
}

// checkAccounts checks every account's buckets and records; it returns
// why the file is unusable, or "".
func checkAccounts(all *bolt.Bucket) string {
	var reason string
	_ = all.ForEach(func(name, v []byte) error {
		acct := all.Bucket(name)
		switch {
		case v != nil || acct == nil:
			reason = fmt.Sprintf("account %q is not a bucket", name)
		case acct.Bucket(bucketMeta) == nil:
			reason = fmt.Sprintf("account %q has no meta bucket", name)
		case acct.Bucket(bucketAssets) == nil:
			reason = fmt.Sprintf("account %q has no assets bucket", name)
		default:
			if r := checkRecords(acct.Bucket(bucketAssets)); r != "" {
				reason = fmt.Sprintf("account %q: %s", name, r)
			}
		}
		if reason != "" {
			return errUnusable
		}
		return nil
	})
	return reason
}

// checkRecords checks that every key and record of assets can be read.
func checkRecords(assets *bolt.Bucket) string {
	var reason string
	_ = assets.ForEach(func(k, v []byte) error {
		if _, _, ok := parseKey(k); !ok || len(v) != recordLen {
			reason = fmt.Sprintf("bad record %q", k)
			return errUnusable
		}
		return nil
	})
	return reason
}

func isEmpty(tx *bolt.Tx) bool {
	empty := true
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
	return empty
}

// load hands every kept record of account to restore and reports how many
// there were. It creates the account's buckets the first time; records
// kept for another API URL than apiURL are deleted first (dropped says
// which URL they were for).
func (s *Store) load(account, apiURL string, restore func(key projectKey, id int64, rec []byte)) (n int, dropped string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("status state file %s is corrupt: %v", s.db.Path(), r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = s.db.Update(func(tx *bolt.Tx) error {
		acct, err := tx.Bucket(bucketAccounts).CreateBucketIfNotExists([]byte(account))
		if err != nil {
			return err
		}
		meta, err := acct.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if kept := meta.Get(keyAPIURL); kept != nil && string(kept) != apiURL {
			dropped = string(kept)
			if err := acct.DeleteBucket(bucketAssets); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		if err := meta.Put(keyAPIURL, []byte(apiURL)); err != nil {
			return err
		}
		assets, err := acct.CreateBucketIfNotExists(bucketAssets)
		if err != nil {
			return err
		}
		return assets.ForEach(func(k, v []byte) error {
			key, id, ok := parseKey(k)
			if !ok || len(v) != recordLen {
				return fmt.Errorf("status state file %s: account %q: bad record %q", s.db.Path(), account, k)
			}
			restore(key, id, v)
			n++
			return nil
		})
	})
	return n, dropped, err
}

// write commits account's puts and deletes in one transaction. An account
// whose state Retain deleted stays deleted.
func (s *Store) write(account []byte, puts map[string][]byte, dels [][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		acct := tx.Bucket(bucketAccounts).Bucket(account)
		if acct == nil {
			return nil
		}
		b := acct.Bucket(bucketAssets)
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

// decodeRecord reads a record of recordLen bytes.
func decodeRecord(b []byte, a *asset) {
	v := func(i int) int64 { return i64(binary.BigEndian.Uint64(b[8*i:])) }
	a.created, a.updated, a.next, a.checked, a.pendingSince, a.sumNext, a.sumPendingSince = v(0), v(1), v(2), v(3), v(4), v(5), v(6)
	a.imp = ImportState(min(b[56], byte(ImportOther)))
	a.ana = AnalysisState(min(b[57], byte(AnalysisOther)))
	a.reason = FailureReason(min(b[58], byte(ReasonResultProcessing)))
	a.sum = SummaryState(min(b[59], byte(SummaryOther)))
}

// account is a Tracker's part of a Store: the account's name, and the
// changes that wait for the next commit (under the Tracker's lock).
type account struct {
	st    *Store
	name  []byte
	dirty []*asset
	gone  [][]byte
}

// deleted records that an asset's record is to be deleted at the next commit.
func (s *account) deleted(p projectKey, id int64) {
	s.gone = append(s.gone, assetKey(p, id))
}

// loadState loads the account's records from cfg.Store into t.
func (t *Tracker) loadState() error {
	st := t.cfg.Store
	t.store = &account{st: st, name: []byte(t.cfg.Account)}
	n, dropped, err := st.load(t.cfg.Account, t.cfg.APIURL, t.restore)
	if err != nil {
		// Undo what restore did before the failure.
		t.projects, t.queue, t.store = map[projectKey]*project{}, nil, nil
		return err
	}
	if dropped != "" {
		t.log.Warn("status state kept for another API URL dropped; starting the account with an empty state", "file", st.db.Path(), "kept_api_url", dropped, "api_url", t.cfg.APIURL)
	}
	t.log.Info("status state loaded", "file", st.db.Path(), "assets", n)
	return nil
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
		// Never asked (the stage was off): the summary is checked now,
		// its other stages when due.
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
	if err := t.store.st.write(t.store.name, puts, dels); err != nil {
		t.log.Error("writing the status state file; the changes are kept in memory only", "err", err)
	}
}
