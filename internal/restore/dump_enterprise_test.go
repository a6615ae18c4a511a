package restore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// enterpriseDumpFixture is an Enterprise deployment (the default fixture)
// whose folder holds Community dumps of neo4j and system.
func enterpriseDumpFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.useDumps(t)
	return f
}

const loadNeo4j = "exec neo4j-admin database load --overwrite-destination=true --from-path=/backups/load/neo4j neo4j (user 7474:7474)"

func TestEnterpriseRestoreLoadsADumpIntoTheStoppedDatabase(t *testing.T) {
	f := enterpriseDumpFixture(t)

	res, err := f.run(context.Background())
	assert.NilError(t, err)

	assertInOrder(t, f.eng.CallLog(), []string{
		"connect",
		"exec mv -f /backups/load/neo4j/", // staged before anything stops
		"stop-container server-id",
		"exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=FULL --include-metadata=all neo4j",
		"cypher STOP neo4j",
		loadNeo4j,
		"cypher CREATE neo4j", "cypher START neo4j", "cypher WAIT neo4j", "cypher COUNT neo4j",
		"start-container server-id",
	})
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container db-id"), "the database container never stops")
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "exec neo4j-admin database restore"))
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "cypher SCRIPT"), "a dump holds no security metadata")
	assert.Check(t, !f.hasCall("cypher STOP system"), "system is never loaded")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "dumped neo4j"))
	assert.Check(t, is.Equal(f.eng.Server.Content("system"), "live system"))
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assert.Check(t, f.eng.DatabaseRunning())
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")

	assert.Check(t, is.DeepEqual(res.Plan.Skipped, []string{"system"}))
	assert.Assert(t, is.Len(res.Databases, 1))
	db := res.Databases[0]
	assert.Check(t, is.Equal(db.Restored, backupset.DumpName("neo4j", dumpTime)))
	assert.Check(t, is.Equal(db.Nodes, int64(42)))
	assert.Check(t, !db.RolledBack)
	assertSafetyBackup(t, f, db.SafetyBackup, "live data at tx 15")
}

// Any failure once the database is stopped rolls back from the safety
// backup (exit 6), or says it could not (exit 7); everything runs again.
func TestEnterpriseDumpLoadFailureRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{
			name: "neo4j-admin load fails",
			setup: func(f *fixture) {
				f.eng.Faults["database load"] = &helpertest.Fault{Code: 1, Stderr: "No space left on device", Times: 1}
			},
			want: "neo4j-admin database load failed with exit code 1",
		},
		{
			name:  "the loaded database does not come online",
			setup: func(f *fixture) { f.admin.waitFailures = 1 },
			want:  "did not come online",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := enterpriseDumpFixture(t)
			tc.setup(f)

			res, err := f.run(context.Background())

			var rb *restore.RolledBackError
			assert.Assert(t, errors.As(err, &rb), "got %v", err)
			assert.Check(t, is.ErrorContains(err, tc.want))
			assert.Check(t, is.Equal(rb.Safety, filepath.Join(res.Plan.SafetyDir, safetyName)))
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "rolled back to the data before the load")
			assertInOrder(t, f.eng.CallLog(), []string{
				"cypher STOP neo4j", loadNeo4j, "cypher STOP neo4j",
				"exec neo4j-admin database restore --from-path=/backups/safety/neo4j/" + safetyName,
				"cypher START neo4j", "cypher WAIT neo4j", "start-container server-id",
			})
			assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container db-id"))
			assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
			assert.Check(t, f.eng.AppRunning("server-id"))
			assert.Check(t, is.Len(f.eng.Running(), 0))
			assert.Assert(t, is.Len(res.Databases, 1))
			assert.Check(t, res.Databases[0].RolledBack)
		})
	}
}

func TestEnterpriseDumpRollbackFailingIsDegraded(t *testing.T) {
	f := enterpriseDumpFixture(t)
	f.eng.Faults["database load"] = &helpertest.Fault{Code: 1, Stderr: "No space left on device"}
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 1, Stderr: "Restore failed: disk I/O error"}

	res, err := f.run(context.Background())

	var deg *restore.DegradedError
	assert.Assert(t, errors.As(err, &deg), "got %v", err)
	assert.Check(t, is.Equal(deg.Safety, filepath.Join(res.Plan.SafetyDir, safetyName)))
	assert.Check(t, is.ErrorContains(err, "docker infrahubdb restore "+res.Plan.SafetyDir+" --database neo4j"))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, f.eng.DatabaseRunning())
	assert.Check(t, is.Len(f.eng.Running(), 0))
	assertSafetyBackup(t, f, deg.Safety, "live data at tx 15")
}

// Ctrl-C during the load: the load runs to its end (half a store helps no
// one), then the run rolls back and reports the interruption.
func TestEnterpriseDumpCancelDuringLoadRollsBack(t *testing.T) {
	f := enterpriseDumpFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.eng.Faults["database load"] = &helpertest.Fault{Hook: cancel, Times: 1}

	_, err := f.run(ctx)

	assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
	var rb *restore.RolledBackError
	assert.Check(t, errors.As(err, &rb), "got %v", err)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
}

// A database the server does not have yet is loaded, then created [S19].
func TestEnterpriseDumpOfANewDatabaseIsCreatedAfterTheLoad(t *testing.T) {
	f := enterpriseDumpFixture(t)
	delete(f.admin.status, "neo4j")
	f.eng.Server.SetStopped("neo4j", true) // no database of the DBMS holds its store

	_, err := f.run(context.Background())
	assert.NilError(t, err)

	assertInOrder(t, f.eng.CallLog(), []string{loadNeo4j, "cypher CREATE neo4j", "cypher START neo4j", "cypher WAIT neo4j"})
	assert.Check(t, !f.hasCall("cypher STOP"), "nothing to stop")
	assert.Check(t, !f.hasCall("exec neo4j-admin database backup"), "nothing to keep")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "dumped neo4j"))
}

// What is refused is refused before anything stops.
func TestEnterpriseDumpRefusalsStopNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		check func(t *testing.T, err error)
	}{
		{
			name:  "wrong credentials",
			setup: func(t *testing.T, f *fixture) { f.connectErr = neo4j.ErrUnauthorized },
			check: func(t *testing.T, err error) { assert.Check(t, errors.Is(err, neo4j.ErrUnauthorized), "got %v", err) },
		},
		{
			name: "a dump of a newer Neo4j",
			setup: func(t *testing.T, f *fixture) {
				setRecordedVersion(t, f.folder, backupset.DumpName("neo4j", dumpTime), "2025.10.1")
			},
			check: func(t *testing.T, err error) {
				var env *helper.EnvironmentError
				assert.Check(t, errors.As(err, &env), "got %v", err)
				assert.Check(t, is.ErrorContains(err, "written by Neo4j 2025.10.1, newer than the database's Neo4j 5.26.0"))
			},
		},
		{
			name: "the dump cannot be staged",
			setup: func(t *testing.T, f *fixture) {
				f.opts.Transfer = helper.TransferStream
				f.eng.Faults["copy-to"] = &helpertest.Fault{Err: errors.New("no space left on device")}
			},
			check: func(t *testing.T, err error) { assert.Check(t, is.ErrorContains(err, "no space left on device")) },
		},
		{
			name: "the safety backup fails",
			setup: func(t *testing.T, f *fixture) {
				f.eng.Faults["backup"] = &helpertest.Fault{Code: 1, Stderr: "Backup failed: connection refused"}
			},
			check: func(t *testing.T, err error) { assert.Check(t, is.ErrorContains(err, "nothing was changed")) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := enterpriseDumpFixture(t)
			tc.setup(t, f)

			_, err := f.run(context.Background())

			tc.check(t, err)
			for _, c := range f.eng.CallLog() {
				for _, p := range []string{"cypher STOP", "exec neo4j-admin database load", "stop-container db-id"} {
					assert.Check(t, !strings.HasPrefix(c, p), c)
				}
			}
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
			assert.Check(t, f.eng.AppRunning("server-id"))
			assert.Check(t, is.Len(f.eng.Running(), 0))
		})
	}
}

// setRecordedVersion sets the Neo4j version the manifest records for name.
func setRecordedVersion(t *testing.T, folder *backupset.Folder, name, version string) {
	t.Helper()
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	rec, ok := m.Lookup(name)
	assert.Assert(t, ok)
	rec.Neo4jVersion = version
	m.Upsert(rec)
	assert.NilError(t, folder.WriteManifest(m))
}
