package restore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
)

// recordNeo4jVersion makes the manifest say the folder's graph artifacts
// were written by Neo4j version.
func (f *fixture) recordNeo4jVersion(t *testing.T, version string) {
	t.Helper()
	m, err := f.folder.ReadManifest()
	assert.NilError(t, err)
	for i := range m.Files {
		if m.Files[i].Database != "" {
			m.Files[i].Neo4jVersion = version
		}
	}
	assert.NilError(t, f.folder.WriteManifest(m))
	f.before = helpertest.FolderState(t, f.folder)
}

// An online backup from a newer Neo4j than the server is refused before
// anything stops (NEO4J.md §5.8: no downgrade), as a dump is.
func TestOnlineBackupFromANewerNeo4jIsRefusedBeforeAnythingStops(t *testing.T) {
	f := newFixture(t)
	f.recordNeo4jVersion(t, "2025.10.1") // the server is 5.26.0

	_, err := f.run(context.Background())

	var env *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &env), "exit 3, got %v", err)
	assert.Check(t, is.ErrorContains(err, "written by Neo4j 2025.10.1, newer than the database's Neo4j 5.26.0"))
	assert.Check(t, !f.hasCall("stop-container"), "nothing stopped")
	assert.Check(t, !f.hasCall("cypher STOP"), "nothing stopped")
	f.assertUntouched(t)
}

func TestOnlineBackupFromTheSameOrAnOlderNeo4jIsRestored(t *testing.T) {
	f := newFixture(t)
	f.recordNeo4jVersion(t, "5.20.0")
	_, err := f.run(context.Background())
	assert.NilError(t, err)
}

// setInfrahubVersions makes the run's record say it was taken from
// Infrahub taken, and infrahub-server run Infrahub running.
func (f *fixture) setInfrahubVersions(t *testing.T, taken, running string) {
	t.Helper()
	m, err := f.folder.ReadManifest()
	assert.NilError(t, err)
	for i := range m.Runs {
		m.Runs[i].InfrahubVersion = taken
	}
	assert.NilError(t, f.folder.WriteManifest(m))
	for i := range f.eng.Apps {
		if f.eng.Apps[i].ID == "server-id" {
			f.eng.Apps[i].Image = "registry.opsmill.io/opsmill/infrahub:" + running
		}
	}
	f.before = helpertest.FolderState(t, f.folder)
}

func TestRunFromANewerInfrahubIsRefusedBeforeAnythingStops(t *testing.T) {
	f, pg := setFixture(t)
	f.setInfrahubVersions(t, "1.10.0", "1.9.3")
	_, err := f.runSet(context.Background())
	var env *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &env), "exit 3, got %v", err)
	assert.Check(t, is.ErrorContains(err, "taken from Infrahub 1.10.0, newer than the Infrahub 1.9.3 that infrahub-server-1 runs"))
	assert.Check(t, !f.hasCall("stop-container"), "nothing stopped")
	assert.Check(t, is.Len(f.eng.Helpers, 0), "no helper started")
	assert.Check(t, is.Equal(pg.rows, "rows damaged"))
	f.assertUntouched(t)
}

func TestRunFromAnOlderInfrahubIsRestoredWithTheUpgradeNote(t *testing.T) {
	f, pg := setFixture(t)
	f.setInfrahubVersions(t, "1.8.0", "1.9.3")
	res, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(pg.rows, "rows at backup"))
	assert.Assert(t, is.Len(res.Plan.Notes, 1))
	assert.Check(t, is.Contains(res.Plan.Notes[0], "infrahub upgrade"))
	assert.Check(t, is.Equal(res.Plan.InfrahubVersion, "1.8.0"))

	f, _ = setFixture(t)
	f.setInfrahubVersions(t, "1.9.3", "1.9.3")
	res, err = f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Plan.Notes, 0))
}

// --new-deployment-id sets a new Root id in the restored graph while the
// applications are still stopped, so none caches the old one.
func TestNewDeploymentIDIsSetBeforeTheApplicationsStart(t *testing.T) {
	f := newFixture(t)
	f.opts.NewDeploymentID = true
	res, err := f.run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.DeploymentID, 36))
	assert.Check(t, is.Equal(f.admin.rootIDs["neo4j"], res.DeploymentID))
	steps := f.steps()
	assert.Check(t, slices.Index(steps, "cypher ROOT neo4j") >= 0)
	assert.Check(t, slices.Index(steps, "cypher ROOT neo4j") < slices.Index(steps, "start-container server-id"), "%v", steps)

	f = newFixture(t)
	_, err = f.run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, !f.hasCall("cypher ROOT"), "not without the flag")
}
