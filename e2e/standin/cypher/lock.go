package cypher

import (
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// lockStore takes db's database lock (<db>/database_lock) while db is
// online, like the real server, and marks its log active until a clean
// stop (no-op when this engine holds it). neo4j-admin in another container
// sharing the volume tries the same flock to tell whether db is in use.
func (e *Engine) lockStore(db string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.locks == nil {
		e.locks = map[string]*osFile{}
	}
	if e.locks[db] != nil {
		return
	}
	f, err := store.Lock(e.Store.DatabaseLockPath(db))
	if err != nil {
		return
	}
	e.Store.MarkActive(db)
	e.locks[db] = f
}

// unlockStore releases db's lock if this engine holds it: a clean stop
// (STOP DATABASE, DROP, a clean shutdown), so the log is no longer active.
func (e *Engine) unlockStore(db string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.locks[db]; f != nil {
		e.Store.MarkClean(db)
		store.Unlock(f)
		delete(e.locks, db)
	}
}

// Shutdown marks every database offline (nothing is served once the server
// is down) and releases the database locks after a clean shutdown of each.
// The requested status is kept, so the next start brings the same
// databases online.
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
