package store

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// Lock files, named like the real ones [S20a]: the DBMS holds
// <data>/databases/store_lock while it runs, and <data>/databases/<db>/
// database_lock while <db> is online. Both are flocks, which work across
// containers sharing the volume, so neo4j-admin in a helper sees them.
const (
	DBMSLockFile     = "store_lock"
	DatabaseLockFile = "database_lock"
	// activeLogFile marks a database whose transaction log was in use and
	// not closed by a clean shutdown (the stand-in's "active logical log"):
	// created when the database goes online, removed by STOP DATABASE or a
	// clean server shutdown, left behind by SIGKILL.
	activeLogFile = "standin-active-log"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("locked")

// DBMSLockPath is the DBMS-wide lock the running server holds.
func (s *Store) DBMSLockPath() string { return filepath.Join(s.Dir, "databases", DBMSLockFile) }

// DatabaseLockPath is db's lock, held by the server while db is online.
func (s *Store) DatabaseLockPath(db string) string {
	return filepath.Join(s.DatabaseDir(db), DatabaseLockFile)
}

// Lock takes an exclusive non-blocking flock on path (creating the file)
// and keeps it until the returned file is closed. ErrLocked when another
// process holds it; a permission error when the file cannot be opened for
// writing (real neo4j-admin needs write access to the lock files too).
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return f, nil
}

// Unlock releases a lock taken with Lock.
func Unlock(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// MarkActive records that db's log is in use (the server opened it).
func (s *Store) MarkActive(db string) {
	if err := os.MkdirAll(s.DatabaseDir(db), 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(s.DatabaseDir(db), activeLogFile), nil, 0o644)
	}
}

// MarkClean records a clean shutdown of db (or a fresh store).
func (s *Store) MarkClean(db string) {
	_ = os.Remove(filepath.Join(s.DatabaseDir(db), activeLogFile))
}

// NeedsRecovery reports whether db was not shut down cleanly: its log is
// still marked active and nobody holds its lock.
func (s *Store) NeedsRecovery(db string) bool {
	_, err := os.Stat(filepath.Join(s.DatabaseDir(db), activeLogFile))
	return err == nil
}

// Format is db's store format ("aligned" or "block"); "aligned" when the
// store does not say (stores written before formats were recorded).
func (s *Store) Format(db string) string {
	b, err := os.ReadFile(filepath.Join(s.DatabaseDir(db), "store_format"))
	if err != nil || len(b) == 0 {
		return "aligned"
	}
	return string(b)
}

// SetFormat records db's store format.
func (s *Store) SetFormat(db, format string) error {
	if format == "" {
		format = "aligned"
	}
	return os.WriteFile(filepath.Join(s.DatabaseDir(db), "store_format"), []byte(format), 0o644)
}
