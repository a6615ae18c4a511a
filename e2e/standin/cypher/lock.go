package cypher

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// StoreLockFile is the file, inside a database's directory, that the server
// holds an exclusive flock on while the database is online, like the real
// store_lock. neo4j-admin in another container sharing the volume can try
// a non-blocking flock on it to tell whether the database is in use.
const StoreLockFile = "store_lock"

// lockStore takes db's store lock (no-op when this engine holds it).
func (e *Engine) lockStore(db string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.locks == nil {
		e.locks = map[string]*os.File{}
	}
	if e.locks[db] != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(e.Store.DatabaseDir(db), StoreLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return
	}
	e.locks[db] = f
}

// unlockStore releases db's store lock if this engine holds it.
func (e *Engine) unlockStore(db string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.locks[db]; f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		delete(e.locks, db)
	}
}

// Shutdown marks every database offline (nothing is served once the server
// is down) and releases the store locks. The requested status is kept, so
// the next start brings the same databases online.
func (e *Engine) Shutdown() error {
	dbs, err := e.Store.Databases()
	if err != nil {
		return err
	}
	for _, d := range dbs {
		e.unlockStore(d.Name)
		if d.CurrentStatus == "online" {
			err := e.Store.UpdateDatabase(d.Name, func(d *store.DatabaseInfo) bool {
				d.CurrentStatus = "offline"
				return true
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
