package restore

import (
	"context"

	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jdump"
)

// A dump restored into Neo4j Enterprise takes the online restore's path
// (restoreDatabase), with neo4j-admin database load in place of restore:
//
//   - nothing stops but the applications and the database inside Neo4j:
//     on Enterprise load "can be run from either an online or offline
//     Neo4j DBMS", and a database it replaces must be shut down first
//     (STOP DATABASE) [S19]; a database that did not exist must be created
//     after the load (CREATE DATABASE IF NOT EXISTS) [S19];
//   - the safety copy is the online path's: a full online backup of the
//     running database, fetched into the safety folder and checked before
//     the STOP, so a failure after the load began (load deletes the
//     database before writing it [S20d]) rolls back with neo4j-admin
//     database restore, exit 6, or exit 7 when that fails too;
//   - the dump is staged in the preflight, before anything stops, under
//     the name load expects, in a folder of its own [S20b], and loaded as
//     the owner of the store ("must be invoked as the neo4j user" [S19]);
//   - a dump holds no users or roles [S18]: no restore_metadata.cypher is
//     replayed;
//   - system is skipped, as by the online restore (chooseChains): it cannot
//     be stopped in a running DBMS ("Not allowed to stop system database.",
//     [S9e]), so it cannot be loaded there, and loading another
//     deployment's system would replace its users, roles and database
//     states (NEO4J.md §5.5).

// stageDump checks that the server can open the dump db.Artifact, and puts
// it into the helper where loadDump finds it. Nothing has stopped yet.
func (r *runner) stageDump(ctx context.Context, db DatabasePlan, server neo4j.Release) error {
	cat, err := r.folder.Scan()
	if err != nil {
		return err
	}
	if err := notNewer(db, cat, server); err != nil {
		return err
	}
	return r.stageDumpFile(ctx, db)
}

// stageDumpFile seeds db's archive into its own load folder of the helper,
// checked as it goes when the plan left that to the upload, and places it
// where load finds it.
func (r *runner) stageDumpFile(ctx context.Context, db DatabasePlan) error {
	sub := loadSub(db.Name)
	if err := r.seed(ctx, db, sub, []string{db.Artifact}); err != nil {
		return err
	}
	return neo4jdump.Place(ctx, r.session, sub, db.Artifact, db.Name, r.owner)
}

// loadDump loads the staged dump into db, which is stopped (or does not
// exist), then creates and starts it, waits until it is online and proves
// it answers.
func (r *runner) loadDump(ctx context.Context, db DatabasePlan, res *DatabaseResult) error {
	// A cancelled load would leave half a store, and a neo4j-admin left
	// running in the helper would race the rollback's restore: it runs to
	// its end, then the cancellation is seen.
	if err := neo4jdump.Load(context.WithoutCancel(ctx), r.session, loadSub(db.Name), db.Name, r.owner); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.startDatabase(ctx, db.Name); err != nil {
		return err
	}
	return r.countNodes(ctx, db.Name, res)
}
