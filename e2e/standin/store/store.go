// Package store owns the on-disk state of the Neo4j stand-in: everything lives
// under one data directory (/data in the image), so a container restart, a
// volume shared with a helper container, or a restore done by neo4j-admin in
// another container behaves like it does with the real image.
//
// Layout:
//
//	<data>/dbms/databases.json            registry of databases (the "system" view)
//	<data>/databases/<db>/store_id        random id, new on create and on restore
//	<data>/databases/<db>/transactions.jsonl  one committed transaction per line
//	<data>/scripts/<db>/restore_metadata.cypher  written by neo4j-admin restore
//
// A database's content is the replay of its transaction log. Transaction ids
// start at 1 and increase by one, so a differential backup is "every
// transaction after id N".
package store

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Op is one change inside a transaction.
type Op struct {
	// Kind is "create" (Count nodes with Labels and Props; Count 0 means 1),
	// "set" (Props set on every node of Labels[0]) or "deleteAll".
	Kind   string         `json:"kind"`
	Labels []string       `json:"labels,omitempty"`
	Props  map[string]any `json:"props,omitempty"`
	Count  int            `json:"count,omitempty"`
}

// Tx is one committed transaction.
type Tx struct {
	ID   int64     `json:"tx"`
	Time time.Time `json:"time"`
	Ops  []Op      `json:"ops"`
}

// DatabaseInfo is one entry of the registry.
type DatabaseInfo struct {
	Name            string `json:"name"`
	RequestedStatus string `json:"requestedStatus"` // "online" or "offline"
	CurrentStatus   string `json:"currentStatus"`   // "online", "offline", "starting", "stopping", "quarantined"
	StatusMessage   string `json:"statusMessage"`
	Default         bool   `json:"default"`
}

// Store is a handle on a data directory. Its methods are safe for concurrent
// use within one process; across processes, writers take an flock on the
// file they change.
type Store struct {
	Dir string
	mu  sync.Mutex
	// logs remembers, per database, what the last full read of its log or
	// this Store's last Append found, so that appending and counting do not
	// re-read a multi-GiB log. An entry is used only while the log file is
	// exactly as it was left (see logState.matches).
	logs map[string]*logState
	// NewFormat is the store format of databases created here: "block" in
	// Enterprise 5.22+ (the default for new databases), "aligned" in
	// Community, where block is not available [S21].
	NewFormat string
}

// logState is the summary of a transaction log at one moment.
type logState struct {
	stat    os.FileInfo // of the log when the summary was taken
	storeID string
	lastTx  int64
	total   int64
	byLabel map[string]int64
	err     error // replaying the log failed (an unknown operation)
}

// matches reports whether the log is still the file the summary describes:
// same file, size, modification time and store id. Any change by another
// process (a restore renames a new log in, a fault rewrites it) means a full
// re-read; only this Store's own appends keep the summary current.
func (l *logState) matches(st os.FileInfo, storeID string) bool {
	return l != nil && os.SameFile(l.stat, st) && l.stat.Size() == st.Size() &&
		l.stat.ModTime().Equal(st.ModTime()) && l.storeID == storeID
}

// Open returns a store rooted at dir, creating the directory layout.
func Open(dir string) (*Store, error) {
	for _, d := range []string{"dbms", "databases", "scripts"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) registryPath() string { return filepath.Join(s.Dir, "dbms", "databases.json") }

// DatabaseDir is where a database's files live.
func (s *Store) DatabaseDir(db string) string { return filepath.Join(s.Dir, "databases", db) }

// LogPath is the transaction log of a database.
func (s *Store) LogPath(db string) string {
	return filepath.Join(s.DatabaseDir(db), "transactions.jsonl")
}

// ScriptPath is where neo4j-admin restore writes the metadata script.
func (s *Store) ScriptPath(db string) string {
	return filepath.Join(s.Dir, "scripts", db, "restore_metadata.cypher")
}

// Databases returns the registry, sorted by name.
func (s *Store) Databases() ([]DatabaseInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readRegistry()
}

func (s *Store) readRegistry() ([]DatabaseInfo, error) {
	b, err := os.ReadFile(s.registryPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dbs []DatabaseInfo
	if err := json.Unmarshal(b, &dbs); err != nil {
		return nil, fmt.Errorf("registry %s: %w", s.registryPath(), err)
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name })
	return dbs, nil
}

// Database returns one registry entry; ok is false when it does not exist.
func (s *Store) Database(name string) (DatabaseInfo, bool, error) {
	dbs, err := s.Databases()
	if err != nil {
		return DatabaseInfo{}, false, err
	}
	for _, d := range dbs {
		if d.Name == name {
			return d, true, nil
		}
	}
	return DatabaseInfo{}, false, nil
}

// UpdateDatabase applies fn to the registry entry called name (a zero entry
// with that name when it does not exist yet) and writes the registry
// atomically. fn returning false leaves the registry unchanged.
func (s *Store) UpdateDatabase(name string, fn func(d *DatabaseInfo) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.registryPath() + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	dbs, err := s.readRegistry()
	if err != nil {
		return err
	}
	idx := -1
	for i := range dbs {
		if dbs[i].Name == name {
			idx = i
		}
	}
	if idx < 0 {
		dbs = append(dbs, DatabaseInfo{Name: name})
		idx = len(dbs) - 1
	}
	if !fn(&dbs[idx]) {
		return nil
	}
	return writeJSONAtomic(s.registryPath(), dbs)
}

// RemoveDatabase deletes a database from the registry and its files.
func (s *Store) RemoveDatabase(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.registryPath() + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	dbs, err := s.readRegistry()
	if err != nil {
		return err
	}
	kept := dbs[:0]
	for _, d := range dbs {
		if d.Name != name {
			kept = append(kept, d)
		}
	}
	if err := writeJSONAtomic(s.registryPath(), kept); err != nil {
		return err
	}
	return os.RemoveAll(s.DatabaseDir(name))
}

// EnsureStore creates an empty store (log and store id) for db when it has none.
func (s *Store) EnsureStore(db string) error {
	if _, err := os.Stat(s.LogPath(db)); err == nil {
		return nil
	}
	if err := s.ReplaceStore(db, nil, NewStoreID()); err != nil {
		return err
	}
	return s.SetFormat(db, s.NewFormat)
}

// StoreID returns the store id of db ("" when it has no store).
func (s *Store) StoreID(db string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.DatabaseDir(db), "store_id"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// NewStoreID returns a fresh random store id.
func NewStoreID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Append commits ops as one new transaction of db and returns it.
func (s *Store) Append(db string, ops []Op) (Tx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.LogPath(db) + ".lock")
	if err != nil {
		return Tx{}, err
	}
	defer unlock()
	state, err := s.logState(db)
	if err != nil {
		return Tx{}, err
	}
	tx := Tx{ID: state.lastTx + 1, Time: time.Now().UTC(), Ops: ops}
	line, err := json.Marshal(tx)
	if err != nil {
		return Tx{}, err
	}
	f, err := os.OpenFile(s.LogPath(db), os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Tx{}, err
	}
	defer f.Close()
	delete(s.logs, db) // until the append is complete and summarized
	if _, err := f.Write(append(line, '\n')); err != nil {
		return Tx{}, err
	}
	if err := f.Sync(); err != nil {
		return Tx{}, err
	}
	if st, err := f.Stat(); err == nil && state.err == nil {
		next := &logState{stat: st, storeID: state.storeID, lastTx: tx.ID}
		next.total, next.byLabel, next.err = replayOnto(state.total, maps.Clone(state.byLabel), []Tx{tx})
		s.logs[db] = next
	}
	return tx, nil
}

// logState returns the summary of db's log, re-reading the log only when it
// changed since the summary was taken. Callers hold s.mu.
func (s *Store) logState(db string) (*logState, error) {
	storeID, err := s.StoreID(db)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(s.LogPath(db))
	if err != nil {
		return nil, err
	}
	if l := s.logs[db]; l.matches(st, storeID) {
		return l, nil
	}
	l := &logState{stat: st, storeID: storeID}
	l.lastTx, l.total, l.byLabel, l.err, err = summarizeLog(s.LogPath(db))
	if err != nil {
		return nil, err
	}
	if s.logs == nil {
		s.logs = map[string]*logState{}
	}
	s.logs[db] = l
	return l, nil
}

// ReadTxs returns a consistent snapshot of db's committed transactions with
// an id greater than afterTx, the id of the last committed transaction and
// the store id. Writers may go on while it reads.
func (s *Store) ReadTxs(db string, afterTx int64) (txs []Tx, lastTx int64, storeID string, err error) {
	storeID, err = s.StoreID(db)
	if err != nil {
		return nil, 0, "", err
	}
	// Asking for nothing after the last transaction (callers that want
	// only its id) needs no read of the log.
	s.mu.Lock()
	l, err := s.logState(db)
	s.mu.Unlock()
	if err == nil && l.storeID == storeID && afterTx >= l.lastTx {
		return nil, l.lastTx, storeID, nil
	}
	txs, lastTx, err = readLog(s.LogPath(db), afterTx)
	return txs, lastTx, storeID, err
}

// ReadRaw is ReadTxs with the transactions as log lines, not decoded.
func (s *Store) ReadRaw(db string, afterTx int64) (txs []RawTx, lastTx int64, storeID string, err error) {
	storeID, err = s.StoreID(db)
	if err != nil {
		return nil, 0, "", err
	}
	txs, lastTx, err = readRawLog(s.LogPath(db), afterTx)
	return txs, lastTx, storeID, err
}

// ReplaceStore atomically replaces db's transaction log with txs and sets
// its store id. CREATE DATABASE uses it.
func (s *Store) ReplaceStore(db string, txs []Tx, storeID string) error {
	raw := make([]RawTx, len(txs))
	for i, tx := range txs {
		var err error
		if raw[i], err = tx.Raw(); err != nil {
			return err
		}
	}
	return s.ReplaceStoreRaw(db, raw, storeID)
}

// ReplaceStoreRaw is ReplaceStore with transactions as log lines
// (neo4j-admin restore).
func (s *Store) ReplaceStoreRaw(db string, txs []RawTx, storeID string) error {
	dir := s.DatabaseDir(db)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := s.LogPath(db) + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := WriteRawTxs(w, txs); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "store_id"), []byte(storeID), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.LogPath(db))
}

// LastTx returns the id of db's last committed transaction.
func (s *Store) LastTx(db string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.logState(db)
	if err != nil {
		return 0, err
	}
	return l.lastTx, nil
}

// Counts returns the number of nodes of db, and the number of nodes per
// label, as the replay of its log gives them.
func (s *Store) Counts(db string) (total int64, byLabel map[string]int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.logState(db)
	if err != nil {
		return 0, nil, err
	}
	if l.err != nil {
		return 0, nil, l.err
	}
	return l.total, maps.Clone(l.byLabel), nil
}

// Replay computes node counts from a sequence of transactions.
func Replay(txs []Tx) (total int64, byLabel map[string]int64, err error) {
	return replayOnto(0, map[string]int64{}, txs)
}

// ReplayOnto continues a replay: it applies txs to counts a replay (or
// Counts) returned. byLabel is updated in place.
func ReplayOnto(total int64, byLabel map[string]int64, txs []Tx) (int64, map[string]int64, error) {
	return replayOnto(total, byLabel, txs)
}

func replayOnto(total int64, byLabel map[string]int64, txs []Tx) (int64, map[string]int64, error) {
	if byLabel == nil {
		byLabel = map[string]int64{}
	}
	for _, tx := range txs {
		for _, op := range tx.Ops {
			switch op.Kind {
			case "create":
				n := int64(op.Count)
				if n == 0 {
					n = 1
				}
				total += n
				for _, l := range op.Labels {
					byLabel[l] += n
				}
			case "deleteAll":
				total = 0
				byLabel = map[string]int64{}
			case "set": // properties only: no count changes
			default:
				return 0, nil, &ReplayError{TxID: tx.ID, Kind: op.Kind}
			}
		}
	}
	return total, byLabel, nil
}

// ReplayError reports a log that reads fine but holds an operation the
// stand-in does not know.
type ReplayError struct {
	TxID int64
	Kind string
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("transaction %d: unknown operation %q", e.TxID, e.Kind)
}

// summarizeLog reads a whole log and replays it without keeping the
// transactions (nor decoding their properties). A replay error is returned
// as replayErr: the log is readable, its content is not valid.
func summarizeLog(path string) (lastTx, total int64, byLabel map[string]int64, replayErr, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	defer f.Close()
	// Only what a replay needs, read from the line's skeleton.
	type opSummary struct {
		Kind   string   `json:"kind"`
		Labels []string `json:"labels,omitempty"`
		Count  int      `json:"count,omitempty"`
	}
	type txSummary struct {
		ID  int64       `json:"tx"`
		Ops []opSummary `json:"ops"`
	}
	byLabel = map[string]int64{}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, rerr := r.ReadBytes('\n')
		if len(line) == 0 || line[len(line)-1] != '\n' {
			break // end of the log, or a torn last line
		}
		var tx txSummary
		if jerr := json.Unmarshal(skeleton(line), &tx); jerr != nil {
			return 0, 0, nil, nil, fmt.Errorf("%s: corrupt transaction after id %d: %w", path, lastTx, jerr)
		}
		lastTx = tx.ID
		if replayErr == nil {
			full := Tx{ID: tx.ID, Ops: make([]Op, len(tx.Ops))}
			for i, op := range tx.Ops {
				full.Ops[i] = Op{Kind: op.Kind, Labels: op.Labels, Count: op.Count}
			}
			total, byLabel, replayErr = replayOnto(total, byLabel, []Tx{full})
		}
		if rerr != nil {
			break
		}
	}
	return lastTx, total, byLabel, replayErr, nil
}

// readLog reads the complete lines of a log (a torn last line, from a crash
// or a concurrent append, is not part of the snapshot) and decodes those
// after afterTx.
func readLog(path string, afterTx int64) ([]Tx, int64, error) {
	raw, last, err := readRawLog(path, afterTx)
	if err != nil {
		return nil, 0, err
	}
	txs := make([]Tx, 0, len(raw))
	for i, r := range raw {
		tx, err := r.Decode()
		if err != nil {
			prev := afterTx
			if i > 0 {
				prev = raw[i-1].ID
			}
			return nil, 0, fmt.Errorf("%s: corrupt transaction after id %d: %w", path, prev, err)
		}
		txs = append(txs, tx)
	}
	return txs, last, nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockFile takes an exclusive flock on path; the returned func releases it.
// flock works across containers that share a volume.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// LabelProps are the properties of the nodes of label in db, as the
// stand-in keeps them: those of the last node created with the label,
// updated by every "set" since (enough for a node that is unique by its
// label, such as Infrahub's Root). pending are the caller's uncommitted
// changes. nil when no node has the label.
func (s *Store) LabelProps(db, label string, pending []Op) (map[string]any, error) {
	txs, _, _, err := s.ReadTxs(db, 0)
	if err != nil {
		return nil, err
	}
	var props map[string]any
	apply := func(op Op) {
		switch {
		case op.Kind == "deleteAll":
			props = nil
		case op.Kind == "create" && slices.Contains(op.Labels, label):
			props = maps.Clone(op.Props)
			if props == nil {
				props = map[string]any{}
			}
		case op.Kind == "set" && len(op.Labels) > 0 && op.Labels[0] == label && props != nil:
			maps.Copy(props, op.Props)
		}
	}
	for _, tx := range txs {
		for _, op := range tx.Ops {
			apply(op)
		}
	}
	for _, op := range pending {
		apply(op)
	}
	return props, nil
}
